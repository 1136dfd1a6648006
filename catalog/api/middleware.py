"""Catalog middleware: the early answer to catalog revalidations."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve


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
