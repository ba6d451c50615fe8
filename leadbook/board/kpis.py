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

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import pandas as pd

from leadbook.board.quarters import (
    Actuals,
    Quarter,
    forecast_errors,
    latest_quarter,
    quarter_actuals,
)
from leadbook.board.specs import (
    EPS,
    HISTORY_KPIS,
    KPI_KEYS,
    STEADY,
    Direction,
    KpiSpec,
    KpiStatus,
    kpi_spec,
    status_of,
    usd,
)
from leadbook.enums import Party, RiskClass, Status, Tier
from leadbook.portfolio.classify import classify
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import Settings

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
    classified: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    """:func:`classify` of the inventory under the settings, when the gatherer has it."""
    _actuals: dict[Quarter, Actuals | None] = field(default_factory=dict, repr=False, compare=False)
    """Each quarter's :func:`quarter_actuals`, once: shared by the copies the trends make
    for earlier quarters (``replace`` passes it on), as each History KPI reads them."""

    def actuals(self, quarter: Quarter) -> Actuals | None:
        """:func:`quarter_actuals` of the inventory for ``quarter``."""
        if quarter not in self._actuals:
            self._actuals[quarter] = quarter_actuals(self.inventory, quarter)
        return self._actuals[quarter]

    def reason(self, name: str) -> str:
        """Why the optional input ``name`` is not available."""
        return self.reasons.get(name, MISSING.get(name, f"{name} is not available"))

    @cached_property
    def classes(self) -> pd.DataFrame:
        if self.classified is not None:
            return self.classified
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
    actuals = inputs.actuals(inputs.quarter)
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
            f" − cost to serve {usd(rules.cost_to_serve)} × {a.customers:,.0f} customers"
            if rules.cost_to_serve
            else ""
        )
        return Reading(
            (kept - a.spend) / a.spend,
            f"(revenue {usd(a.revenue)} × gross margin {rules.gross_margin:.0%}{serve} − "
            f"spend {usd(a.spend)}) ÷ spend; {a.coverage}",
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
            f"spend {usd(a.spend)} ÷ {a.leads:,.0f} leads; {a.coverage}. The strategy's "
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
            f"spend {usd(a.spend)} ÷ {a.customers:,.0f} customers; {a.coverage}",
            "History",
        )

    return _from_history(inputs, read)


def _revenue_per_lead(inputs: BoardInputs) -> Reading:
    def read(a: Actuals) -> Reading:
        if a.leads <= 0:
            return _na(f"no leads in History for {a.coverage}", "History")
        return Reading(
            a.revenue / a.leads,
            f"revenue {usd(a.revenue)} ÷ {a.leads:,.0f} leads; {a.coverage}",
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
        f"today's monthly spend {usd(spend)} ÷ budget {usd(budget)}",
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
        f"{what}: {usd(amount)} of {usd(total)} a month",
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
        f"{top}: {usd(spend[top])} of {usd(total)} a month",
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
    """Every board KPI for ``inputs.quarter``, in the order of
    :data:`~leadbook.board.specs.KPI_SPECS`.

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
    saved = saved_values(inputs.saved, key)
    points = []
    for back in range(n - 1, 0, -1):
        quarter = inputs.quarter.shifted(-back)
        value = saved.get(quarter.label)
        if value is None and key in HISTORY_KPIS:
            value = READINGS[key](replace(inputs, quarter=quarter)).value
        points.append(TrendPoint(quarter, value))
    return tuple(points)


def saved_values(saved: pd.DataFrame | None, key: str) -> dict[str, float]:
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
    leadbook.board.specs.BoardInputError: unknown KPI 'vendor_heath' — did you \
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
