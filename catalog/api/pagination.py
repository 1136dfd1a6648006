"""Opaque cursors for keyset pages, and the ``{next, previous, results}`` body."""

import base64
import binascii
import json
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from catalog.keyset import ORDERINGS, Cursor, Page

CURSOR_PARAM = "cursor"
MAX_ID = 2**63 - 1


class InvalidCursor(ValueError):
    """The cursor was not made by ``encode_cursor`` (or not for this ordering)."""


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps(
        [cursor.ordering, cursor.value, cursor.id, int(cursor.backwards)],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, *, ordering: str) -> Cursor:
    """Read a cursor made for ``ordering``; anything else raises InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        key, value, row_id, backwards = json.loads(raw)
        spec = ORDERINGS[key]
        spec.parse(value)
    except (binascii.Error, ValueError, TypeError, KeyError, ArithmeticError):
        raise InvalidCursor from None
    valid = (
        key == ordering
        and isinstance(row_id, int)
        and not isinstance(row_id, bool)
        and 0 < row_id <= MAX_ID
        and backwards in (0, 1)
    )
    if not valid:
        raise InvalidCursor
    return Cursor(key, value, row_id, bool(backwards))


def paginated_response(request: Request, page: Page, results: list[Any]) -> Response:
    """The list body; ``next``/``previous`` keep every other query parameter.

    Links are root-relative (``/api/products/?cursor=...``): the same cached
    page is then right for every host and scheme it is served under.
    """
    url = request.get_full_path()

    def link(cursor: Cursor | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(url, CURSOR_PARAM, encode_cursor(cursor))

    return Response(
        {"next": link(page.next), "previous": link(page.previous), "results": results}
    )
