"""``db_maintenance``: VACUUM where dead tuples pass the thresholds, ANALYZE
the hot tables, and a bloat and index-usage summary."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from monitoring.selectors import database_tables
from monitoring.services import HOT_TABLES, db_maintenance
from tests.factories import CategoryFactory

# VACUUM refuses a transaction: these tests run in autocommit.
pytestmark = pytest.mark.django_db(transaction=True)


def stats(table: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    return next(row for row in database_tables() if row["table"] == table)


def vacuum_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT vacuum_count, analyze_count FROM pg_stat_user_tables"
            " WHERE relname = %s",
            [table],
        )
        return cursor.fetchone()


def test_vacuums_the_table_past_the_thresholds_and_analyzes_the_hot_ones(settings):
    # given a table with many dead tuples (categories updated in place)
    settings.DB_VACUUM_MIN_DEAD_TUPLES = 100
    settings.DB_VACUUM_DEAD_RATIO = 0.1
    CategoryFactory.create_batch(50)
    with connection.cursor() as cursor:
        for _ in range(4):
            cursor.execute("UPDATE catalog_category SET position = position + 1")
    assert stats("catalog_category")["dead"] >= 100
    vacuumed_before, _ = vacuum_count("catalog_category")
    _, analyzed_before = vacuum_count("orders_order")

    # when
    summary = db_maintenance()

    # then the bloated table was vacuumed, the hot tables analyzed
    assert "catalog_category" in summary["vacuumed"]
    assert set(summary["analyzed"]) == set(HOT_TABLES) - set(summary["vacuumed"])
    assert vacuum_count("catalog_category")[0] == vacuumed_before + 1
    assert vacuum_count("orders_order")[1] == analyzed_before + 1
    assert stats("catalog_category")["dead"] == 0
    # and the summary names the bloat it found and indexes never scanned
    assert summary["bloat"][0]["table"] == "catalog_category"
    assert all(row["scans"] == 0 for row in summary["unused_indexes"])


def test_a_dry_run_changes_nothing(settings):
    settings.DB_VACUUM_MIN_DEAD_TUPLES = 1
    settings.DB_VACUUM_DEAD_RATIO = 0.0
    CategoryFactory.create_batch(5)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_category SET position = position + 1")
    assert stats("catalog_category")["dead"] >= 5
    before = vacuum_count("catalog_category")

    summary = db_maintenance(dry_run=True)

    assert "catalog_category" in summary["vacuumed"]
    assert vacuum_count("catalog_category") == before


def test_refuses_to_run_inside_a_transaction():
    from django.db import transaction

    with transaction.atomic(), pytest.raises(RuntimeError):
        db_maintenance()


def test_the_command_prints_the_summary():
    out = StringIO()
    call_command("db_maintenance", "--dry-run", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["dry_run"] is True
    assert set(summary) >= {"vacuumed", "analyzed", "bloat", "unused_indexes"}
