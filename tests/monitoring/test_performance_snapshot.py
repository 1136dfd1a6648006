"""The scheduled performance snapshot: the last interval's figures in one log
event, from the request statistics and the job table."""

import json
import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

import jobs
from jobs.enums import JobStatus
from jobs.models import JobRecord
from monitoring.services import performance_snapshot_log

pytestmark = pytest.mark.django_db


def finished(status: str, *, minutes_ago: float) -> None:
    job = jobs.enqueue("maintenance.noop", {})
    JobRecord.objects.filter(pk=job.pk).update(
        status=status, finished_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_the_snapshot_logs_the_interval_s_requests_jobs_and_queues(caplog):
    # given traffic, three jobs that ended in the interval and one before it,
    # and one job still queued
    client = Client(raise_request_exception=False)
    for _ in range(20):
        assert client.get("/health").status_code == 200
    assert client.get("/api/orders").status_code == 401
    finished(JobStatus.SUCCEEDED, minutes_ago=1)
    finished(JobStatus.SUCCEEDED, minutes_ago=2)
    finished(JobStatus.FAILED, minutes_ago=3)
    finished(JobStatus.FAILED, minutes_ago=30)
    jobs.enqueue("maintenance.noop", {})
    caplog.set_level(logging.INFO, logger="bazaar.monitoring")

    # when the 15-minute snapshot is taken
    snapshot = performance_snapshot_log(
        now=timezone.now() + timedelta(minutes=1), minutes=15
    )

    # then it holds the figures, and one log event carries them
    routes = {row["route"]: row for row in snapshot["routes"]}
    assert routes["GET health"]["count"] == 20
    assert routes["GET health"]["p95_ms"] > 0
    assert snapshot["requests"]["requests"] >= 21
    assert snapshot["jobs"] == {"succeeded": 2, "failed": 1, "failure_rate": 0.3333}
    assert snapshot["queues"]["low"]["queued"] == 1
    [event] = [
        r.msg for r in caplog.records if r.msg["event"] == "performance_snapshot"
    ]
    assert (event["minutes"], event["jobs"], event["routes"]) == (
        15,
        snapshot["jobs"],
        snapshot["routes"],
    )


def test_the_command_prints_the_snapshot(settings):
    settings.PERFORMANCE_LOG_INTERVAL = 5
    out = StringIO()
    call_command("performance_snapshot", stdout=out)
    body = json.loads(out.getvalue())
    assert set(body) == {
        "start",
        "end",
        "requests",
        "routes",
        "cache",
        "queues",
        "jobs",
        "slow_queries",
    }
