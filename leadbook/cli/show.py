"""What the commands print: the JSON of each result (``--json``) and the tables and sentences
shown in the terminal.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leadbook.errors import Problem

PIPE_WIDTH = 120


out = Console(soft_wrap=True)


err = Console(stderr=True, soft_wrap=True)


for _console in (out, err):
    if not _console.is_terminal:
        _console.width = PIPE_WIDTH  # files and pipes get whole tables, not 80 columns


def print_json(payload: Any) -> None:
    """``payload`` as JSON on stdout; a NaN or infinite figure is null (never a crash)."""
    typer.echo(json.dumps(_finite(payload), indent=2, default=jsonable, allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float):  # numpy's float64 too
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "value"):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def kept(result: Any) -> str:
    """Where a write kept the file as it was before, and how to get it back."""
    return (
        f"previous version kept as {result.version.parent.name}/{result.version.name}; "
        "leadbook undo restores it"
    )


def problem_json(p: Problem) -> dict[str, str]:
    return {"where": p.where, "message": p.message, "severity": str(p.severity)}


def print_portfolio(figures: Any, findings: list[Problem]) -> None:
    out.print(
        f"Portfolio today: {figures.leads:,.0f} leads/month, ${figures.spend:,.0f} spend, "
        f"blended CPL ${figures.blended_cpl:,.2f}, conversion "
        f"{figures.blended_conversion:.2%}, CPA ${figures.blended_cpa:,.2f}, first-party "
        f"{figures.first_party_share:.0%} of leads."
    )
    for p in findings:
        out.print(f"[yellow]![/] {escape(str(p))}", highlight=False)
    out.print()


SOURCES_SHOWN = 25


"""Sources the summary table prints, best first: the rest are on the Scores tab (and in
``--json``); printing 10,000 rows took 10 s and helped no one."""


def print_sources(summary: Any) -> None:
    more = len(summary) - SOURCES_SHOWN
    caption = (
        f"… and {more:,} more on the Scores tab (--json lists every source)" if more > 0 else None
    )
    table = Table(
        title="Sources by composite score",
        title_justify="left",
        caption=caption,
        caption_justify="left",
    )
    for name in ("#", "Source", "Tier", "Lead type", "Risk", "Score", "Spend", "Share"):
        right = name in ("#", "Score", "Spend", "Share")
        table.add_column(name, justify="right" if right else "left", no_wrap=name == "Source")
    for source, row in summary.head(SOURCES_SHOWN).iterrows():  # ranked best first
        table.add_row(
            str(row["rank"]),
            str(source),
            str(row["tier"]),
            str(row["lead_type"]),
            str(row["risk"]),
            f"{row['score']:.1f}",
            f"${row['spend']:,.0f}",
            f"{row['share']:.1%}",
        )
    out.print(table)


def records(frame: Any) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def month(value: Any) -> str:
    return "never" if value is None or value != value else f"{value:%b %Y}"


def finite(value: Any) -> Any:
    """NaN and infinities as null, all the way down (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def score_json(result: Any) -> dict[str, Any]:
    report = result.model.report
    return {
        "path": result.write.path,
        "version": result.write.version,
        "changed": result.write.changed,
        "trained": result.trained,
        "model": result.record.__dict__,
        "chosen": report.chosen,
        "cv_log_loss": report.cv_log_loss,
        "held_out": {k: metrics_json(v) for k, v in report.held_out.items()},
        "split": report.split,
        "threshold": result.threshold.__dict__,
        "output_file": result.output_file,
        "warnings": list(result.warnings),
        "drift": drift_json(result.drift),
        "leads": result.scored.drop(columns=["at_row", "cost"], errors="ignore").to_dict(
            orient="records"
        ),
    }


def drift_json(drift: Any) -> dict[str, Any] | None:
    """The shift between the leads scored and the training leads (None: not checked)."""
    if drift is None:
        return None
    return finite(
        {
            "features": [{"feature": n, "psi": v} for n, v in drift.features],
            "base_rate": drift.base_rate,
            "recent_closed": drift.recent,
            "recent_conversion": drift.recent_rate,
            "recent_predicted": drift.recent_predicted,
            "warning": drift.warning(),
        }
    )


def metrics_json(m: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(m)


def print_scores(result: Any) -> None:
    report = result.model.report
    out.print(f"[green]✓[/] {escape(result.write.changed)} ({kept(result.write)})")
    for warning in result.warnings:
        out.print(f"[yellow]![/] {escape(str(warning))}", highlight=False)
    table = Table(title=f"Held-out closed leads ({report.split})", title_justify="left")
    for name in (
        "Metric",
        report.chosen + " (chosen)"
        if report.chosen != "logistic regression"
        else "logistic regression (chosen)",
        "logistic baseline",
    ):
        table.add_column(name, justify="left" if name == "Metric" else "right")
    chosen, base = report.held_out[report.chosen], report.held_out["logistic regression"]
    rows = [
        (
            "CV log loss",
            report.cv_log_loss[report.chosen],
            report.cv_log_loss["logistic regression"],
        ),
        ("AUC", chosen.auc, base.auc),
        ("Log loss", chosen.log_loss, base.log_loss),
        ("Brier score", chosen.brier, base.brier),
        ("Accuracy", chosen.at_threshold.accuracy, base.at_threshold.accuracy),
        ("Precision", chosen.at_threshold.precision, base.at_threshold.precision),
        ("Recall", chosen.at_threshold.recall, base.at_threshold.recall),
        ("Top-tenth lift", chosen.top_decile_lift, base.top_decile_lift),
    ]
    for name, a, b in rows:
        table.add_row(name, f"{a:.3f}", f"{b:.3f}")
    out.print(table)
    t = result.threshold
    if t.best_worked:
        out.print(
            f"ROI threshold {t.settings_threshold:.2f}× (Settings) works {t.settings_worked} "
            f"leads for ${t.settings_profit:,.0f} expected profit; {t.best_threshold:.2f}× "
            f"would work {t.best_worked} for ${t.best_profit:,.0f}."
        )
    if result.output_file is not None:
        out.print(f"Scores written to [bold]{result.output_file}[/].")


def board_json(result: Any) -> dict[str, Any]:
    a = result.assessment
    return {
        "quarter": result.quarter.label,
        "workbook": result.workbook,
        "pack": result.pack,
        "pdf": result.pdf,
        "pdf_note": result.pdf_note,
        "changed": result.changed,
        "kpis": [
            {
                "key": k.key,
                "label": k.label,
                "value": k.value,
                "target": k.target,
                "status": k.status.value,
                "previous": k.previous,
                "trend": k.trend_word,
                "after_rebalance": k.planned,
                "basis": k.basis,
                "source": k.source,
            }
            for k in result.kpis
        ],
        "pitfalls": [
            {"key": p.key, "label": p.label, "shows": p.shows.value, "evidence": p.evidence}
            for p in result.pitfalls
        ],
        "maturity": {
            "stage": a.reached.number,
            "name": a.reached.name,
            "next": a.next_stage.name if a.next_stage else None,
            "gaps": [g.text for g in a.gaps],
        },
    }


STATUS_COLOURS = {
    "on target": "green",
    "watch": "yellow",
    "off target": "red",
    "not available": "dim",
    "for information": "cyan",
}


def print_board(result: Any) -> None:
    table = Table(title=f"Board KPIs, {result.quarter.long}", title_justify="left")
    for name in ("KPI", "Value", "Target", "Status", "Trend", "How it is computed"):
        table.add_column(name, justify="right" if name in ("Value", "Target") else "left")
    for k in result.kpis:
        colour = STATUS_COLOURS[k.status.value]
        table.add_row(
            k.label,
            kpi_text(k.value, k.spec.unit.value),
            kpi_text(k.target, k.spec.unit.value),
            f"[{colour}]{k.status.value}[/]",
            k.trend_word,
            k.basis,
        )
    out.print(table)
    for p in result.pitfalls:
        if p.shows.value == "warning":
            out.print(f"[yellow]![/] {escape(f'{p.label}: {p.evidence}')}", highlight=False)
    a = result.assessment
    out.print(f"Maturity: stage {a.reached.number}, {a.reached.name}.")
    out.print(f"[green]✓[/] {escape(result.changed)}")
    out.print(f"Board pack: [bold]{result.pack}[/]")
    if result.pdf is not None:
        out.print(f"PDF: [bold]{result.pdf}[/]")
    if result.pdf_note:
        out.print(f"[yellow]{escape(result.pdf_note)}[/]", highlight=False)


def kpi_text(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "$":
        return f"${value:,.2f}"
    if unit == "score":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def version_json(version: Any) -> dict[str, Any]:
    return {
        "file": version.path,
        "kept_at": version.kept_at,
        "before": version.before,
        "size": version.size,
        "values_copy": version.is_values_copy(),
    }


def allocation_json(result: Any, allocation: Any) -> dict[str, Any]:
    table = allocation.table.reset_index()
    payload = {
        "path": result.path,
        "version": result.version,
        "ok": True,
        "status": allocation.status,
        "objective": allocation.objective,
        "objective_value": allocation.objective_value,
        "budget": allocation.budget,
        "budget_value": allocation.budget_value,
        "gap": allocation.gap,
        "totals": {
            "spend": allocation.totals.spend,
            "leads": allocation.totals.leads,
            "customers": allocation.totals.customers,
            "blended_cpa": allocation.totals.blended_cpa,
        },
        "sources": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
        "binding": list(allocation.binding),
        "explanation": allocation.explanation(),
    }
    if allocation.sales_capacity is not None:
        cap = allocation.sales_capacity
        payload["sales_capacity"] = {"leads": cap.leads, "origin": cap.origin, "basis": cap.basis}
    if allocation.glide is not None:
        payload["glide"] = {str(week): row.to_dict() for week, row in allocation.glide.iterrows()}
    return payload


DEMO_EXPLANATION_LINES = 4


"""Sentences of the allocation's explanation the demo prints (the tab has them all)."""


def print_allocation(allocation: Any, lines: int | None = None) -> None:
    table = Table(title="Recommended allocation (monthly run-rates)", title_justify="left")
    for name in (
        "Source",
        "Today",
        "Next week",
        "Change",
        "Leads",
        "Customers",
        "Marg. CPA",
        "Binds",
    ):
        table.add_column(name, justify="left" if name in ("Source", "Binds") else "right")
    for source, row in allocation.table.iterrows():
        cpa = row["marginal_cpa"]
        table.add_row(
            str(source),
            f"${row['current']:,.0f}",
            f"${row['recommended']:,.0f}",
            f"{row['change']:+,.0f}",
            f"{row['leads']:,.0f}",
            f"{row['customers']:,.1f}",
            f"${cpa:,.0f}" if math.isfinite(cpa) else "cap",
            row["binding"],
        )
    out.print(table)
    for line in allocation.explanation()[:lines]:
        out.print(f"• {escape(line)}", highlight=False)
