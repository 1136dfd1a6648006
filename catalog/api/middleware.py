"""Catalog middleware: the body-size limit with room for image uploads, and
the early answer to catalog revalidations (``CatalogRevalidationMiddleware``).

``API_MAX_BODY_BYTES`` (1 MB) suits JSON; a photo is bigger. A multipart POST
to the image upload route may carry ``PRODUCT_IMAGE_MAX_BYTES`` plus room for
the multipart framing; anything above answers 413 before a byte is read, and
the view then holds the file itself to the exact limit.
"""

from collections.abc import Callable

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


class CatalogRevalidationMiddleware:
    """Answer a catalog revalidation that ends in 304 before the rest of the stack.

    Sits right after the request id, request log and trailing-slash
    middleware. A conditional GET of a cached catalog URL whose ETag is still
    current gets its 304 here, skipping sessions, CSRF, authentication and the
    body-only response headers; anything else (no ``If-None-Match``, a changed
    entry, Redis trouble) goes on through the full stack unchanged.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_IF_NONE_MATCH" in request.META and request.path_info.startswith(
            "/api/"
        ):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            revalidate = getattr(match.func, "revalidate", None) if match else None
            if revalidate is not None:
                request.get_host()  # ALLOWED_HOSTS holds here too (400 if not)
                response = revalidate(request, match.kwargs)
                if response is not None:
                    request.resolver_match = match  # the request log names the route
                    return response
        return self.get_response(request)
