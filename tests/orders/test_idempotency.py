"""``Idempotency-Key`` on POST /api/orders: replay, reuse, in progress,
takeover of abandoned keys, concurrency, and the purge."""

import threading
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from catalog.models import Product
from jobs.models import JobRecord
from jobs.registry import get_job_type
from orders.enums import IdempotencyState
from orders.models import IdempotencyKey, Order
from orders.services import idempotency_keys_purge, request_fingerprint
from tests.factories import ProductFactory, UserFactory
from tests.orders.conftest import client_for, order_body, place

pytestmark = pytest.mark.django_db


def test_same_key_and_body_replays_the_stored_answer(buyer_client, mug):
    body = order_body((mug, 2))
    first = place(buyer_client, body, key="k-1")
    # the order changes meanwhile; the replay still shows the answer as given
    Order.objects.update(tracking_number="changed")

    again = place(buyer_client, body, key="k-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Cache-Control"] == "private, no-store"
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=mug.pk).stock == 8
    assert JobRecord.objects.filter(type="email.send").count() == 1


def test_key_order_in_the_body_does_not_matter(buyer_client, mug):
    body = order_body((mug, 1))
    reordered = {"shipping_address": body["shipping_address"], "items": body["items"]}
    assert place(buyer_client, body, key="k").status_code == 201
    assert place(buyer_client, reordered, key="k").status_code == 201
    assert Order.objects.count() == 1


def test_same_key_with_another_body_is_422(buyer_client, mug):
    assert place(buyer_client, order_body((mug, 1)), key="k").status_code == 201

    response = place(buyer_client, order_body((mug, 2)), key="k")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_keys_are_scoped_to_the_user(buyer_client, mug):
    other = client_for(UserFactory())
    body = order_body((mug, 1))
    assert place(buyer_client, body, key="shared").status_code == 201
    assert place(other, body, key="shared").status_code == 201
    assert Order.objects.count() == 2


def test_a_domain_error_is_stored_and_replayed(buyer_client, mug):
    body = order_body((mug, 11))
    first = place(buyer_client, body, key="short")
    # stock arrives, but the key already has its answer
    Product.objects.filter(pk=mug.pk).update(stock=50)

    again = place(buyer_client, body, key="short")

    assert first.status_code == again.status_code == 409
    assert again.json() == first.json()
    assert first.json()["code"] == "insufficient_stock"
    assert Order.objects.count() == 0
    record = IdempotencyKey.objects.get()
    assert (record.state, record.response_status, record.order) == (
        IdempotencyState.COMPLETED,
        409,
        None,
    )


def test_validation_errors_do_not_use_up_the_key(buyer_client, mug):
    bad = place(buyer_client, {"items": []}, key="k")
    assert bad.status_code == 400
    assert IdempotencyKey.objects.count() == 0
    assert place(buyer_client, order_body((mug, 1)), key="k").status_code == 201


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "idempotency_key_required"),
        ({"HTTP_IDEMPOTENCY_KEY": ""}, "idempotency_key_required"),
        ({"HTTP_IDEMPOTENCY_KEY": "   "}, "idempotency_key_required"),
        ({"HTTP_IDEMPOTENCY_KEY": "x" * 256}, "idempotency_key_invalid"),
    ],
)
def test_missing_or_overlong_key_is_400(buyer_client, mug, headers, code):
    response = buyer_client.post(
        "/api/orders", order_body((mug, 1)), format="json", **headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert Order.objects.count() == 0


def test_a_255_character_key_is_fine(buyer_client, mug):
    assert place(buyer_client, order_body((mug, 1)), key="x" * 255).status_code == 201


def _claimed(user, key, body, *, age_seconds: float) -> IdempotencyKey:
    at = timezone.now() - timedelta(seconds=age_seconds)
    return IdempotencyKey.objects.create(
        user=user,
        key=key,
        request_hash=request_fingerprint(body),
        claimed_at=at,
        created_at=at,
    )


def test_a_duplicate_while_the_first_runs_is_409(buyer, buyer_client, mug):
    body = order_body((mug, 1))
    _claimed(buyer, "busy", body, age_seconds=1)

    response = place(buyer_client, body, key="busy")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_request_in_progress"
    assert Order.objects.count() == 0
    # another body under a running key is still a misuse of the key
    other = place(buyer_client, order_body((mug, 2)), key="busy")
    assert other.status_code == 422


def test_an_abandoned_claim_is_taken_over(buyer, buyer_client, mug, settings):
    # given a claim left behind by a process that died 61 s ago
    settings.IDEMPOTENCY_LOCK_SECONDS = 60
    body = order_body((mug, 1))
    stale = _claimed(buyer, "crashed", body, age_seconds=61)

    response = place(buyer_client, body, key="crashed")

    assert response.status_code == 201
    record = IdempotencyKey.objects.get()
    assert record.pk == stale.pk
    assert record.claim != stale.claim
    assert (record.state, record.order_id) == (
        IdempotencyState.COMPLETED,
        response.json()["id"],
    )


def test_a_server_error_releases_the_key_for_a_retry(buyer_client, mug, monkeypatch):
    from orders.services import idempotency

    def broken(**kwargs):
        raise RuntimeError("boom")

    body = order_body((mug, 1))
    monkeypatch.setattr(idempotency, "order_build", broken)
    failed = place(buyer_client, body, key="retry-me")
    assert failed.status_code == 500
    assert IdempotencyKey.objects.count() == 0

    monkeypatch.undo()
    assert place(buyer_client, body, key="retry-me").status_code == 201


def test_keys_are_purged_after_the_retention(buyer, settings):
    settings.IDEMPOTENCY_KEY_HOURS = 48
    now = timezone.now()
    old = _claimed(buyer, "old", {}, age_seconds=48 * 3600 + 1)
    young = _claimed(buyer, "young", {}, age_seconds=47 * 3600)

    assert idempotency_keys_purge(now=now) == 1
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [young.pk]
    assert old.pk not in IdempotencyKey.objects.values_list("pk", flat=True)


def test_purge_command_and_job_share_the_service(buyer):
    _claimed(buyer, "a", {}, age_seconds=49 * 3600)
    out = StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert out.getvalue() == "deleted 1 idempotency key(s) older than 48 hours\n"

    _claimed(buyer, "b", {}, age_seconds=49 * 3600)
    handler = get_job_type("orders.purge_idempotency_keys").handler
    assert handler(None) == {"deleted": 1}
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_requests_with_one_key_make_one_order(patient_pool):
    # given one buyer firing the same request ten times at once
    buyer = UserFactory()
    product = ProductFactory(stock=50)
    body = order_body((product, 2))
    answers: list[tuple[int, dict]] = []
    barrier = threading.Barrier(10)

    def send() -> None:
        client = client_for(buyer)
        try:
            barrier.wait()
            response = place(client, body, key="same-key")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly one order, and every answer is the order or "in progress"
    assert len(answers) == 10
    order = Order.objects.get()
    created = [body for status, body in answers if status == 201]
    busy = [body for status, body in answers if status == 409]
    assert len(created) + len(busy) == 10
    assert created, answers
    assert all(body == created[0] for body in created)
    assert created[0]["id"] == order.pk
    assert all(body["code"] == "idempotency_request_in_progress" for body in busy)
    assert Product.objects.get(pk=product.pk).stock == 48
    assert JobRecord.objects.filter(type="email.send", order=order).count() == 1


def test_a_slow_attempt_that_lost_its_claim_makes_no_order(
    buyer, buyer_client, mug, monkeypatch
):
    # given a request presumed dead while it ran: between its claim and its
    # order, a retry took the key over and answered
    from orders.services import idempotency

    real_claim = idempotency._claim
    retry_answer = {"id": 123, "number": "BZ-2026-999999"}

    def claim_then_lose_it(**kwargs):
        record = real_claim(**kwargs)
        IdempotencyKey.objects.filter(pk=record.pk).update(
            claim=uuid.uuid4(),
            state=IdempotencyState.COMPLETED,
            response_status=201,
            response_body=retry_answer,
        )
        return record

    monkeypatch.setattr(idempotency, "_claim", claim_then_lose_it)

    # when the slow attempt carries on
    response = place(buyer_client, order_body((mug, 1)), key="slow")

    # then it makes nothing and answers what the key says
    assert (response.status_code, response.json()) == (201, retry_answer)
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=mug.pk).stock == 10
