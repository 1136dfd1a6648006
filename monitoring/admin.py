"""Stored reports in the admin: the list, and each report as a page with its
charts inline and a CSV download. Reports are made by jobs and the
``generate_report`` command, never edited here."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from monitoring.models import Report
from monitoring.reports.render import report_context, report_csv, report_csv_name
from monitoring.reports.services import report_email_request


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "kind",
        "period_start",
        "period_end",
        "generated_at",
        "emailed_at",
        "links",
    ]
    list_filter = ["kind"]
    date_hierarchy = "period_start"
    ordering = ["-period_start", "kind"]
    fields = [
        "kind",
        "period_start",
        "period_end",
        "created_at",
        "generated_at",
        "emailed_at",
        "links",
    ]
    readonly_fields = fields
    actions = ["email_reports"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Report")
    def links(self, obj: Report) -> str:
        return format_html(
            '<a href="{}">View</a> · <a href="{}">CSV</a>',
            reverse("admin:monitoring_report_view", args=[obj.pk]),
            reverse("admin:monitoring_report_csv", args=[obj.pk]),
        )

    @admin.action(description="Email selected reports to REPORT_RECIPIENTS")
    def email_reports(self, request: HttpRequest, queryset: QuerySet) -> None:
        if not settings.REPORT_RECIPIENTS:
            self.message_user(
                request, "REPORT_RECIPIENTS is empty: nothing sent.", messages.WARNING
            )
            return
        queued = sum(len(report_email_request(report=r)) for r in queryset)
        self.message_user(request, f"{queued} email(s) queued.", messages.SUCCESS)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:report_id>/report/",
                view(self.report_view),
                name="monitoring_report_view",
            ),
            path(
                "<int:report_id>/csv/",
                view(self.csv_view),
                name="monitoring_report_csv",
            ),
            *super().get_urls(),
        ]

    def _report(self, request: HttpRequest, report_id: int) -> Report:
        report = Report.objects.filter(pk=report_id).first()
        if report is None:
            raise Http404("no such report")
        if not self.has_view_permission(request, report):
            raise PermissionDenied
        return report

    def report_view(self, request: HttpRequest, report_id: int) -> HttpResponse:
        report = self._report(request, report_id)
        context = {
            **self.admin_site.each_context(request),
            **report_context(report),
            "opts": self.opts,
            "csv_url": reverse("admin:monitoring_report_csv", args=[report.pk]),
        }
        return TemplateResponse(request, "admin/reports/report.html", context)

    def csv_view(self, request: HttpRequest, report_id: int) -> HttpResponse:
        report = self._report(request, report_id)
        response = HttpResponse(report_csv(report), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="{report_csv_name(report)}"'
        )
        return response
