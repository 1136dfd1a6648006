"""Cache warming: build the entries the busiest pages need before anyone asks.

Each page is requested internally through the same cached view a client
reaches, so a warmed entry is exactly the entry a real request would have
built (same key, both encodings, same tokens).
"""

import time
from typing import Any

from django.test import RequestFactory
from django.urls import resolve

from catalog.models import Category
from catalog.selectors import product_popular

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
