"""Fixes for an infeasible policy that work when applied: each one verified by re-solving.

The elastic re-solve (:func:`~leadbook.allocation.explain.infeasibility`) says which rules
must give, but the amounts it finds are what is left after it has loosened several rules at
once: read as single fixes they often fail. Here each rule that must give is tied to the
workbook input that sets it — a Settings value by its defined name (``Budget``,
``BandTier1Min``), or a source's cell in the Sources table (``Pin spend``) — a
:class:`Knob`, and each knob is searched on its own for the least change that makes the
whole policy feasible:

- exactly, by a linear programme, where the rule's limit enters its rows linearly (the
  budget, the capacities, a pin, a spend cap, the test budgets): the limit becomes a
  variable and the programme finds the nearest value at which every other rule holds;
- by bisection on the setting's own grid (0.1 % for shares, $1, one source) where it does
  not (shares of total spend, the weekly change limits, the minimum active spend);
- by one solve for a switch (budget use 'at most', pausing a source).

Every value is rounded in the direction that keeps it sufficient and checked by building
the model with it and solving. When no single change suffices, :func:`verified_fixes` looks
for the fewest knobs that together do, each moved as little as the others allow.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from leadbook.allocation.compile import Compiled, Program, compile_model
from leadbook.allocation.model import MONEY, BandLimit, Limits, Model, Portfolio, Regime
from leadbook.allocation.rules import Discrete, Rule
from leadbook.allocation.searchtime import (
    DEADLINE,
    RAN_OUT,
    RESOLVE_SECONDS,
    SEARCH_SECONDS,
    time_left,
)
from leadbook.allocation.solve import Solved, settle_fill_order, solve_exact
from leadbook.allocation.words import possessive
from leadbook.errors import Fix
from leadbook.settings import Settings

PIN, CAP, STATUS = "Pin spend", "Cap spend", "Status"
"""The Sources table's columns a fix may change (their headers in the workbook contract)."""

PER_SOURCE_KNOBS = 8
"""Sources whose own inputs (pin, cap, status) are searched: those of the largest conflicts."""

COUNTS = ("SalesReps", "MinActiveSources")
"""Settings that are whole numbers."""

ORDERING_EXACT = 200
"""The most fill-order binaries the exact search for a limit enforces; beyond, fill order is
settled on the LP's pattern and the value found is sufficient but may not be the tightest."""

NUDGES = 4
"""Times a rounded value that fails its check is moved one step further (×10 each time)."""


@dataclass(frozen=True)
class Knob:
    """One workbook input a fix may change: a setting by its defined name, or a source's
    cell in the Sources table (``source`` ≥ 0, ``name`` the column header). ``way`` is +1
    when loosening raises it, −1 when it lowers it, 0 either way (a pin)."""

    name: str
    way: int
    source: int = -1


@dataclass(frozen=True)
class _Kind:
    """How a knob is read, applied and searched (see the module docstring)."""

    search: str  # "lp", "grid" or "switch"
    step: float = 0.01  # the grid of the setting's values (cents, 0.1 %, whole sources)


def _kind(knob: Knob) -> _Kind:
    name = knob.name
    if name in ("Budget", PIN, CAP) or name.startswith("TestPhase"):
        return _Kind("lp", 0.01)
    if name in ("SalesReps", "OpsCapacity", "SupportCapacity"):
        return _Kind("lp", 1.0)
    if name in ("BudgetMode", STATUS):
        return _Kind("switch")
    if name in ("MinActiveSpend", "MinActiveSources"):
        return _Kind("grid", 1.0)
    return _Kind("grid", 0.001)


# --- Reading and applying a knob -----------------------------------------------------------


def _settings(lim: Limits) -> Settings:
    return lim.settings if lim.settings is not None else Settings()


def _change_limits(lim: Limits) -> tuple[float, float, float]:
    """The weekly increase, decrease and guardrail as set (the model keeps the tighter)."""
    if lim.settings is not None:
        p = lim.settings.policy
        return p.weekly_increase, p.weekly_decrease, p.weekly_guardrail
    # limits built by hand: a rule the guardrail does not give is its own setting, one the
    # guardrail gives is the guardrail's (its own setting unknown, taken as no limit)
    up, down = lim.increase_rule == str(Rule.GUARDRAIL), lim.decrease_rule == str(Rule.GUARDRAIL)
    guard = min([lim.increase] * up + [lim.decrease] * down, default=math.inf)
    return (math.inf if up else lim.increase), (math.inf if down else lim.decrease), guard


def _sales_per_rep(lim: Limits) -> float | None:
    """Leads a month one more rep of SalesReps adds, or None when the figure is not made
    from Settings' reps (a capacity passed by the caller)."""
    sales = lim.sales
    if sales is None or not sales.reps or lim.settings is None:
        return None
    return lim.sales_leads / lim.settings.capacity.sales_reps


def current(model: Model, knob: Knob) -> float | str:
    """The knob's value in the workbook's terms ($, a fraction, a count, a choice)."""
    lim, pf = model.limits, model.portfolio
    name, i = knob.name, knob.source
    if i >= 0:
        return {PIN: pf.pin[i], CAP: pf.cap[i], STATUS: "active"}[name]
    if name == "Budget":
        return lim.budget
    if name == "BudgetMode":
        return "exact" if lim.exact else "at most"
    if name.startswith("TestPhase"):
        ends = pf.test_min if name.endswith("Min") else pf.test_max
        return float(ends[(pf.test_phase == float(name[9])) & (pf.regime == Regime.TESTING)][0])
    band = _band(lim, name)
    if band is not None:
        return band.min if name.endswith("Min") else band.max
    inc, dec, guard = _change_limits(lim)
    per_rep = _sales_per_rep(lim)
    return {
        "MaxSourceShare": lim.max_share,
        "ExperimentalFloor": lim.experimental_floor,
        "WeeklyIncrease": inc,
        "WeeklyDecrease": dec,
        "WeeklyGuardrail": guard,
        "MinActiveSpend": lim.min_spend,
        "MinActiveSources": float(lim.min_active),
        "SalesReps": lim.sales_leads / per_rep if per_rep else math.nan,
        "OpsCapacity": lim.ops_leads / _settings(lim).capacity.ops_utilisation,
        "SupportCapacity": lim.support_customers,
    }[name]


def _band(lim: Limits, name: str) -> BandLimit | None:
    """The band whose minimum or maximum ``name`` sets (``BandTier1Min``), or None."""
    for band in lim.bands:
        if name in (band.setting + "Min", band.setting + "Max"):
            return band
    return None


def apply(model: Model, knob: Knob, value: float | str) -> Model:
    """``model`` with the knob set to ``value`` (in the workbook's terms)."""
    if knob.source >= 0:
        return dataclasses.replace(model, portfolio=_apply_source(model, knob, value))
    lim, pf = model.limits, model.portfolio
    name = knob.name
    changes: dict[str, object] = {}
    if name == "Budget":
        changes["budget"] = float(value)
    elif name == "BudgetMode":
        changes["exact"] = value == "exact"
    elif name == "MaxSourceShare":
        changes["max_share"] = float(value)
    elif name == "ExperimentalFloor":
        changes["experimental_floor"] = float(value)
    elif (band := _band(lim, name)) is not None:
        end = "min" if name.endswith("Min") else "max"
        new = dataclasses.replace(band, **{end: float(value)})
        changes["bands"] = tuple(new if b is band else b for b in lim.bands)
    elif name in ("WeeklyIncrease", "WeeklyDecrease", "WeeklyGuardrail"):
        inc, dec, guard = _change_limits(lim)
        inc, dec, guard = (
            float(value) if name == n else old
            for n, old in zip(
                ("WeeklyIncrease", "WeeklyDecrease", "WeeklyGuardrail"),
                (inc, dec, guard),
                strict=True,
            )
        )
        changes |= {
            "increase": min(inc, guard),
            "increase_rule": str(Rule.WEEKLY_INCREASE if inc <= guard else Rule.GUARDRAIL),
            "decrease": min(dec, guard),
            "decrease_rule": str(Rule.WEEKLY_DECREASE if dec <= guard else Rule.GUARDRAIL),
        }
    elif name == "MinActiveSpend":
        changes["min_spend"] = float(value)
    elif name == "MinActiveSources":
        changes["min_active"] = int(value)
    elif name == "SalesReps":
        per_rep = _sales_per_rep(lim)
        assert per_rep is not None
        changes["sales_leads"] = float(value) * per_rep
    elif name == "OpsCapacity":
        changes["ops_leads"] = float(value) * _settings(lim).capacity.ops_utilisation
    elif name == "SupportCapacity":
        changes["support_customers"] = float(value)
    elif name.startswith("TestPhase"):
        pf = _apply_test_phase(model, name, float(value))
    else:
        raise KeyError(f"no such knob {name!r}")
    if lim.settings is not None and name != "Budget":
        changes["settings"] = lim.settings.replace({name: value})
    return dataclasses.replace(model, limits=dataclasses.replace(lim, **changes), portfolio=pf)


def _apply_test_phase(model: Model, name: str, value: float) -> Portfolio:
    pf = model.portfolio
    phase = float(name[9])
    mine = (pf.test_phase == phase) & (pf.regime == Regime.TESTING)
    end = "test_min" if name.endswith("Min") else "test_max"
    return dataclasses.replace(pf, **{end: np.where(mine, value, getattr(pf, end))})


def _apply_source(model: Model, knob: Knob, value: float | str) -> Portfolio:
    pf, i = model.portfolio, knob.source
    if knob.name == STATUS:
        regime = pf.regime.copy()
        regime[i] = Regime.OFF
        return dataclasses.replace(pf, regime=regime)
    column = "pin" if knob.name == PIN else "cap"
    amounts = getattr(pf, column).copy()
    amounts[i] = float(value)
    out = dataclasses.replace(pf, **{column: amounts})
    if knob.name == PIN and pf.regime[i] != Regime.PINNED:
        regime = pf.regime.copy()
        regime[i] = Regime.PINNED
        nan = np.nan
        out = dataclasses.replace(
            out,
            regime=regime,
            test_min=np.where(np.arange(len(pf)) == i, nan, pf.test_min),
            test_max=np.where(np.arange(len(pf)) == i, nan, pf.test_max),
        )
    return out


# --- Feasibility -------------------------------------------------------------------------


def feasible(model: Model) -> bool:
    """Whether some allocation meets every rule of ``model`` (no objective)."""
    compiled = compile_model(model)
    return _solved(compiled.program, compiled.discrete, settle_above=0, any_point=True) is not None


def _solved(
    program: Program, d: Discrete, settle_above: int = ORDERING_EXACT, *, any_point: bool = False
) -> Solved | None:
    """A point meeting every rule of ``program`` and ``d``, or None if there is none.

    The continuous relaxation first: if it is infeasible, so is the model. Where its point
    breaks fill order in more than ``settle_above`` price tiers, the pattern it buys is
    settled cheapest first (:func:`~leadbook.allocation.solve.settle_fill_order`): a point
    that keeps every rule, perhaps not the optimum — enough to show a fix works, and what
    took a thousand-source search from a minute to seconds. Else fill order is enforced;
    with ``any_point`` (a check of feasibility, not a search for the least change) the
    integer programme has no objective, so HiGHS stops at its first point that keeps every
    rule instead of proving it optimal, and is tried only once the relaxation's point
    settled with its minimum spends on or off (one LP) does not keep every rule.
    """
    first = solve_exact(program, d, rounds=1, with_duals=False, time_limit=time_left())
    if first.status == "unsettled":
        ordering = len(np.flatnonzero(np.isin(d.chain, list(first.marks.chains))))
        settled = None
        if any_point or ordering > settle_above:
            # a check of feasibility settles the minimum spends on the LP's point too: a
            # point keeping every rule needs no integer programme
            settled = settle_fill_order(program, d, first, minimum_spends=any_point)
        rest = program.with_objective(np.zeros(program.n_cols)) if any_point else program
        first = settled or solve_exact(
            rest, d, marks=first.marks, with_duals=False, time_limit=time_left()
        )
    if first.v is not None and first.status in ("optimal", "time limit"):
        return first  # out of time with a point that meets every rule: feasible all the same
    if first.status == "time limit" and (ran_out := RAN_OUT.get(None)) is not None:
        ran_out[0] += 1
    return None


# --- The exact search: the knob's limit as a variable ----------------------------------------


def _lp_rows(compiled: Compiled, knob: Knob) -> tuple[np.ndarray, list[tuple], float]:
    """For an LP knob: the rows to free; the rows that replace them, each
    ``(columns, values, lower, upper)`` standing for ``a·v ≥ θ`` where ``lower`` and
    ``a·v ≤ θ`` where ``upper``, with θ the knob's limit in model units; and the workbook
    units of one model unit of θ."""
    info, prog, lay = compiled.rows, compiled.program, compiled.layout
    model = compiled.model
    name, i = knob.name, knob.source
    rule = {
        "Budget": Rule.BUDGET,
        "SalesReps": Rule.SALES,
        "OpsCapacity": Rule.OPERATIONS,
        "SupportCapacity": Rule.SUPPORT,
        PIN: Rule.PIN,
        CAP: Rule.CAP,
    }.get(name, Rule.TEST_BUDGET)
    mine = info.rule == rule
    if i >= 0:
        mine &= info.source == i
    if name.startswith("TestPhase"):
        pf = model.portfolio
        phase = pf.test_phase[np.maximum(info.source, 0)] == float(name[9])
        mine &= (info.source >= 0) & phase
        low_end = name.endswith("Min")
        mine &= np.isfinite(prog.lo) if low_end else np.isfinite(prog.hi)
    rows = np.flatnonzero(mine)
    new: list[tuple] = []
    if name in (PIN,) or (name.startswith("TestPhase") and name.endswith("Min")):
        sources = np.unique(info.source[rows]) if name != PIN else np.array([i])
        for w in range(model.weeks):
            for s in sources:
                new.append(([int(lay.x(w, s))], [1.0], True, name == PIN))
    else:
        a = prog.A
        for r in rows:
            lo_side, hi_side = bool(np.isfinite(prog.lo[r])), bool(np.isfinite(prog.hi[r]))
            if name.startswith("TestPhase"):
                lo_side = False
            row = a.getrow(r)
            new.append((row.indices.tolist(), row.data.tolist(), lo_side, hi_side))
    if name in ("Budget", PIN, CAP) or name.startswith("TestPhase"):
        scale = MONEY
    elif name == "SalesReps":
        per_rep = _sales_per_rep(model.limits)
        scale = 1.0 / per_rep if per_rep else math.nan
    elif name == "OpsCapacity":
        scale = 1.0 / _settings(model.limits).capacity.ops_utilisation
    else:
        scale = 1.0
    return rows, new, scale


def _lp_search(
    model: Model, knobs: Sequence[Knob], *, any_point: bool = False
) -> dict[Knob, float] | None:
    """The least moves of the LP ``knobs`` together (each in its own direction) that make
    ``model`` feasible, in the workbook's terms, unrounded; None if no moves do. With
    ``any_point`` (only whether some moves do is wanted), moves that suffice, perhaps not
    the least, where integer variables are needed (:func:`_solved`)."""
    compiled = compile_model(model, prune=False)
    prog = compiled.program
    lo, hi = prog.lo.copy(), prog.hi.copy()
    r_new, c_new, v_new, lo_new, hi_new = [], [], [], [], []
    cols_lb, cols_ub, cost = [], [], []
    scales = []
    n, k = prog.n_cols, 0
    row = 0
    for knob in knobs:
        free, rows, scale = _lp_rows(compiled, knob)
        if not math.isfinite(scale):
            return None
        lo[free], hi[free] = -np.inf, np.inf
        now = float(current(model, knob))
        theta = now / scale if math.isfinite(now) else 0.0
        up, down = n + k, n + k + 1
        k += 2
        for cols, vals, has_lo, has_hi in rows:
            r_new += [row] * (len(cols) + 2)
            c_new += [*cols, up, down]
            v_new += [*vals, -1.0, 1.0]
            lo_new.append(theta if has_lo else -np.inf)
            hi_new.append(theta if has_hi else np.inf)
            row += 1
        size = max(abs(theta), 1.0)
        # θ = now + up − down, within its own direction and ≥ 0
        cols_lb += [0.0, 0.0]
        cols_ub += [np.inf if knob.way >= 0 else 0.0, theta if knob.way <= 0 else 0.0]
        cost += [1.0 / size, 1.0 / size]
        scales.append((theta, scale))
    program = (
        dataclasses.replace(prog, lo=lo, hi=hi)
        .with_objective(np.zeros(n))
        .extend(
            lb=np.array(cols_lb),
            ub=np.array(cols_ub),
            c=np.array(cost),
            rows=(np.array(r_new), np.array(c_new), np.array(v_new)),
            lo=np.array(lo_new),
            hi=np.array(hi_new),
        )
    )
    solved = _solved(program, compiled.discrete, any_point=any_point)
    if solved is None:
        return None
    out = {}
    for j, (knob, (theta, scale)) in enumerate(zip(knobs, scales, strict=True)):
        moved = float(solved.v[n + 2 * j] - solved.v[n + 2 * j + 1])
        out[knob] = (theta + moved) * scale
    return out


# --- Rounding and checking ---------------------------------------------------------------


def _rounded(knob: Knob, value: float, now: float, nudge: int = 0) -> float:
    """``value`` on the knob's grid, rounded away from ``now`` (the safe way), ``nudge``
    steps of ×10 further; never ``now`` itself."""
    step = _kind(knob).step
    ahead = value >= now
    grid = value / step
    k = math.ceil(grid - 1e-9) if ahead else math.floor(grid + 1e-9)
    k += (10**nudge - 1) * (1 if ahead else -1) if nudge else 0
    if abs(k * step - now) < step / 2:
        k += 1 if ahead else -1
    out = _cents(k, step)
    if knob.name in COUNTS:
        out = float(round(out))
    return max(out, 0.0)


def _cents(k: int, step: float) -> float:
    """``k`` steps of ``step`` as the nearest float to the decimal (``k × 0.01`` gave
    $43,742,638.050000004 where ``k ÷ 100`` gives $43,742,638.05).

    Examples
    --------
    >>> _cents(4_374_263_805, 0.01), _cents(411, 0.001), _cents(7, 1.0)
    (43742638.05, 0.411, 7.0)
    """
    return k / round(1 / step)


def _settle(model: Model, knob: Knob, value: float, now: float) -> float | None:
    """The rounded ``value`` (nudged further if it fails) that makes ``model`` feasible."""
    for nudge in range(NUDGES):
        tried = _rounded(knob, value, now, nudge)
        if _in_range(knob, tried) and feasible(apply(model, knob, tried)):
            return tried
    return None


def _in_range(knob: Knob, value: float) -> bool:
    share = _kind(knob).step == 0.001
    return value >= 0 and (not share or value <= 1.0)


# --- The one-dimensional searches ----------------------------------------------------------


def _grid_search(
    model: Model,
    knob: Knob,
    deadline: float = math.inf,
    works: Callable[[Model], bool] = feasible,
    guess: float | None = None,
) -> float | None:
    """The value nearest the current on the knob's grid at which ``model`` is feasible, by
    bisection between the current (infeasible) and the far end of the knob's range; past
    ``deadline`` (a :func:`time.perf_counter` time), the nearest feasible value found so far.
    ``works`` says whether a model is feasible (with other knobs still free, in a search for
    a combination). A ``guess`` (a value another knob of the combination needed: the weekly
    decrease and the guardrail bind together) is tried first with its neighbour on the grid:
    two re-solves instead of ten where it is the answer, two more where it is not."""
    now = float(current(model, knob))
    step = _kind(knob).step
    end = 1.0 if knob.way > 0 and step == 0.001 else 0.0
    if knob.way > 0 and step != 0.001:
        return None
    if (knob.way > 0 and now >= end) or (knob.way < 0 and now <= end):
        return None
    if not works(apply(model, knob, end)):
        return None
    good = round(end / step)
    bad = math.floor(now / step + 1e-9) if knob.way > 0 else math.ceil(now / step - 1e-9)
    if guess is not None and min(good, bad) < (at := round(guess / step)) < max(good, bad):
        toward = 1 if bad > good else -1  # one step nearer the current value
        for k in (at, at + toward):
            if abs(good - bad) <= 1 or not min(good, bad) < k < max(good, bad):
                break
            if not works(apply(model, knob, _on_grid(knob, k))):
                bad = k
                break
            good = k
    while abs(good - bad) > 1 and time.perf_counter() < deadline:
        mid = (good + bad) // 2
        if works(apply(model, knob, _on_grid(knob, mid))):
            good = mid
        else:
            bad = mid
    return _on_grid(knob, good)


def _on_grid(knob: Knob, k: int) -> float:
    value = _cents(k, _kind(knob).step)
    return float(int(value)) if knob.name == "MinActiveSources" else value


def search(model: Model, knob: Knob, deadline: float = math.inf) -> float | str | None:
    """The least change of ``knob`` alone that makes ``model`` feasible, verified; None."""
    kind = _kind(knob)
    if kind.search == "switch":
        value = "paused" if knob.name == STATUS else "at most"
        return value if feasible(apply(model, knob, value)) else None
    if kind.search == "grid":
        return _grid_search(model, knob, deadline)
    threshold = model.limits.active_threshold
    if knob.name == CAP and model.portfolio.cap[knob.source] < threshold:
        # below the minimum the source can only stop: raise the cap to the minimum first
        at_minimum = apply(model, knob, math.ceil(threshold * 100 - 1e-6) / 100)
        if feasible(at_minimum):
            return current(at_minimum, knob)
        return search(at_minimum, knob, deadline)
    found = _lp_search(model, [knob])
    if found is None:
        return None
    now = float(current(model, knob))
    value = _settle(model, knob, found[knob], now if math.isfinite(now) else 0.0)
    if knob.name == "Budget" and value is not None and value <= 0:
        return None  # feasible, as spending nothing is, but no plan: not offered as a fix
    return value


# --- Words ---------------------------------------------------------------------------------


def fix_for(model: Model, knob: Knob, value: float | str) -> Fix:
    """The fix of setting ``knob`` to ``value``, in words and in the workbook's terms."""
    pf = model.portfolio
    source = pf.names[knob.source] if knob.source >= 0 else None
    if knob.name in COUNTS:
        value = int(value)
    return Fix(knob.name, value, _words(model, knob, value), source)


def _money(amount: float) -> str:
    cents = abs(amount - round(amount)) > 0.004
    return f"${amount:,.2f}" if cents else f"${amount:,.0f}"


def _share(value: float) -> str:
    return f"{value * 100:.1f} %"


def _words(model: Model, knob: Knob, value: float | str) -> str:
    name = knob.name
    now = current(model, knob)
    verb = (
        "raise" if isinstance(value, float) and isinstance(now, float) and value > now else "lower"
    )
    if knob.source >= 0:
        who = model.portfolio.names[knob.source]
        if name == STATUS:
            return f"pause {who} (Sources, Status: paused)"
        if name == PIN:
            return f"pin {who} at {_money(float(value))} (Sources, Pin spend)"
        return f"raise the spend cap of {who} to {_money(float(value))} (Sources, Cap spend)"
    if name == "Budget":
        verb = "cut" if verb == "lower" else "raise"
        return f"{verb} the budget to {_money(float(value))} (Budget)"
    if name == "BudgetMode":
        return "set budget use to 'at most' (BudgetMode)"
    if name == "SalesReps":
        per_rep = _sales_per_rep(model.limits) or 0.0
        return (
            f"raise sales reps to {int(value)} (SalesReps: {float(value) * per_rep:,.0f} leads "
            "a month)"
        )
    what = {
        "MaxSourceShare": "the max share per source",
        "ExperimentalFloor": "the experimental floor",
        "WeeklyIncrease": "the max weekly increase",
        "WeeklyDecrease": "the max weekly decrease",
        "WeeklyGuardrail": "the weekly guardrail",
        "MinActiveSpend": "the minimum active spend",
        "MinActiveSources": "the minimum active sources",
        "OpsCapacity": "operations capacity",
        "SupportCapacity": "support capacity",
    }
    band = _band(model.limits, name)
    if band is not None:
        end = "minimum" if name.endswith("Min") else "maximum"
        label = band.label
        text = f"the {possessive(label)} {end}"
    elif name.startswith("TestPhase"):
        end = "minimum" if name.endswith("Min") else "maximum"
        text = f"the phase-{name[9]} test budget's {end}"
    else:
        text = what[name]
    if name in ("MinActiveSpend",) or name.startswith("TestPhase"):
        amount = _money(float(value))
    elif name == "MinActiveSources":
        amount = f"{int(value)}"
    elif name == "OpsCapacity":
        amount = f"{float(value):,.0f} leads a month"
    elif name == "SupportCapacity":
        amount = f"{float(value):,.0f} new customers a month"
    else:
        amount = _share(float(value))
    return f"{verb} {text} to {amount} ({name})"


# --- Which knobs a conflict's rule is tied to ------------------------------------------------


def knobs_for(model: Model, rule: Rule, source: int, low: bool, klass: str = "") -> list[Knob]:
    """The inputs that set the limit of ``rule`` (on ``source``, −1 the portfolio); ``low``:
    its minimum gave (else its maximum)."""
    lim, pf = model.limits, model.portfolio
    if rule is Rule.BUDGET:
        if low:
            return [Knob("Budget", -1)] + ([Knob("BudgetMode", 0)] if lim.exact else [])
        return [Knob("Budget", 1)]
    if rule is Rule.MAX_SHARE:
        own = [Knob(PIN, 0, source)] if pf.regime[source] == Regime.PINNED else []
        return [Knob("MaxSourceShare", 1), *own]
    if rule is Rule.EXPERIMENTAL:
        return [Knob("ExperimentalFloor", -1)]
    if rule in (Rule.BAND_MIN, Rule.BAND_MAX):
        for band in lim.bands:
            if band.klass == klass:
                end = "Min" if rule is Rule.BAND_MIN else "Max"
                return [Knob(band.setting + end, -1 if end == "Min" else 1)]
        return []
    if rule is Rule.SALES:
        return [Knob("SalesReps", 1)] if _sales_per_rep(lim) else []
    if rule is Rule.OPERATIONS:
        return [Knob("OpsCapacity", 1)]
    if rule is Rule.SUPPORT:
        return [Knob("SupportCapacity", 1)]
    if source < 0:
        return []
    if rule in (Rule.WEEKLY_INCREASE, Rule.GUARDRAIL) and not low:
        own = "WeeklyIncrease" if rule is Rule.WEEKLY_INCREASE else "WeeklyGuardrail"
        other = "WeeklyGuardrail" if own == "WeeklyIncrease" else "WeeklyIncrease"
        return [Knob(own, 1), Knob(other, 1), Knob(PIN, 0, source)]
    if rule in (Rule.WEEKLY_DECREASE, Rule.GUARDRAIL):
        own = "WeeklyDecrease" if rule is Rule.WEEKLY_DECREASE else "WeeklyGuardrail"
        other = "WeeklyGuardrail" if own == "WeeklyDecrease" else "WeeklyDecrease"
        return [Knob(own, 1), Knob(other, 1), Knob(STATUS, 0, source), Knob(PIN, 0, source)]
    if rule is Rule.MIN_SPEND:
        return [Knob("MinActiveSpend", -1), Knob(STATUS, 0, source), Knob(PIN, 0, source)]
    if rule is Rule.ENTRY:
        return [Knob(PIN, 0, source)]
    if rule is Rule.PIN:
        return [Knob(PIN, 0, source)]
    if rule is Rule.CAP:
        return [Knob(CAP, 1, source)]
    if rule is Rule.TEST_BUDGET:
        phase = int(pf.test_phase[source])
        if low:
            return [Knob(f"TestPhase{phase}Min", -1), Knob(STATUS, 0, source)]
        return [Knob(f"TestPhase{phase}Max", 1)]
    return []


# --- Putting it together -------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """The fixes found: for each conflict (by index), its fixes; ``together`` when they
    must all be applied (no single one suffices); empty when none was found in time."""

    by_conflict: dict[int, list[Fix]]
    together: bool
    untried: tuple[Knob, ...] = ()
    """Knobs the search did not reach in time (their fixes, if any, are not offered)."""
    cut_short: tuple[Knob, ...] = ()
    """Knobs whose search had a re-solve run out of time: it showed nothing, so the knob
    has no fix or one checked by re-solving but perhaps not the least change."""


def verified_fixes(
    model: Model,
    candidates: Sequence[list[Knob]],
    helpers: Sequence[list[Knob]] = (),
    *,
    seconds: float = SEARCH_SECONDS,
) -> Verified:
    """Search the knobs tied to each conflict for fixes that work when applied: those that
    set its own limit (``candidates[c]``), then those of the rules that hold it back
    (``helpers[c]``), every knob alone; if none suffices, the fewest of the conflicts' own
    knobs together (the knobs of the rules that hold them back first to go). A fix is tied
    to the first conflict that has it.

    Every re-solve stops by ``seconds`` after the start and after :data:`RESOLVE_SECONDS`,
    and each knob gets at most its share of the time left (a slow bisection does not starve
    the knobs after it); the knobs not reached are listed in ``untried``, those whose search
    ran out in ``cut_short``."""
    started = time.perf_counter()
    deadline, ran_out = DEADLINE.set(started + seconds), RAN_OUT.set([0])
    try:
        return _verified(model, candidates, helpers, started, seconds)
    finally:
        DEADLINE.reset(deadline)
        RAN_OUT.reset(ran_out)


def _verified(
    model: Model,
    candidates: Sequence[list[Knob]],
    helpers: Sequence[list[Knob]],
    started: float,
    seconds: float,
) -> Verified:
    out: dict[int, list[Fix]] = {}
    tried: dict[Knob, float | str | None] = {}
    passes = [*enumerate(candidates), *enumerate(helpers)]
    untried: list[Knob] = []
    short: list[Knob] = []
    end = started + seconds
    left = len({k for _, knobs in passes for k in knobs})
    for c, knobs in passes:
        for knob in knobs:
            if knob not in tried:
                now = time.perf_counter()
                if now > end:
                    untried += [k for k in knobs if k not in tried and k not in untried]
                    break
                share = min(end, now + max(2 * RESOLVE_SECONDS, (end - now) / max(left, 1)))
                left -= 1
                ran_out, token = RAN_OUT.get()[0], DEADLINE.set(share)
                tried[knob] = search(model, knob, share)
                DEADLINE.reset(token)
                if RAN_OUT.get()[0] > ran_out:
                    short.append(knob)
            value = tried.get(knob)
            if value is not None:
                fix = fix_for(model, knob, value)
                if all(f != fix for fixes in out.values() for f in fixes):
                    out.setdefault(c, []).append(fix)
    if out or time.perf_counter() > end:
        return Verified(out, together=False, untried=tuple(untried), cut_short=tuple(short))
    together = _combination(model, [*enumerate(helpers), *enumerate(candidates)], started, seconds)
    return dataclasses.replace(together, untried=tuple(untried), cut_short=tuple(short))


def _combination(
    model: Model, candidates: Sequence[tuple[int, list[Knob]]], started: float, seconds: float
) -> Verified:
    """The fewest of the conflicts' knobs that together make ``model`` feasible, each moved
    as little as the others allow (greedy: all at their far end, drop what is not needed —
    in the order of ``candidates``, ``(conflict, knobs)`` pairs — then move each back as far
    as the others allow)."""
    chosen: dict[Knob, int] = {}
    for c, knobs in candidates:
        for knob in knobs:
            if knob.source < 0 or knob.name != STATUS:
                chosen.setdefault(knob, c)
    if not chosen:
        return Verified({}, together=True)
    lp = [k for k in chosen if _kind(k).search == "lp"]
    others = [k for k in chosen if _kind(k).search != "lp"]
    far = {k: _far(model, k) for k in others}
    far = {k: v for k, v in far.items() if v is not None}

    def works(
        keep: dict[Knob, float | str], lp_knobs: list[Knob], m: Model = model
    ) -> dict[Knob, float] | None:
        for k, v in keep.items():
            m = apply(m, k, v)
        if not lp_knobs:
            return {} if feasible(m) else None
        return _lp_search(m, lp_knobs, any_point=True)  # whether, not how far

    if works(far, lp) is None:
        return Verified({}, together=True)
    keep = dict(far)
    for k in list(keep):
        if time.perf_counter() - started > seconds:
            break
        trial = {j: v for j, v in keep.items() if j != k}
        if works(trial, lp) is not None:
            keep = trial
    lp_keep = list(lp)
    for k in list(lp_keep):
        trial = [j for j in lp_keep if j != k]
        if time.perf_counter() - started > seconds:
            break
        if len(trial) + len(keep) and works(keep, trial) is not None:
            lp_keep = trial
    # move each of the others back as far as the rest allow, the LP knobs still free
    guesses: dict[float, float] = {}  # by grid step: what the last such knob needed
    checked = False  # whether the last search solved the final combination itself
    for k in list(keep):
        rest = model
        for j, v in keep.items():
            if j != k:
                rest = apply(rest, j, v)
        checked = False
        if _kind(k).search == "grid":
            found = _grid_search(
                rest,
                k,
                started + seconds,
                lambda m: works({}, lp_keep, m) is not None,
                guess=guesses.get(_kind(k).step),
            )
            if found is not None:
                keep[k] = found
                guesses[_kind(k).step] = found
                checked = not lp_keep  # its value was verified with every other one applied
    final = model
    for k, v in keep.items():
        final = apply(final, k, v)
    values: dict[Knob, float | str] = dict(keep)
    if lp_keep:
        found = _lp_search(final, lp_keep)
        if found is None:
            return Verified({}, together=True)
        for k in lp_keep:
            now = float(current(final, k))
            values[k] = _rounded(k, found[k], now if math.isfinite(now) else 0.0)
            final = apply(final, k, values[k])
    if not checked and not feasible(final):
        return Verified({}, together=True)
    out: dict[int, list[Fix]] = {}
    for k, v in values.items():
        out.setdefault(chosen[k], []).append(fix_for(model, k, v))
    return Verified(out, together=len(values) > 1)


def _far(model: Model, knob: Knob) -> float | str | None:
    """The far end of a knob's range: a switch thrown, a share at 0 or 100 %, a floor at 0."""
    kind = _kind(knob)
    if kind.search == "switch":
        return "paused" if knob.name == STATUS else "at most"
    if kind.step == 0.001:
        return 1.0 if knob.way > 0 else 0.0
    return 0.0 if knob.way < 0 else None
