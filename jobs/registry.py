"""Job types: a name, a handler and the policy for running it.

Handlers are plain functions taking the ``JobRecord``; the task modules in
``jobs/tasks/`` register them with :func:`job_type`. Domain code enqueues by
name, so it never imports a task module.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobs.celery_tasks import register_celery_task
from jobs.enums import Backoff, Priority

if TYPE_CHECKING:
    from jobs.models import JobRecord

Handler = Callable[["JobRecord"], Any]
EnqueueHook = Callable[["JobRecord"], None]


@dataclass(frozen=True)
class JobType:
    """How a kind of job runs: default priority, attempts and backoff."""

    name: str
    handler: Handler
    priority: Priority
    max_attempts: int | None  # None: JOB_RETRY_ATTEMPTS
    backoff: Backoff | None  # None: JOB_RETRY_BACKOFF
    backoff_base: float  # seconds before the first retry
    backoff_cap: float  # longest wait between attempts
    atomic: bool  # run the handler and record success in one transaction
    on_enqueue: EnqueueHook | None  # runs inside the enqueuing transaction


_REGISTRY: dict[str, JobType] = {}


class UnknownJobType(LookupError):
    pass


def job_type(
    name: str,
    *,
    priority: Priority = Priority.MEDIUM,
    max_attempts: int | None = None,
    backoff: Backoff | None = None,
    backoff_base: float = 1.0,
    backoff_cap: float = 300.0,
    atomic: bool = True,
    on_enqueue: EnqueueHook | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of job type ``name``.

    Names are ``<category>.<action>`` after the task module that holds them.
    """

    def register(handler: Handler) -> Handler:
        if name in _REGISTRY and _REGISTRY[name].handler is not handler:
            raise ValueError(f"job type {name!r} registered twice")
        _REGISTRY[name] = JobType(
            name=name,
            handler=handler,
            priority=Priority(priority),
            max_attempts=max_attempts,
            backoff=backoff,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            atomic=atomic,
            on_enqueue=on_enqueue,
        )
        register_celery_task(name)
        return handler

    return register


def get_job_type(name: str) -> JobType:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownJobType(f"no job type named {name!r}") from None


def job_types() -> dict[str, JobType]:
    return dict(_REGISTRY)
