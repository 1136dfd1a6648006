"""structlog over the standard library: one log format for every process.

Kept free of Django imports so settings can call :func:`build_logging`.
"""

import logging
from typing import Any

import structlog

_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
]


def build_logging(*, fmt: str, level: str) -> dict[str, Any]:
    """Configure structlog and return Django's ``LOGGING`` dict for ``fmt``.

    ``fmt`` is ``json`` (one object per line, for log shippers) or ``console``.
    """
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        final = [structlog.processors.format_exc_info, renderer]
    else:
        # Plain tracebacks: rich's (locals, highlighting) cost about a CPU
        # second per logged exception, enough to stall a web worker when
        # every request fails (resilience/FINDINGS.md, A).
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
        final = [renderer]
    structlog.configure(
        processors=[
            # Drop below-level calls before any other processor does work.
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _SHARED_PROCESSORS,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *final,
                ],
            },
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            # Our request log replaces Django's per-request lines.
            "django.server": {"level": logging.WARNING},
            "django.request": {"level": logging.ERROR},
        },
    }
