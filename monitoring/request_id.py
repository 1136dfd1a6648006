"""The id of the request being served, for logs and for the jobs it causes."""

import re
import uuid
from contextvars import ContextVar

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_from_header(value: str | None) -> str:
    """Echo a well-formed incoming id, otherwise make a new one.

    A client's id is only trusted when short and free of characters that could
    forge log lines or headers.
    """
    if value and _VALID.match(value):
        return value
    return uuid.uuid4().hex


def get_request_id() -> str | None:
    """The current request's id, or None outside a request."""
    return _current.get()


def set_request_id(value: str | None) -> object:
    """Bind ``value`` as the current id; the token undoes it (``reset_request_id``)."""
    return _current.set(value)


def reset_request_id(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
