"""Catalog routes (declared with a trailing slash; the middleware makes it optional).

Public GETs go through the response cache (catalog/cache/views.py); product
lists and details live CATALOG_TTL, so stock shown lags sales by at most that.
"""

from django.conf import settings
from django.urls import path

from catalog.api.views import (
    CategoryCollectionApi,
    CategoryItemApi,
    ProductCollectionApi,
    ProductImageUploadApi,
    ProductItemApi,
    ProductPopularApi,
)
from catalog.cache import cached
from catalog.popularity import product_viewed

LIST_PARAMS = (
    "category",
    "min_price",
    "max_price",
    "in_stock",
    "seller",
    "search",
    "ordering",
    "cursor",
    "page_size",
)


def catalog_ttl() -> int:
    return settings.CATALOG_TTL


urlpatterns = [
    path(
        "categories/",
        cached(CategoryCollectionApi.as_view(), namespace="categories"),
        name="category-list",
    ),
    path(
        "categories/<int:category_id>/",
        CategoryItemApi.as_view(),
        name="category-detail",
    ),
    path(
        "products/",
        cached(
            ProductCollectionApi.as_view(),
            namespace="products",
            params=LIST_PARAMS,
            ttl=catalog_ttl,
        ),
        name="product-list",
    ),
    path(
        "products/<str:lookup>/",
        cached(
            ProductItemApi.as_view(),
            namespace="product",
            tags=lambda kwargs: [f"product:{kwargs['lookup']}"],
            ttl=catalog_ttl,
            on_hit=lambda request, kwargs: product_viewed(request, kwargs["lookup"]),
        ),
        name="product-detail",
    ),
    path(
        "products/<str:lookup>/images/",
        ProductImageUploadApi.as_view(),
        name="product-images",
    ),
    path(
        "catalog/popular/",
        cached(ProductPopularApi.as_view(), namespace="popular"),
        name="catalog-popular",
    ),
]
