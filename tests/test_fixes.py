"""Fixes for an impossible policy work when applied: every printed fix, applied to the
settings or the Sources table by its name and value as ``--json`` gives them, makes the
policy feasible (leadbook/allocation/fixes.py)."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import openpyxl
import pytest
from conftest import set_setting
from typer.testing import CliRunner

from leadbook import contract as C
from leadbook.allocation import allocate
from leadbook.allocation.engine import optimise
from leadbook.allocation.examples import infeasible_model, random_model
from leadbook.allocation.searchtime import stopped_note
from leadbook.cli import app
from leadbook.demo import demo_inventory, demo_settings
from leadbook.enums import Objective
from leadbook.errors import Fix, InfeasiblePolicyError
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import Settings, spec_for
from leadbook.workbook.jobs.feeds import sales_capacity_for

SOURCE_COLUMNS = {c.header: c.key for c in C.SOURCES_TABLE.columns}

IMPOSSIBLE = {
    "exact budget above what the other rules allow": {"Budget": 350_000, "BudgetMode": "exact"},
    "budget far below what the decrease limit keeps": {"Budget": 150_000},
    "too little sales capacity": {"SalesReps": 20},
    "too little operations capacity": {"OpsCapacity": 1_500},
    "too little support capacity": {"SupportCapacity": 120},
    "Tier 1 band above what Tier 1 can take": {"BandTier1Min": 0.95, "BandTier1Max": 1.0},
    "Tier 2 band below what Tier 2 needs": {"BandTier2Min": 0.1, "BandTier2Max": 0.15},
    "Premium band above what Premium can take": {"BandPremiumMin": 0.62, "BandPremiumMax": 0.7},
    "high-risk band below what tests need": {"BandHighRiskMin": 0.0, "BandHighRiskMax": 0.05},
    "max share below what the others allow": {"MaxSourceShare": 0.12},
    "experimental floor above what tests can take": {"ExperimentalFloor": 0.45},
    "test minimum above what test sources can take": {
        "TestPhase1Min": 15_000,
        "TestPhase1Max": 20_000,
    },
    "more active sources than there are": {"MinActiveSources": 11},
}
"""Settings that make the demo's policy impossible, each a kind the issue reported."""

TOGETHER = {
    "a Tier 1 band too high and more active sources than there are": {
        "BandTier1Min": 0.95,
        "BandTier1Max": 1.0,
        "MinActiveSources": 11,
    },
    "an exact budget too high and more active sources than there are": {
        "Budget": 350_000,
        "BudgetMode": "exact",
        "MinActiveSources": 11,
    },
    # (a $150,000 budget with a 15 % guardrail was here: it needed a second change only
    # because Referral programme, at $4,320, could not reach the $5,000 minimum in a week —
    # since issue 19 such a source glides up or stops, and the budget alone suffices)
    "a budget cut and more active sources than there are": {
        "Budget": 150_000,
        "MinActiveSources": 11,
    },
}
"""Impossible policies no single change makes feasible."""

PINS = {
    "a pin above the max share": ("Premium comparison sites", 150_000.0),
    "a pin the weekly decrease of the others cannot make room for": ("Organic search", 200_000.0),
}


def applied(settings: Settings, inventory: Inventory, fixes: tuple[Fix, ...]):
    """The settings and inventory with ``fixes`` applied by name and value, as a user of
    ``--json`` would: a setting by its defined name, a Sources cell by column and source."""
    sources = inventory.sources.copy()
    changes = {}
    for fix in fixes:
        payload = fix.json()
        if "source" in payload:
            assert payload["table"] == "Sources"
            key = SOURCE_COLUMNS[payload["name"]]
            sources.loc[payload["source"], key] = payload["value"]
        else:
            spec_for(payload["name"])  # a setting the workbook has
            changes[payload["name"]] = payload["value"]
    return settings.replace(changes), dataclasses.replace(inventory, sources=sources)


def solve(settings: Settings, inventory: Inventory) -> None:
    """Rebalance as the workbook does: the demo takes its sales capacity from the hiring plan."""
    allocate(inventory, settings, sales_capacity=sales_capacity_for(inventory, settings))


def refused(settings: Settings, inventory: Inventory) -> InfeasiblePolicyError:
    with pytest.raises(InfeasiblePolicyError) as err:
        solve(settings, inventory)
    return err.value


def assert_fixes_work(settings: Settings, inventory: Inventory) -> InfeasiblePolicyError:
    err = refused(settings, inventory)
    assert err.fixes, f"no fix offered:\n{err}"
    groups = [err.fixes] if err.together else [(f,) for f in err.fixes]
    for group in groups:
        fixed_settings, fixed_inventory = applied(settings, inventory, group)
        try:
            solve(fixed_settings, fixed_inventory)
        except InfeasiblePolicyError as still:  # pragma: no cover - the failure's message
            pytest.fail(f"applying {[f.json() for f in group]} left it infeasible:\n{still}")
    return err


def pinned(name: str, amount: float) -> Inventory:
    inventory = demo_inventory()
    sources = inventory.sources.copy()
    sources.loc[name, "pin"] = amount
    return dataclasses.replace(inventory, sources=sources)


class TestFixesWorkWhenApplied:
    @pytest.mark.parametrize("changes", IMPOSSIBLE.values(), ids=IMPOSSIBLE.keys())
    def test_settings(self, changes):
        assert_fixes_work(demo_settings().replace(changes), demo_inventory())

    @pytest.mark.parametrize("pin", PINS.values(), ids=PINS.keys())
    def test_pins(self, pin):
        assert_fixes_work(demo_settings(), pinned(*pin))

    def test_each_value_is_on_its_grid_and_moves_the_setting(self):
        settings = demo_settings()
        for changes in IMPOSSIBLE.values():
            err = refused(settings.replace(changes), demo_inventory())
            for fix in err.fixes:
                if fix.source is not None or isinstance(fix.value, str):
                    continue
                spec = spec_for(fix.name)
                now = settings.replace(changes).get(spec.key)
                assert fix.value != now, fix.text
                if spec.is_percent:  # one decimal of a percentage
                    assert fix.value * 1_000 == pytest.approx(round(fix.value * 1_000), abs=1e-6)
                else:  # cents
                    assert fix.value * 100 == pytest.approx(round(fix.value * 100), abs=1e-6)


def random_policies(seed: int, count: int) -> list[tuple[dict, dict]]:
    """Seeded random changes to the demo: settings, and pins and caps on its sources."""
    rng = random.Random(seed)
    choices = {
        "Budget": [150_000, 200_000, 300_000, 360_000],
        "BudgetMode": ["exact", "at most"],
        "MaxSourceShare": [0.15, 0.25],
        "ExperimentalFloor": [0.2, 0.4],
        "WeeklyDecrease": [0.05, 0.1],
        "WeeklyGuardrail": [0.05, 0.15],
        "MinActiveSpend": [8_000, 20_000],
        "MinActiveSources": [7, 9, 11],
        "SalesReps": [30, 60],
        "SupportCapacity": [150, 300],
        "BandPremiumMin": [0.5, 0.55],
    }
    names = list(demo_inventory().sources.index[:10])
    out = []
    for _ in range(count):
        keys = rng.sample(sorted(choices), rng.choice([0, 1, 2]))
        settings = {k: rng.choice(choices[k]) for k in keys}
        cells = {
            (rng.choice(names), rng.choice(["pin", "cap"])): rng.choice(
                [2_000.0, 40_000.0, 200_000.0]
            )
            for _ in range(rng.choice([0, 1, 2]))
        }
        out.append((settings, cells))
    return out


class TestRandomPolicies:
    @pytest.mark.parametrize("settings, cells", random_policies(19, 16))
    def test_every_fix_of_an_impossible_one_works(self, settings, cells):
        inventory = demo_inventory()
        sources = inventory.sources.copy()
        for (name, column), amount in cells.items():
            sources.loc[name, column] = amount
        inventory = dataclasses.replace(inventory, sources=sources)
        try:
            solve(demo_settings().replace(settings), inventory)
        except InfeasiblePolicyError:
            assert_fixes_work(demo_settings().replace(settings), inventory)


class TestCombinations:
    @pytest.mark.parametrize("changes", TOGETHER.values(), ids=TOGETHER.keys())
    def test_together_they_suffice_and_none_can_be_left_out(self, changes):
        settings = demo_settings().replace(changes)
        err = assert_fixes_work(settings, demo_inventory())
        assert err.together and "apply all the changes below together" in str(err)
        assert len(err.fixes) > 1
        for left_out in err.fixes:
            rest = tuple(f for f in err.fixes if f is not left_out)
            with pytest.raises(InfeasiblePolicyError):
                solve(*applied(settings, demo_inventory(), rest))

    def test_a_conflicts_fixes_that_go_together_are_joined_by_and(self):
        # a hand-built policy: sales capacity halved, which the 20 % guardrail and the 15 %
        # decrease limit both hold back
        model = random_model(60, seed=3)
        lim = dataclasses.replace(model.limits, sales_leads=model.limits.sales_leads * 0.5)
        with pytest.raises(InfeasiblePolicyError) as err:
            optimise(dataclasses.replace(model, limits=lim), Objective.CUSTOMERS)
        assert err.value.together, str(err.value)
        assert "(WeeklyDecrease), and raise the weekly guardrail to" in str(err.value)


class TestTheIssuesCases:
    """The cases issue 19 reported, with the figures an independent check found."""

    def test_exact_budget_is_cut_to_the_cent_the_other_rules_allow(self):
        err = refused(
            demo_settings().replace({"Budget": 350_000, "BudgetMode": "exact"}), demo_inventory()
        )
        # $316,032.52 with Referral programme (at $4,320, below the $5,000 minimum) on;
        # since issue 19 it may stop instead, and the rules allow $325,594.34 — CBC on the
        # reference model (tests/allocation_reference.py) finds that budget feasible, with
        # Referral programme stopped, and $325,594.84 infeasible
        budget = [f for f in err.fixes if f.name == "Budget"]
        assert budget and budget[0].value == pytest.approx(325_594.34, abs=0.01)
        assert "cut the budget to $325,594.34 (Budget)" in str(err)
        assert not err.together and "Any one of the changes below" in str(err)

    def test_sales_capacity_is_raised_to_whole_reps_that_suffice(self):
        settings = demo_settings().replace({"SalesReps": 20})
        err = refused(settings, demo_inventory())
        reps = [f for f in err.fixes if f.name == "SalesReps"]
        assert reps, str(err)
        fewer = settings.replace({"SalesReps": reps[0].value - 1})
        with pytest.raises(InfeasiblePolicyError):  # one rep fewer is not enough
            solve(fewer, demo_inventory())
        planned = sales_capacity_for(
            demo_inventory(), settings.replace({"SalesReps": reps[0].value})
        )
        assert f"{planned.leads:,.0f} leads a month" in reps[0].text

    def test_a_pin_above_the_max_share_moves_only_the_pin(self):
        err = refused(demo_settings(), pinned("Premium comparison sites", 150_000.0))
        pins = [f for f in err.fixes if f.name == "Pin spend"]
        assert pins and pins[0].source == "Premium comparison sites"
        assert pins[0].value < 150_000.0

    def test_a_test_minimum_no_test_source_can_take_is_lowered(self):
        err = refused(
            demo_settings().replace({"TestPhase1Min": 15_000, "TestPhase1Max": 20_000}),
            demo_inventory(),
        )
        assert any(f.name == "TestPhase1Min" and f.value < 15_000 for f in err.fixes), str(err)

    def test_a_name_ending_in_s_takes_an_apostrophe_alone(self):
        # "Social lead ads's phase-1 test budget" read wrong: "Social lead ads' …"
        err = refused(
            demo_settings().replace({"TestPhase1Min": 60_000, "TestPhase1Max": 80_000}),
            demo_inventory(),
        )
        said = str(err) + " ".join(c.message for c in err.conflicts)
        assert "Social lead ads' phase-1 test budget is $60,000–$80,000" in said, said
        assert "s's " not in said

    def test_no_fix_names_a_per_source_weekly_limit(self):
        for changes in IMPOSSIBLE.values():
            err = refused(demo_settings().replace(changes), demo_inventory())
            assert "allow −" not in str(err) and "allow +" not in str(err)
            for fix in err.fixes:
                assert fix.source is not None or spec_for(fix.name).name == fix.name


class TestJson:
    runner = CliRunner()

    def test_rebalance_json_carries_fixes_that_work_in_the_workbook(self, demo_book_path):
        """The demo takes its sales capacity from the hiring plan: the SalesReps fix, typed
        into the workbook, must still be enough."""
        set_setting(demo_book_path, "SalesReps", 20)
        res = self.runner.invoke(app, ["rebalance", str(demo_book_path), "--json"])
        assert res.exit_code == 2
        payload = json.loads(res.stdout)
        assert payload["fixes"] and payload["together"] is False
        assert all(c["fix"] is None or c["fix"] in payload["fixes"] for c in payload["conflicts"])
        impossible = demo_book_path.read_bytes()
        for fix in payload["fixes"]:
            demo_book_path.write_bytes(impossible)
            if "source" in fix:
                set_source_cell(demo_book_path, fix["source"], fix["name"], fix["value"])
            else:
                set_setting(demo_book_path, fix["name"], fix["value"])
            res = self.runner.invoke(app, ["rebalance", str(demo_book_path), "--json"])
            assert res.exit_code == 0, f"{fix} left it infeasible: {res.stdout}"


def set_source_cell(path, source: str, header: str, value: object) -> None:
    """Type ``value`` into the Sources table's ``header`` column on ``source``'s row."""
    wb = openpyxl.load_workbook(path)
    ws = wb[C.SOURCES_TABLE.sheet]
    first, _ = ws.tables[C.SOURCES_TABLE.name].ref.split(":")
    top = ws[first]
    headers = [c.value for c in ws[top.row]]
    col = headers.index(header) + 1
    for row in ws.iter_rows(min_row=top.row + 1):
        if row[top.column - 1].value == source:
            ws.cell(row[0].row, col).value = value
    wb.save(path)


class TestOutOfTime:
    """The search for fixes is bounded (issue 19: at 1,000 sources the 'minimum' policy's
    search ran over 5 minutes): it says which changes it checked and which it did not."""

    def test_a_search_with_no_time_left_says_nothing_was_tried(self, monkeypatch):
        import leadbook.allocation.explain as explain

        monkeypatch.setattr(explain, "search_seconds", lambda started: 0.0)
        model = infeasible_model(30, "minimum")
        with pytest.raises(InfeasiblePolicyError) as caught:
            optimise(model, Objective.CUSTOMERS)
        err = caught.value
        assert err.fixes == ()
        assert "The search for fixes ran out of time" in err.summary
        untried = err.summary.split("but ")[1].split(" were not tried")[0]
        assert sorted(untried.replace(" and", ",").split(", ")) == [
            "Budget",
            "BudgetMode",
            "MaxSourceShare",
        ]
        assert "In that time it found no change to the settings" in err.summary

    def test_fixes_found_with_little_time_per_resolve_still_work(self, monkeypatch):
        # a re-solve that runs out shows nothing: a bisection takes it as too little, so
        # what it offers is looser, never insufficient
        import leadbook.allocation.fixes as fixes

        monkeypatch.setattr(fixes, "RESOLVE_SECONDS", 0.02)
        model = infeasible_model(30, "minimum")
        with pytest.raises(InfeasiblePolicyError) as caught:
            optimise(model, Objective.CUSTOMERS)
        err = caught.value
        monkeypatch.undo()
        for fix in err.fixes:
            knob = fixes.Knob(fix.name, 0, -1)
            assert fixes.feasible(fixes.apply(model, knob, fix.value)), fix

    def test_a_budget_of_nothing_is_not_offered(self):
        """Spending nothing meets the 'minimum' policy (every source may stop), and "cut the
        budget to $0" was offered as a fix: no plan, so no fix."""
        import leadbook.allocation.fixes as fixes

        model = infeasible_model(30, "minimum")
        budget = fixes.Knob("Budget", -1)
        assert fixes.feasible(fixes.apply(model, budget, 0.0))
        assert fixes.search(model, budget) is None
        with pytest.raises(InfeasiblePolicyError) as caught:
            optimise(model, Objective.CUSTOMERS)
        assert caught.value.fixes and all(
            not (f.name == "Budget" and float(f.value) <= 0) for f in caught.value.fixes
        )

    def test_a_search_cut_short_is_named(self, monkeypatch):
        import leadbook.allocation.fixes as fixes

        calls = []

        def slow(model, knob, deadline=math.inf):
            calls.append(knob.name)
            fixes.RAN_OUT.get()[0] += knob.name == "MaxSourceShare"
            return None

        monkeypatch.setattr(fixes, "search", slow)
        model = infeasible_model(30, "minimum")
        knobs = [fixes.Knob("MaxSourceShare", 1), fixes.Knob("BudgetMode", 0)]
        found = fixes.verified_fixes(model, [knobs], seconds=60.0)
        assert calls[:2] == ["MaxSourceShare", "BudgetMode"]
        assert found.cut_short == (knobs[0],)
        assert "MaxSourceShare's search was cut short" in stopped_note(model, found)


class TestAnAppliedBudgetFixHolds:
    def test_an_exact_budget_fix_holds_every_week_of_a_glide_path(self):
        # infeasible_model(100, 'budget', seed=1) is fixed by cutting the exact budget; over
        # 13 weeks a later week reused the week before's minimum spends, of sources that had
        # left (or joined) the glide-in, and indexed another source's floor (IndexError)
        from leadbook.allocation.engine import glide_path
        from leadbook.allocation.fixes import Knob, apply

        model = infeasible_model(100, "budget", seed=1)
        with pytest.raises(InfeasiblePolicyError) as caught:
            optimise(model, Objective.CUSTOMERS)
        budget = [f for f in caught.value.fixes if f.name == "Budget"]
        assert budget, str(caught.value)
        fixed = apply(model, Knob("Budget", -1), budget[0].value)
        path, _ = glide_path(fixed, Objective.CUSTOMERS, 13)
        assert len(path) == 13
        for out in path:
            total = float(out.v[int(out.compiled.layout.total(0))]) * 1_000
            assert total == pytest.approx(budget[0].value, abs=0.01)

    @pytest.mark.slow
    def test_at_1000_sources_the_printed_exact_budget_solves_and_is_tight(self):
        from leadbook.allocation.fixes import Knob, apply

        model = infeasible_model(1_000, "budget")
        with pytest.raises(InfeasiblePolicyError) as caught:
            optimise(model, Objective.CUSTOMERS)
        budget = [f for f in caught.value.fixes if f.name == "Budget"]
        assert budget, str(caught.value)
        value = budget[0].value
        assert f"cut the budget to ${value:,.2f} (Budget)" in str(caught.value)
        assert round(value, 2) == value  # whole cents, as the workbook takes them
        out = optimise(apply(model, Knob("Budget", -1), value), Objective.CUSTOMERS, explain=False)
        assert float(out.v[int(out.compiled.layout.total(0))]) * 1_000 == pytest.approx(
            value, abs=0.01
        )
        # rounded the safe way, yet not loose: half a percent more cannot be spent
        with pytest.raises(InfeasiblePolicyError):
            more = apply(model, Knob("Budget", -1), value * 1.005)
            optimise(more, Objective.CUSTOMERS, explain_infeasible=False)


class TestExplainedAtScale:
    """At 1,000 sources the elastic programme can be too large for branch and bound: HiGHS
    found no relaxation in its 10 s for this policy, and the user got "infeasible" with
    nothing to act on. Settled on the LP's pattern, it is explained, with verified fixes."""

    @pytest.mark.slow
    def test_an_exact_budget_too_high_at_1000_sources_is_explained_with_fixes_that_work(self):
        from leadbook.allocation.fixes import Knob, apply, feasible

        model = infeasible_model(1_000, "budget", seed=2)
        with pytest.raises(InfeasiblePolicyError) as caught:
            optimise(model, Objective.CUSTOMERS)
        err = caught.value
        assert "price tiers filled in order on the elastic re-solve's pattern" in err.summary
        assert {c.rule for c in err.conflicts} >= {"budget"}, str(err)
        assert err.fixes and not err.together, str(err)
        for fix in err.fixes:
            assert feasible(apply(model, Knob(fix.name, 0, -1), fix.value)), fix


class TestBisectionWithAGuess:
    """In a search for a combination, a grid knob's bisection first tries the value another
    knob needed (the weekly decrease and the guardrail bind together): the same answer, in
    two re-solves instead of ten where the guess is right."""

    @pytest.mark.parametrize("guess", [None, 0.437, 0.436, 0.438, 0.2, 0.9, 1.0, 0.05])
    def test_the_answer_does_not_depend_on_the_guess(self, guess):
        from leadbook.allocation.examples import tiny_model
        from leadbook.allocation.fixes import Knob, _grid_search

        model = tiny_model()
        model = dataclasses.replace(model, limits=dataclasses.replace(model.limits, max_share=0.1))
        calls = []

        def works(m):
            calls.append(m.limits.max_share)
            return m.limits.max_share >= 0.437 - 1e-12

        knob = Knob("MaxSourceShare", 1)
        assert _grid_search(model, knob, works=works, guess=guess) == 0.437
        if guess == 0.437:
            assert len(calls) == 3  # the far end, the guess and its neighbour
