"""Catalog routes (declared with a trailing slash; the middleware makes it optional)."""

from django.urls import path

from catalog.api.views import (
    CategoryCollectionApi,
    CategoryItemApi,
    ProductCollectionApi,
    ProductItemApi,
    ProductPopularApi,
)

urlpatterns = [
    path("categories/", CategoryCollectionApi.as_view(), name="category-list"),
    path(
        "categories/<int:category_id>/",
        CategoryItemApi.as_view(),
        name="category-detail",
    ),
    path("products/", ProductCollectionApi.as_view(), name="product-list"),
    path("products/<str:lookup>/", ProductItemApi.as_view(), name="product-detail"),
    path("catalog/popular/", ProductPopularApi.as_view(), name="catalog-popular"),
]
