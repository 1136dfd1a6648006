"""Operator actions behind ``/api/admin/performance/``: writes only.

Anything slow runs as a job (the request answers 202 with its id), so an
operator's click never holds a web worker.
"""

from typing import Any

from django.db import transaction

import jobs
from catalog.cache import NAMESPACES, catalog_invalidate
from jobs.models import JobRecord


@transaction.atomic
def cache_warm_request(*, user: Any) -> JobRecord:
    """Queue a catalog warm-up; a click while one is waiting returns that one."""
    return jobs.enqueue("cache.warm", {}, user=user, dedupe_key="cache.warm:manual")


def cache_namespace_invalidate(*, namespace: str) -> list[str]:
    """Drop one namespace of the catalog cache, or every one with ``all``."""
    names = list(NAMESPACES) if namespace == "all" else [namespace]
    with transaction.atomic():
        catalog_invalidate(namespaces=names)
    return names
