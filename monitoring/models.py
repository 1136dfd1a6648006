"""Stored reports: the figures of one period, rendered on demand."""

from django.db import models
from django.utils import timezone


class ReportKind(models.TextChoices):
    """What a report covers; the value is what ``generate_report --kind`` takes."""

    DAILY_SALES = "daily", "Daily sales"
    WEEKLY_SALES = "weekly", "Weekly sales"
    CUSTOMERS = "customers", "Weekly customer insights"
    PERFORMANCE = "performance", "Daily system performance"


class Report(models.Model):
    """The figures of one report period, kept as plain JSON.

    Only figures are stored; CSV, HTML and charts are rendered from them
    whenever asked, so a template change reaches old reports too. One row per
    kind and period: regenerating a period replaces its figures.
    """

    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    period_start = models.DateField()
    period_end = models.DateField()  # inclusive
    figures = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    generated_at = models.DateTimeField(default=timezone.now)
    # The last time an email of this report was accepted by the SMTP server.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period_start"], name="report_kind_period_uniq"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="report_period_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["-period_start"], name="report_period_start_idx"),
        ]

    def __str__(self) -> str:
        period = self.period_start.isoformat()
        if self.period_end != self.period_start:
            period = f"{period} to {self.period_end.isoformat()}"
        return f"{self.get_kind_display()}, {period}"
