"""Product views: counted in Redis on every detail read, folded into the
database by a LOW job (``analytics.flush_product_views``).

The request pays one HINCRBY and never writes to PostgreSQL. Losing up to one
flush interval of counts when Redis dies is accepted: they rank products, they
are not money.
"""

from typing import Any

import structlog
from django.db import connection, transaction
from django.http import HttpRequest
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from accounts.activity import Activity, activity_record, activity_viewer_id
from accounts.enums import ActivityKind
from catalog import cache
from catalog.selectors import product_ids_by_slug
from config.redis_flush import flush_claim

logger = structlog.get_logger("bazaar.catalog.popularity")

VIEWS_KEY = "bz:catalog:views"
FLUSHING_KEY = "bz:catalog:views:flushing"


def product_viewed(request: HttpRequest, lookup: str) -> None:
    """A product detail was read: count the view, and record an activity
    event when a signed-in user read it."""
    product_view_record(lookup=lookup)
    viewer = activity_viewer_id(request)
    if viewer is not None:
        product: int | str = int(lookup) if lookup.isdigit() else lookup
        activity_record(
            Activity(kind=ActivityKind.PRODUCT_VIEW, user_id=viewer, product=product)
        )


def product_view_record(*, lookup: str) -> None:
    """Count one view of the product answering to ``lookup`` (id or slug)."""
    if cache.breaker.is_open():
        return
    try:
        get_redis_connection("default").hincrby(VIEWS_KEY, lookup, 1)
    except RedisError as exc:
        cache.breaker.trip(exc)


def product_views_flush() -> dict[str, int]:
    """Add the counted views to ``view_count`` and ``popularity``.

    The counter hash is renamed first, so views counted during the flush land
    in a fresh hash for the next one. A flush that fails after the rename
    leaves the renamed hash in place, and the next flush takes it up.
    """
    client = get_redis_connection("default")
    if not flush_claim(client, VIEWS_KEY, FLUSHING_KEY):
        return {"products": 0, "views": 0}
    counted: dict[Any, int] = {}
    slugs: dict[str, int] = {}
    for raw_lookup, raw_count in client.hgetall(FLUSHING_KEY).items():
        lookup, count = raw_lookup.decode(), int(raw_count)
        if lookup.isdigit():
            counted[int(lookup)] = counted.get(int(lookup), 0) + count
        else:
            slugs[lookup] = slugs.get(lookup, 0) + count
    for slug, product_id in product_ids_by_slug(set(slugs)).items():
        counted[product_id] = counted.get(product_id, 0) + slugs[slug]
    if counted:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE catalog_product AS p
                   SET view_count = p.view_count + v.views,
                       popularity = p.popularity + v.views
                  FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, views)
                 WHERE p.id = v.id
                """,
                [list(counted), list(counted.values())],
            )
        cache.catalog_invalidate(namespaces=["popular"])
    client.delete(FLUSHING_KEY)
    views = sum(counted.values())
    logger.info("product_views_flushed", products=len(counted), views=views)
    return {"products": len(counted), "views": views}
