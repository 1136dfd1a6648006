"""Invoice PDFs with reportlab: the document of an order, and where it is kept.

The PDF is a pure function of the order (reportlab's invariant mode leaves out
the creation time and random document id), so a job that renders the same
order twice gets the same bytes and the same storage name. The name carries a
keyed hash of those bytes: media storage may be served publicly, and an
invoice must not be found by guessing. No database work here:
``orders.services.invoices`` decides when, this module knows how.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from typing import IO
from xml.sax.saxutils import escape

from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.crypto import salted_hmac

from config.storage import storage_write

INVOICE_DIR = "invoices"
_HASH_SALT = "orders.invoices"
_ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "country")


@dataclass(frozen=True)
class InvoiceLine:
    name: str
    unit_price: Decimal
    quantity: int

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class InvoiceData:
    """Everything printed on an invoice, read from the order by the service."""

    number: str
    ordered_at: datetime
    buyer: str
    shipping_address: dict[str, str]
    lines: Sequence[InvoiceLine]
    subtotal: Decimal
    shipping: Decimal
    total: Decimal
    currency: str
    status: str  # the order's status label
    paid_at: datetime | None
    cancelled_at: datetime | None


def _text(value: object) -> str:
    """Client text as Paragraph markup: ``<`` or ``&`` in a name is not a tag."""
    return escape(str(value))


def _day(moment: datetime) -> str:
    return timezone.localtime(moment).date().isoformat()


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _state(data: InvoiceData) -> str:
    """Paid, cancelled (and whether it had been paid) or awaiting payment."""
    if data.cancelled_at is not None:
        state = f"Cancelled on {_day(data.cancelled_at)}"
        if data.paid_at is not None:
            state += f" (paid on {_day(data.paid_at)}, refunded)"
        return state
    if data.paid_at is not None:
        return f"Paid on {_day(data.paid_at)}"
    return "Awaiting payment"


def invoice_render(data: InvoiceData) -> bytes:
    """The invoice as PDF bytes; the same data always gives the same bytes."""
    # reportlab is imported here, not at module level: only the invoice job
    # (a Celery worker) renders PDFs, while the web process imports this
    # module just to open or delete stored invoices.
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    body, cell = styles["Normal"], styles["BodyText"]
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"Invoice {data.number}",
        author="",
        subject=f"Order {data.number}",
        creator="",
        invariant=1,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    address = "<br/>".join(
        _text(data.shipping_address[field])
        for field in _ADDRESS_FIELDS
        if data.shipping_address.get(field)
    )
    rows: list[list[object]] = [["Item", "Unit price", "Quantity", "Line total"]]
    for line in data.lines:
        rows.append(
            [
                Paragraph(_text(line.name), cell),
                _money(line.unit_price, data.currency),
                str(line.quantity),
                _money(line.total, data.currency),
            ]
        )
    totals = [
        ("Subtotal", data.subtotal),
        ("Shipping", data.shipping),
        ("Total", data.total),
    ]
    for label, amount in totals:
        rows.append(["", "", label, _money(amount, data.currency)])
    width = document.width
    table = Table(
        rows,
        colWidths=[width * 0.46, width * 0.2, width * 0.14, width * 0.2],
        repeatRows=1,
    )
    first_total = len(rows) - len(totals)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (2, first_total), (-1, first_total), 0.6, colors.black),
                ("FONTNAME", (2, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    story = [
        Paragraph(f"Invoice {_text(data.number)}", styles["Title"]),
        Paragraph(f"Order number: {_text(data.number)}", body),
        Paragraph(f"Order date: {_day(data.ordered_at)}", body),
        Paragraph(f"Status: {_text(data.status)}. {_state(data)}", body),
        Paragraph(f"Currency: {_text(data.currency)}", body),
        Spacer(1, 6 * mm),
        Paragraph(f"Buyer: {_text(data.buyer)}", body),
        Paragraph(f"Ship to:<br/>{address}", body),
        Spacer(1, 6 * mm),
        table,
    ]
    document.build(story)
    return out.getvalue()


def invoice_name(*, order_id: int, number: str, data: bytes) -> str:
    """``invoices/<order id>/<number>-<keyed hash of the bytes>.pdf``."""
    digest = salted_hmac(_HASH_SALT, data, algorithm="sha256").hexdigest()
    return f"{INVOICE_DIR}/{order_id}/{number}-{digest}.pdf"


def invoice_store(*, name: str, data: bytes) -> None:
    """Write ``data`` under ``name``; an identical file is left alone and a
    different one (a half-written earlier attempt) replaced."""
    storage_write(name, data)


def invoice_open(name: str) -> IO[bytes]:
    return default_storage.open(name, "rb")


def invoice_delete(name: str) -> None:
    default_storage.delete(name)
