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
from leadbook.allocation.solve import ELASTIC_SECONDS, Solved, settle_fill_order, solve_exact

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
FALLBACK_SECONDS = 4.0
"""How long the elastic integer programme may run when the settled point can stand in for
it (it is kept if the integer programme finds nothing smaller in that time)."""


def elastic_solve(program: Program, soft: Discrete) -> Solved:
    """The elastic programme solved exactly where that is cheap, else settled on the LP's
    pattern (module notes at :data:`EXACT_ORDERING`).

    The LP first; where it breaks fill order or a minimum spend, the settled point
    (:func:`~leadbook.allocation.solve.settle_fill_order`, one more LP) is a relaxation
    that keeps every rule. It is kept as it is when it is as small as the LP's (proven
    smallest), or when exact enforcement would take more than :data:`EXACT_ORDERING`
    integer variables; otherwise the integer programme runs, for :data:`ELASTIC_SECONDS` at
    most (:data:`FALLBACK_SECONDS` when the settled point stands behind it), and the smaller
    of its answer and the settled point is kept."""
    first = solve_exact(program, soft, rounds=1)
    if first.status != "unsettled":
        return first
    settled = settle_fill_order(program, soft, first, minimum_spends=True)
    if settled is not None and settled.gap <= 1e-6:
        return dataclasses.replace(settled, gap=0.0)
    pairs = len(np.flatnonzero(np.isin(soft.chain, list(first.marks.chains))))
    if settled is not None and pairs + len(first.marks.semi) > EXACT_ORDERING:
        return settled
    limit = ELASTIC_SECONDS if settled is None else FALLBACK_SECONDS
    out = solve_exact(program, soft, marks=first.marks, time_limit=limit)
    if out.v is None:
        return settled if settled is not None else out
    if settled is not None and settled.value < out.value - 1e-9 * max(1.0, abs(out.value)):
        return settled  # the integer programme ran out of time above it
    return dataclasses.replace(out, status="optimal")


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
