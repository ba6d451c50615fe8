"""The benchmark's hard and infeasible families do what their docstrings say (issue 19)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from allocation_reference import reference_solve, violations

from leadbook.allocation import solve
from leadbook.allocation.compile import compile_model
from leadbook.allocation.engine import optimise
from leadbook.allocation.examples import INFEASIBLE_KINDS, hard_model, infeasible_model
from leadbook.allocation.model import MONEY
from leadbook.allocation.objectives import goal_for
from leadbook.allocation.solve import (
    MIP_GAP,
    Duals,
    relaxed_minimum,
    solve_exact,
)
from leadbook.enums import Objective
from leadbook.errors import InfeasiblePolicyError


def _block_leads(out):
    model, lay, v = out.compiled.model, out.compiled.layout, out.v
    b = model.portfolio.blocks
    return [v[lay.s(w)] * MONEY / b.cpl for w in range(model.weeks)]


def test_a_hard_portfolio_needs_integers_and_agrees_with_cbc():
    model = hard_model(40, seed=3)
    out = optimise(model, Objective.CUSTOMERS, explain=False)
    # the relaxation alone does not settle it: the answer needed fill order or minimum spends
    assert out.marks.chains or out.marks.semi
    assert violations(model, _block_leads(out)) == []
    ref = reference_solve(model)
    assert ref.status == "optimal"
    assert out.value == pytest.approx(ref.value, rel=1e-8)


@pytest.mark.parametrize("kind", INFEASIBLE_KINDS)
def test_each_infeasible_policy_is_refused_by_both(kind):
    model = infeasible_model(30, kind)
    with pytest.raises(InfeasiblePolicyError) as exc:
        optimise(model, Objective.CUSTOMERS, explain_infeasible=False)
    assert exc.value.conflicts == ()  # the bare verdict: nothing explained
    assert reference_solve(model).status == "Infeasible"
    relaxation = relaxed_minimum(compile_model(model).program)
    # only 'minimum' is infeasible as an integer programme alone
    assert (relaxation is not None) == (kind == "minimum")


def test_an_unknown_kind_is_named():
    with pytest.raises(ValueError, match="unknown kind 'nope'"):
        infeasible_model(5, "nope")


def _relaxed_and_plain(n: int, seed: int):
    compiled = compile_model(hard_model(n, seed=seed))
    goal = goal_for(compiled, Objective.CUSTOMERS)
    first = solve_exact(goal.minimise, compiled.discrete, rounds=1)
    assert first.status == "unsettled" and first.duals is not None
    plain = solve_exact(goal.minimise, compiled.discrete, marks=first.marks)
    return compiled, goal, first, plain


@pytest.mark.parametrize("seed", [0, 1, 2, 4])
def test_an_integer_optimum_on_the_relaxations_face_is_taken(seed, monkeypatch):
    _, _, first, plain = _relaxed_and_plain(100, seed)
    # on these portfolios the broken rules cost nothing: the relaxation's bound is the optimum
    assert plain.value == pytest.approx(first.value, rel=MIP_GAP)
    found = []
    near_bound = solve._near_bound
    monkeypatch.setattr(solve, "_near_bound", lambda *a: found.append(near_bound(*a)) or found[-1])
    out = optimise(hard_model(100, seed=seed), Objective.CUSTOMERS, explain=False)
    assert len(found) == 1 and found[0] is not None  # the face search found it: no whole MIP
    assert out.value == pytest.approx(-plain.value, rel=1e-8)  # tie-broken: TIE_TOLERANCE
    assert violations(out.compiled.model, _block_leads(out)) == []


def test_a_relaxation_below_the_optimum_falls_back_to_the_whole_programme():
    compiled, goal, first, plain = _relaxed_and_plain(100, 3)
    # the relaxation is 0.19 % below the integer optimum: no point of its face is integer
    assert plain.value > first.value + 1e-3 * abs(plain.value)
    faced = solve_exact(goal.minimise, compiled.discrete, marks=first.marks, relaxed=first)
    assert faced.ok and faced.value == pytest.approx(plain.value, rel=1e-9)
    assert faced.solves == 2  # the fixed face, then the whole programme


def test_a_point_off_the_bound_is_not_taken_for_the_optimum():
    compiled, goal, first, plain = _relaxed_and_plain(100, 0)
    # zero duals make the "face" the whole programme: the fixed search then finds a point
    # 1 % worse than the bound, which must be refused, not returned as the optimum
    n = goal.minimise.n_cols
    blind = Duals(np.zeros(goal.minimise.n_rows), np.zeros(n), np.zeros(n), first.value)
    wrong = dataclasses.replace(first, duals=blind)
    faced = solve_exact(goal.minimise, compiled.discrete, marks=first.marks, relaxed=wrong)
    assert faced.ok and faced.value == pytest.approx(plain.value, rel=1e-9)
