"""Reads of orders: one order for its owner or staff, its invoice, a buyer's
orders, the lines a seller sold, and the sales figures (from ``DailySales``
only, never a scan of orders)."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import IO, Any

from django.core.cache import cache
from django.db.models import Count, Prefetch, QuerySet, Sum, prefetch_related_objects
from django.utils import timezone

from accounts.models import ActivityEvent
from catalog.enums import Currency
from catalog.models import Category, Product
from config.dates import days_bounds
from orders import invoices
from orders.cache import DASHBOARD_TTL, seller_dashboard_key
from orders.enums import OrderStatus
from orders.exceptions import InvoiceNotReady
from orders.models import DailySales, Order, OrderItem, SellerDailySales

SALES_WINDOW_DAYS = 30
TOP_PRODUCTS = 10
LEADERBOARD_SIZE = 50
TOP_CUSTOMERS = 10


def _items() -> Prefetch:
    return Prefetch("items", queryset=OrderItem.objects.order_by("pk"))


def _with_items(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(_items())


def order_get_for_user(*, order_id: int, user: Any, items: bool = True) -> Order | None:
    """The order if ``user`` owns it or is staff; None otherwise (a 404: other
    people's orders are never acknowledged). ``items=False`` leaves its lines
    unread, for a caller that only checks access."""
    orders = Order.objects.filter(pk=order_id)
    if not user.is_staff:
        orders = orders.filter(user=user)
    return (_with_items(orders) if items else orders).first()


def order_items_attach(order: Order) -> Order:
    """``order`` with its lines read in, in the order the other reads give."""
    prefetch_related_objects([order], _items())
    return order


def order_invoice_open(*, order: Order) -> IO[bytes]:
    """The order's latest invoice PDF, open for reading.

    Raises InvoiceNotReady (404) until a rendering job has stored one.
    """
    if not order.invoice_path:
        raise InvoiceNotReady
    try:
        return invoices.invoice_open(order.invoice_path)
    except FileNotFoundError:  # replaced by a newer rendering just now
        raise InvoiceNotReady from None


def order_list_for_user(*, user: Any) -> QuerySet[Order]:
    """The user's own orders, newest first (order_user_created_idx)."""
    return _with_items(Order.objects.filter(user=user)).order_by("-created_at", "-id")


def seller_order_lines(*, seller: Any) -> QuerySet[OrderItem]:
    """Lines of the seller's products with their order, newest first."""
    return (
        OrderItem.objects.filter(product__seller=seller)
        .select_related("order")
        .order_by("-id")
    )


def _window(today: date | None) -> tuple[date, date]:
    """The last 30 days, today included."""
    last = today or timezone.localdate()
    return last - timedelta(days=SALES_WINDOW_DAYS - 1), last


def _named(model: type[Product] | type[Category], ids: list[int]) -> dict:
    """``{id: {id, slug, name}}``: plain data, so cached entries hold no models."""
    rows = model.objects.filter(pk__in=ids).values("id", "slug", "name")
    return {row["id"]: row for row in rows}


def _main_currency(weights: dict[str, int]) -> str:
    """The currency with the most weight (orders or units), ties by code;
    the catalog's default when nothing sold."""
    if not weights:
        return Currency.USD
    return min(weights, key=lambda code: (-weights[code], code))


def seller_dashboard(*, seller: Any, today: date | None = None) -> dict[str, Any]:
    """A seller's last 30 days: totals, top products, and every day (zeros
    included), cached five minutes per seller until their rows change.

    Orders count once however many of the seller's products they hold. Money
    is never summed across currencies: ``revenue_30d`` and the daily revenue
    are in ``currency`` (the one most of the seller's orders were in), and
    ``revenue_by_currency`` has the whole picture.
    """
    first, last = _window(today)
    key = seller_dashboard_key(seller_id=seller.pk, today=last)
    data = cache.get(key)
    if data is None:
        data = _seller_dashboard_build(seller_id=seller.pk, first=first, last=last)
        cache.set(key, data, timeout=DASHBOARD_TTL)
    return data


def _seller_dashboard_build(*, seller_id: int, first: date, last: date) -> dict:
    days = list(
        SellerDailySales.objects.filter(
            seller_id=seller_id, date__range=(first, last)
        ).values_list("date", "currency", "orders", "units", "revenue")
    )
    orders_by_currency: dict[str, int] = defaultdict(int)
    revenue_by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for _, currency, orders, _, revenue in days:
        orders_by_currency[currency] += orders
        revenue_by_currency[currency] += revenue
    currency = _main_currency(orders_by_currency)
    zero = Decimal("0.00")
    day_orders: dict[date, int] = defaultdict(int)
    day_revenue: dict[date, Decimal] = defaultdict(lambda: zero)
    for day, code, orders, _, revenue in days:
        day_orders[day] += orders
        if code == currency:
            day_revenue[day] += revenue
    top = list(
        DailySales.objects.filter(seller_id=seller_id, date__range=(first, last))
        .values("product_id", "currency")
        .annotate(total_units=Sum("units"), total_revenue=Sum("revenue"))
        .order_by("-total_units", "-total_revenue", "product_id")[:TOP_PRODUCTS]
    )
    products = _named(Product, [row["product_id"] for row in top])
    return {
        "currency": currency,
        "revenue_30d": revenue_by_currency.get(currency, zero),
        "revenue_by_currency": dict(sorted(revenue_by_currency.items())),
        "orders_30d": sum(orders_by_currency.values()),
        "units_30d": sum(units for _, _, _, units, _ in days),
        "top_products": [
            {
                "product": products[row["product_id"]],
                "units": row["total_units"],
                "revenue": row["total_revenue"],
                "currency": row["currency"],
            }
            for row in top
        ],
        "daily": [
            {"date": day, "orders": day_orders[day], "revenue": day_revenue[day]}
            for day in (first + timedelta(days=n) for n in range(SALES_WINDOW_DAYS))
        ],
    }


def category_leaderboard(*, today: date | None = None) -> list[dict[str, Any]]:
    """Categories by units sold in the last 30 days, most first (the catalog
    response cache keeps the rendered answer).

    ``revenue`` is in the category's ``currency`` (the one most of its units
    sold in); ``revenue_by_currency`` lists every currency's sum.
    """
    first, last = _window(today)
    units: dict[int, dict[str, int]] = defaultdict(dict)
    revenue: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in (
        DailySales.objects.filter(date__range=(first, last))
        .values("category_id", "currency")
        .annotate(total_units=Sum("units"), total_revenue=Sum("revenue"))
    ):
        units[row["category_id"]][row["currency"]] = row["total_units"]
        revenue[row["category_id"]][row["currency"]] = row["total_revenue"]
    currencies = {category: _main_currency(units[category]) for category in units}
    ranked = sorted(
        units,
        key=lambda category: (
            -sum(units[category].values()),
            -revenue[category][currencies[category]],
            category,
        ),
    )[:LEADERBOARD_SIZE]
    categories = _named(Category, ranked)
    return [
        {
            "category": categories[category],
            "units": sum(units[category].values()),
            "revenue": revenue[category][currencies[category]],
            "currency": currencies[category],
            "revenue_by_currency": dict(sorted(revenue[category].items())),
        }
        for category in ranked
    ]


def customer_insights(
    *, first: date, last: date, top: int = TOP_CUSTOMERS
) -> dict[str, Any]:
    """Who buys, from ``first`` to ``last`` (whole days, ``TIME_ZONE``): for
    reports, computed on demand from the orders table (a job, not a request).

    Per currency, over the orders paid in the window and not cancelled:
    orders, revenue (order totals), average order value, customers, repeat
    customers (those with two or more such orders by the end of the window,
    earlier ones included) and their share, and the top customers by spend.
    ``active_users`` counts the users with any activity event in the window.
    """
    start, end = days_bounds(first, last)
    sales = Order.objects.filter(paid_at__isnull=False).exclude(
        status=OrderStatus.CANCELLED
    )
    window = sales.filter(paid_at__gte=start, paid_at__lt=end)
    lifetime = {
        (row["user_id"], row["currency"]): row["n"]
        for row in sales.filter(paid_at__lt=end, user_id__in=window.values("user_id"))
        .values("user_id", "currency")
        .annotate(n=Count("id"))
        .order_by()
    }
    per_customer = list(
        window.values("user_id", "user__email", "currency")
        .annotate(orders=Count("id"), spent=Sum("total"))
        .order_by("currency", "-spent", "-orders", "user_id")
    )
    currencies: dict[str, dict[str, Any]] = {}
    for row in per_customer:
        figures = currencies.setdefault(
            row["currency"],
            {
                "currency": row["currency"],
                "orders": 0,
                "revenue": Decimal("0.00"),
                "customers": 0,
                "repeat_customers": 0,
                "top_customers": [],
            },
        )
        figures["orders"] += row["orders"]
        figures["revenue"] += row["spent"]
        figures["customers"] += 1
        if lifetime.get((row["user_id"], row["currency"]), 0) >= 2:
            figures["repeat_customers"] += 1
        if len(figures["top_customers"]) < top:
            figures["top_customers"].append(
                {
                    "user_id": row["user_id"],
                    "email": row["user__email"],
                    "orders": row["orders"],
                    "spent": row["spent"],
                }
            )
    for figures in currencies.values():
        figures["average_order_value"] = (
            figures["revenue"] / figures["orders"]
        ).quantize(Decimal("0.01"))
        figures["repeat_purchase_rate"] = round(
            figures["repeat_customers"] / figures["customers"], 4
        )
    active = (
        ActivityEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .values("user_id")
        .distinct()
        .count()
    )
    return {
        "from": first,
        "to": last,
        "active_users": active,
        "currencies": [currencies[code] for code in sorted(currencies)],
    }
