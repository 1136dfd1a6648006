"""Warming builds exactly the entries real requests then hit."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from rest_framework.test import APIClient

import jobs
from catalog import cache
from jobs.enums import JobStatus
from jobs.runner import run_job_inline
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _closed_breaker():
    cache.breaker.reset()


def test_warm_cache_fills_the_keys_it_claims(django_assert_num_queries):
    top = CategoryFactory()
    CategoryFactory(parent=top)
    products = ProductFactory.create_batch(3, category=top)
    out = StringIO()
    call_command("warm_cache", stdout=out)
    # tree, popular, first page, one top-level category page, 3 popular details
    assert "warmed 7 key(s) (7 built, 0 already present" in out.getvalue()
    client = APIClient()
    paths = [
        "/api/categories/",
        "/api/catalog/popular/",
        "/api/products/",
        f"/api/products/?category={top.id}",
        *[f"/api/products/{product.id}/" for product in products],
    ]
    with django_assert_num_queries(0):
        states = [client.get(path)["X-Cache"] for path in paths]
    assert states == ["HIT"] * 7
    again = StringIO()
    call_command("warm_cache", stdout=again)
    assert "(0 built, 7 already present" in again.getvalue()


@pytest.mark.django_db(transaction=True)
def test_warm_job_reports_keys_and_time():
    ProductFactory()
    with transaction.atomic():
        job = jobs.enqueue("cache.warm", {})
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    # tree, popular, first page, its top-level category page, its detail
    assert job.result["keys"] == 5
    assert job.result["seconds"] >= 0


def test_cached_pages_do_not_depend_on_the_host_they_were_built_for(settings):
    settings.ALLOWED_HOSTS = ["shop.example", "api.shop.example"]
    ProductFactory.create_batch(3)
    # built by the warm job's internal requests (no public host at all)
    out = StringIO()
    call_command("warm_cache", stdout=out)
    assert "0 failed" in out.getvalue()
    page = APIClient().get("/api/products/?page_size=1", HTTP_HOST="api.shop.example")
    assert page.status_code == 200
    assert page.json()["next"].startswith("/api/products/?")
    first = APIClient().get("/api/products/", HTTP_HOST="shop.example")
    assert first["X-Cache"] == "HIT"
