"""``manage.py seed_demo``: counts, invariants, accounts, refusal, determinism."""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count, Sum

from accounts.models import User
from catalog.models import Category, Product
from jobs.enums import Priority
from jobs.models import JobRecord
from orders import services
from orders.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, DEMO_SELLER_EMAIL
from orders.demo.bulk import bulk_indexes_deferred
from orders.models import DailySales, Order, OrderItem, SellerDailySales
from tests.factories import OrderItemFactory, UserFactory

pytestmark = pytest.mark.django_db

SIZES = {"products": 300, "users": 20, "orders": 50}


def seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", **{**SIZES, "seed": 7, **options}, stdout=out)
    return out.getvalue()


def dump() -> dict[str, list[tuple]]:
    """Everything the seed decides, without serial ids or password hashes."""
    products = [
        (
            p.slug,
            p.name,
            p.description,
            p.price,
            p.currency,
            p.stock,
            p.is_active,
            p.category.slug,
            p.seller.email,
            p.created_at,
            p.attributes,
            p.view_count,
            p.popularity,
        )
        for p in Product.objects.select_related("category", "seller").order_by("slug")
    ]
    orders = [
        (
            o.number,
            o.user.email,
            o.status,
            o.subtotal,
            o.shipping,
            o.total,
            o.created_at,
            o.paid_at,
            o.shipping_address,
            sorted(
                (i.product.slug, i.name, i.unit_price, i.quantity)
                for i in o.items.all()
            ),
        )
        for o in Order.objects.select_related("user")
        .prefetch_related("items__product")
        .order_by("number")
    ]
    users = list(
        User.objects.order_by("email").values_list(
            "email", "first_name", "last_name", "is_seller", "date_joined"
        )
    )
    categories = list(
        Category.objects.order_by("slug").values_list(
            "slug", "name", "parent__slug", "position", "created_at"
        )
    )
    return {
        "products": products,
        "orders": orders,
        "users": users,
        "categories": categories,
    }


def test_loads_exact_counts_and_prints_the_credentials():
    # when
    output = seed(reset=True)

    # then: 20 shoppers, 2 sellers + the demo seller, the demo superuser
    assert User.objects.filter(email__endswith="@demo.bazaar.local").count() == 22
    assert User.objects.filter(is_seller=True).count() == 3
    assert User.objects.count() == 24
    assert Product.objects.count() == 300
    assert Order.objects.count() == 50
    assert 50 <= OrderItem.objects.count() <= 200
    assert Category.objects.count() == 44
    assert f"superuser   {DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD}" in output
    assert f"seller      {DEMO_SELLER_EMAIL} / {DEMO_PASSWORD}" in output
    assert "products           300" in output


def test_category_tree_has_departments_with_three_to_six_leaves():
    seed(reset=True)

    roots = Category.objects.filter(parent=None).annotate(n=Count("children"))
    assert roots.count() == 8
    assert all(3 <= root.n <= 6 for root in roots)
    leaves = Category.objects.exclude(parent=None)
    assert not Category.objects.filter(parent__in=leaves).exists()
    assert all(leaf.slug.startswith(f"{leaf.parent.slug}-") for leaf in leaves)
    assert not Product.objects.filter(category__parent=None).exists()


def test_products_are_valid_and_varied():
    seed(reset=True)

    products = list(Product.objects.all())
    assert all(p.price > 0 and p.stock >= 0 for p in products)
    assert all(0 <= p.stock <= 500 for p in products)
    assert {p.currency for p in products} == {"USD", "EUR", "GBP"}
    assert sum(p.currency == "USD" for p in products) > 200
    assert any(p.stock == 0 for p in products)
    assert all(re.fullmatch(r"[a-z0-9-]+-\d+", p.slug) for p in products)
    assert all(
        {"color", "material", "weight_g"} <= p.attributes.keys() for p in products
    )
    assert all(1 <= p.description.count(".") <= 4 for p in products)
    assert Product.objects.filter(seller__email=DEMO_SELLER_EMAIL).exists()
    assert not Product.objects.filter(seller__is_seller=False).exists()


def test_orders_add_up_and_keep_to_one_currency():
    seed(reset=True)

    orders = Order.objects.annotate(
        lines=Count("items"), distinct_products=Count("items__product", distinct=True)
    ).prefetch_related("items__product")
    for order in orders:
        items = list(order.items.all())
        assert 1 <= order.lines <= 4
        assert order.distinct_products == order.lines
        assert order.subtotal == sum(i.unit_price * i.quantity for i in items)
        assert order.total == order.subtotal + order.shipping
        expected = Decimal("0.00") if order.subtotal >= 50 else Decimal("5.00")
        assert order.shipping == expected
        assert {i.product.currency for i in items} == {order.currency}
        assert all(i.unit_price == i.product.price for i in items)
        assert all(i.name == i.product.name for i in items)
        assert all(1 <= i.quantity <= 3 for i in items)
        assert all(order.created_at > i.product.created_at for i in items)
        paid = order.status in ("paid", "shipped", "delivered")
        assert (order.paid_at is not None) == paid
        assert order.user.email.startswith("shopper")


def test_the_demo_sales_are_aggregated():
    seed(reset=True)

    # the dashboards' tables hold exactly the paid, uncancelled demo sales
    sold = OrderItem.objects.filter(order__paid_at__isnull=False).exclude(
        order__status="cancelled"
    )
    assert sold.exists()
    units = sold.aggregate(units=Sum("quantity"))["units"]
    assert DailySales.objects.aggregate(units=Sum("units"))["units"] == units
    assert SellerDailySales.objects.aggregate(units=Sum("units"))["units"] == units
    assert (
        services.sales_aggregate(
            dates=set(DailySales.objects.values_list("date", flat=True))
        )["changed"]
        == []
    )


def test_reset_restarts_order_numbers():
    seed(reset=True)
    seed(reset=True)

    numbers = sorted(Order.objects.values_list("number", flat=True))
    assert numbers == [f"BZ-2026-{n:06d}" for n in range(1, 51)]


def test_demo_superuser_and_seller_can_log_in():
    seed(reset=True)

    admin = authenticate(email=DEMO_ADMIN_EMAIL, password=DEMO_PASSWORD)
    seller = authenticate(email=DEMO_SELLER_EMAIL, password=DEMO_PASSWORD)
    assert admin is not None and admin.is_superuser and admin.is_staff
    assert seller is not None and seller.is_seller and not seller.is_staff
    assert authenticate(email="shopper1@demo.bazaar.local", password=DEMO_PASSWORD)


def test_refuses_to_seed_over_existing_data_without_reset():
    seed(reset=True)

    with pytest.raises(CommandError, match="Pass --reset"):
        seed()
    assert Product.objects.count() == 300


def test_if_empty_skips_when_products_exist():
    seed(reset=True)
    before = dump()

    output = seed(if_empty=True, seed=8)

    assert output == "demo data present, skipping\n"
    assert dump() == before


def test_if_empty_seeds_an_empty_catalog():
    output = seed(if_empty=True)

    assert "Demo data loaded" in output
    assert Product.objects.count() == 300


def test_same_seed_gives_the_same_rows():
    seed(reset=True)
    first = dump()

    seed(reset=True)

    assert dump() == first
    assert len(first["products"]) == 300
    assert len(first["orders"]) == 50


def test_another_seed_gives_other_rows():
    seed(reset=True)
    first = dump()

    seed(reset=True, seed=8)

    second = dump()
    assert second["products"] != first["products"]
    assert second["orders"] != first["orders"]
    assert second["categories"] == first["categories"]


def test_reset_keeps_other_users_and_detaches_their_jobs():
    # given: a real shopper's order (which reset deletes) with a job pointing at it
    shopper = UserFactory(email="someone@example.com")
    order = OrderItemFactory(order__user=shopper).order
    job = JobRecord.objects.create(
        type="email.send", priority=Priority.HIGH, order=order, user=shopper
    )

    # when
    seed(reset=True)

    # then
    assert User.objects.filter(pk=shopper.pk).exists()
    assert not Order.objects.filter(user=shopper).exists()
    job.refresh_from_db()
    assert job.order_id is None
    assert job.user_id == shopper.pk


def test_rejects_orders_without_products():
    with pytest.raises(CommandError, match="at least one product"):
        seed(products=0)


def test_big_loads_rebuild_the_indexes_they_drop():
    # given
    def definitions() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes"
                " WHERE tablename = 'catalog_product' ORDER BY indexname"
            )
            return [row[0] for row in cursor.fetchall()]

    before = definitions()
    seed(reset=True)

    # when
    with transaction.atomic(), bulk_indexes_deferred(Product):
        dropped = definitions()
        Product.objects.update(stock=1)

    # then
    unique = ["catalog_product_pkey", "catalog_product_slug_key"]
    assert [definition.split()[3] for definition in dropped] == unique
    assert len(before) == 14
    assert definitions() == before
    assert Product.objects.aggregate(Sum("stock")) == {"stock__sum": 300}
