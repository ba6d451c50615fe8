"""The board's KPI definitions: each KPI's label, unit, direction, target and basis, and how a
value reads against its target (:func:`status_of`).
"""

from __future__ import annotations

import difflib
import enum
import math
from dataclasses import dataclass

from leadbook.errors import LeadbookError

EPS = 1e-9


"""Rounding slack of every status comparison (the Board tab's formulas use the same)."""


STEADY = 0.01


"""A change of at most 1 % of the earlier value reads as "steady"."""


PREFERRED_HEADROOM = 0.10


"""A Tier 1 source within 10 % of its volume cap cannot carry more growth."""


FORECAST_PORTFOLIO = "Portfolio"


"""The forecast log's name for the whole portfolio (leadbook.planning.forecast.PORTFOLIO)."""


class BoardInputError(LeadbookError, ValueError):
    """A board request leadbook cannot serve: a malformed quarter, an unknown KPI."""


# --- KPI definitions --------------------------------------------------------------------


class Direction(enum.StrEnum):
    """How a KPI is read against its target."""

    AT_LEAST = "at least"
    AT_MOST = "at most"
    NEAR = "near"
    WITHIN = "within"
    """Within a band: at least its floor and at most its target."""
    INFO = "info"


class KpiStatus(enum.StrEnum):
    """A KPI's standing against its target."""

    ON = "on target"
    WATCH = "watch"
    OFF = "off target"
    NA = "not available"
    INFO = "for information"


class Unit(enum.StrEnum):
    PERCENT = "%"
    DOLLARS = "$"
    SCORE = "score"
    COUNT = "count"


class Basis(enum.StrEnum):
    """What a KPI's figure is: the pack labels every figure with it."""

    QUARTER_ACTUAL = "quarter actual"
    """History's months of the quarter."""
    RUN_RATE = "run-rate today"
    """Today's spend and leads a month on Sources (and Settings)."""
    COHORT = "cohort average"
    """The ROI tab's average monthly cohorts."""
    FORECAST_LOG = "forecast log"
    """Forecasts made before the quarter against its actuals."""
    LEAD_SCORES = "lead scores"
    """The open leads' predicted conversion against each source's realised one."""


@dataclass(frozen=True)
class KpiSpec:
    """One KPI: its label, unit, how it reads against which setting, the chapter's line."""

    key: str
    label: str
    unit: Unit
    direction: Direction
    target_key: str | None = None
    tolerance_key: str | None = None
    chapter: str = ""
    floor_key: str | None = None
    """For a band (:attr:`Direction.WITHIN`): the setting of its lower end."""
    definition: str = ""
    """What the figure is, in one line a board member reads."""
    basis: Basis | None = None
    """Which figures it is computed on: the quarter's actual, today's run-rate, ..."""


KPI_SPECS: tuple[KpiSpec, ...] = (
    KpiSpec(
        "roi",
        "Portfolio ROI, quarter (on contribution)",
        Unit.PERCENT,
        Direction.AT_LEAST,
        "board.roi",
        chapter="Portfolio ROI: Target >300% annual return",
        definition=(
            "(revenue × gross margin − cost to serve × customers − spend) ÷ spend of the "
            "quarter's months in History: the return on contribution"
        ),
        basis=Basis.QUARTER_ACTUAL,
    ),
    KpiSpec(
        "roi_12m",
        "Portfolio ROI, 12 months (on contribution)",
        Unit.PERCENT,
        Direction.AT_LEAST,
        "board.roi",
        chapter="Portfolio ROI: Target >300% annual return",
        definition=(
            "The portfolio's 12-month return on contribution (gross margin less cost to serve) "
            "of its average monthly cohort, lifetime value included"
        ),
        basis=Basis.COHORT,
    ),
    KpiSpec(
        "blended_cpl",
        "Blended cost per lead",
        Unit.DOLLARS,
        Direction.AT_MOST,
        "board.cpl",
        chapter="Cost per acquisition: Target <$85 blended average",
        definition=(
            "Spend ÷ leads of the quarter's months: what the portfolio pays for a lead (the "
            "strategy's '$85 CPA' target is a cost per lead)"
        ),
        basis=Basis.QUARTER_ACTUAL,
    ),
    KpiSpec(
        "blended_cpa",
        "Cost per customer (true CPA)",
        Unit.DOLLARS,
        Direction.INFO,
        chapter="(no target: the chapter's $85 is a cost per lead)",
        definition="Spend ÷ customers of the quarter's months: what a new customer costs",
        basis=Basis.QUARTER_ACTUAL,
    ),
    KpiSpec(
        "budget_utilisation",
        "Budget utilisation",
        Unit.PERCENT,
        Direction.AT_LEAST,
        "board.budget_utilisation",
        chapter="Budget utilization efficiency: Target >95%",
        definition="Today's monthly spend ÷ the monthly budget on Settings",
        basis=Basis.RUN_RATE,
    ),
    KpiSpec(
        "revenue_per_lead",
        "Revenue per lead",
        Unit.DOLLARS,
        Direction.AT_LEAST,
        "board.revenue_per_lead",
        chapter="Revenue per lead: Target >$150 average",
        definition="Revenue ÷ leads of the quarter's months",
        basis=Basis.QUARTER_ACTUAL,
    ),
    KpiSpec(
        "forecast_board",
        "Volume forecast error, quarter",
        Unit.PERCENT,
        Direction.AT_MOST,
        "forecast.target_board",
        chapter="Lead volume predictability: Target ±5% forecast accuracy",
        definition=(
            "|Σ forecast − Σ actual| ÷ Σ actual of the portfolio's leads over the quarter, "
            "for forecasts made before it began"
        ),
        basis=Basis.FORECAST_LOG,
    ),
    KpiSpec(
        "forecast_monthly",
        "Volume forecast error, monthly",
        Unit.PERCENT,
        Direction.AT_MOST,
        "forecast.target_monthly",
        chapter="Volume forecasting: Target ±10% monthly accuracy",
        definition="The mean over the quarter's months of |forecast − actual| ÷ actual leads",
        basis=Basis.FORECAST_LOG,
    ),
    KpiSpec(
        "quality_consistency",
        "Quality score consistency",
        Unit.PERCENT,
        Direction.AT_LEAST,
        "board.quality_consistency",
        chapter="Quality consistency: Target >90% quality score maintenance",
        definition=(
            "1 − the lead-weighted gap between the predicted and the realised conversion of "
            "each source, as a share of the realised"
        ),
        basis=Basis.LEAD_SCORES,
    ),
    KpiSpec(
        "capacity_utilisation",
        "Sales capacity utilisation",
        Unit.PERCENT,
        Direction.NEAR,
        "board.capacity_utilisation",
        "board.capacity_tolerance",
        chapter="Capacity utilization: Target 85% optimal utilization",
        definition="Monthly leads ÷ what the productive sales reps can work (reps × leads per rep)",
        basis=Basis.RUN_RATE,
    ),
    KpiSpec(
        "vendor_health",
        "Average vendor health (1–5)",
        Unit.SCORE,
        Direction.AT_LEAST,
        "board.vendor_health",
        chapter="Vendor relationship health: Target >4.5/5 average score",
        definition="The mean health score (1–5) of the third-party vendors in use",
        basis=Basis.RUN_RATE,
    ),
    KpiSpec(
        "largest_share",
        "Largest single-source share of spend",
        Unit.PERCENT,
        Direction.AT_MOST,
        "policy.max_source_share",
        chapter="Portfolio diversification: Target <40% dependence on any single source",
        definition="The largest single source's share of today's spend",
        basis=Basis.RUN_RATE,
    ),
    KpiSpec(
        "high_risk_share",
        "High-risk share of spend",
        Unit.PERCENT,
        Direction.WITHIN,
        "bands.high_risk.max",
        chapter="Risk management: Target <15% high-risk allocation",
        floor_key="bands.high_risk.min",
        definition="The High-risk class's share of today's spend",
        basis=Basis.RUN_RATE,
    ),
    KpiSpec(
        "experimental_share",
        "Experimental share of spend",
        Unit.PERCENT,
        Direction.AT_LEAST,
        "policy.experimental_floor",
        chapter="Innovation pipeline: Target >10% experimental source allocation",
        definition="The share of today's spend on Tier 3 or testing sources",
        basis=Basis.RUN_RATE,
    ),
    KpiSpec(
        "first_party_share",
        "First-party share of leads",
        Unit.PERCENT,
        Direction.INFO,
        chapter="First-party leads: 28% of volume (up from 22%); long-term 50/50",
        definition="The share of today's monthly leads from our own channels",
        basis=Basis.RUN_RATE,
    ),
    KpiSpec(
        "active_sources",
        "Active sources",
        Unit.COUNT,
        Direction.AT_MOST,
        "board.max_active_sources",
        chapter="Over-diversification: more than 15 active lead sources",
        definition="How many sources are not paused",
        basis=Basis.RUN_RATE,
    ),
)


KPI_KEYS = tuple(s.key for s in KPI_SPECS)


_SPECS = {s.key: s for s in KPI_SPECS}


HISTORY_KPIS = frozenset({"roi", "blended_cpl", "blended_cpa", "revenue_per_lead"})


"""KPIs that History alone gives for any past quarter (their trend needs no saved pack)."""


def kpi_spec(key: str) -> KpiSpec:
    """The spec of KPI ``key``; an unknown key is an error naming the nearest and all keys.

    Examples
    --------
    >>> kpi_spec("largest_share").target_key
    'policy.max_source_share'
    """
    try:
        return _SPECS[key]
    except KeyError:
        near = difflib.get_close_matches(str(key), KPI_KEYS, n=1)
        hint = f" — did you mean {near[0]!r}?" if near else ""
        raise BoardInputError(f"unknown KPI {key!r}{hint} (KPIs: {', '.join(KPI_KEYS)})") from None


def status_of(
    value: float | None,
    target: float | None,
    direction: Direction,
    margin: float,
    tolerance: float = 0.0,
    floor: float | None = None,
) -> KpiStatus:
    """A value's status against its target, with the watch margin (a share of the target);
    a band (:attr:`Direction.WITHIN`) checks its ``floor`` as well.

    Examples
    --------
    >>> status_of(3.0, 3.0, Direction.AT_LEAST, 0.10)   # exactly at target
    <KpiStatus.ON: 'on target'>
    >>> status_of(2.7, 3.0, Direction.AT_LEAST, 0.10)   # 10 % short: the edge of "watch"
    <KpiStatus.WATCH: 'watch'>
    >>> status_of(2.69, 3.0, Direction.AT_LEAST, 0.10)
    <KpiStatus.OFF: 'off target'>
    >>> status_of(0.77, 0.85, Direction.NEAR, 0.10, tolerance=0.05)
    <KpiStatus.WATCH: 'watch'>
    >>> status_of(None, 3.0, Direction.AT_LEAST, 0.10)
    <KpiStatus.NA: 'not available'>
    >>> status_of(0.0, 0.15, Direction.WITHIN, 0.10, floor=0.10)   # below its 10–15 % band
    <KpiStatus.OFF: 'off target'>
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return KpiStatus.NA
    if direction is Direction.INFO or target is None:
        return KpiStatus.INFO
    if direction is Direction.AT_LEAST:
        miss = target - value
    elif direction is Direction.AT_MOST:
        miss = value - target
    elif direction is Direction.WITHIN:
        miss = max(value - target, (floor if floor is not None else value) - value)
    else:
        miss = abs(value - target) - tolerance
    if miss <= EPS:
        return KpiStatus.ON
    if miss <= margin * abs(target) + EPS:
        return KpiStatus.WATCH
    return KpiStatus.OFF


def usd(amount: float) -> str:
    return f"${amount:,.0f}"
