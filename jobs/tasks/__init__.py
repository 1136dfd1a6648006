"""Job handlers, one module per job category; each handler is thin."""

from jobs.tasks import analytics, cache, email, images, maintenance  # noqa: F401
