"""What Rebalance maximises: expected customers, expected margin, or the weighted score.

All three are linear in the block spends, so the optimum stays global. Over a glide path
each is the **mean over the weeks** of the weekly run-rate (maximising the mean maximises
the sum: the plan that does best over the whole horizon).

- ``customers``: expected new customers a month, Σ conversion × leads.
- ``margin``: expected revenue − spend a month, Σ revenue per customer × customers − spend.
- ``weighted``: the chapter's four terms with the Settings weights (CPA 35 %, volume 25 %,
  conversion quality 20 %, risk diversification 20 %):

  * **CPA**: dollars saved against buying the same customers at today's blended CPA,
    ``CPA_today × customers − spend`` (a linear stand-in for a lower blended CPA: it buys
    a customer exactly when it costs less than today's CPA);
  * **volume**: leads a month;
  * **conversion quality**: customers beyond what today's blended conversion would give on
    the same leads, ``Σ (conversion − conversion_today) × leads``;
  * **risk diversification**: minus the spend with the largest third-party vendor
    (dependence on one vendor; first-party sources carry none).

  Each term is normalised so the weights mean what they say: ``(f − worst) / (best −
  worst)`` where ``best`` is the term's own optimum over the allocations the policy
  allows once past the weekly change limits (one exact solve per term on the policy
  without them — the ranges the portfolio can really move in, not next week's narrow
  steps) and ``worst`` its lowest value at the other terms' optima (the payoff table's
  nadir). A term scores 1 at its best and 0 at the worst any other term's optimum would
  leave it; the weighted score is Σ weight × normalised term (next week's allocation, held
  back by the change limits, may score below 0 or short of 1 on a term). A term that is
  the same at all four optima carries no weight (nothing to trade).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadbook.allocation.compile import Compiled, Program
from leadbook.allocation.model import MONEY, Model
from leadbook.allocation.rules import Layout, customers_per_k, leads_per_k
from leadbook.allocation.solve import Marks, solve_exact
from leadbook.enums import Objective
from leadbook.errors import InfeasiblePolicyError

TERMS = ("cpa", "volume", "quality", "diversification")
TERM_LABELS = {
    "cpa": "CPA",
    "volume": "volume",
    "quality": "conversion quality",
    "diversification": "risk diversification",
}


@dataclass(frozen=True)
class Goal:
    """An objective ready to solve: maximise ``c·v + constant`` over ``program``.

    ``program`` may carry helper columns (the largest-vendor spend); ``terms`` describes
    the weighted objective's normalisation (None for the others); ``marks`` are discrete
    rules the normalising solves found necessary (a warm start for the main solve).
    """

    objective: Objective
    program: Program
    c: np.ndarray
    constant: float = 0.0
    terms: pd.DataFrame | None = None
    marks: Marks = field(default_factory=Marks)

    @property
    def minimise(self) -> Program:
        """The programme with costs set to minimise ``−c·v``."""
        return self.program.with_objective(-self.c)


def customers_vector(model: Model, lay: Layout) -> np.ndarray:
    """Expected customers a month (mean over the weeks) per $1,000 in each column."""
    return _per_block(model, lay, customers_per_k(model))


def margin_vector(model: Model, lay: Layout) -> np.ndarray:
    """Expected margin ($ a month, mean over the weeks) per $1,000 in each column."""
    pf = model.portfolio
    revenue = pf.revenue[pf.blocks.source]
    return _per_block(model, lay, np.nan_to_num(revenue) * customers_per_k(model) - MONEY)


def leads_vector(model: Model, lay: Layout) -> np.ndarray:
    """Leads a month (mean over the weeks) per $1,000 in each column."""
    return _per_block(model, lay, leads_per_k(model))


def _per_block(model: Model, lay: Layout, per_k: np.ndarray) -> np.ndarray:
    c = np.zeros(lay.size)
    for w in range(model.weeks):
        c[lay.s(w)] = per_k / model.weeks
    return c


def reference_cpa(model: Model) -> float:
    """Today's blended CPA (spend ÷ customers), or the median block CPA with no customers."""
    pf = model.portfolio
    customers = float(np.nansum(pf.today_customers))
    if customers > 0:
        return float(np.nansum(pf.spend_today)) / customers
    conv = pf.conversion[pf.blocks.source]
    cpa = pf.blocks.cpl / np.where(conv > 0, conv, np.nan)
    return float(np.nanmedian(cpa)) if np.isfinite(cpa).any() else 0.0


def reference_conversion(model: Model) -> float:
    """Today's blended conversion (customers ÷ leads), or the mean conversion."""
    pf = model.portfolio
    leads = float(np.nansum(pf.today_leads))
    if leads > 0:
        return float(np.nansum(pf.today_customers)) / leads
    return float(np.nanmean(pf.conversion)) if len(pf) else 0.0


def term_vectors(model: Model, lay: Layout) -> dict[str, np.ndarray]:
    """The linear parts of the weighted objective's terms (diversification: its helper)."""
    pf = model.portfolio
    conv = pf.conversion[pf.blocks.source]
    leads = leads_per_k(model)
    return {
        "cpa": _per_block(model, lay, reference_cpa(model) * leads * conv - MONEY),
        "volume": _per_block(model, lay, leads),
        "quality": _per_block(model, lay, (conv - reference_conversion(model)) * leads),
    }


def with_vendor_helper(compiled: Compiled) -> tuple[Program, np.ndarray]:
    """The programme with one helper column per week, ``t[w] ≥`` the spend with each
    third-party vendor; returns it and the helper columns."""
    model, lay, prog = compiled.model, compiled.layout, compiled.program
    pf = model.portfolio
    vendors = pd.unique(pf.vendor[pf.third_party])
    weeks = model.weeks
    n = prog.n_cols
    r, c, v = [], [], []
    row = 0
    for w in range(weeks):
        for name in vendors:
            members = np.flatnonzero(pf.third_party & (pf.vendor == name))
            r += [np.full(len(members), row), [row]]
            c += [lay.x(w, members), [n + w]]
            v += [-np.ones(len(members)), [1.0]]
            row += 1
    if not row:
        return prog.extend(lb=np.zeros(weeks), ub=np.zeros(weeks)), n + np.arange(weeks)
    ext = prog.extend(
        lb=np.zeros(weeks),
        ub=np.full(weeks, np.inf),
        rows=(np.concatenate(r), np.concatenate(c), np.concatenate(v)),
        lo=np.zeros(row),
        hi=np.full(row, np.inf),
    )
    return ext, n + np.arange(weeks)


def largest_vendor_spend(model: Model, lay: Layout, v: np.ndarray) -> float:
    """The spend with the largest third-party vendor ($ a month, mean over the weeks)."""
    pf = model.portfolio
    if not pf.third_party.any():
        return 0.0
    total = 0.0
    for w in range(model.weeks):
        x = v[lay.x(w)]
        by_vendor = pd.Series(x[pf.third_party]).groupby(pf.vendor[pf.third_party]).sum()
        total += float(by_vendor.max())
    return total * MONEY / model.weeks


def term_values(compiled: Compiled, vectors: dict[str, np.ndarray], v: np.ndarray) -> dict:
    """The four terms' values at solution ``v`` (diversification computed exactly)."""
    out = {k: float(vec[: len(v)] @ v[: len(vec)]) for k, vec in vectors.items()}
    out["diversification"] = -largest_vendor_spend(compiled.model, compiled.layout, v)
    return out


def goal_for(
    compiled: Compiled,
    objective: Objective,
    *,
    time_limit: float | None = None,
    terms: pd.DataFrame | None = None,
) -> Goal:
    """The objective ``objective`` over ``compiled``, normalised when weighted.

    ``terms`` (a previous weighted goal's) reuses its normalisation instead of solving for
    one — a glide path keeps week 1's, so every week maximises the same score.
    Raises :class:`~leadbook.errors.InfeasiblePolicyError` (without conflicts; the caller
    explains them) if a normalising solve finds the policy infeasible.
    """
    model, lay, prog = compiled.model, compiled.layout, compiled.program
    if objective is Objective.CUSTOMERS:
        return Goal(objective, prog, customers_vector(model, lay))
    if objective is Objective.MARGIN:
        return Goal(objective, prog, margin_vector(model, lay))
    return _weighted(compiled, time_limit, terms)


def _weighted(
    compiled: Compiled, time_limit: float | None, fixed: pd.DataFrame | None = None
) -> Goal:
    model, lay = compiled.model, compiled.layout
    program, helper = with_vendor_helper(compiled)
    size = program.n_cols
    vectors = {k: _pad(vec, size) for k, vec in term_vectors(model, lay).items()}
    vectors["diversification"] = np.zeros(size)
    vectors["diversification"][helper] = -MONEY / model.weeks
    if fixed is not None:
        return _combined(compiled, program, vectors, fixed, Marks())
    payoff, marks = {}, Marks()
    for term in TERMS:
        solved = solve_exact(
            program.with_objective(-vectors[term]),
            compiled.discrete,
            marks=marks,
            time_limit=time_limit,
        )
        if not solved.ok:
            raise InfeasiblePolicyError(summary="the policy cannot be met")
        marks = solved.marks
        payoff[term] = term_values(compiled, vectors, solved.v)
    weights = model.limits.weights
    rows = []
    for term in TERMS:
        best = payoff[term][term]
        worst = min(payoff[other][term] for other in TERMS)
        rows.append(
            {
                "term": term,
                "label": TERM_LABELS[term],
                "weight": getattr(weights, term),
                "worst": worst,
                "best": best,
                "used": best - worst > 1e-9 * max(1.0, abs(best)),
            }
        )
    terms = pd.DataFrame(rows).set_index("term")
    return _combined(compiled, program, vectors, terms, marks)


def _combined(
    compiled: Compiled,
    program: Program,
    vectors: dict[str, np.ndarray],
    terms: pd.DataFrame,
    marks: Marks,
) -> Goal:
    """Σ weight × (term − worst) / (best − worst) as a linear objective and a constant."""
    c, constant = np.zeros(program.n_cols), 0.0
    for term, row in terms.iterrows():
        if row["used"]:
            spread = row["best"] - row["worst"]
            c += row["weight"] * vectors[term] / spread
            constant -= row["weight"] * row["worst"] / spread
    return Goal(Objective.WEIGHTED, program, c, constant, terms.copy(), marks)


def _pad(vec: np.ndarray, size: int) -> np.ndarray:
    return np.r_[vec, np.zeros(size - len(vec))]
