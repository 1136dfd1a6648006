"""Celery is wired end to end: a real worker runs the platform's canary job."""

import pytest
from django.db import transaction

import jobs
from jobs.enums import JobStatus
from jobs.models import JobRecord
from tests.jobs.conftest import wait_until


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_canary_job(thread_worker, relay):
    thread_worker()
    relay()
    with transaction.atomic():
        job = jobs.enqueue("maintenance.noop", {})
    done = wait_until(
        lambda: JobRecord.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).first()
    )
    assert done.result == {"ok": True}
    assert done.worker


def test_only_json_is_accepted():
    from config.celery import app

    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
