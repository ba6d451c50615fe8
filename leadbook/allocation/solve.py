"""Exact solves on HiGHS: the continuous relaxation first, integer variables only where needed.

Three rules of the model are not linear: a source's spend is either 0 or at least the
minimum active spend (semi-continuous), a price block is bought only after the cheaper
blocks of the same source are full (fill order), and at least ``min_active`` sources are
active. :func:`solve_exact` enforces them **lazily**:

1. solve the programme with only the rules enforced so far (at first none of the three);
2. if the solution buys a dear block before a cheaper one, refill those sources cheapest
   first at the same leads (:func:`in_order`); if that point still meets every row and is
   no worse, it is an optimum that keeps fill order (the relaxation had a tie);
3. check the solution against all three rules; what it still breaks is enforced from now
   on — the spend becomes semi-continuous (``scipy.optimize.milp`` integrality 2), the
   blocks get ordering binaries ``z`` (``s_k ≥ full_k·z``, ``s_{k+1} ≤ full_{k+1}·z``), or
   the week gets "active" binaries ``a`` (``x_i ≥ threshold·a_i``, ``Σ a_i ≥ min_active``)
   — and the programme is solved again, until the solution breaks nothing;
4. before the first integer solve after a continuous one, search the continuous optimum's
   neighbourhood on its optimal face (:func:`_near_bound`): the rules broken often cost
   nothing (the relaxation's minimum is the integer one), and a small MIP with the choices
   the continuous optimum keeps fixed finds a point reaching it in a fraction of the time
   HiGHS's branch and bound takes to find one on the whole programme.

Why this is exact: every programme solved is a **relaxation** of the full model (it drops
some of its rules and keeps all others), so its optimum is at least the full model's; the
refilled point of step 2 has the same objective and meets every row. The face search's
point of step 4 is taken only if it is within :data:`MIP_GAP` of the continuous minimum, a
lower bound on the full model's, so it is optimal to the gap HiGHS proves. The last solution
satisfies every rule, so it is feasible for the full model, and therefore optimal for it.
Enforced rules only accumulate and there are finitely many, so the loop ends (in practice
after one to three solves). Spend floors are written on leads (see
:mod:`leadbook.allocation.rules`), so the relaxation breaks fill order only where a group
floor or an exact budget makes dollars worth more than leads while lead capacity binds;
binaries stay rare, and HiGHS solves thousands of sources in about the time of one LP.

The elastic re-solve of an infeasible policy is the exception: its objective prices only
the relaxations, so its LP may buy dear tiers first wherever that lets capacity and spend
rules meet. When that would take thousands of ordering binaries (HiGHS found no first
answer in minutes at 10,000 sources), :func:`settle_fill_order` fixes the fill pattern of
the LP's point refilled in order and solves that LP instead, stating its gap to the bound.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from leadbook.allocation.compile import Program
from leadbook.allocation.model import MONEY
from leadbook.allocation.rules import Discrete

log = logging.getLogger(__name__)

TOL = 1e-6
"""Absolute tolerance (in the model's units: $1,000, leads, customers) for rule checks."""

FEASIBLE = 1e-7
"""Relative tolerance (of a row's natural size) for a point to meet a row, as HiGHS's."""

MIP_GAP = 1e-7
"""Relative optimality gap HiGHS must prove when integer variables are present."""

_HIGHS_TUNING: dict = {
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
}
"""HiGHS options that only change speed, never the answer or the proven gap. Feasibility
jump (HiGHS ≥ 1.10) is a primal heuristic run before the root LP; our MIPs start from a
relaxation that is nearly integer, where it finds nothing the root does not, and it was
half of a small glide week's solve (4.6 ms instead of 11–13 ms on a 10-source week). RINS
and RENS are sub-MIP heuristics HiGHS reruns after each of its root restarts; the MIPs of
the hard benchmark portfolios (``examples.hard_model``, 100–200 sources, and the elastic
re-solves of infeasible policies) took 20 % less CPU in all without them (8.2–8.5 s
against 10.2–11.5 s over 56 captured MIPs; one 175-source MIP 1.9 s against 3.7–4.6 s),
with the same optima. A HiGHS without an option (older Pyodide scipy builds) ignores it.
"""

ELASTIC_SECONDS = 10.0
"""After this long the elastic re-solve of an infeasible policy keeps the smallest relaxation
it found, unproven (``explain._elastic_solve``): with minimum spends and slacks its dual
bound can stay at 0, and HiGHS found the smallest relaxation of a 100-source policy in
0.4 s and had not proven it after 6 minutes."""

ESCALATE = True
"""Whether a minimum spend that breaks enforces every one at once (not only those broken).
Once one breaks, the next solve breaks others: a hard portfolio's MILPs broke 12, then 3, 3
and 3 of 97 at the same optimum (four MILPs, where one with all 97 took half the time), and
an integer-infeasible policy is shown infeasible by presolve once every minimum spend holds
(1,000 sources: 0.38 s CPU to the verdict one by one, 0.15 s at once, CBC 0.25 s). On the
random portfolios, whose relaxations break none at 1,000 and 10,000 sources, and on their
13-week glides it changed nothing measurable (1.40–1.55 s CPU against 1.43–1.44 s)."""


@dataclass(frozen=True)
class Marks:
    """Which discrete rules are enforced: semi-continuous columns, block chains, weeks."""

    semi: frozenset[int] = frozenset()
    chains: frozenset[int] = frozenset()
    count: frozenset[int] = frozenset()

    def union(self, other: Marks) -> Marks:
        return Marks(self.semi | other.semi, self.chains | other.chains, self.count | other.count)

    def __bool__(self) -> bool:
        return bool(self.semi or self.chains or self.count)


@dataclass(frozen=True)
class Solved:
    """A solve's outcome: ``status`` is ``optimal``, ``infeasible`` or the solver's reason."""

    status: str
    v: np.ndarray | None = None
    value: float = float("nan")
    gap: float = 0.0
    marks: Marks = field(default_factory=Marks)
    solves: int = 0
    seconds: float = 0.0
    integers: int = 0
    duals: Duals | None = None

    @property
    def ok(self) -> bool:
        return self.status == "optimal"


def solve_exact(
    program: Program,
    discrete: Discrete,
    *,
    marks: Marks | None = None,
    time_limit: float | None = None,
    rounds: int | None = None,
    with_duals: bool = True,
    relaxed: Solved | None = None,
) -> Solved:
    """Minimise ``program`` under every discrete rule, enforcing them lazily (module doc).

    ``marks`` are rules to enforce from the start (a previous solve's, for a warm start;
    minimum spends ``discrete`` does not have are dropped).
    With ``rounds``, stop after that many solves: if the last one still breaks a rule, the
    result is ``unsettled``, with that solve's point, its duals, and as ``marks`` the rules
    the next round would enforce (pass them back to go on). ``with_duals=False`` skips the
    duals of a continuous solve (a tie-break needs none). ``relaxed``: the continuous
    relaxation of ``program`` solved (an ``unsettled`` first round), its ``value`` the
    minimum, with its duals and as ``v`` one of its optima; the first integer solve then
    searches that optimum's neighbourhood on the optimal face first (:func:`_near_bound`).
    """
    # another week's marks (a glide path's week before) may name minimum spends this week
    # does not have: a source that reached the minimum, or one the week before stopped
    marks = marks or Marks()
    if not marks.semi <= (semi := frozenset(discrete.semi.tolist())):
        marks = dataclasses.replace(marks, semi=marks.semi & semi)
    started = time.perf_counter()
    solves = 0
    bound = relaxed if relaxed is not None and relaxed.duals is not None else None
    while True:
        augmented, n_int = _augment(program, discrete, marks)
        remaining = None if time_limit is None else time_limit - (time.perf_counter() - started)
        res = None
        if n_int and bound is not None:
            res = _near_bound(program, discrete, marks, bound, remaining)
            solves += 1
            bound = None
            remaining = None if time_limit is None else time_limit - (time.perf_counter() - started)
        if res is None:
            # an LP goes through linprog only when its duals are wanted: milp (HiGHS too)
            # takes the two-sided rows as they are and costs half as much on a small model
            lp = with_duals and not n_int
            res = _lp(augmented, remaining) if lp else _milp(augmented, remaining)
            solves += 1
            if lp and res.status == 0 and res.x is not None:
                x = res.x[: program.n_cols]
                bound = Solved("unsettled", v=x, value=float(program.c @ x), duals=res.duals)
        if res.status == 2:
            return Solved("infeasible", marks=marks, solves=solves)
        if res.x is None:
            return Solved(_reason(res), marks=marks, solves=solves)
        v = in_order(program, discrete, res.x[: program.n_cols], marks)
        more = _broken(v, discrete, marks)
        if not more:
            return Solved(
                "optimal" if res.status == 0 else _reason(res),
                v=_clean(v, program),
                value=float(program.c @ v),
                gap=float(res.mip_gap or 0.0) if n_int else 0.0,
                marks=marks,
                solves=solves,
                seconds=time.perf_counter() - started,
                integers=n_int,
                duals=getattr(res, "duals", None),
            )
        if more.semi and ESCALATE:
            # minimum spends break one after another: enforce them all at once
            more = Marks(frozenset(discrete.semi.tolist()), more.chains, more.count)
        if rounds is not None and solves >= rounds:
            return Solved(
                "unsettled",
                v=v,
                value=float(program.c @ v),
                marks=marks.union(more),
                solves=solves,
                seconds=time.perf_counter() - started,
                integers=n_int,
                duals=getattr(res, "duals", None),
            )
        log.debug("enforcing %s more discrete rules", more)
        marks = marks.union(more)


def _near_bound(
    program: Program, d: Discrete, marks: Marks, relaxed: Solved, time_limit: float | None
) -> object | None:
    """An optimum of ``program`` under ``marks`` found on the relaxation's optimal face, or None.

    On hard portfolios the relaxation's minimum is usually the integer minimum too (14 of 15
    hard portfolios of 100–1,000 sources): the rules it breaks cost nothing, its optimum just
    sits in the wrong corner of a large optimal face. HiGHS proves that bound at its root but
    searched up to 5 s for a point reaching it (CBC's feasibility pump finds one at once).
    So this solves the integer programme restricted to the face (:func:`optimal_face`) with
    the discrete choices of the relaxation's optimum ``relaxed.v`` fixed where it keeps the
    rules (:func:`_around`), leaving free only the sources whose rules it breaks: a small
    MIP, like HiGHS's RINS heuristic. Its point is accepted only if its value is within
    :data:`MIP_GAP` of the relaxation's minimum, below which no point of the full model
    lies: then it is optimal to the same proven gap as HiGHS's own. Otherwise (the rules do
    cost something, or the fixings were wrong) None, and the whole programme is solved.
    """
    assert relaxed.v is not None and relaxed.duals is not None
    face = optimal_face(program, relaxed.duals, relaxed.v)
    augmented, _ = _augment(face, d, marks)
    res = _milp(_around(program, d, marks, relaxed.v, augmented), time_limit)
    if res.status != 0 or res.x is None:
        return None
    gap = (float(res.fun) - relaxed.value) / max(abs(float(res.fun)), 1.0)
    if gap > MIP_GAP:
        return None
    res.mip_gap = max(gap, 0.0)
    return res


def _around(
    program: Program, d: Discrete, marks: Marks, v: np.ndarray, augmented: Program
) -> Program:
    """``augmented`` with the discrete choices ``v`` keeps fixed: sources at 0 stay off, and
    each block pair bought in order keeps its order variable, except where ``v`` breaks a rule
    of the source (:func:`loose_chains`: those stay free) or the first block is full and the
    next empty (either)."""
    lb, ub, integrality = augmented.lb.copy(), augmented.ub.copy(), augmented.integrality.copy()
    pairs = np.flatnonzero(np.isin(d.chain, np.fromiter(marks.chains, np.int64)))
    full = v[d.first[pairs]] >= d.first_full[pairs] - TOL
    bought = v[d.then[pairs]] > TOL
    free = loose_chains(d, v, below_minimum(d, v))
    off = (v[d.semi] <= TOL) & ~np.isin(semi_chains(d, d.semi), free)
    off_cols = d.semi[off & (integrality[d.semi] == 2)]
    integrality[off_cols] = 0
    lb[off_cols] = ub[off_cols] = 0.0
    z = program.n_cols + np.arange(len(pairs))
    keep = ~np.isin(d.chain[pairs], free) & (bought | ~full)
    lb[z[keep]] = ub[z[keep]] = full[keep].astype(float)
    return Program(augmented.c, augmented.A, augmented.lo, augmented.hi, lb, ub, integrality)


def skipped(d: Discrete, v: np.ndarray) -> np.ndarray:
    """Per block pair of ``d``, whether ``v`` buys the dearer block before the cheaper is full."""
    return (v[d.then] > TOL) & (v[d.first] < d.first_full - TOL)


def below_minimum(d: Discrete, v: np.ndarray) -> np.ndarray:
    """Per semi-continuous column of ``d``, whether ``v`` spends on it but below its minimum."""
    x = v[d.semi]
    return (x > TOL) & (x < d.floor(d.semi) - TOL)


def semi_chains(d: Discrete, cols: np.ndarray) -> np.ndarray:
    """The chain (week · n + source) of each source-spend column in ``cols``; -1 where the
    model has no price blocks, so no chain."""
    if d.blocks is None:
        return np.full(len(cols), -1, dtype=np.int64)
    x = d.blocks.x.ravel()
    order = np.argsort(x, kind="stable")
    at = order[np.minimum(np.searchsorted(x, cols, sorter=order), len(x) - 1)]
    return np.where(x[at] == cols, at, -1)


def loose_chains(d: Discrete, v: np.ndarray, undecided: np.ndarray) -> np.ndarray:
    """The chains a search around ``v`` leaves free: the sources and weeks whose blocks ``v``
    buys out of order, and those whose minimum spend is ``undecided`` (a mask over
    ``d.semi``), since a source that may stop frees its blocks too.

    Examples
    --------
    >>> from leadbook.allocation.compile import compile_model
    >>> from leadbook.allocation.examples import tiny_model
    >>> c = compile_model(tiny_model())
    >>> d, v = c.discrete, np.zeros(c.program.n_cols)
    >>> v[d.then[0]] = 1.0  # A's second block bought, its first empty
    >>> loose_chains(d, v, np.zeros(len(d.semi), bool)).tolist() == [int(d.chain[0])]
    True
    """
    chains = d.chain[skipped(d, v)]
    if d.blocks is not None:
        chains = np.concatenate([chains, semi_chains(d, d.semi[undecided])])
    return np.unique(chains[chains >= 0])


def in_order(program: Program, d: Discrete, v: np.ndarray, marks: Marks) -> np.ndarray:
    """``v`` with out-of-order blocks refilled cheapest first, if that costs nothing.

    Where a source buys a dearer block before a cheaper one is full, buying the same
    leads in order spends less. If the resulting point still meets every row and is no
    worse, the relaxation's optimum was only one of several (a tie, typical when capacity
    binds and the budget does not) and the ordered point is an optimum that keeps fill
    order: no binaries are needed. Otherwise ``v`` is returned as it is.
    """
    cols = d.blocks
    if cols is None or not len(d.then):
        return v
    out_of_order = skipped(d, v)
    if not out_of_order.any():
        return v
    bad = np.unique(d.chain[out_of_order])
    n = cols.x.shape[1]
    fixed = v.copy()
    for w in np.unique(bad // n):
        sources = bad[bad // n == w] % n
        mine = np.flatnonzero(np.isin(cols.source, sources))
        block_cols = cols.cols[w, mine]
        src = cols.source[mine]
        leads = np.bincount(src, v[block_cols] * MONEY / cols.cpl[mine], minlength=n)
        take = np.clip(leads[src] - cols.before[mine], 0.0, cols.size[mine])
        fixed[block_cols] = take * cols.cpl[mine] / MONEY
        spend = np.bincount(src, fixed[block_cols], minlength=n)[sources]
        fixed[cols.total[w]] -= float((v[cols.x[w, sources]] - spend).sum())
        fixed[cols.x[w, sources]] = spend
    if _no_worse(program, v, fixed) and _keeps_what_v_keeps(d, v, fixed):
        return fixed
    return v


def at_spend_in_order(d: Discrete, v: np.ndarray) -> np.ndarray:
    """``v`` with every source's blocks refilled cheapest first at the same spend.

    The counterpart of :func:`in_order`, which keeps the leads and spends less: this keeps
    every spend (so every row on dollars) and buys more leads, so only rows on leads can
    come out worse. ``v`` as it is where the model has no price blocks.
    """
    cols = d.blocks
    if cols is None or not len(d.then):
        return v
    room = cols.size * cols.cpl / MONEY
    order = np.lexsort((cols.before, cols.source))
    src, filled = cols.source[order], np.cumsum(room[order])
    first = np.r_[0, np.flatnonzero(np.diff(src)) + 1]
    counts = np.diff(np.r_[first, len(src)])
    before = np.empty_like(room)
    before[order] = filled - room[order] - np.repeat(filled[first] - room[order][first], counts)
    n = cols.x.shape[1]
    fixed = v.copy()
    for w in range(cols.cols.shape[0]):
        spend = np.bincount(cols.source, v[cols.cols[w]], minlength=n)
        fixed[cols.cols[w]] = np.clip(spend[cols.source] - before, 0.0, room)
    return fixed


def settle_fill_order(
    program: Program, d: Discrete, relaxed: Solved, *, minimum_spends: bool = False
) -> Solved | None:
    """A point that keeps fill order (and with ``minimum_spends`` the minimum spends), near
    the relaxation's, without binaries.

    For a programme too large for :func:`solve_exact` to enforce fill order and minimum
    spends with integer variables (a thousand sources): with ``minimum_spends``, each
    minimum spend the relaxation breaks is settled on or off by its own point (on from half
    its minimum: raised to it; else 0; :func:`settled_spends`; without it, a relaxation that
    breaks one gives None), every source's blocks are refilled cheapest first at the
    resulting spend (:func:`at_spend_in_order`), that pattern is fixed as bounds
    (:func:`fixed_program`) and the LP it leaves is solved. The result keeps fill order and
    the minimum spends by construction; it is returned when it is feasible and breaks no
    other discrete rule (an active count), with ``gap`` the relative distance of its value
    from the relaxation's, a lower bound on the full model's. None otherwise.
    """
    assert relaxed.v is not None
    if relaxed.marks.count or (relaxed.marks.semi and not minimum_spends):
        return None
    started = time.perf_counter()
    semi = np.array(sorted(relaxed.marks.semi), dtype=np.int64)
    refilled = at_spend_in_order(d, settled_spends(program, d, relaxed.v, semi))
    marks = Marks(semi=frozenset(semi.tolist()), chains=frozenset(d.chain.tolist()))
    pattern = fixed_program(program, d, Solved("optimal", v=refilled, marks=marks))
    res = _lp(pattern, None)
    if res.status != 0 or res.x is None:
        return None
    v = _clean(res.x, pattern)
    if _broken(v, d, marks):
        return None
    value = float(program.c @ v)
    return Solved(
        "optimal",
        v=v,
        value=value,
        gap=max(value - relaxed.value, 0.0) / max(abs(value), 1e-12),
        marks=marks,
        solves=relaxed.solves + 1,
        seconds=relaxed.seconds + time.perf_counter() - started,
        duals=res.duals,
    )


def settled_spends(program: Program, d: Discrete, v: np.ndarray, semi: np.ndarray) -> np.ndarray:
    """``v`` with each semi-continuous spend in ``semi`` settled: one at half its minimum or
    more (and able to reach it under its bound and its blocks) raised to the minimum, the
    others set to 0, its blocks scaled with it; ``v`` itself where ``semi`` is empty."""
    if not len(semi):
        return v
    out = v.copy()
    floor = d.floor(semi)
    cols = d.blocks
    reach = program.ub[semi].copy()
    if cols is not None:
        room = cols.size * cols.cpl / MONEY
        most = np.bincount(cols.source, room, minlength=cols.x.shape[1])
        week, source = np.nonzero(np.isin(cols.x, semi))
        at = dict(zip(cols.x[week, source].tolist(), zip(week, source, strict=True), strict=True))
        reach = np.minimum(reach, [most[at[c][1]] if c in at else np.inf for c in semi])
    x = v[semi]
    on = (x >= floor / 2) & (reach >= floor)
    target = np.where(on, np.maximum(x, floor), 0.0)
    out[semi] = target
    if cols is not None:
        for c, t in zip(semi.tolist(), target, strict=True):
            if c not in at:
                continue
            w, i = at[c]
            mine = cols.cols[w, cols.source == i]
            spent = float(v[mine].sum())
            # the blocks carry the new spend (refilled in order next): scaled, or put in the
            # first block when there was none
            out[mine] = v[mine] * (t / spent) if spent > TOL else 0.0
            if spent <= TOL and t > 0:
                out[mine[0]] = t
    return out


def _keeps_what_v_keeps(d: Discrete, v: np.ndarray, fixed: np.ndarray) -> bool:
    """Whether refilled ``fixed`` keeps the minimum spends and the count that ``v`` keeps.

    Refilling in order buys the same leads for less, which may take a source below the
    minimum active spend (or a week below the active count): then the refill is no way out,
    and fill order must be enforced instead.
    """
    before, after = _broken(v, d, Marks()), _broken(fixed, d, Marks())
    return after.semi <= before.semi and (not after.count or bool(before.count))


def meets_every_rule(program: Program, d: Discrete, v: np.ndarray, scale: np.ndarray) -> bool:
    """Whether ``v`` is a feasible point of the full model: it meets every row of
    ``program`` (to :data:`FEASIBLE` of the row's natural size ``scale``), every bound and
    every discrete rule.

    Examples
    --------
    >>> from leadbook.allocation.compile import compile_model
    >>> from leadbook.allocation.examples import tiny_model
    >>> c = compile_model(tiny_model())
    >>> nothing = np.zeros(c.program.n_cols)
    >>> meets_every_rule(c.program, c.discrete, nothing, c.rows.scale)
    False
    """
    if (_row_violation(program, v) > FEASIBLE * np.maximum(scale, 1.0)).any():
        return False
    if (v < program.lb - TOL).any() or (v > program.ub + TOL).any():
        return False
    return not _broken(v, d, Marks())


def _no_worse(program: Program, v: np.ndarray, w: np.ndarray) -> bool:
    """Whether ``w`` meets every row and bound at least as well as ``v`` and costs no more."""
    size = np.maximum(1.0, np.abs(np.where(np.isfinite(program.lo), program.lo, 0.0)))
    size = np.maximum(size, np.abs(np.where(np.isfinite(program.hi), program.hi, 0.0)))
    allowed = np.maximum(_row_violation(program, v), 1e-9 * size)
    if (_row_violation(program, w) > allowed).any():
        return False
    if (w < program.lb - 1e-9).any() or (w > program.ub + 1e-9).any():
        return False
    before, after = float(program.c @ v), float(program.c @ w)
    return after <= before + 1e-9 * max(1.0, abs(before))


def _row_violation(program: Program, v: np.ndarray) -> np.ndarray:
    act = program.A @ v
    return np.maximum(np.maximum(program.lo - act, act - program.hi), 0.0)


def _reason(res: object) -> str:
    return {1: "time limit", 3: "unbounded"}.get(getattr(res, "status", 4), "solver failure")


def relaxed_minimum(program: Program, time_limit: float | None = None) -> float | None:
    """The minimum of ``program`` with no discrete rule enforced, its integer columns taken
    as continuous and its semi-continuous ones as reaching down to 0: a lower bound on every
    solve of it (None if HiGHS finds none).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> p = Program(np.array([-1.0]), sp.csr_array([[1.0]]), np.array([0.0]),
    ...             np.array([2.5]), np.zeros(1), np.array([10.0]), np.ones(1))
    >>> relaxed_minimum(p)
    -2.5
    """
    semi = program.integrality == 2
    relaxed = dataclasses.replace(
        program,
        lb=np.where(semi, np.minimum(program.lb, 0.0), program.lb),
        integrality=np.zeros(program.n_cols),
    )
    res = _milp(relaxed, time_limit)
    return float(res.fun) if res.status == 0 and res.x is not None else None


def _milp(program: Program, time_limit: float | None) -> object:
    from scipy.optimize import Bounds, LinearConstraint, milp  # 0.3 s: not for every command

    # The gap and the tuning are for HiGHS's MIP solver, which a programme without integer
    # columns never reaches; scipy checks each option given at a cost (0.15 ms apiece, a
    # fifth of the call on the demo's LPs), so an LP gets none of them.
    mip = bool(program.integrality.any())
    options: dict = {"mip_rel_gap": MIP_GAP} if mip else {}
    if time_limit is not None:
        options["time_limit"] = max(time_limit, 0.01)
    args = (program.c,)
    kwargs = {
        "integrality": program.integrality,
        "bounds": Bounds(program.lb, program.ub),
        "constraints": LinearConstraint(program.A, program.lo, program.hi),
    }
    if _HIGHS_TUNING and mip:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Unrecognized options")
                return milp(*args, **kwargs, options={**options, **_HIGHS_TUNING})
        except AttributeError:
            # a HiGHS that knows the option but whose scipy binding cannot set it
            _HIGHS_TUNING.clear()
    return milp(*args, **kwargs, options=options)


def _lp(program: Program, time_limit: float | None) -> object:
    """Solve a continuous ``program`` with ``linprog`` (HiGHS), keeping its duals."""
    res = _linprog(program, time_limit)
    if res.status == 0:
        res.duals = _folded(program, res)
    res.mip_gap = 0.0
    return res


def _clean(v: np.ndarray, program: Program) -> np.ndarray:
    """The solution with solver noise removed: clipped to bounds, specks set to 0."""
    v = np.clip(v, program.lb, program.ub)
    v[np.abs(v) < 1e-9] = 0.0
    return v


def _broken(v: np.ndarray, d: Discrete, marks: Marks) -> Marks:
    """The discrete rules to enforce next, given that ``v`` breaks some not yet enforced.

    Semi-continuous spends that break are returned as they are; :func:`solve_exact` then
    enforces them all at once (:data:`ESCALATE`). A broken fill order, which survived
    :func:`in_order`, enforces every chain at once, and a short week every week's count:
    HiGHS solves one programme with all of them faster than a sequence adding a few each
    time. Either way the loop stays exact.
    """
    semi = frozenset(d.semi[below_minimum(d, v)].tolist()) - marks.semi
    chains = frozenset()
    if skipped(d, v).any():
        chains = frozenset(d.chain.tolist()) - marks.chains
    short = [
        w
        for w, cols in enumerate(d.candidates)
        if int((v[cols] >= d.threshold - TOL).sum()) < d.min_active
    ]
    count = frozenset(range(len(d.candidates))) - marks.count if short else frozenset()
    return Marks(semi, chains, count)


def _augment(program: Program, d: Discrete, marks: Marks) -> tuple[Program, int]:
    """The programme with the marked discrete rules as integer variables and rows."""
    lb, ub = program.lb.copy(), program.ub.copy()
    integrality = program.integrality.copy()
    semi = np.array(sorted(marks.semi), dtype=np.int64)
    if len(semi):
        floor = d.floor(semi)
        possible = ub[semi] >= floor
        integrality[semi[possible]] = 2
        lb[semi[possible]] = floor[possible]
        ub[semi[~possible]] = 0.0
    base = program.with_bounds(lb, ub)
    base = Program(base.c, base.A, base.lo, base.hi, base.lb, base.ub, integrality)
    pairs = np.flatnonzero(np.isin(d.chain, np.fromiter(marks.chains, np.int64)))
    n_pairs = len(pairs)
    weeks = sorted(marks.count)
    cand = [d.candidates[w] for w in weeks]
    n_active = sum(len(c) for c in cand)
    n_semi = int((integrality[semi] == 2).sum()) if len(semi) else 0
    if n_pairs + n_active == 0 and not weeks:
        return base, n_semi
    n = base.n_cols
    soft = d.count_cost is not None
    n_short = len(weeks) if soft else 0
    z = n + np.arange(n_pairs)
    a = n + n_pairs + np.arange(n_active)
    short = n + n_pairs + n_active + np.arange(n_short)
    r, c, v, lo, hi = [], [], [], [], []
    row = 0
    if n_pairs:
        k = np.arange(n_pairs)
        # s_first − full·z ≥ 0 and s_then − full_then·z ≤ 0
        r += [k, k, n_pairs + k, n_pairs + k]
        c += [d.first[pairs], z, d.then[pairs], z]
        v += [np.ones(n_pairs), -d.first_full[pairs], np.ones(n_pairs), -d.then_full[pairs]]
        lo += [np.zeros(n_pairs), np.full(n_pairs, -np.inf)]
        hi += [np.full(n_pairs, np.inf), np.zeros(n_pairs)]
        row = 2 * n_pairs
    start = 0
    for j, cols in enumerate(cand):
        k = len(cols)
        on = a[start : start + k]
        # x − threshold·a ≥ 0 for each candidate, Σ a (+ shortfall) ≥ min_active
        r += [row + np.arange(k), row + np.arange(k), np.full(k, row + k)]
        c += [cols, on, on]
        v += [np.ones(k), np.full(k, -d.threshold), np.ones(k)]
        if soft:
            r.append([row + k])
            c.append([short[j]])
            v.append([1.0])
        lo += [np.zeros(k), [d.min_active]]
        hi += [np.full(k, np.inf), [np.inf]]
        row += k + 1
        start += k
    n_new = n_pairs + n_active + n_short
    ext = base.extend(
        lb=np.zeros(n_new),
        ub=np.r_[np.ones(n_pairs + n_active), np.full(n_short, float(d.min_active))],
        c=np.r_[np.zeros(n_pairs + n_active), np.full(n_short, d.count_cost or 0.0)],
        integrality=np.r_[np.ones(n_pairs + n_active), np.zeros(n_short)].astype(np.int8),
        rows=(
            np.concatenate([np.asarray(x) for x in r]),
            np.concatenate([np.asarray(x) for x in c]),
            np.concatenate([np.asarray(x, dtype=float) for x in v]),
        ),
        lo=np.concatenate(lo),
        hi=np.concatenate(hi),
    )
    return ext, n_semi + n_pairs + n_active


def fixed_program(program: Program, d: Discrete, solved: Solved) -> Program:
    """The continuous programme around ``solved``: its discrete choices fixed as bounds.

    Semi-continuous spends that are on get the threshold as lower bound (off: 0 as upper),
    ordered blocks that are full stay full (else the next block stays empty), and in weeks
    where the active count was enforced, active sources stay at or above the threshold.
    The result is a restriction of the full model that contains ``solved`` — its optimum is
    the same, and its duals describe the solution's neighbourhood.
    """
    assert solved.v is not None
    v, marks = solved.v, solved.marks
    lb, ub = program.lb.copy(), program.ub.copy()
    for col in marks.semi:
        if v[col] > TOL:
            lb[col] = max(lb[col], float(d.floor(np.array([col]))[0]))
        else:
            ub[col] = 0.0
    pairs = np.flatnonzero(np.isin(d.chain, np.fromiter(marks.chains, np.int64)))
    full = v[d.first[pairs]] >= d.first_full[pairs] - TOL
    lb[d.first[pairs[full]]] = d.first_full[pairs[full]]
    ub[d.then[pairs[~full]]] = 0.0
    for w in marks.count:
        cols = d.candidates[w]
        on = cols[v[cols] >= d.threshold - TOL]
        lb[on] = np.maximum(lb[on], d.threshold)
    lb = np.minimum(lb, ub)
    return program.with_bounds(lb, ub)


def optimal_face(program: Program, found: Duals, v: np.ndarray) -> Program:
    """``program`` restricted to its optimal face, given one optimum ``v`` and the duals.

    By complementary slackness every optimum keeps a column with a nonzero reduced cost at
    its bound and a row with a nonzero dual at its limit, whichever optimum and dual
    solution are compared. Fixing those leaves exactly the set of optima (up to the
    dual's tolerance), which makes the tie-break a small problem.
    """
    scale = 1e-9 * max(1.0, float(np.abs(program.c).max(initial=0.0)))
    lb, ub = program.lb.copy(), program.ub.copy()
    at_lb = found.lower > scale
    at_ub = found.upper < -scale
    ub[at_lb] = lb[at_lb]
    lb[at_ub] = ub[at_ub]
    lo, hi = program.lo.copy(), program.hi.copy()
    act = program.A @ v
    tight = np.abs(found.rhs) > scale
    near_hi = np.isfinite(hi) & (
        np.abs(act - hi) <= np.abs(act - np.where(np.isfinite(lo), lo, -np.inf))
    )
    lo[tight & near_hi] = hi[tight & near_hi]
    hi[tight & ~near_hi] = lo[tight & ~near_hi]
    return Program(program.c, program.A, lo, hi, lb, ub, program.integrality)


@dataclass(frozen=True)
class Duals:
    """Sensitivities of a continuous programme's minimum, in objective units.

    ``rhs[r]`` is the change of the minimum per unit both sides of row ``r`` move up
    (for a binding maximum it is ≤ 0, for a binding minimum ≥ 0); ``upper[j]`` and
    ``lower[j]`` per unit column ``j``'s upper or lower bound moves up.
    """

    rhs: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    value: float


def duals(program: Program) -> Duals | None:
    """Row and bound duals of a continuous ``program`` (HiGHS through ``linprog``).

    Two-sided rows are split as ``linprog`` needs them and folded back per row.
    None if HiGHS does not report an optimum.
    """
    res = _linprog(program, None)
    return _folded(program, res) if res.status == 0 else None


def _split(program: Program) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = program.lo, program.hi
    eq = np.flatnonzero(lo == hi)
    up = np.flatnonzero(np.isfinite(hi) & (lo != hi))
    down = np.flatnonzero(np.isfinite(lo) & (lo != hi))
    return eq, up, down


def _linprog(program: Program, time_limit: float | None) -> object:
    from scipy.optimize import linprog  # 0.3 s: not for every command

    matrix, lo, hi = program.A.tocsr(), program.lo, program.hi
    eq, up, down = _split(program)
    has_ub = len(up) + len(down) > 0
    return linprog(
        program.c,
        A_ub=sp.vstack([matrix[up], -matrix[down]]).tocsr() if has_ub else None,
        b_ub=np.r_[hi[up], -lo[down]] if has_ub else None,
        A_eq=matrix[eq] if len(eq) else None,
        b_eq=hi[eq] if len(eq) else None,
        bounds=np.column_stack([program.lb, program.ub]),
        method="highs",
        options={} if time_limit is None else {"time_limit": max(time_limit, 0.01)},
    )


def _folded(program: Program, res: object) -> Duals:
    eq, up, down = _split(program)
    rhs = np.zeros(program.n_rows)
    if len(up) + len(down):
        marg = res.ineqlin.marginals
        rhs[up] += marg[: len(up)]
        # a minimum enters as −a·v ≤ −lo: moving lo up moves that right-hand side down
        rhs[down] -= marg[len(up) :]
    if len(eq):
        rhs[eq] = res.eqlin.marginals
    return Duals(rhs, res.upper.marginals, res.lower.marginals, float(res.fun))
