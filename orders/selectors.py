"""Reads of orders: one order for its owner or staff, its invoice, a buyer's
orders, the lines a seller sold, and the sales figures (from ``DailySales``
only, never a scan of orders)."""

from datetime import date, timedelta
from decimal import Decimal
from typing import IO, Any

from django.core.cache import cache
from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from catalog.models import Category, Product
from orders import invoices
from orders.cache import DASHBOARD_TTL, seller_dashboard_key
from orders.exceptions import InvoiceNotReady
from orders.models import DailySales, Order, OrderItem

SALES_WINDOW_DAYS = 30
TOP_PRODUCTS = 10
LEADERBOARD_SIZE = 50


def _with_items(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("pk"))
    )


def order_get_for_user(*, order_id: int, user: Any) -> Order | None:
    """The order if ``user`` owns it or is staff; None otherwise (a 404: other
    people's orders are never acknowledged)."""
    orders = Order.objects.filter(pk=order_id)
    if not user.is_staff:
        orders = orders.filter(user=user)
    return _with_items(orders).first()


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


def seller_dashboard(*, seller: Any, today: date | None = None) -> dict[str, Any]:
    """A seller's last 30 days: totals, top products, and every day (zeros
    included), cached five minutes per seller until their rows change.

    ``orders`` sums the per-product rows, so an order holding two of the
    seller's products counts once per product.
    """
    first, last = _window(today)
    key = seller_dashboard_key(seller_id=seller.pk, today=last)
    data = cache.get(key)
    if data is None:
        data = _seller_dashboard_build(seller_id=seller.pk, first=first, last=last)
        cache.set(key, data, timeout=DASHBOARD_TTL)
    return data


def _seller_dashboard_build(*, seller_id: int, first: date, last: date) -> dict:
    rows = DailySales.objects.filter(seller_id=seller_id, date__range=(first, last))
    zero = Decimal("0.00")
    per_day = {
        row["date"]: row
        for row in rows.values("date").annotate(
            day_orders=Sum("orders"), day_revenue=Sum("revenue")
        )
    }
    daily = [
        {
            "date": day,
            "orders": per_day[day]["day_orders"] if day in per_day else 0,
            "revenue": per_day[day]["day_revenue"] if day in per_day else zero,
        }
        for day in (first + timedelta(days=n) for n in range(SALES_WINDOW_DAYS))
    ]
    top = list(
        rows.values("product_id")
        .annotate(total_units=Sum("units"), total_revenue=Sum("revenue"))
        .order_by("-total_units", "-total_revenue", "product_id")[:TOP_PRODUCTS]
    )
    products = _named(Product, [row["product_id"] for row in top])
    return {
        "revenue_30d": sum((day["revenue"] for day in daily), zero),
        "orders_30d": sum(day["orders"] for day in daily),
        "units_30d": rows.aggregate(total=Sum("units"))["total"] or 0,
        "top_products": [
            {
                "product": products[row["product_id"]],
                "units": row["total_units"],
                "revenue": row["total_revenue"],
            }
            for row in top
        ],
        "daily": daily,
    }


def category_leaderboard(*, today: date | None = None) -> list[dict[str, Any]]:
    """Categories by units sold in the last 30 days, most first (the catalog
    response cache keeps the rendered answer)."""
    first, last = _window(today)
    ranked = list(
        DailySales.objects.filter(date__range=(first, last))
        .values("category_id")
        .annotate(total_units=Sum("units"), total_revenue=Sum("revenue"))
        .order_by("-total_units", "-total_revenue", "category_id")[:LEADERBOARD_SIZE]
    )
    categories = _named(Category, [row["category_id"] for row in ranked])
    return [
        {
            "category": categories[row["category_id"]],
            "units": row["total_units"],
            "revenue": row["total_revenue"],
        }
        for row in ranked
    ]
