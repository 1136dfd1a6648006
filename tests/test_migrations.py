"""Migrations are complete, apply from zero on an empty database, and reverse."""

import uuid

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tests.db import direct_connection
from tests.subprocess_env import manage


def _admin_connection() -> psycopg.Connection:
    return direct_connection("postgres")


def test_models_and_migrations_agree():
    done = manage("makemigrations", "--check", "--dry-run", env={})
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_migrations_apply_from_zero_and_reverse():
    # given an empty scratch database
    name = f"bazaar_migrate_{uuid.uuid4().hex[:8]}"
    db = settings.DATABASES["default"]
    with _admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"
    env = {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    try:
        # when migrated forward, then all the way back
        forward = manage("migrate", "--noinput", env=env)
        assert forward.returncode == 0, forward.stderr
        for app in ("orders", "catalog"):
            back = manage("migrate", app, "zero", "--noinput", env=env)
            assert back.returncode == 0, back.stderr
        again = manage("migrate", "--noinput", env=env)
        # then the schema is whole again
        assert again.returncode == 0, again.stderr
        with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
        assert {"catalog_product", "orders_order", "accounts_user"} <= tables
    finally:
        with _admin_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
