"""Keyset pagination over (ordering value, id): ties never skip or repeat rows.

A page is fetched with a row comparison ``(value, id) > (last value, last id)``
(``<`` for descending orderings), which PostgreSQL answers straight from a
btree index on ``(value, id)``: page 500 costs what page 1 costs.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import BooleanField, Expression, F, QuerySet, Value


@dataclass(frozen=True)
class Ordering:
    """One public ordering: the value column (or annotation) and its direction."""

    key: str
    field: str
    descending: bool
    # Turns the JSON form of a cursor value back into the column's Python type.
    parse: Callable[[Any], Any]
    # Turns a row's value into something JSON can hold exactly.
    dump: Callable[[Any], Any]


def _parse_decimal(raw: Any) -> Decimal:
    if not isinstance(raw, str):
        raise ValueError("not a string")
    try:
        value = Decimal(raw)
    except ArithmeticError as exc:
        raise ValueError("not a decimal") from exc
    # Prices are numeric(12, 2): anything wider cannot come from a row.
    if not value.is_finite() or value.adjusted() > 12:
        raise ValueError("out of range")
    return value


def _parse_float(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError("not a number")
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def _parse_datetime(raw: Any) -> datetime:
    value = datetime.fromisoformat(str(raw))
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value


def _parse_str(raw: Any) -> str:
    # PostgreSQL text cannot hold NUL; no stored name is longer than 200.
    if not isinstance(raw, str) or "\x00" in raw or len(raw) > 200:
        raise ValueError("not a name")
    return raw


ORDERINGS: dict[str, Ordering] = {
    "price": Ordering("price", "price", False, _parse_decimal, str),
    "-price": Ordering("-price", "price", True, _parse_decimal, str),
    "-created_at": Ordering(
        "-created_at", "created_at", True, _parse_datetime, datetime.isoformat
    ),
    "name": Ordering("name", "name", False, _parse_str, str),
    "-popularity": Ordering("-popularity", "popularity", True, _parse_float, float),
    # Search relevance: an annotation, not a column (see selectors.product_list).
    "rank": Ordering("rank", "rank", True, _parse_float, float),
}
PUBLIC_ORDERINGS = ("price", "-price", "-created_at", "name", "-popularity")


@dataclass(frozen=True)
class Cursor:
    """A position between two rows: after (or, going back, before) ``(value, id)``.

    ``value`` is the JSON form (``Ordering.dump``); ``Ordering.parse`` reads it.
    """

    ordering: str
    value: Any
    id: int
    backwards: bool = False


@dataclass(frozen=True)
class Page:
    """One page of rows and the cursors of its neighbours (None at either end)."""

    items: list[Any]
    next: Cursor | None
    previous: Cursor | None


class RowCompare(Expression):
    """``(a, b) < (x, y)``: a row comparison an index on ``(a, b)`` can serve."""

    output_field = BooleanField()

    def __init__(self, lhs: Sequence[Any], operator: str, rhs: Sequence[Any]) -> None:
        super().__init__()
        if operator not in {"<", ">"} or len(lhs) != len(rhs):
            raise ValueError("bad row comparison")
        self.lhs, self.operator, self.rhs = list(lhs), operator, list(rhs)

    def get_source_expressions(self) -> list[Any]:
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        half = len(exprs) // 2
        self.lhs, self.rhs = list(exprs[:half]), list(exprs[half:])

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sides, params = [], []
        for side in (self.lhs, self.rhs):
            parts = []
            for expr in side:
                sql, expr_params = compiler.compile(expr)
                parts.append(sql)
                params.extend(expr_params)
            sides.append("({})".format(", ".join(parts)))
        return f"{sides[0]} {self.operator} {sides[1]}", params


def walks_descending(ordering: Ordering, cursor: Cursor | None) -> bool:
    """Whether a page is read in descending ``(field, id)`` order."""
    # Walking backwards reads the same index the other way round.
    return ordering.descending != (cursor is not None and cursor.backwards)


def keyset_walk(
    queryset: QuerySet, *, ordering: Ordering, cursor: Cursor | None
) -> QuerySet:
    """``queryset`` in walking order from ``cursor`` on (unsliced): the rows a
    page takes its first ones from. Callers that assemble a page from parts
    (``selectors``) use it for each part, so every part agrees with the page."""
    descending = walks_descending(ordering, cursor)
    prefix = "-" if descending else ""
    queryset = queryset.order_by(f"{prefix}{ordering.field}", f"{prefix}id")
    if cursor is not None:
        queryset = queryset.filter(
            RowCompare(
                [F(ordering.field), F("id")],
                "<" if descending else ">",
                [Value(ordering.parse(cursor.value)), Value(cursor.id)],
            )
        )
    return queryset


def paginate(
    queryset: QuerySet, *, ordering: Ordering, cursor: Cursor | None, page_size: int
) -> Page:
    """One page of ``queryset`` ordered by ``(ordering.field, id)``."""
    rows = list(
        keyset_walk(queryset, ordering=ordering, cursor=cursor)[: page_size + 1]
    )
    return _page(
        rows,
        ordering=ordering,
        cursor=cursor,
        page_size=page_size,
        key=lambda row: (getattr(row, ordering.field), row.id),
    )


def _page(
    rows: list[Any],
    *,
    ordering: Ordering,
    cursor: Cursor | None,
    page_size: int,
    key: Callable[[Any], tuple[Any, int]],
) -> Page:
    """Up to ``page_size + 1`` rows read in walking order, as a Page."""
    backwards = cursor is not None and cursor.backwards
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()

    def at(row: Any, *, back: bool) -> Cursor:
        value, row_id = key(row)
        return Cursor(ordering.key, ordering.dump(value), row_id, back)

    if not rows:
        # Nothing here (e.g. rows deleted since the cursor was made): the way
        # back starts from the cursor itself.
        previous = None
        if cursor is not None and not backwards:
            previous = Cursor(ordering.key, cursor.value, cursor.id, True)
        return Page(items=[], next=None, previous=previous)
    has_next = more if not backwards else True
    has_previous = more if backwards else cursor is not None
    return Page(
        items=rows,
        next=at(rows[-1], back=False) if has_next else None,
        previous=at(rows[0], back=True) if has_previous else None,
    )
