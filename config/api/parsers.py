"""A JSON parser that answers 400 to anything it would otherwise choke on."""

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Longest numeric literal accepted: enough for any real price or id.
MAX_NUMBER_CHARS = 40


def _parse_float(text: str) -> Decimal:
    # Decimals keep money exact; overlong literals are refused before parsing.
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("invalid number") from exc
    if not value.is_finite() or abs(value.adjusted()) > 30:
        raise ValueError("number out of range")
    return value


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    return int(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_depth(value: Any, limit: int) -> None:
    """Walk the parsed document iteratively, refusing nesting deeper than ``limit``."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise ParseError(f"JSON nested deeper than {limit} levels.")
        stack.extend((child, depth + 1) for child in children)


class StrictJSONParser(JSONParser):
    """Parse JSON with exact decimals, bounded numbers and bounded nesting."""

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[override]
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
            data = json.loads(
                text,
                parse_float=_parse_float,
                parse_int=_parse_int,
                parse_constant=_reject_constant,
            )
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
        _check_depth(data, settings.API_MAX_JSON_DEPTH)
        return data
