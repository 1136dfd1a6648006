"""Two views that differ only by one ``jobs.enqueue`` (bench/jobs.py, part 3)."""

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

import jobs


def with_enqueue(request: HttpRequest) -> JsonResponse:
    with transaction.atomic():
        jobs.enqueue("bench.filler", {"source": "view"})
    return JsonResponse({"ok": True})


def without_enqueue(request: HttpRequest) -> JsonResponse:
    with transaction.atomic():
        pass
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/with-enqueue", with_enqueue),
    path("bench/without-enqueue", without_enqueue),
    path("", include("config.urls")),
]
