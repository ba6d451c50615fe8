"""The board pack's opening sheets: the cover and its executive summary, the KPIs against
their targets, how the figures reconcile across bases, the warning signs, and the portfolio
today."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.chart import BarChart, Reference
from openpyxl.utils.cell import get_column_letter

from leadbook import __version__
from leadbook import contract as C
from leadbook.board.kpis import Kpi
from leadbook.board.pitfalls import Pitfall, Shows
from leadbook.board.specs import Basis, Direction, KpiStatus, Unit
from leadbook.workbook.layout import now
from leadbook.workbook.pack.copied import ALLOCATION_SUMMARY_TITLE
from leadbook.workbook.pack.page import GREY, HEADING, Block, PackContent, Page
from leadbook.workbook.tabs.board import UNIT_FORMATS


def status_counts(kpis: Sequence[Kpi]) -> str:
    """'4 on target, 3 watch, ...' over the statuses present."""
    order = (KpiStatus.ON, KpiStatus.WATCH, KpiStatus.OFF, KpiStatus.NA, KpiStatus.INFO)
    counts = [(s, sum(k.status is s for k in kpis)) for s in order]
    return ", ".join(f"{n} {s.value}" for s, n in counts if n)


def target_text(k: Kpi) -> str:
    """A KPI's target as a board reads it: '≥ 300%', '≤ $85', '85% ± 5 pts', '10% – 15%',
    '—'."""
    if k.target is None:
        return "—"
    shown = _show(k.target, k.spec.unit)
    if k.spec.direction is Direction.NEAR:
        return f"{shown} ± {k.tolerance * 100:.0f} pts"
    if k.spec.direction is Direction.WITHIN and k.floor is not None:
        return f"{_show(k.floor, k.spec.unit)} – {shown}"
    return f"{'≥' if k.spec.direction is Direction.AT_LEAST else '≤'} {shown}"


def _show(value: float, unit: Unit) -> str:
    return {
        Unit.PERCENT: f"{value:.0%}",
        Unit.DOLLARS: f"${value:,.0f}",
        Unit.SCORE: f"{value:.1f}",
        Unit.COUNT: f"{value:,.0f}",
    }[unit]


def _unit_formats(kpis: Sequence[Kpi]) -> list[str]:
    return [UNIT_FORMATS[k.spec.unit] for k in kpis]


HEADLINE_KPIS = ("roi", "blended_cpl", "revenue_per_lead", "budget_utilisation", "largest_share")
"""The five figures page 1 leads with: return, cost, revenue, the budget put to work, and
the dependence on one source."""
MEANING = {
    "roi": "What the quarter's lead spend returned, on contribution",
    "blended_cpl": "What the portfolio pays for a lead",
    "revenue_per_lead": "What a lead brings in revenue",
    "budget_utilisation": "How much of the budget is put to work",
    "largest_share": "How much rests on one source",
}
"""What each headline figure tells a board, the start of its sentence of why."""


def why(k: Kpi, meaning: str) -> str:
    """One sentence on a headline figure: what it tells, how far it stands from its target,
    and how it moved since the previous quarter.

    Examples
    --------
    >>> import textwrap
    >>> from leadbook.board.kpis import Quarter, TrendPoint, kpi_spec
    >>> k = Kpi(kpi_spec("blended_cpl"), Quarter(2026, 4), 113.23, 85.0, 0.0, KpiStatus.OFF,
    ...         "", "", trend=(TrendPoint(Quarter(2026, 3), 111.19),))
    >>> print(textwrap.fill(why(k, "What the portfolio pays for a lead"), 80))
    What the portfolio pays for a lead: $113 misses the ≤ $85 target by $28, and is
    worsening against $111 last quarter.
    """
    if k.value is None:
        return f"{meaning}: not available ({k.basis})."
    unit = k.spec.unit
    gap = _gap(k)
    if k.target is None:
        standing = f"{_show(k.value, unit)}, with no target set"
    elif gap <= 0:
        standing = f"{_show(k.value, unit)} meets the {target_text(k)} target"
    else:
        standing = (
            f"{_show(k.value, unit)} misses the {target_text(k)} target by {_show_gap(gap, unit)}"
        )
    if k.previous is None:
        return f"{meaning}: {standing}; no earlier quarter is known to compare."
    moved = f"{k.trend_word} against {_show(k.previous, unit)} last quarter"
    return f"{meaning}: {standing}, and is {moved}."


def actual_months(c: PackContent) -> str:
    """The months the quarter's actuals cover: the quarter ('Q4 2026'), or those of its
    months History holds ('Oct 2026')."""
    actual = c.actuals
    if actual is None or len(actual.months) == 3:
        return c.quarter.long
    return ", ".join(m.strftime("%b %Y") for m in actual.months)


def basis_of(k: Kpi, months: str) -> str:
    """What a KPI's figure is (:class:`~leadbook.board.specs.Basis`): the actual of ``months`` (the
    quarter's, or those of its months History holds), today's run-rate, a cohort average, ...

    Examples
    --------
    >>> from leadbook.board.kpis import Quarter, kpi_spec
    >>> basis_of(Kpi(kpi_spec("largest_share"), Quarter(2026, 4), 0.44, 0.40, 0.0,
    ...              KpiStatus.WATCH, "", "Sources"), "Q4 2026")
    'run-rate today'
    >>> basis_of(Kpi(kpi_spec("blended_cpl"), Quarter(2026, 4), 113.2, 85.0, 0.0,
    ...              KpiStatus.OFF, "", "History"), "Oct 2026")
    'Oct 2026 actual'
    """
    basis = k.spec.basis
    if basis is Basis.QUARTER_ACTUAL:
        return f"{months} actual"
    return basis.value if basis is not None else k.source


def _gap(k: Kpi) -> float:
    """How far a KPI's value misses its target (≤ 0: it meets it)."""
    v, t = k.value or 0.0, k.target or 0.0
    d = k.spec.direction
    if d is Direction.AT_LEAST:
        return t - v
    if d is Direction.AT_MOST:
        return v - t
    if d is Direction.WITHIN:
        return max(v - t, (k.floor if k.floor is not None else v) - v)
    if d is Direction.NEAR:
        return abs(v - t) - k.tolerance
    return 0.0


def _show_gap(gap: float, unit: Unit) -> str:
    return f"{gap * 100:.1f} pts" if unit is Unit.PERCENT else _show(gap, unit)


def _cover(page: Page, c: PackContent) -> None:
    a = c.assessment
    warnings = [p for p in c.pitfalls if p.shows is Shows.WARNING]
    stage = f"Stage {a.reached.number} of 4 — {a.reached.name}"
    if a.next_stage is not None:
        score = a.stages[a.next_stage.number - 1]
        stage += f"; next: {a.next_stage.name} ({score.points:g} of {score.out_of} points)"
    page.facts(
        [
            ("Actuals (History)", c.period),
            ("KPIs", f"{status_counts(c.kpis)} (all on the next page)"),
            ("Warning signs the data shows", f"{len(warnings)} of {len(c.pitfalls)}"),
            ("Strategic maturity", stage),
            ("Exported", f"{now():%Y-%m-%d %H:%M} from {c.source}"),
        ]
    )
    page.row += 1
    page.text("Executive summary: the five figures that matter", HEADING)
    by_key = {k.key: k for k in c.kpis}
    shown = [by_key[key] for key in HEADLINE_KPIS if key in by_key]
    months = actual_months(c)
    page.table(
        ("Figure", "Value", "Basis", "Target", "Status", "Why"),
        [
            (
                k.label,
                _or_dash(k.value),
                basis_of(k, months),
                target_text(k),
                k.status.value,
                why(k, MEANING[k.key]),
            )
            for k in shown
        ],
        ("", _unit_formats(shown), "", "", "", ""),
        wrap=(0, 2, 5),
        status_col=4,
    )
    page.text("Also needs attention", HEADING)
    off = [k for k in c.kpis if k.status is KpiStatus.OFF and k.key not in HEADLINE_KPIS]
    for k in off:
        page.para(f"• {k.label}: {_show(k.value or 0.0, k.spec.unit)} (target {target_text(k)})")
    for p in warnings:
        page.para(f"• {p.label}: {p.evidence}")
    if not off and not warnings:
        page.para("• No other figure is off target and no warning sign shows.")
    page.row += 1
    page.para(
        "The strategy's 'cost per acquisition < $85' target is, by its own figures ($127 → $79), "
        "a cost per lead: it is read against the blended cost per lead; the true cost per "
        "customer is "
        "shown beside it. Values only: this workbook holds no formula, link or macro "
        f"(leadbook {__version__}).",
        GREY,
    )
    page.finish()


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _or_dash(value: float | None) -> Any:
    return "—" if value is None else value


COHORT_SPEND = "Cohort spend (average month)"
"""The ROI page's spend column: a source's average monthly cohort."""


@dataclass(frozen=True)
class Bridged:
    """One basis of the portfolio's spend, leads and blended CPL, and where the pack shows
    it."""

    basis: str
    where: str
    spend: float | None
    leads: float | None
    why: str

    @property
    def cpl(self) -> float | None:
        return self.spend / self.leads if self.spend is not None and self.leads else None


def bridged_figures(c: PackContent) -> list[Bridged]:
    """The portfolio's spend a month and blended CPL on each basis the pack shows them:
    run-rate today (Sources), the quarter's actual (History), the ROI cohorts' average, the
    recommended allocation, and the figure stated on Sources."""
    src = c.book.inventory.sources
    out = [
        Bridged(
            "Run-rate today",
            "Portfolio; Allocation (today); KPIs from Sources",
            float(src["spend"].sum()),
            float(src["leads"].sum()),
            "Today's spend and leads a month, source by source, on the Sources tab.",
        )
    ]
    actual = c.actuals
    if actual is not None:
        n = len(actual.months)
        out.append(
            Bridged(
                f"{actual_months(c)} actual, a month",
                "KPIs and Trends from History (ROI, cost and revenue per lead)",
                actual.spend / n,
                actual.leads / n,
                f"What History records for {actual.coverage}, a month on average: the "
                "month's volumes and prices, not today's.",
            )
        )
    cohort = _row_of(c.copied.get(C.ROI.name, []), "Portfolio")
    if cohort:
        out.append(
            Bridged(
                "Cohort average, a month",
                "ROI",
                _number(cohort.get(COHORT_SPEND)),
                _number(cohort.get("Cohort leads (average month)")),
                "Each source's average monthly cohort over the months it ran in History, "
                "summed: a source counts at its average month, whether it buys today or not.",
            )
        )
    summary = {
        r[0]: r
        for b in c.copied.get(C.ALLOCATION.name, [])
        if b.title == ALLOCATION_SUMMARY_TITLE
        for r in b.rows
    }
    if summary:
        out.append(
            Bridged(
                "Recommended from next week, a month",
                "Allocation (recommended)",
                _number(summary.get("Spend a month", (None,) * 3)[2]),
                _number(summary.get("Expected leads a month", (None,) * 3)[2]),
                "The allocation Rebalance recommends, as a monthly run-rate: more budget "
                "spent, on cheaper leads at the margin.",
            )
        )
    stated = c.book.stated
    if stated.blended_cpl is not None:
        out.append(
            Bridged(
                "Stated on Sources",
                "Sources tab (not in this pack)",
                None,
                stated.leads,
                f"The strategy's own blended CPL, ${stated.blended_cpl:,.2f}; the sources' rows "
                f"give ${out[0].cpl or 0:,.2f}.",
            )
        )
    return out


def _row_of(blocks: Sequence[Block], key: str) -> dict[str, Any]:
    """The row of the first table among ``blocks`` whose first cell is ``key``, by header."""
    for b in blocks:
        for row in b.rows:
            if b.headers and row and row[0] == key:
                return dict(zip(b.headers, row, strict=False))
    return {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _reconciliation_page(page: Page, c: PackContent) -> None:
    rows = bridged_figures(c)
    today = rows[0].spend or 0.0
    stated = c.book.stated.blended_cpl
    page.table(
        (
            "Basis",
            "Where the pack shows it",
            "Portfolio spend a month",
            "Leads a month",
            "Blended CPL",
            "Spend against run-rate today",
            "Why it differs",
        ),
        [
            (
                r.basis,
                r.where,
                _or_dash(r.spend),
                _or_dash(r.leads),
                _or_dash(stated if r.spend is None and r.basis.startswith("Stated") else r.cpl),
                "—" if r.spend is None else r.spend - today,
                r.why,
            )
            for r in rows
        ],
        ("", "", '"$"#,##0', "#,##0", '"$"#,##0.00', '"$"#,##0;-"$"#,##0', ""),
        wrap=(0, 1, 6),
    )
    page.para(
        "Every spend and cost-per-lead figure in this pack is one of these, and its label says "
        "which: run-rate today, the quarter's actual, a cohort average, or the recommendation.",
        GREY,
    )
    page.finish()


def _kpi_page(page: Page, kpis: Sequence[Kpi], months: str) -> None:
    formats = _unit_formats(kpis)
    page.table(
        (
            "KPI",
            "Value",
            "Target",
            "Status",
            "Previous quarter",
            "Trend",
            "After Rebalance",
            "How it is computed",
        ),
        [
            (
                k.label,
                _or_dash(k.value),
                target_text(k),
                k.status.value,
                k.previous if k.previous is not None else "n/a",
                k.trend_word or "—",
                _or_dash(k.planned),
                f"{_capital(basis_of(k, months))}. {k.source}: {k.basis}",
            )
            for k in kpis
        ],
        ("", formats, "", "", formats, "", formats, ""),
        wrap=(0, 7),
        status_col=3,
    )
    page.para(
        "Watch: the target missed by at most the watch margin on Settings (10 % of the target by "
        "default). Capacity utilisation's 85 % is an optimum: on target within ± the capacity "
        "tolerance. After Rebalance: the KPI under the recommended allocation on the "
        "Allocation tab, where there is one. 'n/a': not known for the previous quarter.",
        GREY,
    )
    page.finish()


def _pitfall_page(page: Page, found: Sequence[Pitfall]) -> None:
    page.table(
        ("Warning sign", "Shows", "Evidence", "Advised response"),
        [(p.label, p.shows.value, p.evidence, p.advice) for p in found],
        wrap=(0, 2, 3),
        status_col=1,
    )
    page.para(
        "Only the warning signs the workbook's data can show are checked; 'data paralysis' "
        "and the softer signs of vendor neglect (responsiveness, lost "
        "preferred pricing) need a person's judgement.",
        GREY,
    )
    page.finish()


def _portfolio_page(page: Page, c: PackContent) -> None:
    src = c.book.inventory.sources
    classes = c.classes
    total = float(src["spend"].sum())
    order = src.sort_values("spend", ascending=False)
    top, _ = page.table(
        (
            "Source",
            "Party",
            "Status",
            "Tier",
            "Lead type",
            "Risk",
            "Monthly leads",
            "Spend a month (run-rate today)",
            "Share of spend",
            "CPL",
            "Conversion",
            "Vendor health",
        ),
        [
            (
                name,
                r["party"],
                r["status"],
                classes.loc[name, "tier"],
                classes.loc[name, "lead_type"],
                classes.loc[name, "risk"],
                r["leads"],
                r["spend"],
                r["spend"] / total if total else 0.0,
                r["cpl"],
                r["conversion"],
                r["health"],
            )
            for name, r in order.iterrows()
        ],
        ("", "", "", "", "", "", "#,##0", '"$"#,##0', "0.0%", '"$"#,##0.00', "0.0%", "0.0"),
        wrap=(0,),
    )
    page.ws.print_title_rows = f"1:{top}"  # a long inventory: its header on every page
    spending = int((order["spend"] > 0).sum())
    page.text("Spend by class against the Settings bands", HEADING)
    chart_row = page.row
    usage = c.usage
    page.table(
        ("Group", "Class", "Status", "Band min", "Band max", "Share", "Spend a month (run-rate)"),
        [
            (r.group, r.klass, r.status, r.band_min, r.band_max, r.share, r.spend)
            for r in usage.itertuples(index=False)
        ],
        ("", "", "", "0%", "0%", "0.0%", '"$"#,##0'),
    )
    if spending:
        bar = BarChart()
        bar.type = "bar"
        bar.title = f"Share of spend by source (cap {c.book.settings.policy.max_source_share:.0%})"
        bar.y_axis.number_format = "0%"
        bar.y_axis.majorUnit = 0.1
        bar.y_axis.scaling.min = 0
        bar.legend = None
        bar.height, bar.width = 6.5, 11.5
        bar.add_data(
            Reference(page.ws, min_col=10, min_row=top, max_row=top + spending),
            titles_from_data=True,
        )
        bar.set_categories(Reference(page.ws, min_col=2, min_row=top + 1, max_row=top + spending))
        bar.x_axis.scaling.orientation = "maxMin"
        page.ws.add_chart(bar, f"{get_column_letter(2 + 7)}{chart_row}")
        page.row = max(page.row, chart_row + 14)
    page.finish()
