"""Settings come from the environment; production refuses unsafe values."""

import pytest

from tests.subprocess_env import manage, run_python

DUMP = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "cache": settings.CACHES["default"]["LOCATION"],
    "security": settings.CACHES["security"]["LOCATION"],
    "broker": settings.CELERY_BROKER_URL,
    "db_name": db["NAME"], "db_host": db["HOST"], "db_port": db["PORT"],
    "pool": db["OPTIONS"]["pool"],
    "engine": db["ENGINE"],
    "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS,
    "email_backend": settings.EMAIL_BACKEND,
    "max_body": settings.API_MAX_BODY_BYTES,
    "default_ignores": settings.CACHES["default"]["OPTIONS"]["IGNORE_EXCEPTIONS"],
    "security_ignores": settings.CACHES["security"]["OPTIONS"]["IGNORE_EXCEPTIONS"],
}))
"""

# A developer's .env must not leak into what these tests read.
BASE = {
    "DJANGO_SETTINGS_MODULE": "config.settings.base",
    "DJANGO_READ_DOT_ENV_FILE": "false",
}


def test_defaults_point_at_local_postgres_and_separate_redis_databases():
    # given no configuration beyond the settings module
    unset = ["DATABASE_URL", "REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL"]
    env = {**BASE, **dict.fromkeys([*unset, "SECURITY_CACHE_URL", "DB_POOL_MIN"])}
    # when
    values = run_python(DUMP, env)
    # then
    assert values["engine"] == "config.database"  # Django's, plus a connect breaker
    assert (values["db_host"], values["db_port"], values["db_name"]) == (
        "127.0.0.1",
        5432,
        "bazaar",
    )
    assert values["broker"] == "redis://127.0.0.1:6379/0"
    assert values["cache"] == "redis://127.0.0.1:6379/1"
    assert values["security"] == "redis://127.0.0.1:6379/2"
    assert values["pool"]["min_size"] == 2
    assert values["pool"]["max_size"] == 20
    assert values["default_ignores"] is True
    assert values["security_ignores"] is False
    assert values["max_body"] == 1024 * 1024


def test_environment_overrides_everything():
    env = {
        **BASE,
        "DATABASE_URL": "postgres://shop:pw@db.internal:6543/shopdb",
        "REDIS_URL": "redis://cache.internal:6390",
        "CELERY_BROKER_URL": "redis://broker.internal:6391/3",
        "DB_POOL_MIN": "4",
        "DB_POOL_MAX": "8",
        "DEBUG": "true",
        "ALLOWED_HOSTS": "shop.example,api.shop.example",
        "EMAIL_URL": "smtp://mail.internal:2525",
        "API_MAX_BODY_BYTES": "2048",
    }
    values = run_python(DUMP, env)
    assert (values["db_host"], values["db_port"], values["db_name"]) == (
        "db.internal",
        6543,
        "shopdb",
    )
    assert values["cache"] == "redis://cache.internal:6390/1"
    assert values["security"] == "redis://cache.internal:6390/2"
    assert values["broker"] == "redis://broker.internal:6391/3"
    assert values["pool"] == {"min_size": 4, "max_size": 8, "timeout": 2.0}
    assert values["debug"] is True
    assert values["hosts"] == ["shop.example", "api.shop.example"]
    assert values["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["max_body"] == 2048


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_READ_DOT_ENV_FILE": "false",
    "SECRET_KEY": "q8V0m3nZ_x7Lr2pK9sT4wY6uB1cE5gH0jN3vM8aD2fQ7hR6kS9tW4yX1zC5bG0nL",
    "ALLOWED_HOSTS": "shop.example",
    "JWT_SIGNING_KEY": "d4Lr7vQ2xN9sK1mW5tY8bH3jF6gC0zP4eR7uA2iO5nV8kS1qX",
}


def test_production_refuses_to_start_without_its_secret():
    env = {**PRODUCTION, "SECRET_KEY": None}
    done = manage("check", env=env)
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_values():
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
