"""Board KPIs: the chapter's targets, the quarter's figures, their status, trend and pitfalls.

Every KPI the chapter's "Measuring Success" sets a target for is computed from explicit
inputs (:class:`BoardInputs`) and read against its target from Settings:

- **on target** when it meets the target (meeting it exactly counts);
- **watch** when it misses by at most the watch margin (a share of the target, Settings
  ``board.watch_margin``, 10 % by default: ROI 270 % against 300 % is "watch");
- **off target** beyond that; **not available** when an input is missing (the KPI says
  which and why — never a made-up number); **for information** when the chapter sets no target.

Portfolio ROI is measured on contribution — revenue × the gross margin on Settings, less the
cost to serve each customer won — against the lead spend, so the chapter's "> 300 %" target
reads against what the business keeps, not its revenue.

Capacity utilisation's 85 % is an optimum, not a floor: it is on target within ± the
capacity tolerance and "watch" within a further watch margin.

The chapter's "cost per acquisition < $85" is, by its own figures ($127 → $79), a cost per
*lead*; leadbook's CPA is a cost per customer. So the $85 target is read against the blended
cost per lead, labelled as such, and the true cost per customer is shown beside it.
"""

from __future__ import annotations

import difflib
import enum
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from leadbook.enums import Party, RiskClass, Status, Tier
from leadbook.errors import LeadbookError
from leadbook.portfolio.classify import classify
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import Settings

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


# --- Quarters ---------------------------------------------------------------------------

_QUARTER = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Qq]\s*(\d+)\s*$")
_QUARTER_FIRST = re.compile(r"^\s*[Qq]\s*(\d+)\s*[-/ ]?\s*(\d{4})\s*$")
YEARS = (2000, 2100)


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter.

    Examples
    --------
    >>> q = Quarter.parse("2026Q4")
    >>> str(q), q.long, q.shifted(-4).label
    ('2026Q4', 'Q4 2026', '2025Q4')
    >>> [m.strftime("%b") for m in q.months]
    ['Oct', 'Nov', 'Dec']
    >>> Quarter.parse("2026Q5")
    Traceback (most recent call last):
    ...
    leadbook.board.kpis.BoardInputError: quarter '2026Q5': a year has quarters 1 to 4
    """

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise BoardInputError(f"quarter {self.year}Q{self.number}: a year has quarters 1 to 4")

    @classmethod
    def parse(cls, text: object) -> Quarter:
        """A quarter from ``2026Q4`` (also ``2026-Q4``, ``Q4 2026``)."""
        raw = str(text)
        match = _QUARTER.match(raw)
        year, number = (match.group(1), match.group(2)) if match else (None, None)
        if match is None and (match := _QUARTER_FIRST.match(raw)):
            number, year = match.group(1), match.group(2)
        if year is None or number is None:
            raise BoardInputError(
                f"quarter {raw!r} is not a quarter; write it as year, Q, number: 2026Q4"
            )
        if not 1 <= int(number) <= 4:
            raise BoardInputError(f"quarter {raw!r}: a year has quarters 1 to 4")
        if not YEARS[0] <= int(year) < YEARS[1]:
            raise BoardInputError(
                f"quarter {raw!r}: the year must lie in {YEARS[0]}–{YEARS[1] - 1}"
            )
        return cls(int(year), int(number))

    @classmethod
    def of(cls, month: object) -> Quarter:
        """The quarter a date falls in."""
        stamp = pd.Timestamp(month)
        return cls(stamp.year, (stamp.month - 1) // 3 + 1)

    @property
    def months(self) -> tuple[pd.Timestamp, ...]:
        """The first day of each of its three months."""
        first = 3 * (self.number - 1) + 1
        return tuple(pd.Timestamp(self.year, first + i, 1) for i in range(3))

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def long(self) -> str:
        return f"Q{self.number} {self.year}"

    def shifted(self, quarters: int) -> Quarter:
        """The quarter ``quarters`` later (earlier when negative)."""
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    def __str__(self) -> str:
        return self.label


def latest_quarter(history: pd.DataFrame) -> Quarter | None:
    """The quarter of the last month in History (None when History is empty).

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> latest_quarter(demo_inventory().history)
    Quarter(year=2026, number=4)
    """
    if history.empty:
        return None
    return Quarter.of(history["month"].max())


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


# --- Inputs -------------------------------------------------------------------------------

MISSING: dict[str, str] = {
    "allocation": "no recommended allocation yet: press Rebalance (allocation release)",
    "forecast_log": "no forecast log yet: Refresh forecast keeps one (planning release)",
    "roi_12m": "no 12-month ROI yet: it comes with the ROI tab (planning release)",
    "quality_consistency": "no lead scores yet: Score leads fills them (qualification release)",
}
"""Why an optional input is missing, unless the gatherer gives a more precise reason."""


@dataclass(frozen=True)
class BoardInputs:
    """Everything the board KPIs are computed from; ``None`` means not available.

    ``inventory`` and ``settings`` come from the workbook's input tabs and are always there.
    The optional inputs come from later capabilities (see docs/board.md for the wiring):

    - ``allocation``: the recommended allocation by source, with columns ``recommended``
      (spend) and optionally ``leads`` (Allocation.table of the allocation engine);
    - ``forecast_log``: the forecast log with ``made, month, source, measure, forecast,
      actual`` (leadbook.planning.forecast's log);
    - ``roi_12m``: the portfolio's 12-month ROI with lifetime value (leadbook.planning.roi);
    - ``quality_consistency``: lead-score consistency, 0–1 (leadbook.leads.model; see
      :func:`quality_consistency_of`);
    - ``sales_reps``: productive reps this quarter from a hiring plan (else Settings'
      ``capacity.sales_reps``);
    - ``saved``: the Board history table — each exported quarter's KPI values.

    ``reasons`` says why an optional input is None (defaults in :data:`MISSING`).
    """

    quarter: Quarter
    inventory: Inventory
    settings: Settings
    allocation: pd.DataFrame | None = None
    forecast_log: pd.DataFrame | None = None
    roi_12m: float | None = None
    quality_consistency: float | None = None
    sales_reps: float | None = None
    saved: pd.DataFrame | None = None
    reasons: Mapping[str, str] = field(default_factory=dict)

    def reason(self, name: str) -> str:
        """Why the optional input ``name`` is not available."""
        return self.reasons.get(name, MISSING.get(name, f"{name} is not available"))

    @cached_property
    def classes(self) -> pd.DataFrame:
        return classify(self.inventory, self.settings)

    @cached_property
    def in_use(self) -> pd.DataFrame:
        """Sources that are not paused."""
        src = self.inventory.sources
        return src[src["status"] != Status.PAUSED]

    @cached_property
    def experimental(self) -> pd.Series:
        """Whether each source is experimental: Tier 3 or testing (as the policy counts it)."""
        src = self.inventory.sources
        return (self.classes["tier"] == Tier.T3) | (src["status"] == Status.TESTING)


@dataclass(frozen=True)
class Actuals:
    """A quarter's totals from History: the months found, spend, leads, customers, revenue."""

    months: tuple[pd.Timestamp, ...]
    spend: float
    leads: float
    customers: float
    revenue: float
    first_party_spend: float

    @property
    def coverage(self) -> str:
        """Which months the figures cover, e.g. 'Oct 2026 (1 of 3 months)'."""
        names = ", ".join(m.strftime("%b %Y") for m in self.months)
        return names if len(self.months) == 3 else f"{names} ({len(self.months)} of 3 months)"


def quarter_actuals(inventory: Inventory, quarter: Quarter) -> Actuals | None:
    """The quarter's totals from History; None when History has no month of it.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> a = quarter_actuals(demo_inventory(), Quarter(2026, 3))
    >>> a.coverage, a.leads > 0
    ('Jul 2026, Aug 2026, Sep 2026', True)
    >>> quarter_actuals(demo_inventory(), Quarter(2027, 1)) is None
    True
    """
    history = inventory.history
    rows = history[history["month"].isin(quarter.months)]
    if rows.empty:
        return None
    party = inventory.sources["party"].reindex(rows["source"]).to_numpy()
    return Actuals(
        months=tuple(sorted(pd.Timestamp(m) for m in rows["month"].unique())),
        spend=float(rows["spend"].sum()),
        leads=float(rows["leads"].sum()),
        customers=float(rows["customers"].sum()),
        revenue=float(rows["revenue"].sum()),
        first_party_spend=float(rows["spend"].to_numpy()[party == Party.FIRST].sum()),
    )


# --- Readings: one small function per KPI ---------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """A KPI's value (None: not available), how it was computed or why not, and from where."""

    value: float | None
    basis: str
    source: str
    planned: float | None = None


def _na(reason: str, source: str = "not available") -> Reading:
    return Reading(None, reason, source)


def _from_history(inputs: BoardInputs, what: Callable[[Actuals], Reading]) -> Reading:
    actuals = quarter_actuals(inputs.inventory, inputs.quarter)
    if actuals is None:
        return _na(f"History has no month of {inputs.quarter.long}", "History")
    return what(actuals)


def _roi(inputs: BoardInputs) -> Reading:
    rules = inputs.settings.roi

    def read(a: Actuals) -> Reading:
        if a.spend <= 0:
            return _na(f"no spend in History for {a.coverage}", "History")
        kept = rules.gross_margin * a.revenue - rules.cost_to_serve * a.customers
        serve = (
            f" − cost to serve {_usd(rules.cost_to_serve)} × {a.customers:,.0f} customers"
            if rules.cost_to_serve
            else ""
        )
        return Reading(
            (kept - a.spend) / a.spend,
            f"(revenue {_usd(a.revenue)} × gross margin {rules.gross_margin:.0%}{serve} − "
            f"spend {_usd(a.spend)}) ÷ spend; {a.coverage}",
            "History",
        )

    return _from_history(inputs, read)


def _roi_12m(inputs: BoardInputs) -> Reading:
    if inputs.roi_12m is None:
        return _na(inputs.reason("roi_12m"))
    margin = inputs.settings.roi.gross_margin
    return Reading(
        inputs.roi_12m,
        f"12-month cohort ROI with lifetime value, on contribution (gross margin {margin:.0%})",
        "ROI",
    )


def _blended_cpl(inputs: BoardInputs) -> Reading:
    def read(a: Actuals) -> Reading:
        if a.leads <= 0:
            return _na(f"no leads in History for {a.coverage}", "History")
        return Reading(
            a.spend / a.leads,
            f"spend {_usd(a.spend)} ÷ {a.leads:,.0f} leads; {a.coverage}. The strategy's "
            "'CPA < $85' target is a cost per lead",
            "History",
        )

    return _from_history(inputs, read)


def _blended_cpa(inputs: BoardInputs) -> Reading:
    def read(a: Actuals) -> Reading:
        if a.customers <= 0:
            return _na(f"no customers in History for {a.coverage}", "History")
        return Reading(
            a.spend / a.customers,
            f"spend {_usd(a.spend)} ÷ {a.customers:,.0f} customers; {a.coverage}",
            "History",
        )

    return _from_history(inputs, read)


def _revenue_per_lead(inputs: BoardInputs) -> Reading:
    def read(a: Actuals) -> Reading:
        if a.leads <= 0:
            return _na(f"no leads in History for {a.coverage}", "History")
        return Reading(
            a.revenue / a.leads,
            f"revenue {_usd(a.revenue)} ÷ {a.leads:,.0f} leads; {a.coverage}",
            "History",
        )

    return _from_history(inputs, read)


def _budget_utilisation(inputs: BoardInputs) -> Reading:
    budget = inputs.settings.policy.budget
    if not budget:
        return _na("no monthly budget on Settings (Budget is blank)", "Settings")
    spend = float(inputs.inventory.sources["spend"].sum())
    planned = None
    if inputs.allocation is not None:
        planned = float(inputs.allocation["recommended"].sum()) / budget
    return Reading(
        spend / budget,
        f"today's monthly spend {_usd(spend)} ÷ budget {_usd(budget)}",
        "Sources, Settings",
        planned,
    )


def _forecast(which: str) -> Callable[[BoardInputs], Reading]:
    def read(inputs: BoardInputs) -> Reading:
        if inputs.forecast_log is None:
            return _na(inputs.reason("forecast_log"))
        errors = forecast_errors(inputs.forecast_log, inputs.quarter)
        if errors is None:
            return _na(
                f"the forecast log has no portfolio lead forecast made by the start of "
                f"{inputs.quarter.long} with actuals to compare",
                "Forecast",
            )
        value = errors.quarter if which == "quarter" else errors.monthly
        how = (
            "|forecast − actual| ÷ actual of the quarter's leads"
            if which == "quarter"
            else "mean of the months' |forecast − actual| ÷ actual"
        )
        return Reading(value, f"{how}; {errors.basis}", "Forecast")

    return read


def _quality(inputs: BoardInputs) -> Reading:
    if inputs.quality_consistency is None:
        return _na(inputs.reason("quality_consistency"))
    return Reading(
        inputs.quality_consistency,
        "1 − lead-weighted gap between predicted and realised conversion",
        "Leads",
    )


def _capacity(inputs: BoardInputs) -> Reading:
    cap = inputs.settings.capacity
    reps = cap.sales_reps if inputs.sales_reps is None else inputs.sales_reps
    capacity = reps * cap.leads_per_rep
    if capacity <= 0:
        return _na("Settings has no sales capacity (SalesReps × LeadsPerRep is 0)", "Settings")
    leads = float(inputs.inventory.sources["leads"].sum())
    planned = None
    if inputs.allocation is not None and "leads" in inputs.allocation:
        planned = float(inputs.allocation["leads"].sum()) / capacity
    where = "hiring plan" if inputs.sales_reps is not None else "Settings"
    return Reading(
        leads / capacity,
        f"{leads:,.0f} leads a month ÷ ({reps:g} reps × {cap.leads_per_rep:g} leads per rep)",
        f"Sources, {where}",
        planned,
    )


def _vendor_health(inputs: BoardInputs) -> Reading:
    third = inputs.in_use[inputs.in_use["party"] == Party.THIRD]
    if third.empty:
        return _na("no third-party vendor in use", "Sources")
    by_vendor = third.groupby("vendor")["health"].mean()
    return Reading(
        float(by_vendor.mean()),
        f"mean over {len(by_vendor)} third-party vendors in use "
        f"(lowest: {by_vendor.idxmin()} {by_vendor.min():.1f})",
        "Sources",
    )


def _spend_share(inputs: BoardInputs, mask: pd.Series, what: str) -> Reading:
    spend = inputs.inventory.sources["spend"]
    total = float(spend.sum())
    if total <= 0:
        return _na("no current spend on Sources", "Sources")
    amount = float(spend[mask].sum())
    return Reading(
        amount / total,
        f"{what}: {_usd(amount)} of {_usd(total)} a month",
        "Sources, Tiers",
        _planned_share(inputs, mask),
    )


def _planned_share(inputs: BoardInputs, mask: pd.Series) -> float | None:
    if inputs.allocation is None:
        return None
    recommended = inputs.allocation["recommended"]
    total = float(recommended.sum())
    chosen = mask[mask].index.intersection(recommended.index)
    return float(recommended[chosen].sum()) / total if total > 0 else None


def _largest_share(inputs: BoardInputs) -> Reading:
    spend = inputs.inventory.sources["spend"]
    total = float(spend.sum())
    if total <= 0:
        return _na("no current spend on Sources", "Sources")
    top = spend.idxmax()
    planned = None
    if inputs.allocation is not None:
        recommended = inputs.allocation["recommended"]
        planned = float(recommended.max() / recommended.sum()) if recommended.sum() > 0 else None
    return Reading(
        float(spend[top] / total),
        f"{top}: {_usd(spend[top])} of {_usd(total)} a month",
        "Sources",
        planned,
    )


def _high_risk(inputs: BoardInputs) -> Reading:
    mask = inputs.classes["risk"] == RiskClass.HIGH
    return _spend_share(inputs, mask, f"{int(mask.sum())} high-risk sources")


def _experimental_share(inputs: BoardInputs) -> Reading:
    mask = inputs.experimental
    return _spend_share(inputs, mask, f"{int(mask.sum())} Tier 3 or testing sources")


def _first_party(inputs: BoardInputs) -> Reading:
    src = inputs.inventory.sources
    leads = float(src["leads"].sum())
    if leads <= 0:
        return _na("no monthly leads on Sources", "Sources")
    first = src["party"] == Party.FIRST
    spend = float(src["spend"].sum())
    spend_note = f"; {src['spend'][first].sum() / spend:.1%} of spend" if spend > 0 else ""
    return Reading(
        float(src["leads"][first].sum()) / leads,
        f"{src['leads'][first].sum():,.0f} of {leads:,.0f} leads a month{spend_note}",
        "Sources",
    )


def _active_sources(inputs: BoardInputs) -> Reading:
    count = len(inputs.in_use)
    return Reading(float(count), f"{count} sources not paused", "Sources")


READINGS: dict[str, Callable[[BoardInputs], Reading]] = {
    "roi": _roi,
    "roi_12m": _roi_12m,
    "blended_cpl": _blended_cpl,
    "blended_cpa": _blended_cpa,
    "budget_utilisation": _budget_utilisation,
    "revenue_per_lead": _revenue_per_lead,
    "forecast_board": _forecast("quarter"),
    "forecast_monthly": _forecast("monthly"),
    "quality_consistency": _quality,
    "capacity_utilisation": _capacity,
    "vendor_health": _vendor_health,
    "largest_share": _largest_share,
    "high_risk_share": _high_risk,
    "experimental_share": _experimental_share,
    "first_party_share": _first_party,
    "active_sources": _active_sources,
}


# --- KPIs with status and trend --------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """A KPI's value in an earlier quarter (None where nothing is known)."""

    quarter: Quarter
    value: float | None


@dataclass(frozen=True)
class Kpi:
    """A KPI for a quarter: value, target, status, how it was computed, and its trend."""

    spec: KpiSpec
    quarter: Quarter
    value: float | None
    target: float | None
    tolerance: float
    status: KpiStatus
    basis: str
    source: str
    planned: float | None = None
    trend: tuple[TrendPoint, ...] = ()
    floor: float | None = None
    """A band's lower end (:attr:`Direction.WITHIN`)."""

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def available(self) -> bool:
        return self.value is not None

    @property
    def previous(self) -> float | None:
        """The value of the quarter before (None if unknown)."""
        before = self.quarter.shifted(-1)
        return next((p.value for p in self.trend if p.quarter == before), None)

    @property
    def trend_word(self) -> str:
        """improving / worsening / steady against the previous quarter, the figure shown
        beside it (for KPIs without a target: rising / falling); with the previous quarter
        unknown, against the latest known one, which it names; 'new' when none is known."""
        earlier = [p for p in self.trend if p.value is not None]
        if self.value is None:
            return ""
        if not earlier:
            return "new"
        last = earlier[-1]
        word = trend_word(last.value, self.value, self.spec.direction, self.target, self.floor)
        return word if last.quarter == self.quarter.shifted(-1) else f"{word} since {last.quarter}"


def trend_word(
    before: float,
    now: float,
    direction: Direction,
    target: float | None,
    floor: float | None = None,
) -> str:
    """How a KPI moved from ``before`` to ``now``, read by its direction (a band's by how
    far outside it each lies).

    Examples
    --------
    >>> trend_word(85.0, 80.0, Direction.AT_MOST, 85.0)
    'improving'
    >>> trend_word(0.22, 0.20, Direction.INFO, None)
    'falling'
    >>> trend_word(100.0, 100.5, Direction.AT_LEAST, 150.0)
    'steady'
    """
    if abs(now - before) <= STEADY * abs(before) + EPS:
        return "steady"
    if direction is Direction.INFO or target is None:
        return "rising" if now > before else "falling"
    if direction is Direction.NEAR:
        better = abs(now - target) < abs(before - target)
    elif direction is Direction.WITHIN:
        low = floor if floor is not None else -math.inf
        outside = [max(v - target, low - v, 0.0) for v in (before, now)]
        if outside[0] == outside[1]:
            return "steady"
        better = outside[1] < outside[0]
    else:
        better = (now > before) == (direction is Direction.AT_LEAST)
    return "improving" if better else "worsening"


def target_of(spec: KpiSpec, settings: Settings) -> tuple[float | None, float]:
    """A KPI's target and tolerance from Settings.

    Examples
    --------
    >>> target_of(kpi_spec("capacity_utilisation"), Settings())
    (0.85, 0.05)
    >>> target_of(kpi_spec("blended_cpa"), Settings())
    (None, 0.0)
    """
    target = None if spec.target_key is None else float(settings.get(spec.target_key))
    tolerance = 0.0 if spec.tolerance_key is None else float(settings.get(spec.tolerance_key))
    return target, tolerance


def compute_kpi(key: str, inputs: BoardInputs, *, with_trend: bool = True) -> Kpi:
    """One KPI for ``inputs.quarter``: value, target, status and (optionally) the trend.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> inputs = BoardInputs(Quarter(2026, 4), demo_inventory(), demo_settings())
    >>> k = compute_kpi("largest_share", inputs)
    >>> round(k.value, 3), k.target, k.status.value
    (0.437, 0.4, 'watch')
    >>> compute_kpi("forecast_board", inputs).basis
    'no forecast log yet: Refresh forecast keeps one (planning release)'
    """
    spec = kpi_spec(key)
    reading = READINGS[key](inputs)
    target, tolerance = target_of(spec, inputs.settings)
    floor = None if spec.floor_key is None else float(inputs.settings.get(spec.floor_key))
    status = status_of(
        reading.value, target, spec.direction, inputs.settings.board.watch_margin, tolerance, floor
    )
    trend = _trend(key, inputs) if with_trend else ()
    return Kpi(
        spec,
        inputs.quarter,
        reading.value,
        target,
        tolerance,
        status,
        reading.basis,
        reading.source,
        reading.planned,
        trend,
        floor,
    )


def board_kpis(inputs: BoardInputs) -> list[Kpi]:
    """Every board KPI for ``inputs.quarter``, in the order of :data:`KPI_SPECS`.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> kpis = board_kpis(BoardInputs(Quarter(2026, 4), demo_inventory(), demo_settings()))
    >>> [(k.key, k.status.value) for k in kpis][:3]
    [('roi', 'off target'), ('roi_12m', 'not available'), ('blended_cpl', 'off target')]
    """
    return [compute_kpi(key, inputs) for key in KPI_KEYS]


def _trend(key: str, inputs: BoardInputs) -> tuple[TrendPoint, ...]:
    """Earlier quarters, oldest first: the value saved by that quarter's export, else (for
    History KPIs) the value History gives for it."""
    n = inputs.settings.board.trend_quarters
    saved = _saved_values(inputs.saved, key)
    points = []
    for back in range(n - 1, 0, -1):
        quarter = inputs.quarter.shifted(-back)
        value = saved.get(quarter.label)
        if value is None and key in HISTORY_KPIS:
            value = READINGS[key](replace(inputs, quarter=quarter)).value
        points.append(TrendPoint(quarter, value))
    return tuple(points)


def _saved_values(saved: pd.DataFrame | None, key: str) -> dict[str, float]:
    if saved is None or saved.empty or key not in saved:
        return {}
    out = {}
    for quarter, value in zip(saved["quarter"], saved[key], strict=True):
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            out[str(quarter)] = float(value)
    return out


def kpi(
    name: str, inventory: Inventory, settings: Settings | None = None, quarter: object = None
) -> Kpi:
    """One KPI from the workbook's input tables: the core of the ``LB.KPI`` cell function.

    ``quarter`` defaults to the quarter of History's last month. KPIs that need a later
    capability (forecast log, lead scores, 12-month ROI) come back not available, with why.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> k = kpi("blended_cpl", demo_inventory(), demo_settings(), "2026Q3")
    >>> k.status.value, k.source
    ('off target', 'History')
    >>> kpi("vendor_heath", demo_inventory())
    Traceback (most recent call last):
    ...
    leadbook.board.kpis.BoardInputError: unknown KPI 'vendor_heath' — did you \
mean 'vendor_health'? ...
    """
    spec = kpi_spec(name)
    settings = settings or Settings()
    when = (
        Quarter.parse(quarter)
        if quarter is not None
        else latest_quarter(inventory.history) or Quarter.of(pd.Timestamp.today())
    )
    return compute_kpi(spec.key, BoardInputs(when, inventory, settings), with_trend=False)


# --- Forecast accuracy, quality consistency (pure helpers for the later capabilities) --------


@dataclass(frozen=True)
class ForecastErrors:
    """The quarter's portfolio lead-volume forecast errors, and what they compare."""

    quarter: float
    monthly: float
    basis: str


def forecast_errors(log: pd.DataFrame, quarter: Quarter) -> ForecastErrors | None:
    """Errors of the portfolio's lead-volume forecast for ``quarter``, from a forecast log.

    The forecast judged is the latest one made by the quarter's first month (the one the
    board had going into the quarter), for the quarter's months that have actuals. The
    quarter's error is ``|Σ forecast − Σ actual| ÷ Σ actual``; the monthly error is the mean of
    ``|forecast − actual| ÷ actual`` over those months. None when nothing can be compared.

    Examples
    --------
    >>> oct_, nov = pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-01")
    >>> log = pd.DataFrame({"made": [oct_, oct_], "month": [oct_, nov],
    ...     "source": "Portfolio", "measure": "leads",
    ...     "forecast": [2000.0, 2100.0], "actual": [2100.0, 2000.0]})
    >>> e = forecast_errors(log, Quarter(2026, 4))
    >>> round(e.quarter, 4), round(e.monthly, 4)
    (0.0, 0.0488)
    """
    rows = log[
        (log["source"] == FORECAST_PORTFOLIO)
        & (log["measure"] == "leads")
        & pd.to_datetime(log["month"]).isin(quarter.months)
        & (pd.to_datetime(log["made"]) <= quarter.months[0])
        & pd.to_numeric(log["actual"], errors="coerce").gt(0)
    ]
    if rows.empty:
        return None
    made = pd.to_datetime(rows["made"]).max()
    rows = rows[pd.to_datetime(rows["made"]) == made]
    forecast = rows["forecast"].astype(float).to_numpy()
    actual = rows["actual"].astype(float).to_numpy()
    months = ", ".join(pd.to_datetime(rows["month"]).dt.strftime("%b %Y"))
    return ForecastErrors(
        quarter=float(abs(forecast.sum() - actual.sum()) / actual.sum()),
        monthly=float(np.mean(np.abs(forecast - actual) / actual)),
        basis=f"forecast made {made:%b %Y} for {months}",
    )


def quality_consistency_of(sources: pd.DataFrame) -> float | None:
    """Lead-score consistency from per-source quality: ``1 − Σ wᵢ·|pᵢ − cᵢ| / cᵢ`` with weights
    ``wᵢ`` the sources' shares of open leads, ``pᵢ`` their leads' mean predicted conversion
    and ``cᵢ`` their realised conversion. 1 means the scores match the track record exactly.

    ``sources`` has columns ``leads``, ``predicted`` and ``conversion``; rows without leads
    or realised conversion are left out. None when no row is left.

    Examples
    --------
    >>> quality_consistency_of(pd.DataFrame({"leads": [300, 100],
    ...     "predicted": [0.15, 0.24], "conversion": [0.15, 0.20]}))
    0.95
    """
    rows = sources[(sources["leads"] > 0) & (sources["conversion"] > 0)].dropna(
        subset=["leads", "predicted", "conversion"]
    )
    if rows.empty:
        return None
    weights = rows["leads"] / rows["leads"].sum()
    gap = (rows["predicted"] - rows["conversion"]).abs() / rows["conversion"]
    return float(1.0 - (weights * gap).sum())


# --- Pitfalls -----------------------------------------------------------------------------------


class Shows(enum.StrEnum):
    """Whether the data shows a pitfall's warning sign."""

    WARNING = "warning"
    CLEAR = "clear"
    NA = "not available"


@dataclass(frozen=True)
class Pitfall:
    """One of the chapter's warning signs, whether the data shows it, and the evidence."""

    key: str
    label: str
    shows: Shows
    evidence: str
    advice: str


def _over_diversified(inputs: BoardInputs) -> Pitfall:
    rules = inputs.settings.board
    active = len(inputs.in_use)
    leads = inputs.in_use["leads"].sort_values(ascending=False)
    total = float(leads.sum())
    core = int((leads.cumsum() < 0.8 * total - EPS).sum()) + 1 if total > 0 else 0
    warn = active > rules.max_active_sources or core > rules.core_sources
    return Pitfall(
        "over_diversification",
        "Over-diversification: too many sources to manage",
        Shows.WARNING if warn else Shows.CLEAR,
        f"{active} active sources (warning above {rules.max_active_sources}); {core} carry "
        f"80 % of leads (advised: 5–{rules.core_sources} core sources)",
        "Focus on 5–8 core sources that drive 80 % of volume; prune and consolidate.",
    )


def _over_dependent(inputs: BoardInputs) -> Pitfall:
    spend = inputs.inventory.sources["spend"]
    total = float(spend.sum())
    advice = "Keep minimum allocations for strategic initiatives; cap any one source."
    label = "Over-dependence on a few high-performing sources"
    if total <= 0:
        return Pitfall("over_dependence", label, Shows.NA, "no current spend on Sources", advice)
    shares = spend / total
    effective = 1.0 / float((shares**2).sum())
    policy = inputs.settings.policy
    top = shares.idxmax()
    warn = effective < policy.min_active_sources or shares[top] > policy.max_source_share + EPS
    return Pitfall(
        "over_dependence",
        label,
        Shows.WARNING if warn else Shows.CLEAR,
        f"spend is as concentrated as {effective:.1f} equal sources (policy: at least "
        f"{policy.min_active_sources}); largest {top} {shares[top]:.1%} "
        f"(cap {policy.max_source_share:.0%})",
        advice,
    )


def _no_experiments(inputs: BoardInputs) -> Pitfall:
    spend = inputs.inventory.sources["spend"]
    total = float(spend.sum())
    label = "Lack of experimental budget for new sources"
    advice = "Hold at least the experimental floor for Tier 3 and testing sources."
    if total <= 0:
        return Pitfall("no_experiments", label, Shows.NA, "no current spend on Sources", advice)
    share = float(spend[inputs.experimental].sum()) / total
    floor = inputs.settings.policy.experimental_floor
    return Pitfall(
        "no_experiments",
        label,
        Shows.WARNING if share < floor - EPS else Shows.CLEAR,
        f"experimental sources get {share:.1%} of spend (floor {floor:.0%}); "
        f"{int(inputs.experimental.sum())} Tier 3 or testing sources",
        advice,
    )


def _first_party_declining(inputs: BoardInputs) -> Pitfall:
    label = "Declining investment in first-party lead generation"
    advice = "Year 1: 15 % of budget to first-party development, rising toward a 50/50 mix."
    quarters = [inputs.quarter.shifted(-k) for k in (2, 1, 0)]
    shares = []
    for q in quarters:
        a = quarter_actuals(inputs.inventory, q)
        shares.append(None if a is None or a.spend <= 0 else a.first_party_spend / a.spend)
    if any(s is None for s in shares):
        missing = ", ".join(q.long for q, s in zip(quarters, shares, strict=True) if s is None)
        return Pitfall(
            "first_party_declining",
            label,
            Shows.NA,
            f"History has no spend for {missing} (needs three quarters)",
            advice,
        )
    falling = shares[0] > shares[1] + EPS and shares[1] > shares[2] + EPS
    path = " → ".join(f"{s:.1%}" for s in shares)
    return Pitfall(
        "first_party_declining",
        label,
        Shows.WARNING if falling else Shows.CLEAR,
        f"first-party share of spend {path} ({quarters[0].long} to {quarters[-1].long})",
        advice,
    )


def _capped_preferred(inputs: BoardInputs) -> Pitfall:
    core = inputs.in_use[inputs.classes.loc[inputs.in_use.index, "tier"] == Tier.T1]
    label = "Preferred sources at their volume caps (no room to scale)"
    advice = "Develop Tier 2 and new sources before the core runs out of volume."
    if core.empty:
        return Pitfall("capped_preferred", label, Shows.NA, "no Tier 1 source in use", advice)
    headroom = 1 - core["leads"] / core["volume_cap"].where(core["volume_cap"] > 0)
    tight = headroom[headroom < PREFERRED_HEADROOM - EPS]
    evidence = (
        "; ".join(f"{n} {h:.0%} headroom" for n, h in tight.items())
        if len(tight)
        else f"Tier 1 sources have {headroom.min():.0%}–{headroom.max():.0%} headroom "
        "below their volume caps"
    )
    return Pitfall(
        "capped_preferred",
        label,
        Shows.WARNING if len(tight) else Shows.CLEAR,
        evidence,
        advice,
    )


def _vendor_neglect(inputs: BoardInputs) -> Pitfall:
    floor = inputs.settings.classify.high_risk_max_health
    third = inputs.in_use[inputs.in_use["party"] == Party.THIRD]
    label = "Vendor relationship neglect"
    advice = "Keep scorecards, regular reviews and partnership plans with every vendor."
    if third.empty:
        return Pitfall("vendor_neglect", label, Shows.NA, "no third-party vendor in use", advice)
    weak = third[third["health"] < floor - EPS]
    now = float(third.groupby("vendor")["health"].mean().mean())
    before = _saved_values(inputs.saved, "vendor_health").get(inputs.quarter.shifted(-1).label)
    fell = before is not None and now < before - EPS
    parts = [f"{n} ({r['vendor']}) health {r['health']:.1f}" for n, r in weak.iterrows()]
    if fell:
        parts.append(f"average health fell from {before:.2f} to {now:.2f}")
    return Pitfall(
        "vendor_neglect",
        label,
        Shows.WARNING if parts else Shows.CLEAR,
        "; ".join(parts) if parts else f"every vendor in use scores {floor:.1f} or more",
        advice,
    )


PITFALLS: tuple[Callable[[BoardInputs], Pitfall], ...] = (
    _over_diversified,
    _over_dependent,
    _no_experiments,
    _first_party_declining,
    _capped_preferred,
    _vendor_neglect,
)


def pitfalls(inputs: BoardInputs) -> list[Pitfall]:
    """The chapter's pitfalls whose warning signs the workbook's data can show.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> found = pitfalls(BoardInputs(Quarter(2026, 4), demo_inventory(), demo_settings()))
    >>> {p.key: p.shows.value for p in found}["no_experiments"]
    'warning'
    """
    return [check(inputs) for check in PITFALLS]


def snapshot(kpis: list[Kpi]) -> dict[str, float | None]:
    """The values a Board history row keeps for the quarter, by KPI key.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> inputs = BoardInputs(Quarter(2026, 4), demo_inventory(), demo_settings())
    >>> snapshot([compute_kpi("active_sources", inputs)])
    {'active_sources': 10.0}
    """
    return {k.key: k.value for k in kpis}


def _usd(amount: float) -> str:
    return f"${amount:,.0f}"
