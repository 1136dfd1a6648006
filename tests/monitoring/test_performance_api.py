"""Operator actions under /api/admin/performance/: staff only, slow work queued."""

import pytest
from rest_framework.test import APIClient

from catalog import cache
from jobs.enums import JobStatus
from jobs.models import JobRecord
from jobs.runner import run_job_inline
from tests.factories import CategoryFactory, ProductFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

WARM = "/api/admin/performance/cache/warm"
INVALIDATE = "/api/admin/performance/cache/invalidate"


@pytest.fixture(autouse=True)
def _closed_breaker():
    cache.breaker.reset()


@pytest.fixture
def staff_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory())
    return client


def test_anonymous_gets_401_and_other_users_403():
    assert APIClient().post(WARM).status_code == 401
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.post(WARM).status_code == 403
    assert (
        client.post(INVALIDATE, {"namespace": "all"}, format="json").status_code == 403
    )


@pytest.mark.django_db(transaction=True)
def test_warm_is_queued_and_its_job_reports_keys_and_time(staff_client):
    category = CategoryFactory()
    ProductFactory.create_batch(2, category=category)

    response = staff_client.post(WARM)
    again = staff_client.post(WARM)

    assert response.status_code == 202
    assert response["Cache-Control"] == "private, no-store"
    job_id = response.json()["job_id"]
    # a second click while the first is waiting does not queue another
    assert again.json()["job_id"] == job_id
    assert JobRecord.objects.get(pk=job_id).type == "cache.warm"

    assert run_job_inline(job_id) == JobStatus.SUCCEEDED
    status = staff_client.get(f"/api/jobs/{job_id}").json()
    assert status["status"] == "succeeded"
    # tree, popular, all products, the category's first page
    assert status["result"]["keys"] >= 4
    assert status["result"]["failed"] == 0
    assert status["result"]["seconds"] >= 0
    assert APIClient().get("/api/categories/")["X-Cache"] == "HIT"


def test_invalidate_a_namespace_makes_its_next_read_miss(
    staff_client, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    anonymous = APIClient()
    anonymous.get("/api/products/")
    anonymous.get(f"/api/products/{product.pk}")
    anonymous.get("/api/categories/")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            INVALIDATE, {"namespace": "products"}, format="json"
        )

    assert response.status_code == 200
    assert response.json() == {"invalidated": ["products"]}
    assert anonymous.get("/api/products/")["X-Cache"] == "MISS"
    assert anonymous.get(f"/api/products/{product.pk}")["X-Cache"] == "HIT"
    assert anonymous.get("/api/categories/")["X-Cache"] == "HIT"

    with django_capture_on_commit_callbacks(execute=True):
        everything = staff_client.post(INVALIDATE, {"namespace": "all"}, format="json")
    assert set(everything.json()["invalidated"]) == set(cache.NAMESPACES)
    assert anonymous.get(f"/api/products/{product.pk}")["X-Cache"] == "MISS"


def test_invalidate_refuses_unknown_namespaces_and_fields(staff_client):
    bad = staff_client.post(INVALIDATE, {"namespace": "orders"}, format="json")
    extra = staff_client.post(
        INVALIDATE, {"namespace": "products", "force": True}, format="json"
    )
    missing = staff_client.post(INVALIDATE, {}, format="json")

    assert (bad.status_code, extra.status_code, missing.status_code) == (400, 400, 400)
    assert "namespace" in bad.json()
    assert extra.json() == {"force": ["Unknown field."]}
    assert "namespace" in missing.json()
