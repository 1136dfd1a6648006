"""User-activity events: queued in Redis by the request after it commits,
written in batches by the flush job, each event once, purged after retention."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_redis import get_redis_connection
from rest_framework.test import APIClient

import jobs
from accounts import activity
from accounts.activity import Activity, activity_flush, activity_record
from accounts.enums import ActivityKind
from accounts.models import ActivityEvent
from catalog.selectors import product_ids_by_slug
from config.redis_breaker import breaker
from jobs.enums import JobStatus
from jobs.runner import run_job_inline
from monitoring.metrics import ACTIVITY_EVENTS
from tests.accounts.conftest import bearer, login
from tests.factories import ProductFactory, UserFactory
from tests.orders.conftest import order_body, place
from tests.subprocess_env import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _closed_breaker():
    breaker.reset()
    yield
    breaker.reset()


@pytest.fixture
def record(django_capture_on_commit_callbacks):
    """``activity_record`` as a committed request would run it."""

    def run(*events: Activity, **options) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            activity_record(*events, **options)

    return run


def queued() -> list[dict]:
    client = get_redis_connection("default")
    return [json.loads(raw) for raw in client.lrange(activity.QUEUE_KEY, 0, -1)]


def flush() -> dict[str, int]:
    return activity_flush(resolve_slugs=product_ids_by_slug)


def stored() -> list[tuple]:
    return list(
        ActivityEvent.objects.order_by("occurred_at", "pk").values_list(
            "kind", "user_id", "product_id", "data"
        )
    )


def test_a_login_queues_an_event_and_inserts_nothing_until_the_flush(
    api_client, user, django_capture_on_commit_callbacks
):
    # when the user logs in
    with django_capture_on_commit_callbacks(execute=True):
        assert login(api_client).status_code == 200

    # then the request queued one event and wrote no row
    [event] = queued()
    assert (event["kind"], event["user"]) == ("login", user.pk)
    assert not ActivityEvent.objects.exists()

    # and the flush writes it and empties the queue
    assert flush() == {"events": 1, "skipped": 0}
    assert stored() == [("login", user.pk, None, {})]
    assert queued() == []


def test_signed_in_product_views_are_recorded_by_id_or_slug(
    api_client, user, django_capture_on_commit_callbacks
):
    # given a product and a signed-in viewer
    product = ProductFactory(slug="teapot")
    access = login(api_client).json()["access"]
    ActivityEvent.objects.all().delete()
    get_redis_connection("default").delete(activity.QUEUE_KEY)
    viewer = APIClient()
    viewer.credentials(**bearer(access))

    # when it is read by id (a miss, then a cache hit), by slug, and anonymously
    with django_capture_on_commit_callbacks(execute=True):
        for path in (product.pk, product.pk, "teapot"):
            assert viewer.get(f"/api/products/{path}").status_code == 200
        assert APIClient().get(f"/api/products/{product.pk}").status_code == 200

    # then the three signed-in reads are events on the product, the anonymous
    # one is not (it only counts towards popularity)
    flush()
    assert stored() == [("product_view", user.pk, product.pk, {})] * 3


def test_an_unknown_slug_is_kept_in_the_data(user):
    activity._push(
        [
            json.dumps(
                {
                    "id": "0" * 32,
                    "kind": "product_view",
                    "user": user.pk,
                    "product": "gone",
                    "data": {},
                    "at": timezone.now().isoformat(),
                }
            )
        ]
    )
    flush()
    assert stored() == [("product_view", user.pk, None, {"product_slug": "gone"})]


def test_a_placed_order_records_each_line_and_a_refused_one_nothing(
    user, django_capture_on_commit_callbacks
):
    # given two products, one nearly sold out
    cup = ProductFactory(price=Decimal("5.00"), stock=10)
    pot = ProductFactory(price=Decimal("20.00"), stock=1)
    client = APIClient()
    client.force_authenticate(user)

    # when one order goes through and one is refused for stock
    with django_capture_on_commit_callbacks(execute=True):
        order = place(client, order_body((cup, 2), (pot, 1)))
        refused = place(client, order_body((cup, 1), (pot, 5)))

    # then only the placed order's lines are events
    assert (order.status_code, refused.status_code) == (201, 409)
    flush()
    order_id = order.json()["id"]
    assert sorted(stored(), key=lambda row: row[2]) == sorted(
        [
            (
                "order_item_added",
                user.pk,
                cup.pk,
                {"order_id": order_id, "quantity": 2},
            ),
            (
                "order_item_added",
                user.pk,
                pot.pk,
                {"order_id": order_id, "quantity": 1},
            ),
        ],
        key=lambda row: row[2],
    )


def test_a_flush_that_died_before_trimming_stores_nothing_twice(user, record):
    # given a flush that wrote its batch but died before trimming the queue
    record(Activity(kind=ActivityKind.LOGIN, user_id=user.pk))
    record(Activity(kind=ActivityKind.PRODUCT_VIEW, user_id=user.pk, product=7))
    client = get_redis_connection("default")
    client.rename(activity.QUEUE_KEY, activity.FLUSHING_KEY)
    ActivityEvent.objects.bulk_create(
        activity._rows(client.lrange(activity.FLUSHING_KEY, 0, -1), lambda s: {})
    )
    record(Activity(kind=ActivityKind.LOGIN, user_id=user.pk))

    # when the next flush runs
    first = flush()
    second = flush()

    # then it finishes the renamed batch without duplicates, then the new event
    assert ActivityEvent.objects.count() == 3
    assert first == {"events": 2, "skipped": 0}
    assert second == {"events": 1, "skipped": 0}


def test_batches_are_bounded_and_deleted_users_are_skipped(user, record):
    gone = UserFactory()
    record(
        *(Activity(kind=ActivityKind.LOGIN, user_id=user.pk) for _ in range(7)),
        Activity(kind=ActivityKind.LOGIN, user_id=gone.pk),
    )
    gone.delete()

    assert activity_flush(batch=3) == {"events": 7, "skipped": 1}
    assert ActivityEvent.objects.count() == 7
    assert not get_redis_connection("default").exists(activity.FLUSHING_KEY)


def test_redis_down_drops_events_without_failing_the_request(
    settings, api_client, user, django_capture_on_commit_callbacks
):
    # given Redis unreachable
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/1"
    settings.CACHES = caches
    dropped = ACTIVITY_EVENTS.labels("dropped")._value.get()

    # when the user logs in
    with django_capture_on_commit_callbacks(execute=True):
        response = login(api_client)

    # then the login works and the event is counted as dropped
    assert response.status_code == 200
    assert ACTIVITY_EVENTS.labels("dropped")._value.get() == dropped + 1
    assert breaker.is_open()


def test_purge_keeps_the_retention_window(settings, user, record):
    settings.ACTIVITY_KEEP_DAYS = 30
    now = timezone.now()
    for age in (10, 29, 31, 400):
        record(
            Activity(kind=ActivityKind.LOGIN, user_id=user.pk),
            now=now - timedelta(days=age),
        )
    flush()

    assert activity.activity_purge(now=now) == {"deleted": 2}
    assert ActivityEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_job_flushes(user, record):
    record(Activity(kind=ActivityKind.LOGIN, user_id=user.pk))
    job = jobs.enqueue("analytics.flush_activity", {})

    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.result == {"events": 1, "skipped": 0}
    assert ActivityEvent.objects.get().kind == "login"
