"""The real URLs plus views that fail or wait, for tests/monitoring/test_stats.py."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def answer(request: HttpRequest, code: int) -> HttpResponse:
    return HttpResponse(status=code)


def sleep(request: HttpRequest, seconds: str) -> JsonResponse:
    with connection.cursor() as cursor:
        # A literal in the SQL on purpose: the fingerprint must remove it.
        cursor.execute(f"SELECT pg_sleep({float(seconds)})")
    return JsonResponse({"slept": seconds})


urlpatterns = [
    path("test/boom", boom),
    path("test/status/<int:code>", answer),
    path("test/sleep/<str:seconds>", sleep),
    path("", include("config.urls")),
]

handler404 = "config.api.exceptions.json_not_found"
handler500 = "config.api.exceptions.json_server_error"
