"""The product list as a typical Django user would write it (bench/catalog.py, 2).

A DRF ``ListAPIView`` over active products with nested ``ModelSerializer``s
(the fields of the project's list output), DRF's own ``CursorPagination`` and
``select_related``; served plain and behind ``cache_page`` in the default
(Redis) cache, with the project's list TTL.
"""

from collections.abc import Callable

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.views.decorators.cache import cache_page
from rest_framework import generics, pagination, serializers

from catalog.models import Category, Product

# In every cache_page key, so a fresh load can drop them (delete_pattern).
CACHE_PAGE_PREFIX = "bench-drf"


class CategoryRef(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "slug", "name"]


class ProductListItem(serializers.ModelSerializer):
    """The fields of the project's ``ProductListOutputSerializer``."""

    in_stock = serializers.BooleanField(read_only=True)
    category = CategoryRef(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "name",
            "price",
            "currency",
            "stock",
            "in_stock",
            "category",
            "image_url",
        ]


class NewestFirst(pagination.CursorPagination):
    page_size = 20
    ordering = "-created_at"


class ProductListView(generics.ListAPIView):
    """Active products, newest first, 20 to a cursor page."""

    serializer_class = ProductListItem
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet:
        return Product.objects.filter(is_active=True).select_related("category")


def drf_list_cached() -> Callable[..., HttpResponse]:
    """``ProductListView`` behind ``cache_page`` (the TTL is read when the URLconf
    loads, as ``cache_page`` needs it up front)."""
    return cache_page(settings.CATALOG_TTL, key_prefix=CACHE_PAGE_PREFIX)(
        ProductListView.as_view()
    )
