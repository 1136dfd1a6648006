"""Sales aggregates: whole days recomputed from the orders table.

Sales count on the day of ``paid_at`` (``TIME_ZONE``); an order cancelled
after payment no longer counts, so recomputing its payment day reverses it.
Recomputing whole days keeps the job idempotent and needs no bookkeeping of
what was already counted. Payments and cancellations ask for a run through a
debounced job, so a burst of sales costs one run per day.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, Model, QuerySet, Sum
from django.utils import timezone

import jobs
from catalog.cache import catalog_invalidate
from config.dates import days_bounds
from orders.cache import seller_dashboard_invalidate
from orders.enums import OrderStatus
from orders.models import DailySales, Order, OrderItem, SellerDailySales

logger = structlog.get_logger("bazaar.orders.analytics")

AGGREGATE_JOB = "analytics.aggregate_sales"
# Later payments of the same day join the queued run instead of adding one.
DEBOUNCE_SECONDS = 60
# Serialises two runs over the same day (pg_advisory_xact_lock's first key).
_LOCK_CLASS = 0x5A1E5

# Each aggregate table: its model, and its grouping columns with the order
# line paths they come from; every table also has orders, units and revenue.
# SellerDailySales has its own grouping because an order holding two of a
# seller's products counts once there, which no sum of product rows can give.
_TABLES: tuple[tuple[type[Model], dict[str, str]], ...] = (
    (
        DailySales,
        {
            "product_id": "product_id",
            "category_id": "product__category_id",
            "seller_id": "product__seller_id",
            "currency": "order__currency",
        },
    ),
    (
        SellerDailySales,
        {"seller_id": "product__seller_id", "currency": "order__currency"},
    ),
)
_FIGURES = ("orders", "units", "revenue")
_AMOUNT = DecimalField(max_digits=14, decimal_places=2)


def sales_default_dates(*, now: datetime | None = None) -> list[date]:
    """Yesterday and today: what the nightly run and an empty payload cover."""
    today = timezone.localdate(now or timezone.now())
    return [today - timedelta(days=1), today]


def _paid_lines(day: date) -> QuerySet[OrderItem]:
    start, end = days_bounds(day)
    return OrderItem.objects.filter(
        order__paid_at__gte=start, order__paid_at__lt=end
    ).exclude(order__status=OrderStatus.CANCELLED)


def _computed_rows(day: date, groups: dict[str, str]) -> set[tuple[Any, ...]]:
    """The day's rows as the orders table gives them, in the order of
    ``groups`` then ``_FIGURES``."""
    lines = (
        _paid_lines(day)
        .values(*groups.values())
        .annotate(
            n_orders=Count("order_id", distinct=True),
            n_units=Sum("quantity"),
            amount=Sum(F("unit_price") * F("quantity"), output_field=_AMOUNT),
        )
    )
    return {
        (
            *(line[path] for path in groups.values()),
            line["n_orders"],
            line["n_units"],
            line["amount"].quantize(Decimal("0.01")),
        )
        for line in lines
    }


def _stored_rows(model: type[Model], day: date, columns: list[str]) -> set[tuple]:
    return set(model.objects.filter(date=day).values_list(*columns))


def _day_replace(model: type[Model], day: date, columns: list[str], rows: set) -> None:
    model.objects.filter(date=day).delete()
    model.objects.bulk_create(
        model(date=day, **dict(zip(columns, row, strict=True))) for row in rows
    )


@transaction.atomic
def sales_aggregate(*, dates: Iterable[date] | None = None) -> dict[str, Any]:
    """Rebuild the ``DailySales`` and ``SellerDailySales`` rows of these days
    (default: yesterday and today) in one transaction; a table whose figures
    for the day did not change is not written, so a second run changes nothing
    and invalidates nothing.

    Caches are invalidated on commit: the dashboards of the sellers whose
    rows changed, and the catalog's ``leaderboard`` namespace.
    """
    days = sorted(set(dates)) if dates is not None else sales_default_dates()
    changed_days: list[str] = []
    sellers: set[int] = set()
    for day in days:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, day.toordinal()]
            )
        changed = False
        for model, groups in _TABLES:
            columns = [*groups, *_FIGURES]
            stored = _stored_rows(model, day, columns)
            computed = _computed_rows(day, groups)
            if stored == computed:
                continue
            at = columns.index("seller_id")
            sellers |= {row[at] for row in stored ^ computed}
            _day_replace(model, day, columns, computed)
            changed = True
        if changed:
            changed_days.append(day.isoformat())
    if changed_days:
        seller_dashboard_invalidate(seller_ids=sellers)
        catalog_invalidate(namespaces=["leaderboard"])
        logger.info("sales_aggregated", days=changed_days, sellers=len(sellers))
    return {"dates": [day.isoformat() for day in days], "changed": changed_days}


def sales_aggregation_request(*, order: Order) -> None:
    """Queue a recompute of the order's payment day, about a minute from now.

    Call inside the transaction that pays the order or cancels a paid one.
    The dedupe key is per day, so while a run of that day is queued, further
    sales join it. If the day's run is already running, it may have read the
    orders before this transaction commits, so one follow-up run is queued
    (shared by every sale that meets the same running job).
    """
    if order.paid_at is None:
        return
    day = timezone.localdate(order.paid_at).isoformat()
    key = f"{AGGREGATE_JOB}:{day}"
    run_at = timezone.now() + timedelta(seconds=DEBOUNCE_SECONDS)
    job = jobs.enqueue(AGGREGATE_JOB, {"dates": [day]}, run_at=run_at, dedupe_key=key)
    if job.status == "running":
        jobs.enqueue(
            AGGREGATE_JOB,
            {"dates": [day]},
            run_at=run_at,
            dedupe_key=f"{key}:after:{job.pk}",
        )
