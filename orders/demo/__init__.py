"""Deterministic demo data for development: users, catalog and orders, loaded fast.

All randomness comes from one ``random.Random(seed)`` and every timestamp is an
offset from a fixed epoch, so the same seed and sizes give the same rows. Rows go
in through ``COPY FROM STDIN``: 100,000 products take seconds. It lives in
``orders`` because it seeds all three apps (catalog and accounts never import
orders).
"""

from orders.demo.seed import (
    DEMO_ADMIN_EMAIL,
    DEMO_EMAIL_DOMAIN,
    DEMO_PASSWORD,
    DEMO_SELLER_EMAIL,
    DemoDataError,
    DemoDataPresentError,
    DemoSeedResult,
    demo_is_empty,
    demo_seed,
)

__all__ = [
    "DEMO_ADMIN_EMAIL",
    "DEMO_EMAIL_DOMAIN",
    "DEMO_PASSWORD",
    "DEMO_SELLER_EMAIL",
    "DemoDataError",
    "DemoDataPresentError",
    "DemoSeedResult",
    "demo_is_empty",
    "demo_seed",
]
