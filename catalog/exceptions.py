"""Errors of the catalog; the API's exception handler turns them into HTTP."""

from config.api.errors import DomainError


class CatalogError(DomainError):
    code = "catalog_error"


class CategoryNotEmpty(CatalogError):
    status_code = 409
    code = "category_not_empty"
    default_detail = "The category still has products or subcategories."


class CategoryCycle(CatalogError):
    status_code = 400
    code = "category_cycle"
    default_detail = "A category cannot be placed under itself or its descendants."


class SlugTaken(CatalogError):
    status_code = 409
    code = "slug_taken"
    default_detail = "This slug is already in use."


class InsufficientStock(CatalogError):
    status_code = 409
    code = "insufficient_stock"
    default_detail = "Not enough stock for this product."
