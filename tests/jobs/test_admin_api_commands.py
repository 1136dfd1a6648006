"""Operators' doors into the platform: admin actions, the status API, commands."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

import jobs
from jobs.enums import JobStatus
from jobs.models import JobRecord
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_job(status=JobStatus.QUEUED, **fields):
    with transaction.atomic():
        job = jobs.enqueue("testing.count", {"n": 1})
    JobRecord.objects.filter(pk=job.pk).update(status=status, **fields)
    job.refresh_from_db()
    return job


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def test_changelist_shows_counts_and_flower_link(admin_client):
    make_job(JobStatus.FAILED, error="boom")
    make_job(JobStatus.QUEUED)
    response = admin_client.get("/admin/jobs/jobrecord/")
    assert response.status_code == 200
    counts = response.context["job_counts"]
    assert counts["status"]["failed"] == 1
    assert counts["status"]["queued"] == 1
    assert counts["queued_by_priority"]["medium"] == 1
    assert b"Open Flower" in response.content


def test_search_by_id_and_error_text(admin_client):
    failed = make_job(JobStatus.FAILED, error="SMTPServerDisconnected: gone")
    other = make_job(JobStatus.FAILED, error="other")
    by_id = admin_client.get("/admin/jobs/jobrecord/", {"q": str(failed.pk)})
    assert list(by_id.context["cl"].result_list) == [failed]
    by_error = admin_client.get("/admin/jobs/jobrecord/", {"q": "SMTPServer"})
    assert list(by_error.context["cl"].result_list) == [failed]
    assert other.pk != failed.pk


def test_detail_is_read_only_with_payload_and_traceback(admin_client):
    job = make_job(JobStatus.FAILED, traceback="Traceback (most recent call last): ...")
    response = admin_client.get(f"/admin/jobs/jobrecord/{job.pk}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Traceback (most recent call last)" in body
    assert "&quot;n&quot;: 1" in body
    assert 'name="_save"' not in body


def test_retry_action_requeues_failed_jobs_with_fresh_attempts(admin_client):
    failed = make_job(
        JobStatus.FAILED,
        attempts=3,
        max_attempts=3,
        finished_at=timezone.now(),
        published_at=timezone.now(),
    )
    done = make_job(JobStatus.SUCCEEDED)
    response = admin_client.post(
        "/admin/jobs/jobrecord/",
        {"action": "retry_selected", "_selected_action": [failed.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    failed.refresh_from_db()
    done.refresh_from_db()
    assert (failed.status, failed.attempts, failed.finished_at) == (
        JobStatus.QUEUED,
        0,
        None,
    )
    assert done.status == JobStatus.SUCCEEDED
    assert failed.published_at is None  # the relay publishes it on commit


def test_cancel_action_cancels_only_queued_jobs(admin_client):
    queued = make_job(JobStatus.QUEUED)
    running = make_job(JobStatus.RUNNING, attempts=1)
    admin_client.post(
        "/admin/jobs/jobrecord/",
        {"action": "cancel_selected", "_selected_action": [queued.pk, running.pk]},
    )
    queued.refresh_from_db()
    running.refresh_from_db()
    assert queued.status == JobStatus.CANCELLED
    assert queued.finished_at is not None
    assert running.status == JobStatus.RUNNING


def test_job_status_api_for_owner_staff_and_others(client):
    owner, stranger, staff = UserFactory(), UserFactory(), StaffFactory()
    with transaction.atomic():
        job = jobs.enqueue("testing.count", {}, user=owner)
    url = f"/api/jobs/{job.pk}"
    anonymous = client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "type",
        "priority",
        "status",
        "attempts",
        "max_attempts",
        "created_at",
        "started_at",
        "finished_at",
        "result",
        "error",
    }
    assert (body["id"], body["status"], body["priority"]) == (
        str(job.pk),
        "queued",
        "medium",
    )
    assert response["Cache-Control"] == "private, no-store"
    client.force_login(staff)
    assert client.get(url + "/").status_code == 200
    assert client.get("/api/jobs/not-a-uuid").status_code == 404


def test_purge_jobs_keeps_what_retention_keeps(settings):
    old = timezone.now() - timedelta(days=8)
    very_old = timezone.now() - timedelta(days=31)
    gone = make_job(JobStatus.SUCCEEDED, finished_at=old)
    kept_success = make_job(JobStatus.SUCCEEDED, finished_at=timezone.now())
    kept_failure = make_job(JobStatus.FAILED, finished_at=old)
    gone_failure = make_job(JobStatus.FAILED, finished_at=very_old)
    live = make_job(JobStatus.QUEUED)
    out = StringIO()
    call_command("purge_jobs", stdout=out)
    remaining = set(JobRecord.objects.values_list("pk", flat=True))
    assert remaining == {kept_success.pk, kept_failure.pk, live.pk}
    assert gone.pk not in remaining and gone_failure.pk not in remaining
    assert "removed 1 succeeded" in out.getvalue()


def test_retry_failed_jobs_command_filters_by_type_and_date():
    match = make_job(JobStatus.FAILED)
    old = make_job(JobStatus.FAILED, created_at=timezone.now() - timedelta(days=10))
    with transaction.atomic():
        other_type = jobs.enqueue("maintenance.noop", {})
    JobRecord.objects.filter(pk=other_type.pk).update(status=JobStatus.FAILED)
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d")
    out = StringIO()
    call_command(
        "retry_failed_jobs", "--type", "testing.count", "--since", since, stdout=out
    )
    assert "1 failed job(s) queued again" in out.getvalue()
    statuses = dict(JobRecord.objects.values_list("pk", "status"))
    assert statuses[match.pk] == JobStatus.QUEUED
    assert statuses[old.pk] == JobStatus.FAILED
    assert statuses[other_type.pk] == JobStatus.FAILED


def test_queue_status_reports_outbox_and_broker(settings):
    from redis import Redis

    Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    make_job(JobStatus.QUEUED)
    out = StringIO()
    call_command("queue_status", "--json", stdout=out)
    import json

    report = json.loads(out.getvalue())
    medium = next(row for row in report["queues"] if row["queue"] == "medium")
    assert medium["queued"] == 1
    assert medium["broker_depth"] == 0  # no relay ran in this test
    assert report["jobs"]["status"]["queued"] == 1


@pytest.mark.django_db(transaction=True)
def test_run_job_command_runs_a_queued_job():
    with transaction.atomic():
        job = jobs.enqueue("testing.count", {})
    out = StringIO()
    call_command("run_job", str(job.pk), stdout=out)
    assert f"job {job.pk}: succeeded after attempt 1" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_run_job_command_refuses_unknown_and_finished_jobs():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no job"):
        call_command("run_job", "not-a-uuid")
    finished = make_job(JobStatus.SUCCEEDED)
    with pytest.raises(CommandError, match="only queued jobs run"):
        call_command("run_job", str(finished.pk))
