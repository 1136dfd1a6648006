"""Invoices: POST queues a MEDIUM job, the job renders a PDF into media storage,
GET downloads it; jobs run inline (``run_job_inline``) or on a real worker."""

import base64
import re
import zlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from jobs.enums import JobStatus, Priority
from jobs.models import JobRecord
from jobs.runner import run_job_inline
from orders import services
from orders.models import Order
from orders.services import Line
from tests.factories import ProductFactory, UserFactory
from tests.jobs.conftest import wait_until
from tests.orders.conftest import (  # noqa: F401  (fixtures)
    ADDRESS,
    client_for,
    relay,
    thread_worker,
)

pytestmark = pytest.mark.django_db

INVOICE_JOB = "orders.render_invoice"
# Jobs run inline claim with the database's now(), so they need committed rows.
inline = pytest.mark.django_db(transaction=True)

NO_STORE = "private, no-store"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every test writes into its own media directory, never the repository's."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def order(buyer, mug, lamp) -> Order:
    return services.order_create(
        user=buyer, lines=[Line(mug.pk, 2), Line(lamp.pk, 1)], shipping_address=ADDRESS
    )


def url(order: Order) -> str:
    return f"/api/orders/{order.pk}/invoice"


def request_invoice(client: APIClient, order: Order) -> JobRecord:
    response = client.post(url(order))
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"job_id"}
    return JobRecord.objects.get(pk=response.json()["job_id"])


def pdf_text(data: bytes) -> bytes:
    """The decoded content streams of a reportlab PDF (ASCII85, then Flate)."""
    text = b""
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        body = raw.strip()
        if body.endswith(b"~>"):
            body = base64.a85decode(body, adobe=True)
        text += zlib.decompress(body)
    return text


def download(client: APIClient, order: Order) -> bytes:
    response = client.get(url(order))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{order.number}.pdf"'
    )
    assert response["Cache-Control"] == NO_STORE
    return b"".join(response.streaming_content)


def invoice_files(media_root: Path, order: Order) -> list[str]:
    folder = media_root / "invoices" / str(order.pk)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_post_is_202_with_a_medium_job_for_the_order(order, buyer, buyer_client):
    job = request_invoice(buyer_client, order)

    assert (job.type, job.priority, job.status) == (
        INVOICE_JOB,
        Priority.MEDIUM,
        JobStatus.QUEUED,
    )
    assert job.payload == {"order_id": order.pk}
    assert (job.user_id, job.order_id) == (buyer.pk, order.pk)
    # the buyer follows it on the jobs endpoint
    progress = buyer_client.get(f"/api/jobs/{job.pk}")
    assert (progress.status_code, progress.json()["status"]) == (200, "queued")


def test_repeated_posts_while_queued_return_the_same_job(
    order, buyer_client, staff_client
):
    first = request_invoice(buyer_client, order)
    again = request_invoice(buyer_client, order)
    by_staff = request_invoice(staff_client, order)

    assert first.pk == again.pk == by_staff.pk
    assert JobRecord.objects.filter(type=INVOICE_JOB).count() == 1


def test_before_the_job_ran_get_is_404_invoice_not_ready(order, buyer_client):
    request_invoice(buyer_client, order)

    response = buyer_client.get(url(order))

    assert response.status_code == 404
    assert response.json()["code"] == "invoice_not_ready"
    assert response["Cache-Control"] == NO_STORE


@inline
def test_another_user_gets_404_on_both_and_anonymous_401(order, buyer_client):
    run_job_inline(request_invoice(buyer_client, order).pk)
    stranger = client_for(UserFactory())

    post, get = stranger.post(url(order)), stranger.get(url(order))

    assert (post.status_code, get.status_code) == (404, 404)
    assert get.json()["code"] != "invoice_not_ready"
    assert JobRecord.objects.filter(type=INVOICE_JOB).count() == 1
    anonymous = APIClient()
    assert [
        anonymous.post(url(order)).status_code,
        anonymous.get(url(order)).status_code,
    ] == [401, 401]


@inline
def test_the_job_renders_a_pdf_the_owner_downloads(order, buyer_client, media_root):
    job = request_invoice(buyer_client, order)

    assert run_job_inline(job.pk) == JobStatus.SUCCEEDED

    job.refresh_from_db()
    order.refresh_from_db()
    assert job.result["path"] == order.invoice_path
    assert order.invoice_path.startswith(f"invoices/{order.pk}/{order.number}-")
    assert order.invoice_generated_at is not None
    data = download(buyer_client, order)
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    for expected in (
        f"Invoice {order.number}",
        f"Order number: {order.number}",
        "Buyer: ",
        ADDRESS["line1"],
        ADDRESS["city"],
        "(Mug)",
        "(Lamp)",
        "12.50 USD",
        "25.00 USD",  # the mug's line total
        "30.00 USD",
        f"{order.subtotal} USD",
        f"{order.shipping} USD",
        f"{order.total} USD",
        "Awaiting payment",
    ):
        assert expected.encode() in text, expected
    assert invoice_files(media_root, order) == [order.invoice_path.rsplit("/", 1)[1]]


@inline
def test_staff_request_and_download_any_order(order, staff_client):
    job = request_invoice(staff_client, order)
    run_job_inline(job.pk)

    assert download(staff_client, order).startswith(b"%PDF-")


@inline
def test_a_client_asking_for_pdf_is_not_refused(order, buyer_client):
    job = request_invoice(buyer_client, order)
    early = buyer_client.get(url(order), HTTP_ACCEPT="application/pdf")
    assert (early.status_code, early.json()["code"]) == (404, "invoice_not_ready")
    run_job_inline(job.pk)

    response = buyer_client.get(url(order), HTTP_ACCEPT="application/pdf")

    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")


@inline
def test_running_the_job_twice_leaves_one_file_referenced(
    order, buyer_client, media_root
):
    # given a rendered invoice
    first = request_invoice(buyer_client, order)
    run_job_inline(first.pk)
    order.refresh_from_db()
    path, generated_at = order.invoice_path, order.invoice_generated_at
    # when the same job's work runs again, and a second job is requested
    again = services.order_invoice_render(order_id=order.pk)
    second = request_invoice(buyer_client, order)
    assert second.pk != first.pk  # the first is finished: a new job
    assert run_job_inline(second.pk) == JobStatus.SUCCEEDED
    # then nothing changed: same bytes, same name, one file
    order.refresh_from_db()
    assert (again["path"], again["changed"]) == (path, False)
    assert (order.invoice_path, order.invoice_generated_at) == (path, generated_at)
    assert invoice_files(media_root, order) == [path.rsplit("/", 1)[1]]


@inline
def test_a_changed_order_gets_a_new_file_and_the_old_one_goes(
    order, buyer, buyer_client, media_root
):
    run_job_inline(request_invoice(buyer_client, order).pk)
    order.refresh_from_db()
    old_path = order.invoice_path

    services.order_cancel(order_id=order.pk, actor=buyer)
    run_job_inline(request_invoice(buyer_client, order).pk)

    order.refresh_from_db()
    assert order.invoice_path != old_path
    assert not default_storage.exists(old_path)
    assert invoice_files(media_root, order) == [order.invoice_path.rsplit("/", 1)[1]]
    assert b"Cancelled on " in pdf_text(download(buyer_client, order))


@inline
def test_markup_in_names_is_printed_not_interpreted(buyer, buyer_client, seller):
    product = ProductFactory(seller=seller, name="<b>Tea & Co</b> <br/>")
    order = services.order_create(
        user=buyer, lines=[Line(product.pk, 1)], shipping_address=ADDRESS
    )

    assert run_job_inline(request_invoice(buyer_client, order).pk) == (
        JobStatus.SUCCEEDED
    )

    text = pdf_text(download(buyer_client, order))
    assert b"Tea & Co" in text
    assert b"(b)" in text  # the tag's letters are text, not bold markup


@inline
def test_a_job_for_a_vanished_order_succeeds_with_nothing_to_do(order, buyer_client):
    job = request_invoice(buyer_client, order)
    JobRecord.objects.filter(pk=job.pk).update(payload={"order_id": 0})

    assert run_job_inline(job.pk) == JobStatus.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_the_invoice(
    order,
    buyer_client,
    thread_worker,  # noqa: F811
    relay,  # noqa: F811
):
    thread_worker(queues=["medium"])
    relay()

    job_id = request_invoice(buyer_client, order).pk

    job = wait_until(
        lambda: JobRecord.objects.filter(
            pk=job_id, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
        ).first()
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    progress = buyer_client.get(f"/api/jobs/{job_id}").json()
    assert progress["status"] == "succeeded"
    assert order.number.encode() in pdf_text(download(buyer_client, order))
