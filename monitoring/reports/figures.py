"""Reads behind the reports: each returns a report's figures as plain JSON
(money as decimal strings, never summed across currencies)."""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import ExtractHour, TruncDate

from catalog.models import Category, Product
from jobs.enums import JobStatus, Priority
from jobs.models import JobRecord
from monitoring import stats
from monitoring.reports.periods import period_bounds, period_days
from monitoring.selectors import Percentile, seconds_between
from orders.enums import OrderStatus
from orders.models import DailySales, Order, OrderItem
from orders.selectors import customer_insights

CENT = Decimal("0.01")
JOB_OUTCOMES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def money(value: Decimal | None) -> str:
    return str((value or Decimal(0)).quantize(CENT))


def plain(value: Any) -> Any:
    """``value`` with Decimals as strings and dates as ISO strings (JSON-safe)."""
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


# --- Sales -------------------------------------------------------------------


def _paid_orders(first: date, last: date) -> QuerySet[Order]:
    """The orders that count as sales of the period: paid in it (by
    ``paid_at``, ``TIME_ZONE`` days), not cancelled since; as
    ``orders.services.analytics`` counts them."""
    start, end = period_bounds(first, last)
    return Order.objects.filter(paid_at__gte=start, paid_at__lt=end).exclude(
        status=OrderStatus.CANCELLED
    )


def _named(model: type[Product] | type[Category], ids: set[int]) -> dict[int, dict]:
    return {
        row["id"]: row
        for row in model.objects.filter(pk__in=ids).values("id", "name", "slug")
    }


def _top(first: date, last: date, field: str, top: int) -> list[dict[str, Any]]:
    """Best sellers by units from ``DailySales`` (line revenue, no shipping),
    one entry per item and currency."""
    rows = list(
        DailySales.objects.filter(date__range=(first, last))
        .values(field, "currency")
        .annotate(units=Sum("units"), revenue=Sum("revenue"))
        .order_by("-units", "-revenue", field, "currency")[:top]
    )
    model = Product if field == "product_id" else Category
    names = _named(model, {row[field] for row in rows})
    return [
        {
            "id": row[field],
            "name": names[row[field]]["name"],
            "slug": names[row[field]]["slug"],
            "currency": row["currency"],
            "units": row["units"],
            "revenue": money(row["revenue"]),
        }
        for row in rows
    ]


def sales_figures(*, first: date, last: date, top: int | None = None) -> dict:
    """Orders, units, revenue (order totals, shipping included) and average
    order value per currency; a series per hour (one day) or per day; top
    products and categories. Read ``DailySales`` only once it is current."""
    top = top or settings.REPORT_TOP_ITEMS
    orders = _paid_orders(first, last)
    units = dict(
        OrderItem.objects.filter(order__in=orders)
        .values("order__currency")
        .annotate(units=Sum("quantity"))
        .values_list("order__currency", "units")
        .order_by()
    )
    currencies = [
        {
            "currency": row["currency"],
            "orders": row["orders"],
            "units": units.get(row["currency"], 0),
            "revenue": money(row["revenue"]),
            "shipping": money(row["shipping"]),
            "average_order_value": money(row["revenue"] / row["orders"]),
        }
        for row in orders.values("currency")
        .annotate(orders=Count("id"), revenue=Sum("total"), shipping=Sum("shipping"))
        .order_by("currency")
    ]
    hourly = first == last
    if hourly:
        labels = [f"{hour:02d}:00" for hour in range(24)]
        bucket: Any = ExtractHour("paid_at")  # in the current (TIME_ZONE) zone
    else:
        labels = [day.isoformat() for day in period_days(first, last)]
        bucket = TruncDate("paid_at")
    values: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in (
        orders.annotate(bucket=bucket)
        .values("bucket", "currency")
        .annotate(orders=Count("id"), revenue=Sum("total"))
        .order_by()
    ):
        label = labels[row["bucket"]] if hourly else row["bucket"].isoformat()
        values[label][row["currency"]] = {
            "orders": row["orders"],
            "revenue": money(row["revenue"]),
        }
    return {
        "currencies": currencies,
        "series_unit": "hour" if hourly else "day",
        "series": [
            {"label": label, "values": values.get(label, {})} for label in labels
        ],
        "top_products": _top(first, last, "product_id", top),
        "top_categories": _top(first, last, "category_id", top),
    }


# --- Customers ---------------------------------------------------------------


def customer_figures(*, first: date, last: date, top: int | None = None) -> dict:
    """``orders.selectors.customer_insights`` for the week, JSON-safe."""
    insights = customer_insights(
        first=first, last=last, top=top or settings.REPORT_TOP_ITEMS
    )
    del insights["from"], insights["to"]  # the report's own period says it
    return plain(insights)


# --- System performance ------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def job_figures(*, first: date, last: date) -> dict[str, Any]:
    """Jobs that finished in the period, per priority class: outcomes, failure
    rate (failed / (succeeded + failed)), p95 wait from due to start of their
    last attempt; and the job types that failed most."""
    start, end = period_bounds(first, last)
    finished = JobRecord.objects.filter(
        finished_at__gte=start, finished_at__lt=end, status__in=JOB_OUTCOMES
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in finished.values("priority", "status").annotate(n=Count("id")).order_by():
        counts[row["priority"]][row["status"]] = row["n"]
    waits = dict(
        finished.filter(started_at__isnull=False)
        .values("priority")
        .annotate(p95=Percentile(seconds_between("started_at", "run_at"), 0.95))
        .values_list("priority", "p95")
        .order_by()
    )
    priorities = []
    for priority in Priority:
        outcome = {
            status.value: counts[priority].get(status, 0) for status in JOB_OUTCOMES
        }
        p95 = waits.get(priority)
        priorities.append(
            {
                "priority": priority.label,
                **outcome,
                "failure_rate": _rate(
                    outcome["failed"], outcome["succeeded"] + outcome["failed"]
                ),
                "queue_wait_p95_s": None if p95 is None else round(p95, 3),
            }
        )
    succeeded = sum(row["succeeded"] for row in priorities)
    failed = sum(row["failed"] for row in priorities)
    return {
        "succeeded": succeeded,
        "failed": failed,
        "cancelled": sum(row["cancelled"] for row in priorities),
        "failure_rate": _rate(failed, succeeded + failed),
        "priorities": priorities,
        "failing_types": list(
            finished.filter(status=JobStatus.FAILED)
            .values("type")
            .annotate(failed=Count("id"))
            .order_by("-failed", "type")[:10]
        ),
    }


def performance_figures(*, first: date, last: date, top: int | None = None) -> dict:
    """Requests (per route: count, error rate, latency percentiles), response
    cache hit rate per namespace, slowest queries, and job outcomes."""
    top = top or settings.REPORT_TOP_ITEMS
    start, end = period_bounds(first, last)
    requests = stats.request_figures(start=start, end=end)  # sorted as shown
    return plain(
        {
            "requests": requests["requests"],
            "routes": requests["routes"][:top],
            "cache": requests["cache"],
            "slow_queries": stats.slow_query_figures(start=start, end=end, limit=top),
            "jobs": job_figures(first=first, last=last),
        }
    )
