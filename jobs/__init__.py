"""The background-job platform: ``jobs.enqueue`` is the one way to run slow work."""

from typing import Any


def enqueue(
    job_type: str, payload: dict[str, Any] | None = None, **options: Any
) -> Any:
    """Record a job in the caller's transaction; see ``jobs.services.job_enqueue``."""
    from jobs.services import job_enqueue

    return job_enqueue(job_type, payload, **options)
