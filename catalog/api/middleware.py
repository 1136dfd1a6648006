"""The API's body-size limit, with room for product image uploads.

``API_MAX_BODY_BYTES`` (1 MB) suits JSON; a photo is bigger. A multipart POST
to the image upload route may carry ``PRODUCT_IMAGE_MAX_BYTES`` plus room for
the multipart framing; anything above answers 413 before a byte is read, and
the view then holds the file itself to the exact limit.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from config.api.exceptions import error_body
from config.api.middleware import BodySizeLimitMiddleware

UPLOAD_ROUTE = "product-images"
# Boundaries, part headers and a file name: generous, and still bounded.
MULTIPART_FRAMING_BYTES = 64 * 1024


def _is_image_upload(request: HttpRequest) -> bool:
    if request.method != "POST" or not request.content_type.startswith("multipart/"):
        return False
    path = request.path_info
    try:
        match = resolve(path if path.endswith("/") else f"{path}/")
    except Resolver404:
        return False
    return match.url_name == UPLOAD_ROUTE


class UploadBodySizeLimitMiddleware(BodySizeLimitMiddleware):
    """``BodySizeLimitMiddleware``, except that image uploads get their own limit."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # the base class answers 400
        # Resolving costs a little, so only bodies over the general limit pay it.
        if length <= settings.API_MAX_BODY_BYTES or not _is_image_upload(request):
            return super().__call__(request)
        limit = settings.PRODUCT_IMAGE_MAX_BYTES + MULTIPART_FRAMING_BYTES
        if length > limit:
            return JsonResponse(
                error_body(
                    f"The image file exceeds {settings.PRODUCT_IMAGE_MAX_BYTES} bytes.",
                    "payload_too_large",
                ),
                status=413,
            )
        return self.get_response(request)
