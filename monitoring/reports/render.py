"""A report's renderings from its stored figures: tables, CSV and HTML.

Both renderings come from the same tables, so the CSV and the HTML can never
disagree. The CSV is long-form (``section,item,currency,metric,value``, one
figure a line): it parses the same whatever the report's kind.
"""

import base64
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string

from monitoring.models import Report, ReportKind
from monitoring.reports.charts import Chart, report_charts

CSV_HEADER = ["section", "item", "currency", "metric", "value"]


@dataclass(frozen=True)
class Table:
    """One section of a report: rows of an item (and currency) and metrics."""

    key: str  # the CSV's section
    title: str
    item: str  # header of the row-label column; "" for a single-row table
    metrics: list[tuple[str, str]]  # (figure key, column header)
    rows: list[dict[str, Any]] = field(default_factory=list)
    by_currency: bool = False


def _sales_tables(figures: dict[str, Any]) -> list[Table]:
    unit = figures["series_unit"]
    series = [
        {"item": point["label"], "currency": code, **values}
        for point in figures["series"]
        for code, values in sorted(point["values"].items())
    ]
    ranked = [("units", "Units"), ("revenue", "Revenue (lines)")]
    return [
        Table(
            "totals",
            "Totals per currency",
            "",
            [
                ("orders", "Orders"),
                ("units", "Units"),
                ("revenue", "Revenue"),
                ("shipping", "of which shipping"),
                ("average_order_value", "Average order"),
            ],
            [{"item": "", **row} for row in figures["currencies"]],
            by_currency=True,
        ),
        Table(
            "series",
            f"Per {unit}",
            unit.capitalize(),
            [("orders", "Orders"), ("revenue", "Revenue")],
            series,
            by_currency=True,
        ),
        Table(
            "top_products",
            "Top products",
            "Product",
            ranked,
            [{"item": row["name"], **row} for row in figures["top_products"]],
            by_currency=True,
        ),
        Table(
            "top_categories",
            "Top categories",
            "Category",
            ranked,
            [{"item": row["name"], **row} for row in figures["top_categories"]],
            by_currency=True,
        ),
    ]


def _customer_tables(figures: dict[str, Any]) -> list[Table]:
    return [
        Table(
            "activity",
            "Activity",
            "",
            [("active_users", "Active users")],
            [{"item": "", "active_users": figures["active_users"]}],
        ),
        Table(
            "totals",
            "Customers per currency",
            "",
            [
                ("orders", "Orders"),
                ("revenue", "Revenue"),
                ("average_order_value", "Average order"),
                ("customers", "Customers"),
                ("repeat_customers", "Repeat customers"),
                ("repeat_purchase_rate", "Repeat rate"),
            ],
            [{"item": "", **row} for row in figures["currencies"]],
            by_currency=True,
        ),
        Table(
            "top_customers",
            "Top customers",
            "Customer",
            [("orders", "Orders"), ("spent", "Spent")],
            [
                {"item": row["email"], "currency": currency["currency"], **row}
                for currency in figures["currencies"]
                for row in currency["top_customers"]
            ],
            by_currency=True,
        ),
    ]


def _performance_tables(figures: dict[str, Any]) -> list[Table]:
    jobs = figures["jobs"]
    outcomes = [
        ("succeeded", "Succeeded"),
        ("failed", "Failed"),
        ("cancelled", "Cancelled"),
        ("failure_rate", "Failure rate"),
    ]
    return [
        Table(
            "requests",
            "Requests",
            "",
            [
                ("requests", "Requests"),
                ("errors", "Errors"),
                ("error_rate", "Error rate"),
            ],
            [{"item": "", **figures["requests"]}],
        ),
        Table(
            "routes",
            "Busiest routes",
            "Route",
            [
                ("count", "Requests"),
                ("errors", "5xx"),
                ("client_errors", "4xx"),
                ("error_rate", "Error rate"),
                ("p50_ms", "p50 ms"),
                ("p95_ms", "p95 ms"),
                ("p99_ms", "p99 ms"),
            ],
            [
                {"item": row["route"] or "(unmatched)", **row}
                for row in figures["routes"]
            ],
        ),
        Table(
            "cache",
            "Response cache",
            "Namespace",
            [
                ("hits", "Hits"),
                ("misses", "Misses"),
                ("bypasses", "Bypasses"),
                ("stale", "Stale"),
                ("hit_rate", "Hit rate"),
            ],
            [{"item": row["namespace"], **row} for row in figures["cache"]],
        ),
        Table(
            "slow_queries",
            "Slowest queries",
            "Query",
            [
                ("count", "Count"),
                ("total_ms", "Total ms"),
                ("avg_ms", "Avg ms"),
                ("max_ms", "Max ms"),
                ("route", "Route"),
            ],
            [{"item": row["fingerprint"], **row} for row in figures["slow_queries"]],
        ),
        Table(
            "jobs",
            "Jobs",
            "",
            outcomes,
            [{"item": "", **jobs}],
        ),
        Table(
            "jobs_by_priority",
            "Jobs per priority",
            "Priority",
            [*outcomes, ("queue_wait_p95_s", "Queue wait p95 s")],
            [{"item": row["priority"], **row} for row in jobs["priorities"]],
        ),
        Table(
            "failing_job_types",
            "Job types that failed",
            "Type",
            [("failed", "Failed")],
            [{"item": row["type"], **row} for row in jobs["failing_types"]],
        ),
    ]


def report_tables(*, kind: str, figures: dict[str, Any]) -> list[Table]:
    if kind in (ReportKind.DAILY_SALES, ReportKind.WEEKLY_SALES):
        return _sales_tables(figures)
    if kind == ReportKind.CUSTOMERS:
        return _customer_tables(figures)
    return _performance_tables(figures)


def report_csv(report: Report) -> str:
    """The report as long-form CSV, raw values (rates as fractions)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for metric, value in (
        ("kind", report.kind),
        ("period_start", report.period_start.isoformat()),
        ("period_end", report.period_end.isoformat()),
        ("generated_at", report.generated_at.isoformat()),
    ):
        writer.writerow(["report", "", "", metric, value])
    for table in report_tables(kind=report.kind, figures=report.figures):
        for row in table.rows:
            for metric, _ in table.metrics:
                value = row.get(metric)
                writer.writerow(
                    [
                        table.key,
                        row["item"],
                        row.get("currency", ""),
                        metric,
                        "" if value is None else value,
                    ]
                )
    return buffer.getvalue()


def report_csv_name(report: Report) -> str:
    return f"report-{report.kind}-{report.period_start.isoformat()}.csv"


def _cell(metric: str, value: Any) -> str:
    if value is None or value == "":
        return "-"
    if metric.endswith("rate"):
        return f"{float(value) * 100:.1f} %"
    return str(value)


def _table_context(table: Table) -> dict[str, Any]:
    rows = []
    for row in table.rows:
        cells = [_cell(metric, row.get(metric)) for metric, _ in table.metrics]
        rows.append(
            {
                "item": row["item"],
                "currency": row.get("currency", ""),
                "cells": cells,
                # "Header: value" pairs for the plain-text email.
                "text": ", ".join(
                    f"{header}: {cell}"
                    for (_, header), cell in zip(table.metrics, cells, strict=True)
                ),
            }
        )
    return {
        "title": table.title,
        "item": table.item,
        "by_currency": table.by_currency,
        "headers": [header for _, header in table.metrics],
        "rows": rows,
    }


def data_uri(chart: Chart) -> str:
    return "data:image/png;base64," + base64.b64encode(chart.png).decode()


def report_context(
    report: Report,
    *,
    charts: list[Chart] | None = None,
    chart_src: Callable[[Chart], str] = data_uri,
) -> dict[str, Any]:
    """What the report templates show; ``chart_src`` says how an ``<img>``
    reaches its PNG (a data: URI in the admin, a ``cid:`` in email)."""
    if charts is None:
        charts = report_charts(kind=report.kind, figures=report.figures)
    return {
        "report": report,
        "title": str(report),
        "charts": [{"title": chart.title, "src": chart_src(chart)} for chart in charts],
        "tables": [
            _table_context(table)
            for table in report_tables(kind=report.kind, figures=report.figures)
        ],
    }


def report_html(report: Report) -> str:
    """The report as an HTML fragment, charts inline as data: URIs."""
    return render_to_string("emails/report_content.html", report_context(report))
