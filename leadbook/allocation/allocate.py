"""Rebalance: the recommended allocation of a portfolio, and its explanation.

:func:`allocate` reads the policy from Settings, classifies the sources, solves the model
(:mod:`leadbook.allocation.engine`) and returns an :class:`Allocation`: next week's
recommended spend per source next to today's, expected leads and customers, each source's
marginal CPA and binding rules, the marginal value of budget, and — over several weeks —
the glide path. Amounts are monthly run-rates.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadbook.allocation.belowmin import glide_in_facts
from leadbook.allocation.compile import Compiled, compile_model, retarget
from leadbook.allocation.engine import glide_path, optimise, today_prices
from leadbook.allocation.explain import (
    UNITS,
    Fact,
    binding_facts,
    marginal_cpa,
    money,
    pct,
)
from leadbook.allocation.model import (
    MONEY,
    TEST_WEEKS,
    Model,
    Regime,
    SalesCapacity,
    check_weeks,
    limits_from_settings,
    portfolio_from_inventory,
)
from leadbook.allocation.objectives import TERM_LABELS, term_values, term_vectors
from leadbook.allocation.outcome import Outcome
from leadbook.enums import Objective
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import Settings

log = logging.getLogger(__name__)

TABLE_COLUMNS = [
    "tier",
    "lead_type",
    "risk",
    "role",
    "current",
    "recommended",
    "change",
    "change_pct",
    "share",
    "leads",
    "customers",
    "marginal_cpa",
    "binding",
    "conversion",
]

ROLE_WORDS = {
    Regime.CHANGE: "active",
    Regime.ENTRANT: "new (may enter)",
    Regime.TESTING: "testing",
    Regime.PINNED: "pinned",
    Regime.OFF: "off",
}


@dataclass(frozen=True)
class Totals:
    """Portfolio totals a month: spend ($), leads, customers, blended CPA ($ per customer)."""

    spend: float
    leads: float
    customers: float

    @property
    def blended_cpa(self) -> float:
        return self.spend / self.customers if self.customers > 0 else float("nan")


@dataclass(frozen=True)
class Allocation:
    """A recommended allocation and why (see :func:`allocate`).

    ``table`` is indexed by source with columns ``tier, lead_type, risk, role, current,
    recommended, change, change_pct, share, leads, customers, marginal_cpa, binding``
    (next week's run-rates; ``role`` says which rules govern the source — active, new,
    testing, pinned, off; ``binding`` lists its own rules at their limit), ``conversion``
    (the conversion rate the solve used: customers = leads × conversion). ``totals`` and
    ``today`` are the recommended and today's portfolio totals; ``budget_value`` the
    customers a month an extra $1,000 of budget would add; ``binding`` every binding rule in
    plain words; ``glide`` the spend per source (columns) for weeks 1…N (rows) and
    ``glide_totals`` its weekly totals, or None for one week; ``terms`` the weighted
    objective's normalised terms; ``gap`` the proven relative optimality gap;
    ``sales_capacity`` the sales capacity the solve used and where it is from.
    """

    status: str
    objective: Objective
    objective_value: float
    table: pd.DataFrame
    totals: Totals
    today: Totals
    budget: float
    budget_value: float
    binding: tuple[str, ...]
    weeks: int = 1
    glide: pd.DataFrame | None = None
    glide_totals: pd.DataFrame | None = None
    steady_value: float | None = None
    terms: pd.DataFrame | None = None
    gap: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    sales_capacity: SalesCapacity | None = None
    tests: str | None = None
    """What a glide path does with the testing sources at their phase gates (None: nothing)."""
    budget_note: str | None = None
    """Why ``budget_value`` is unknown when the solver gave duals (None otherwise)."""

    def explanation(self) -> list[str]:
        """The answer in sentences: headline, value of budget, binding rules, changes.

        Examples
        --------
        >>> from leadbook.demo import demo_inventory, demo_settings
        >>> lines = allocate(demo_inventory(), demo_settings()).explanation()
        >>> lines[0].startswith("Optimal (expected customers)")
        True
        """
        t, now = self.totals, self.today
        what = {
            Objective.CUSTOMERS: "expected customers",
            Objective.MARGIN: "expected margin",
            Objective.WEIGHTED: "weighted score",
        }[self.objective]
        lines = [
            f"Optimal ({what}): "
            f"{t.customers:,.1f} customers a month expected next week from {t.leads:,.0f} leads "
            f"at a blended CPA of {money(t.blended_cpa)}, against {now.customers:,.1f} "
            f"customers from {now.leads:,.0f} leads today; spend {money(t.spend)} of a "
            f"{money(self.budget)} budget."
        ]
        if self.objective is Objective.MARGIN:
            lines.append(f"Expected margin: {money(self.objective_value)} a month.")
        if self.terms is not None:
            parts = ", ".join(
                f"{row.label} {row.value:.2f} (weight {pct(row.weight)})"
                for row in self.terms.itertuples()
            )
            lines.append(f"Weighted score {self.objective_value:.3f} of 1: {parts}.")
        lines.append(_budget_sentence(self.budget_value, self.budget_note))
        lines += [f"{b}." for b in self.binding]
        lines += _change_lines(self.table)
        if self.glide_totals is not None:
            lines.append(_glide_sentence(self))
        if self.tests:
            lines.append(self.tests)
        return lines


def _budget_sentence(value: float, note: str | None = None) -> str:
    if not np.isfinite(value) and note:
        return note
    if not np.isfinite(value):
        return "The value of more budget is unknown (the solver gave no duals)."
    if abs(value) < 1e-9:
        return (
            "An extra $1,000 of budget would add no customers: the budget does not bind "
            "(other rules do)."
        )
    cost = 1_000.0 / value if value > 0 else float("nan")
    tail = f" (the next customer costs {money(cost)})" if value > 0 else ""
    return f"An extra $1,000 of budget would add {value:,.3f} customers a month{tail}."


def _change_lines(table: pd.DataFrame) -> list[str]:
    lines = []
    for row in table.itertuples():  # not iterrows: a Series a source is slow at 10,000
        if abs(row.change) < 0.5 and not row.binding:
            continue
        pct_text = "" if not np.isfinite(row.change_pct) else f" ({row.change_pct:+.1%})"
        cpa = (
            f"marginal CPA {money(row.marginal_cpa)}"
            if np.isfinite(row.marginal_cpa)
            else "at its volume cap"
        )
        binds = f"; binds: {row.binding}" if row.binding else ""
        lines.append(
            f"{row.Index}: {money(row.current)} → {money(row.recommended)}{pct_text}, {cpa}{binds}."
        )
    return lines


def _glide_sentence(alloc: Allocation) -> str:
    totals = alloc.glide_totals
    assert totals is not None
    last = totals.iloc[-1]
    if alloc.steady_value is None:
        return (
            f"Glide path over {alloc.weeks} weeks: week {alloc.weeks} spends "
            f"{money(last['spend'])} for {last['customers']:,.1f} customers a month."
        )
    reached = totals.index[totals["objective"] >= alloc.steady_value * (1 - 1e-6) - 1e-9]
    unit = UNITS[alloc.objective]
    if len(reached):
        return (
            f"Glide path over {alloc.weeks} weeks: reaches the optimum without weekly "
            f"limits ({alloc.steady_value:,.1f} {unit}) in week {int(reached[0])}."
        )
    return (
        f"Glide path over {alloc.weeks} weeks: week {alloc.weeks} reaches "
        f"{last['objective']:,.1f} {unit}, {alloc.steady_value - last['objective']:,.1f} "
        "short of the optimum without weekly limits; more weeks would close the gap."
    )


def allocate(
    inventory: Inventory,
    settings: Settings | None = None,
    *,
    budget: float | None = None,
    objective: Objective | str | None = None,
    weeks: int = 1,
    sales_capacity: float | SalesCapacity | None = None,
    classes: pd.DataFrame | None = None,
    time_limit: float | None = None,
) -> Allocation:
    """The recommended allocation of ``inventory`` under the policy in ``settings``.

    Parameters
    ----------
    inventory, settings
        The sources and the policy (bands, shares, change limits, capacity, weights).
    budget
        Monthly budget ($); default ``policy.budget``, or today's total spend when blank.
    objective
        ``customers`` (default: ``policy.objective``), ``margin`` or ``weighted``.
    weeks
        1 for next week's rebalance; N for a glide path of N weekly rebalances, each from
        the week before (:func:`~leadbook.allocation.engine.glide_path`).
    sales_capacity
        Leads a month the sales team can work; default reps × leads per rep × utilisation.
        A :class:`~leadbook.allocation.model.SalesCapacity` also says where the figure is
        from (the workbook's Rebalance passes the hiring plan's, when Settings ask for it).
    classes
        The classification to use (default: :func:`leadbook.portfolio.classify.classify`).
    time_limit
        Seconds HiGHS may spend on each solve.

    Raises
    ------
    InfeasiblePolicyError
        No allocation meets the policy; ``conflicts`` names each rule that must give.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> a = allocate(demo_inventory(), demo_settings())
    >>> a.status, round(a.totals.spend) <= 320_000
    ('optimal', True)
    """
    settings = settings or Settings()
    goal = Objective.parse(objective) if objective is not None else settings.policy.objective
    check_weeks(weeks)
    model = build_model(inventory, settings, budget, 1, sales_capacity, classes)
    if weeks == 1:
        return allocation_from(optimise(model, goal, time_limit=time_limit))
    path, steady = glide_path(model, goal, weeks, time_limit=time_limit)
    return allocation_from(path[0], path, steady)


def solve_allocation(
    inventory: Inventory,
    settings: Settings | None = None,
    *,
    budget: float | None = None,
    objective: Objective | str | None = None,
    sales_capacity: float | SalesCapacity | None = None,
    classes: pd.DataFrame | None = None,
    time_limit: float | None = None,
    compiled: Compiled | None = None,
) -> Outcome:
    """Next week's optimal allocation, solved and not yet explained: :func:`allocate`
    (one week, the same arguments) is :func:`allocation_from` of it.

    ``compiled``: the model of the same inventory, settings, sales capacity and classes
    compiled at another budget (:func:`compile_allocation`, or an earlier outcome's). Under
    a budget used "at most", no row but the budget's own bounds and the rows' scales
    depends on the budget, so :func:`~leadbook.allocation.compile.retarget` makes the very
    programme a fresh build would (the same arrays), and the portfolio is not read and the
    rules not compiled again: a fifth of a solve of the demo. An exact budget prunes rows
    by the budget: that model is built afresh, as it is when the limits differ from
    ``compiled``'s in anything but the budget.

    What only the explanation needs — the gain of loosening each binding rule, and of
    each source below the minimum making the other choice, a re-solve each (:mod:`explain
    <leadbook.allocation.explain>`) — is left for :func:`allocation_from`: it took over
    half of an allocation on the demo, which ``LB.ALLOCATE`` spills without
    (:func:`spend_table` is its figures).

    Raises
    ------
    InfeasiblePolicyError
        No allocation meets the policy; ``conflicts`` names each rule that must give.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> outcome = solve_allocation(demo_inventory(), demo_settings())
    >>> table = allocation_from(outcome).table
    >>> spend_table(outcome).equals(table[SPEND_COLUMNS])
    True
    """
    settings = settings or Settings()
    goal = Objective.parse(objective) if objective is not None else settings.policy.objective
    if compiled is not None and compiled.model.weeks == 1 and not compiled.model.limits.exact:
        before = compiled.model.limits
        today = float(np.nansum(compiled.model.portfolio.current))
        limits = limits_from_settings(settings, today, budget=budget, sales_capacity=sales_capacity)
        if dataclasses.replace(limits, budget=before.budget) == before:
            point = retarget(compiled, limits.budget)
            return optimise(point.model, goal, time_limit=time_limit, compiled=point)
    model = build_model(inventory, settings, budget, 1, sales_capacity, classes)
    return optimise(model, goal, time_limit=time_limit)


def compile_allocation(
    inventory: Inventory,
    settings: Settings | None = None,
    *,
    budget: float | None = None,
    sales_capacity: float | SalesCapacity | None = None,
    classes: pd.DataFrame | None = None,
) -> Compiled:
    """The one-week model of :func:`solve_allocation` compiled, for its ``compiled``.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> inventory, settings = demo_inventory(), demo_settings()
    >>> kept = compile_allocation(inventory, settings, budget=320_000)
    >>> at = solve_allocation(inventory, settings, budget=310_000, compiled=kept)
    >>> fresh = solve_allocation(inventory, settings, budget=310_000)
    >>> spend_table(at).equals(spend_table(fresh))
    True
    """
    model = build_model(inventory, settings or Settings(), budget, 1, sales_capacity, classes)
    return compile_model(model)


def build_model(
    inventory: Inventory,
    settings: Settings,
    budget: float | None = None,
    weeks: int = 1,
    sales_capacity: float | SalesCapacity | None = None,
    classes: pd.DataFrame | None = None,
) -> Model:
    """The allocation model of a portfolio under ``settings``."""
    portfolio = portfolio_from_inventory(inventory, settings, classes)
    limits = limits_from_settings(
        settings,
        float(np.nansum(portfolio.current)),
        budget=budget,
        sales_capacity=sales_capacity,
    )
    return Model(portfolio, limits, weeks)


def allocation_from(
    outcome: Outcome, path: list[Outcome] | None = None, steady: float | None = None
) -> Allocation:
    """An :class:`Allocation` from a solved :class:`~leadbook.allocation.outcome.Outcome`,
    with the glide path's weekly outcomes ``path`` (week 1 first) and its destination."""
    model = outcome.compiled.model
    pf = model.portfolio
    facts = binding_facts(outcome) + glide_in_facts(outcome)
    table = _table(outcome, facts)
    totals = Totals(
        float(table["recommended"].sum()),
        float(table["leads"].sum()),
        float(table["customers"].sum()),
    )
    today = Totals(
        float(np.nansum(pf.current)),
        float(np.nansum(pf.today_leads)),
        float(np.nansum(pf.today_customers)),
    )
    glide, glide_totals = _glide(path) if path is not None and len(path) > 1 else (None, None)
    return Allocation(
        status=outcome.solved.status,
        objective=outcome.goal.objective,
        objective_value=outcome.value,
        table=table,
        totals=totals,
        today=today,
        budget=model.limits.budget,
        budget_value=outcome.budget_value,
        budget_note=outcome.budget_note,
        binding=tuple(f.text for f in facts),
        weeks=len(path) if path is not None else 1,
        glide=glide,
        glide_totals=glide_totals,
        steady_value=steady,
        terms=_terms(outcome),
        gap=float(outcome.timings.get("gap", 0.0)),
        timings=dict(outcome.timings),
        sales_capacity=model.limits.sales
        or SalesCapacity(model.limits.sales_leads, model.limits.sales_note, "the caller"),
        tests=_test_sentence(model, glide) if glide is not None else None,
    )


def _test_sentence(model: Model, glide: pd.DataFrame) -> str | None:
    """What the glide path ``glide`` does with each testing source of ``model`` at its
    phase gate (week 5 of a phase-1 test) and when its test ends (after test week 12)."""
    pf, settings = model.portfolio, model.limits.settings
    testing = np.flatnonzero(pf.regime == Regime.TESTING)
    if settings is None or not len(testing):
        return None
    weeks = len(glide)
    phase2 = settings.policy.test_phase2
    clauses = []
    for i in testing:
        name, first = pf.names[i], TEST_WEEKS[float(pf.test_phase[i])][0]
        gate = TEST_WEEKS[2.0][0] - first + 1  # the plan's week of the phase-2 gate
        end = TEST_WEEKS[2.0][1] - first + 2  # the first week after the test
        said = []
        if 1 < gate <= weeks:
            if glide.loc[gate, name] <= 0:
                clauses.append(
                    f"{name} stops in week {gate}, at its phase gate, rather than moving to phase 2"
                )
                continue
            said.append(f"moves to its phase-2 budget in week {gate}")
        if end <= weeks:
            said.append(f"joins the portfolio in week {end}, its test over")
        if said:
            clauses.append(f"{name} " + ", then ".join(said))
    if not clauses:
        return None
    return (
        "Tests: " + "; ".join(clauses) + f" (phase 1 is a test's weeks 1–4, phase 2 "
        f"({money(phase2.min)}–{money(phase2.max)}) its weeks 5–12, each phase taken as "
        "beginning next week; at the gate a test goes on or stops, and after week 12 it is "
        "allocated like any active source)."
    )


def _week_figures(outcome: Outcome, week: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spend ($), leads and customers per source in ``week``."""
    model, lay, v = outcome.compiled.model, outcome.compiled.layout, outcome.v
    pf = model.portfolio
    b = pf.blocks
    spend = v[lay.x(week)] * MONEY
    leads = np.bincount(b.source, v[lay.s(week)] * MONEY / b.cpl, minlength=len(pf))
    return spend, leads, leads * pf.conversion


SPEND_COLUMNS = ["current", "recommended", "change", "change_pct", "share", "leads", "customers"]
"""The columns of an allocation's table that need no explanation (:func:`spend_table`)."""


def _spend_columns(outcome: Outcome) -> dict[str, np.ndarray]:
    pf = outcome.compiled.model.portfolio
    spend, leads, customers = _week_figures(outcome, 0)
    spend = np.round(spend, 6)
    change = spend - pf.current
    with np.errstate(divide="ignore", invalid="ignore"):
        change_pct = np.where(pf.current > 0, change / pf.current, np.nan)
    total = spend.sum()
    return {
        "current": pf.current,
        "recommended": spend,
        "change": change,
        "change_pct": change_pct,
        "share": spend / total if total > 0 else spend * 0.0,
        "leads": leads,
        "customers": customers,
    }


def spend_table(outcome: Outcome) -> pd.DataFrame:
    """The :data:`SPEND_COLUMNS` of :func:`allocation_from`'s table of ``outcome`` (week 1
    of a solve), the same figures, without the explanation the rest of it takes.

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> spend_table(optimise(tiny_model(), Objective.CUSTOMERS)).columns.tolist() == SPEND_COLUMNS
    True
    """
    pf = outcome.compiled.model.portfolio
    return pd.DataFrame(_spend_columns(outcome), index=pd.Index(pf.names, name="source"))


def _table(outcome: Outcome, facts: list[Fact]) -> pd.DataFrame:
    model, lay, v = outcome.compiled.model, outcome.compiled.layout, outcome.v
    pf = model.portfolio
    labels: dict[int, list[str]] = {}
    for f in facts:
        if f.source >= 0:
            labels.setdefault(f.source, []).append(f.label)
    return pd.DataFrame(
        {
            "tier": pf.classes["tier"],
            "lead_type": pf.classes["lead_type"],
            "risk": pf.classes["risk"],
            "role": [ROLE_WORDS[Regime(r)] for r in pf.regime],
            **_spend_columns(outcome),
            "marginal_cpa": marginal_cpa(model, lay, v),
            "binding": ["; ".join(labels.get(i, [])) for i in range(len(pf))],
            "conversion": pf.conversion,
        },
        index=pd.Index(pf.names, name="source"),
    )


def _glide(path: list[Outcome]) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = list(path[0].compiled.model.portfolio.names)
    rows, totals = {}, []
    for week, outcome in enumerate(path, start=1):
        spend, leads, customers = _week_figures(outcome, 0)
        rows[week] = np.round(spend, 6)
        totals.append(
            {
                "week": week,
                "spend": float(spend.sum()),
                "leads": float(leads.sum()),
                "customers": float(customers.sum()),
                "objective": outcome.value,
            }
        )
    glide = pd.DataFrame.from_dict(rows, orient="index", columns=names)
    glide.index.name = "week"
    return glide, pd.DataFrame(totals).set_index("week")


def _terms(outcome: Outcome) -> pd.DataFrame | None:
    terms = outcome.goal.terms
    if terms is None:
        return None
    compiled = outcome.compiled
    vectors = term_vectors(compiled.model, compiled.layout)
    values = term_values(compiled, vectors, outcome.v)
    out = terms.copy()
    out["raw"] = [values[t] for t in out.index]
    spread = (out["best"] - out["worst"]).where(out["used"])
    out["value"] = ((out["raw"] - out["worst"]) / spread).fillna(1.0)
    out["label"] = [TERM_LABELS[t] for t in out.index]
    return out


__all__ = [
    "SPEND_COLUMNS",
    "Allocation",
    "Totals",
    "allocate",
    "allocation_from",
    "build_model",
    "compile_allocation",
    "solve_allocation",
    "spend_table",
    "today_prices",
]
