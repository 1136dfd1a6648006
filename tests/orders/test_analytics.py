"""Sales analytics: daily aggregates rebuilt from paid orders, the debounced
job that rebuilds them, the seller dashboard and the category leaderboard."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

import jobs
from catalog.models import Product
from jobs.enums import JobStatus, Priority
from jobs.models import JobRecord
from jobs.registry import get_job_type
from jobs.runner import run_job_inline
from orders import services
from orders.models import DailySales, Order, SellerDailySales
from orders.services import Line
from tests.factories import CategoryFactory, ProductFactory, SellerFactory
from tests.orders.conftest import ADDRESS, client_for

pytestmark = pytest.mark.django_db

JOB = "analytics.aggregate_sales"
DASHBOARD = "/api/seller/dashboard"
LEADERBOARD = "/api/catalog/leaderboard"


def today():
    return timezone.localdate()


def buy(user, *lines: tuple[Product, int], paid_days_ago: int | None = 0) -> Order:
    """An order of these lines, paid ``paid_days_ago`` days ago (None: unpaid)."""
    order = services.order_create(
        user=user,
        lines=[Line(product.pk, quantity) for product, quantity in lines],
        shipping_address=ADDRESS,
    )
    if paid_days_ago is None:
        return order
    services.order_pay(order_id=order.pk, card_token="tok_ok")
    paid_at = timezone.now() - timedelta(days=paid_days_ago)
    Order.objects.filter(pk=order.pk).update(paid_at=paid_at)
    return Order.objects.get(pk=order.pk)


def rows() -> set[tuple]:
    return set(
        DailySales.objects.values_list(
            "date",
            "product_id",
            "category_id",
            "seller_id",
            "orders",
            "units",
            "revenue",
        )
    )


@pytest.fixture
def other_seller():
    return SellerFactory(email="other-seller@example.com")


@pytest.fixture
def kitchen():
    return CategoryFactory(name="Kitchen", slug="kitchen")


@pytest.fixture
def garden():
    return CategoryFactory(name="Garden", slug="garden")


@pytest.fixture
def cup(seller, kitchen) -> Product:
    return ProductFactory(
        seller=seller, category=kitchen, name="Cup", price=Decimal("5.00"), stock=50
    )


@pytest.fixture
def pot(seller, kitchen) -> Product:
    return ProductFactory(
        seller=seller, category=kitchen, name="Pot", price=Decimal("20.00"), stock=50
    )


@pytest.fixture
def spade(other_seller, garden) -> Product:
    return ProductFactory(
        seller=other_seller,
        category=garden,
        name="Spade",
        price=Decimal("15.00"),
        stock=50,
    )


@pytest.fixture
def sales(buyer, cup, pot, spade) -> list[Order]:
    """Today: cup x2 + pot x1, cup x1, spade x4; yesterday: pot x3; one
    unpaid order (cup x7) that must not count."""
    return [
        buy(buyer, (cup, 2), (pot, 1)),
        buy(buyer, (cup, 1)),
        buy(buyer, (spade, 4)),
        buy(buyer, (pot, 3), paid_days_ago=1),
        buy(buyer, (cup, 7), paid_days_ago=None),
    ]


# --- Aggregation -------------------------------------------------------------


def test_aggregates_are_the_paid_sales_per_day_and_product(
    sales, seller, other_seller, cup, pot, spade, kitchen, garden
):
    # when
    result = services.sales_aggregate()

    # then
    t, y = today(), today() - timedelta(days=1)
    assert result == {
        "dates": [y.isoformat(), t.isoformat()],
        "changed": [y.isoformat(), t.isoformat()],
    }
    assert rows() == {
        (t, cup.pk, kitchen.pk, seller.pk, 2, 3, Decimal("15.00")),
        (t, pot.pk, kitchen.pk, seller.pk, 1, 1, Decimal("20.00")),
        (t, spade.pk, garden.pk, other_seller.pk, 1, 4, Decimal("60.00")),
        (y, pot.pk, kitchen.pk, seller.pk, 1, 3, Decimal("60.00")),
    }
    assert set(DailySales.objects.values_list("currency", flat=True)) == {"USD"}
    # per seller, the cup-and-pot order counts once
    assert set(
        SellerDailySales.objects.values_list(
            "date", "seller_id", "currency", "orders", "units", "revenue"
        )
    ) == {
        (t, seller.pk, "USD", 2, 4, Decimal("35.00")),
        (t, other_seller.pk, "USD", 1, 4, Decimal("60.00")),
        (y, seller.pk, "USD", 1, 3, Decimal("60.00")),
    }


def test_a_cancelled_paid_order_leaves_its_day(sales, seller, cup, pot, kitchen):
    # given aggregated sales
    services.sales_aggregate()

    # when today's spade order is cancelled (refunded) and the day rebuilt
    services.order_cancel(order_id=sales[2].pk, actor=None)
    result = services.sales_aggregate(dates=[today()])

    # then the spade sales are gone, the rest stands
    assert result["changed"] == [today().isoformat()]
    assert {row[1] for row in rows() if row[0] == today()} == {cup.pk, pot.pk}


def test_aggregation_is_idempotent(sales):
    services.sales_aggregate()
    before = list(DailySales.objects.order_by("pk").values())

    again = services.sales_aggregate()

    assert again["changed"] == []
    assert list(DailySales.objects.order_by("pk").values()) == before


@pytest.mark.django_db(transaction=True)
def test_the_job_and_the_command_share_the_service(sales):
    # given a queued job for today only
    job = JobRecord.objects.filter(type=JOB).get()
    assert job.payload == {"dates": [today().isoformat()]}

    # when it runs
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED

    # then today's rows exist (yesterday's payment was moved by hand)
    assert {row[0] for row in rows()} == {today()}
    out = StringIO()
    call_command("aggregate_sales", "--days", "2", stdout=out)
    assert {row[0] for row in rows()} == {today(), today() - timedelta(days=1)}
    assert out.getvalue().startswith("aggregated 2 day(s), 1 changed")
    assert get_job_type(JOB).priority == Priority.LOW


# --- Debounce ------------------------------------------------------------------


def test_a_burst_of_payments_queues_one_run_per_day(buyer, cup):
    # when several orders are paid in a burst
    started = timezone.now()
    for _ in range(4):
        buy(buyer, (cup, 1))

    # then one run is queued for today, about a minute later
    [job] = JobRecord.objects.filter(type=JOB)
    assert (job.dedupe_key, job.payload, job.status, job.priority) == (
        f"{JOB}:{today().isoformat()}",
        {"dates": [today().isoformat()]},
        JobStatus.QUEUED,
        Priority.LOW,
    )
    assert started + timedelta(seconds=59) < job.run_at
    assert job.run_at < timezone.now() + timedelta(seconds=61)


def test_a_sale_during_a_running_run_queues_one_follow_up(buyer, cup):
    buy(buyer, (cup, 1))
    first = JobRecord.objects.get(type=JOB)
    JobRecord.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING)

    buy(buyer, (cup, 1))
    buy(buyer, (cup, 1))

    keys = sorted(
        JobRecord.objects.filter(type=JOB).values_list("dedupe_key", flat=True)
    )
    day_key = f"{JOB}:{today().isoformat()}"
    assert keys == [day_key, f"{day_key}:after:{first.pk}"]


def test_unpaid_cancellations_queue_nothing(buyer, cup):
    order = buy(buyer, (cup, 1), paid_days_ago=None)
    services.order_cancel(order_id=order.pk, actor=None)
    assert not JobRecord.objects.filter(type=JOB).exists()


def test_cancelling_a_paid_order_queues_its_payment_day(buyer, cup):
    order = buy(buyer, (cup, 1), paid_days_ago=3)
    JobRecord.objects.filter(type=JOB).delete()

    services.order_cancel(order_id=order.pk, actor=None)

    [job] = JobRecord.objects.filter(type=JOB)
    day = (today() - timedelta(days=3)).isoformat()
    assert (job.dedupe_key, job.payload) == (f"{JOB}:{day}", {"dates": [day]})


# --- Seller dashboard --------------------------------------------------------


def test_the_dashboard_sums_the_seller_s_last_30_days(
    sales, seller, cup, pot, django_capture_on_commit_callbacks
):
    # given aggregates, and a sale 40 days ago outside the window
    buy(sales[0].user, (cup, 9), paid_days_ago=40)
    with django_capture_on_commit_callbacks(execute=True):
        services.sales_aggregate(
            dates=[today() - timedelta(days=n) for n in (0, 1, 40)]
        )

    # when
    response = client_for(seller).get(DASHBOARD)

    # then
    assert (response.status_code, response["Cache-Control"]) == (
        200,
        "private, no-store",
    )
    body = response.json()
    # the cup-and-pot order is one order, not one per product
    assert (body["revenue_30d"], body["orders_30d"], body["units_30d"]) == (
        "95.00",
        3,
        7,
    )
    assert (body["currency"], body["revenue_by_currency"]) == ("USD", {"USD": "95.00"})
    assert body["top_products"] == [
        {
            "product": {"id": pot.pk, "slug": pot.slug, "name": "Pot"},
            "units": 4,
            "revenue": "80.00",
            "currency": "USD",
        },
        {
            "product": {"id": cup.pk, "slug": cup.slug, "name": "Cup"},
            "units": 3,
            "revenue": "15.00",
            "currency": "USD",
        },
    ]
    assert len(body["daily"]) == 30
    assert body["daily"][0] == {
        "date": (today() - timedelta(days=29)).isoformat(),
        "orders": 0,
        "revenue": "0.00",
    }
    assert body["daily"][-2:] == [
        {
            "date": (today() - timedelta(days=1)).isoformat(),
            "orders": 1,
            "revenue": "60.00",
        },
        {"date": today().isoformat(), "orders": 2, "revenue": "35.00"},
    ]


def test_the_dashboard_never_adds_currencies(
    buyer, seller, cup, pot, kitchen, django_capture_on_commit_callbacks
):
    # given two USD orders and one EUR order of the same seller today
    mug = ProductFactory(
        seller=seller,
        category=kitchen,
        name="Mug",
        price=Decimal("7.00"),
        currency="EUR",
        stock=50,
    )
    buy(buyer, (cup, 1), (pot, 1))
    buy(buyer, (cup, 2))
    buy(buyer, (mug, 3))
    with django_capture_on_commit_callbacks(execute=True):
        services.sales_aggregate(dates=[today()])

    # when
    body = client_for(seller).get(DASHBOARD).json()

    # then revenue is reported in the seller's main currency, with the rest beside
    assert (body["currency"], body["revenue_30d"], body["orders_30d"]) == (
        "USD",
        "35.00",
        3,
    )
    assert body["revenue_by_currency"] == {"EUR": "21.00", "USD": "35.00"}
    assert body["daily"][-1] == {
        "date": today().isoformat(),
        "orders": 3,
        "revenue": "35.00",
    }
    assert {
        (row["product"]["name"], row["currency"]) for row in body["top_products"]
    } == {
        ("Cup", "USD"),
        ("Pot", "USD"),
        ("Mug", "EUR"),
    }


def test_the_dashboard_is_cached_until_the_seller_s_rows_change(
    buyer, seller, cup, django_capture_on_commit_callbacks
):
    # given a cached dashboard
    client = client_for(seller)
    buy(buyer, (cup, 1))
    with django_capture_on_commit_callbacks(execute=True):
        services.sales_aggregate(dates=[today()])
    assert client.get(DASHBOARD).json()["units_30d"] == 1

    # when rows change behind the service's back, the cache still answers
    SellerDailySales.objects.update(units=50)
    assert client.get(DASHBOARD).json()["units_30d"] == 1

    # and when the aggregation rewrites the seller's rows, it is invalidated
    buy(buyer, (cup, 2))
    with django_capture_on_commit_callbacks(execute=True):
        services.sales_aggregate(dates=[today()])
    assert client.get(DASHBOARD).json()["units_30d"] == 3


def test_the_dashboard_is_for_sellers_only(api_client, buyer, seller):
    assert api_client.get(DASHBOARD).status_code == 401
    assert client_for(buyer).get(DASHBOARD).status_code == 403
    empty = client_for(seller).get(DASHBOARD).json()
    assert (empty["revenue_30d"], empty["orders_30d"], empty["top_products"]) == (
        "0.00",
        0,
        [],
    )


# --- Category leaderboard ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_leaderboard_ranks_categories_by_units_and_is_cached(
    api_client, sales, buyer, spade, kitchen, garden
):
    # given aggregates: kitchen 7 units, garden 4
    services.sales_aggregate()

    # when asked twice
    first = api_client.get(LEADERBOARD)
    second = api_client.get(LEADERBOARD)

    # then ranked, built once, then served from the cache
    assert (first.status_code, first["X-Cache"], second["X-Cache"]) == (
        200,
        "MISS",
        "HIT",
    )
    assert (
        first.json()
        == second.json()
        == [
            {
                "category": {"id": kitchen.pk, "slug": "kitchen", "name": "Kitchen"},
                "units": 7,
                "revenue": "95.00",
                "currency": "USD",
                "revenue_by_currency": {"USD": "95.00"},
            },
            {
                "category": {"id": garden.pk, "slug": "garden", "name": "Garden"},
                "units": 4,
                "revenue": "60.00",
                "currency": "USD",
                "revenue_by_currency": {"USD": "60.00"},
            },
        ]
    )

    # when more garden sales are aggregated by the job
    buy(buyer, (spade, 5))
    job = JobRecord.objects.filter(type=JOB, status=JobStatus.QUEUED).get()
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED

    # then the next read is rebuilt with garden first
    third = api_client.get(LEADERBOARD)
    assert third["X-Cache"] == "MISS"
    assert [row["category"]["slug"] for row in third.json()] == ["garden", "kitchen"]
    assert third.json()[0]["units"] == 9


@pytest.mark.django_db(transaction=True)
def test_the_nightly_run_without_dates_covers_yesterday_and_today(sales):
    with transaction.atomic():
        job = jobs.enqueue(JOB)
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    yesterday = (today() - timedelta(days=1)).isoformat()
    assert job.result["dates"] == [yesterday, today().isoformat()]
    assert {row[0] for row in rows()} == {today(), today() - timedelta(days=1)}


def test_the_command_takes_explicit_dates(sales):
    yesterday = today() - timedelta(days=1)
    call_command("aggregate_sales", "--date", yesterday.isoformat(), stdout=StringIO())
    assert {row[0] for row in rows()} == {yesterday}


def test_staff_marking_an_order_paid_queues_its_day(buyer, staff, cup):
    order = buy(buyer, (cup, 1), paid_days_ago=None)
    services.order_status_set(order_id=order.pk, status="paid", actor=staff)
    assert JobRecord.objects.filter(
        type=JOB, dedupe_key=f"{JOB}:{today().isoformat()}"
    ).exists()


def test_anyone_may_read_the_leaderboard(api_client, buyer):
    assert api_client.get(LEADERBOARD).json() == []
    assert client_for(buyer).get(LEADERBOARD).status_code == 200
