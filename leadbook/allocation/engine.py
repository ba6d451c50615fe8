"""One allocation solve from a :class:`~leadbook.allocation.model.Model` to an
:class:`~leadbook.allocation.outcome.Outcome`.

1. **Build**: compile every rule into one programme (:func:`compile_model`).
2. **Solve**: maximise the objective exactly (:func:`~leadbook.allocation.solve.solve_exact`);
   an infeasible policy goes to the elastic re-solve, which names what must give
   (:func:`~leadbook.allocation.explain.infeasibility`). When the continuous relaxation's
   optimum breaks a discrete rule, the least-change point of the relaxation's optimal face
   is tried first (:func:`_settle_on_face`): if it keeps every rule, it is the optimum and
   the tie-break's answer at once, and no integer variable is needed; if not, the integer
   solve first searches the face around that point (``solve_exact(relaxed=...)``).
3. **Tie-break**: among allocations within a relative 10⁻⁹ of the optimum, take the one
   with the smallest total change from today — a second, lexicographic solve. Change is
   measured as each source's change in leads valued at its price per lead today
   (:func:`change_program`), which equals its change in spend within a price block. The
   tie-break keeps the optimum's discrete choices (who is on, which price block each source
   buys from: :func:`_keep_choices`) and the optimal face from the duals, so it is a small
   LP rather than a second branch-and-bound. Many portfolios have a whole face of optima (two
   sources with the same cost per customer, a budget that does not bind); this picks the
   one that disturbs vendors least.
4. **Duals**: the LP around the answer — the first solve itself when it needed no
   integers, else the LP with the answer's discrete choices fixed (which sources are on,
   which blocks are full) — solved by ``scipy.optimize.linprog(method="highs")``; its
   duals give the marginal value of budget and of each binding rule, and restrict the
   tie-break to the optimal face (:func:`~leadbook.allocation.solve.optimal_face`).
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import pandas as pd

from leadbook.allocation.compile import Compiled, Program, compile_model, is_rule
from leadbook.allocation.model import MONEY, Model, Regime, in_week, phase_in_week
from leadbook.allocation.objectives import Goal, customers_vector, goal_for
from leadbook.allocation.outcome import Outcome
from leadbook.allocation.rules import Rule, block_spends, leads_for_spend
from leadbook.allocation.solve import (
    TOL,
    Duals,
    Marks,
    Solved,
    duals,
    fixed_program,
    meets_every_rule,
    optimal_face,
    relaxed_minimum,
    solve_exact,
)
from leadbook.enums import Objective
from leadbook.errors import InfeasiblePolicyError, LeadbookError

log = logging.getLogger(__name__)

TIE_TOLERANCE = 1e-9
"""How far (relative) below the optimum the tie-break may go to reduce change."""
FACE_MIN_COLUMNS = 5_000
"""From this many columns the tie-break is worth restricting to the optimal face even when
that needs an extra LP for the duals (below it, the unrestricted tie-break LP is cheap)."""


def optimise(
    model: Model,
    objective: Objective,
    *,
    time_limit: float | None = None,
    terms: pd.DataFrame | None = None,
    marks: Marks | None = None,
    explain: bool = True,
    compiled: Compiled | None = None,
    fixes: bool = True,
    explain_infeasible: bool = True,
) -> Outcome:
    """The optimal allocation of ``model`` under ``objective``, tie-broken, with duals.

    Raises :class:`~leadbook.errors.InfeasiblePolicyError` naming each rule that must give
    when no allocation meets the policy. ``terms`` fixes the weighted objective's
    normalisation (see :func:`~leadbook.allocation.objectives.goal_for`); ``marks`` are
    discrete rules to enforce from the start (a similar model's, to save a solve).
    ``explain=False`` (later weeks of a glide path) skips what only explanations need: the
    marginal value of budget, and the duals LP after an integer solve of a small model.
    ``compiled``: ``model`` already compiled (a budget curve retargets one compilation
    instead of compiling each point); ``fixes=False`` names the rules that must give in an
    infeasible policy without searching for verified fixes (one elastic re-solve).
    ``explain_infeasible=False`` raises the error of an infeasible policy bare, without the
    elastic re-solve and fix search that name what must give (the verdict alone).

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> out = optimise(tiny_model(), Objective.CUSTOMERS)
    >>> round(out.value, 3), out.solved.status
    (6.0, 'optimal')
    """
    started = time.perf_counter()
    compiled = compile_model(model) if compiled is None else compiled
    built = time.perf_counter()
    try:
        if objective is Objective.WEIGHTED and terms is None:
            terms = weighted_terms(model, time_limit)
        goal = goal_for(compiled, objective, time_limit=time_limit, terms=terms)
    except InfeasiblePolicyError:
        raise _explained(compiled, fixes, explain_infeasible) from None
    start = goal.marks.union(marks) if marks is not None else goal.marks
    first = solve_exact(
        goal.minimise, compiled.discrete, marks=start, time_limit=time_limit, rounds=1
    )
    settled = None
    if first.status == "unsettled" and not start and first.duals is not None:
        settled = _settle_on_face(compiled, goal, first, time_limit)
        if settled is not None and not settled.ok:
            # it broke a rule: still the optimum of the relaxation nearest to one that keeps
            # them all, which the integer solve searches around first (``relaxed``)
            if settled.v is not None:
                first = dataclasses.replace(first, v=settled.v)
            settled = None
    if first.status == "unsettled" and settled is None:
        first = solve_exact(
            goal.minimise,
            compiled.discrete,
            marks=first.marks,
            time_limit=time_limit,
            relaxed=first if not start else None,
        )
    if first.status == "infeasible":
        raise _explained(compiled, fixes, explain_infeasible)
    if settled is None and not first.ok:
        raise LeadbookError(f"the allocation solve stopped early ({first.status}); nothing written")
    if not first.integers:
        found = first.duals
    elif explain or goal.program.n_cols >= FACE_MIN_COLUMNS:
        found = duals(fixed_program(goal.minimise, compiled.discrete, first))
    else:
        found = None
    final = settled if settled is not None else _tie_break(compiled, goal, first, found, time_limit)
    solved_at = time.perf_counter()
    value = float(goal.c @ final.v) + goal.constant
    budget_value, budget_note = float("nan"), None
    if explain:
        fixed = fixed_program(goal.minimise, compiled.discrete, final)
        budget_value = _budget_value(compiled, goal, fixed, found, final)
        if np.isnan(budget_value) and found is not None:
            budget_note = _budget_note(compiled, goal)
    done = time.perf_counter()
    return Outcome(
        compiled,
        goal,
        final,
        final.v,
        value,
        found,
        budget_value,
        None,
        {
            "build": built - started,
            "solve": solved_at - built,
            "explain": done - solved_at,
            "gap": max(first.gap, final.gap),
        },
        final.marks if settled is not None else first.marks,
        budget_note,
    )


def _explained(
    compiled: Compiled, fixes: bool = True, explain: bool = True
) -> InfeasiblePolicyError:
    if not explain:
        return InfeasiblePolicyError()
    from leadbook.allocation.explain import infeasibility

    return infeasibility(compiled, fixes=fixes)


def today_prices(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Each source's leads today (what today's spend buys, cheapest block first) and its
    price per lead today ($): today's spend ÷ those leads, or the first block's CPL."""
    pf = model.portfolio
    leads = leads_for_spend(model, pf.current)
    first = np.full(len(pf), np.nan)
    first[pf.blocks.source[::-1]] = pf.blocks.cpl[::-1]
    price = np.where(leads > 0, pf.current / np.where(leads > 0, leads, 1.0), first)
    return leads, np.nan_to_num(price, nan=0.0)


def change_program(compiled: Compiled, program: Program) -> tuple[Program, np.ndarray]:
    """``program`` with helper columns ``d[i, w] ≥ p_i·|L[i, w] − L[i, w−1]|``: the change of
    each source's leads from week to week (week 0 from today), valued at its price per lead
    today ``p_i``; returns it and the cost vector that sums them ($1,000s).

    Within a price block this is exactly the change in spend. Measured on leads rather
    than spend, it never rewards buying a dearer block first to keep spend close to today's,
    so the tie-break keeps fill order without binaries.
    """
    model, lay = compiled.model, compiled.layout
    pf = model.portfolio
    n, weeks, b = lay.n, model.weeks, pf.blocks
    today, price = today_prices(model)
    price_k = price / MONEY
    k = n * weeks
    d = program.n_cols + np.arange(k)
    per_k = price_k[b.source] * MONEY / b.cpl
    r, c, v, lo = [], [], [], []
    for half, sign in enumerate((1.0, -1.0)):
        for w in range(weeks):
            rows = half * k + w * n
            # d − sign·p·(L[w] − L[w−1]) ≥ 0; in week 0, L[w−1] is today's leads
            r += [rows + np.arange(n), rows + b.source]
            c += [d[w * n : (w + 1) * n], lay.s(w)]
            v += [np.ones(n), -sign * per_k]
            if w:
                r.append(rows + b.source)
                c.append(lay.s(w - 1))
                v.append(sign * per_k)
                lo.append(np.zeros(n))
            else:
                lo.append(-sign * price_k * today)
    ext = program.extend(
        lb=np.zeros(k),
        ub=np.full(k, np.inf),
        rows=(np.concatenate(r), np.concatenate(c), np.concatenate(v)),
        lo=np.concatenate(lo),
        hi=np.full(2 * k, np.inf),
    )
    cost = np.zeros(ext.n_cols)
    cost[d] = 1.0
    return ext, cost


def _settle_on_face(
    compiled: Compiled, goal: Goal, relaxed: Solved, time_limit: float | None
) -> Solved | None:
    """The least-change optimum of the relaxation, if it keeps every discrete rule.

    ``relaxed`` is the continuous relaxation's optimum (which broke some discrete rule)
    with its duals. Among all optima of the relaxation — its optimal face — the one that
    changes least from today often keeps every rule by itself: staying near today keeps
    active sources on and blocks in order, where the relaxation's vertex was an arbitrary
    corner of a large face (typical when a capacity caps the objective). If so, it is
    feasible for the full model and reaches the relaxation's bound, so it is optimal, and
    it is the tie-break's answer too (it changes least among a superset of the optima):
    one LP replaces branch-and-bound and the tie-break. If it still breaks a rule, it is
    returned ``unsettled`` (``solve_exact`` searches the face around it); None if the solve
    ended without a point.
    """
    assert relaxed.v is not None and relaxed.duals is not None
    staying = _staying(compiled, goal, float(goal.c @ relaxed.v))
    if staying is not None:
        log.debug("today's allocation is optimal and keeps every rule")
        return dataclasses.replace(staying, solves=relaxed.solves, seconds=relaxed.seconds)
    face = optimal_face(goal.minimise, relaxed.duals, relaxed.v)
    settled = _least_change(compiled, goal, face, relaxed.v, time_limit, rounds=1)
    if settled is None:
        return None
    if not settled.ok:
        return settled
    log.debug("the relaxation's least-change optimum keeps every discrete rule")
    return dataclasses.replace(
        settled, solves=relaxed.solves + settled.solves, seconds=relaxed.seconds + settled.seconds
    )


def _staying(compiled: Compiled, goal: Goal, best: float) -> Solved | None:
    """Today's allocation, kept every week, if it keeps every rule and reaches ``best``
    (the relaxation's optimum): then nothing changes less, so it is the answer, found
    without a solve. Typical once a glide path has arrived; None otherwise (or when the
    goal's programme has helper columns today's allocation says nothing about)."""
    model, lay, program = compiled.model, compiled.layout, goal.program
    if program.n_cols != lay.size or program.n_rows != len(compiled.rows.scale):
        return None
    today = model.portfolio.current
    blocks = block_spends(model, today) / MONEY
    v = np.zeros(lay.size)
    for w in range(model.weeks):
        v[lay.x(w)] = today / MONEY
        v[lay.s(w)] = blocks
        v[lay.total(w)] = today.sum() / MONEY
    value = float(goal.c @ v)
    if value < best - TIE_TOLERANCE * max(1.0, abs(best)):
        return None
    if not meets_every_rule(program, compiled.discrete, v, compiled.rows.scale):
        return None
    return Solved("optimal", v=v, value=-value)


def _least_change(
    compiled: Compiled,
    goal: Goal,
    base: Program,
    best_v: np.ndarray,
    time_limit: float | None,
    rounds: int | None = None,
) -> Solved | None:
    """The allocation over ``base`` that changes least from today (:func:`change_program`)
    while its objective stays within :data:`TIE_TOLERANCE` of ``best_v``'s; None if the
    solve ends without one. ``v`` is cut back to the goal's columns."""
    best = float(goal.c @ best_v)
    program, cost = change_program(compiled, base)
    nz = np.flatnonzero(goal.c)
    floor = best - TIE_TOLERANCE * max(1.0, abs(best))
    program = program.extend(
        rows=(np.zeros(len(nz), np.int64), nz, goal.c[nz]), lo=np.array([floor]), hi=[np.inf]
    ).with_objective(cost)
    solved = solve_exact(
        program, compiled.discrete, time_limit=time_limit, rounds=rounds, with_duals=False
    )
    if solved.v is None:
        return None
    return dataclasses.replace(solved, v=solved.v[: goal.program.n_cols], value=-best)


def _tie_break(
    compiled: Compiled,
    goal: Goal,
    first: Solved,
    found: Duals | None,
    time_limit: float | None,
) -> Solved:
    assert first.v is not None
    base = fixed_program(goal.program, compiled.discrete, first)
    base = base.with_bounds(*_keep_choices(compiled, first.v, base.lb, base.ub))
    if found is not None:
        base = optimal_face(base.with_objective(-goal.c), found, first.v)
    second = _least_change(compiled, goal, base, first.v, time_limit)
    if second is None or not second.ok:
        status = "no answer" if second is None else second.status
        log.warning("tie-break solve ended %s; keeping the first optimum", status)
        return first
    return dataclasses.replace(
        second,
        value=first.value,
        gap=max(first.gap, second.gap),
        solves=first.solves + second.solves,
        seconds=first.seconds + second.seconds,
    )


def _keep_choices(
    compiled: Compiled, v: np.ndarray, lb: np.ndarray, ub: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds that keep the optimum's discrete choices for the tie-break: each source
    stays in the price block it is buying from (cheaper blocks full, dearer ones empty),
    and a source that may stop stays on (at least the minimum) or off. The tie-break is
    then an LP; it chooses among optima that make the same choices."""
    lb, ub = lb.copy(), ub.copy()
    d, lay = compiled.discrete, compiled.layout
    b = compiled.model.portfolio.blocks
    for w in range(compiled.model.weeks):
        cols = lay.s(w)
        used = v[cols] > TOL
        top = np.full(lay.n, -1)
        np.maximum.at(top, b.source[used], b.rank[used])
        top = np.maximum(top, 0)[b.source]
        below, above = b.rank < top, b.rank > top
        lb[cols[below]] = ub[cols[below]]
        ub[cols[above]] = lb[cols[above]]
    on = v[d.semi] > TOL
    floor = d.floor(d.semi[on])
    lb[d.semi[on]] = np.maximum(lb[d.semi[on]], np.minimum(floor, ub[d.semi[on]]))
    ub[d.semi[~on]] = 0.0
    return lb, np.maximum(ub, lb)


def _budget_value(
    compiled: Compiled, goal: Goal, fixed: Program, found: Duals | None, final: Solved
) -> float:
    """Customers a month that an extra $1,000 of budget would add.

    With the customers objective this is what the model gains when re-solved with the
    budget raised by $1,000 (every rule kept, starting from the discrete rules the answer
    needed) — not minus the budget rows' dual, the rate at the margin, which may hold for
    only part of the $1,000 (a random portfolio's dual said 0.616 where the $1,000 adds
    0.555). Otherwise it is the change in expected customers when the fixed LP is
    re-solved under the same objective with the budget raised by $1,000 (the allocation
    that objective would then choose).
    """
    info = compiled.rows
    budget = np.flatnonzero(is_rule(info, Rule.BUDGET))
    if found is None:
        return float("nan")
    if goal.objective is Objective.CUSTOMERS:
        if abs(float(found.rhs[budget].sum())) < 1e-12 or final.v is None:
            return 0.0  # the budget does not bind: a zero rate bounds what $1,000 adds
        program = goal.minimise
        lo, hi = program.lo.copy(), program.hi.copy()
        hi[budget] += 1.0
        lo[budget] = np.where(np.isfinite(lo[budget]), lo[budget] + 1.0, -np.inf)
        raised = solve_exact(
            dataclasses.replace(program, lo=lo, hi=hi),
            compiled.discrete,
            marks=final.marks,
            with_duals=False,
        )
        if not raised.ok:
            return float("nan")
        return -float(goal.c @ final.v) - raised.value + 0.0
    customers = customers_vector(compiled.model, compiled.layout)
    customers = np.r_[customers, np.zeros(fixed.n_cols - len(customers))]
    raised_lo = fixed.lo.copy()
    raised_hi = fixed.hi.copy()
    raised_hi[budget] += 1.0
    raised_lo[budget] = np.where(np.isfinite(raised_lo[budget]), raised_lo[budget] + 1.0, -np.inf)
    base = _lp_point(fixed)
    more = _lp_point(dataclasses.replace(fixed, lo=raised_lo, hi=raised_hi))
    if base is None or more is None:
        return float("nan")
    return float(customers @ more - customers @ base)


def _budget_note(compiled: Compiled, goal: Goal) -> str | None:
    """Why another $1,000 of an exact budget cannot be valued: the model with the budget
    raised by $1,000 breaks another rule (the largest exact budget lies below it), or None."""
    from leadbook.allocation.explain import money

    lim = compiled.model.limits
    if not lim.exact:
        return None
    budget = np.flatnonzero(is_rule(compiled.rows, Rule.BUDGET))
    program = goal.minimise
    lo, hi = program.lo.copy(), program.hi.copy()
    lo[budget] += 1.0
    hi[budget] += 1.0
    raised = solve_exact(dataclasses.replace(program, lo=lo, hi=hi), compiled.discrete)
    if raised.status != "infeasible":
        return None
    more = money(lim.budget + MONEY)
    return (
        f"Another $1,000 could not be spent: at an exact budget of {more} the other rules "
        "cannot all be met (budget use: exact)."
    )


def _lp_point(program: Program) -> np.ndarray | None:
    from scipy.optimize import Bounds, LinearConstraint, milp

    res = milp(
        program.c,
        bounds=Bounds(program.lb, program.ub),
        constraints=LinearConstraint(program.A, program.lo, program.hi),
    )
    return res.x if res.status == 0 else None


def steady_model(model: Model) -> Model:
    """The same policy without weekly change limits: where a glide path is heading.

    Entrants and sources with spend today may then take any amount from the minimum active
    spend up (or stop); everything else is unchanged.
    """
    pf = model.portfolio
    regime = np.where(pf.regime == Regime.ENTRANT, Regime.CHANGE, pf.regime).astype(np.int8)
    limits = dataclasses.replace(model.limits, increase=np.inf, decrease=1.0)
    return Model(dataclasses.replace(pf, regime=regime), limits, weeks=1)


def weighted_terms(model: Model, time_limit: float | None = None) -> pd.DataFrame:
    """The weighted objective's normalisation over the policy without weekly change limits:
    each term's best and payoff-table worst where the portfolio may go, not within next
    week's narrow steps (whose tiny ranges would let one term swamp the weights)."""
    steady = compile_model(steady_model(model))
    goal = goal_for(steady, Objective.WEIGHTED, time_limit=time_limit)
    assert goal.terms is not None
    return goal.terms


def steady_value(
    model: Model,
    objective: Objective,
    time_limit: float | None,
    marks: Marks | None = None,
    reached: float | None = None,
) -> float | None:
    """The optimum without weekly change limits (None for the weighted objective, whose
    normalisation differs, or if that solve fails). ``marks``: discrete rules to enforce
    from the start (the glide path's last week's: a third fewer rounds at 1,000 sources).

    ``reached``: the value a glide path's last week reached. Every week of the path meets
    every rule of the policy, so no optimum without weekly limits is below it, and none is
    above the relaxation (the policy with no discrete rule enforced, one LP). When the path
    reaches the relaxation's value, that is the optimum, proven without the integer solve —
    which at 10,000 sources takes minutes where the LP takes seconds.
    """
    if objective is Objective.WEIGHTED:
        return None
    steady = steady_model(model)
    if reached is not None:
        compiled = compile_model(steady)
        try:
            goal = goal_for(compiled, objective, time_limit=time_limit)
        except LeadbookError:
            return None
        lowest = relaxed_minimum(goal.minimise, time_limit)
        if lowest is not None:
            bound = goal.constant - lowest
            if reached >= bound - REACHED * max(1.0, abs(bound)):
                log.debug("the glide path reaches the relaxation's %.6g: no integer solve", bound)
                return bound
    try:  # its value only: none of the duals and budget value explanations need
        out = optimise(steady, objective, time_limit=time_limit, marks=marks, explain=False)
    except LeadbookError:
        return None
    return out.value


REACHED = 1e-7
"""Relative gap within which a path's value counts as the relaxation's (HiGHS's primal
feasibility tolerance; the glide sentence reads "reaches" within 1e-6)."""


def week_spend(outcome: Outcome, week: int = 0) -> np.ndarray:
    """Each source's spend ($ a month) in ``week`` of ``outcome``."""
    lay = outcome.compiled.layout
    return outcome.v[lay.x(week)] * MONEY


def next_week(
    model: Model, spend: np.ndarray, week: int = 1, stopped: np.ndarray | None = None
) -> Model:
    """The one-week model of week ``week`` of a plan that starts from ``spend`` (the week
    before's) instead of today's spend: sources that move by the weekly rules are active if
    they spend, entrants (who may enter at the minimum active spend) if not; testing sources
    are in that week's test phase (:func:`~leadbook.allocation.model.in_week`); everything
    else is unchanged. ``stopped``: tests stopped at a phase gate earlier in the plan (off
    from then on)."""
    pf = in_week(model, week).portfolio
    regime = pf.regime.copy()
    if stopped is not None:
        regime[stopped] = Regime.OFF
    moving = np.isin(regime, (Regime.CHANGE, Regime.ENTRANT))
    regime[moving] = np.where(spend[moving] > 0, Regime.CHANGE, Regime.ENTRANT)
    moved = dataclasses.replace(pf, current=spend, regime=regime, today_spend=pf.spend_today)
    return Model(moved, model.limits, weeks=1)


def glide_path(
    model: Model,
    objective: Objective,
    weeks: int,
    *,
    time_limit: float | None = None,
    destination: bool = True,
) -> tuple[list[Outcome], float | None]:
    """A glide path of ``weeks`` weekly rebalances, each from the week before, and the
    optimum it is heading for (the policy without weekly change limits).

    Week 1 is next week's rebalance from today's spend; week k is the rebalance from week
    k−1's answer — every rule holds every week, and each week moves toward the optimum as
    fast as the weekly change limits allow (each week is optimal given the week before).
    The weighted objective keeps week 1's normalisation, so every week maximises one score.
    Once a week repeats the week before, the rest of the path repeats it too (the same
    problem has the same answer), so no more solves are needed. A small model's week starts
    with the discrete rules the week before needed; a large one's with the count only.
    ``destination`` also solves the policy without weekly limits, to say whether and when
    the path gets there.

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> path, steady = glide_path(tiny_model(), Objective.CUSTOMERS, 3)
    >>> [round(p.value, 3) for p in path], steady
    ([6.0, 6.0, 6.0], 6.0)
    """
    path = [optimise(model, objective, time_limit=time_limit)]
    before = model.portfolio.current
    stopped = np.zeros(len(model.portfolio), dtype=bool)
    while len(path) < weeks:
        spend = week_spend(path[-1])
        gate = path[-1].compiled.model.portfolio.test_gate
        if gate is not None:
            stopped |= gate & (spend <= 0)
        phases_move = phases_move_in(model, len(path) + 1)
        if not phases_move and np.allclose(spend, before, rtol=1e-9, atol=1e-6):
            path.append(path[-1])
            continue
        week = next_week(model, spend, len(path) + 1, stopped)
        # a small model starts from the rules the week before needed (saving an LP); in a
        # large one, enforcing every block chain or entrant again costs more than the LP;
        # a week whose test phases move starts afresh (its sources' rules are others)
        terms = path[0].goal.terms
        marks = path[-1].marks
        if phases_move or phases_move_in(model, len(path)):
            marks = None  # the week before's rules were another week's tests
        elif path[-1].goal.program.n_cols >= FACE_MIN_COLUMNS:
            marks = Marks(count=marks.count)
        try:
            path.append(
                optimise(
                    week, objective, time_limit=time_limit, terms=terms, marks=marks, explain=False
                )
            )
        except InfeasiblePolicyError as exc:
            raise _in_week(exc, len(path) + 1) from None
        before = spend
    steady = None
    if weeks > 1 and destination:
        last, marks = model, path[-1].marks
        if any(phases_move_in(model, w) for w in range(2, weeks + 1)):
            marks = None
            # heading for the policy as it stands in the last week: tests moved on or stopped
            ended = path[-1].compiled.model
            today = model.portfolio.current
            moved = dataclasses.replace(ended.portfolio, current=today, today_spend=None)
            last = dataclasses.replace(ended, portfolio=moved)
        steady = steady_value(last, objective, time_limit, marks, path[-1].value)
    return path, steady


def _in_week(problem: InfeasiblePolicyError, week: int) -> InfeasiblePolicyError:
    """``problem``, said of week ``week`` of a glide path (the weeks before it met the
    policy; a test at its phase gate, or a source whose test ended, may change that)."""
    summary = (
        f"Week {week} of the glide path (weeks 1–{week - 1} meet the policy): "
        + problem.summary[0].lower()
        + problem.summary[1:]
    )
    return dataclasses.replace(problem, summary=summary)


def phases_move_in(model: Model, week: int) -> bool:
    """Whether a testing source of ``model`` changes test phase (or ends its test) in week
    ``week`` of a plan."""
    phase = model.portfolio.test_phase
    if model.limits.settings is None or week == 1 or np.isnan(phase).all():
        return False
    now, before = phase_in_week(phase, week), phase_in_week(phase, week - 1)
    return bool((now[~np.isnan(phase)] != before[~np.isnan(phase)]).any())
