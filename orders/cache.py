"""Keys of the seller dashboard cache, and their invalidation.

Each seller has a generation token; an entry is stored under the token read
before it was computed. Invalidation replaces the token after the writing
transaction commits, so a reader that computed from older rows stores its
answer under a dead key instead of serving it for the next five minutes.
"""

import uuid
from collections.abc import Iterable
from datetime import date

from django.core.cache import cache
from django.db import transaction

PREFIX = "bz:orders:dashboard"
DASHBOARD_TTL = 300  # seconds


def _generation_key(seller_id: int) -> str:
    return f"{PREFIX}:gen:{seller_id}"


def seller_dashboard_key(*, seller_id: int, today: date) -> str:
    """The entry's key: the seller, their current generation and the day
    (the 30-day window moves at midnight)."""
    generation = cache.get(_generation_key(seller_id))
    if generation is None:
        cache.add(_generation_key(seller_id), uuid.uuid4().hex, timeout=None)
        generation = cache.get(_generation_key(seller_id)) or "none"
    return f"{PREFIX}:{seller_id}:{generation}:{today.isoformat()}"


def seller_dashboard_invalidate(*, seller_ids: Iterable[int]) -> None:
    """Retire these sellers' entries once the current transaction commits."""
    keys = [_generation_key(seller_id) for seller_id in set(seller_ids)]
    if not keys:
        return
    transaction.on_commit(
        lambda: cache.set_many({key: uuid.uuid4().hex for key in keys}, timeout=None)
    )
