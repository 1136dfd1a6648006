"""Catalog GETs through the response cache (``store``), before DRF runs.

A hit is answered here without touching DRF or the database. A miss renders
the public answer with the DRF view itself, as an anonymous JSON client would
get it, so the cache can never hold anything that depends on who asked. Three
requests skip the cache and go straight to the view: the browsable API (HTML),
requests with a ``?format``, and a credentialed request for something the
public cannot see (staff and sellers viewing an inactive product). Under an
ASGI server (no WSGI environ) the views answer uncached for now.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse

from catalog.cache import store as cache

View = Callable[..., HttpResponse]

_CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_COOKIE")


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "*/*")
    return "text/html" not in accept and "format" not in request.GET


def _has_credentials(request: HttpRequest) -> bool:
    return any(request.META.get(header) for header in _CREDENTIAL_HEADERS)


def _wsgi_str(value: str) -> str:
    """``value`` as a WSGI environ carries it: UTF-8 bytes read as ISO-8859-1.

    Django writes the decoded path back into the environ it was given, so the
    environ of a request already read no longer holds this form.
    """
    return value.encode("utf-8").decode("iso-8859-1")


def _public_render(
    view: View, request: HttpRequest, kwargs: dict[str, Any]
) -> tuple[int, bytes]:
    """The view's answer to an anonymous JSON client, rendered to bytes.

    A fresh request from the same WSGI environ, without credentials: it
    carries no session or user that middleware attached to the original.
    """
    environ = {
        key: value
        for key, value in request.environ.items()  # type: ignore[attr-defined]
        if key not in _CREDENTIAL_HEADERS
    }
    environ["HTTP_ACCEPT"] = "application/json"
    # A path outside ISO-8859-1 would otherwise fail to decode again (a 500).
    environ["PATH_INFO"] = _wsgi_str(request.path_info)
    environ["SCRIPT_NAME"] = _wsgi_str(request.META.get("SCRIPT_NAME", ""))
    anonymous = WSGIRequest(environ)
    anonymous.path_info = request.path_info  # as the trailing-slash middleware left it
    response = view(anonymous, **kwargs)
    response.render()
    if response.status_code != 200:
        raise _Uncacheable(response)
    return response.status_code, response.content


class _Uncacheable(Exception):
    """Anything but a 200 (a 404, a 400, a database outage's 503): never
    stored, so answered exactly as the view made it, headers (Retry-After)
    included."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def cached(
    view: View,
    *,
    namespace: str,
    params: Sequence[str] = (),
    tags: Callable[[dict[str, Any]], Sequence[str]] = lambda kwargs: (),
    ttl: Callable[[], int] = lambda: settings.CACHE_DEFAULT_TTL,
    on_hit: Callable[[HttpRequest, dict[str, Any]], None] | None = None,
) -> View:
    """Wrap a DRF view so its GETs go through the response cache.

    ``on_hit`` runs for every successful GET however it was answered (the
    product detail counts a view there), except the refresh task's rebuilds:
    no one viewed anything.
    """

    def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        response = _serve(request, kwargs)
        if (
            on_hit is not None
            and request.method == "GET"
            and response.status_code in (200, 304)
            and not getattr(request, "catalog_cache_refresh", False)
        ):
            on_hit(request, kwargs)
        return response

    def _serve(request: HttpRequest, kwargs: dict[str, Any]) -> HttpResponse:
        cacheable = request.method in ("GET", "HEAD") and _wants_json(request)
        if not cacheable or not hasattr(request, "environ"):
            return view(request, **kwargs)
        try:
            response = cache.serve(
                request,
                namespace=namespace,
                compute=lambda: _public_render(view, request, kwargs),
                tags=tags(kwargs),
                params=params,
                ttl=ttl(),
            )
        except _Uncacheable as exc:
            response = exc.response
        if response.status_code == 404 and _has_credentials(request):
            return view(request, **kwargs)
        return response

    def revalidate(request: HttpRequest, kwargs: dict[str, Any]) -> HttpResponse | None:
        """The early 304 (``CatalogRevalidationMiddleware``), or None."""
        if request.method not in ("GET", "HEAD") or not _wants_json(request):
            return None
        response = cache.revalidate(
            request, namespace=namespace, tags=tags(kwargs), params=params, ttl=ttl()
        )
        if response is not None and on_hit is not None and request.method == "GET":
            on_hit(request, kwargs)
        return response

    wrapper.revalidate = revalidate  # type: ignore[attr-defined]
    wrapper.namespace = namespace  # type: ignore[attr-defined]
    wrapper.cls = getattr(view, "cls", None)  # drf-spectacular finds the view class
    wrapper.initkwargs = getattr(view, "initkwargs", {})
    wrapper.csrf_exempt = True
    return wrapper
