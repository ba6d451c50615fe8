"""What-if: scenarios side by side, and the budget curve.

A **scenario** is the policy with some settings changed (by their defined names:
``Budget``, ``MaxSourceShare``, ``SalesReps``…) and, where useful, some sources pinned,
capped or excluded. :func:`run_scenarios` solves each one as Rebalance would — the same
:func:`~leadbook.allocation.allocate.allocate` — and reports its status (or the rule that
must give), totals, binding rules and spend per source; the first is always "As set", the
Settings unchanged.

The **budget curve** (:func:`budget_curve`) solves the full policy at budgets from
``CurveLow`` to ``CurveHigh`` of the budget (``CurvePoints`` of them). The model is compiled
once, at the lowest budget, and each point only moves the budget's row bounds (and the row
scales that follow the budget) — :func:`retarget` — so no point rebuilds anything; each point
starts from the discrete rules the point before needed (HiGHS through SciPy takes no
starting solution, so that is the warm start it allows). At 100 % the point is Rebalance's
recommendation. Where the policy cannot be met, the point names the rule that must give
(the elastic re-solve's first conflict, without the search for verified fixes).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadbook.allocation.allocate import Allocation, allocation_from, build_model
from leadbook.allocation.compile import compile_model, retarget
from leadbook.allocation.engine import optimise
from leadbook.allocation.model import Model, SalesCapacity
from leadbook.enums import Objective
from leadbook.errors import InfeasiblePolicyError, InputError, Problem
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import Settings

log = logging.getLogger(__name__)

AS_SET = "As set"
"""The name of the first scenario: the Settings as they are."""

OPTIMAL, INFEASIBLE = "optimal", "infeasible"

CURVE_COLUMNS = [
    "share",
    "budget",
    "status",
    "spend",
    "leads",
    "customers",
    "blended_cpa",
    "marginal_cpa",
    "rule",
]
"""The budget curve's columns, one row per budget (see :func:`budget_curve`)."""


@dataclass(frozen=True)
class SourceOverride:
    """A scenario's change to one source: pin its spend, cap it, or exclude it."""

    pin: float | None = None
    cap: float | None = None
    exclude: bool = False


@dataclass(frozen=True)
class Scenario:
    """A named policy: settings changed (setting key or defined name → value) and sources
    overridden (source name → :class:`SourceOverride`)."""

    name: str
    settings: Mapping[str, object] = field(default_factory=dict)
    sources: Mapping[str, SourceOverride] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The overrides in one phrase ('as set' when there are none)."""
        parts = [f"{k} = {_shown(v)}" for k, v in self.settings.items()]
        for name, o in self.sources.items():
            if o.exclude:
                parts.append(f"{name} excluded")
            if o.pin is not None:
                parts.append(f"{name} pinned at ${o.pin:,.0f}")
            if o.cap is not None:
                parts.append(f"{name} capped at ${o.cap:,.0f}")
        return "; ".join(parts) or "as set"


def _shown(value: object) -> str:
    if isinstance(value, float) and abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario solved: ``status`` optimal or infeasible (``verdict``: the rule that
    must give), totals a month, every binding rule, and the spend per source (NaN when
    infeasible)."""

    scenario: Scenario
    status: str
    verdict: str
    budget: float
    spend: float
    leads: float
    customers: float
    margin: float
    binding: tuple[str, ...]
    per_source: pd.Series
    allocation: Allocation | None = None

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def blended_cpa(self) -> float:
        return self.spend / self.customers if self.customers > 0 else float("nan")


def apply_scenario(
    inventory: Inventory, settings: Settings, scenario: Scenario
) -> tuple[Inventory, Settings]:
    """The inventory and settings of ``scenario``: its settings applied (checked as the
    Settings tab's are) and its sources pinned, capped or excluded. A scenario's exclusion
    drops a pin the Sources tab sets for that source, and its pin lifts an exclusion set there
    (the scenario says what it wants of the source; its cap is a cap as well).

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> s = Scenario("Lean", {"Budget": 3e5}, {"Organic search": SourceOverride(cap=9e4)})
    >>> inv, st = apply_scenario(demo_inventory(), demo_settings(), s)
    >>> st.policy.budget, float(inv.sources.loc["Organic search", "cap"])
    (300000.0, 90000.0)
    """
    changed = settings.replace(dict(scenario.settings)) if scenario.settings else settings
    if not scenario.sources:
        return inventory, changed
    src = inventory.sources.copy()
    unknown = [name for name in scenario.sources if name not in src.index]
    if unknown:
        raise InputError(
            [
                Problem(
                    "What-if",
                    f"scenario {scenario.name!r} overrides {name!r}, which is not a source "
                    "on the Sources tab",
                )
                for name in unknown
            ]
        )
    for name, o in scenario.sources.items():
        if o.exclude:  # dropping the source: a pin the Sources tab sets goes with it
            src.loc[name, "exclude"] = True
            src.loc[name, "pin"] = np.nan
        if o.pin is not None:  # running it at that spend: an exclusion set there is lifted
            src.loc[name, "pin"] = float(o.pin)
            src.loc[name, "exclude"] = False
        if o.cap is not None:
            src.loc[name, "cap"] = float(o.cap)
    return dataclasses.replace(inventory, sources=src), changed


def run_scenarios(
    inventory: Inventory,
    settings: Settings,
    scenarios: Sequence[Scenario],
    *,
    capacity: Callable[[Inventory, Settings], SalesCapacity] | None = None,
    objective: Objective | str | None = None,
) -> list[ScenarioResult]:
    """ "As set" and each of ``scenarios``, solved as Rebalance solves the policy.

    ``capacity`` gives the sales capacity of a scenario's inventory and settings (the
    workbook's: its own figure, or the hiring plan's); by default Settings' figure.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> out = run_scenarios(demo_inventory(), demo_settings(),
    ...                     [Scenario("$350k", {"Budget": 350_000.0})])
    >>> [r.name for r in out], [r.status for r in out]
    (['As set', '$350k'], ['optimal', 'optimal'])
    >>> out[1].customers >= out[0].customers
    True
    """
    out = []
    for scenario in (Scenario(AS_SET), *scenarios):
        inv, st = apply_scenario(inventory, settings, scenario)
        sales = capacity(inv, st) if capacity is not None else SalesCapacity.from_settings(st)
        out.append(_solve_scenario(scenario, inv, st, sales, objective))
    return out


def _solve_scenario(
    scenario: Scenario,
    inventory: Inventory,
    settings: Settings,
    sales: SalesCapacity,
    objective: Objective | str | None,
) -> ScenarioResult:
    names = pd.Index(inventory.sources.index, name="source")
    goal = Objective.parse(objective) if objective is not None else settings.policy.objective
    model = build_model(inventory, settings, None, 1, sales)
    try:
        outcome = optimise(model, goal, fixes=False)
    except InfeasiblePolicyError as exc:
        nan = float("nan")
        return ScenarioResult(
            scenario,
            INFEASIBLE,
            verdict_of(exc),
            model.limits.budget,
            nan,
            nan,
            nan,
            nan,
            (),
            pd.Series(np.nan, index=names),
        )
    alloc = allocation_from(outcome)
    t = alloc.totals
    return ScenarioResult(
        scenario,
        OPTIMAL,
        "",
        alloc.budget,
        t.spend,
        t.leads,
        t.customers,
        margin_of(alloc, inventory),
        alloc.binding,
        alloc.table["recommended"].rename("spend"),
        alloc,
    )


def margin_of(alloc: Allocation, inventory: Inventory) -> float:
    """Expected margin a month: Σ revenue per customer × customers − spend."""
    revenue = pd.to_numeric(
        inventory.sources["revenue_per_customer"].reindex(alloc.table.index), errors="coerce"
    ).fillna(0.0)
    return float((alloc.table["customers"] * revenue).sum() - alloc.totals.spend)


def verdict_of(problem: InfeasiblePolicyError) -> str:
    """The rule that must give, in one line: the first of the leading conflicts.

    Examples
    --------
    >>> from leadbook.errors import Conflict
    >>> verdict_of(InfeasiblePolicyError((Conflict("budget", "The budget is too small"),)))
    'The budget is too small'
    """
    shown, rest = problem.leading()
    if not shown:
        return problem.summary
    more = len(shown) + len(rest) - 1
    tail = f" (and {more:,} more rule{'s' if more > 1 else ''})" if more else ""
    return f"{shown[0].message}{tail}"


# --- Budget curve ------------------------------------------------------------------------


def curve_shares(settings: Settings) -> np.ndarray:
    """The budget curve's budgets as shares of the budget: ``CurvePoints`` evenly spaced
    from ``CurveLow`` to ``CurveHigh``, with 100 % always among them.

    Examples
    --------
    >>> shares = curve_shares(Settings())
    >>> len(shares), float(shares[0]), float(shares[10]), float(shares[-1])
    (21, 0.5, 1.0, 1.5)
    """
    p = settings.whatif
    shares = np.linspace(p.curve_low, p.curve_high, p.curve_points)
    if not np.any(np.isclose(shares, 1.0)):
        shares = np.sort(np.r_[shares, 1.0])
    shares[np.isclose(shares, 1.0)] = 1.0
    return np.unique(shares)  # CurveLow = CurveHigh: one point, not 21 of the same


@dataclass(frozen=True)
class Curve:
    """The budget curve: ``table`` (one row per budget, :data:`CURVE_COLUMNS`), ``spend``
    per source at each budget (rows as ``table``; NaN where infeasible), the base budget,
    and the seconds it took."""

    table: pd.DataFrame
    spend: pd.DataFrame
    budget: float
    seconds: float


def budget_curve(
    inventory: Inventory,
    settings: Settings,
    shares: Sequence[float] | np.ndarray | None = None,
    *,
    budgets: Sequence[float] | np.ndarray | None = None,
    sales_capacity: float | SalesCapacity | None = None,
    objective: Objective | str | None = None,
) -> Curve:
    """The full policy solved at ``budgets`` ($ a month) or at ``shares`` of the budget
    (default :func:`curve_shares`).

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> curve = budget_curve(demo_inventory(), demo_settings(), [0.9, 1.0, 1.1, 1.2])
    >>> list(curve.table["status"])  # below the budget, sources would fall too fast
    ['infeasible', 'optimal', 'optimal', 'optimal']
    >>> curve.table["rule"][0]
    'The Tier 2 band allows ≤ $72,000 (25 % of $288,000) ...'
    >>> bool(curve.table["customers"][1:].is_monotonic_increasing)
    True
    """
    goal = Objective.parse(objective) if objective is not None else settings.policy.objective
    model = build_model(inventory, settings, None, 1, sales_capacity)
    base = model.limits.budget
    if budgets is None:
        given = curve_shares(settings) if shares is None else np.asarray(shares, float)
        # whole cents (1.2 × $320,000 is 384,000.0000000001 in binary), the budget itself as set
        budgets = np.where(given == 1.0, base, np.round(np.asarray(given, float) * base, 2))
    return curve_of_model(model, goal, np.asarray(budgets, float), base)


def curve_of_model(
    model: Model, objective: Objective, budgets: np.ndarray, base: float | None = None
) -> Curve:
    """The budget curve of ``model`` (see :func:`budget_curve`); ``base``: the budget the
    shares are of (default the model's)."""
    started = time.perf_counter()
    base = model.limits.budget if base is None else base
    if np.any(~np.isfinite(budgets)) or np.any(budgets < 0):
        raise ValueError("every budget of a curve must be a non-negative number of dollars")
    low = dataclasses.replace(model.limits, budget=float(np.min(budgets)))
    compiled = compile_model(dataclasses.replace(model, limits=low))
    names = list(model.portfolio.names)
    rows, spends = [], []
    marks = None
    for budget in budgets:
        point = retarget(compiled, float(budget))
        try:
            outcome = optimise(
                point.model, objective, compiled=point, marks=marks, explain=True, fixes=False
            )
        except InfeasiblePolicyError as exc:
            rows.append(_row(budget, base, INFEASIBLE, None, verdict_of(exc)))
            spends.append(np.full(len(names), np.nan))
            continue
        marks = outcome.marks
        alloc = allocation_from(outcome)
        rows.append(_row(budget, base, OPTIMAL, alloc, ""))
        spends.append(alloc.table["recommended"].to_numpy())
    table = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    spend = pd.DataFrame(np.array(spends).reshape(len(rows), len(names)), columns=names)
    return Curve(table, spend, float(base), time.perf_counter() - started)


def _row(
    budget: float, base: float, status: str, alloc: Allocation | None, rule: str
) -> list[object]:
    nan = float("nan")
    share = budget / base if base > 0 else nan
    if alloc is None:
        return [share, budget, status, nan, nan, nan, nan, nan, rule]
    t = alloc.totals
    value = alloc.budget_value
    marginal = 1_000.0 / value if np.isfinite(value) and value > 1e-9 else nan
    return [share, budget, status, t.spend, t.leads, t.customers, t.blended_cpa, marginal, rule]


__all__ = [
    "AS_SET",
    "CURVE_COLUMNS",
    "Curve",
    "Scenario",
    "ScenarioResult",
    "SourceOverride",
    "apply_scenario",
    "budget_curve",
    "curve_of_model",
    "curve_shares",
    "margin_of",
    "retarget",
    "run_scenarios",
    "verdict_of",
]
