"""Comparison views for the benchmarks, mounted beside the project's URLs.

- bench/jobs.py: two views that differ only by one ``jobs.enqueue``.
- bench/auth.py: ``/api/auth/me`` with authentication off, loading the user
  named by a header and rendering the same serializer (the same bytes).
- bench/catalog.py: the fixed bytes of a list page (the floor); the project's
  list view without its response cache ("cache off": the view a miss runs);
  the DRF ``ListAPIView`` baseline, plain and behind ``cache_page``.
"""

import os
from pathlib import Path

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

import jobs
from accounts import selectors
from accounts.api.serializers import ProfileOutput
from accounts.api.views import MeApi
from bench.drf_baseline import ProductListView, drf_list_cached
from catalog.api.views import ProductListApi


def with_enqueue(request: HttpRequest) -> JsonResponse:
    with transaction.atomic():
        jobs.enqueue("bench.filler", {"source": "view"})
    return JsonResponse({"ok": True})


def without_enqueue(request: HttpRequest) -> JsonResponse:
    with transaction.atomic():
        pass
    return JsonResponse({"ok": True})


_BARE_BODY: dict[str, bytes] = {}


def bare_bytes(request: HttpRequest) -> HttpResponse:
    """The floor: a plain Django view returning fixed bytes (read once from
    BENCH_BARE_BODY) through the same middleware and server."""
    if "body" not in _BARE_BODY:
        _BARE_BODY["body"] = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()
    return HttpResponse(_BARE_BODY["body"], content_type="application/json")


class MeWithoutAuthApi(MeApi):
    """``MeApi.get`` minus authentication: same query, same serializer."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        user = selectors.user_get(user_id=int(request.headers["X-Bench-User"]))
        return Response(ProfileOutput(user).data)


urlpatterns = [
    path("bench/me-without-auth", MeWithoutAuthApi.as_view()),
    path("bench/bare-bytes", bare_bytes),
    path("bench/products-uncached/", ProductListApi.as_view()),
    path("bench/drf-list/", ProductListView.as_view()),
    path("bench/drf-list-cached/", drf_list_cached()),
    path("bench/with-enqueue", with_enqueue),
    path("bench/without-enqueue", without_enqueue),
    path("", include("config.urls")),
]
