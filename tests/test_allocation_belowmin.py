"""Issue 19: an active source spending below the minimum active spend today stops or glides
up to the minimum by the full weekly increase, instead of making the policy infeasible.

Hand-worked portfolios, checked against the independent checker and the CBC reference
(tests/allocation_reference.py, which states the rule from docs/allocation.md)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from allocation_reference import reference_solve, violations

from leadbook.allocation import allocate
from leadbook.allocation.belowmin import weeks_to_minimum
from leadbook.allocation.compile import compile_model
from leadbook.allocation.engine import glide_path, optimise, steady_model, steady_value
from leadbook.allocation.examples import SourceSpec, make_portfolio, open_limits
from leadbook.allocation.minimum import below_minimum, glide_floors
from leadbook.allocation.model import MONEY, Model, Regime
from leadbook.enums import Objective

REFERRAL = "Referral programme"


def block_leads(outcome) -> np.ndarray:
    model, lay, v = outcome.compiled.model, outcome.compiled.layout, outcome.v
    b = model.portfolio.blocks
    return np.array([v[lay.s(w)] * MONEY / b.cpl for w in range(model.weeks)])


def spend(outcome, week: int = 0) -> np.ndarray:
    return outcome.v[outcome.compiled.layout.x(week)] * MONEY


def limits(budget: float, **changes):
    base = {"increase": 0.2, "decrease": 0.15, "min_spend": 1_500.0}
    return open_limits(budget, **{**base, **changes})


def cheap(current: float = 5_000.0) -> SourceSpec:
    """B: 1,000 leads at $10, 5 % conversion — 5 customers per $1,000."""
    return SourceSpec("B", current, 0.05, [(1_000, 10.0)])


def small(current: float, conversion: float, **kw) -> SourceSpec:
    """A: 100 leads at $20 ($2,000 of volume), below the $1,500 minimum today."""
    return SourceSpec("A", current, conversion, [(100, 20.0)], **kw)


def explained(model: Model) -> dict[str, str]:
    from leadbook.allocation.allocate import allocation_from

    a = allocation_from(optimise(model, Objective.CUSTOMERS))
    return {"binding": " | ".join(a.binding), "labels": a.table.loc["A", "binding"]}


# --- The demo: Referral programme at $4,000 against the $5,000 minimum --------------------


@pytest.fixture(scope="module")
def below_demo(demo_inv):
    src = demo_inv.sources.copy()
    src.loc[REFERRAL, "spend"] = 4_000.0
    return dataclasses.replace(demo_inv, sources=src)


@pytest.fixture(scope="module")
def demo_glide(below_demo, demo_cfg):
    return allocate(below_demo, demo_cfg, weeks=13)


class TestDemo:
    def test_the_demo_settings_put_4000_below_the_reach_of_one_week(self, demo_cfg):
        # the case the issue names: $4,000 × (1 + 20 % guardrail) = $4,800 < $5,000
        p = demo_cfg.policy
        assert p.min_active_spend == 5_000.0
        assert 4_000.0 * (1 + min(p.weekly_increase, p.weekly_guardrail)) < 5_000.0

    def test_one_week_is_feasible_and_glides(self, below_demo, demo_cfg):
        a = allocate(below_demo, demo_cfg)
        row = a.table.loc[REFERRAL]
        assert row["recommended"] == pytest.approx(4_800.0, abs=1e-3)
        assert "glides up to min spend" in row["binding"]
        assert (
            "Referral programme spends $4,000, below the $5,000 minimum for an active source: "
            "it glides up by the weekly guardrail (+20 % a week: $4,800 in week 1) to reach "
            "the minimum in week 2; stopping it instead would cost"
        ) in " ".join(a.explanation())

    def test_the_glide_path_reaches_the_minimum_in_week_2(self, demo_glide):
        path = demo_glide.glide[REFERRAL].to_numpy()
        assert path[0] == pytest.approx(4_800.0, abs=1e-3)
        assert path[1] >= 5_000.0 - 1e-6
        assert (path[1:] >= 5_000.0 - 1e-6).all()

    def test_the_destination_ignores_the_glide_in(self, below_demo, demo_cfg, demo_glide):
        from leadbook.allocation.allocate import build_model

        model = build_model(below_demo, demo_cfg)
        i = model.portfolio.names.index(REFERRAL)
        steady = steady_model(model)
        # without weekly limits the minimum is the usual 0-or-≥-$5,000
        assert glide_floors(steady)[0, i] == pytest.approx(5_000.0)
        d = compile_model(steady).discrete
        assert d.floor(np.array([i]))[0] * MONEY == pytest.approx(5_000.0)
        # and today's spend does not matter to it: the same optimum from $6,000
        pf = model.portfolio
        current = np.where(np.arange(len(pf)) == i, 6_000.0, pf.current)
        above = dataclasses.replace(model, portfolio=dataclasses.replace(pf, current=current))
        assert steady_value(model, Objective.CUSTOMERS, None) == pytest.approx(
            steady_value(above, Objective.CUSTOMERS, None), rel=1e-7
        )


# --- Hand-worked: glide or stop --------------------------------------------------------


class TestChoice:
    """A (100 leads at $20) spends $1,000 against a $1,500 minimum; the weekly increase is
    20 %, so on its glide-in A spends $1,200, $1,440, then $1,500 (week 3). B buys 5
    customers per $1,000 and may rise from $5,000 to $6,000. The budget is $6,000."""

    def test_weeks_to_the_minimum(self):
        assert weeks_to_minimum(1_000.0, 1_500.0, 0.2) == 3  # 1,200, 1,440, 1,728
        assert weeks_to_minimum(1_250.0, 1_500.0, 0.2) == 1  # exactly 1,500
        assert weeks_to_minimum(1_500.0, 1_500.0, 0.2) == 0

    def test_an_expensive_source_stops(self):
        # A at 1 % buys 0.5 customers per $1,000: stopping it leaves B all $6,000 (30
        # customers); gliding spends $1,200 on A (0.6) and $4,800 on B (24): 5.4 fewer
        model = Model(make_portfolio([small(1_000.0, 0.01), cheap()]), limits(6_000.0))
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out).tolist() == pytest.approx([0.0, 6_000.0], abs=1e-3)
        assert out.value == pytest.approx(30.0, rel=1e-9)
        words = explained(model)
        assert words["labels"] == "stops: below min spend"
        assert (
            "A spends $1,000, below the $1,500 minimum for an active source: it stops; "
            "gliding up instead ($1,200 in week 1, the minimum in week 3) would cost 5.4 "
            "customers a month"
        ) in words["binding"]

    def test_a_good_source_glides(self):
        # A at 40 %: 20 customers per $1,000. Gliding: $1,200 on A (24) + $4,800 on B (24)
        # = 48; stopping: B alone at $6,000, 30: 18 fewer
        model = Model(make_portfolio([small(1_000.0, 0.4), cheap()]), limits(6_000.0))
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out).tolist() == pytest.approx([1_200.0, 4_800.0], abs=1e-3)
        assert out.value == pytest.approx(48.0, rel=1e-9)
        words = explained(model)
        assert "glides up to min spend" in words["labels"]
        assert (
            "A spends $1,000, below the $1,500 minimum for an active source: it glides up by "
            "the weekly increase (+20 % a week: $1,200 in week 1) to reach the minimum in week "
            "3; stopping it instead would cost 18 customers a month"
        ) in words["binding"]

    def test_the_glide_path_climbs_at_the_full_rate(self):
        model = Model(make_portfolio([small(1_000.0, 0.4), cheap()]), limits(6_000.0))
        path, _ = glide_path(model, Objective.CUSTOMERS, 4)
        a = [spend(p)[0] for p in path]
        # 1,200, 1,440, then the minimum or more (at most +20 %: 1,728), then on as usual
        assert a[:2] == pytest.approx([1_200.0, 1_440.0], abs=1e-3)
        assert 1_500.0 - 1e-6 <= a[2] <= 1_728.0 + 1e-6

    def test_exactly_at_the_threshold(self):
        # $1,250 × 1.2 = $1,500 exactly: it reaches the minimum next week; at $1,500 it is
        # not below the minimum at all (the usual rules: it may not stop)
        pf = make_portfolio([small(1_250.0, 0.4), cheap()])
        model = Model(pf, limits(6_000.0))
        assert glide_floors(model)[0].tolist() == pytest.approx([1_500.0, 1_500.0])
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out)[0] == pytest.approx(1_500.0, abs=1e-3)
        assert (
            "A spends $1,250, below the $1,500 minimum for an active source: it rises to "
            "$1,500 next week, at least the minimum"
        ) in explained(model)["binding"]
        at = Model(make_portfolio([small(1_500.0, 0.001), cheap()]), limits(6_000.0))
        assert not below_minimum(at).any()
        # very poor, but not allowed to stop: it falls by 15 % at most, to the minimum
        assert spend(optimise(at, Objective.CUSTOMERS))[0] == pytest.approx(1_500.0, abs=1e-3)

    def test_one_week_from_the_minimum_it_stops_rather_than_rise(self):
        # $1,300 × 1.2 ≥ $1,500: on, A spends $1,500 (0.75 customers) and B $4,500 (22.5);
        # stopped, B takes $6,000 (30): 6.75 more
        model = Model(make_portfolio([small(1_300.0, 0.01), cheap()]), limits(6_000.0))
        assert (
            "A spends $1,300, below the $1,500 minimum for an active source: it stops; "
            "rising to the minimum instead ($1,500 next week) would cost 6.75 customers a "
            "month" in explained(model)["binding"]
        )

    def test_with_no_weekly_increase_it_stays_or_stops(self):
        # it cannot rise: on, it stays at $1,000 (20 customers) and B at $5,000 (25)
        model = Model(make_portfolio([small(1_000.0, 0.4), cheap()]), limits(6_000.0, increase=0.0))
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out).tolist() == pytest.approx([1_000.0, 5_000.0], abs=1e-3)
        assert (
            "A spends $1,000, below the $1,500 minimum for an active source: it stays at "
            "$1,000: the weekly increase (0 %) lets it rise no further; stopping it instead "
            "would cost 20 customers a month"
        ) in explained(model)["binding"]
        ref = reference_solve(model)
        assert out.value == pytest.approx(ref.value, rel=1e-6)

    def test_several_sources_below_the_minimum(self):
        specs = [
            SourceSpec("Good", 1_000.0, 0.4, [(100, 20.0)]),
            SourceSpec("Poor", 1_000.0, 0.01, [(100, 20.0)]),
            SourceSpec("Mid", 600.0, 0.2, [(100, 20.0)]),
            cheap(),
        ]
        model = Model(make_portfolio(specs), limits(6_600.0))
        assert below_minimum(model).tolist() == [True, True, True, False]
        out = optimise(model, Objective.CUSTOMERS)
        # Good glides ($1,200, 20/$1,000), Mid glides ($720, 10/$1,000 beats B's 5), Poor
        # stops (0.5/$1,000); B takes the rest of the budget
        assert spend(out).tolist() == pytest.approx([1_200.0, 0.0, 720.0, 4_680.0], abs=1e-3)
        assert violations(model, block_leads(out)) == []
        ref = reference_solve(model)
        assert ref.status == "optimal" and out.value == pytest.approx(ref.value, rel=1e-6)


# --- Other regimes and caps ------------------------------------------------------------


class TestRegimesAndCaps:
    def test_a_pinned_source_below_the_minimum_keeps_its_pin(self):
        pf = make_portfolio([small(1_000.0, 0.01, regime=Regime.PINNED, pin=1_000.0), cheap()])
        model = Model(pf, limits(6_000.0))
        assert not below_minimum(model).any()
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out)[0] == pytest.approx(1_000.0, abs=1e-3)

    def test_a_spend_cap_below_the_minimum_stops_it(self):
        # a $1,100 cap keeps A below $1,500 for good, however good it is
        model = Model(make_portfolio([small(1_000.0, 0.4, cap=1_100.0), cheap()]), limits(6_000.0))
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out).tolist() == pytest.approx([0.0, 6_000.0], abs=1e-3)
        assert (
            "A spends $1,000, below the $1,500 minimum for an active source: it stops — its "
            "spend cap of $1,100 keeps it below the minimum for good"
        ) in explained(model)["binding"]

    def test_a_cap_above_the_minimum_leaves_the_glide(self):
        # capped at $1,600, above the minimum: A glides as usual
        model = Model(make_portfolio([small(1_000.0, 0.4, cap=1_600.0), cheap()]), limits(6_000.0))
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out)[0] == pytest.approx(1_200.0, abs=1e-3)

    def test_a_volume_cap_below_the_minimum_stops_it(self):
        # all 60 of A's leads cost $1,200: it can never reach $1,500
        a = SourceSpec("A", 1_000.0, 0.4, [(60, 20.0)])
        model = Model(make_portfolio([a, cheap()]), limits(6_000.0))
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out)[0] == pytest.approx(0.0, abs=1e-6)
        assert (
            "it stops — its volume cap (all its leads cost $1,200 a month) keeps it below the "
            "minimum for good"
        ) in explained(model)["binding"]
        ref = reference_solve(model)
        assert out.value == pytest.approx(ref.value, rel=1e-6)

    def test_a_test_source_keeps_its_test_budget(self):
        # a testing source's $500–$1,000 phase budget is below the minimum: untouched
        t = SourceSpec("T", 0.0, 0.01, [(100, 20.0)], regime=Regime.TESTING, test=(500.0, 1_000.0))
        model = Model(make_portfolio([small(1_000.0, 0.4), t, cheap()]), limits(6_000.0))
        assert below_minimum(model).tolist() == [True, False, False]
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out).tolist() == pytest.approx([1_200.0, 500.0, 4_300.0], abs=1e-3)
        assert violations(model, block_leads(out)) == []

    def test_a_plan_of_two_weeks_agrees_with_cbc(self):
        specs = [small(1_000.0, 0.4), SourceSpec("P", 900.0, 0.01, [(100, 20.0)]), cheap()]
        model = Model(make_portfolio(specs), limits(6_000.0), weeks=2)
        out = optimise(model, Objective.CUSTOMERS)
        assert violations(model, block_leads(out)) == []
        # A glides $1,200 → $1,440, P stops in week 1 and stays stopped
        assert spend(out, 0)[:2].tolist() == pytest.approx([1_200.0, 0.0], abs=1e-3)
        assert spend(out, 1)[:2].tolist() == pytest.approx([1_440.0, 0.0], abs=1e-3)
        ref = reference_solve(model)
        assert ref.status == "optimal" and out.value == pytest.approx(ref.value, rel=1e-6)


# --- At or above the minimum today, but capped below it ----------------------------------


def knob_of(fix, model: Model):
    from leadbook.allocation.fixes import Knob

    source = -1 if fix.source is None else model.portfolio.names.index(fix.source)
    return Knob(fix.name, 0, source)


class TestCapBelowTheMinimum:
    """A spends $1,600 today, at least the $1,500 minimum, but a cap below the minimum keeps
    it from ever spending it: it can only stop (before, the whole policy was infeasible)."""

    def test_a_spend_cap_below_the_minimum_stops_it(self):
        model = Model(make_portfolio([small(1_600.0, 0.4, cap=1_400.0), cheap()]), limits(6_000.0))
        assert not below_minimum(model).any()
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out).tolist() == pytest.approx([0.0, 6_000.0], abs=1e-3)
        assert violations(model, block_leads(out)) == []
        words = explained(model)
        assert words["labels"] == "stops: cap below min spend"
        assert (
            "A spends $1,600, at least the $1,500 minimum for an active source: it stops — its "
            "spend cap of $1,400 keeps it below the minimum for good"
        ) in words["binding"]
        ref = reference_solve(model)
        assert ref.status == "optimal" and out.value == pytest.approx(ref.value, rel=1e-6)

    def test_a_volume_cap_below_the_minimum_stops_it(self):
        # all 60 of A's leads cost $1,200, though it spends $1,600 today (prices rose)
        a = SourceSpec("A", 1_600.0, 0.4, [(60, 20.0)])
        model = Model(make_portfolio([a, cheap()]), limits(6_000.0), weeks=2)
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out, 0)[0] == pytest.approx(0.0, abs=1e-6)
        assert spend(out, 1)[0] == pytest.approx(0.0, abs=1e-6)
        assert violations(model, block_leads(out)) == []
        assert (
            "A spends $1,600, at least the $1,500 minimum for an active source: it stops — its "
            "volume cap (all its leads cost $1,200 a month) keeps it below the minimum for good"
        ) in explained(model)["binding"]

    def test_a_cap_at_the_minimum_keeps_it_on(self):
        model = Model(make_portfolio([small(1_600.0, 0.4, cap=1_500.0), cheap()]), limits(6_000.0))
        out = optimise(model, Objective.CUSTOMERS)
        assert spend(out)[0] == pytest.approx(1_500.0, abs=1e-3)

    def test_forced_on_the_refusal_names_the_source_its_cap_and_the_minimum(self):
        # two active sources are required and only A and B exist: A must run but cannot
        # reach the minimum under its $1,400 cap
        from leadbook.allocation.fixes import apply, feasible
        from leadbook.errors import InfeasiblePolicyError

        model = Model(
            make_portfolio([small(1_500.0, 0.4, cap=1_400.0), cheap()]),
            limits(6_000.0, min_active=2),
        )
        with pytest.raises(InfeasiblePolicyError) as caught:
            optimise(model, Objective.CUSTOMERS)
        err = caught.value
        text = str(err)
        assert "A's spend cap of $1,400 is below the $1,500 minimum for an active source" in text
        by_name = {f.name: f for f in err.fixes}
        assert by_name["Cap spend"].source == "A"
        assert by_name["Cap spend"].value == pytest.approx(1_500.0)
        assert by_name["MinActiveSpend"].value == pytest.approx(1_400.0)
        assert "raise the spend cap of A to $1,500 (Sources, Cap spend)" in text
        for fix in (by_name["Cap spend"], by_name["MinActiveSpend"]):
            assert feasible(apply(model, knob_of(fix, model), fix.value)), fix

    def test_forced_on_by_the_experimental_floor_the_refusal_names_a_volume_cap(self):
        # all 60 of A's leads cost $1,200: the refusal named neither that nor the minimum
        from leadbook.allocation.fixes import apply, feasible
        from leadbook.errors import InfeasiblePolicyError

        a = SourceSpec("A", 1_500.0, 0.4, [(60, 20.0)], tier="Tier 3")
        model = Model(make_portfolio([a, cheap()]), limits(6_000.0, experimental_floor=0.1))
        with pytest.raises(InfeasiblePolicyError) as caught:
            optimise(model, Objective.CUSTOMERS)
        err = caught.value
        assert (
            "A's volume cap (all its leads cost $1,200 a month) is below the $1,500 minimum for "
            "an active source"
        ) in str(err)
        assert err.fixes and not err.together
        for fix in err.fixes:  # (a lower minimum alone is not enough: A falls 20 % a week)
            assert feasible(apply(model, knob_of(fix, model), fix.value)), fix

    def test_forced_on_by_the_experimental_floor_the_refusal_names_the_cap(self):
        from leadbook.allocation.fixes import apply, feasible
        from leadbook.errors import InfeasiblePolicyError

        a = SourceSpec("A", 1_500.0, 0.4, [(100, 20.0)], cap=1_400.0, tier="Tier 3")
        lim = limits(6_000.0, experimental_floor=0.1)
        model = Model(make_portfolio([a, cheap()]), lim)
        with pytest.raises(InfeasiblePolicyError) as caught:
            optimise(model, Objective.CUSTOMERS)
        err = caught.value
        assert (
            "experimental sources can get only $0; A's spend cap of $1,400 is below the $1,500 "
            "minimum for an active source"
        ) in str(err)
        by_name = {f.name: f for f in err.fixes}
        assert by_name["Cap spend"].value == pytest.approx(1_500.0)
        assert by_name["MinActiveSpend"].value == pytest.approx(1_400.0)
        for fix in (by_name["Cap spend"], by_name["MinActiveSpend"]):
            assert feasible(apply(model, knob_of(fix, model), fix.value)), fix
