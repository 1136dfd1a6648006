"""Scheduled reports: figures equal to the source data, CSV and HTML with
charts, the admin page, the command, the jobs, and email through a real
worker and SMTP server."""

import base64
import csv
import io
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import jobs
from catalog.models import Product
from jobs.enums import EmailStatus, JobStatus, Priority
from jobs.models import EmailLog, JobRecord
from jobs.runner import run_job_inline
from monitoring.models import Report, ReportKind
from monitoring.reports.mail import report_email_deliver
from monitoring.reports.periods import report_default_day, report_period
from monitoring.reports.render import report_csv, report_html
from monitoring.reports.services import report_generate
from orders import services
from orders.models import Order
from orders.services import Line
from tests.factories import CategoryFactory, ProductFactory, StaffFactory, UserFactory
from tests.jobs.conftest import (  # noqa: F401  (fixtures)
    purge_broker,
    relay,
    smtp_sink,
    thread_worker,
    wait_until,
)
from tests.orders.conftest import ADDRESS

DAY = date(2026, 11, 4)  # a Wednesday; its ISO week is 2 to 8 November
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def at(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)))


def buy(user, *lines: tuple[Product, int], paid_at: datetime | None) -> Order:
    """An order of these lines, paid at ``paid_at`` (None: left unpaid)."""
    order = services.order_create(
        user=user,
        lines=[Line(product.pk, quantity) for product, quantity in lines],
        shipping_address=ADDRESS,
    )
    if paid_at is not None:
        services.order_pay(order_id=order.pk, card_token="tok_ok")
        Order.objects.filter(pk=order.pk).update(paid_at=paid_at)
    return order


@pytest.fixture
def catalog() -> dict[str, Product]:
    home = CategoryFactory(name="Home", slug="home")
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    return {
        # 10.00 + 5.00 shipping below FREE_SHIPPING_OVER (50.00)
        "cup": ProductFactory(
            name="Cup", category=home, price=Decimal("10.00"), stock=99
        ),
        "lamp": ProductFactory(
            name="Lamp", category=home, price=Decimal("60.00"), stock=99
        ),
        "mug": ProductFactory(
            name="Mug",
            category=kitchen,
            price=Decimal("8.00"),
            currency="EUR",
            stock=99,
        ),
    }


@pytest.fixture
def day_sales(catalog) -> None:
    """On DAY: three USD orders (at 00:00:00, 13:30, 23:59:59) and one EUR
    order; around it, orders paid a second before and at the next midnight,
    an unpaid one, and one paid on DAY but cancelled since."""
    cup, lamp, mug = catalog["cup"], catalog["lamp"], catalog["mug"]
    buyer = UserFactory()
    buy(buyer, (cup, 2), paid_at=at(DAY))  # 20 + 5
    buy(buyer, (lamp, 1), (cup, 1), paid_at=at(DAY, 13, 30))  # 70, free shipping
    buy(buyer, (cup, 1), paid_at=at(DAY, 23, 59, 59))  # 10 + 5
    buy(buyer, (mug, 2), paid_at=at(DAY, 10))  # 16 + 5 EUR
    buy(buyer, (lamp, 1), paid_at=at(DAY - timedelta(days=1), 23, 59, 59))
    buy(buyer, (cup, 3), paid_at=at(DAY + timedelta(days=1)))
    buy(buyer, (cup, 4), paid_at=None)
    cancelled = buy(buyer, (lamp, 2), paid_at=at(DAY, 12))
    services.order_cancel(order_id=cancelled.pk, actor=None)


def csv_rows(report: Report) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(report_csv(report))))


# --- Periods -----------------------------------------------------------------


def test_periods_are_days_and_iso_weeks_and_default_to_the_last_complete_one():
    # given a Wednesday
    # when / then: daily kinds cover the day, weekly ones Monday to Sunday
    assert report_period(kind="daily", day=DAY) == (DAY, DAY)
    assert report_period(kind="performance", day=DAY) == (DAY, DAY)
    monday, sunday = date(2026, 11, 2), date(2026, 11, 8)
    assert report_period(kind="weekly", day=DAY) == (monday, sunday)
    assert report_period(kind="customers", day=sunday) == (monday, sunday)
    # and without a date: yesterday, or any day of last week
    assert report_default_day(kind="daily", today=DAY) == date(2026, 11, 3)
    last_week = report_default_day(kind="weekly", today=DAY)
    assert report_period(kind="weekly", day=last_week) == (
        date(2026, 10, 26),
        date(2026, 11, 1),
    )


# --- Sales -------------------------------------------------------------------


@pytest.mark.django_db
def test_daily_totals_are_the_orders_paid_that_day_per_currency(day_sales, catalog):
    # when
    report = report_generate(kind="daily", day=DAY)

    # then only the four orders paid on DAY and not cancelled count, and
    # currencies are never added together
    assert (report.kind, report.period_start, report.period_end) == ("daily", DAY, DAY)
    figures = report.figures
    assert figures["currencies"] == [
        {
            "currency": "EUR",
            "orders": 1,
            "units": 2,
            "revenue": "21.00",
            "shipping": "5.00",
            "average_order_value": "21.00",
        },
        {
            "currency": "USD",
            "orders": 3,
            "units": 5,
            "revenue": "110.00",
            "shipping": "10.00",
            "average_order_value": "36.67",
        },
    ]
    # the hourly series puts each order in its hour, boundaries included
    assert figures["series_unit"] == "hour"
    assert len(figures["series"]) == 24
    busy = {p["label"]: p["values"] for p in figures["series"] if p["values"]}
    assert busy == {
        "00:00": {"USD": {"orders": 1, "revenue": "25.00"}},
        "10:00": {"EUR": {"orders": 1, "revenue": "21.00"}},
        "13:00": {"USD": {"orders": 1, "revenue": "70.00"}},
        "23:00": {"USD": {"orders": 1, "revenue": "15.00"}},
    }
    # top lists come from the freshly rebuilt DailySales (line revenue)
    assert [
        (p["name"], p["currency"], p["units"], p["revenue"])
        for p in figures["top_products"]
    ] == [
        ("Cup", "USD", 4, "40.00"),
        ("Mug", "EUR", 2, "16.00"),
        ("Lamp", "USD", 1, "60.00"),
    ]
    assert [
        (c["slug"], c["currency"], c["units"], c["revenue"])
        for c in figures["top_categories"]
    ] == [("home", "USD", 5, "100.00"), ("kitchen", "EUR", 2, "16.00")]


@pytest.mark.django_db
def test_weekly_covers_monday_to_sunday(catalog):
    # given orders on the first and last second of the week, and just outside
    cup = catalog["cup"]
    buyer = UserFactory()
    monday, sunday = date(2026, 11, 2), date(2026, 11, 8)
    buy(buyer, (cup, 1), paid_at=at(monday - timedelta(days=1), 23, 59, 59))
    buy(buyer, (cup, 1), paid_at=at(monday))
    buy(buyer, (cup, 2), paid_at=at(sunday, 23, 59, 59))
    buy(buyer, (cup, 1), paid_at=at(sunday + timedelta(days=1)))

    # when a day in the middle of the week is asked for
    report = report_generate(kind="weekly", day=DAY)

    # then the report is the ISO week's, with one point per day
    assert (report.period_start, report.period_end) == (monday, sunday)
    assert [row["orders"] for row in report.figures["currencies"]] == [2]
    assert report.figures["series_unit"] == "day"
    series = report.figures["series"]
    assert [point["label"] for point in series] == [
        (monday + timedelta(days=n)).isoformat() for n in range(7)
    ]
    assert series[0]["values"] == {"USD": {"orders": 1, "revenue": "15.00"}}
    assert series[6]["values"] == {"USD": {"orders": 1, "revenue": "25.00"}}
    assert all(not point["values"] for point in series[1:6])


@pytest.mark.django_db
def test_regenerating_a_period_updates_its_one_report(catalog):
    # given a report, then a late payment on the same day
    buyer = UserFactory()
    buy(buyer, (catalog["cup"], 1), paid_at=at(DAY, 9))
    first = report_generate(kind="daily", day=DAY)
    buy(buyer, (catalog["lamp"], 1), paid_at=at(DAY, 18))

    # when the day is generated again
    second = report_generate(kind="daily", day=DAY)

    # then the same row holds the new figures
    assert Report.objects.count() == 1
    assert second.pk == first.pk
    stored = Report.objects.get()
    assert stored.figures["currencies"][0]["orders"] == 2
    assert stored.figures["currencies"][0]["revenue"] == "75.00"
    assert stored.generated_at > first.generated_at
    assert stored.created_at == first.created_at


@pytest.mark.django_db
def test_html_holds_its_charts_as_png_images(day_sales):
    # given
    report = report_generate(kind="daily", day=DAY)

    # when
    html = report_html(report)

    # then both charts are inline PNGs, and the tables show the figures
    images = DATA_IMG.findall(html)
    assert len(images) == 2
    assert base64.b64decode(images[0]).startswith(PNG_SIGNATURE)
    assert 'alt="Revenue per hour"' in html
    assert 'alt="Top products by units"' in html
    assert "110.00" in html and "36.67" in html


@pytest.mark.django_db
def test_csv_parses_and_matches_the_figures(day_sales):
    # given
    report = report_generate(kind="daily", day=DAY)

    # when
    rows = csv_rows(report)

    # then every figure of the totals is there, raw, per currency
    meta = {r["metric"]: r["value"] for r in rows if r["section"] == "report"}
    assert meta["kind"] == "daily"
    assert (meta["period_start"], meta["period_end"]) == ("2026-11-04", "2026-11-04")
    totals = {
        (r["currency"], r["metric"]): r["value"]
        for r in rows
        if r["section"] == "totals"
    }
    for currency in report.figures["currencies"]:
        for metric in ("orders", "units", "revenue", "shipping", "average_order_value"):
            assert totals[(currency["currency"], metric)] == str(currency[metric])
    series = [r for r in rows if r["section"] == "series" and r["metric"] == "revenue"]
    assert [(r["item"], r["currency"], r["value"]) for r in series] == [
        ("00:00", "USD", "25.00"),
        ("10:00", "EUR", "21.00"),
        ("13:00", "USD", "70.00"),
        ("23:00", "USD", "15.00"),
    ]
    top = [r for r in rows if r["section"] == "top_products" and r["metric"] == "units"]
    assert [(r["item"], r["value"]) for r in top] == [
        ("Cup", "4"),
        ("Mug", "2"),
        ("Lamp", "1"),
    ]


@pytest.mark.django_db
def test_customer_report_uses_the_weeks_insights(catalog):
    # given a customer buying twice in the week, another once, and an
    # order of the week before
    ann, bob = (
        UserFactory(email="ann@example.com"),
        UserFactory(email="bob@example.com"),
    )
    cup = catalog["cup"]
    buy(ann, (cup, 1), paid_at=at(date(2026, 11, 2), 9))
    buy(ann, (cup, 6), paid_at=at(date(2026, 11, 8), 9))
    buy(bob, (cup, 1), paid_at=at(date(2026, 11, 3), 9))
    buy(bob, (cup, 1), paid_at=at(date(2026, 10, 30), 9))

    # when
    report = report_generate(kind="customers", day=DAY)

    # then (bob's earlier order makes him a repeat customer too)
    assert (report.period_start, report.period_end) == (
        date(2026, 11, 2),
        date(2026, 11, 8),
    )
    (usd,) = report.figures["currencies"]
    assert (usd["orders"], usd["revenue"], usd["customers"]) == (3, "90.00", 2)
    assert usd["repeat_customers"] == 2
    assert [(c["email"], c["spent"]) for c in usd["top_customers"]] == [
        ("ann@example.com", "75.00"),
        ("bob@example.com", "15.00"),
    ]
    assert len(DATA_IMG.findall(report_html(report))) == 2


# --- Admin and command --------------------------------------------------------


@pytest.mark.django_db
def test_admin_shows_the_report_to_staff_and_not_to_anonymous(day_sales):
    # given a report, a staff member allowed to view reports, and a stranger
    report = report_generate(kind="daily", day=DAY)
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_report"))
    page = reverse("admin:monitoring_report_view", args=[report.pk])
    download = reverse("admin:monitoring_report_csv", args=[report.pk])
    staff_client, anonymous = Client(), Client()
    staff_client.force_login(staff)

    # when
    shown = staff_client.get(page)
    listed = staff_client.get(reverse("admin:monitoring_report_changelist"))
    csv_file = staff_client.get(download)
    refused = anonymous.get(page)

    # then staff see the charts inline and can download the CSV
    assert shown.status_code == 200
    content = shown.content.decode()
    assert base64.b64decode(DATA_IMG.findall(content)[0]).startswith(PNG_SIGNATURE)
    assert download in content
    assert listed.status_code == 200 and page in listed.content.decode()
    assert csv_file.status_code == 200
    assert csv_file["Content-Type"] == "text/csv"
    assert csv_file.content.decode() == report_csv(report)
    # and the anonymous visitor is sent to the login page
    assert refused.status_code == 302
    assert refused["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_staff_without_the_view_permission_is_refused(day_sales):
    # given staff without the report permission
    report = report_generate(kind="daily", day=DAY)
    client = Client()
    client.force_login(StaffFactory())

    # when
    response = client.get(reverse("admin:monitoring_report_view", args=[report.pk]))

    # then
    assert response.status_code == 403


@pytest.mark.django_db
def test_command_generates_any_report_on_demand(catalog):
    # given a sale in the week
    buy(UserFactory(), (catalog["cup"], 1), paid_at=at(date(2026, 11, 7), 12))
    out = StringIO()

    # when
    call_command(
        "generate_report", "--kind", "weekly", "--date", "2026-11-04", stdout=out
    )

    # then
    report = Report.objects.get()
    assert (report.kind, report.period_start) == ("weekly", date(2026, 11, 2))
    assert report.figures["currencies"][0]["orders"] == 1
    assert (
        f"report {report.pk}: Weekly sales, 2026-11-02 to 2026-11-08" in out.getvalue()
    )
    assert not JobRecord.objects.filter(type="reports.email").exists()
    with pytest.raises(CommandError):
        call_command("generate_report", "--kind", "monthly")


# --- Jobs ----------------------------------------------------------------------


# A real claim compares run_at with the database's now(): no test transaction.
@pytest.mark.django_db(transaction=True)
def test_generate_job_without_a_date_builds_yesterday_and_queues_emails(settings):
    # given two recipients
    settings.REPORT_RECIPIENTS = ["ops@example.com", "cfo@example.com"]
    with transaction.atomic():
        job = jobs.enqueue("reports.generate", {"kind": "daily"})

    # when the job runs
    status = run_job_inline(str(job.pk))

    # then yesterday's report exists and one LOW email job per address
    # committed with it, each with its email log
    assert status == JobStatus.SUCCEEDED
    yesterday = timezone.localdate() - timedelta(days=1)
    report = Report.objects.get(kind=ReportKind.DAILY_SALES)
    assert report.period_start == yesterday
    emails = JobRecord.objects.filter(type="reports.email")
    assert sorted(e.payload["to"] for e in emails) == [
        "cfo@example.com",
        "ops@example.com",
    ]
    assert {e.priority for e in emails} == {Priority.LOW}
    assert {e.payload["report_id"] for e in emails} == {report.pk}
    assert EmailLog.objects.filter(status=EmailStatus.QUEUED).count() == 2


@pytest.mark.django_db(transaction=True)
def test_generate_job_rejects_an_unknown_kind():
    # given
    job = jobs.enqueue("reports.generate", {"kind": "yearly"})

    # when
    status = run_job_inline(str(job.pk))

    # then it fails for good, without retries
    assert status == JobStatus.FAILED
    assert "malformed payload" in JobRecord.objects.get(pk=job.pk).error


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_report_email_arrives_once_with_charts_and_csv(
    settings,
    smtp_sink,  # noqa: F811  (the imported fixtures)
    thread_worker,  # noqa: F811
    relay,  # noqa: F811
    day_sales,
):
    # given a worker and relay, and one recipient; the order emails of the
    # day's sales are not under test
    settings.REPORT_RECIPIENTS = ["ops@example.com"]
    JobRecord.objects.filter(type="email.send").delete()
    thread_worker()
    relay()

    # when the scheduled job is queued
    with transaction.atomic():
        jobs.enqueue("reports.generate", {"kind": "daily", "date": DAY.isoformat()})

    # then one email arrives, HTML with inline charts and the CSV attached
    (received,) = smtp_sink.wait_for(1, timeout=60)
    assert received["to"] == ["ops@example.com"]
    message = received["message"]
    assert str(message["Subject"]) == "Bazaar report: Daily sales, 2026-11-04"
    parts = {part.get_content_type(): part for part in message.walk()}
    html = parts["text/html"].get_payload(decode=True).decode()
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert len(cids) == 2
    images = {
        part["Content-ID"].strip("<>"): part.get_payload(decode=True)
        for part in message.walk()
        if part.get_content_type() == "image/png"
    }
    assert set(images) == set(cids)
    assert all(png.startswith(PNG_SIGNATURE) for png in images.values())
    attachment = parts["text/csv"]
    assert attachment.get_filename() == "report-daily-2026-11-04.csv"
    report = Report.objects.get()
    assert attachment.get_payload(decode=True).decode() == report_csv(report)
    # the report records when it was emailed, once the log says sent
    job = JobRecord.objects.get(type="reports.email")
    wait_until(
        lambda: JobRecord.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).exists()
    )
    assert Report.objects.get().emailed_at is not None
    assert EmailLog.objects.get(job=job).status == EmailStatus.SENT

    # and when the job is delivered again (a retry after the send)
    result = report_email_deliver(job=JobRecord.objects.get(pk=job.pk))

    # then nothing more is sent
    assert result["already_sent"] is True
    assert len(smtp_sink.messages) == 1


# --- System performance --------------------------------------------------------


def finished_job(priority: Priority, status: JobStatus, wait_s: float, **extra) -> None:
    """A job that waited ``wait_s`` seconds from due to start and finished now."""
    now = timezone.now()
    run_at = now - timedelta(seconds=60)
    JobRecord.objects.create(
        type="tests.noop",
        priority=priority,
        status=status,
        attempts=1,
        run_at=run_at,
        started_at=run_at + timedelta(seconds=wait_s),
        finished_at=extra.pop("finished_at", now),
        **extra,
    )


@pytest.mark.django_db
def test_performance_report_reflects_the_traffic_and_jobs_of_the_day(settings):
    # given requests through the full middleware stack: six liveness
    # probes, two refused POSTs, two readiness checks (every statement counts
    # as slow), and a catalog page asked twice (a miss, then a hit)
    settings.SLOW_QUERY_MS = 0
    client = Client()
    for _ in range(6):
        assert client.get("/health").status_code == 200
    for _ in range(2):
        assert client.post("/health").status_code == 405
    for _ in range(2):
        assert client.get("/ready").status_code == 200
    for _ in range(2):
        assert client.get("/api/categories/").status_code == 200
    # and jobs finished today: LOW 3 succeeded and 1 failed (waits 1-4 s),
    # one HIGH success, and a failure of yesterday's that must not count
    for wait in (1, 2, 3):
        finished_job(Priority.LOW, JobStatus.SUCCEEDED, wait)
    finished_job(Priority.LOW, JobStatus.FAILED, 4)
    finished_job(Priority.HIGH, JobStatus.SUCCEEDED, 0.5)
    finished_job(
        Priority.LOW,
        JobStatus.FAILED,
        9,
        finished_at=timezone.now() - timedelta(days=1, hours=1),
    )

    # when today's performance report is built
    report = report_generate(kind="performance", day=timezone.localdate())

    # then the routes, their latencies and errors come from those requests
    figures = report.figures
    routes = {row["route"]: row for row in figures["routes"]}
    assert routes["GET health"]["count"] == 6
    assert routes["POST health"]["count"] == 2
    assert routes["POST health"]["client_errors"] == 2
    assert routes["GET ready"]["count"] == 2
    assert all(0 < row["p95_ms"] <= 10_000 for row in routes.values())
    assert figures["requests"]["requests"] == 12
    assert figures["requests"]["errors"] == 0
    (categories,) = [c for c in figures["cache"] if c["namespace"] == "categories"]
    assert (categories["hits"], categories["misses"]) == (1, 1)
    assert categories["hit_rate"] == 0.5
    assert figures["slow_queries"]
    assert any(q["route"] == "GET ready" for q in figures["slow_queries"])
    # and the jobs: failure rate and wait per priority class
    jobs_figures = figures["jobs"]
    assert (jobs_figures["succeeded"], jobs_figures["failed"]) == (4, 1)
    assert jobs_figures["failure_rate"] == 0.2
    low = next(row for row in jobs_figures["priorities"] if row["priority"] == "low")
    assert (low["succeeded"], low["failed"], low["failure_rate"]) == (3, 1, 0.25)
    assert low["queue_wait_p95_s"] == pytest.approx(3.85)
    # and its charts and CSV say the same
    html = report_html(report)
    assert 'alt="p95 latency per route (busiest routes)"' in html
    assert 'alt="Job outcomes per priority"' in html
    assert len(DATA_IMG.findall(html)) == 2
    rows = csv_rows(report)
    assert {
        "section": "routes",
        "item": "GET health",
        "currency": "",
        "metric": "count",
        "value": "6",
    } in rows
    assert {
        "section": "jobs",
        "item": "",
        "currency": "",
        "metric": "failure_rate",
        "value": "0.2",
    } in rows
