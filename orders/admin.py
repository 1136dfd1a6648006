"""Admin for orders: lines are read-only snapshots taken at purchase; CSV
exports are asked for here and downloaded once their job has built them."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Min, QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from jobs.enums import JobStatus
from orders.models import IdempotencyKey, Order, OrderExport, OrderItem
from orders.services.exports import (
    ExportNotReady,
    ExportRangeInvalid,
    export_check,
    export_filename,
    order_export_open,
    order_export_request,
)

# Money, identity and lifecycle of an existing order change only through the
# order services (stock, refunds, notifications); the admin shows them.
_LEDGER_FIELDS = (
    "user",
    "number",
    "status",
    "subtotal",
    "shipping",
    "total",
    "currency",
    "paid_at",
    "payment_charge_id",
    "refund_id",
    "cancelled_at",
)


class OrderItemInline(admin.TabularInline):
    """An order's lines, as bought: nothing to add, edit or delete."""

    model = OrderItem
    fields = ("product", "name", "unit_price", "quantity", "line_total")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderItem]:
        return super().get_queryset(request).select_related("product")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders, newest first; a big table, so no full counts."""

    list_display = (
        "number",
        "user",
        "status",
        "total",
        "currency",
        "paid_at",
        "created_at",
    )
    list_select_related = ("user",)
    list_filter = ("status", "currency", "created_at")
    search_fields = ("number", "user__email")
    date_hierarchy = "created_at"
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at", "updated_at")
    inlines = (OrderItemInline,)
    show_full_result_count = False
    actions = ("export_date_range",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Order | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return self.readonly_fields
        return (*_LEDGER_FIELDS, *self.readonly_fields)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.add_orderexport")

    @admin.action(
        description="Export selected orders' date range to CSV",
        permissions=["export"],
    )
    def export_date_range(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Export every order created on the days (TIME_ZONE) from the first
        to the last selected order's: an accountant's file covers whole days,
        whatever happened to be ticked on the page."""
        bounds = queryset.aggregate(first=Min("created_at"), last=Max("created_at"))
        try:
            export = order_export_request(
                user=request.user,
                date_from=timezone.localdate(bounds["first"]),
                date_to=timezone.localdate(bounds["last"]),
            )
        except ExportRangeInvalid as exc:
            self.message_user(request, f"Not exported: {exc}.", messages.ERROR)
            return
        self.message_user(
            request,
            format_html(
                'Export of all orders from {} to {} queued (off-peak): <a href="{}">'
                "export {}</a> offers the CSV once it is built.",
                export.date_from,
                export.date_to,
                reverse("admin:orders_orderexport_change", args=[export.pk]),
                export.pk,
            ),
            messages.SUCCESS,
        )


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Stored answers of order placement, for support; written only by the API."""

    list_display = ("key", "user", "state", "response_status", "order", "created_at")
    list_select_related = ("user", "order")
    list_filter = ("state", "response_status")
    search_fields = ("key", "user__email")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: IdempotencyKey | None = None
    ) -> bool:
        return False


class OrderExportForm(forms.ModelForm):
    """What to export; the range is checked as the service will check it."""

    class Meta:
        model = OrderExport
        fields = ("date_from", "date_to", "status", "forced")
        help_texts = {
            "date_from": "First day (TIME_ZONE) of the orders' creation, included.",
            "date_to": "Last day, included.",
            "status": "Only orders in this status; empty for all.",
            "forced": "Build it now instead of in the off-peak window.",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date_from") and data.get("date_to"):
            try:
                export_check(
                    date_from=data["date_from"],
                    date_to=data["date_to"],
                    status=data.get("status"),
                )
            except ExportRangeInvalid as exc:
                raise forms.ValidationError(f"{str(exc).capitalize()}.") from exc
        return data


_EXPORT_DETAIL = (
    "id",
    "date_from",
    "date_to",
    "status",
    "forced",
    "state",
    "rows",
    "download_link",
    "requested_by",
    "job_link",
    "created_at",
    "finished_at",
)


@admin.register(OrderExport)
class OrderExportAdmin(admin.ModelAdmin):
    """CSV exports of order lines: the add form queues one through the service
    (a BATCH job, off-peak unless forced); a finished one has a Download link.
    Exports are read-only records once asked for."""

    form = OrderExportForm
    list_display = (
        "id",
        "date_from",
        "date_to",
        "status",
        "forced",
        "state",
        "rows",
        "download_link",
        "requested_by",
        "created_at",
        "finished_at",
    )
    list_select_related = ("requested_by", "job")
    list_filter = ("forced", "status", "created_at")
    ordering = ("-created_at", "-id")

    def get_fields(
        self, request: HttpRequest, obj: OrderExport | None = None
    ) -> tuple[str, ...]:
        return OrderExportForm.Meta.fields if obj is None else _EXPORT_DETAIL

    def get_readonly_fields(
        self, request: HttpRequest, obj: OrderExport | None = None
    ) -> tuple[str, ...]:
        return () if obj is None else _EXPORT_DETAIL

    def has_change_permission(
        self, request: HttpRequest, obj: OrderExport | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: OrderExport | None = None
    ) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: OrderExport, form: Any, change: bool
    ) -> None:
        """Not a plain save: the service records the export with its job."""
        export = order_export_request(
            user=request.user,
            date_from=obj.date_from,
            date_to=obj.date_to,
            status=obj.status or None,
            force=obj.forced,
        )
        obj.pk = export.pk
        obj.refresh_from_db()

    @admin.display(description="state")
    def state(self, export: OrderExport) -> str:
        """Ready once built; before that, what its job is doing."""
        if export.ready:
            return "ready"
        if export.job is None:
            return "lost (job purged)"
        if export.job.status == JobStatus.QUEUED and not export.forced:
            return "queued (off-peak)"
        return export.job.status

    @admin.display(description="download")
    def download_link(self, export: OrderExport) -> str:
        if not export.ready:
            return "-"
        url = reverse("admin:orders_orderexport_download", args=[export.pk])
        return format_html('<a href="{}">{}</a>', url, export_filename(export))

    @admin.display(description="job")
    def job_link(self, export: OrderExport) -> str:
        if export.job_id is None:
            return "-"
        url = reverse("admin:jobs_jobrecord_change", args=[export.job_id])
        return format_html('<a href="{}">{}</a>', url, str(export.job_id)[:8])

    def get_urls(self) -> list[URLPattern]:
        download = path(
            "<int:export_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="orders_orderexport_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, export_id: int) -> FileResponse:
        """The CSV as an attachment, for staff who may view exports (it holds
        buyers' emails); admin_view already sent everyone else to log in."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = OrderExport.objects.filter(pk=export_id).first()
        if export is None:
            raise Http404("No such export.")
        try:
            data = order_export_open(export)
        except ExportNotReady:
            raise Http404("This export is not ready yet.") from None
        return FileResponse(
            data,
            as_attachment=True,
            filename=export_filename(export),
            content_type="text/csv; charset=utf-8",
        )
