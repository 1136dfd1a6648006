"""Reads about the platform itself: PostgreSQL's table and index statistics.

Dead-tuple share stands in for bloat: an exact figure needs pgstattuple,
which scans whole tables; the statistics views cost nothing to read.
"""

from typing import Any

from django.db import connection

SCAN_HEAVY_MIN_ROWS = 10_000
LIMIT = 20


def _rows(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def database_tables() -> list[dict[str, Any]]:
    """The schema's tables, most dead tuples first: live and dead tuples, the
    dead share, total size, and when (auto)vacuum and analyze last ran."""
    return _rows(
        """
        SELECT relname AS table,
               n_live_tup AS live,
               n_dead_tup AS dead,
               round(
                   n_dead_tup::numeric / greatest(n_live_tup + n_dead_tup, 1), 4
               )::float AS dead_ratio,
               pg_total_relation_size(relid) AS size_bytes,
               n_mod_since_analyze AS modified_since_analyze,
               greatest(last_vacuum, last_autovacuum) AS last_vacuum,
               greatest(last_analyze, last_autoanalyze) AS last_analyze
          FROM pg_stat_user_tables
         WHERE schemaname = current_schema()
         ORDER BY n_dead_tup DESC, relname
        """
    )


def database_unused_indexes() -> list[dict[str, Any]]:
    """Indexes never scanned since statistics were reset, biggest first, not
    counting those that enforce uniqueness (they work without being read)."""
    return _rows(
        """
        SELECT s.indexrelname AS index,
               s.relname AS table,
               s.idx_scan AS scans,
               pg_relation_size(s.indexrelid) AS size_bytes
          FROM pg_stat_user_indexes s
          JOIN pg_index i ON i.indexrelid = s.indexrelid
         WHERE s.schemaname = current_schema()
           AND s.idx_scan = 0
           AND NOT i.indisunique
         ORDER BY pg_relation_size(s.indexrelid) DESC, s.indexrelname
         LIMIT %s
        """,
        [LIMIT],
    )


def database_scan_heavy_tables() -> list[dict[str, Any]]:
    """Tables of some size read mostly by sequential scans: a missing index,
    or a query that cannot use one."""
    return _rows(
        """
        SELECT relname AS table,
               seq_scan,
               coalesce(idx_scan, 0) AS idx_scan,
               n_live_tup AS live
          FROM pg_stat_user_tables
         WHERE schemaname = current_schema()
           AND n_live_tup >= %s
           AND seq_scan > coalesce(idx_scan, 0)
         ORDER BY seq_scan - coalesce(idx_scan, 0) DESC
         LIMIT %s
        """,
        [SCAN_HEAVY_MIN_ROWS, LIMIT],
    )
