"""/admin/performance/ in a real browser: Chromium through Playwright against
the live server, reading the real ``/api/admin/performance/dashboard``.

Chromium comes from the system (``apt-get install chromium``, which ``make
test`` does), never from Playwright's download. Without it the test is
skipped locally, and fails under CI so a missing browser cannot hide.

Playwright's sync API runs an event loop in this thread, where Django refuses
database calls; so the database is written before the browser starts and
checked after it closes. The live server's thread is unaffected.
"""

import os
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from jobs.enums import JobStatus, Priority
from jobs.models import JobRecord
from tests.factories import StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOT = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "dashboard.png"
TIMEOUT_MS = 15_000


def _sync_playwright():
    """Playwright and a Chromium, or skip (fail under CI) saying what is missing."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed (pip install -r requirements-dev.txt)"
    if problem is None and not os.access(CHROMIUM, os.X_OK):
        problem = (
            f"no Chromium at {CHROMIUM} "
            "(apt-get install -y chromium, or set CHROMIUM_PATH)"
        )
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run: {problem}", pytrace=False)
        pytest.skip(problem)
    return sync_playwright


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (http to the live server)
        return response.status


def test_staff_see_live_charts_and_retry_a_failed_job(live_server):
    sync_playwright = _sync_playwright()

    # Traffic the charts can show: real HTTP through the middleware.
    for _ in range(5):
        assert _get(f"{live_server.url}/health") == 200
    for _ in range(3):
        assert _get(f"{live_server.url}/api/categories/") == 200
    job = JobRecord.objects.create(
        type="tests.dashboard_failure",
        priority=Priority.LOW,
        status=JobStatus.FAILED,
        attempts=3,
        max_attempts=3,
        error="RuntimeError: the dashboard test failed this job",
        finished_at=timezone.now(),
    )
    client = Client()
    client.force_login(StaffFactory())
    session_id = client.cookies[settings.SESSION_COOKIE_NAME].value

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": session_id,
                        "url": live_server.url,
                    }
                ]
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            # From the admin index, through its link.
            page.goto(f"{live_server.url}/admin/")
            page.get_by_role("link", name="Performance dashboard").click()
            page.wait_for_url(f"{live_server.url}/admin/performance/")

            # The first refresh has landed and drawn the charts.
            page.wait_for_function(
                "document.getElementById('perf-dashboard').dataset.loaded === 'true'",
                timeout=TIMEOUT_MS,
            )
            assert page.title().startswith("Performance")
            rate = page.locator("#chart-request-rate")
            assert int(rate.get_attribute("data-points")) >= 1
            assert int(rate.get_attribute("data-nonzero")) >= 1
            assert rate.locator("svg path.line").count() == 1
            assert rate.locator("svg circle.point").count() >= 1
            for chart in ("#chart-p95-latency", "#chart-error-rate"):
                assert page.locator(f"{chart} svg circle.point").count() >= 1
            failures = page.locator("#chart-job-failures")
            assert int(failures.get_attribute("data-nonzero")) >= 1
            requests = page.locator("#perf-summary [data-field=requests]")
            assert int(requests.inner_text()) >= 1

            # The failed job is listed with its error and a Retry button.
            row = page.locator(f"#perf-failed-jobs tr[data-job-id='{job.pk}']")
            assert row.count() == 1
            assert "tests.dashboard_failure" in row.inner_text()
            assert "the dashboard test failed this job" in row.inner_text()

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # Retry: the POST (session + X-CSRFToken) is accepted and the
            # refreshed table no longer lists the job.
            with page.expect_response(
                lambda r: "/jobs/retry" in r.url, timeout=TIMEOUT_MS
            ) as retried:
                row.get_by_role("button", name="Retry").click()
            assert retried.value.status == 200
            assert retried.value.json() == {"retried": 1}
            page.wait_for_function(
                "id => !document.querySelector("
                "`#perf-failed-jobs tr[data-job-id='${id}']`)",
                arg=str(job.pk),
                timeout=TIMEOUT_MS,
            )
            assert errors == []
        finally:
            browser.close()

    # Committed by the live server before it answered the retry.
    deadline = time.monotonic() + 10
    job.refresh_from_db()
    while job.status != JobStatus.QUEUED and time.monotonic() < deadline:
        time.sleep(0.1)
        job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.attempts == 0
