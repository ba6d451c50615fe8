"""leadbook's cell functions: ``=LB.TIER(...)``, ``=LB.SCORES(Sources[#All])`` and friends.

Each body converts its arguments (:mod:`udfs.convert`), calls the core, and shapes the
result; tables spill as dynamic arrays with a header row. The docstring is the
description Excel shows for a function, and ``@arg(doc=...)`` each argument's help.

Names: ``LB.TIER`` in xlwings Lite and xlwings Server (the ``LB`` namespace); the classic
add-in has no namespaces, so there the Python name is the function's name: ``LB_TIER``.
The functions carry no type hints on purpose: xlwings reads a hint as a converter.
"""

from __future__ import annotations

from typing import Any

from xlwings import arg, func

from leadbook.classify import classify, lead_type_of, risk_of, tier_of
from leadbook.enums import Compliance, Status
from leadbook.inventory import build_inventory, portfolio_figures
from leadbook.scoring import score_sources
from leadbook.workbook import contract as C
from udfs import convert as X
from udfs.convert import excel_errors

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

__all__ = [
    "LB_BLENDED_CONVERSION",
    "LB_BLENDED_CPA",
    "LB_BLENDED_CPL",
    "LB_CLASSES",
    "LB_LEADTYPE",
    "LB_PORTFOLIO",
    "LB_RISKCLASS",
    "LB_SCORES",
    "LB_TIER",
]


def _figures(sources: Any) -> Any:
    raw = X.table(sources, C.SOURCES_TABLE)
    return portfolio_figures(X.typed(raw, C.SOURCES_TABLE, FIGURE_KEYS))


def _inventory(sources: Any, history: Any = None) -> Any:
    raw_history = X.optional_table(history, C.HISTORY_TABLE)
    inventory, _ = build_inventory(X.table(sources, C.SOURCES_TABLE), None, raw_history)
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
        X.required(X.number(months, "months", lo=0, whole=True), "months"),
        X.choice(status, Status, "status"),
        X.unknown(X.number(conversion_variation, "conversion_variation", lo=0, zero_is_blank=True)),
        X.required(X.number(health, "health", lo=1, hi=5), "health"),
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
        X.required(X.number(buyers, "buyers", lo=1, whole=True), "buyers"),
        X.required(X.number(age_hours, "age_hours", lo=0), "age_hours"),
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
        X.required(X.number(months, "months", lo=0, whole=True), "months"),
        X.choice(status, Status, "status"),
        X.choice(compliance, Compliance, "compliance"),
        X.required(X.number(health, "health", lo=1, hi=5), "health"),
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
