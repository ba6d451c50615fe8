"""leadbook's cell functions: ``=LB.TIER(...)``, ``=LB.SCORES(Sources[#All])`` and friends.

Each body converts its arguments (:mod:`udfs.convert`), calls the core, and shapes the
result; tables spill as dynamic arrays with a header row. The docstring is the
description Excel shows for a function, and ``@arg(doc=...)`` each argument's help.

Names: ``LB.TIER`` in xlwings Lite and xlwings Server (the ``LB`` namespace); the classic
add-in has no namespaces, so there the Python name is the function's name: ``LB_TIER``.
The functions carry no type hints on purpose: xlwings reads a hint as a converter. The
core modules that pull in scikit-learn, statsmodels or HiGHS are imported by the functions that
need them, so loading the add-in (xlwings Lite runs it in the browser) does not wait for them.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path, PureWindowsPath
from typing import Any

from xlwings import arg, func

from leadbook import contract as C
from leadbook.enums import Compliance, Status
from leadbook.errors import InfeasiblePolicyError
from leadbook.planning import capacity
from leadbook.planning import roi as R
from leadbook.portfolio.classify import classify, lead_type_of, risk_of, tier_of
from leadbook.portfolio.inventory import build_inventory, portfolio_figures
from leadbook.portfolio.scoring import score_sources
from leadbook.settings import Settings
from udfs import convert as X
from udfs.convert import excel_errors
from udfs.memo import Memo, fingerprint

__xlwings_func_namespace__ = "LB"

SOURCES = "The Sources table with its header row, e.g. Sources[#All]."
HISTORY = (
    "Optional. The History table with its header row (History[#All]); without it, no "
    "source has a track record (volume stability and conversion consistency score 0)."
)
SETTINGS = "Optional. The Settings table (Settings[#All]); omitted means the defaults."
REASON = "Optional. TRUE spills the class and the reason for it side by side."
FIGURE_KEYS = ("party", "leads", "cpl", "conversion", "spend")
CLASS_KEYS = (
    "source",
    "tier",
    "tier_reason",
    "lead_type",
    "lead_type_reason",
    "risk",
    "risk_reason",
)
PORTFOLIO_FIGURES = {
    "TotalLeads": "leads",
    "CurrentSpend": "spend",
    "BlendedCPL": "blended_cpl",
    "BlendedConversion": "blended_conversion",
    "BlendedCPA": "blended_cpa",
    "FirstPartyShare": "first_party_share",
}
"""Named cell of the Sources tab (for its label) → field of PortfolioFigures."""
SCORE_KEYS = ("source", "performance", "reliability", "strategic", "risk", "composite", "rank")

ALLOCATE_KEYS = ("source", "current", "recommended", "change", "customers")
FORECAST_HEADERS = ("Month", "Forecast", "Lower", "Upper")
HIRING_HEADERS = ("Month", "Reps needed", "Productive reps", "Hires")
METRICS = (
    ("Accuracy", "accuracy"),
    ("Precision", "precision"),
    ("Recall", "recall"),
    ("True hits", "true_hits"),
    ("True misses", "true_misses"),
    ("False hits", "false_hits"),
    ("Missed hits", "missed_hits"),
)
"""Label and field of :class:`leadbook.leads.metrics.ClassifierMetrics`, in the spill's order."""
BUDGET = "Monthly budget ($); blank: the Budget setting, or today's total spend."
PRICE_TIERS = (
    "Optional. The PriceTiers table with its header row (PriceTiers[#All]); without it, "
    "each source's CPL holds up to its volume cap."
)
CASH_FLOWS = "Monthly cash flows, oldest first (a row or a column); month 1 is today."

__all__ = [
    "LB_ALLOCATE",
    "LB_BLENDED_CONVERSION",
    "LB_BLENDED_CPA",
    "LB_BLENDED_CPL",
    "LB_BREAKEVEN_P",
    "LB_BUDGET_CURVE",
    "LB_CLASSES",
    "LB_CLASSIFIER_METRICS",
    "LB_EXPECTED_ROI",
    "LB_EXPLAIN",
    "LB_FORECAST",
    "LB_HIRING_PLAN",
    "LB_KPI",
    "LB_LEADTYPE",
    "LB_LEAD_PRICE",
    "LB_LEAD_SCORE",
    "LB_NPV_COHORT",
    "LB_PAYBACK",
    "LB_PORTFOLIO",
    "LB_REPS_NEEDED",
    "LB_RISKCLASS",
    "LB_ROI",
    "LB_SCORES",
    "LB_TIER",
]


def _figures(sources: Any) -> Any:
    raw = X.table(sources, C.SOURCES_TABLE)
    return portfolio_figures(X.typed(raw, C.SOURCES_TABLE, FIGURE_KEYS))


INVENTORIES: Memo[Any] = Memo(4)
"""Inventories by the fingerprints of Sources, History and PriceTiers (:mod:`udfs.memo`)."""
CLASSIFICATIONS: Memo[Any] = Memo(4)
"""Classifications by those of Sources, History, PriceTiers and Settings."""
ALLOCATIONS: Memo[Any] = Memo(4)
"""LB.ALLOCATE's and LB.EXPLAIN's allocations by the fingerprints of all their arguments
(each a :class:`_Solved`)."""


def _inventory(sources: Any, history: Any = None, price_tiers: Any = None) -> Any:
    key = (fingerprint(sources), fingerprint(history), fingerprint(price_tiers))
    return INVENTORIES.get(key, lambda: _read_inventory(sources, history, price_tiers))


def _read_inventory(sources: Any, history: Any, price_tiers: Any) -> Any:
    raw_history = X.optional_table(history, C.HISTORY_TABLE)
    raw_tiers = X.optional_table(price_tiers, C.PRICE_TIERS_TABLE)
    inventory, _ = build_inventory(X.table(sources, C.SOURCES_TABLE), raw_tiers, raw_history)
    return inventory


@func(name="BLENDED_CPL")
@arg("sources", ndim=2, doc=SOURCES)
@excel_errors
def LB_BLENDED_CPL(sources):
    """Blended cost per lead of a Sources table: lead-weighted average CPL ($)."""
    return X.cell_value(_figures(sources).blended_cpl)


@func(name="BLENDED_CONVERSION")
@arg("sources", ndim=2, doc=SOURCES)
@excel_errors
def LB_BLENDED_CONVERSION(sources):
    """Blended conversion of a Sources table: lead-weighted share of leads that convert."""
    return X.cell_value(_figures(sources).blended_conversion)


@func(name="BLENDED_CPA")
@arg("sources", ndim=2, doc=SOURCES)
@excel_errors
def LB_BLENDED_CPA(sources):
    """Blended cost per customer of a Sources table: blended CPL ÷ blended conversion ($)."""
    return X.cell_value(_figures(sources).blended_cpa)


@func(name="PORTFOLIO")
@arg("sources", ndim=2, doc=SOURCES)
@excel_errors
def LB_PORTFOLIO(sources):
    """The portfolio's figures from a Sources table: leads, spend, blended CPL, conversion,
    CPA and first-party share, as label and value rows."""
    figures = _figures(sources)
    return [
        [C.NAMED_CELLS[name].label, X.cell_value(getattr(figures, attr))]
        for name, attr in PORTFOLIO_FIGURES.items()
    ]


@func(name="TIER")
@arg("months", doc="Months of history of the source.")
@arg("status", doc="active, testing or paused.")
@arg("health", doc="Vendor health, 1 (poor) to 5 (excellent).")
@arg("conversion_variation", doc="Optional. Month-to-month variation of conversion (0.25 = 25%).")
@arg("settings", ndim=2, doc=SETTINGS)
@arg("reason", doc=REASON)
@excel_errors
def LB_TIER(
    months,
    status,
    health,
    conversion_variation=None,
    settings=None,
    reason=False,
):
    """Portfolio tier of one source: Tier 1 (core), Tier 2 (growth) or Tier 3 (experimental)."""
    tier = tier_of(
        X.required_number(months, "months", lo=0, whole=True),
        X.choice(status, Status, "status"),
        X.unknown(X.number(conversion_variation, "conversion_variation", lo=0, zero_is_blank=True)),
        X.required_number(health, "health", lo=1, hi=5),
        X.settings(settings).classify,
    )
    return X.with_reason(tier, X.flag(reason, "reason"))


@func(name="LEADTYPE")
@arg("buyers", doc="How many buyers each lead is sold to (1 = exclusive).")
@arg("age_hours", doc="Typical age of a lead when delivered, in hours.")
@arg("settings", ndim=2, doc=SETTINGS)
@arg("reason", doc=REASON)
@excel_errors
def LB_LEADTYPE(buyers, age_hours, settings=None, reason=False):
    """Lead-type class of one source: Premium, Standard or Value."""
    kind = lead_type_of(
        X.required_number(buyers, "buyers", lo=1, whole=True),
        X.required_number(age_hours, "age_hours", lo=0),
        X.settings(settings).classify,
    )
    return X.with_reason(kind, X.flag(reason, "reason"))


@func(name="RISKCLASS")
@arg("months", doc="Months of history of the source.")
@arg("status", doc="active, testing or paused.")
@arg("compliance", doc="compliant, under review or non-compliant.")
@arg("health", doc="Vendor health, 1 (poor) to 5 (excellent).")
@arg("volume_variation", doc="Optional. Month-to-month variation of lead volume (0.2 = 20%).")
@arg("settings", ndim=2, doc=SETTINGS)
@arg("reason", doc=REASON)
@excel_errors
def LB_RISKCLASS(
    months,
    status,
    compliance,
    health,
    volume_variation=None,
    settings=None,
    reason=False,
):
    """Risk class of one source: Low, Medium or High."""
    risk = risk_of(
        X.required_number(months, "months", lo=0, whole=True),
        X.choice(status, Status, "status"),
        X.choice(compliance, Compliance, "compliance"),
        X.required_number(health, "health", lo=1, hi=5),
        X.unknown(X.number(volume_variation, "volume_variation", lo=0, zero_is_blank=True)),
        X.settings(settings).classify,
    )
    return X.with_reason(risk, X.flag(reason, "reason"))


@func(name="CLASSES")
@arg("sources", ndim=2, doc=SOURCES)
@arg("history", ndim=2, doc=HISTORY)
@arg("settings", ndim=2, doc=SETTINGS)
@excel_errors
def LB_CLASSES(sources, history=None, settings=None):
    """Tier, lead type and risk class of every source, each with its reason (spills)."""
    classes = classify(_inventory(sources, history), X.settings(settings))
    return X.spill(classes.assign(source=classes.index), C.CLASSES_TABLE, CLASS_KEYS)


@func(name="SCORES")
@arg("sources", ndim=2, doc=SOURCES)
@arg("history", ndim=2, doc=HISTORY)
@arg("settings", ndim=2, doc=SETTINGS)
@excel_errors
def LB_SCORES(sources, history=None, settings=None):
    """Performance, reliability, strategic and risk scores (0–100), the weighted composite
    and the rank of every source (spills)."""
    scores = score_sources(_inventory(sources, history), X.settings(settings))
    return X.spill(scores.assign(source=scores.index), C.SCORES_TABLE, SCORE_KEYS)


# --- allocation (Rebalance) ---------------------------------------------------------------


class _Solved:
    """An allocation solved for LB.ALLOCATE, its spill made once, and explained only when
    LB.EXPLAIN asks: the explanation's re-solves (the gain of each binding rule) took over
    half of a call with a new budget, and LB.ALLOCATE spills none of it."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self._rows: list[list[Any]] | None = None
        self._allocation: Any = None

    def rows(self) -> list[list[Any]]:
        """LB.ALLOCATE's spill: :data:`ALLOCATE_KEYS` of the allocation's table."""
        if self._rows is None:
            from leadbook.allocation.allocate import spend_table

            table = spend_table(self.outcome)
            # X.spill's cells, a column at a time: a fifth of the time of a frame's rows
            columns = [
                table.index.tolist() if key == "source" else table[key].tolist()
                for key in ALLOCATE_KEYS
            ]
            self._rows = [
                [C.ALLOCATION_TABLE.column(key).header for key in ALLOCATE_KEYS],
                *([X.cell_value(v) for v in row] for row in zip(*columns, strict=True)),
            ]
        return [row[:] for row in self._rows]  # the caller's to change; the kept one stays

    def allocation(self) -> Any:
        """The allocation, explained (:func:`leadbook.allocation.allocation_from`)."""
        if self._allocation is None:
            from leadbook.allocation.allocate import allocation_from

            self._allocation = allocation_from(self.outcome)
        return self._allocation


SETTINGS_READ: Memo[Settings] = Memo(4)
"""Settings read from a Settings range, by its fingerprint."""
CAPACITIES: Memo[Any] = Memo(4)
"""The sales capacity Settings ask for, by the fingerprints of Sources, History, PriceTiers and
Settings (the hiring plan's is made from History)."""
MODELS: Memo[Any] = Memo(4)
"""The allocation model compiled at the first budget asked, by the fingerprints of Sources,
History, PriceTiers and Settings: another budget retargets it rather than compiling again
(:func:`leadbook.allocation.allocate.solve_allocation`)."""


def _allocation(sources, budget, settings, history=None, price_tiers=None) -> _Solved:
    """The allocation, solved once for the same arguments (LB.ALLOCATE, then LB.EXPLAIN, then
    each recalculation); a new budget re-solves the model already compiled from the
    inventory, Settings, classification and sales capacity already read, and new Settings
    on the inventory."""
    s, b, c, h, p = map(fingerprint, (sources, budget, settings, history, price_tiers))

    def solved():
        from leadbook.allocation.allocate import (  # HiGHS: loaded when first needed
            compile_allocation,
            solve_allocation,
        )
        from leadbook.workbook.jobs.feeds import sales_capacity_for

        inventory = INVENTORIES.get(
            (s, h, p), lambda: _read_inventory(sources, history, price_tiers)
        )
        cfg = SETTINGS_READ.get((c,), lambda: X.settings(settings))
        amount = X.number(budget, "budget", lo=0, zero_is_blank=True)
        given = {
            "sales_capacity": CAPACITIES.get(
                (s, h, p, c), lambda: sales_capacity_for(inventory, cfg)
            ),
            "classes": CLASSIFICATIONS.get((s, h, p, c), lambda: classify(inventory, cfg)),
        }
        compiled = MODELS.get(
            (s, h, p, c), lambda: compile_allocation(inventory, cfg, budget=amount, **given)
        )
        return _Solved(solve_allocation(inventory, cfg, budget=amount, compiled=compiled, **given))

    return ALLOCATIONS.get((s, b, c, h, p), solved)


@func(name="ALLOCATE")
@arg("sources", ndim=2, doc=SOURCES)
@arg("budget", doc=BUDGET)
@arg("settings", ndim=2, doc=SETTINGS)
@arg("history", ndim=2, doc=HISTORY)
@arg("price_tiers", ndim=2, doc=PRICE_TIERS)
@excel_errors
def LB_ALLOCATE(sources, budget=None, settings=None, history=None, price_tiers=None):
    """Recommended monthly spend per source under the policy on Settings: source, current
    spend, recommended spend, change and expected customers (spills, with headers).

    Sales capacity is the one Settings ask for (SalesCapacitySource: Settings' reps, or the
    hiring plan made from the History given); conversion is the Sources table's (the lead
    model feeds only the Rebalance button, which has the model file).
    """
    return _allocation(sources, budget, settings, history, price_tiers).rows()


@func(name="EXPLAIN")
@arg("sources", ndim=2, doc=SOURCES)
@arg("budget", doc=BUDGET)
@arg("settings", ndim=2, doc=SETTINGS)
@arg("history", ndim=2, doc=HISTORY)
@arg("price_tiers", ndim=2, doc=PRICE_TIERS)
@excel_errors
def LB_EXPLAIN(sources, budget=None, settings=None, history=None, price_tiers=None):
    """Why LB.ALLOCATE recommends what it does, in sentences (spills one per row): the
    headline, the value of more budget, every binding rule and each change. When the policy
    cannot be met, the rules that must give."""
    try:
        solved = _allocation(sources, budget, settings, history, price_tiers)
        lines = solved.allocation().explanation()
    except InfeasiblePolicyError as exc:
        lines = [exc.summary, *(str(c) for c in exc.conflicts)]
    return [[line] for line in lines]


CURVES: Memo[Any] = Memo(4)
"""LB.BUDGET_CURVE's curves by the fingerprints of all their arguments."""
BUDGETS = (
    "Monthly budgets ($) to solve at, a row or a column; blank: CurveLow to CurveHigh of the "
    "Budget setting (CurvePoints of them)."
)


@func(name="BUDGET_CURVE")
@arg("sources", ndim=2, doc=SOURCES)
@arg("budgets", ndim=2, doc=BUDGETS)
@arg("settings", ndim=2, doc=SETTINGS)
@arg("history", ndim=2, doc=HISTORY)
@arg("price_tiers", ndim=2, doc=PRICE_TIERS)
@excel_errors
def LB_BUDGET_CURVE(sources, budgets=None, settings=None, history=None, price_tiers=None):
    """The policy on Settings solved at each budget (spills, with headers): spend used,
    expected leads and customers, blended and marginal CPA, or the rule that must give.

    The What-if tab's budget curve; the row at the Budget setting is LB.ALLOCATE's answer.
    """
    s, b, c, h, p = map(fingerprint, (sources, budgets, settings, history, price_tiers))

    def solved():
        from leadbook.allocation.whatif import budget_curve  # HiGHS: loaded when first needed
        from leadbook.workbook.jobs.feeds import sales_capacity_for

        inventory = INVENTORIES.get(
            (s, h, p), lambda: _read_inventory(sources, history, price_tiers)
        )
        cfg = X.settings(settings)
        given = [] if budgets is None else X.numbers(budgets, "budgets")
        if not all(math.isfinite(v) and v >= 0 for v in given):
            raise X.ArgumentError("budgets must be dollar amounts of 0 or more, with no blanks")
        return budget_curve(
            inventory,
            cfg,
            budgets=given or None,
            sales_capacity=sales_capacity_for(inventory, cfg),
        )

    curve = CURVES.get((s, b, c, h, p), solved)
    return X.spill(curve.table, C.BUDGET_CURVE_TABLE, C.BUDGET_CURVE_TABLE.keys)


# --- planning: ROI, forecast, hiring ------------------------------------------------------


@func(name="ROI")
@arg("spend", doc="What was spent ($), more than 0.")
@arg("revenue", doc="The revenue it brought ($).")
@excel_errors
def LB_ROI(spend, revenue):
    """Return on investment: (revenue − spend) ÷ spend (3.4 = 340 %); give it the
    contribution (revenue × GrossMargin) for the ROI tab's return on contribution."""
    return R.roi(
        X.required_number(spend, "spend"),
        X.required_number(revenue, "revenue"),
    )


@func(name="NPV_COHORT")
@arg("cash_flows", ndim=2, doc=CASH_FLOWS)
@arg(
    "annual_rate", doc="Optional. Annual discount rate (0.1 = 10 %); blank: DiscountRate's default."
)
@excel_errors
def LB_NPV_COHORT(cash_flows, annual_rate=None):
    """Net present value of a cohort's monthly cash flows, discounted monthly at the annual
    rate; the first month is not discounted ($)."""
    rate = X.number(annual_rate, "annual_rate", lo=0, hi=1)
    if rate == 0:
        # Desktop Excel sends an empty rate cell as 0: a silent 0 % would overstate the value.
        raise X.ArgumentError(
            "annual_rate is 0, or an empty cell (desktop Excel passes those as 0): leave the "
            "argument out for DiscountRate's default, or give a rate above 0; for an "
            "undiscounted total, use SUM"
        )
    default = Settings().roi.discount_rate
    return R.npv_cohort(X.numbers(cash_flows, "cash_flows"), default if rate is None else rate)


@func(name="PAYBACK")
@arg("cash_flows", ndim=2, doc=CASH_FLOWS)
@excel_errors
def LB_PAYBACK(cash_flows):
    """The month (1, 2, …) by whose end the cumulative cash flow turns non-negative, or
    "not within N months"."""
    flows = X.numbers(cash_flows, "cash_flows")
    return R.payback_text(R.payback(flows), len(flows))


@func(name="FORECAST")
@arg(
    "values",
    ndim=2,
    doc="Monthly history, oldest first (a row or a column), at least 3 months; under 6, no "
    "backtest: the naive forecast (the last month); 6–11, the best of the non-seasonal "
    "methods by backtest; from 12, the combination (see docs/planning.md).",
)
@arg("horizon", doc="Optional. Months to forecast, 1–120; blank: 12.")
@arg("level", doc="Optional. Coverage of the interval (0.8 = 80 %); blank: 80 %.")
@arg(
    "floor",
    doc="Optional. The lowest the forecast and its bounds may go; blank or 0: 0 when no month "
    'is negative (leads, spend, customers), no floor when one is (margins, changes); "zero": '
    'clipped at 0 even then; "none": never clipped.',
)
@excel_errors
def LB_FORECAST(values, horizon=None, level=None, floor=None):
    """Monthly forecast with its interval: month number, forecast, lower and upper bound
    (spills, with headers): from 12 months on a combination of a few robust models."""
    months = X.number(horizon, "horizon", lo=1, hi=120, whole=True, zero_is_blank=True)
    coverage = X.number(level, "level", zero_is_blank=True)
    history = X.numbers(values, "values", trailing="refuse")
    blank = [i + 1 for i, v in enumerate(history) if v != v]
    if blank:  # the core would say 'pass gaps="interpolate"', which a cell cannot
        shown = ", ".join(map(str, blank[:5])) + (" …" if len(blank) > 5 else "")
        raise X.ArgumentError(
            f"values, value {shown}: a month is blank; type its figure (0 if nothing "
            "happened that month), or fill it from its neighbours in the sheet"
        )
    from leadbook.planning.series import forecast_series  # statsmodels: loaded when first needed

    frame = forecast_series(
        history,
        int(months or 12),
        level=0.8 if coverage is None else coverage,
        lower_bound=_forecast_floor(floor, history),
    )
    return [list(FORECAST_HEADERS), *_rows(frame)]


def _forecast_floor(floor, history) -> float | None:
    """LB.FORECAST's floor: a number as given, none for "none", 0 for "zero", and when blank
    (or 0: desktop Excel sends a blank cell as 0) 0 unless the history has a negative month
    (a quantity that can be negative is not clipped at 0)."""
    raw = X.scalar(floor, "floor")
    if isinstance(raw, str) and raw.strip().casefold() == "none":
        return None
    if isinstance(raw, str) and raw.strip().casefold() == "zero":
        return 0.0
    given = X.number(floor, "floor", zero_is_blank=True)
    if given is not None:
        return given
    return None if min(history, default=0.0) < 0 else 0.0


@func(name="REPS_NEEDED")
@arg("leads", doc="Leads a month to work.")
@arg(
    "leads_per_rep",
    doc="Optional. Leads a rep works a month; blank: LeadsPerRepOptimal's default (40).",
)
@arg("utilisation", doc="Optional. Share of that load planned (0.85 = 85 %); blank: 100 %.")
@excel_errors
def LB_REPS_NEEDED(leads, leads_per_rep=None, utilisation=None):
    """Whole sales reps needed to work the leads: rounded to the nearest rep (RepRounding)."""
    defaults = Settings().hiring
    per_rep = X.number(leads_per_rep, "leads_per_rep", lo=0, zero_is_blank=True)
    share = X.number(utilisation, "utilisation", lo=0, hi=1, zero_is_blank=True)
    return capacity.reps_needed(
        X.required_number(leads, "leads", lo=0),
        defaults.leads_per_rep_optimal if per_rep is None else per_rep,
        1.0 if share is None else share,
        defaults.rep_rounding,
    )


@func(name="HIRING_PLAN")
@arg("leads", ndim=2, doc="Leads a month to work, from next month on (a row or a column).")
@arg("current_reps", doc="Fully productive reps today.")
@arg("settings", ndim=2, doc=SETTINGS)
@excel_errors
def LB_HIRING_PLAN(leads, current_reps, settings=None):
    """Month by month: reps needed, productive reps expected and hires starting that month
    (spills, with headers), under the hiring terms on Settings."""
    terms = capacity.HiringTerms.from_settings(X.settings(settings))
    reps = X.required_number(current_reps, "current_reps", lo=0, whole=True)
    plan = capacity.hiring_plan(X.numbers(leads, "leads"), int(reps), terms)
    return [list(HIRING_HEADERS), *_rows(plan[["month", "needed", "productive", "hires"]])]


def _rows(frame):
    return [[X.cell_value(v) for v in row] for row in frame.itertuples(index=False)]


# --- leads: scoring and monetisation ---------------------------------------------------------


@func(name="LEAD_SCORE")
@arg(
    "workbook",
    doc='The workbook\'s full path, e.g. =CELL("filename",A1); its lead model is beside it.',
)
@arg("headers", ndim=2, doc="The feature names: Source and the Leads table's feature headers.")
@arg(
    "values",
    ndim=2,
    doc="The lead's values, in the order of headers; =NA() for a missing value (desktop "
    "Excel passes an empty cell as 0).",
)
@excel_errors
def LB_LEAD_SCORE(workbook, headers, values):
    """Conversion probability of one lead (0–1), from the lead model the workbook records
    (trained by Score leads)."""
    names, cells = X.paired(
        [v for row in X.matrix(headers) for v in row], [v for row in X.matrix(values) for v in row]
    )
    if len(names) != len(cells):
        raise X.ArgumentError(
            f"headers has {len(names)} cell(s) but values has {len(cells)}; give one value "
            "per header"
        )
    # A header cell left empty is no feature (desktop Excel sends it as 0); a value of #N/A
    # (=NA(), Excel's "missing") is a missing value on every host, where an empty value cell
    # arrives as 0 from desktop Excel and as blank from Excel on the web.
    features = {
        str(h).strip(): None if X.is_blank(v) or v == "#N/A" else v
        for h, v in zip(names, cells, strict=True)
        if not X.is_empty_cell(h)
    }
    from leadbook.workbook.jobs.leads import lead_score  # scikit-learn: loaded when first needed

    return X.core_input(lead_score, _workbook_path(workbook), features)


def _workbook_path(value):
    """A workbook path typed in, or as CELL("filename") gives it: ``C:\\dir\\[Book.xlsx]Sheet``.

    On leadbook serve (``XLWINGS_ON_SERVER``), a caller must not choose which file of the
    server's is read: the path is taken inside :data:`WORKBOOKS_ENV` only (see
    :func:`_served_workbook`)."""
    raw = X.required(X.text(value, "workbook"), "workbook")
    found = re.fullmatch(r"(.*)\[(.+)\].*", raw)
    path = found.group(1) + found.group(2) if found else raw
    return _served_workbook(path) if os.environ.get("XLWINGS_ON_SERVER") == "true" else path


WORKBOOKS_ENV = "LEADBOOK_WORKBOOKS"
"""On leadbook serve, the one folder whose workbooks LB.LEAD_SCORE may read."""


def _served_workbook(path: str) -> Path:
    """``path`` within the server's workbook folder, a regular file; else one message for
    every refusal (outside, missing, a link out, a pipe), so it reveals nothing of the disk."""
    root = os.environ.get(WORKBOOKS_ENV, "").strip()
    if not root:
        raise X.ArgumentError(
            f"on leadbook serve, LB.LEAD_SCORE reads workbooks only from the server's "
            f"workbook folder, and none is set ({WORKBOOKS_ENV}); ask whoever runs the server"
        )
    from leadbook.leads.store import model_dir

    folder = Path(root).resolve()
    try:
        given = PureWindowsPath(path) if "\\" in path else Path(path)
        target = (folder / path).resolve()
        if given.is_absolute():
            own = Path(path).resolve()
            # The client's own path (CELL("filename") on Windows or a Mac) stands for its name.
            target = own if own.is_relative_to(folder) else (folder / given.name).resolve()
        regular = target.is_relative_to(folder) and stat.S_ISREG(target.stat().st_mode)
        # The model folder beside it is read too: a link out of the folder is not followed.
        regular = regular and model_dir(target).resolve().is_relative_to(folder)
    except (OSError, ValueError):  # a NUL byte, a name too long, a loop of links
        regular = False
    if not regular:
        raise X.ArgumentError(
            f"workbook {path!r} is not a workbook in the server's workbook folder "
            f"({WORKBOOKS_ENV}); give its name or a path inside that folder"
        )
    return target


@func(name="EXPECTED_ROI")
@arg("p", doc="The lead's conversion probability, 0–1.")
@arg("value", doc="What a converted lead is worth ($).")
@arg("cost", doc="What the lead costs ($), more than 0.")
@excel_errors
def LB_EXPECTED_ROI(p, value, cost):
    """Expected return on a lead: p × value ÷ cost (4 = four times its cost)."""
    from leadbook.leads import money as monetize

    return X.core_input(
        monetize.expected_roi,
        X.required_number(p, "p"),
        X.required_number(value, "value"),
        X.required_number(cost, "cost"),
    )


@func(name="LEAD_PRICE")
@arg("p", doc="The lead's conversion probability, 0–1.")
@arg("c_high", doc="Cost of generating a high-quality lead ($).")
@arg("c_low", doc="Cost of generating a low-quality lead ($).")
@arg("margin", doc="The margin the price must reach, below 100 % (0.25 = 25 %).")
@excel_errors
def LB_LEAD_PRICE(p, c_high, c_low, margin):
    """The price of a lead that reaches the margin on its expected cost:
    (p × c_high + (1 − p) × c_low) ÷ (1 − margin) ($)."""
    from leadbook.leads import money as monetize

    return X.core_input(
        monetize.lead_price,
        X.required_number(p, "p"),
        X.required_number(c_high, "c_high"),
        X.required_number(c_low, "c_low"),
        X.required_number(margin, "margin"),
    )


@func(name="BREAKEVEN_P")
@arg("low1", doc="Deal 1's earnings when no lead converts ($).")
@arg("high1", doc="Deal 1's earnings when every lead converts ($).")
@arg("low2", doc="Deal 2's earnings when no lead converts ($).")
@arg("high2", doc="Deal 2's earnings when every lead converts ($).")
@excel_errors
def LB_BREAKEVEN_P(low1, high1, low2, high2):
    """The conversion share p* at which two linear deals earn the same; #N/A when they
    never cross."""
    from leadbook.leads import money as monetize

    amounts = [
        X.required_number(v, name)
        for v, name in ((low1, "low1"), (high1, "high1"), (low2, "low2"), (high2, "high2"))
    ]
    found = monetize.breakeven_p(*amounts)
    return "#N/A" if found is None else found


@func(name="CLASSIFIER_METRICS")
@arg("predicted", ndim=2, doc="Predicted probabilities (or 0/1 predictions), one per lead.")
@arg("actual", ndim=2, doc="Outcomes, one per lead in the same order: 1 converted, 0 not.")
@arg("threshold", doc="Optional. A lead is a predicted hit above this probability; blank: 0.5.")
@excel_errors
def LB_CLASSIFIER_METRICS(predicted, actual, threshold=None):
    """Accuracy, precision and recall at the threshold, and the confusion matrix behind
    them (true hits, true misses, false hits, missed hits), as label and value rows."""
    from leadbook.leads.metrics import classifier_metrics

    cut = X.number(threshold, "threshold", lo=0, hi=1)
    metrics = X.core_input(
        classifier_metrics, *X.outcome_pairs(predicted, actual), 0.5 if cut is None else cut
    )
    return [[label, X.cell_value(getattr(metrics, field))] for label, field in METRICS]


# --- board ---------------------------------------------------------------------------------


@func(name="KPI")
@arg("key", doc="The KPI's key, e.g. roi, blended_cpl, largest_share (Board!L:L lists them).")
@arg("sources", ndim=2, doc=SOURCES)
@arg("history", ndim=2, doc=HISTORY)
@arg("settings", ndim=2, doc=SETTINGS)
@arg(
    "quarter", doc="Optional. The quarter, e.g. 2026Q4; blank: the quarter of History's last month."
)
@excel_errors
def LB_KPI(key, sources, history=None, settings=None, quarter=None):
    """A board KPI of the quarter from the input tables: its value, or "not available:
    <why>" (KPIs that need other tabs are on the Board tab)."""
    from leadbook.board.kpis import kpi

    name = X.required(X.text(key, "key"), "key")
    found = kpi(
        name, _inventory(sources, history), X.settings(settings), X.text(quarter, "quarter")
    )
    return X.cell_value(found.value) if found.available else f"not available: {found.basis}"
