"""An independent statement of the allocation model, for tests and the benchmark.

Written from the rules as docs/allocation.md states them, not from leadbook's rule builders:
a textbook MILP over **leads per price block** on CBC through PuLP, with binaries for every
discrete rule up front (fill order of every multi-block source, "active" for every source,
entry for every entrant), and a rule checker that evaluates each rule on a given answer.
"""

from __future__ import annotations

import itertools
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pulp

from leadbook.allocation.model import Model, Regime


@dataclass
class Reference:
    """CBC's answer: status, objective (mean over the weeks), spend (weeks × sources),
    leads per block (weeks × blocks), seconds to build and to solve, and CBC's gap."""

    status: str
    value: float
    spend: np.ndarray | None
    leads: np.ndarray | None
    build: float
    solve: float


def reference_solve(
    model: Model, objective: str = "customers", *, time_limit: float | None = None
) -> Reference:
    """The optimum of ``model`` as an independent MILP on CBC."""
    # PuLP 3.3 announces its 4.0 API; the classic API used here is what 3.3 documents.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _reference_solve(model, objective, time_limit)


def _reference_solve(model: Model, objective: str, time_limit: float | None) -> Reference:
    started = time.perf_counter()
    pf, lim = model.portfolio, model.limits
    n, weeks = len(pf), model.weeks
    b = pf.blocks
    prob = pulp.LpProblem("allocation", pulp.LpMaximize)
    y = {
        (w, j): pulp.LpVariable(f"y_{w}_{j}", 0, float(b.leads[j]))
        for w in range(weeks)
        for j in range(len(b))
    }
    blocks_of = [np.flatnonzero(b.source == i) for i in range(n)]
    spend = {
        (w, i): pulp.lpSum(float(b.cpl[j]) * y[w, j] for j in blocks_of[i])
        for w in range(weeks)
        for i in range(n)
    }
    leads = {
        (w, i): pulp.lpSum(y[w, j] for j in blocks_of[i]) for w in range(weeks) for i in range(n)
    }
    big = [float((b.leads[blocks_of[i]] * b.cpl[blocks_of[i]]).sum()) for i in range(n)]
    thr = lim.min_spend if lim.min_spend > 0 else 1.0
    floor = least_nonzero_spend(model)
    for w in range(weeks):
        # the week's total spend as a variable of its own, as leadbook's model has it: each
        # share row then reads x ≤ share · T, two terms, not every block of the portfolio
        # (n² coefficients, which made CBC 17× slower at 1,000 sources)
        total = pulp.LpVariable(f"total_{w}", 0)
        prob += total == pulp.lpSum(spend[w, i] for i in range(n))
        # fill order: a dearer block only once the cheaper one is full
        for i in range(n):
            js = blocks_of[i]
            for a, c in itertools.pairwise(js):
                z = pulp.LpVariable(f"z_{w}_{c}", cat="Binary")
                prob += y[w, a] >= float(b.leads[a]) * z
                prob += y[w, c] <= float(b.leads[c]) * z
        prob += total <= lim.budget
        if lim.exact:
            prob += total >= lim.budget
        for i in range(n):
            x = spend[w, i]
            regime = Regime(pf.regime[i])
            if regime is Regime.OFF:
                prob += x <= 0
                continue
            if np.isfinite(pf.cap[i]):
                prob += x <= float(pf.cap[i])
            if lim.max_share < 1:
                prob += x <= lim.max_share * total
            if regime is Regime.PINNED:
                prob += x == float(pf.pin[i])
            elif regime is Regime.TESTING:
                prob += x >= float(pf.test_min[i])
                prob += x <= float(pf.test_max[i])
            else:
                prev = float(pf.current[i]) if w == 0 else spend[w - 1, i]
                entrant = regime is Regime.ENTRANT
                below = _may_stop(model, i)
                if w == 0 and entrant:
                    prob += x <= lim.min_spend
                else:
                    prob += x <= (1 + lim.increase) * prev
                    # stopping a source below the minimum is not held back by the decrease
                    if lim.decrease < 1 and not (below and w == 0):
                        prob += x >= (1 - lim.decrease) * prev
                may_stop = entrant or lim.decrease >= 1 or below
                if lim.min_spend > 0:
                    if may_stop:
                        on = pulp.LpVariable(f"on_{w}_{i}", cat="Binary")
                        prob += x >= float(floor[w, i]) * on
                        prob += x <= big[i] * on
                    else:
                        prob += x >= lim.min_spend
                if entrant and big[i] < thr:
                    prob += x <= 0
        exp = [i for i in range(n) if pf.experimental[i]]
        if lim.experimental_floor > 0:
            prob += pulp.lpSum(spend[w, i] for i in exp) >= lim.experimental_floor * total
        for band in lim.bands:
            members = [i for i in range(n) if pf.classes[band.column][i] == band.klass]
            group = pulp.lpSum(spend[w, i] for i in members)
            if band.min > 0:
                prob += group >= band.min * total
            if band.max < 1:
                prob += group <= band.max * total
        all_leads = pulp.lpSum(leads[w, i] for i in range(n))
        prob += all_leads <= lim.sales_leads
        prob += all_leads <= lim.ops_leads
        prob += (
            pulp.lpSum(float(pf.conversion[i]) * leads[w, i] for i in range(n))
            <= lim.support_customers
        )
        if lim.min_active > 0:
            active = []
            for i in range(n):
                if pf.regime[i] == Regime.OFF or big[i] < thr:
                    continue
                a = pulp.LpVariable(f"a_{w}_{i}", cat="Binary")
                prob += spend[w, i] >= thr * a
                active.append(a)
            prob += pulp.lpSum(active) >= lim.min_active
    prob += _objective(model, objective, y) / weeks
    built = time.perf_counter()
    solver = pulp.PULP_CBC_CMD(msg=0, gapRel=1e-9, timeLimit=time_limit)
    prob.solve(solver)
    solved = time.perf_counter()
    status = pulp.LpStatus[prob.status]
    if status != "Optimal" or prob.sol_status not in (1,):
        return Reference(status, float("nan"), None, None, built - started, solved - built)
    lv = np.array([[y[w, j].value() or 0.0 for j in range(len(b))] for w in range(weeks)])
    sp = np.array(
        [[sum(b.cpl[j] * lv[w, j] for j in blocks_of[i]) for i in range(n)] for w in range(weeks)]
    )
    return Reference(
        "optimal", float(pulp.value(prob.objective)), sp, lv, built - started, solved - built
    )


def _below(model: Model, i: int) -> bool:
    """Whether source ``i`` is active and spends below the minimum active spend today."""
    pf, lim = model.portfolio, model.limits
    return bool(pf.regime[i] == Regime.CHANGE and 0 < pf.current[i] < lim.min_spend)


def _may_stop(model: Model, i: int) -> bool:
    """Whether source ``i`` may stop next week though the weekly decrease says otherwise:
    below the minimum today, or at or above it with a spend or volume cap below it."""
    pf, lim = model.portfolio, model.limits
    full = float((pf.blocks.leads * pf.blocks.cpl)[pf.blocks.source == i].sum())
    cap = float(pf.cap[i]) if np.isfinite(pf.cap[i]) else np.inf
    short = pf.regime[i] == Regime.CHANGE and 0 < lim.min_spend <= pf.current[i]
    return _below(model, i) or bool(short and min(full, cap) < lim.min_spend)


def least_nonzero_spend(model: Model) -> np.ndarray:
    """Weeks × sources: the least a source may spend if it spends at all, as
    docs/allocation.md states it — the minimum active spend, except that a source below it
    today glides in: ``min(minimum, today × (1 + increase)^k)`` in week k, unless its spend
    cap or volume cap is below the minimum (then the minimum: it can only stop)."""
    pf, lim = model.portfolio, model.limits
    b = pf.blocks
    out = np.full((model.weeks, len(pf)), lim.min_spend)
    for i in range(len(pf)):
        full = float((b.leads[b.source == i] * b.cpl[b.source == i]).sum())
        cap = float(pf.cap[i]) if np.isfinite(pf.cap[i]) else np.inf
        if _below(model, i) and min(full, cap) >= lim.min_spend:
            for w in range(model.weeks):
                grown = float(pf.current[i]) * (1 + lim.increase) ** (w + 1)
                out[w, i] = min(lim.min_spend, grown)
    return out


def _objective(model: Model, objective: str, y: dict) -> object:
    pf = model.portfolio
    b = pf.blocks
    terms = []
    for (_, j), var in y.items():
        conv = float(pf.conversion[b.source[j]])
        if objective == "customers":
            terms.append(conv * var)
        else:
            rev = float(np.nan_to_num(pf.revenue[b.source[j]]))
            terms.append((rev * conv - float(b.cpl[j])) * var)
    return pulp.lpSum(terms)


def objective_of(model: Model, objective: str, leads: np.ndarray) -> float:
    """The objective (mean over the weeks) of leads per block (weeks × blocks)."""
    pf = model.portfolio
    b = pf.blocks
    conv = pf.conversion[b.source]
    revenue = np.nan_to_num(pf.revenue[b.source])
    per = conv if objective == "customers" else revenue * conv - b.cpl
    return float((leads * per).sum() / model.weeks)


def violations(model: Model, leads: np.ndarray, rel: float = 1e-6) -> list[str]:
    """Every rule the answer breaks (leads per block, weeks × blocks), in words.

    Amounts are compared with a tolerance of ``rel`` times the rule's natural size (the
    budget for spend rules, the capacity for capacity rules).
    """
    pf, lim = model.portfolio, model.limits
    b = pf.blocks
    n = len(pf)
    out = []
    tol = rel * max(lim.budget, 1.0)
    floor = least_nonzero_spend(model)
    for w in range(model.weeks):
        lw = leads[w]
        if (lw < -1e-9).any() or (lw > b.leads * (1 + rel) + 1e-9).any():
            out.append(f"week {w}: a block outside 0..its volume")
        x = np.bincount(b.source, lw * b.cpl, minlength=n)
        ls = np.bincount(b.source, lw, minlength=n)
        total = x.sum()
        for i in range(n):
            js = np.flatnonzero(b.source == i)
            for a, c in itertools.pairwise(js):
                if lw[c] > 1e-6 * max(1.0, b.leads[c]) and lw[a] < b.leads[a] * (1 - 1e-6):
                    out.append(f"week {w}: {pf.names[i]} buys block {c} before {a} is full")
        if total > lim.budget + tol or (lim.exact and total < lim.budget - tol):
            out.append(f"week {w}: budget {total} vs {lim.budget}")
        for i in range(n):
            regime = Regime(pf.regime[i])
            prev = (
                pf.current[i]
                if w == 0
                else np.bincount(b.source, leads[w - 1] * b.cpl, minlength=n)[i]
            )
            if regime is Regime.OFF:
                if x[i] > tol:
                    out.append(f"week {w}: {pf.names[i]} is off but spends {x[i]}")
                continue
            if np.isfinite(pf.cap[i]) and x[i] > pf.cap[i] + tol:
                out.append(f"week {w}: {pf.names[i]} above its cap")
            if lim.max_share < 1 and x[i] > lim.max_share * total + tol:
                out.append(f"week {w}: {pf.names[i]} above the max share")
            if regime is Regime.PINNED and abs(x[i] - pf.pin[i]) > tol:
                out.append(f"week {w}: {pf.names[i]} not at its pin")
            if regime is Regime.TESTING and not (
                pf.test_min[i] - tol <= x[i] <= pf.test_max[i] + tol
            ):
                out.append(f"week {w}: {pf.names[i]} outside its test budget")
            if regime in (Regime.CHANGE, Regime.ENTRANT):
                if regime is Regime.ENTRANT and w == 0:
                    if x[i] > lim.min_spend + tol:
                        out.append(f"week {w}: entrant {pf.names[i]} above the entry amount")
                else:
                    if x[i] > (1 + lim.increase) * prev + tol:
                        out.append(f"week {w}: {pf.names[i]} rises too fast")
                    stops = w == 0 and _may_stop(model, i) and x[i] <= tol
                    if lim.decrease < 1 and x[i] < (1 - lim.decrease) * prev - tol and not stops:
                        out.append(f"week {w}: {pf.names[i]} falls too fast")
                if lim.min_spend > 0 and tol < x[i] < floor[w, i] - tol:
                    out.append(f"week {w}: {pf.names[i]} below its least nonzero spend")
        if lim.experimental_floor > 0 and float(x[pf.experimental].sum()) < (
            lim.experimental_floor * total - tol
        ):
            out.append(f"week {w}: experimental floor")
        for band in lim.bands:
            g = float(x[pf.classes[band.column] == band.klass].sum())
            if g < band.min * total - tol or g > band.max * total + tol:
                out.append(f"week {w}: {band.klass} band ({g / max(total, 1):.4f})")
        if ls.sum() > min(lim.sales_leads, lim.ops_leads) * (1 + rel) + 1e-6:
            out.append(f"week {w}: lead capacity")
        if (ls * pf.conversion).sum() > lim.support_customers * (1 + rel) + 1e-6:
            out.append(f"week {w}: support capacity")
        thr = lim.min_spend if lim.min_spend > 0 else 1.0
        if lim.min_active > 0 and int((x >= thr - tol).sum()) < lim.min_active:
            out.append(f"week {w}: fewer than {lim.min_active} active sources")
    return out
