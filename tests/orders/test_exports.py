"""Order CSV exports: the request queues a BATCH job with the export, the job
streams the order lines of whole TIME_ZONE days into media storage, staff
download the file from the admin; also the Order action and the command."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from catalog.models import Product
from jobs import broker
from jobs.enums import JobStatus, Priority
from jobs.exceptions import PayloadTooLarge
from jobs.models import JobRecord
from jobs.runner import run_job_inline
from jobs.services import jobs_publish_due
from orders.enums import OrderStatus
from orders.models import Order, OrderExport, OrderItem
from orders.services.exports import (
    EXPORT_JOB,
    HEADER,
    ExportRangeInvalid,
    export_name,
    order_export_build,
    order_export_request,
)
from tests.factories import (
    OrderFactory,
    OrderItemFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
)
from tests.jobs.conftest import (  # noqa: F401  (fixtures)
    purge_broker,
    relay,
    thread_worker,
    wait_until,
)

pytestmark = pytest.mark.django_db
# Jobs run inline claim with the database's now(), so they need committed rows.
inline = pytest.mark.django_db(transaction=True)

TOKYO = "Asia/Tokyo"  # UTC+9 all year: local days start at 15:00 UTC the day before
NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every test writes into its own media directory, never the repository's."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def tokyo(settings) -> ZoneInfo:
    settings.TIME_ZONE = TOKYO
    return ZoneInfo(TOKYO)


@pytest.fixture
def closed_window(settings) -> None:
    """The BATCH off-peak window is hours away."""
    now = timezone.localtime()
    start = (now + timedelta(hours=2)).strftime("%H:%M")
    end = (now + timedelta(hours=3)).strftime("%H:%M")
    settings.JOB_BATCH_WINDOW = f"{start}-{end}"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def order_at(
    created_at: datetime,
    lines: list[tuple[Product, int]],
    *,
    currency: str = "USD",
    status: str = OrderStatus.PENDING,
    paid_at: datetime | None = None,
    country: str = "US",
    buyer: User | None = None,
) -> Order:
    """An order with its lines, created at ``created_at`` (not now)."""
    subtotal = sum((product.price * qty for product, qty in lines), Decimal("0"))
    shipping = Decimal("5.00")
    order = OrderFactory(
        user=buyer or UserFactory(),
        currency=currency,
        status=status,
        paid_at=paid_at,
        subtotal=subtotal,
        shipping=shipping,
        total=subtotal + shipping,
        shipping_address={"country": country, "city": "Somewhere"},
    )
    for product, qty in lines:
        OrderItemFactory(order=order, product=product, quantity=qty)
    Order.objects.filter(pk=order.pk).update(created_at=created_at)
    order.refresh_from_db()
    return order


def read_csv(data: bytes) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def stored(media_root: Path, export: OrderExport) -> bytes:
    return (media_root / export.path).read_bytes()


def expected(start: datetime, end: datetime, zone: ZoneInfo) -> list[dict[str, str]]:
    """The rows straight from the database: every line of every order created
    in [start, end), in creation order."""

    def moment(value: datetime | None) -> str:
        return value.astimezone(zone).isoformat() if value else ""

    items = (
        OrderItem.objects.select_related("order__user")
        .filter(order__created_at__gte=start, order__created_at__lt=end)
        .order_by("order__created_at", "order_id", "pk")
    )
    return [
        {
            "order_number": item.order.number,
            "created_at": moment(item.order.created_at),
            "paid_at": moment(item.order.paid_at),
            "status": item.order.status,
            "buyer_email": item.order.user.email,
            "currency": item.order.currency,
            "product_id": str(item.product_id),
            "product_name": item.name,
            "unit_price": str(item.unit_price),
            "quantity": str(item.quantity),
            "line_total": str(item.unit_price * item.quantity),
            "order_subtotal": str(item.order.subtotal),
            "order_shipping": str(item.order.shipping),
            "order_total": str(item.order.total),
            "shipping_country": item.order.shipping_address["country"],
        }
        for item in items
    ]


def run_export(export: OrderExport) -> OrderExport:
    assert run_job_inline(str(export.job_id)) == JobStatus.SUCCEEDED
    export.refresh_from_db()
    return export


@pytest.fixture
def november(tokyo) -> dict[str, Any]:
    """Orders around November 2026 in Tokyo: both boundary instants inside,
    the instants just outside, two currencies, one order of two lines."""
    mug = ProductFactory(name="Mug", price=Decimal("12.50"))
    lamp = ProductFactory(name="Lamp", price=Decimal("30.00"))
    tea = ProductFactory(name="Thé vert", price=Decimal("4.20"))
    inside = [
        order_at(utc(2026, 10, 31, 15), [(mug, 2), (lamp, 1)]),  # Nov 1 00:00 JST
        order_at(
            utc(2026, 11, 15, 9, 30),
            [(tea, 3)],
            currency="EUR",
            status=OrderStatus.PAID,
            paid_at=utc(2026, 11, 15, 9, 31),
            country="FR",
        ),
        order_at(utc(2026, 11, 30, 14, 59, 59), [(lamp, 1)], currency="GBP"),
    ]
    outside = [
        order_at(utc(2026, 10, 31, 14, 59, 59), [(mug, 1)]),  # Oct 31 23:59:59 JST
        order_at(utc(2026, 11, 30, 15), [(tea, 1)]),  # Dec 1 00:00 JST
    ]
    return {"inside": inside, "outside": outside, "mug": mug, "lamp": lamp}


# --- the file -------------------------------------------------------------------------


@inline
def test_csv_holds_every_line_of_the_range_once_and_nothing_else(
    november, tokyo, media_root
):
    # given orders on both boundary days (Tokyo) and just outside them
    export = order_export_request(
        user=StaffFactory(), date_from=NOV_1, date_to=NOV_30, force=True
    )
    # when the job runs
    export = run_export(export)
    # then the CSV is exactly the database's lines of those Tokyo days
    rows = read_csv(stored(media_root, export))
    start, end = utc(2026, 10, 31, 15), utc(2026, 11, 30, 15)
    assert rows == expected(start, end, tokyo)
    assert export.rows == len(rows) == 4
    numbers = [row["order_number"] for row in rows]
    assert set(numbers) == {order.number for order in november["inside"]}
    assert not set(numbers) & {order.number for order in november["outside"]}
    # one row per line: the two-line order twice, each of its lines once
    first = november["inside"][0]
    assert [
        (row["product_name"], row["quantity"], row["line_total"])
        for row in rows
        if row["order_number"] == first.number
    ] == [("Mug", "2", "25.00"), ("Lamp", "1", "30.00")]
    assert rows[0]["created_at"] == "2026-11-01T00:00:00+09:00"
    assert rows[-1]["created_at"] == "2026-11-30T23:59:59+09:00"
    assert {row["currency"] for row in rows} == {"USD", "EUR", "GBP"}
    paid = next(row for row in rows if row["currency"] == "EUR")
    assert (paid["paid_at"], paid["shipping_country"], paid["product_name"]) == (
        "2026-11-15T18:31:00+09:00",
        "FR",
        "Thé vert",
    )
    # and the job reports what it wrote
    job = JobRecord.objects.get(pk=export.job_id)
    assert (job.result["path"], job.result["rows"]) == (export.path, 4)
    assert export.path.startswith(f"exports/{export.pk}/orders-2026-11-01-2026-11-30-")


@inline
def test_a_status_filter_exports_only_orders_in_that_status(november, media_root):
    export = order_export_request(
        user=None, date_from=NOV_1, date_to=NOV_30, status=OrderStatus.PAID
    )

    rows = read_csv(stored(media_root, run_export(export)))

    assert [(row["status"], row["currency"]) for row in rows] == [("paid", "EUR")]


@inline
def test_spreadsheet_formulas_in_text_are_neutralised(media_root):
    product = ProductFactory(name='=HYPERLINK("http://evil.example","x")')
    order_at(timezone.now(), [(product, 1)])
    today = timezone.localdate()
    export = order_export_request(user=None, date_from=today, date_to=today)

    (row,) = read_csv(stored(media_root, run_export(export)))

    assert row["product_name"] == "'" + product.name


@inline
def test_an_empty_range_gives_a_header_only_file(media_root):
    export = order_export_request(user=None, date_from=NOV_1, date_to=NOV_1)

    export = run_export(export)

    assert (export.rows, read_csv(stored(media_root, export))) == (0, [])


# --- the request and its job ----------------------------------------------------------


def test_the_request_queues_a_batch_job_with_the_export(closed_window):
    staff = StaffFactory()

    export = order_export_request(user=staff, date_from=NOV_1, date_to=NOV_30)

    job = export.job
    assert (job.type, job.priority, job.forced, job.status) == (
        EXPORT_JOB,
        Priority.BATCH,
        False,
        JobStatus.QUEUED,
    )
    assert (job.payload, job.user_id) == ({"export_id": export.pk}, staff.pk)
    assert (export.requested_by, export.forced, export.ready) == (staff, False, False)
    # outside the off-peak window it waits
    assert jobs_publish_due() == 0


def test_a_rolled_back_request_leaves_neither_export_nor_job():
    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        order_export_request(user=None, date_from=NOV_1, date_to=NOV_30)
        raise Abandon

    assert (OrderExport.objects.count(), JobRecord.objects.count()) == (0, 0)


def test_a_job_that_cannot_be_queued_leaves_no_export(settings):
    # given payloads the platform refuses
    settings.JOB_PAYLOAD_MAX_BYTES = 5

    with pytest.raises(PayloadTooLarge):
        order_export_request(user=None, date_from=NOV_1, date_to=NOV_30)

    # then the export row went with the failed enqueue
    assert (OrderExport.objects.count(), JobRecord.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("date_from", "date_to", "status", "message"),
    [
        (NOV_30, NOV_1, None, "after it ends"),
        (date(2025, 1, 1), date(2026, 1, 2), None, "367 days"),
        (NOV_1, NOV_30, "lost", "unknown order status"),
    ],
)
def test_invalid_requests_are_refused_before_any_write(
    date_from, date_to, status, message
):
    with pytest.raises(ExportRangeInvalid, match=message):
        order_export_request(
            user=None, date_from=date_from, date_to=date_to, status=status
        )

    assert (OrderExport.objects.count(), JobRecord.objects.count()) == (0, 0)


def test_a_full_year_is_allowed(settings):
    export = order_export_request(
        user=None, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31)
    )

    assert export.pk is not None  # 2024 is a leap year: 366 days


@pytest.mark.django_db(transaction=True)
def test_a_forced_export_runs_now_and_an_unforced_one_waits(
    closed_window,
    media_root,
    thread_worker,  # noqa: F811
    relay,  # noqa: F811
):
    # given orders today, a worker on the batch queue and the relay
    order_at(timezone.now(), [(ProductFactory(), 2)])
    today = timezone.localdate()
    thread_worker(queues=["batch"])
    relay()
    # when one export is forced and one is not, outside the window
    held = order_export_request(user=None, date_from=today, date_to=today)
    forced = order_export_request(user=None, date_from=today, date_to=today, force=True)
    # then the forced one is built by the worker
    done = wait_until(
        lambda: OrderExport.objects.filter(
            pk=forced.pk, finished_at__isnull=False
        ).first()
    )
    assert done.rows == 1
    assert len(read_csv(stored(media_root, done))) == 1
    # the export row is finished inside the handler; the job record is marked
    # succeeded only after the handler returns, so that is awaited too
    assert wait_until(
        lambda: JobRecord.objects.filter(
            pk=forced.job_id, status=JobStatus.SUCCEEDED
        ).exists()
    )
    # and the other stays queued and unpublished until the window opens
    held.refresh_from_db()
    held_job = JobRecord.objects.get(pk=held.job_id)
    assert (held.ready, held_job.status, held_job.published_at) == (
        False,
        JobStatus.QUEUED,
        None,
    )
    assert broker.queue_size("batch") == 0


@inline
def test_the_job_run_twice_gives_the_same_file(november, media_root):
    # given a built export
    export = run_export(
        order_export_request(user=None, date_from=NOV_1, date_to=NOV_30)
    )
    first = stored(media_root, export)
    # when the build runs again, even after the orders changed
    Order.objects.update(status=OrderStatus.CANCELLED)
    again = order_export_build(export_id=export.pk)
    # then the finished export is a snapshot: same name, same bytes, one file
    assert (again["path"], again["rows"], again["built"]) == (export.path, 4, False)
    assert stored(media_root, export) == first
    assert [p.name for p in (media_root / "exports" / str(export.pk)).iterdir()] == [
        Path(export.path).name
    ]
    finished_at = export.finished_at
    export.refresh_from_db()
    assert export.finished_at == finished_at


@inline
def test_a_retry_overwrites_a_half_written_file(november, media_root, tokyo):
    # given an attempt that died after writing part of the file
    export = order_export_request(user=None, date_from=NOV_1, date_to=NOV_30)
    name = export_name(export)
    (media_root / name).parent.mkdir(parents=True)
    (media_root / name).write_bytes(b"order_number,crea")
    # when the job runs
    export = run_export(export)
    # then the same name holds the whole file, and nothing else was left
    assert export.path == name
    rows = read_csv(stored(media_root, export))
    assert rows == expected(utc(2026, 10, 31, 15), utc(2026, 11, 30, 15), tokyo)
    assert len(list((media_root / "exports" / str(export.pk)).iterdir())) == 1


@inline
def test_a_job_for_a_vanished_export_succeeds_with_nothing_to_do():
    export = order_export_request(user=None, date_from=NOV_1, date_to=NOV_30)
    OrderExport.objects.filter(pk=export.pk).delete()

    assert run_job_inline(str(export.job_id)) == JobStatus.SUCCEEDED


# --- admin ----------------------------------------------------------------------------


def download_url(export: OrderExport) -> str:
    return reverse("admin:orders_orderexport_download", args=[export.pk])


def staff_client(*codenames: str) -> Client:
    user = StaffFactory()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="orders", codename__in=codenames
        )
    )
    client = Client()
    client.force_login(user)
    return client


@inline
def test_staff_download_the_csv_and_nobody_else(november, admin_client, media_root):
    export = run_export(
        order_export_request(user=None, date_from=NOV_1, date_to=NOV_30)
    )
    url = download_url(export)
    # staff who may view exports get the file
    for client in (admin_client, staff_client("view_orderexport")):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == (
            'attachment; filename="orders-2026-11-01-2026-11-30.csv"'
        )
        assert b"".join(response.streaming_content) == stored(media_root, export)
    # staff without that permission are refused
    assert staff_client().get(url).status_code == 403
    # non-staff and anonymous users are sent to the login page
    buyer = Client()
    buyer.force_login(UserFactory())
    for client in (buyer, Client()):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_download_before_the_file_is_built_is_404(admin_client):
    export = order_export_request(user=None, date_from=NOV_1, date_to=NOV_30)

    assert admin_client.get(download_url(export)).status_code == 404
    assert admin_client.get("/admin/orders/orderexport/0/download/").status_code == (
        404
    )


@inline
def test_export_pages_render_with_the_download_link_once_ready(admin_client):
    queued = order_export_request(user=None, date_from=NOV_1, date_to=NOV_1)
    ready = run_export(
        order_export_request(user=None, date_from=NOV_1, date_to=NOV_30, force=True)
    )

    listing = admin_client.get(reverse("admin:orders_orderexport_changelist"))
    detail = admin_client.get(
        reverse("admin:orders_orderexport_change", args=[queued.pk])
    )

    assert (listing.status_code, detail.status_code) == (200, 200)
    content = listing.content.decode()
    assert f'href="{download_url(ready)}"' in content
    assert download_url(queued) not in content
    assert "queued (off-peak)" in content
    assert "queued (off-peak)" in detail.content.decode()


def test_the_add_form_queues_an_export_through_the_service(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:orders_orderexport_add"),
        {
            "date_from": "2026-11-01",
            "date_to": "2026-11-30",
            "status": "paid",
            "forced": "on",
        },
    )

    assert response.status_code == 302, response.content
    export = OrderExport.objects.get()
    assert (export.date_from, export.date_to, export.status, export.forced) == (
        NOV_1,
        NOV_30,
        "paid",
        True,
    )
    assert export.requested_by == admin_user
    assert (export.job.type, export.job.forced, export.job.user) == (
        EXPORT_JOB,
        True,
        admin_user,
    )


def test_the_add_form_refuses_a_reversed_range(admin_client):
    response = admin_client.post(
        reverse("admin:orders_orderexport_add"),
        {"date_from": "2026-11-30", "date_to": "2026-11-01", "status": ""},
    )

    assert response.status_code == 200
    assert "after it ends" in response.content.decode()
    assert (OrderExport.objects.count(), JobRecord.objects.count()) == (0, 0)


def test_the_order_action_exports_the_selected_orders_days(
    november, admin_client, admin_user
):
    # given two orders selected on the changelist (Nov 1 and Nov 15, Tokyo)
    first, second, _ = november["inside"]
    # when the action runs
    response = admin_client.post(
        reverse("admin:orders_order_changelist"),
        {
            "action": "export_date_range",
            "_selected_action": [first.pk, second.pk],
        },
        follow=True,
    )
    # then one export covers those whole days, and the message links to it
    assert response.status_code == 200
    export = OrderExport.objects.get()
    assert (export.date_from, export.date_to, export.status, export.requested_by) == (
        NOV_1,
        date(2026, 11, 15),
        "",
        admin_user,
    )
    assert export.job.priority == Priority.BATCH
    (message,) = [str(m) for m in response.context["messages"]]
    change_url = reverse("admin:orders_orderexport_change", args=[export.pk])
    assert f'href="{change_url}"' in message
    assert "2026-11-01 to 2026-11-15" in message


def test_the_order_action_needs_the_export_permission(november):
    client = staff_client("view_order", "change_order")

    response = client.get(reverse("admin:orders_order_changelist"))

    assert response.status_code == 200
    assert "export_date_range" not in response.content.decode()


# --- manage.py export_orders ----------------------------------------------------------


def test_the_command_queues_an_export(closed_window):
    out = io.StringIO()

    call_command(
        "export_orders", "--from", "2026-11-01", "--to", "2026-11-30", stdout=out
    )

    export = OrderExport.objects.get()
    assert out.getvalue().strip() == f"export {export.pk} queued as job {export.job_id}"
    assert (export.date_from, export.date_to, export.forced) == (NOV_1, NOV_30, False)
    assert (export.job.priority, export.job.status) == (
        Priority.BATCH,
        JobStatus.QUEUED,
    )


def test_the_command_passes_status_and_force():
    call_command(
        "export_orders",
        "--from=2026-11-01",
        "--to=2026-11-30",
        "--status=shipped",
        "--force",
        stdout=io.StringIO(),
    )

    export = OrderExport.objects.get()
    assert (export.status, export.forced, export.job.forced) == ("shipped", True, True)


@inline
def test_the_command_builds_inline(november, media_root, tokyo, closed_window):
    out = io.StringIO()

    call_command(
        "export_orders",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--inline",
        stdout=out,
    )

    export = OrderExport.objects.get()
    assert out.getvalue().splitlines() == [
        f"export {export.pk} queued as job {export.job_id}",
        f"4 row(s) written to {export.path}",
    ]
    assert JobRecord.objects.get(pk=export.job_id).status == JobStatus.SUCCEEDED
    rows = read_csv(stored(media_root, export))
    assert rows == expected(utc(2026, 10, 31, 15), utc(2026, 11, 30, 15), tokyo)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-30", "--to", "2026-11-01"], "after it ends"),
        (["--from", "2026-13-01", "--to", "2026-12-01"], "not an ISO date"),
        (["--from", "2020-01-01", "--to", "2026-01-01"], "ORDER_EXPORT_MAX_DAYS"),
        (["--from", "2026-11-01", "--to", "2026-11-30", "--status", "x"], "invalid"),
        (["--from", "2026-11-01"], "--to"),
    ],
)
def test_the_command_rejects_bad_ranges(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_orders", *args, stdout=io.StringIO())

    assert OrderExport.objects.count() == 0


# --- Retention ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_exports_past_retention_are_deleted_with_their_files(
    settings, staff, media_root
):
    # given a built export from 40 days ago and one from today
    settings.ORDER_EXPORT_KEEP_DAYS = 30
    old, new = (
        order_export_request(
            user=staff,
            date_from=date(2026, 11, 1),
            date_to=date(2026, 11, 2),
            force=True,
        )
        for _ in range(2)
    )
    old, new = run_export(old), run_export(new)
    OrderExport.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=40)
    )

    # when the purge runs (as the command)
    out = io.StringIO()
    call_command("purge_exports", stdout=out)

    # then only the old export and its file are gone
    assert out.getvalue().strip() == "deleted 1 export(s)"
    assert list(OrderExport.objects.values_list("pk", flat=True)) == [new.pk]
    assert not (media_root / old.path).exists()
    assert (media_root / new.path).exists()
