"""Errors of the job platform."""

from collections.abc import Iterator
from contextlib import contextmanager

from config.api.errors import DomainError


class JobsError(DomainError):
    code = "jobs_error"


class PayloadTooLarge(JobsError):
    code = "payload_too_large"


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (bad input, corrupt file)."""


@contextmanager
def payload_parsing() -> Iterator[None]:
    """Around a handler's reading of its payload: a missing key or a value of
    the wrong type or form fails the job for good (a retry reads the same)."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentJobError(f"malformed payload: {exc!r}") from exc


class LeaseLost(Exception):
    """The job's lease lapsed and another attempt took it over mid-run."""
