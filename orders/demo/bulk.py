"""Bulk work on the default connection: empty, reserve ids, COPY, ANALYZE."""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.db import connection
from django.db.models import CASCADE, SET_NULL, ForeignObjectRel, Model


class BulkEmptyError(Exception):
    """Rows outside the tables being emptied protect rows inside them."""


def bulk_reserve_ids(model: type[Model], count: int) -> list[int]:
    """Draw ``count`` ids from the table's identity sequence, ascending.

    Knowing the ids before COPY lets orders refer to products without reading
    100,000 rows back.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)",
            [model._meta.db_table, model._meta.pk.column],
        )
        (sequence,) = cursor.fetchone()
    return bulk_next_values(sequence, count)


def bulk_next_values(sequence: str, count: int) -> list[int]:
    """Draw ``count`` values from ``sequence`` in one round trip, ascending."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
            [sequence, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


@contextmanager
def bulk_indexes_deferred(model: type[Model]) -> Iterator[None]:
    """Drop the table's plain (non-unique) indexes, and rebuild them on exit.

    Building an index once over 100,000 rows is several times cheaper than
    updating it row by row. Use inside a transaction: DROP INDEX holds an
    exclusive lock on the table until commit, and a failure rolls the drop back.
    The definitions are read from the catalog, so exactly what was there returns.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("Indexes may only be dropped inside a transaction.")
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)"
            " FROM pg_index WHERE indrelid = %s::regclass"
            " AND NOT indisunique AND NOT indisexclusion ORDER BY 1",
            [table],
        )
        indexes = cursor.fetchall()
    # CREATE INDEX refuses a table with pending trigger events, and Django's
    # foreign keys are checked at commit: check them as each statement ends
    # instead, from before the drop (earlier deletes may need these indexes).
    deferred = _deferred_foreign_keys([table])
    with connection.cursor() as cursor:
        if deferred:
            cursor.execute(f"SET CONSTRAINTS {deferred} IMMEDIATE")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
        if deferred:
            cursor.execute(f"SET CONSTRAINTS {deferred} DEFERRED")


def bulk_copy(
    model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """Write ``rows`` (values in ``columns`` order) with ``COPY ... FROM STDIN``."""
    quote = connection.ops.quote_name
    sql = "COPY {} ({}) FROM STDIN".format(
        quote(model._meta.db_table), ", ".join(quote(column) for column in columns)
    )
    # Django's cursor wraps psycopg's; COPY needs a psycopg cursor of the same
    # connection, so it runs in the caller's transaction.
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor() as pg_cursor,
        pg_cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def bulk_empty(*models: type[Model]) -> None:
    """Delete every row of ``models`` (children first), fast.

    Rows of other models that point at them get their ``on_delete`` first:
    SET_NULL and CASCADE are applied (through the ORM, which loads only those
    rows); anything else that still points raises ``BulkEmptyError``. Then each
    table PostgreSQL allows to (no foreign key from a table kept) is TRUNCATEd,
    which skips a foreign-key check per row; the rest get a plain DELETE.
    """
    for model in models:
        for relation in _references_to(model):
            if relation.related_model not in models:
                _release(model, relation)
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text"
            " FROM pg_constraint WHERE contype = 'f'"
            " AND confrelid = ANY(%s::regclass[])",
            [tables],
        )
        references = cursor.fetchall()
        truncated = set(tables)
        # A table can be truncated only along with every table referring to it.
        while kept := {to for by, to in references if by not in truncated} & truncated:
            truncated -= kept
        quote = connection.ops.quote_name
        if truncated:
            # TRUNCATE refuses tables with pending (deferred) foreign-key
            # checks: run those now, then defer again.
            if deferred := _deferred_foreign_keys(sorted(truncated)):
                cursor.execute(f"SET CONSTRAINTS {deferred} IMMEDIATE")
                cursor.execute(f"SET CONSTRAINTS {deferred} DEFERRED")
            names = ", ".join(quote(t) for t in tables if t in truncated)
            cursor.execute(f"TRUNCATE {names}")
        for table in tables:
            if table not in truncated:
                cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608


def _deferred_foreign_keys(tables: Sequence[str]) -> str:
    """The initially deferred foreign keys from or to ``tables``, for SET
    CONSTRAINTS (Django creates all of its foreign keys that way)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format('%%I.%%I', n.nspname, c.conname)"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE c.contype = 'f' AND c.condeferred"
            " AND (c.conrelid = ANY(%s::regclass[])"
            " OR c.confrelid = ANY(%s::regclass[])) ORDER BY 1",
            [list(tables), list(tables)],
        )
        return ", ".join(name for (name,) in cursor.fetchall())


def _references_to(model: type[Model]) -> list[ForeignObjectRel]:
    # Hidden ones too (related_name="+"), as Django's own delete collector does.
    return [
        field
        for field in model._meta.get_fields(include_hidden=True)
        if isinstance(field, ForeignObjectRel) and not field.many_to_many
    ]


def _release(model: type[Model], relation: ForeignObjectRel) -> None:
    name = relation.field.name
    rows = relation.related_model._base_manager.filter(**{f"{name}__isnull": False})
    if relation.on_delete is SET_NULL:
        rows.update(**{name: None})
    elif relation.on_delete is CASCADE:
        rows.delete()
    elif rows.exists():
        raise BulkEmptyError(
            f"{relation.related_model._meta.label} rows refer to "
            f"{model._meta.label} rows and protect them."
        )


def bulk_analyze(*models: type[Model]) -> None:
    """Refresh planner statistics after a big load."""
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")
