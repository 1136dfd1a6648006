"""Draining a Redis structure that requests keep writing to: set the whole
key aside under a second name, then work through that copy at leisure. Used
by the activity-event queue and the product-view counters."""

from typing import Any

from redis.exceptions import ResponseError


def flush_claim(client: Any, key: str, flushing_key: str) -> bool:
    """Set ``key`` aside as ``flushing_key`` for a flush; False if there is
    nothing to flush. What is recorded meanwhile lands in a fresh ``key`` for
    the next flush, and a ``flushing_key`` left by a flush that died is taken
    up as it is."""
    if client.exists(flushing_key):
        return True
    try:
        client.rename(key, flushing_key)
    except ResponseError as exc:
        if "no such key" in str(exc).lower():
            return False
        raise
    return True
