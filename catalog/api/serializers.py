"""Input and output shapes of the catalog API (API.md, Catalog)."""

import json
import re
from decimal import Decimal
from typing import Any

from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import images
from catalog.enums import Currency
from catalog.exceptions import ImageInvalid
from catalog.keyset import PUBLIC_ORDERINGS
from catalog.models import Category, Product
from config.api.serializers import StrictSerializer

ATTRIBUTES_MAX_KEYS = 50
ATTRIBUTES_MAX_DEPTH = 3
ATTRIBUTES_MAX_BYTES = 8 * 1024
MAX_INT4 = 2**31 - 1
MAX_INT8 = 2**63 - 1
_LETTER = re.compile(r"[a-zA-Z]")


# --- Output -------------------------------------------------------------------


class CategoryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class SellerRefSerializer(serializers.Serializer):
    """A seller as the public sees them: no email, not even part of it."""

    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, seller: Any) -> str:
        return seller.get_full_name() or f"Seller {seller.pk}"


class ProductListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    stock = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    category = CategoryRefSerializer()
    image_url = serializers.CharField()


_CENTS = Decimal("0.01")


def product_list_rows(rows: list[Any]) -> list[dict[str, Any]]:
    """The list shape (``ProductListOutputSerializer``) of selector rows.

    The list is the hottest uncached path; DRF's field machinery (a deep copy
    of the declared fields per serializer, a call per field per row) cost a
    quarter of its time. The serializer stays the documented shape, and a test
    holds the two to the same output.
    """
    return [
        {
            "id": row.id,
            "slug": row.slug,
            "name": row.name,
            "price": str(row.price.quantize(_CENTS)),
            "currency": row.currency,
            "stock": row.stock,
            "in_stock": row.stock > 0,
            "category": {
                "id": row.category_id,
                "slug": row.category_slug,
                "name": row.category_name,
            },
            "image_url": row.image_url,
        }
        for row in rows
    ]


class ProductImageOutputSerializer(serializers.Serializer):
    """One variant of the product's image set; ``url`` is a path from the root."""

    size = serializers.CharField()
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ProductDetailOutputSerializer(ProductListOutputSerializer):
    description = serializers.CharField()
    attributes = serializers.DictField()
    images = ProductImageOutputSerializer(many=True)
    seller = SellerRefSerializer()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProductPageSerializer(serializers.Serializer):
    """A cursor page (documentation only: the pagination class renders it)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProductListOutputSerializer(many=True)


class CategoryNodeSerializer(serializers.Serializer):
    """A node of the category tree (documentation only: the tree is plain data)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    product_count = serializers.IntegerField()
    children = serializers.ListField(child=serializers.DictField())


class CategoryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    position = serializers.IntegerField()


# --- Query parameters -----------------------------------------------------------


class ProductListQuerySerializer(serializers.Serializer):
    """``GET products`` parameters; unknown parameters are ignored."""

    category = serializers.CharField(
        required=False, max_length=140, help_text="Category id or slug."
    )
    min_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False
    )
    max_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False
    )
    in_stock = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: stock > 0."
    )
    seller = serializers.IntegerField(required=False, min_value=1, max_value=MAX_INT8)
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        trim_whitespace=False,
        default="",
        help_text="Full-text search; the last word matches as a prefix.",
    )
    ordering = serializers.ChoiceField(
        choices=PUBLIC_ORDERINGS,
        required=False,
        help_text="Default -created_at; by relevance when searching.",
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=100, default=20
    )
    cursor = serializers.CharField(required=False, max_length=1000)

    def validate_search(self, value: str) -> str:
        # Trailing space is meaningful (the last word is complete); blank is none.
        return value if value.strip() else ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"max_price": ["Must be greater than or equal to min_price."]}
            )
        return attrs


# --- Writes ---------------------------------------------------------------------


def _normalize_json(value: Any, depth: int) -> Any:
    """Check one attributes value and make it storable (the parser yields Decimals)."""
    if isinstance(value, dict | list):
        if depth > ATTRIBUTES_MAX_DEPTH:
            raise serializers.ValidationError(
                f"Nested deeper than {ATTRIBUTES_MAX_DEPTH} levels."
            )
        if isinstance(value, list):
            return [_normalize_json(item, depth + 1) for item in value]
        return {
            _normalize_json(key, depth): _normalize_json(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, str):
        if "\x00" in value:
            raise serializers.ValidationError("Null characters are not allowed.")
        return value
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) <= MAX_INT8:
            return int(value)
        return float(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    raise serializers.ValidationError("Not a JSON value.")


@extend_schema_field({"type": "object", "additionalProperties": True})
class AttributesField(serializers.Field):
    """A JSON object of at most 50 keys, 3 levels and 8 KB."""

    default_error_messages = {
        "not_object": "Must be a JSON object.",
        "too_many_keys": f"At most {ATTRIBUTES_MAX_KEYS} keys.",
        "too_large": f"At most {ATTRIBUTES_MAX_BYTES} bytes as JSON.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_object")
        if len(data) > ATTRIBUTES_MAX_KEYS:
            self.fail("too_many_keys")
        normalized = _normalize_json(data, 1)
        size = len(
            json.dumps(normalized, ensure_ascii=False, separators=(",", ":")).encode()
        )
        if size > ATTRIBUTES_MAX_BYTES:
            self.fail("too_large")
        return normalized

    def to_representation(self, value: Any) -> Any:
        return value


def _slug_has_letter(value: str) -> None:
    if not _LETTER.search(value):
        raise serializers.ValidationError("Must contain a letter.")


class _UniqueSlugMixin:
    """Slug uniqueness, leaving out the row being edited (``context["instance"]``)."""

    slug_model: type[Model]

    def validate_slug(self, value: str) -> str:
        instance = self.context.get("instance")  # type: ignore[attr-defined]
        others = self.slug_model.objects.filter(slug=value)  # type: ignore[attr-defined]
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        if others.exists():
            raise serializers.ValidationError("This slug is already in use.")
        return value


class ProductWriteSerializer(_UniqueSlugMixin, StrictSerializer):
    """Body of POST, PUT (everything; absent optional fields reset) and PATCH."""

    slug_model = Product

    name = serializers.CharField(min_length=1, max_length=200)
    slug = serializers.SlugField(
        required=False, max_length=220, validators=[_slug_has_letter]
    )
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=10_000, default=""
    )
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.ChoiceField(
        choices=Currency.choices, required=False, default=Currency.USD
    )
    stock = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_INT4, default=0
    )
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    attributes = AttributesField(required=False, default=dict)
    image_url = serializers.URLField(
        required=False, allow_blank=True, max_length=500, default=""
    )
    is_active = serializers.BooleanField(required=False, default=True)

    def validate_price(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("Must be greater than 0.")
        return value


class ProductImageUploadSerializer(StrictSerializer):
    """Multipart body of POST products/{id}/images: one ``image`` file.

    Checked by content, never by file name or declared type; the validated
    value is ``(file, ImageInfo)``. Too big a file is a 413, not a field error.
    """

    image = serializers.FileField(allow_empty_file=False, use_url=False)

    def validate_image(self, value: Any) -> tuple[Any, images.ImageInfo]:
        try:
            info = images.image_inspect(file=value, size=value.size)
        except ImageInvalid as exc:
            raise serializers.ValidationError(exc.detail) from exc
        return value, info


class ImageJobOutputSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()


class CategoryWriteSerializer(_UniqueSlugMixin, StrictSerializer):
    """Body of POST and PATCH categories."""

    slug_model = Category

    name = serializers.CharField(min_length=1, max_length=120)
    slug = serializers.SlugField(
        required=False, max_length=140, validators=[_slug_has_letter]
    )
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), allow_null=True, required=False, default=None
    )
    position = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_INT4, default=0
    )
