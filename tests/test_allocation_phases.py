"""A glide path moves testing sources through the chapter's test protocol (issue 17): phase 1
in a test's weeks 1–4, then at the phase gate either phase 2 (weeks 5–12) or stop, then the
portfolio like any active source."""

from __future__ import annotations

import numpy as np
import pytest

from leadbook.allocation import allocate, engine
from leadbook.allocation.allocate import build_model
from leadbook.allocation.model import Regime, phase_in_week
from leadbook.demo import demo_inventory, demo_settings
from leadbook.enums import Objective
from leadbook.errors import InfeasiblePolicyError

WEEKS = 14
PHASE1, PHASE2 = (5_000.0, 10_000.0), (15_000.0, 25_000.0)  # the demo's (the chapter's)


@pytest.fixture(scope="module")
def glide():
    model = build_model(demo_inventory(), demo_settings())
    path, _steady = engine.glide_path(model, Objective.CUSTOMERS, WEEKS)
    spend = np.array([engine.week_spend(outcome) for outcome in path])
    return model, path, spend


def within(x: float, band: tuple[float, float]) -> bool:
    return band[0] - 1e-6 <= x <= band[1] + 1e-6


def test_the_demos_tests_and_their_phases():
    inv = demo_inventory().sources
    testing = inv[inv["status"] == "testing"]["test_phase"].to_dict()
    assert testing == {
        "Social lead ads": 1,
        "Partner webinars": 2,
        "Aged lead marketplace": 1,
        "Webinar series": 1,
    }
    assert phase_in_week(np.array([1.0, 2.0]), 4).tolist() == [1.0, 2.0]
    assert phase_in_week(np.array([1.0, 2.0]), 5).tolist() == [2.0, 2.0]
    assert phase_in_week(np.array([1.0, 2.0]), 9).tolist() == [2.0, 0.0]
    assert phase_in_week(np.array([1.0, 2.0]), 13).tolist() == [0.0, 0.0]


def test_a_phase_1_test_takes_phase_1_then_phase_2_or_stops_at_the_gate(glide):
    model, _path, spend = glide
    names = model.portfolio.names
    for name in ("Social lead ads", "Aged lead marketplace", "Webinar series"):
        s = spend[:, names.index(name)]
        assert all(within(x, PHASE1) for x in s[:4]), (name, s[:4])
        if s[4] == 0:  # stopped at the gate: off for the rest of the plan
            assert (s[4:] == 0).all(), name
        else:
            assert all(within(x, PHASE2) for x in s[4:12]), (name, s[4:12])
    # on the demo the plan takes one phase-1 test on to phase 2 and stops two
    stopped = [n for n in names if spend[4, names.index(n)] == 0 and spend[3, names.index(n)] > 0]
    assert stopped == ["Aged lead marketplace", "Webinar series"]


def test_a_test_leaves_the_test_budget_after_its_week_12(glide):
    model, path, spend = glide
    names = model.portfolio.names
    webinars, social = names.index("Partner webinars"), names.index("Social lead ads")
    regime = [p.compiled.model.portfolio.regime for p in path]
    # Partner webinars is in phase 2 (test weeks 5–12): the plan's weeks 1–8
    assert [r[webinars] for r in regime[:8]] == [Regime.TESTING] * 8
    assert all(r[webinars] == Regime.CHANGE for r in regime[8:])
    assert all(within(x, PHASE2) for x in spend[:8, webinars])
    # Social lead ads, in phase 1: weeks 1–12 a test, then the portfolio
    assert [r[social] for r in regime[:12]] == [Regime.TESTING] * 12
    assert all(r[social] == Regime.CHANGE for r in regime[12:])
    # once in the portfolio, the weekly change limits hold it (20 % guardrail, −15 %)
    before, after = spend[11:-1, social], spend[12:, social]
    assert (after <= before * 1.2 + 1e-6).all() and (after >= before * 0.85 - 1e-6).all()


def test_each_week_is_optimal_given_the_week_before_and_its_phases(glide):
    """Week 6 re-solved alone from week 5's spend, with the tests stopped at the gate off,
    gives the same value: the path is the policy's week by week."""
    model, path, spend = glide
    stopped = (spend[4] == 0) & (spend[3] > 0)
    week6 = engine.next_week(model, spend[4], 6, stopped)
    again = engine.optimise(week6, Objective.CUSTOMERS, terms=path[0].goal.terms)
    assert again.value == pytest.approx(path[5].value, rel=1e-9)


def test_the_explanation_says_what_the_plan_does_with_each_test():
    text = allocate(demo_inventory(), demo_settings(), weeks=WEEKS).explanation()[-1]
    assert text.startswith(
        "Tests: Social lead ads moves to its phase-2 budget in week 5, then joins the "
        "portfolio in week 13, its test over; Partner webinars joins the portfolio in week 9, "
        "its test over; Aged lead marketplace stops in week 5, at its phase gate, rather than "
        "moving to phase 2; Webinar series stops in week 5, at its phase gate, rather than "
        "moving to phase 2 ("
    )
    short = allocate(demo_inventory(), demo_settings(), weeks=3).explanation()
    assert not any(line.startswith("Tests:") for line in short)


def test_a_week_that_cannot_meet_the_policy_is_named():
    inv = demo_inventory()
    settings = demo_settings().replace({"policy.test_phase2.max": 16_000.0})
    inv.sources.loc["Partner webinars", "conversion"] *= 2
    with pytest.raises(InfeasiblePolicyError, match=r"^Week 5 of the glide path \(weeks 1–4"):
        allocate(inv, settings, weeks=6)
    allocate(inv, settings, weeks=4)  # the weeks before the gate meet it
