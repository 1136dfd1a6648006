"""Product views: one Redis increment per read, folded in by a job."""

import pytest
from django.db import transaction
from django_redis import get_redis_connection
from rest_framework.test import APIClient

import jobs
from catalog.models import Product
from catalog.popularity import FLUSHING_KEY, VIEWS_KEY, product_views_flush
from jobs.enums import JobStatus
from jobs.runner import run_job_inline
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_every_detail_read_counts_without_a_database_write(django_assert_num_queries):
    product = ProductFactory(slug="walnut-lamp")
    client = APIClient()
    client.get(f"/api/products/{product.id}/")  # misses build the entries
    client.get("/api/products/walnut-lamp/")
    with django_assert_num_queries(0):
        client.get(f"/api/products/{product.id}/")
        client.get("/api/products/walnut-lamp/", HTTP_IF_NONE_MATCH='"x"')
    counts = get_redis_connection("default").hgetall(VIEWS_KEY)
    assert counts == {str(product.id).encode(): b"2", b"walnut-lamp": b"2"}
    assert client.get("/api/products/999999/").status_code == 404
    assert b"999999" not in get_redis_connection("default").hgetall(VIEWS_KEY)


def test_flush_adds_views_by_id_and_slug(django_capture_on_commit_callbacks):
    lamp = ProductFactory(slug="walnut-lamp", view_count=10, popularity=10)
    chair = ProductFactory(slug="oak-chair")
    redis = get_redis_connection("default")
    redis.hset(VIEWS_KEY, mapping={str(lamp.id): 3, "walnut-lamp": 2, "oak-chair": 1})
    with django_capture_on_commit_callbacks(execute=True):
        assert product_views_flush() == {"products": 2, "views": 6}
    lamp.refresh_from_db()
    chair.refresh_from_db()
    assert (lamp.view_count, lamp.popularity) == (15, 15.0)
    assert (chair.view_count, chair.popularity) == (1, 1.0)
    assert not redis.exists(VIEWS_KEY) and not redis.exists(FLUSHING_KEY)
    assert product_views_flush() == {"products": 0, "views": 0}


def test_a_flush_interrupted_after_the_rename_is_finished_by_the_next():
    product = ProductFactory()
    redis = get_redis_connection("default")
    redis.hset(FLUSHING_KEY, str(product.id), 4)  # left by a flush that died
    redis.hset(VIEWS_KEY, str(product.id), 1)  # counted since
    product_views_flush()
    product_views_flush()
    assert Product.objects.get(pk=product.pk).view_count == 5


@pytest.mark.django_db(transaction=True)
def test_the_flush_job_runs_through_the_platform():
    product = ProductFactory()
    get_redis_connection("default").hincrby(VIEWS_KEY, str(product.id), 7)
    with transaction.atomic():
        job = jobs.enqueue("analytics.flush_product_views", {})
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.result == {"products": 1, "views": 7}
    assert Product.objects.get(pk=product.pk).view_count == 7
