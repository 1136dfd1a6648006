"""Admin for the category tree and products (a big table: no full counts)."""

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import admin
from django.core.validators import URLValidator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.models import Category, Product


def _subtree_ids(root_id: int) -> list[int]:
    """``root_id`` and all its descendants (the tree is small: read it whole)."""
    children: defaultdict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
        children[parent_id].append(pk)
    found, frontier = {root_id}, [root_id]
    while frontier:
        frontier = [c for pk in frontier for c in children[pk] if c not in found]
        found.update(frontier)
    return sorted(found)


class DepartmentFilter(admin.SimpleListFilter):
    """Products of a top-level category, at any depth below it."""

    title = "department"
    parameter_name = "department"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[int, str]]:
        return list(Category.objects.filter(parent=None).values_list("pk", "name"))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        try:
            root_id = int(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(category_id__in=_subtree_ids(root_id))


def _image_url(value: str) -> None:
    """An https URL, or a path from the root (the image job's MEDIA_URL)."""
    if value.startswith("/") and not value.startswith("//"):
        return
    URLValidator(schemes=["http", "https"])(value)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """Categories; ``parent`` empty means top level."""

    list_display = ("name", "slug", "parent", "position", "created_at")
    list_select_related = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Products; popularity figures are maintained by jobs, so read-only here."""

    list_display = (
        "name",
        "seller",
        "category",
        "price",
        "currency",
        "stock",
        "is_active",
        "created_at",
    )
    list_select_related = ("seller", "category")
    list_filter = ("is_active", "currency", DepartmentFilter)
    search_fields = ("name", "slug", "seller__email")
    autocomplete_fields = ("seller",)
    prepopulated_fields = {"slug": ("name",)}
    # search_vector is a generated column: PostgreSQL writes it, never a form.
    exclude = ("search_vector",)
    readonly_fields = (
        "view_count",
        "units_sold",
        "popularity",
        "images",
        "images_uploaded_at",
        "created_at",
        "updated_at",
    )
    # Image URLs are https (and this silences Django 6's scheme change warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # COUNT(*) over a million products on every page view is slow.
    show_full_result_count = False

    def formfield_for_dbfield(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        # The image job sets image_url to a MEDIA_URL path, which a URL field
        # would refuse on the next save of the form.
        if db_field.name == "image_url":
            return forms.CharField(
                max_length=500, required=False, validators=[_image_url]
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)
