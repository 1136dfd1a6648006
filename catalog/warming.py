"""Cache warming: build the entries the busiest pages need before anyone asks.

Each page is requested internally through the same cached view a client
reaches, so a warmed entry is exactly the entry a real request would have
built (same key, both encodings, same tokens). The refresh-ahead rebuild of
one entry (``cache_refresh``) goes the same way.
"""

import time
from typing import Any

import structlog
from django.test import RequestFactory
from django.urls import Resolver404, resolve

from catalog.cache.store import CACHE_REFRESHES, REFRESHED
from catalog.models import Category
from catalog.selectors import product_popular

logger = structlog.get_logger("bazaar.catalog.cache")

_factory = RequestFactory()


def warm_paths() -> list[str]:
    """The category tree, popular products (list and each detail), the first
    product page overall and of each top-level category."""
    paths = ["/api/categories/", "/api/catalog/popular/", "/api/products/"]
    for category_id in Category.objects.filter(parent=None).values_list(
        "id", flat=True
    ):
        paths.append(f"/api/products/?category={category_id}")
    paths += [f"/api/products/{product.id}/" for product in product_popular()]
    return paths


def cache_warm() -> dict[str, Any]:
    """Request every warm path; report how many entries were built or present."""
    started = time.perf_counter()
    outcome = {"built": 0, "present": 0, "failed": 0, "bypassed": 0}
    for path in warm_paths():
        request = _factory.get(path, HTTP_ACCEPT="application/json")
        match = resolve(request.path_info)
        response = match.func(request, *match.args, **match.kwargs)
        state = response.get("X-Cache")
        if response.status_code != 200:
            outcome["failed"] += 1
        elif state == "MISS":
            outcome["built"] += 1
        elif state == "HIT":
            outcome["present"] += 1
        else:
            outcome["bypassed"] += 1
    return {
        "keys": outcome["built"] + outcome["present"],
        **outcome,
        "seconds": round(time.perf_counter() - started, 3),
    }


def cache_refresh(path: str) -> str:
    """Rebuild the cache entry of ``path`` (a catalog GET, with its query)
    ahead of its expiry; returns the outcome: done, skipped or failed.

    The request is marked so the cached view rebuilds instead of answering
    from the entry (and counts no product view); the store skips it when the
    entry was refreshed meanwhile or another process is building it.
    """
    request = _factory.get(path, HTTP_ACCEPT="application/json")
    request.catalog_cache_refresh = True  # type: ignore[attr-defined]
    namespace = "unknown"
    try:
        match = resolve(request.path_info)
        namespace = getattr(match.func, "namespace", namespace)
        response = match.func(request, *match.args, **match.kwargs)
    except Resolver404:
        outcome = "failed"
    except Exception:
        # Best effort: the entry expires as it would have without us.
        logger.warning("cache_refresh_failed", path=path[:200], exc_info=True)
        outcome = "failed"
    else:
        state = response.get("X-Cache")
        if state == REFRESHED and response.status_code == 200:
            outcome = "done"
        elif response.status_code == 204:
            outcome = "skipped"
        else:  # a 404 (deleted since), a 503 from the database, ...
            outcome = "failed"
    CACHE_REFRESHES.labels(namespace, outcome).inc()
    return outcome
