"""The benchmark's hard and infeasible families do what their docstrings say (issue 19)."""

from __future__ import annotations

import pytest
from allocation_reference import reference_solve, violations

from leadbook.allocation.compile import compile_model
from leadbook.allocation.engine import optimise
from leadbook.allocation.examples import INFEASIBLE_KINDS, hard_model, infeasible_model
from leadbook.allocation.model import MONEY
from leadbook.allocation.solve import relaxed_minimum
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
