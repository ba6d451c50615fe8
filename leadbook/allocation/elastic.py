"""The elastic re-solve of an infeasible policy: the smallest weighted relaxation of its
rules (:func:`~leadbook.allocation.compile.elastic_program`), exactly where that is cheap,
else settled on the LP's own pattern, and how it was found, in words.

The elastic programme's LP may buy dear tiers before cheap ones (wherever that lets lead
capacity and spend rules meet) and run sources below their minimum spend; enforcing fill
order and the minimum spends takes integer variables, and HiGHS's branch and bound on them
is slow once slacks are allowed (its bound stays near the LP's). So the point settled on
the LP's pattern (:func:`~leadbook.allocation.solve.settle_fill_order`: one more LP) is
found first, and the integer programme runs only where it is small.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from leadbook.allocation.compile import Program
from leadbook.allocation.rules import Discrete
from leadbook.allocation.solve import (
    ELASTIC_SECONDS,
    TOL,
    Solved,
    loose_chains,
    settle_fill_order,
    solve_exact,
)

EXACT_ORDERING = 600
"""The most integer variables (fill-order binaries and semi-continuous minimum spends) the
elastic re-solve enforces exactly. Its LP may buy dear tiers before cheap ones (capacity
binding against spend rules) and run sources below their minimum; where HiGHS's branch and
bound on the elastic programme is slow — it spent 7 s of root cuts on the 971 binaries of
``infeasible_model(1_000, 'budget', seed=2)`` and proved its optimum after 24 s, and found
no first answer in minutes on the 5,536 of 10,000 sources — the re-solve keeps the point
settled on the LP's own pattern (:func:`~leadbook.allocation.solve.settle_fill_order`,
0.3 % above that optimum) and says how far from the least relaxation it can be. 300
sources (300–570 integer variables) are solved exactly in 1–2 s."""
NEAR_INTEGERS = 200
"""The most integer variables the integer programme around the LP's point (:func:`around`)
may leave to decide: the minimum spends and fill orders the LP breaks. On the 'minimum'
policies (4 minimum spends and 3 chains broken of 1,000) it finds in 0.02 s the relaxation
the whole programme finds in 0.4 s and cannot prove in minutes; on a hard portfolio of
1,000 sources with 448 left it found nothing in 5 s."""
NEAR_WORDS = "the smallest relaxation found near the elastic LP's point, not proven smallest"
FALLBACK_SECONDS = 2.0
"""How long the elastic integer programme may run when the settled point can stand in for
it (it is kept if the integer programme finds nothing smaller in that time)."""


def elastic_solve(program: Program, soft: Discrete) -> tuple[Solved, str]:
    """The elastic programme solved exactly where that is cheap, else the least relaxation
    found near the LP's point (module notes at :data:`EXACT_ORDERING`), and how it was
    found, in words (:func:`relaxation_words`).

    The LP first; where it breaks fill order or a minimum spend, the settled point
    (:func:`~leadbook.allocation.solve.settle_fill_order`, one more LP) is a relaxation
    that keeps every rule, kept as it is when it is as small as the LP's (proven smallest).
    Else the whole integer programme runs where it has at most :data:`EXACT_ORDERING`
    integer variables, for :data:`FALLBACK_SECONDS` at most (:data:`ELASTIC_SECONDS` with
    nothing to fall back on), and the smaller relaxation is kept. Where it has more, the
    integer programme restricted to the LP's neighbourhood (:func:`around`: what the LP
    keeps stays, what it breaks is decided) runs instead, where it leaves at most
    :data:`NEAR_INTEGERS` integer variables.

    Examples
    --------
    >>> import dataclasses
    >>> from leadbook.allocation.compile import compile_model, elastic_program
    >>> from leadbook.allocation.examples import tiny_model
    >>> m = tiny_model()
    >>> lim = dataclasses.replace(m.limits, exact=True, budget=2_500.0, sales_leads=150.0)
    >>> full = compile_model(dataclasses.replace(m, limits=lim), prune=False)
    >>> soft = dataclasses.replace(full.discrete, count_cost=1.0)
    >>> solved, how = elastic_solve(elastic_program(full).program, soft)
    >>> solved.ok, how
    (True, 'the smallest relaxation an elastic re-solve finds')
    """
    first = solve_exact(program, soft, rounds=1)
    if first.status != "unsettled":
        return first, relaxation_words(first, soft)
    assert first.v is not None
    best = settle_fill_order(program, soft, first, minimum_spends=True)
    if best is not None and best.gap <= 1e-6:
        best = dataclasses.replace(best, gap=0.0)
        return best, relaxation_words(best, soft)
    words = relaxation_words(best, soft) if best is not None else ""
    pairs = len(np.flatnonzero(np.isin(soft.chain, list(first.marks.chains))))
    if pairs + len(first.marks.semi) > EXACT_ORDERING:
        # too large for the whole programme: decide only what the LP breaks, if that is few
        near, free = around(program, soft, first.v)
        if free <= NEAR_INTEGERS:
            found = solve_exact(near, soft, marks=first.marks, time_limit=FALLBACK_SECONDS)
            if found.v is not None:
                found = dataclasses.replace(found, status="optimal", gap=_gap(found.value, first))
                if best is None or _below(found, best):
                    best, words = found, NEAR_WORDS
        if best is not None:
            return best, words
    limit = ELASTIC_SECONDS if best is None else FALLBACK_SECONDS
    out = solve_exact(program, soft, marks=first.marks, time_limit=limit)
    if out.v is None:
        return (best, words) if best is not None else (out, "")
    out = dataclasses.replace(out, status="optimal")
    if best is not None and _below(best, out):
        return best, words  # the whole programme ran out of time above it
    return out, relaxation_words(out, soft)


def _gap(value: float, relaxed: Solved) -> float:
    """How far ``value`` may be above the least relaxation: relative to the LP's bound."""
    return max(value - relaxed.value, 0.0) / max(abs(value), 1e-12)


def _below(one: Solved, other: Solved) -> bool:
    """Whether relaxation ``one`` is smaller than ``other`` beyond the solver's noise."""
    return one.value < other.value - 1e-9 * max(1.0, abs(other.value))


def around(program: Program, d: Discrete, v: np.ndarray) -> tuple[Program, int]:
    """``program`` restricted to the neighbourhood of its LP point ``v``, and the integer
    variables left to decide: every minimum spend ``v`` keeps stays on (at least the
    minimum) or off (0), every source whose blocks ``v`` buys in order keeps its fill
    pattern; only the spends and chains ``v`` breaks are left to the integer programme
    (a source that cannot reach its minimum, which can only stop, among them).

    Examples
    --------
    >>> from leadbook.allocation.compile import compile_model
    >>> from leadbook.allocation.examples import tiny_model
    >>> c = compile_model(tiny_model())
    >>> nothing = np.zeros(c.program.n_cols)
    >>> near, free = around(c.program, c.discrete, nothing)
    >>> dear = c.discrete.then  # A's second block, bought only once its first is full
    >>> float(c.program.ub[dear][0]), float(near.ub[dear][0]), free  # the first stays unfilled
    (2.0, 0.0, 0)
    """
    lb, ub = program.lb.copy(), program.ub.copy()
    x, floor = v[d.semi], d.floor(d.semi)
    stuck = ub[d.semi] < floor  # can only stop
    on, off = (x >= floor - TOL) & ~stuck, (x <= TOL) & ~stuck
    lb[d.semi[on]] = np.maximum(lb[d.semi[on]], floor[on])
    ub[d.semi[off]] = 0.0
    broken_semi = ~(on | off)
    free_pair = np.isin(d.chain, loose_chains(d, v, broken_semi))
    full = v[d.first] >= d.first_full - TOL
    stay_full, stay_empty = ~free_pair & full, ~free_pair & ~full
    lb[d.first[stay_full]] = np.maximum(lb[d.first[stay_full]], d.first_full[stay_full])
    ub[d.then[stay_empty]] = 0.0
    near = program.with_bounds(np.minimum(lb, ub), ub)
    return near, int(broken_semi.sum() + free_pair.sum())


def relaxation_words(solved: Solved, soft: Discrete) -> str:
    """How the elastic re-solve's relaxation was found, in words: proven smallest, the
    integer programme's best in its time, or settled on the LP's pattern (how far from the
    smallest at most, where the LP's bound says)."""
    if solved.gap <= 1e-6:
        return "the smallest relaxation an elastic re-solve finds"
    if solved.integers:
        return f"the smallest relaxation found in {solved.seconds:.0f} s, not proven smallest"
    what = [f"the {len(soft.then):,} price tiers filled in order"] if len(soft.then) else []
    what += ["minimum spends kept or stopped"] if solved.marks.semi else []
    settled = f"with {' and '.join(what)} on the elastic re-solve's pattern"
    if solved.gap > 0.99:  # the LP's bound is 0: it says nothing of how far
        return f"a relaxation {settled}, not proven smallest"
    return f"a relaxation at most {solved.gap * 100:.2g} % larger than the smallest, {settled}"
