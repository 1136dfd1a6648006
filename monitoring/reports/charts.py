"""Report charts as PNG bytes, drawn with matplotlib's Agg canvas.

``matplotlib.figure.Figure`` is used directly, never pyplot: pyplot keeps
global state and picks a GUI backend, neither of which belongs in a worker
thread. Every chart is drawn even with no data, so a report always shows the
same charts.
"""

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from monitoring.models import ReportKind

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
SIZE = (8, 3.6)


@dataclass(frozen=True)
class Chart:
    name: str  # a file-name-safe id: the attachment name and the email's CID
    title: str
    png: bytes


def _figure() -> "Figure":
    """A new figure. matplotlib (and numpy) are imported here, not at module
    level: this module is imported by every process that registers job types
    (the web workers too), and only report jobs and the admin's report page
    draw charts; importing them up front cost each web worker ~37 MiB."""
    from matplotlib.figure import Figure

    return Figure(figsize=SIZE)


def _png(figure: "Figure") -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _empty(axes: Any) -> None:
    axes.text(0.5, 0.5, "no data", ha="center", va="center", color="#71717a")
    axes.set_xticks([])
    axes.set_yticks([])


def grouped_bars(
    *, title: str, labels: list[str], groups: dict[str, list[float]], ylabel: str
) -> bytes:
    """Vertical bars per label, one colour per group (e.g. per currency):
    groups side by side, never stacked, since they are not addable."""
    figure = _figure()
    axes = figure.subplots()
    axes.set_title(title)
    if not groups or not labels:
        _empty(axes)
        return _png(figure)
    width = 0.8 / len(groups)
    for index, (group, values) in enumerate(groups.items()):
        positions = [n + index * width for n in range(len(labels))]
        axes.bar(positions, values, width=width, label=group)
    axes.set_xticks([n + width * (len(groups) - 1) / 2 for n in range(len(labels))])
    rotate = 90 if len(labels) > 8 else 0
    axes.set_xticklabels(labels, rotation=rotate, fontsize=8)
    axes.set_ylabel(ylabel)
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def ranked_bars(*, title: str, items: list[tuple[str, float]], xlabel: str) -> bytes:
    """Horizontal bars, the first item on top."""
    figure = _figure()
    axes = figure.subplots()
    axes.set_title(title)
    if not items:
        _empty(axes)
        return _png(figure)
    names = [name if len(name) <= 40 else name[:39] + "…" for name, _ in items]
    axes.barh(range(len(items)), [value for _, value in items], color="#2563eb")
    axes.set_yticks(range(len(items)))
    axes.set_yticklabels(names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)


def stacked_bars(
    *, title: str, labels: list[str], stacks: dict[str, list[float]], ylabel: str
) -> bytes:
    """Vertical bars per label, split into parts that do add up (outcomes)."""
    figure = _figure()
    axes = figure.subplots()
    axes.set_title(title)
    if not any(any(values) for values in stacks.values()):
        _empty(axes)
        return _png(figure)
    bottom = [0.0] * len(labels)
    for part, values in stacks.items():
        axes.bar(labels, values, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel(ylabel)
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def _sales_charts(figures: dict[str, Any]) -> list[Chart]:
    unit = figures["series_unit"]
    codes = [row["currency"] for row in figures["currencies"]]
    labels = [point["label"] for point in figures["series"]]
    groups = {
        code: [
            float(Decimal(point["values"].get(code, {}).get("revenue", "0")))
            for point in figures["series"]
        ]
        for code in codes
    }
    title = f"Revenue per {unit}"
    top = [
        (f"{row['name']} ({row['currency']})", row["units"])
        for row in figures["top_products"]
    ]
    return [
        Chart(
            name=f"revenue-per-{unit}",
            title=title,
            png=grouped_bars(
                title=title,
                labels=labels,
                groups=groups,
                ylabel="revenue (own currency)",
            ),
        ),
        Chart(
            name="top-products",
            title="Top products by units",
            png=ranked_bars(title="Top products by units", items=top, xlabel="units"),
        ),
    ]


def _customer_charts(figures: dict[str, Any]) -> list[Chart]:
    rows = figures["currencies"]
    title = "Customers per currency"
    groups = {
        "customers": [row["customers"] for row in rows],
        "repeat customers": [row["repeat_customers"] for row in rows],
    }
    busiest = max(rows, key=lambda row: (row["orders"], row["currency"]), default=None)
    spend_title = "Top customers by spend"
    spenders: list[tuple[str, float]] = []
    if busiest is not None:
        spend_title = f"{spend_title} ({busiest['currency']})"
        spenders = [
            (row["email"], float(Decimal(row["spent"])))
            for row in busiest["top_customers"]
        ]
    return [
        Chart(
            name="customers",
            title=title,
            png=grouped_bars(
                title=title,
                labels=[row["currency"] for row in rows],
                groups=groups if rows else {},
                ylabel="customers",
            ),
        ),
        Chart(
            name="top-customers",
            title=spend_title,
            png=ranked_bars(title=spend_title, items=spenders, xlabel="spent"),
        ),
    ]


def _performance_charts(figures: dict[str, Any]) -> list[Chart]:
    routes = [
        (row["route"] or "(unmatched)", float(row["p95_ms"] or 0))
        for row in figures["routes"]
    ]
    priorities = figures["jobs"]["priorities"]
    outcomes = {
        outcome: [row[outcome] for row in priorities]
        for outcome in ("succeeded", "failed", "cancelled")
    }
    return [
        Chart(
            name="route-p95",
            title="p95 latency per route (busiest routes)",
            png=ranked_bars(
                title="p95 latency per route (busiest routes)",
                items=routes,
                xlabel="ms",
            ),
        ),
        Chart(
            name="job-outcomes",
            title="Job outcomes per priority",
            png=stacked_bars(
                title="Job outcomes per priority",
                labels=[row["priority"] for row in priorities],
                stacks=outcomes,
                ylabel="jobs",
            ),
        ),
    ]


def report_charts(*, kind: str, figures: dict[str, Any]) -> list[Chart]:
    """The charts of a report of ``kind``, from its stored figures."""
    if kind in (ReportKind.DAILY_SALES, ReportKind.WEEKLY_SALES):
        return _sales_charts(figures)
    if kind == ReportKind.CUSTOMERS:
        return _customer_charts(figures)
    return _performance_charts(figures)
