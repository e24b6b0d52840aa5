"""The bench report as a plain-text table (also valid Markdown, for the README)."""

from __future__ import annotations

from core.bench.results import Result, Stat, Summary
from core.bench.runner import Report
from core.i18n import t


def _number(value: float, unit: str) -> str:
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "n":
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _stat(summary: Summary | None, name: Stat, unit: str) -> str:
    return "" if summary is None else _number(summary.get(name), unit)


def _target(result: Result) -> str:
    target = result.target
    if target is None:
        return ""
    sign = "≥" if target.at_least else "≤"
    verdict = t("bench.met") if result.met else t("bench.missed")
    return f"{sign} {_number(target.bound, result.unit)} {target.stat} — {verdict}"


def row(result: Result) -> list[str]:
    """The cells of one result."""
    ref = result.reference_summary
    tail: Stat = "p99" if result.details.get("under_load") else "p95"
    reference = ""
    if ref is not None:
        reference = f"{t(f'bench.name.{result.reference}')}: {_stat(ref, result.stat, result.unit)}"
    return [
        t(f"bench.name.{result.name}"),
        _stat(result.summary, "median", result.unit),
        ""
        if result.unit in ("/s", "n")
        else _stat(result.summary, tail, result.unit) + f" ({tail})",
        reference,
        "" if result.ratio is None else f"×{result.ratio:.2f} ({result.stat})",
        _target(result),
    ]


def render(report: Report) -> str:
    """The whole report: a header line, the table, the skipped measurements."""
    header = [
        t("bench.col.measurement"),
        t("bench.col.median"),
        t("bench.col.tail"),
        t("bench.col.reference"),
        t("bench.col.ratio"),
        t("bench.col.target"),
    ]
    rows = [header, *(row(r) for r in report.results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        t("bench.machine", scale=report.scale, **report.machine),
        t("bench.dataset_size", **report.dataset),
        "",
        "| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for cells in rows[1:]:
        lines.append(
            "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
        )
    for result in report.results:
        if "lost" in result.details:
            label = t(f"bench.name.{result.name}")
            lines.append(t("bench.delivery_check", name=label, **result.details))
            if result.details.get("ingest_applied"):  # the relay with its ingest
                lines.append(t("bench.ingest_share", name=label, **result.details))
    for name, reason in report.skipped.items():
        lines.append(t("bench.skipped", name=name, reason=reason))
    for name, reason in report.failed.items():
        lines.append(t("bench.failed", name=name, reason=reason))
    return "\n".join(lines)
