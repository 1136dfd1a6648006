"""The catalog API: one thin class per operation (API.md, Catalog).

A URL that answers several methods is served by a class combining the
operation classes; each handler keeps the permissions of the class that
defines it. Reads are ``get`` handlers calling one selector each, so a
response cache can wrap them in one place later.
"""

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors, services
from catalog.api.pagination import InvalidCursor, decode_cursor, paginated_response
from catalog.api.permissions import IsProductOwnerOrStaff, IsSellerOrStaff, IsStaff
from catalog.api.serializers import (
    CategoryNodeSerializer,
    CategoryOutputSerializer,
    CategoryWriteSerializer,
    ImageJobOutputSerializer,
    ProductDetailOutputSerializer,
    ProductImageUploadSerializer,
    ProductListOutputSerializer,
    ProductListQuerySerializer,
    ProductPageSerializer,
    ProductWriteSerializer,
    product_list_rows,
)
from catalog.models import Category, Product
from config.api.middleware import BodyLimit
from config.api.parsers import StrictJSONParser
from config.api.schema import error_response
from config.api.views import BaseApi

# Boundaries, part headers and a file name: generous, and still bounded.
MULTIPART_FRAMING_BYTES = 64 * 1024
# The conventional errors (400, 401, 403, 404, 413, 415) come from
# config.api.schema; the views declare their own rules' answers.
SLUG_TAKEN = error_response("`slug_taken`: another writer took the slug first.")


class CatalogApi(BaseApi):
    """Base: per-handler permissions, and 401 (not 403) for anonymous callers."""

    permission_classes = [AllowAny]
    # JSON only: HTML forms cannot express attributes, and their missing
    # booleans would read as false.
    parser_classes = [StrictJSONParser]

    def get_permissions(self) -> list[Any]:
        # The permissions of the operation class that defines this handler.
        handler = (self.request.method or "").lower()
        handler = "get" if handler == "head" else handler
        for klass in type(self).__mro__:
            if handler in vars(klass):
                return [permission() for permission in klass.permission_classes]
        return super().get_permissions()


def _product_for_write(request: Request, view: APIView, lookup: str) -> Product:
    """The product to change: 404 if the caller cannot see it, 403 if not theirs."""
    product = selectors.product_get(lookup=lookup, user=request.user)
    if product is None:
        raise Http404
    view.check_object_permissions(request, product)
    return product


def _category_or_404(category_id: int) -> Category:
    category = selectors.category_get(category_id=category_id)
    if category is None:
        raise Http404
    return category


# --- Products -------------------------------------------------------------------


class ProductListApi(CatalogApi):
    """Active products: filters, search, ordering, keyset cursor pages."""

    @extend_schema(
        operation_id="products_list",
        parameters=[ProductListQuerySerializer],
        responses={200: ProductPageSerializer},
    )
    def get(self, request: Request) -> Response:
        query = ProductListQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        ordering = params.get("ordering")
        cursor = None
        if "cursor" in params:
            try:
                cursor = decode_cursor(
                    params["cursor"],
                    ordering=selectors.product_list_ordering(
                        ordering=ordering, search=params["search"]
                    ),
                )
            except InvalidCursor:
                raise ValidationError({"cursor": ["Invalid cursor."]}) from None
        page = selectors.product_list(
            filters=selectors.ProductFilters(
                category=params.get("category"),
                min_price=params.get("min_price"),
                max_price=params.get("max_price"),
                in_stock=params["in_stock"],
                seller=params.get("seller"),
                search=params["search"],
            ),
            ordering=ordering,
            cursor=cursor,
            page_size=params["page_size"],
        )
        results = product_list_rows(page.items)
        return paginated_response(request, page, results)


class ProductCreateApi(CatalogApi):
    """A seller (or staff) offers a new product; the caller is its seller."""

    permission_classes = [IsAuthenticated, IsSellerOrStaff]

    @extend_schema(
        operation_id="products_create",
        request=ProductWriteSerializer,
        responses={201: ProductDetailOutputSerializer, 409: SLUG_TAKEN},
    )
    def post(self, request: Request) -> Response:
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(
            seller=request.user, **serializer.validated_data
        )
        return Response(
            ProductDetailOutputSerializer(product).data, status=status.HTTP_201_CREATED
        )


class ProductDetailApi(CatalogApi):
    """One product by id or slug; inactive ones only for staff and their seller."""

    @extend_schema(
        operation_id="products_retrieve",
        responses={200: ProductDetailOutputSerializer},
    )
    def get(self, request: Request, lookup: str) -> Response:
        product = selectors.product_get(lookup=lookup, user=request.user)
        if product is None:
            raise Http404
        return Response(ProductDetailOutputSerializer(product).data)


class ProductUpdateApi(CatalogApi):
    """PUT replaces every writable field, PATCH the given ones (owner or staff)."""

    permission_classes = [IsAuthenticated, IsProductOwnerOrStaff]

    def _update(self, request: Request, lookup: str, *, partial: bool) -> Response:
        product = _product_for_write(request, self, lookup)
        serializer = ProductWriteSerializer(
            data=request.data, partial=partial, context={"instance": product}
        )
        serializer.is_valid(raise_exception=True)
        product = services.product_update(
            product=product, data=dict(serializer.validated_data)
        )
        return Response(ProductDetailOutputSerializer(product).data)

    @extend_schema(
        operation_id="products_update",
        request=ProductWriteSerializer,
        responses={200: ProductDetailOutputSerializer, 409: SLUG_TAKEN},
    )
    def put(self, request: Request, lookup: str) -> Response:
        return self._update(request, lookup, partial=False)

    @extend_schema(
        operation_id="products_partial_update",
        request=ProductWriteSerializer,
        responses={200: ProductDetailOutputSerializer, 409: SLUG_TAKEN},
    )
    def patch(self, request: Request, lookup: str) -> Response:
        return self._update(request, lookup, partial=True)


class ProductDeleteApi(CatalogApi):
    """Soft delete (orders keep their products): the product leaves every list."""

    permission_classes = [IsAuthenticated, IsProductOwnerOrStaff]

    @extend_schema(operation_id="products_destroy", responses={204: None})
    def delete(self, request: Request, lookup: str) -> Response:
        product = _product_for_write(request, self, lookup)
        services.product_delete(product=product)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductImageUploadApi(CatalogApi):
    """Owner or staff upload a product image; a job makes its variants (202)."""

    permission_classes = [IsAuthenticated, IsProductOwnerOrStaff]
    parser_classes = [MultiPartParser]

    @classmethod
    def body_limit(cls, request: HttpRequest) -> BodyLimit | None:
        """A photo is bigger than JSON: a multipart POST may carry
        ``PRODUCT_IMAGE_MAX_BYTES`` plus room for the multipart framing; the
        serializer then holds the file itself to the exact limit."""
        if request.method != "POST" or not request.content_type.startswith(
            "multipart/"
        ):
            return None
        return BodyLimit(
            max_bytes=settings.PRODUCT_IMAGE_MAX_BYTES + MULTIPART_FRAMING_BYTES,
            detail=f"The image file exceeds {settings.PRODUCT_IMAGE_MAX_BYTES} bytes.",
            code="payload_too_large",
        )

    @extend_schema(
        operation_id="products_images_create",
        request={"multipart/form-data": ProductImageUploadSerializer},
        responses={
            202: ImageJobOutputSerializer,
            413: error_response("`payload_too_large`: the image is too big."),
        },
    )
    def post(self, request: Request, lookup: str) -> Response:
        product = _product_for_write(request, self, lookup)
        serializer = ProductImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file, info = serializer.validated_data["image"]
        job_id = services.product_image_upload(
            product=product, file=file, info=info, user=request.user
        )
        return Response({"job_id": job_id}, status=status.HTTP_202_ACCEPTED)


class ProductPopularApi(CatalogApi):
    """The top 20 active products by popularity, then views."""

    @extend_schema(
        operation_id="catalog_popular",
        responses={200: ProductListOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        products = selectors.product_popular()
        return Response(product_list_rows(products))


class ProductCollectionApi(ProductListApi, ProductCreateApi):
    """``products/``: GET list, POST create."""


class ProductItemApi(ProductDetailApi, ProductUpdateApi, ProductDeleteApi):
    """``products/{id-or-slug}/``: GET, PUT, PATCH, DELETE."""


# --- Categories -----------------------------------------------------------------


class CategoryListApi(CatalogApi):
    """The whole category tree with active product counts (subtrees included)."""

    @extend_schema(
        operation_id="categories_list",
        responses={200: CategoryNodeSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.category_tree())


class CategoryCreateApi(CatalogApi):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="categories_create",
        request=CategoryWriteSerializer,
        responses={201: CategoryOutputSerializer, 409: SLUG_TAKEN},
    )
    def post(self, request: Request) -> Response:
        serializer = CategoryWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.category_create(**serializer.validated_data)
        return Response(
            CategoryOutputSerializer(category).data, status=status.HTTP_201_CREATED
        )


class CategoryUpdateApi(CatalogApi):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="categories_partial_update",
        request=CategoryWriteSerializer,
        responses={200: CategoryOutputSerializer, 409: SLUG_TAKEN},
    )
    def patch(self, request: Request, category_id: int) -> Response:
        category = _category_or_404(category_id)
        serializer = CategoryWriteSerializer(
            data=request.data, partial=True, context={"instance": category}
        )
        serializer.is_valid(raise_exception=True)
        category = services.category_update(
            category=category, data=dict(serializer.validated_data)
        )
        return Response(CategoryOutputSerializer(category).data)


class CategoryDeleteApi(CatalogApi):
    """Only an empty category goes (409 ``category_not_empty`` otherwise)."""

    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="categories_destroy",
        responses={
            204: None,
            409: error_response("`category_not_empty`: it still has products."),
        },
    )
    def delete(self, request: Request, category_id: int) -> Response:
        services.category_delete(category=_category_or_404(category_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CategoryCollectionApi(CategoryListApi, CategoryCreateApi):
    """``categories/``: GET tree, POST create."""


class CategoryItemApi(CategoryUpdateApi, CategoryDeleteApi):
    """``categories/{id}/``: PATCH, DELETE."""
