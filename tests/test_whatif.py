"""What-if (issue 17): scenarios side by side and the budget curve, in the core."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from leadbook.allocation import allocate
from leadbook.allocation.allocate import allocation_from, build_model
from leadbook.allocation.compile import compile_model
from leadbook.allocation.engine import optimise
from leadbook.allocation.examples import random_model, tiny_model
from leadbook.allocation.explain import infeasibility
from leadbook.allocation.whatif import (
    AS_SET,
    Scenario,
    SourceOverride,
    budget_curve,
    curve_of_model,
    run_scenarios,
)
from leadbook.demo import demo_inventory, demo_settings
from leadbook.enums import Objective
from leadbook.errors import InputError


@pytest.fixture(scope="module")
def demo():
    return demo_inventory(), demo_settings()


@pytest.fixture(scope="module")
def demo_curve(demo):
    inventory, settings = demo
    return budget_curve(inventory, settings)


def test_the_point_at_100_percent_is_rebalances_recommendation(demo, demo_curve):
    inventory, settings = demo
    rebalance = allocate(inventory, settings)
    at = int(np.flatnonzero(np.isclose(demo_curve.table["share"], 1.0))[0])
    row = demo_curve.table.iloc[at]
    assert row["budget"] == settings.policy.budget
    assert row["status"] == "optimal"
    assert row["spend"] == pytest.approx(rebalance.totals.spend, rel=1e-7)
    assert row["customers"] == pytest.approx(rebalance.totals.customers, rel=1e-7)
    spend = demo_curve.spend.iloc[at]
    expected = rebalance.table["recommended"].reindex(spend.index)
    np.testing.assert_allclose(spend.to_numpy(), expected.to_numpy(), rtol=1e-6, atol=0.01)
    # the marginal CPA is the cost of the next customer Rebalance states (none: the demo's
    # budget does not bind, other rules do)
    assert rebalance.budget_value == 0.0 and np.isnan(row["marginal_cpa"])


def test_the_curve_has_the_settings_points_from_50_to_150_percent(demo, demo_curve):
    _, settings = demo
    table = demo_curve.table
    assert len(table) == settings.whatif.curve_points == 21
    assert table["budget"].iloc[0] == pytest.approx(0.5 * settings.policy.budget)
    assert table["budget"].iloc[-1] == pytest.approx(1.5 * settings.policy.budget)


def test_an_infeasible_point_names_the_rule_rebalance_would_name(demo, demo_curve):
    inventory, settings = demo
    table = demo_curve.table
    bad = table[table["status"] == "infeasible"]
    assert len(bad) > 0  # below the budget the demo's sources cannot fall fast enough
    assert (bad["rule"].str.len() > 0).all() and bad["spend"].isna().all()
    first = bad.iloc[0]
    model = build_model(inventory, settings, first["budget"])
    problem = infeasibility(compile_model(model), fixes=False)
    assert first["rule"].startswith(problem.leading()[0][0].message)


def test_a_points_rule_quotes_that_points_budget(demo):
    """At a $24,000 point the relaxed solve spends $25,000 (the budget gives too): the band's
    limit is quoted as its share of $24,000, the point's own budget, not of that $25,000."""
    inventory, settings = demo
    curve = budget_curve(inventory, settings.replace({"Budget": 25_000.0}), budgets=[24_000.0])
    rule = curve.table["rule"].iloc[0]
    assert rule.startswith("The Tier 3 band allows ≤ $3,600 (15 % of $24,000)"), rule
    assert "$25,000" not in rule


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_customers_never_fall_as_the_budget_rises_in_at_most_mode(seed):
    model = random_model(10, seed=seed)
    assert not model.limits.exact
    budgets = model.limits.budget * np.linspace(0.8, 1.6, 7)
    table = curve_of_model(model, Objective.CUSTOMERS, budgets).table
    feasible = table["status"].to_numpy() == "optimal"
    # once the policy can be met, a larger budget keeps it so (the feasible set only grows)
    assert feasible[np.argmax(feasible) :].all() and feasible.any()
    customers = table["customers"].to_numpy()[feasible]
    assert (np.diff(customers) >= -1e-7 * customers[1:]).all()
    assert (table["spend"].to_numpy()[feasible] <= budgets[feasible] + 1e-3).all()
    # where the budget binds, the next customer costs what a $1,000 step adds, re-solved
    at = np.flatnonzero(feasible & np.isfinite(table["marginal_cpa"].to_numpy()))
    assert len(at)
    model_at = dataclasses.replace(
        model, limits=dataclasses.replace(model.limits, budget=float(budgets[at[0]]))
    )
    value = allocation_from(optimise(model_at, Objective.CUSTOMERS)).budget_value
    assert table["marginal_cpa"].iloc[at[0]] == pytest.approx(1_000.0 / value, rel=1e-6)


def test_a_retargeted_point_equals_a_fresh_solve_of_that_budget():
    model = tiny_model()
    budgets = np.array([1_000.0, 1_200.0, 2_000.0])
    table = curve_of_model(model, Objective.CUSTOMERS, budgets).table
    for budget, row in zip(budgets, table.itertuples(), strict=True):
        fresh = dataclasses.replace(model, limits=dataclasses.replace(model.limits, budget=budget))
        alloc = allocation_from(optimise(fresh, Objective.CUSTOMERS))
        assert row.customers == pytest.approx(alloc.totals.customers, rel=1e-9)
        assert row.spend == pytest.approx(alloc.totals.spend, rel=1e-9)


def test_a_scenario_equals_rebalance_with_that_setting_changed(demo):
    inventory, settings = demo
    scenario = Scenario("Tighter", {"MaxSourceShare": 0.35, "Budget": 340_000.0})
    as_set, tighter = run_scenarios(inventory, settings, [scenario])
    assert as_set.name == AS_SET
    direct = allocate(inventory, settings.replace({"MaxSourceShare": 0.35, "Budget": 340_000.0}))
    assert tighter.status == "optimal"
    assert tighter.customers == pytest.approx(direct.totals.customers, rel=1e-9)
    assert tighter.spend == pytest.approx(direct.totals.spend, rel=1e-9)
    assert tighter.binding == direct.binding
    plain = allocate(inventory, settings)
    assert as_set.customers == pytest.approx(plain.totals.customers, rel=1e-9)


def test_a_source_override_pins_caps_or_excludes_it(demo):
    inventory, settings = demo
    name = "Organic search"
    out = run_scenarios(
        inventory,
        settings,
        [
            Scenario("No organic", sources={name: SourceOverride(exclude=True)}),
            Scenario("Pinned", sources={name: SourceOverride(pin=20_000.0)}),
        ],
    )
    assert out[1].per_source[name] == 0.0
    assert out[2].per_source[name] == pytest.approx(20_000.0)


def test_a_scenario_overrides_what_the_sources_tab_pins_or_excludes(demo):
    """Excluding a source pinned on the Sources tab drops it (the pin goes with it), and
    pinning one excluded there runs it at the pin: each was refused as "both", or solved
    with the tab's setting winning."""
    inventory, settings = demo
    name = "Organic search"
    src = inventory.sources.copy()
    src.loc[name, "pin"] = 20_000.0
    pinned = dataclasses.replace(inventory, sources=src)
    src = inventory.sources.copy()
    src.loc[name, "exclude"] = True
    excluded = dataclasses.replace(inventory, sources=src)
    drop = run_scenarios(
        pinned, settings, [Scenario("x", sources={name: SourceOverride(exclude=True)})]
    )
    run = run_scenarios(
        excluded, settings, [Scenario("p", sources={name: SourceOverride(pin=15_000.0)})]
    )
    assert drop[0].per_source[name] == pytest.approx(20_000.0) and drop[1].per_source[name] == 0.0
    assert run[0].per_source[name] == 0.0 and run[1].per_source[name] == pytest.approx(15_000.0)


def test_a_scenario_infeasible_names_the_rule_and_others_still_solve(demo):
    inventory, settings = demo
    out = run_scenarios(inventory, settings, [Scenario("$300k", {"Budget": 300_000.0})])
    assert out[1].status == "infeasible" and out[1].verdict
    assert np.isnan(out[1].spend) and out[0].status == "optimal"


def test_an_override_of_a_source_that_does_not_exist_is_refused(demo):
    inventory, settings = demo
    with pytest.raises(InputError, match=r"'Nowhere'.*not a source"):
        run_scenarios(
            inventory, settings, [Scenario("x", sources={"Nowhere": SourceOverride(cap=1.0)})]
        )
