"""The catalog's response cache, one mechanism: ``store`` keeps final response
bodies in Redis under version tokens (never stale) and has busy entries
rebuilt in the background before they expire, ``views`` wraps the GET views
that use it. Other apps use what is exported here.
"""

from catalog.cache.store import (
    EPOCH,
    HIT,
    MISS,
    NAMESPACES,
    VARIANTS,
    Entry,
    _hot,
    _Lookup,
    _token_key,
    breaker,
    catalog_invalidate,
    etag_for,
    request_digest,
    revalidate,
    serve,
)
from catalog.cache.views import cached

__all__ = [
    "EPOCH",
    "HIT",
    "MISS",
    "NAMESPACES",
    "VARIANTS",
    "Entry",
    "_Lookup",
    "_hot",
    "_token_key",
    "breaker",
    "cached",
    "catalog_invalidate",
    "etag_for",
    "request_digest",
    "revalidate",
    "serve",
]
