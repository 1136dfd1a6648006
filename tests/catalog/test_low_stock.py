"""Low-stock alerts: a product falling below LOW_STOCK_THRESHOLD queues one LOW
job, and the seller is alerted (in-app + email) once per fall, never for a
product that recovered before the job ran."""

import pytest

import jobs
from accounts.models import Notification
from accounts.services import preferences_update
from catalog import cache, services
from catalog.models import Product
from jobs.enums import JobStatus, Priority
from jobs.mail import email_render
from jobs.models import JobRecord
from jobs.runner import run_job_inline
from tests.catalog.test_api import client_for
from tests.factories import ProductFactory

JOB = "notifications.low_stock"


@pytest.fixture(autouse=True)
def _threshold(settings) -> None:
    settings.LOW_STOCK_THRESHOLD = 5


@pytest.fixture(autouse=True)
def _closed_breaker():
    cache.breaker.reset()
    yield
    cache.breaker.reset()


def alert_jobs() -> list[JobRecord]:
    return list(JobRecord.objects.filter(type=JOB).order_by("created_at"))


def alerts(product: Product) -> list[Notification]:
    return list(Notification.objects.filter(user=product.seller, kind="low_stock"))


def run_alert_job() -> dict:
    """Run the one queued alert job inline and return its result."""
    job = JobRecord.objects.get(type=JOB, status=JobStatus.QUEUED)
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    return job.result


@pytest.mark.django_db
def test_a_burst_of_falls_below_the_threshold_queues_exactly_one_low_job():
    # given a product just at the threshold
    product = ProductFactory(stock=6)

    # when it falls below, recovers and falls again before any job runs
    services.stock_take(quantities={product.pk: 2})
    services.stock_return(quantities={product.pk: 2})
    services.stock_take(quantities={product.pk: 3})

    # then one live job carries the first fall
    [job] = alert_jobs()
    assert (job.priority, job.dedupe_key) == (Priority.LOW, f"low_stock:{product.pk}")
    assert job.payload == {"product_id": product.pk, "stock": 4}


@pytest.mark.django_db
def test_sales_that_stay_above_or_below_the_threshold_queue_nothing():
    product = ProductFactory(stock=20)
    services.stock_take(quantities={product.pk: 15})  # 5: not below yet
    assert alert_jobs() == []
    services.stock_take(quantities={product.pk: 1})  # 4: crossed
    services.stock_take(quantities={product.pk: 1})
    services.stock_take(quantities={product.pk: 3})
    assert len(alert_jobs()) == 1


@pytest.mark.django_db
def test_a_seller_patching_stock_below_the_threshold_queues_the_alert():
    product = ProductFactory(stock=10)
    services.product_update(product=product, data={"name": "Renamed"})
    assert alert_jobs() == []
    services.product_update(product=product, data={"stock": 2})
    [job] = alert_jobs()
    assert job.payload == {"product_id": product.pk, "stock": 2}


@pytest.mark.django_db
def test_a_seller_patch_through_the_api_queues_the_alert():
    product = ProductFactory(stock=8)
    url = f"/api/products/{product.id}/"
    response = client_for(product.seller).patch(url, {"stock": 1}, format="json")
    assert response.status_code == 200
    [job] = alert_jobs()
    assert job.payload == {"product_id": product.pk, "stock": 1}


@pytest.mark.django_db(transaction=True)
def test_the_job_alerts_the_seller_in_app_and_by_email():
    # given a product that fell below the threshold
    product = ProductFactory(stock=6, name="Walnut lamp", slug="walnut-lamp")
    services.stock_take(quantities={product.pk: 3})

    # when the job runs
    result = run_alert_job()

    # then the seller has one in-app notification and one queued email
    assert result == {"product_id": product.pk, "stock": 3, "alerted": True}
    [notification] = alerts(product)
    assert notification.data == {
        "product_id": product.pk,
        "slug": "walnut-lamp",
        "stock": 3,
    }
    assert notification.title == "Low stock: Walnut lamp"
    [email] = JobRecord.objects.filter(type="email.send", user=product.seller)
    assert email.payload["to"] == product.seller.email
    assert email.payload["template"] == "low_stock"
    subject, text, html = email_render(
        template="low_stock", context=email.payload["context"]
    )
    assert subject == "Low stock: Walnut lamp"
    assert "Only 3 left of Walnut lamp" in text
    assert "<strong>Walnut lamp</strong>" in html
    assert Product.objects.get(pk=product.pk).low_stock_alerted_at is not None


@pytest.mark.django_db(transaction=True)
def test_running_the_alert_twice_alerts_once():
    product = ProductFactory(stock=5)
    services.stock_take(quantities={product.pk: 1})
    assert run_alert_job()["alerted"] is True

    # a second job for the same fall (a re-run, or one queued around dedupe)
    jobs.enqueue(JOB, {"product_id": product.pk, "stock": 4})
    assert run_alert_job()["reason"] == "already_alerted"
    assert services.product_low_stock_alert(product_id=product.pk)["alerted"] is False

    assert len(alerts(product)) == 1
    assert JobRecord.objects.filter(type="email.send").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_restock_to_the_threshold_rearms_the_alert():
    # given a product already alerted for one fall
    product = ProductFactory(stock=6)
    services.stock_take(quantities={product.pk: 2})
    run_alert_job()

    # when restocked to the threshold (by a cancelled order) and falling again
    services.stock_return(quantities={product.pk: 1})
    assert Product.objects.get(pk=product.pk).low_stock_alerted_at is None
    services.stock_take(quantities={product.pk: 1})
    assert run_alert_job()["alerted"] is True

    # and once more through the seller's own edit
    services.product_update(product=product, data={"stock": 50})
    assert Product.objects.get(pk=product.pk).low_stock_alerted_at is None
    services.product_update(product=product, data={"stock": 0})
    assert run_alert_job()["alerted"] is True

    # then each fall alerted once
    assert len(alerts(product)) == 3
    assert len(alert_jobs()) == 3


@pytest.mark.django_db(transaction=True)
def test_a_product_that_recovered_before_the_job_ran_is_not_alerted():
    product = ProductFactory(stock=5)
    services.stock_take(quantities={product.pk: 2})
    services.stock_return(quantities={product.pk: 2})

    assert run_alert_job() == {
        "product_id": product.pk,
        "stock": 5,
        "alerted": False,
        "reason": "recovered",
    }
    assert alerts(product) == []
    assert not JobRecord.objects.filter(type="email.send").exists()
    assert Product.objects.get(pk=product.pk).low_stock_alerted_at is None


@pytest.mark.django_db(transaction=True)
def test_a_seller_who_turned_order_emails_off_is_alerted_in_app_only():
    product = ProductFactory(stock=5)
    preferences_update(user=product.seller, values={"email": {"order_updates": False}})
    services.stock_take(quantities={product.pk: 1})

    assert run_alert_job()["alerted"] is True
    assert len(alerts(product)) == 1
    assert not JobRecord.objects.filter(type="email.send").exists()
