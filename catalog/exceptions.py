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


class ImageError(CatalogError):
    """An upload that cannot become product images; retrying cannot help."""

    status_code = 400
    code = "invalid_image"
    default_detail = "Upload a JPEG, PNG or WebP image."


class ImageInvalid(ImageError):
    """Not an accepted image, too many pixels, or undecodable (a field error)."""


class ImageTooLarge(ImageError):
    status_code = 413
    code = "payload_too_large"
    default_detail = "The image file is too large."


class ImageUploadGone(ImageError):
    """The stored upload (or its product) disappeared before processing."""

    code = "image_upload_gone"
    default_detail = "The uploaded image is no longer available."
