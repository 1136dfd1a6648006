"""Errors of the job platform."""

from config.api.errors import DomainError


class JobsError(DomainError):
    code = "jobs_error"


class PayloadTooLarge(JobsError):
    code = "payload_too_large"


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (bad input, corrupt file)."""


class LeaseLost(Exception):
    """The job's lease lapsed and another attempt took it over mid-run."""
