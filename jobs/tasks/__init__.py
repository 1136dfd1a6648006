"""Job handlers, one module per job category; each handler is thin."""

from jobs.tasks import (  # noqa: F401
    analytics,
    cache,
    email,
    images,
    maintenance,
    notifications,
    orders,
    reports,
)
