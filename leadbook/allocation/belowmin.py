"""What a source spending below the minimum active spend today does, and why, in words.

Such a source either stops or glides up to the minimum by the full weekly increase
(:func:`~leadbook.allocation.minimum.glide_floors`); the solver picks whichever its objective
prefers. :func:`glide_in_facts` says which it picked and why: what the other choice would
cost, found by re-solving the model with the source forced to it (every rule kept), or the
cap that keeps the source below the minimum for good — the reason a source at or above the
minimum today stops when its cap is below the minimum.
"""

from __future__ import annotations

import math

import numpy as np

from leadbook.allocation.explain import RESOLVE_NONZEROS, RESOLVES, UNITS, Fact, money, pct
from leadbook.allocation.minimum import below_minimum, cannot_reach_minimum, glide_floors
from leadbook.allocation.model import MONEY
from leadbook.allocation.outcome import Outcome
from leadbook.allocation.rules import Rule
from leadbook.allocation.solve import TOL, solve_exact
from leadbook.enums import Objective


def weeks_to_minimum(current: float, minimum: float, increase: float) -> int | None:
    """The week a source at ``current`` reaches ``minimum`` rising by ``increase`` a week
    (None if it never does).

    Examples
    --------
    >>> weeks_to_minimum(4_000, 5_000, 0.2), weeks_to_minimum(4_320, 5_000, 0.2)
    (2, 1)
    >>> weeks_to_minimum(4_000, 5_000, 0.0) is None
    True
    """
    if current >= minimum:
        return 0
    if current <= 0 or increase <= 0:
        return None
    return max(1, math.ceil(math.log(minimum / current) / math.log1p(increase) - 1e-9))


def glide_in_facts(outcome: Outcome) -> list[Fact]:
    """For each source below the minimum active spend today: whether it glides up to the
    minimum or stops next week, and why; and for each at or above it whose spend or volume
    cap is below it, that it stops (:func:`~leadbook.allocation.minimum.cannot_reach_minimum`).

    Examples
    --------
    >>> import dataclasses
    >>> from leadbook.allocation.engine import optimise
    >>> from leadbook.allocation.examples import tiny_model
    >>> m = tiny_model()
    >>> lim = dataclasses.replace(m.limits, min_spend=1_400.0, increase=0.2, decrease=0.15)
    >>> out = optimise(dataclasses.replace(m, limits=lim), Objective.CUSTOMERS)
    >>> [f.label for f in glide_in_facts(out)]
    ['glides up to min spend', 'glides up to min spend']
    """
    compiled, v = outcome.compiled, outcome.v
    model, lay = compiled.model, compiled.layout
    pf, lim = model.portfolio, model.limits
    below = np.flatnonzero(below_minimum(model) | cannot_reach_minimum(model))
    if not len(below):
        return []
    floors = glide_floors(model)
    allowed = min(RESOLVES, RESOLVE_NONZEROS // max(outcome.goal.minimise.A.nnz, 1))
    facts = []
    for k, i in enumerate(below):
        name, cur, m = pf.names[i], float(pf.current[i]), lim.min_spend
        spend = float(v[lay.x(0, i)]) * MONEY
        where = "below" if cur < m else "at least"
        head = f"{name} spends {money(cur)}, {where} the {money(m)} minimum for an active source"
        reach = float(np.fmin(pf.max_spend[i], pf.cap[i]))
        if spend > TOL * MONEY:
            weeks = weeks_to_minimum(cur, m, lim.increase)
            if weeks is None:
                what = (
                    f"it stays at {money(spend)}: the {lim.increase_rule} (0 %) lets it rise "
                    "no further"
                )
                label = "below min spend"
            elif weeks == 1:
                what = f"it rises to {money(spend)} next week, at least the minimum"
                label = "rises to min spend"
            else:
                what = (
                    f"it glides up by the {lim.increase_rule} (+{pct(lim.increase)} a week: "
                    f"{money(spend)} in week 1) to reach the minimum in week {weeks}"
                )
                label = "glides up to min spend"
            other = "stopping it instead"
            bounds = _forced(outcome, i, on=False)
        else:
            label = "stops: below min spend"
            if reach < m * (1 - 1e-12):
                cap = np.isfinite(pf.cap[i]) and pf.cap[i] <= pf.max_spend[i]
                why = (
                    f"its spend cap of {money(pf.cap[i])}"
                    if cap
                    else f"its volume cap (all its leads cost {money(pf.max_spend[i])} a month)"
                )
                text = f"{head}: it stops — {why} keeps it below the minimum for good"
                label = label if cur < m else "stops: cap below min spend"
                facts.append(Fact(Rule.MIN_SPEND, int(i), text, label, upper=False))
                continue
            what = "it stops"
            weeks = weeks_to_minimum(cur, m, lim.increase)
            if weeks is None:
                other = f"staying at {money(floors[0, i])}"
            elif weeks == 1:
                other = f"rising to the minimum instead ({money(floors[0, i])} next week)"
            else:
                start = money(floors[0, i])
                other = f"gliding up instead ({start} in week 1, the minimum in week {weeks})"
            bounds = _forced(outcome, i, on=True, floor=floors[0, i] / MONEY)
        why = _cost(outcome, bounds, other) if k < allowed else ""
        facts.append(Fact(Rule.MIN_SPEND, int(i), f"{head}: {what}{why}", label, upper=False))
    return facts


def _forced(
    outcome: Outcome, i: int, *, on: bool, floor: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The goal's bounds with source ``i`` forced off (every week) or on in week 1."""
    program, lay = outcome.goal.minimise, outcome.compiled.layout
    lb, ub = program.lb.copy(), program.ub.copy()
    if on:
        col = lay.x(0, i)
        lb[col] = max(lb[col], floor)
    else:
        ub[lay.x(np.arange(outcome.compiled.model.weeks), i)] = 0.0
    return lb, np.maximum(ub, lb)


def _cost(outcome: Outcome, bounds: tuple[np.ndarray, np.ndarray], other: str) -> str:
    """``"; <other> would cost X"``: the objective lost when the model is re-solved with the
    other choice forced (every rule kept)."""
    program = outcome.goal.minimise.with_bounds(*bounds)
    compiled = outcome.compiled
    after = solve_exact(program, compiled.discrete, marks=outcome.marks, with_duals=False)
    if after.status == "infeasible":
        return f"; {other} would break the policy"
    if not after.ok:
        return ""
    base = -float(outcome.goal.c @ outcome.v)
    loss = max(after.value - base, 0.0)
    objective = outcome.goal.objective
    if loss < 1e-9 * max(1.0, abs(base)):
        return f"; {other} would do as well"
    amount = money(loss) if objective is Objective.MARGIN else f"{loss:,.3g}"
    unit = "of margin a month" if objective is Objective.MARGIN else UNITS[objective]
    return f"; {other} would cost {amount} {unit}"
