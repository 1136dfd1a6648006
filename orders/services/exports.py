"""Order exports: asking for a CSV of order lines (a BATCH job) and building it.

One row per order line, with its order's figures repeated on each row, which
is what accountants pivot on. Whole days in ``TIME_ZONE`` of ``created_at``,
both ends included. The file goes to media storage the way invoices do, under
a name carrying a keyed hash (media may be served publicly, and an export holds
buyers' emails), and it is the same name on every attempt, so a retry
overwrites a half-written file instead of leaving a second one.
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

import jobs
from config.dates import days_bounds
from config.storage import storage_replace
from orders.enums import OrderStatus
from orders.models import OrderExport, OrderItem

EXPORT_JOB = "orders.export_csv"
EXPORT_DIR = "exports"
# Rows fetched per round trip from the server-side cursor.
CHUNK_SIZE = 2000
_HASH_SALT = "orders.exports"
# Spreadsheets run cells starting with these as formulas ("CSV injection");
# product names are seller-supplied, so such text gets a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HEADER = (
    "order_number",
    "created_at",
    "paid_at",
    "status",
    "buyer_email",
    "currency",
    "product_id",
    "product_name",
    "unit_price",
    "quantity",
    "line_total",
    "order_subtotal",
    "order_shipping",
    "order_total",
    "shipping_country",
)
# The database columns behind HEADER, line_total excepted (computed).
_COLUMNS = (
    "order__number",
    "order__created_at",
    "order__paid_at",
    "order__status",
    "order__user__email",
    "order__currency",
    "product_id",
    "name",
    "unit_price",
    "quantity",
    "order__subtotal",
    "order__shipping",
    "order__total",
    "order__shipping_address__country",
)


class ExportRangeInvalid(ValueError):
    """The dates or status of an export request make no sense (a 400, not a 500)."""


class ExportNotReady(LookupError):
    """The export's file has not been built yet (or is gone)."""


def export_check(*, date_from: date, date_to: date, status: str | None) -> None:
    """Refuse reversed or overlong ranges and unknown statuses, before any write."""
    if date_from > date_to:
        raise ExportRangeInvalid(
            f"the range starts ({date_from}) after it ends ({date_to})"
        )
    days = (date_to - date_from).days + 1
    if days > settings.ORDER_EXPORT_MAX_DAYS:
        raise ExportRangeInvalid(
            f"the range covers {days} days; at most ORDER_EXPORT_MAX_DAYS "
            f"({settings.ORDER_EXPORT_MAX_DAYS}) may be exported at once"
        )
    if status and status not in OrderStatus.values:
        raise ExportRangeInvalid(
            f"unknown order status {status!r} (one of {', '.join(OrderStatus.values)})"
        )


@transaction.atomic
def order_export_request(
    *,
    user: Any,
    date_from: date,
    date_to: date,
    status: str | None = None,
    force: bool = False,
) -> OrderExport:
    """Record the export and queue its BATCH job in one transaction.

    The job waits for the off-peak window (``JOB_BATCH_WINDOW``) unless
    forced, exactly as campaigns do: ``forced`` on the job lets the relay
    publish it at once. Raises ExportRangeInvalid before writing anything.
    """
    export_check(date_from=date_from, date_to=date_to, status=status)
    export = OrderExport.objects.create(
        requested_by=user,
        date_from=date_from,
        date_to=date_to,
        status=status or "",
        forced=force,
    )
    export.job = jobs.enqueue(
        EXPORT_JOB, {"export_id": export.pk}, user=user, forced=force
    )
    export.save(update_fields=["job"])
    return export


def export_name(export: OrderExport) -> str:
    """``exports/<id>/orders-<from>-<to>-<keyed hash>.csv``, fixed per export."""
    digest = salted_hmac(
        _HASH_SALT,
        f"{export.pk}:{export.date_from}:{export.date_to}:{export.status}",
        algorithm="sha256",
    ).hexdigest()
    return f"{EXPORT_DIR}/{export.pk}/{export_filename(export)[:-4]}-{digest}.csv"


def export_filename(export: OrderExport) -> str:
    """The download's name: ``orders-<from>-<to>[-<status>].csv``."""
    status = f"-{export.status}" if export.status else ""
    return f"orders-{export.date_from}-{export.date_to}{status}.csv"


def _lines(export: OrderExport) -> Iterator[tuple[Any, ...]]:
    """The export's order lines in (order created_at, order, line) order,
    streamed from a server-side cursor."""
    start, end = days_bounds(export.date_from, export.date_to)
    lines = OrderItem.objects.filter(
        order__created_at__gte=start, order__created_at__lt=end
    )
    if export.status:
        lines = lines.filter(order__status=export.status)
    return (
        lines.order_by("order__created_at", "order_id", "pk")
        .values_list(*_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _moment(value: datetime | None) -> str:
    return "" if value is None else timezone.localtime(value).isoformat()


def _row(line: tuple[Any, ...]) -> list[str]:
    (
        number,
        created_at,
        paid_at,
        status,
        email,
        currency,
        product_id,
        name,
        unit_price,
        quantity,
        subtotal,
        shipping,
        total,
        country,
    ) = line
    line_total: Decimal = unit_price * quantity
    return [
        number,
        _moment(created_at),
        _moment(paid_at),
        status,
        _text(email),
        currency,
        str(product_id),
        _text(name),
        str(unit_price),
        str(quantity),
        str(line_total),
        str(subtotal),
        str(shipping),
        str(total),
        _text(country),
    ]


def _write(name: str, lines: Iterable[tuple[Any, ...]]) -> int:
    """Write the CSV (UTF-8 with a BOM, for spreadsheets) under ``name`` through
    a local temporary file; returns the number of data rows. A file already
    there (a failed earlier attempt) is replaced."""
    rows = 0
    with tempfile.TemporaryFile() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(HEADER)
        for line in lines:
            writer.writerow(_row(line))
            rows += 1
        text.flush()
        text.detach()  # keep ``raw`` open for the storage
        raw.seek(0)
        storage_replace(name, File(raw, name=name))
    return rows


def _result(export: OrderExport, *, built: bool) -> dict[str, Any]:
    return {
        "export_id": export.pk,
        "path": export.path,
        "rows": export.rows,
        "finished_at": export.finished_at.isoformat() if export.finished_at else None,
        "built": built,
    }


def order_export_build(*, export_id: int) -> dict[str, Any] | None:
    """Build the export's CSV and mark it finished (the job's work).

    Outside any transaction: the lines stream from a cursor into a temporary
    file, then into storage; the row changes in one short UPDATE. Safe to run
    again: before it finished, the same name is rewritten; once finished, the
    export is a snapshot and is left alone (``built`` is False). None when the
    export no longer exists.
    """
    export = OrderExport.objects.filter(pk=export_id).first()
    if export is None:
        return None
    if export.ready:
        return _result(export, built=False)
    name = export_name(export)
    rows = _write(name, _lines(export))
    built = OrderExport.objects.filter(pk=export.pk, finished_at__isnull=True).update(
        path=name, rows=rows, finished_at=timezone.now()
    )
    export.refresh_from_db()
    return _result(export, built=bool(built))


def order_export_open(export: OrderExport) -> IO[bytes]:
    """The finished export's CSV, open for reading; ExportNotReady before."""
    if not export.ready:
        raise ExportNotReady(f"export {export.pk} is not ready")
    try:
        return default_storage.open(export.path, "rb")
    except FileNotFoundError:
        raise ExportNotReady(f"export {export.pk}: {export.path} is gone") from None


def order_exports_purge(*, now: datetime) -> dict[str, int]:
    """Delete exports (rows and files) created more than ``ORDER_EXPORT_KEEP_DAYS``
    ago: the files hold buyers' emails, so they are not kept forever. The file
    goes first, so a failure leaves a row to retry, never an orphaned file."""
    cutoff = now - timedelta(days=settings.ORDER_EXPORT_KEEP_DAYS)
    deleted = 0
    for export in OrderExport.objects.filter(created_at__lt=cutoff).iterator():
        if export.path:
            default_storage.delete(export.path)
        export.delete()
        deleted += 1
    return {"deleted": deleted}
