"""The allocation engine: hand-worked answers, the demo, every rule, every error message,
property tests against an independent formulation on CBC (tests/allocation_reference.py)."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from allocation_reference import objective_of, reference_solve, violations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbook.allocation import allocate
from leadbook.allocation import elastic as elastic_solve_module
from leadbook.allocation.compile import compile_model, elastic_program
from leadbook.allocation.engine import glide_path, next_week, optimise, today_prices, week_spend
from leadbook.allocation.examples import (
    SourceSpec,
    hard_model,
    infeasible_model,
    make_portfolio,
    open_limits,
    random_model,
    tiny_model,
)
from leadbook.allocation.explain import COUNT_WEIGHT
from leadbook.allocation.model import MONEY, BandLimit, Model, Regime, limits_from_settings
from leadbook.allocation.rules import (
    Layout,
    Rule,
    change_rows,
    leads_for_spend,
    max_share_rows,
    phase_budget_rows,
)
from leadbook.allocation.solve import (
    at_spend_in_order,
    meets_every_rule,
    settle_fill_order,
    solve_exact,
)
from leadbook.enums import Objective
from leadbook.errors import InfeasiblePolicyError, InputError
from leadbook.settings import Settings


def block_leads(outcome) -> np.ndarray:
    """Leads per block, weeks × blocks, of a solved outcome."""
    model, lay, v = outcome.compiled.model, outcome.compiled.layout, outcome.v
    b = model.portfolio.blocks
    return np.array([v[lay.s(w)] * MONEY / b.cpl for w in range(model.weeks)])


def spend(outcome, week: int = 0) -> np.ndarray:
    lay = outcome.compiled.layout
    return outcome.v[lay.x(week)] * MONEY


# --- Hand-worked ------------------------------------------------------------------------


class TestTinyModel:
    """tiny_model(): A sells 100 leads at $10 then 100 at $20 (2 % conversion), B 200 at
    $15 (3 %); $3,000 budget; both spend $1,000 today."""

    def test_optimum_fills_the_cheapest_customers(self):
        out = optimise(tiny_model(), Objective.CUSTOMERS)
        # A's first block and B both cost $500 a customer, A's second $1,000: $3,000 buys 6
        assert out.value == pytest.approx(6.0, rel=1e-9)

    def test_ties_go_to_the_smallest_change(self):
        out = optimise(tiny_model(), Objective.CUSTOMERS)
        # any split of $3,000 between A's first block and B is optimal; A = $1,000 and
        # B = $2,000 moves $1,000, every other split moves more
        assert spend(out).tolist() == pytest.approx([1_000.0, 2_000.0], abs=1e-3)

    def test_budget_value_is_the_marginal_customers_per_thousand(self):
        out = optimise(tiny_model(), Objective.CUSTOMERS)
        # the next $1,000 would buy $500-customers: 2 of them
        assert out.budget_value == pytest.approx(2.0, rel=1e-6)

    def test_margin_objective_skips_unprofitable_blocks(self):
        m = tiny_model()
        cheap = dataclasses.replace(m.portfolio, revenue=np.array([600.0, 600.0]))
        out = optimise(dataclasses.replace(m, portfolio=cheap), Objective.MARGIN)
        # a customer earns $600: A's first block and B ($500 a customer) pay, A's second
        # ($1,000) does not; the budget buys 100 + 200 leads for $3,000: margin 6 × 600 − 3,000
        assert out.value == pytest.approx(600.0, rel=1e-9)

    def test_leads_for_spend_fills_cheapest_first(self):
        # $1,500 on A: 100 leads for $1,000, then 25 at $20; on B: 100 at $15
        got = leads_for_spend(tiny_model(), np.array([1_500.0, 1_500.0]))
        assert got.tolist() == pytest.approx([125.0, 100.0])


class TestFillOrder:
    def test_a_spend_floor_is_not_met_by_skipping_the_cheap_block(self):
        # A may not fall (decrease 0 %): it keeps $2,000, which in order buys 100 leads at
        # $10 and 50 at $20 — 150 leads, above the 130 sales can work. Buying the $20
        # block first would meet the floor with 100 leads, but vendors sell in order.
        m = tiny_model()
        lim = dataclasses.replace(m.limits, decrease=0.0, sales_leads=130.0, budget=10_000.0)
        pf = dataclasses.replace(
            m.portfolio,
            current=np.array([2_000.0, 0.0]),
            regime=np.array([Regime.CHANGE, Regime.OFF], np.int8),
        )
        model = Model(pf, lim)
        assert reference_solve(model).status != "optimal"
        with pytest.raises(InfeasiblePolicyError) as err:
            optimise(model, Objective.CUSTOMERS)
        assert err.value.conflicts

    def test_an_exact_budget_is_not_met_by_skipping_the_cheap_block(self):
        # $2,500 must be spent on at most 150 leads. In order the dearest 150 leads are B's
        # at $15 ($2,250) — A's $20 leads come only after 100 at $10 — so it cannot be done;
        # A's $20 block bought first would "spend" it.
        m = tiny_model()
        lim = dataclasses.replace(m.limits, exact=True, budget=2_500.0, sales_leads=150.0)
        model = dataclasses.replace(m, limits=lim)
        assert reference_solve(model).status != "optimal"
        with pytest.raises(InfeasiblePolicyError):
            optimise(model, Objective.CUSTOMERS)

    def test_refilling_in_order_does_not_take_a_source_below_its_minimum(self):
        # Sales work 84.75 leads. In order they cost 24 × $20 + 60.75 × $25 = $1,998.75,
        # under the $2,000 minimum active spend; at $2,000 the source buys 84.8 leads, over
        # capacity. Only the $25 block bought first reaches $2,000 at 84.75 leads, so the
        # source cannot be on at all: the optimum is to stop it.
        pf = make_portfolio([SourceSpec("S", 2_727.5, 0.25, [(24, 20.0), (199, 25.0)])])
        lim = open_limits(3_887.5, decrease=1.0, min_spend=2_000.0, sales_leads=84.75)
        model = Model(pf, lim)
        out = optimise(model, Objective.CUSTOMERS)
        assert out.value == pytest.approx(0.0, abs=1e-9)
        assert violations(model, block_leads(out)) == []
        assert reference_solve(model).value == pytest.approx(0.0, abs=1e-9)


class TestHighsOptions:
    def test_a_scipy_that_cannot_set_the_tuning_options_still_solves(self, monkeypatch):
        # Pyodide's scipy may bind an older HiGHS: setting an option it lacks raises
        # AttributeError inside scipy; the solve must go on without the speed options.
        import scipy.optimize

        from leadbook.allocation import solve

        real = scipy.optimize.milp
        calls = []

        def old_binding(*args, options, **kwargs):
            calls.append(dict(options))
            if any(key in options for key in solve._HIGHS_TUNING):
                raise AttributeError("'HighsOptions' object has no attribute")
            return real(*args, options=options, **kwargs)

        monkeypatch.setattr(scipy.optimize, "milp", old_binding)
        monkeypatch.setattr(solve, "_HIGHS_TUNING", dict(solve._HIGHS_TUNING))
        pf = make_portfolio([SourceSpec("S", 2_727.5, 0.25, [(24, 20.0), (199, 25.0)])])
        lim = open_limits(3_887.5, decrease=1.0, min_spend=2_000.0, sales_leads=84.75)
        out = optimise(Model(pf, lim), Objective.CUSTOMERS)
        assert out.value == pytest.approx(0.0, abs=1e-9)
        # the first MIP asks for the tuning, fails, and is solved again without; none after
        tuned = [i for i, c in enumerate(calls) if "mip_heuristic_run_feasibility_jump" in c]
        assert len(tuned) == 1 and solve._HIGHS_TUNING == {}
        assert "mip_heuristic_run_feasibility_jump" not in calls[tuned[0] + 1]

    def test_an_lp_gets_no_mip_options_and_the_same_answer(self, monkeypatch):
        # scipy checks every option at a cost; HiGHS's LP solver reads none of the MIP ones
        import scipy.optimize

        from leadbook.allocation import solve

        compiled = compile_model(random_model(40, seed=3))
        program = compiled.program.with_objective(-np.linspace(1.0, 2.0, compiled.program.n_cols))
        bare = solve._milp(program, None)
        calls = []
        real = scipy.optimize.milp

        def with_mip_options(*args, options, **kwargs):
            calls.append(dict(options))
            options = {**options, "mip_rel_gap": solve.MIP_GAP, **solve._HIGHS_TUNING}
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Unrecognized options")
                return real(*args, options=options, **kwargs)

        monkeypatch.setattr(scipy.optimize, "milp", with_mip_options)
        tuned = solve._milp(program, None)
        assert calls == [{}]
        assert bare.status == tuned.status == 0
        assert np.array_equal(bare.x, tuned.x) and bare.fun == tuned.fun


# --- The demo ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_allocation():
    from leadbook.demo import demo_inventory, demo_settings

    return allocate(demo_inventory(), demo_settings())


class TestDemo:
    """The demo under the seed policy (expected values derived from the chapter's rules)."""

    def test_it_is_optimal_and_within_the_budget(self, demo_allocation):
        assert demo_allocation.status == "optimal"
        assert demo_allocation.totals.spend <= 320_000 + 1e-6

    def test_sales_capacity_binds_at_seventy_reps(self, demo_allocation):
        # 70 reps × 47 leads × 85 %
        assert demo_allocation.totals.leads == pytest.approx(70 * 47 * 0.85, rel=1e-9)
        assert any(s.startswith("Sales capacity binds") for s in demo_allocation.binding)

    def test_the_bands_force_the_tier_mix(self, demo_allocation, demo_inv, demo_cfg):
        # Tier 1 sources are all Low risk, Tier 2 all Medium, Tier 3 all High: 60–70 ∩ 50–60
        # gives Tier 1 exactly 60 %, 20–25 ∩ 25–35 gives Tier 2 exactly 25 %, so Tier 3 15 %
        from leadbook.portfolio.classify import classify

        t = demo_allocation.table
        tiers = classify(demo_inv, demo_cfg)["tier"].astype(str)
        share = t["recommended"].groupby(tiers).sum() / t["recommended"].sum()
        assert share.to_dict() == pytest.approx({"Tier 1": 0.60, "Tier 2": 0.25, "Tier 3": 0.15})

    def test_weekly_limits_hold(self, demo_allocation):
        t = demo_allocation.table
        active = t[t["role"] == "active"]
        assert (active["recommended"] <= active["current"] * 1.20 + 1e-6).all()
        assert (active["recommended"] >= active["current"] * 0.85 - 1e-6).all()

    def test_cheapest_customers_grow_as_fast_as_allowed(self, demo_allocation):
        # Organic search ($67 / 18.9 % = $354 a customer), referrals ($45 / 22.1 %) and
        # content ($89 / 15.3 %) are the cheapest customers: +20 % (guardrail) each
        t = demo_allocation.table
        for name, today in (
            ("Organic search", 19_296.0),
            ("Referral programme", 4_320.0),
            ("Content downloads", 12_816.0),
        ):
            assert t.loc[name, "recommended"] == pytest.approx(today * 1.2, rel=1e-9)
            assert "guardrail +20 %" in t.loc[name, "binding"]

    def test_paused_source_gets_nothing_and_tests_get_their_budget(self, demo_allocation):
        t = demo_allocation.table
        assert t.loc["Regional insurance network", "recommended"] == 0.0
        assert 15_000 - 1e-6 <= t.loc["Partner webinars", "recommended"] <= 25_000 + 1e-6
        for name in ("Social lead ads", "Aged lead marketplace", "Webinar series"):
            assert 5_000 - 1e-6 <= t.loc[name, "recommended"] <= 10_000 + 1e-6

    def test_table_columns_and_change_arithmetic(self, demo_allocation):
        t = demo_allocation.table
        for column in (
            "current",
            "recommended",
            "change",
            "change_pct",
            "leads",
            "customers",
            "marginal_cpa",
            "binding",
        ):
            assert column in t.columns
        assert np.allclose(t["change"], t["recommended"] - t["current"])

    @pytest.mark.parametrize("budget", [310_000, 320_000, 400_000])
    def test_solved_without_the_explanation_the_figures_are_the_same(
        self, demo_inv, demo_cfg, budget
    ):
        # LB.ALLOCATE spills spend_table(solve_allocation(...)) and explains only for LB.EXPLAIN
        from leadbook.allocation.allocate import (
            SPEND_COLUMNS,
            allocation_from,
            solve_allocation,
            spend_table,
        )

        outcome = solve_allocation(demo_inv, demo_cfg, budget=budget)
        whole = allocate(demo_inv, demo_cfg, budget=budget)
        pd.testing.assert_frame_equal(spend_table(outcome), whole.table[SPEND_COLUMNS])
        pd.testing.assert_frame_equal(allocation_from(outcome).table, whole.table)
        assert allocation_from(outcome).explanation() == whole.explanation()

    def test_explanation_reads(self, demo_allocation):
        lines = demo_allocation.explanation()
        assert lines[0].startswith("Optimal (expected customers): 419")
        assert "the budget does not bind" in lines[1]

    def test_glide_path_respects_weekly_limits_and_reaches_the_optimum(self, demo_inv, demo_cfg):
        a = allocate(demo_inv, demo_cfg, weeks=8)  # past the tests' phase gate in week 5
        g = a.glide
        assert g is not None and g.shape == (8, len(demo_inv.sources))
        active = a.table.index[a.table["role"] == "active"]
        prev = a.table.loc[active, "current"]
        for week in g.index:
            now = g.loc[week, active]
            assert (now <= prev * 1.2 + 1e-6).all() and (now >= prev * 0.85 - 1e-6).all()
            prev = now
        assert a.glide_totals["objective"].iloc[-1] == pytest.approx(a.steady_value, rel=1e-6)
        assert "reaches the optimum without weekly limits" in a.explanation()[-2]


# --- Rule builders ----------------------------------------------------------------------


def _lay(model: Model) -> Layout:
    pf = model.portfolio
    return Layout(len(pf), len(pf.blocks), model.weeks)


def _same(a, b, path="") -> None:
    """``a`` and ``b`` hold the very same arrays, field by field (dataclasses, tuples)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif hasattr(a, "tocsr"):
        x, y = a.tocsr(), b.tocsr()
        assert x.shape == y.shape, path
        for part in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(x, part), getattr(y, part)), f"{path}.{part}"
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        if a.dtype == object:
            assert all(x == y for x, y in zip(a, b, strict=True)), path
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}[{k}]")
    else:
        assert a == b or (a != a and b != b), (path, a, b)


class TestAnotherBudget:
    """A model compiled at one budget serves another (LB.ALLOCATE with a new budget)."""

    @pytest.mark.parametrize("which", ["demo", "random 20", "random 200"])
    def test_retargeted_at_most_is_the_programme_compiled_at_that_budget(self, which, demo_inv):
        from leadbook.allocation.allocate import build_model
        from leadbook.allocation.compile import retarget
        from leadbook.demo import demo_settings

        if which == "demo":
            model = build_model(demo_inv, demo_settings(), 320_000.0)
        else:
            model = random_model(int(which.split()[1]), seed=7)
        assert not model.limits.exact
        base = compile_model(model)
        for share in (0.5, 0.97, 1.0, 1.3, 3.0):
            budget = round(model.limits.budget * share, 2)
            at = dataclasses.replace(model.limits, budget=budget)
            _same(retarget(base, budget), compile_model(dataclasses.replace(model, limits=at)))

    @pytest.mark.parametrize("mode", ["at most", "exact"])
    def test_a_solve_from_the_kept_model_equals_a_fresh_one(self, demo_inv, demo_cfg, mode):
        from leadbook.allocation.allocate import (
            allocation_from,
            compile_allocation,
            solve_allocation,
        )

        cfg = demo_cfg.replace({"BudgetMode": mode})
        kept = compile_allocation(demo_inv, cfg, budget=330_000)
        for budget in (310_000, 320_000, 330_000):
            at = allocation_from(solve_allocation(demo_inv, cfg, budget=budget, compiled=kept))
            fresh = allocate(demo_inv, cfg, budget=budget)
            pd.testing.assert_frame_equal(at.table, fresh.table)
            assert at.explanation() == fresh.explanation()
        with pytest.raises(InfeasiblePolicyError) as kept_error:
            solve_allocation(demo_inv, cfg, budget=250_000, compiled=kept)
        with pytest.raises(InfeasiblePolicyError) as fresh_error:
            allocate(demo_inv, cfg, budget=250_000)
        assert str(kept_error.value) == str(fresh_error.value)

    def test_other_limits_build_the_model_afresh(self, demo_inv, demo_cfg):
        from leadbook.allocation.allocate import compile_allocation, solve_allocation, spend_table

        kept = compile_allocation(demo_inv, demo_cfg, budget=320_000)
        wider = demo_cfg.replace({"MaxSourceShare": 0.5})
        at = solve_allocation(demo_inv, wider, budget=330_000, compiled=kept)
        assert at.compiled.model.limits.max_share == 0.5
        fresh = solve_allocation(demo_inv, wider, budget=330_000)
        pd.testing.assert_frame_equal(spend_table(at), spend_table(fresh))


class TestRules:
    def test_change_rows_name_the_tighter_rule(self):
        lim = limits_from_settings(Settings(), 1.0)
        assert (lim.increase, lim.increase_rule) == (0.20, "weekly guardrail")
        assert (lim.decrease, lim.decrease_rule) == (0.15, "weekly decrease")
        looser = limits_from_settings(Settings().replace({"policy.weekly_guardrail": 0.3}), 1.0)
        assert (looser.increase, looser.increase_rule) == (0.25, "weekly increase")

    def test_week_one_floor_is_the_higher_of_decrease_and_minimum_spend(self):
        m = tiny_model()
        lim = dataclasses.replace(m.limits, decrease=0.15, min_spend=900.0)
        rows = change_rows(dataclasses.replace(m, limits=lim), _lay(m), upper=False)
        by_rule = {r.rule: r for r in rows if len(r)}
        # both spend $1,000: 85 % is $850 < $900, so the minimum spend gives the floor
        assert set(by_rule) == {Rule.MIN_SPEND}
        assert by_rule[Rule.MIN_SPEND].spend.tolist() == pytest.approx([0.9, 0.9])
        # $900 buys A 90 leads at $10 and B 60 at $15
        assert by_rule[Rule.MIN_SPEND].lo.tolist() == pytest.approx([90.0, 60.0])

    def test_max_share_rows_skip_sources_that_cannot_reach_it(self):
        model = random_model(200, seed=3)
        model = dataclasses.replace(model, limits=dataclasses.replace(model.limits, max_share=0.02))
        lay = _lay(model)
        pruned = max_share_rows(model, lay)
        full = max_share_rows(model, dataclasses.replace(lay, prune=False))
        assert 0 < len(pruned) < len(full)

    def test_test_budget_is_a_ceiling_and_a_lead_floor(self):
        pf = make_portfolio(
            [
                SourceSpec(
                    "T",
                    0.0,
                    0.1,
                    [(100, 50.0), (100, 60.0)],
                    regime=Regime.TESTING,
                    test=(5_000.0, 8_000.0),
                )
            ]
        )
        model = Model(pf, open_limits(10_000.0))
        ceiling, floor = phase_budget_rows(model, _lay(model))
        assert ceiling.hi.tolist() == [8.0]
        # $5,000 buys all 100 leads at $50
        assert floor.lo.tolist() == pytest.approx([100.0])


class TestLimits:
    def test_budget_defaults_to_todays_spend(self):
        assert limits_from_settings(Settings(), 291_408.0).budget == 291_408.0

    def test_sales_capacity_can_be_overridden(self):
        lim = limits_from_settings(Settings(), 1.0, sales_capacity=3_000.0)
        assert lim.sales_leads == 3_000.0 and lim.sales_note == "as planned"

    def test_operations_capacity_is_at_optimal_utilisation(self):
        assert limits_from_settings(Settings(), 1.0).ops_leads == pytest.approx(3_500 * 0.85)

    def test_negative_budget_is_refused(self):
        with pytest.raises(ValueError, match="budget must be a non-negative number of dollars"):
            limits_from_settings(Settings(), 1.0, budget=-5.0)

    def test_negative_sales_capacity_is_refused(self):
        with pytest.raises(ValueError, match="sales capacity must be ≥ 0 leads a month"):
            limits_from_settings(Settings(), 1.0, sales_capacity=-1.0)

    def test_weeks_out_of_range(self):
        with pytest.raises(ValueError, match="weeks must be between 1 and 52, got 0"):
            Model(tiny_model().portfolio, tiny_model().limits, weeks=0)

    def test_allocate_refuses_a_bad_horizon(self, demo_inv):
        with pytest.raises(ValueError, match="weeks must be between 1 and 52, got 53"):
            allocate(demo_inv, weeks=53)

    def test_weeks_must_be_whole(self):
        with pytest.raises(TypeError, match=r"weeks must be a whole number, got 1\.5"):
            Model(tiny_model().portfolio, tiny_model().limits, weeks=1.5)  # type: ignore[arg-type]

    def test_empty_portfolio(self, raw_demo):
        from leadbook.portfolio.inventory import Inventory

        empty = Inventory(
            raw_demo.sources.iloc[0:0], raw_demo.price_tiers.iloc[0:0], raw_demo.history
        )
        with pytest.raises(InputError, match="the Sources table has no sources to allocate"):
            allocate(empty)

    def test_unknown_objective(self, demo_inv):
        with pytest.raises(ValueError, match="'profit' is not one of: customers, margin"):
            allocate(demo_inv, objective="profit")


# --- Infeasible policies ----------------------------------------------------------------


def _tier_model(caps: tuple[float, ...], budget: float) -> Model:
    """Tier 1 sources at $100 a lead with the given volume caps, a big Tier 2 source."""
    specs = [
        SourceSpec(f"Core {k}", 50_000.0, 0.1, [(cap, 100.0)], tier="Tier 1")
        for k, cap in enumerate(caps, start=1)
    ]
    specs.append(SourceSpec("Growth", 400_000.0, 0.1, [(20_000, 100.0)], tier="Tier 2"))
    pf = make_portfolio(specs)
    band = BandLimit("Tier", "tier", "Tier 1", 0.60, 0.70, "BandTier1")
    lim = open_limits(budget, exact=True, bands=(band,), decrease=1.0)
    return Model(pf, lim)


class TestInfeasible:
    def test_band_beyond_volume_caps_names_the_band_caps_and_budget(self):
        # Tier 1 can buy 4,680 leads at $100 = $468,000; 60 % of $900,000 is $540,000
        model = _tier_model((2_000.0, 1_680.0, 1_000.0), 900_000.0)
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"Tier 1 band needs ≥ \$540,000 \(60 % of \$900,000\) but Tier 1 volume caps "
            r"absorb \$468,000 — lower the Tier 1 band's minimum to 52.0 % \(BandTier1Min\), "
            r"cut the budget to \$780,000 \(Budget\), or set budget use to 'at most'",
        ) as err:
            optimise(model, Objective.CUSTOMERS)
        assert len(err.value.conflicts) == 1
        assert err.value.conflicts[0].shortfall == pytest.approx(72_000.0)
        assert str(err.value).startswith("The policy cannot be met: 1 rule must give")

    def test_many_rules_giving_lists_the_largest_and_counts_the_rest(self):
        # 30 pinned sources of 3.3 % or more each, where no source may pass 2 %
        specs = [
            SourceSpec(
                f"S{k:02d}", 0.0, 0.1, [(1_000, 100.0)], regime=Regime.PINNED, pin=10_000.0 + k
            )
            for k in range(30)
        ]
        model = Model(make_portfolio(specs), open_limits(400_000.0, max_share=0.02))
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"(?s)(\n  - .*){8}\n  … and \d+ more source rules must give \(\$[\d,]+ of "
            r"shortfall in all, at most \$[\d,]+ each\); leadbook rebalance BOOK --json lists",
        ) as err:
            optimise(model, Objective.CUSTOMERS)
        conflicts = err.value.conflicts
        assert len(conflicts) > 9
        shown = str(err.value).splitlines()[1:9]
        largest = sorted(conflicts, key=lambda c: (c.per_source, -c.shortfall))[:8]
        assert shown == [f"  - {c}" for c in largest]

    def test_max_share_against_a_pin(self):
        pf = make_portfolio(
            [
                SourceSpec("Pinned", 0.0, 0.1, [(5_000, 10.0)], regime=Regime.PINNED, pin=30_000.0),
                SourceSpec("Other", 20_000.0, 0.1, [(5_000, 10.0)]),
            ]
        )
        lim = open_limits(50_000.0, exact=True, max_share=0.4, decrease=1.0, increase=10.0)
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"max share per source allows ≤ \$20,000 \(40 % of \$50,000\) but Pinned "
            r"needs \$30,000 — raise the max share per source to 60.0 % \(MaxSourceShare\)",
        ):
            optimise(Model(pf, lim), Objective.CUSTOMERS)

    def test_weekly_decrease_against_the_budget(self):
        m = tiny_model()
        lim = dataclasses.replace(m.limits, budget=800.0, exact=True)
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"may fall at most 50 % a week \(weekly decrease: ≥ \$500\) but can keep only "
            r"\$300 — raise the max weekly decrease to 60.0 % \(WeeklyDecrease\), pause B "
            r"\(Sources, Status: paused\), or raise the budget to \$1,000 \(Budget\)",
        ):
            optimise(dataclasses.replace(m, limits=lim), Objective.CUSTOMERS)

    def test_weekly_decrease_against_sales_capacity(self):
        m = tiny_model()
        lim = dataclasses.replace(m.limits, sales_leads=50.0)
        # B keeps ≥ $500 = 33.3 leads, so A gets 16.7 leads = $167 of its $500 floor
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"A may fall at most 50 % a week \(weekly decrease: ≥ \$500\) but can keep "
            r"only \$167 — raise the max weekly decrease to 70.0 % \(WeeklyDecrease\), or "
            r"pause A",
        ):
            optimise(dataclasses.replace(m, limits=lim), Objective.CUSTOMERS)

    def test_sales_capacity_against_pins(self):
        # pins give last: A's $1,000 buys 100 leads, B's $1,500 buys 100, sales work 150
        pf = make_portfolio(
            [
                SourceSpec(
                    "A", 0.0, 0.02, [(100, 10.0), (100, 20.0)], regime=Regime.PINNED, pin=1_000.0
                ),
                SourceSpec("B", 0.0, 0.03, [(200, 15.0)], regime=Regime.PINNED, pin=1_500.0),
            ]
        )
        lim = open_limits(10_000.0, sales_leads=150.0)
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"Sales capacity allows 150 leads a month but the other rules need more — pin "
            r"A at \$500 \(Sources, Pin spend\), or pin B at \$750",
        ):
            optimise(Model(pf, lim), Objective.CUSTOMERS)

    def test_minimum_active_sources(self):
        m = tiny_model()
        lim = dataclasses.replace(m.limits, min_active=3, min_spend=100.0)
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"needs at least 3 active sources \(each spending ≥ \$100\) but only 2 can be "
            r"active — lower the minimum active sources to 2 \(MinActiveSources\)",
        ):
            optimise(dataclasses.replace(m, limits=lim), Objective.CUSTOMERS)

    def test_minimum_active_sources_when_none_can_be_active(self):
        # every source paused: the count has no candidates at all, and must not be dropped
        m = tiny_model()
        off = np.full(len(m.portfolio), Regime.OFF, dtype=np.int8)
        pf = dataclasses.replace(m.portfolio, regime=off, current=np.zeros(len(off)))
        lim = dataclasses.replace(m.limits, min_active=1)
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"needs at least 1 active sources .* but only 0 can be active",
        ):
            optimise(Model(pf, lim), Objective.CUSTOMERS)

    def test_minimum_spend_against_a_cap(self):
        # at $5,500 Small is above the minimum, but its $4,000 cap keeps it below: it can
        # only stop (before, the policy was infeasible; a source below the minimum today
        # stops or glides up: tests/test_allocation_belowmin.py)
        pf = make_portfolio([SourceSpec("Small", 5_500.0, 0.1, [(1_000, 10.0)], cap=4_000.0)])
        lim = open_limits(10_000.0, increase=0.2, decrease=0.15, min_spend=5_000.0)
        out = optimise(Model(pf, lim), Objective.CUSTOMERS)
        assert out.v[out.compiled.layout.x(0)].tolist() == pytest.approx([0.0], abs=1e-9)
        # forced on by the count of active sources, the refusal names the cap and the minimum
        forced = dataclasses.replace(lim, min_active=1)
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"Small's spend cap of \$4,000 is below the \$5,000 minimum for an active source",
        ) as err:
            optimise(Model(pf, forced), Objective.CUSTOMERS)
        cap = [f for f in err.value.fixes if f.name == "Cap spend"]
        assert [(f.source, f.value) for f in cap] == [("Small", 5_000.0)]
        # a lower minimum cannot help: Small may fall only to $4,675, above its cap
        assert "MinActiveSpend" not in {f.name for f in err.value.fixes}

    def test_test_budget_against_a_cap(self):
        pf = make_portfolio(
            [
                SourceSpec(
                    "Trial",
                    0.0,
                    0.1,
                    [(1_000, 10.0)],
                    regime=Regime.TESTING,
                    test=(5_000.0, 10_000.0),
                    cap=2_000.0,
                )
            ]
        )
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"Trial's phase-1 test budget is \$5,000–\$10,000 but the other rules cannot "
            r"give it its minimum — lower the phase-1 test budget's minimum to \$2,000 "
            r"\(TestPhase1Min\), pause Trial \(Sources, Status: paused\), or raise the spend "
            r"cap of Trial to \$5,000 \(Sources, Cap spend\)",
        ):
            optimise(Model(pf, open_limits(10_000.0)), Objective.CUSTOMERS)

    def test_exact_budget_beyond_volume(self):
        pf = make_portfolio([SourceSpec("Only", 1_000.0, 0.1, [(100, 10.0)])])
        lim = open_limits(5_000.0, exact=True)
        with pytest.raises(
            InfeasiblePolicyError,
            match=r"The budget must be spent exactly \(\$5,000\) but the other rules allow at "
            r"most \$1,000 — cut the budget to \$1,000 \(Budget\), or set budget use to 'at "
            r"most' \(BudgetMode\)",
        ):
            optimise(Model(pf, lim), Objective.CUSTOMERS)

    def test_experimental_floor_without_experimental_sources(self):
        pf = make_portfolio([SourceSpec("Core", 1_000.0, 0.1, [(1_000, 10.0)])])
        lim = open_limits(5_000.0, experimental_floor=0.1)
        with pytest.raises(InfeasiblePolicyError, match=r"experimental floor needs ≥ \$"):
            optimise(Model(pf, lim), Objective.CUSTOMERS)


# --- Weighted objective -----------------------------------------------------------------


class TestWeighted:
    def test_score_is_the_weighted_sum_of_normalised_terms(self, demo_inv, demo_cfg):
        a = allocate(demo_inv, demo_cfg, objective="weighted")
        t = a.terms
        assert t["weight"].sum() == pytest.approx(1.0)
        assert (t["best"] > t["worst"]).all()
        normalised = (t["raw"] - t["worst"]) / (t["best"] - t["worst"])
        assert a.objective_value == pytest.approx((t["weight"] * normalised).sum(), rel=1e-9)

    @pytest.mark.parametrize("objective", ["customers", "weighted"])
    def test_a_glide_path_never_gets_worse(self, demo_inv, demo_cfg, objective):
        # each week may stay where the week before ended, so its optimum is no lower — but
        # at the tests' phase gate (week 5), where a test goes on to phase 2 or stops
        a = allocate(demo_inv, demo_cfg, objective=objective, weeks=8)
        score = a.glide_totals["objective"].to_numpy()
        steps = np.diff(score) >= -1e-7 * np.abs(score[1:]).max()
        assert steps[[0, 1, 2, 4, 5, 6]].all()

    def test_week_one_of_a_glide_is_the_rebalance(self, demo_inv, demo_cfg):
        one = allocate(demo_inv, demo_cfg)
        glide = allocate(demo_inv, demo_cfg, weeks=3)
        assert glide.table["recommended"].to_numpy() == pytest.approx(
            one.table["recommended"].to_numpy(), rel=1e-9
        )


# --- Properties against the independent formulation --------------------------------------


@st.composite
def small_models(draw) -> Model:
    n = draw(st.integers(2, 6))
    specs = []
    for i in range(n):
        k = draw(st.integers(1, 3))
        price = draw(st.floats(20, 200))
        blocks = []
        for _ in range(k):
            blocks.append((float(draw(st.integers(10, 300))), price))
            price *= draw(st.floats(1.0, 1.4))
        full = sum(a * c for a, c in blocks)
        regime = draw(
            st.sampled_from(
                [
                    Regime.CHANGE,
                    Regime.CHANGE,
                    Regime.CHANGE,
                    Regime.ENTRANT,
                    Regime.TESTING,
                    Regime.PINNED,
                    Regime.OFF,
                ]
            )
        )
        current = draw(st.floats(0.2, 0.9)) * full if regime is Regime.CHANGE else 0.0
        specs.append(
            SourceSpec(
                name=f"S{i}",
                current=current,
                conversion=draw(st.floats(0.01, 0.3)),
                blocks=blocks,
                revenue=draw(st.floats(100, 5_000)),
                regime=regime,
                pin=draw(st.floats(0.0, 1.0)) * full if regime is Regime.PINNED else math.nan,
                cap=draw(st.one_of(st.just(math.nan), st.floats(0.3, 1.2))) * full,
                test=(0.1 * full, 0.5 * full) if regime is Regime.TESTING else (math.nan, math.nan),
                tier=draw(st.sampled_from(["Tier 1", "Tier 2", "Tier 3"])),
                lead_type=draw(st.sampled_from(["Premium", "Standard", "Value"])),
                vendor=f"V{i % 3}",
            )
        )
    pf = make_portfolio(specs)
    today = float(pf.current.sum()) or 1_000.0
    bands = ()
    if draw(st.booleans()):
        lo = draw(st.floats(0.0, 0.5))
        bands = (
            BandLimit("Tier", "tier", "Tier 1", lo, min(1.0, lo + draw(st.floats(0.1, 0.6))), "B"),
        )
    lim = open_limits(
        today * draw(st.floats(0.6, 1.6)),
        exact=draw(st.booleans()),
        max_share=draw(st.sampled_from([1.0, 0.5, 0.7])),
        experimental_floor=draw(st.sampled_from([0.0, 0.05, 0.15])),
        increase=draw(st.sampled_from([0.2, 0.25, 0.5])),
        decrease=draw(st.sampled_from([0.15, 0.5, 1.0])),
        min_spend=draw(st.sampled_from([0.0, 300.0, 2_000.0])),
        min_active=draw(st.integers(0, 3)),
        bands=bands,
        sales_leads=float(pf.volume_cap.sum()) * draw(st.floats(0.2, 1.2)),
        ops_leads=1e9,
        support_customers=float((pf.volume_cap * pf.conversion).sum()) * draw(st.floats(0.3, 1.2)),
    )
    weeks = draw(st.sampled_from([1, 1, 1, 2]))
    return Model(pf, lim, weeks)


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class TestProperties:
    @PROPERTY_SETTINGS
    @given(small_models(), st.sampled_from(["customers", "margin"]))
    def test_agrees_with_an_independent_milp(self, model, objective):
        ref = reference_solve(model, objective)
        try:
            out = optimise(model, Objective.parse(objective))
        except InfeasiblePolicyError as exc:
            # infeasible for both, and the error names at least one rule
            assert ref.status != "optimal", "leadbook says infeasible, CBC found an optimum"
            assert len(exc.conflicts) >= 1 and all(c.message for c in exc.conflicts)
            return
        # every rule holds, checked by the independent checker: leadbook's answer proves the
        # policy feasible, whatever CBC says of it
        assert violations(model, block_leads(out)) == []
        if ref.status != "optimal":
            # CBC refuses a few policies the checker shows to be feasible (one hypothesis
            # found: shares exactly at the cap with two sources at the minimum); no optimum
            # to compare with then
            assert ref.status == "Infeasible", f"leadbook found an optimum, CBC says {ref.status}"
            return
        # the optimum agrees with CBC's within 1e-6 relative; a margin is revenue less spend,
        # a difference of sums of the budget's size, so both solvers' feasibility tolerances
        # (1e-7 on rows of that size) move it by up to 1e-8 of the budget, whatever it is
        scale = model.limits.budget or float(np.sum(model.portfolio.current))
        slack = 1e-8 * scale if objective == "margin" else 0.0
        assert out.value == pytest.approx(ref.value, rel=1e-6, abs=1e-6 + slack)
        assert objective_of(model, objective, block_leads(out)) == pytest.approx(
            out.value, rel=1e-6, abs=1e-6
        )

    @PROPERTY_SETTINGS
    @given(small_models())
    def test_beats_every_allocation_the_test_constructs(self, model):
        try:
            out = optimise(model, Objective.CUSTOMERS)
        except InfeasiblePolicyError:
            return
        pf, b = model.portfolio, model.portfolio.blocks
        candidates = []
        # today's allocation, bought cheapest block first, held for every week
        bought = leads_for_spend(model, pf.current)
        per_block = [
            min(
                max(bought[i] - b.leads[(b.source == i) & (b.rank < b.rank[j])].sum(), 0.0),
                b.leads[j],
            )
            for j, i in enumerate(b.source)
        ]
        candidates.append(np.tile(np.array(per_block), (model.weeks, 1)))
        # every source at its volume cap, and nothing at all
        candidates.append(np.tile(b.leads, (model.weeks, 1)))
        candidates.append(np.zeros((model.weeks, len(b))))
        for leads in candidates:
            if not violations(model, leads):
                assert out.value >= objective_of(model, "customers", leads) - 1e-6 * max(
                    1.0, abs(out.value)
                )


def _elastic(model: Model):
    full = compile_model(model, prune=False)
    elastic = elastic_program(full)
    return full, elastic, dataclasses.replace(full.discrete, count_cost=COUNT_WEIGHT)


class TestElasticReSolveAtScale:
    """Where fill order would take too many binaries, the elastic re-solve settles it on
    the LP's own pattern: a true relaxation (it meets every rule that may not give), no
    farther from the least one than it says."""

    def test_refill_at_the_same_spend_buys_the_cheap_blocks_first(self):
        # A's $1,500 bought $20 leads first; in order: 100 at $10, then 25 at $20
        model = Model(
            make_portfolio([SourceSpec("A", 0.0, 0.1, [(100, 10.0), (100, 20.0)])]),
            open_limits(5_000.0),
        )
        c = compile_model(model)
        v = np.zeros(c.program.n_cols)
        blocks = c.layout.s(0)
        v[blocks] = np.array([500.0, 1_000.0]) / MONEY
        v[c.layout.x(0)] = 1_500.0 / MONEY
        refilled = at_spend_in_order(c.discrete, v)
        assert refilled[blocks] * MONEY == pytest.approx([1_000.0, 500.0])
        assert refilled[c.layout.x(0)] == v[c.layout.x(0)]

    def test_an_exact_budget_against_sales_capacity_names_the_same_rules_either_way(
        self, monkeypatch
    ):
        # $2,500 on at most 150 leads: the LP "spends" it on A's $20 leads before its $10
        # ones (TestFillOrder); settled on that pattern, A's cheap block comes first
        m = tiny_model()
        lim = dataclasses.replace(m.limits, exact=True, budget=2_500.0, sales_leads=150.0)
        model = dataclasses.replace(m, limits=lim)
        _, elastic, soft = _elastic(model)
        first = solve_exact(elastic.program, soft, rounds=1)
        assert first.status == "unsettled" and first.marks.chains
        with pytest.raises(InfeasiblePolicyError) as exact:
            optimise(model, Objective.CUSTOMERS)
        monkeypatch.setattr(elastic_solve_module, "EXACT_ORDERING", 0)
        with pytest.raises(InfeasiblePolicyError) as settled:
            optimise(model, Objective.CUSTOMERS)
        assert [str(c) for c in settled.value.conflicts] == [str(c) for c in exact.value.conflicts]
        assert "price tiers filled in order" not in str(exact.value)
        assert "price tiers filled in order on the elastic re-solve's pattern" in str(settled.value)

    @PROPERTY_SETTINGS
    @given(small_models())
    def test_settled_is_a_relaxation_within_its_stated_gap(self, model):
        full, elastic, soft = _elastic(model)
        first = solve_exact(elastic.program, soft, rounds=1)
        if first.status != "unsettled":
            return
        settled = settle_fill_order(elastic.program, soft, first)
        if settled is None:
            return
        exact = solve_exact(elastic.program, soft, marks=first.marks)
        assert exact.ok
        # every row holds once its slack is counted, fill order and the rest hold too
        assert meets_every_rule(elastic.program, soft, settled.v, full.rows.scale)
        # HiGHS holds each row to 1e-7, so a total of slacks is exact to a few times that
        tol = 1e-6 * max(1.0, exact.value)
        assert settled.value >= exact.value - tol
        assert exact.value >= settled.value * (1 - settled.gap) - tol

    @pytest.mark.parametrize(
        "make",
        [
            lambda: infeasible_model(30, "minimum"),
            lambda: infeasible_model(60, "minimum", seed=1),
            lambda: _budget_above(hard_model(60, seed=0), 1.3),
            lambda: _budget_above(hard_model(100, seed=2), 1.3),
        ],
        ids=["minimum-30", "minimum-60", "hard-60", "hard-100"],
    )
    def test_minimum_spends_settled_keep_every_rule_and_no_less_than_the_least(self, make):
        # the LP runs sources below their minimum spend: settled on or off by its own point,
        # the result meets every rule of the elastic programme (the semi-continuous spends
        # and fill order too) and is no smaller than the integer programme's least relaxation
        full, elastic, soft = _elastic(make())
        first = solve_exact(elastic.program, soft, rounds=1)
        assert first.status == "unsettled" and first.marks.semi
        assert settle_fill_order(elastic.program, soft, first) is None  # not asked to
        settled = settle_fill_order(elastic.program, soft, first, minimum_spends=True)
        assert settled is not None
        assert meets_every_rule(elastic.program, soft, settled.v, full.rows.scale)
        exact = solve_exact(elastic.program, soft, marks=first.marks, time_limit=3.0)
        assert exact.v is not None
        assert settled.value >= exact.value * (1 - exact.gap) - 1e-6 * max(1.0, exact.value)
        assert settled.value >= first.value - 1e-9


def _budget_above(model: Model, factor: float) -> Model:
    """``model`` with its budget raised by ``factor`` (an exact budget no rule set allows)."""
    return dataclasses.replace(
        model, limits=dataclasses.replace(model.limits, budget=model.limits.budget * factor)
    )


class TestCrossCheckAtScale:
    @pytest.mark.parametrize("seed", [1, 2])
    def test_random_portfolio_of_forty(self, seed):
        model = random_model(40, seed=seed)
        out = optimise(model, Objective.CUSTOMERS)
        ref = reference_solve(model)
        assert ref.status == "optimal"
        assert out.value == pytest.approx(ref.value, rel=1e-6)
        assert violations(model, block_leads(out)) == []

    def test_glide_path_of_four_weeks(self):
        model = random_model(15, seed=4, weeks=4)
        out = optimise(model, Objective.CUSTOMERS)
        ref = reference_solve(model)
        assert out.value == pytest.approx(ref.value, rel=1e-6)
        assert violations(model, block_leads(out)) == []


def _change_from_today(model: Model, out) -> float:
    """The tie-break's measure: each source's change in leads at today's price per lead."""
    today, price = today_prices(model)
    leads = leads_for_spend(model, week_spend(out))
    return float((price * np.abs(leads - today)).sum())


class TestShortcuts:
    def test_the_least_change_optimum_of_the_relaxation_needs_no_branching(self, monkeypatch):
        # The relaxation's vertex buys blocks out of order, but the optimum nearest today
        # keeps every rule: one more LP, no MIP, and it agrees with CBC and changes no more
        # than the branch-and-bound route's tie-broken answer.
        from leadbook.allocation import engine, solve

        model = random_model(6, seed=29)
        mips = []
        real = solve._milp

        def counted(program, time_limit):
            if program.integrality.any():
                mips.append(program.n_cols)
            return real(program, time_limit)

        monkeypatch.setattr(solve, "_milp", counted)
        out = optimise(model, Objective.CUSTOMERS)
        assert mips == []
        assert out.value == pytest.approx(reference_solve(model).value, rel=1e-6)
        assert violations(model, block_leads(out)) == []

        monkeypatch.setattr(engine, "_settle_on_face", lambda *a: None)
        branched = optimise(model, Objective.CUSTOMERS)
        assert mips, "without the shortcut this model needs the fill-order binaries"
        assert branched.value == pytest.approx(out.value, rel=1e-9)
        assert _change_from_today(model, out) <= _change_from_today(model, branched) + 1e-6

    def test_a_week_already_at_its_optimum_stays_put_after_one_lp(self):
        model = random_model(8, seed=11)
        path, _ = glide_path(model, Objective.CUSTOMERS, 13, destination=False)
        stays = [
            k
            for k in range(1, len(path))
            if path[k] is not path[k - 1]
            and np.allclose(week_spend(path[k]), week_spend(path[k - 1]), atol=1e-6)
        ]
        assert stays, "the path arrives, and the week after says so"
        k = stays[0]
        week = next_week(model, week_spend(path[k - 1]))
        assert path[k].value == pytest.approx(reference_solve(week).value, rel=1e-6)
        assert violations(week, block_leads(path[k])) == []
        # the relaxation alone: today's allocation reaches its bound and keeps every rule
        assert path[k].solved.solves == 1

    @pytest.mark.parametrize("seed", [3, 7])
    def test_a_path_that_reaches_the_relaxation_proves_its_destination_with_one_lp(
        self, monkeypatch, seed
    ):
        # The destination (the policy without weekly limits) is at most the relaxation's
        # value and at least the path's last week's, which meets every rule: when the two
        # meet, no integer solve is needed, and the value is the integer solve's.
        from leadbook.allocation import engine, solve

        model = random_model(30, seed=seed)
        path, _ = glide_path(model, Objective.CUSTOMERS, 13, destination=False)
        exact = optimise(engine.steady_model(model), Objective.CUSTOMERS, explain=False).value
        assert path[-1].value == pytest.approx(exact, rel=1e-6), "this path arrives"
        solves = []
        real = solve._milp
        monkeypatch.setattr(solve, "_milp", lambda p, t: solves.append(p) or real(p, t))
        value = engine.steady_value(
            model, Objective.CUSTOMERS, None, path[-1].marks, path[-1].value
        )
        assert value == pytest.approx(exact, rel=1e-6)
        assert len(solves) == 1 and not solves[0].integrality.any()

    def test_a_path_short_of_the_relaxation_solves_its_destination(self):
        # Two weeks of ±20 % do not get there: the bound cannot settle it, the solve does.
        model = random_model(30, seed=3)
        path, steady = glide_path(model, Objective.MARGIN, 2)
        from leadbook.allocation.engine import steady_model

        exact = optimise(steady_model(model), Objective.MARGIN, explain=False).value
        assert path[-1].value < exact * (1 - 1e-3)
        assert steady == pytest.approx(exact, rel=1e-9)


def test_the_table_is_indexed_by_source(demo_allocation, demo_inv):
    assert list(demo_allocation.table.index) == list(demo_inv.sources.index)
    assert isinstance(demo_allocation.table, pd.DataFrame)
