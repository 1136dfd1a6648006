"""Liveness and readiness against the real dependencies, and with them dead."""

import pytest

from tests.subprocess_env import closed_port, run_python

pytestmark = pytest.mark.django_db


def test_health_is_ok_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_ok_when_everything_answers(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }


def test_ready_degrades_when_cache_and_broker_are_down(client, settings):
    # given Redis (cache and broker) on a port where nothing listens
    dead = f"redis://127.0.0.1:{closed_port()}"
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"{dead}/1"
    settings.CACHES = caches
    settings.CELERY_BROKER_URL = f"{dead}/0"
    # when
    response = client.get("/ready")
    # then the API still reports itself usable
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache": "down", "broker": "down"},
    }


def test_ready_is_503_when_the_database_is_unreachable():
    # given a process whose database port is closed
    code = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/ready", HTTP_HOST="localhost")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/bazaar",
        "DB_POOL_TIMEOUT": "1",
    }
    # when
    result = run_python(code, env)
    # then
    assert result["status"] == 503
    assert result["body"]["status"] == "unavailable"
    assert result["body"]["checks"]["database"] == "down"
    assert result["body"]["checks"]["cache"] == "ok"
