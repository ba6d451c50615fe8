"""Cell functions through xlwings Server's custom-function endpoint, with the arguments
desktop Excel's Office.js sends (2-D matrices, empty cells as 0, dates as serials), and as
plain Python (the classic add-in's shapes: scalars, None for an empty cell)."""

from __future__ import annotations

import os
import re

import openpyxl
import pytest

from leadbook import contract as C
from leadbook.allocation import allocate
from leadbook.allocation.model import SalesCapacity
from leadbook.demo import demo_inventory, demo_settings
from leadbook.errors import InfeasiblePolicyError
from leadbook.portfolio.inventory import SEED_MONTHLY_LEADS, SEED_SOURCES
from leadbook.portfolio.scoring import score_sources
from leadbook.settings import spec_for
from leadbook.workbook.jobs.feeds import planned_sales_capacity
from tests.udfs.officejs import demo_as_calculated, function_call, table_argument, table_cells
from udfs import convert as X
from udfs import functions as F

CALL = "/xlwings/custom-functions-call"

# The chapter's table, by hand: leads = share × 2,400; blended CPL = Σ share × CPL, etc.
SEED_LEADS = {name: share * SEED_MONTHLY_LEADS for name, _, _, _, share, _, _ in SEED_SOURCES}
SEED_CPL = 0.34 * 156 + 0.28 * 134 + 0.16 * 98 + 0.12 * 67 + 0.06 * 89 + 0.04 * 45
SEED_CONVERSION = (
    0.34 * 0.168 + 0.28 * 0.141 + 0.16 * 0.112 + 0.12 * 0.189 + 0.06 * 0.153 + 0.04 * 0.221
)
SEED_SPEND = 816 * 156 + 672 * 134 + 384 * 98 + 288 * 67 + 144 * 89 + 96 * 45


@pytest.fixture(scope="module")
def demo_tables():
    """The demo workbook's tables as Excel passes ``Table[#All]``: Excel's values of the
    formula columns, empty cells as 0, months as serial numbers."""
    wb = demo_as_calculated()
    names = ("Sources", "History", "Settings", "PriceTiers")
    tables = {name: table_argument(wb, name) for name in names}
    tables["classic Sources"] = table_cells(wb, "Sources")[1]  # empty cells as None
    return tables


def call(client, func: str, *args):
    return client.post(CALL, json=function_call(func, *args))


def result(client, func: str, *args):
    response = call(client, func, *args)
    assert response.status_code == 200, response.text
    return response.json()["result"]


class TestFigures:
    def test_blended_cpl_conversion_and_cpa_of_the_chapter(self, client, demo_tables):
        sources = demo_tables["Sources"]
        assert result(client, "LB_BLENDED_CPL", sources) == [[pytest.approx(SEED_CPL)]]
        assert result(client, "LB_BLENDED_CONVERSION", sources) == [
            [pytest.approx(SEED_CONVERSION)]
        ]
        cpa = SEED_CPL / SEED_CONVERSION
        assert result(client, "LB_BLENDED_CPA", sources) == [[pytest.approx(cpa)]]

    def test_portfolio_spills_labelled_figures(self, client, demo_tables):
        rows = result(client, "LB_PORTFOLIO", demo_tables["Sources"])
        assert rows == [
            ["Monthly leads", 2400],
            ["Current monthly spend", pytest.approx(SEED_SPEND)],
            ["Blended CPL", pytest.approx(121.42)],
            ["Blended conversion", pytest.approx(0.15522)],
            ["Blended CPA", pytest.approx(121.42 / 0.15522)],
            ["First-party share of leads", pytest.approx(0.12 + 0.06 + 0.04)],
        ]

    def test_needs_only_the_columns_it_uses(self, client):
        table = [
            ["Source", "Party", "Monthly leads", "CPL", "Conversion", "Current spend"],
            ["A", "third-party", 100, "$50", "10%", 5000],
            ["B", "first-party", 300, 30, 0.2, 9000],
        ]
        assert result(client, "LB_BLENDED_CPL", table) == [[pytest.approx(35.0)]]


class TestClasses:
    @pytest.mark.parametrize(
        ("args", "tier"),
        [
            ([[[30]], [["active"]], [[4.6]]], "Tier 1"),  # 12+ months, healthy vendor
            ([[[30]], [["Active "]], [[4.6]], [["32%"]]], "Tier 2"),  # conversion too unsteady
            ([[[8]], [["active"]], [[4.5]]], "Tier 2"),  # 6–11 months
            ([[[30]], [["active"]], [[3.0]]], "Tier 2"),  # vendor health under 3.5
            ([[[2]], [["testing"]], [[3.6]]], "Tier 3"),  # in a test phase
            ([[[5]], [["active"]], [[4.9]]], "Tier 3"),  # under 6 months
        ],
    )
    def test_tier_follows_the_chapters_criteria(self, client, args, tier):
        assert result(client, "LB_TIER", *args) == [[tier]]

    def test_tier_reason_spills_beside_the_tier(self, client):
        row = result(client, "LB_TIER", [[8]], [["active"]], [[4.5]], None, None, [[True]])
        assert row == [["Tier 2", "Tier 2: 8 months of history (needs 12 for Tier 1)"]]

    @pytest.mark.parametrize(
        ("buyers", "age", "kind"),
        [(1, 2, "Premium"), (2, 24, "Premium"), (3, 12, "Standard"), (5, 72, "Standard"),
         (6, 720, "Value"), (2, 25, "Standard")],
    )  # fmt: skip
    def test_leadtype_by_buyers_and_age(self, client, buyers, age, kind):
        assert result(client, "LB_LEADTYPE", [[buyers]], [[age]]) == [[kind]]

    @pytest.mark.parametrize(
        ("args", "risk"),
        [
            ([[[30]], [["active"]], [["compliant"]], [[4.6]], [[0.08]]], "Low"),
            ([[[9]], [["active"]], [["compliant"]], [[4.6]], [[0.08]]], "Medium"),
            ([[[30]], [["active"]], [["under review"]], [[4.6]], [[0.08]]], "Medium"),
            ([[[30]], [["active"]], [["non-compliant"]], [[4.6]], [[0.08]]], "High"),
            ([[[2]], [["testing"]], [["compliant"]], [[4.6]]], "High"),
            ([[[30]], [["active"]], [["compliant"]], [[4.6]], [[0.45]]], "High"),
        ],
    )
    def test_riskclass(self, client, args, risk):
        assert result(client, "LB_RISKCLASS", *args) == [[risk]]

    def test_an_empty_volume_cell_is_unknown_not_zero(self, client):
        """Desktop Excel sends the empty cell as 0; unknown volatility is not Low risk."""
        args = [[30]], [["active"]], [["compliant"]], [[4.6]], [[0]], None, [[True]]
        assert result(client, "LB_RISKCLASS", *args) == [
            ["Medium", "Medium: volume variation unknown (under 3 months in History)"]
        ]

    def test_classes_spill_one_row_per_source(self, client, demo_tables):
        rows = result(client, "LB_CLASSES", demo_tables["Sources"], demo_tables["History"])
        assert rows[0] == [
            "Source", "Tier", "Why this tier", "Lead type", "Why this lead type", "Risk",
            "Why this risk class",
        ]  # fmt: skip
        by_source = {row[0]: row for row in rows[1:]}
        assert len(by_source) == 11
        aggregators = by_source["Insurance aggregators"]  # 9 months, 3 buyers, 12 h old
        assert (aggregators[1], aggregators[3], aggregators[5]) == ("Tier 2", "Standard", "Medium")


class TestScores:
    def test_spill_matches_the_core_on_the_same_tables(self, client, demo_tables):
        rows = result(
            client, "LB_SCORES", demo_tables["Sources"], demo_tables["History"],
            demo_tables["Settings"],
        )  # fmt: skip
        assert rows[0] == [
            "Source", "Performance", "Reliability", "Strategic", "Risk", "Composite", "Rank",
        ]  # fmt: skip
        want = score_sources(demo_inventory(), demo_settings())
        assert len(rows) == 1 + len(want)
        for source, *values in rows[1:]:
            expected = want.loc[source, ["performance", "reliability", "strategic", "risk"]]
            assert values[:4] == pytest.approx(expected.tolist())
            assert values[5] == want.loc[source, "rank"]

    def test_composite_is_the_seed_weighting_and_ranks_are_a_permutation(self, client, demo_tables):
        rows = result(client, "LB_SCORES", demo_tables["Sources"], demo_tables["History"])
        for _, perf, rel, strat, risk, composite, _ in rows[1:]:
            assert composite == pytest.approx(0.40 * perf + 0.25 * rel + 0.20 * strat + 0.15 * risk)
        assert sorted(row[6] for row in rows[1:]) == list(range(1, 12))

    def test_settings_weights_apply(self, client, demo_tables):
        weights = [
            ["Key", "Value"],
            ["score_weights.performance", 1],
            ["score_weights.reliability", 0],
            ["score_weights.strategic", 0],
            ["score_weights.risk", 0],
        ]
        rows = result(client, "LB_SCORES", demo_tables["Sources"], None, weights)
        assert all(row[5] == pytest.approx(row[1]) for row in rows[1:])

    def test_history_given_as_serial_dates_feeds_reliability(self, client, demo_tables):
        with_history = result(client, "LB_SCORES", demo_tables["Sources"], demo_tables["History"])
        without = result(client, "LB_SCORES", demo_tables["Sources"])
        assert [r[2] for r in with_history[1:]] != [r[2] for r in without[1:]]
        months = demo_tables["History"][1][0]
        assert isinstance(months, float) and 46_000 < months < 47_000  # a serial date

    def test_typed_cells_from_office_js(self, client, demo_tables):
        """Dates may come as FormattedNumber objects rather than bare serials."""
        history = [demo_tables["History"][0]] + [
            [
                {"type": "FormattedNumber", "basicValue": row[0], "numberFormat": "mmm yyyy"},
                *row[1:],
            ]
            for row in demo_tables["History"][1:]
        ]
        typed = result(client, "LB_SCORES", demo_tables["Sources"], history)
        assert typed == result(client, "LB_SCORES", demo_tables["Sources"], demo_tables["History"])

    def test_empty_cells_as_zero_are_blank_in_optional_columns(self, client, demo_tables):
        sources = demo_tables["Sources"]
        test_phase = sources[0].index("Test phase")
        assert sources[1][test_phase] == 0  # an active source: its empty test phase
        assert call(client, "LB_SCORES", sources).status_code == 200


class TestErrors:
    """Input errors reach the cell as their message (HTTP 400, which Excel does not retry)."""

    def test_a_bad_cell_is_named_by_row_and_column(self, client, demo_tables):
        sources = [row[:] for row in demo_tables["Sources"]]
        sources[2][sources[0].index("CPL")] = -3
        sources[3][sources[0].index("Status")] = "on hold"
        response = call(client, "LB_SCORES", sources)
        assert (response.status_code, response.text) == (
            400,
            "2 input problems:\n  Sources row 2, CPL: CPL must be > 0, got -3\n"
            "  Sources row 3, Status: Status must be one of: active, testing, paused; "
            "got 'on hold'",
        )

    def test_an_error_cell_is_named_with_its_error(self, client, demo_tables):
        sources = [row[:] for row in demo_tables["Sources"]]
        error = {"type": "Error", "errorType": "Div0", "basicValue": "#DIV/0!"}
        sources[1][sources[0].index("Conversion")] = error
        response = call(client, "LB_SCORES", sources)
        assert (response.status_code, response.text) == (
            400,
            "Sources row 1, Conversion: Conversion must be a number, got '#DIV/0!'",
        )

    def test_a_missing_column_is_named(self, client):
        table = [["Source", "Party", "Monthly leads", "Conversion", "Current spend"],
                 ["A", "third-party", 100, 0.1, 5000]]  # fmt: skip
        response = call(client, "LB_BLENDED_CPL", table)
        assert response.status_code == 400
        assert response.text.startswith("Sources headers: table Sources has no column 'CPL'")

    def test_a_table_without_headers_of_the_wrong_width(self, client):
        response = call(client, "LB_SCORES", [["A", 1, 2], ["B", 3, 4]])
        assert response.status_code == 400
        assert response.text.startswith(
            "cannot tell which column of the Sources range is which: pass the table with its "
            "header row (Sources[#All])"
        )

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ([[["abc"]], [["active"]], [[4]]], "months must be a whole number, got 'abc'"),
            ([[[12]], [["on hold"]], [[4]]],
             "status must be one of: active, testing, paused; got 'on hold'"),
            ([[[12]], [["active"]], [[6]]], "health must be ≤ 5, got 6"),
            ([[[12, 13]], [["active"]], [[4]]],
             "months must be one cell, got a range of 1 row(s) × 2 column(s)"),
            ([[[12]], [["active"]], [[0]]],
             "health must be ≥ 1, got 0 (an empty cell counts as 0)"),
        ],
    )  # fmt: skip
    def test_bad_arguments(self, client, args, message):
        response = call(client, "LB_TIER", *args)
        assert (response.status_code, response.text) == (400, message)

    def test_an_unknown_setting_suggests_the_nearest(self, client, demo_tables):
        settings = [["Key", "Value"], ["policy.max_share", 0.3]]
        response = call(client, "LB_TIER", [[12]], [["active"]], [[4]], None, settings)
        assert (response.status_code, response.text) == (
            400,
            "Settings row 1: unknown setting 'policy.max_share' — did you mean "
            "'policy.max_source_share'?",
        )

    def test_a_bug_is_one_line_without_a_traceback(self, client, demo_tables, monkeypatch):
        def broken(*args, **kwargs):
            return {}["performance"]

        monkeypatch.setattr(F, "score_sources", broken)
        response = call(client, "LB_SCORES", demo_tables["Sources"])
        assert (response.status_code, response.text) == (
            400,
            "leadbook hit an internal error in LB_SCORES (KeyError); the log has the details. "
            "Please report it.",
        )


class TestAsPlainPython:
    """The same functions called directly, with the classic add-in's shapes (a scalar per
    cell, None for an empty cell). Also run with xlwings' decorators inactive (plain mode)."""

    def test_decorators_are_active_only_on_the_server(self):
        on_server = os.environ.get("XLWINGS_ON_SERVER") == "true"
        assert hasattr(F.LB_TIER, "__xlfunc__") is on_server

    def test_planning_and_lead_figures_from_scalars_and_flat_ranges(self):
        assert F.LB_ROI(100, 440) == pytest.approx(3.4)
        assert F.LB_REPS_NEEDED(2400, 47, None) == 51
        assert F.LB_PAYBACK([-100, 30, 30, 40, 40]) == 4  # a row arrives as a flat list
        assert F.LB_NPV_COHORT([-100, 60, 60], 1e-12) == pytest.approx(20.0)
        predicted = [0.9] * 6 + [0.1] * 14 + [0.7] * 2 + [0.3] * 3
        actual = [1] * 6 + [0] * 14 + [0] * 2 + [1] * 3
        rows = F.LB_CLASSIFIER_METRICS(predicted, actual, None)
        assert [v for _, v in rows[:3]] == pytest.approx([0.8, 0.75, 2 / 3])
        assert F.LB_BREAKEVEN_P(-50_000, 250_000, 20_000, 120_000) == pytest.approx(0.35)

    def test_a_new_functions_input_error_is_xlwings_error_with_the_message(self):
        from xlwings import XlwingsError

        with pytest.raises(XlwingsError, match=r"^p must be a probability in 0–1, got 1.5$"):
            F.LB_EXPECTED_ROI(1.5, 3000, 150)

    def test_classes_from_scalars(self):
        assert F.LB_TIER(30, "active", 4.6) == "Tier 1"
        assert F.LB_LEADTYPE(6, 720) == "Value"
        assert F.LB_RISKCLASS(2, "testing", "compliant", 4.6, None) == "High"

    def test_figures_from_a_list_of_rows(self):
        table = [["Source", "Party", "Monthly leads", "CPL", "Conversion", "Current spend"],
                 ["A", "third-party", 100.0, 50.0, 0.1, 5000.0],
                 ["B", "first-party", 300.0, 30.0, 0.2, 9000.0]]  # fmt: skip
        assert F.LB_BLENDED_CPL(table) == pytest.approx(35.0)
        assert F.LB_BLENDED_CONVERSION(table) == pytest.approx(0.175)

    def test_scores_of_the_demo_as_the_core(self, demo_tables):
        rows = F.LB_SCORES(demo_tables["Sources"], demo_tables["History"])
        want = score_sources(demo_inventory())
        assert {r[0]: r[6] for r in rows[1:]} == want["rank"].to_dict()

    def test_an_input_error_is_xlwings_error_with_the_message(self):
        from xlwings import XlwingsError

        with pytest.raises(XlwingsError, match=r"^health must be ≥ 1, got 0 \(an empty cell"):
            F.LB_TIER(12, "active", 0)

    def test_empty_cells_as_none_from_the_classic_add_in(self, demo_tables):
        sources = demo_tables["classic Sources"]
        assert sources[1][sources[0].index("Test phase")] is None
        assert F.LB_SCORES(sources)[1:] == F.LB_SCORES(demo_tables["Sources"])[1:]


def with_setting(settings: list[list], key: str, value: object) -> list[list]:
    """The Settings table argument with one setting's value changed."""
    at_key, at_value = settings[0].index("Key"), settings[0].index("Value")
    rows = [row[:] for row in settings]
    (row,) = [r for r in rows if r[at_key] == spec_for(key).name]
    row[at_value] = value
    return rows


class TestAllocate:
    """LB.ALLOCATE and LB.EXPLAIN: the demo's policy (budget $320,000, "at most", 40 % max
    share)."""

    def test_spends_at_most_the_budget_and_no_source_over_40_percent(self, client, demo_tables):
        rows = result(
            client, "LB_ALLOCATE", demo_tables["Sources"], [[320_000]], demo_tables["Settings"],
            demo_tables["History"],
        )  # fmt: skip
        assert rows[0] == [
            "Source", "Current spend", "Recommended", "Change", "Expected customers",
        ]  # fmt: skip
        spend = [row[2] for row in rows[1:]]
        assert len(spend) == 11 and sum(spend) <= 320_000 + 1e-6
        assert max(spend) <= 0.40 * sum(spend) + 1e-6
        for _, current, recommended, change, _ in rows[1:]:
            assert change == pytest.approx(recommended - current)

    def test_equals_the_core_on_the_same_inventory(self, client, demo_tables):
        rows = result(
            client, "LB_ALLOCATE", demo_tables["Sources"], [[320_000]], demo_tables["Settings"],
            demo_tables["History"], demo_tables["PriceTiers"],
        )  # fmt: skip
        want = demo_allocate(320_000).table
        assert [r[0] for r in rows[1:]] == want.index.tolist()
        for source, current, recommended, change, customers in rows[1:]:
            expected = want.loc[source, ["current", "recommended", "change", "customers"]]
            assert [current, recommended, change, customers] == pytest.approx(expected.tolist())

    def test_spills_the_explained_allocations_figures_exactly(self, client, demo_tables):
        args = (
            demo_tables["Sources"], [[310_000]], demo_tables["Settings"], demo_tables["History"],
            demo_tables["PriceTiers"],
        )  # fmt: skip
        rows = result(client, "LB_ALLOCATE", *args)
        F.ALLOCATIONS.clear()  # solved afresh here, and explained
        table = F._allocation(*args).allocation().table
        assert rows == X.spill(
            table.assign(source=table.index), C.ALLOCATION_TABLE, F.ALLOCATE_KEYS
        )

    def test_exact_mode_spends_the_whole_budget(self, client, demo_tables):
        # with the hiring plan's 68.6 reps the team cannot work $320,000 of leads inside the
        # bands (see below); Settings' 70 reps can
        settings = with_setting(demo_tables["Settings"], "policy.budget_mode", "exact")
        settings = with_setting(settings, "capacity.sales_capacity_source", "settings")
        rows = result(
            client, "LB_ALLOCATE", demo_tables["Sources"], [[320_000]], settings,
            demo_tables["History"],
        )  # fmt: skip
        spend = [row[2] for row in rows[1:]]
        assert sum(spend) == pytest.approx(320_000, abs=0.01)
        assert max(spend) <= 0.40 * 320_000 + 1e-6

    def test_an_infeasible_budget_names_the_rules_that_must_give(self, client, demo_tables):
        args = (
            demo_tables["Sources"], [[250_000]], demo_tables["Settings"], demo_tables["History"],
            demo_tables["PriceTiers"],
        )  # fmt: skip
        with pytest.raises(InfeasiblePolicyError, match="The policy cannot be met") as core:
            demo_allocate(250_000)
        response = call(client, "LB_ALLOCATE", *args)
        assert (response.status_code, response.text) == (400, str(core.value))
        assert "Premium comparison sites may fall at most 15 % a week" in response.text
        lines = result(client, "LB_EXPLAIN", *args)
        assert lines == [[core.value.summary], *([str(c)] for c in core.value.conflicts)]

    def test_explain_spills_sentences_that_name_the_binding_rules(self, client, demo_tables):
        lines = result(
            client, "LB_EXPLAIN", demo_tables["Sources"], [[320_000]], demo_tables["Settings"],
            demo_tables["History"], demo_tables["PriceTiers"],
        )  # fmt: skip
        assert all(len(row) == 1 and isinstance(row[0], str) for row in lines)
        want = demo_allocate(320_000)
        assert lines[0][0].startswith("Optimal (expected customers): ")
        assert {f"{b}." for b in want.binding} <= {row[0] for row in lines}

    def test_exact_mode_beyond_the_planned_team_names_the_rule(self, client, demo_tables):
        settings = with_setting(demo_tables["Settings"], "policy.budget_mode", "exact")
        response = call(
            client, "LB_ALLOCATE", demo_tables["Sources"], [[340_000]], settings,
            demo_tables["History"], demo_tables["PriceTiers"],
        )  # fmt: skip
        assert response.status_code == 400
        assert "The policy cannot be met" in response.text
        reps = re.search(r"raise sales reps to (\d+) \(SalesReps", response.text)
        assert reps is not None, response.text
        # the fix as printed works: with that many reps the same call answers
        fixed = with_setting(settings, "capacity.sales_reps", int(reps[1]))
        response = call(
            client, "LB_ALLOCATE", demo_tables["Sources"], [[340_000]], fixed,
            demo_tables["History"], demo_tables["PriceTiers"],
        )  # fmt: skip
        assert response.status_code == 200, response.text

    def test_sales_capacity_as_settings_ask(self, client, demo_tables):
        # the demo takes it from the hiring plan: 70 reps less 2 % attrition in the first
        # month (no hire starts sooner), × 47 leads × 85 %; with "settings", 70 × 47 × 85 %
        planned = demo_allocate(320_000)
        assert planned.sales_capacity.leads == pytest.approx(70 * 0.98 * 47 * 0.85)
        assert planned.table["leads"].sum() <= 70 * 0.98 * 47 * 0.85 + 1e-6
        from_settings = allocate(
            demo_inventory(), demo_settings(), budget=320_000,
            sales_capacity=SalesCapacity.from_settings(demo_settings()),
        )  # fmt: skip
        for source, want in (("hiring plan", planned), ("settings", from_settings)):
            settings = with_setting(
                demo_tables["Settings"], "capacity.sales_capacity_source", source
            )
            rows = result(
                client, "LB_ALLOCATE", demo_tables["Sources"], [[320_000]], settings,
                demo_tables["History"], demo_tables["PriceTiers"],
            )  # fmt: skip
            assert [r[2] for r in rows[1:]] == pytest.approx(want.table["recommended"].tolist())

    def test_a_negative_budget(self, client, demo_tables):
        response = call(client, "LB_ALLOCATE", demo_tables["Sources"], [[-5]])
        assert (response.status_code, response.text) == (400, "budget must be ≥ 0, got -5")


class TestKeptAnswers:
    """LB.ALLOCATE and LB.EXPLAIN solve once for the same arguments, and a new budget or
    Settings re-solves on the inventory already read (udfs.memo); counted, not timed."""

    KEPT = (
        F.INVENTORIES,
        F.CLASSIFICATIONS,
        F.ALLOCATIONS,
        F.SETTINGS_READ,
        F.CAPACITIES,
        F.MODELS,
    )

    @pytest.fixture
    def counted(self, monkeypatch):
        import importlib

        core = importlib.import_module("leadbook.allocation.allocate")
        for kept in self.KEPT:
            kept.clear()
        calls = dict.fromkeys(("build_inventory", "classify", "allocate", "explain", "compile"), 0)

        def counting(name, f):
            def counted_call(*args, **kwargs):
                calls[name] += 1
                return f(*args, **kwargs)

            return counted_call

        monkeypatch.setattr(F, "build_inventory", counting("build_inventory", F.build_inventory))
        monkeypatch.setattr(F, "classify", counting("classify", F.classify))
        monkeypatch.setattr(core, "solve_allocation", counting("allocate", core.solve_allocation))
        monkeypatch.setattr(core, "allocation_from", counting("explain", core.allocation_from))
        monkeypatch.setattr(core, "compile_model", counting("compile", core.compile_model))
        yield calls
        for kept in self.KEPT:
            kept.clear()

    @staticmethod
    def args(demo_tables, budget=320_000, settings=None):
        return (
            demo_tables["Sources"], [[budget]], settings or demo_tables["Settings"],
            demo_tables["History"], demo_tables["PriceTiers"],
        )  # fmt: skip

    def test_the_same_arguments_are_solved_once(self, client, demo_tables, counted):
        first = result(client, "LB_ALLOCATE", *self.args(demo_tables))
        assert result(client, "LB_ALLOCATE", *self.args(demo_tables)) == first
        assert counted["explain"] == 0  # LB.ALLOCATE spills no explanation: none is made
        for _ in range(2):
            result(client, "LB_EXPLAIN", *self.args(demo_tables))
        assert counted == {
            "build_inventory": 1, "classify": 1, "allocate": 1, "explain": 1, "compile": 1,
        }  # fmt: skip

    def test_a_new_budget_solves_again_on_the_inventory_read(self, client, demo_tables, counted):
        rows = {
            b: result(client, "LB_ALLOCATE", *self.args(demo_tables, b)) for b in (320_000, 310_000)
        }
        # the model compiled for the first budget is retargeted to the second
        assert counted == {
            "build_inventory": 1, "classify": 1, "allocate": 2, "explain": 0, "compile": 1,
        }  # fmt: skip
        want = demo_allocate(310_000).table["recommended"].tolist()
        assert [r[2] for r in rows[310_000][1:]] == pytest.approx(want)

    def test_new_settings_classify_again(self, client, demo_tables, counted):
        settings = with_setting(
            demo_tables["Settings"], "capacity.sales_capacity_source", "settings"
        )
        for s in (None, settings):
            result(client, "LB_ALLOCATE", *self.args(demo_tables, settings=s))
        assert counted == {
            "build_inventory": 1, "classify": 2, "allocate": 2, "explain": 0, "compile": 2,
        }  # fmt: skip

    def test_a_failing_call_is_not_kept(self, client, demo_tables, counted):
        for _ in range(2):
            response = call(client, "LB_ALLOCATE", *self.args(demo_tables, 250_000))
            assert response.status_code == 400
            assert "The policy cannot be met" in response.text
        assert counted["allocate"] == 2

    def test_the_kept_inventory_is_left_as_read(self, client, demo_tables, counted):
        import pandas as pd

        sources, history, tiers = (demo_tables[n] for n in ("Sources", "History", "PriceTiers"))
        result(client, "LB_ALLOCATE", *self.args(demo_tables))
        result(client, "LB_EXPLAIN", *self.args(demo_tables))
        result(client, "LB_SCORES", sources, history, demo_tables["Settings"])
        result(client, "LB_CLASSES", sources, history, demo_tables["Settings"])
        result(client, "LB_KPI", [["roi"]], sources, history, demo_tables["Settings"])
        kept = F._inventory(sources, history, tiers)
        fresh = F._read_inventory(sources, history, tiers)
        for part in ("sources", "price_tiers", "history"):
            pd.testing.assert_frame_equal(getattr(kept, part), getattr(fresh, part))


def demo_allocate(budget: float):
    """The core's allocation of the demo under its Settings, which take sales capacity from
    the hiring plan."""
    capacity = planned_sales_capacity(demo_inventory(), demo_settings())
    return allocate(demo_inventory(), demo_settings(), budget=budget, sales_capacity=capacity)


class TestBudgetCurve:
    """LB.BUDGET_CURVE: the What-if tab's budget curve as a cell function."""

    def test_spills_the_curve_and_its_budget_row_is_lb_allocates(self, client, demo_tables):
        args = (
            demo_tables["Sources"], [[250_000], [320_000], [350_000]], demo_tables["Settings"],
            demo_tables["History"], demo_tables["PriceTiers"],
        )  # fmt: skip
        rows = result(client, "LB_BUDGET_CURVE", *args)
        assert rows[0] == [
            "Share of budget", "Budget", "Status", "Spend used", "Expected leads",
            "Expected customers", "Blended CPA", "Marginal CPA", "Rule that must give",
        ]  # fmt: skip
        low, at, high = rows[1:]
        assert [low[1], low[2]] == [250_000, "infeasible"]
        assert "Premium comparison sites may fall at most 15 % a week" in low[8]
        want = demo_allocate(320_000)
        assert at[:3] == [1.0, 320_000, "optimal"]
        assert at[3] == pytest.approx(want.totals.spend)
        assert at[5] == pytest.approx(want.totals.customers)
        assert high[5] >= at[5] - 1e-9  # "at most": more budget never loses customers

    def test_a_blank_budgets_argument_takes_the_curve_settings(self, client, demo_tables):
        rows = result(
            client, "LB_BUDGET_CURVE", demo_tables["Sources"], [[None]], demo_tables["Settings"],
            demo_tables["History"],
        )  # fmt: skip
        assert len(rows) == 1 + 21
        assert [rows[1][0], rows[-1][0]] == [pytest.approx(0.5), pytest.approx(1.5)]

    def test_a_negative_budget_is_refused(self, client, demo_tables):
        response = call(client, "LB_BUDGET_CURVE", demo_tables["Sources"], [[-5]])
        assert response.status_code == 400 and "budgets" in response.text


class TestPlanning:
    def test_roi_by_hand(self, client):
        assert result(client, "LB_ROI", [[100]], [[440]]) == [[pytest.approx(3.4)]]  # 340/100
        assert result(client, "LB_ROI", [["$1,000"]], [[3470]]) == [[pytest.approx(2.47)]]

    def test_roi_needs_spend(self, client):
        response = call(client, "LB_ROI", [[0]], [[500]])
        assert (response.status_code, response.text) == (
            400,
            "spend must be > 0 to give an ROI, got 0",
        )

    def test_npv_discounts_monthly(self, client):
        flows = [[-100], [60], [60]]
        assert result(client, "LB_NPV_COHORT", flows, [[1e-12]]) == [[pytest.approx(20.0)]]
        monthly = 1.10 ** (1 / 12) - 1  # the default DiscountRate, 10 % a year
        by_hand = -100 + 60 / (1 + monthly) + 60 / (1 + monthly) ** 2
        assert result(client, "LB_NPV_COHORT", flows) == [[pytest.approx(by_hand)]]

    def test_a_zero_rate_may_be_an_empty_cell_so_it_is_refused(self, client):
        # Desktop Excel sends an empty rate cell as 0; a silent 0 % would overstate the NPV.
        response = call(client, "LB_NPV_COHORT", [[-100], [60], [60]], [[0]])
        assert response.status_code == 400
        assert response.text.startswith("annual_rate is 0, or an empty cell")

    def test_npv_of_a_gap_in_the_flows(self, client):
        response = call(client, "LB_NPV_COHORT", [[-100, None, 60]])
        assert (response.status_code, response.text) == (
            400,
            "cash flows must be finite numbers (a blank or text in the range?)",
        )

    def test_payback_month_or_words(self, client):
        # cumulative: -100, -70, -40, 0 → paid back by the end of month 4
        assert result(client, "LB_PAYBACK", [[-100, 30, 30, 40, 40]]) == [[4]]
        assert result(client, "LB_PAYBACK", [[-100], [10], [10]]) == [["not within 3 months"]]

    def test_payback_of_text(self, client):
        response = call(client, "LB_PAYBACK", [[-100, "soon"]])
        assert (response.status_code, response.text) == (
            400,
            "cash_flows, value 2: cash_flows must be a number, got 'soon'",
        )

    def test_forecast_of_a_flat_series_is_flat_with_an_honest_interval(self, client):
        rows = result(client, "LB_FORECAST", [[5], [5], [5], [5], [5], [5]], [[2]])
        assert rows[0] == ["Month", "Forecast", "Lower", "Upper"]
        assert [row[:2] for row in rows[1:]] == [[1, 5], [2, 5]]
        # not zero-width: a 1 % step a month, widening with √h (z(90 %) · 0.05 · √h)
        for h, (_, point, lower, upper) in enumerate(rows[1:], start=1):
            assert upper - point == pytest.approx(point - lower)
            assert upper - point == pytest.approx(1.2816 * 0.05 * h**0.5, rel=1e-3)

    def test_forecast_of_a_steady_trend_continues_it(self, client):
        values = [[100 + 10 * m for m in range(24)]]  # 100, 110, … 330
        rows = result(client, "LB_FORECAST", values, [[3]], [[0.9]])
        points = [row[1] for row in rows[1:]]
        assert points == pytest.approx([340, 350, 360], rel=0.01)
        assert all(lo <= point <= hi for _, point, lo, hi in rows[1:])

    def test_a_forecast_that_can_go_negative_is_not_clipped_at_zero(self, client):
        # a margin falling 10 a month from 30 to -200: leads are clipped at 0, a margin is not
        falling = [[30 - 10 * m for m in range(24)]]
        rows = result(client, "LB_FORECAST", falling, [[3]])
        assert [row[1] for row in rows[1:]] == pytest.approx([-210, -220, -230], rel=0.01)
        assert all(row[2] <= row[1] < 0 for row in rows[1:])  # the lower bounds too

    def test_a_forecast_floor_as_given_or_none(self, client):
        falling = [[235 - 10 * m for m in range(24)]]  # 235 … 5, heading below zero
        unclipped = result(client, "LB_FORECAST", falling, [[3]], [[0.8]], [["none"]])
        # below 0, no faster than the straight line (-5, -15, -25): half the combined models
        # are fitted on logs, which bend towards 0
        points = [row[1] for row in unclipped[1:]]
        assert all(line - 2 <= p < 0 for p, line in zip(points, [-5, -15, -25], strict=True))
        clipped = result(client, "LB_FORECAST", falling, [[3]])  # no negative month: floor 0
        assert [row[1] for row in clipped[1:]] == [0, 0, 0]
        at_five = result(client, "LB_FORECAST", falling, [[3]], [[0.8]], [[5]])
        assert all(v >= 5 for row in at_five[1:] for v in row[1:])

    def test_a_blank_floor_from_desktop_excel_is_no_floor_for_a_margin(self, client):
        # desktop Office.js sends the blank floor cell as 0: a margin falling to -200 must
        # not be clipped at 0 by it; "zero" asks for that clip
        from tests.udfs.officejs import range_argument

        falling = [[30 - 10 * m for m in range(24)]]
        blank = range_argument([[None]])
        assert blank == [[0]]
        rows = result(client, "LB_FORECAST", falling, [[3]], range_argument([[None]]), blank)
        assert [row[1] for row in rows[1:]] == pytest.approx([-210, -220, -230], rel=0.01)
        at_zero = result(client, "LB_FORECAST", falling, [[3]], [[0.8]], [["zero"]])
        assert all(v >= 0 for row in at_zero[1:] for v in row[1:])
        assert [row[1] for row in at_zero[1:]] == [0, 0, 0]

    def test_a_blank_month_says_what_a_cell_can_do(self, client):
        """The core's advice was 'pass gaps="interpolate"', an argument the function lacks."""
        response = call(client, "LB_FORECAST", [[1], [2], [None], [4], [5], [6]], [[2]])
        assert response.status_code == 400
        assert "value 3: a month is blank" in response.text
        assert "interpolate" not in response.text

    def test_forecast_horizon_out_of_range(self, client):
        response = call(client, "LB_FORECAST", [[5, 5, 5, 5, 5, 5]], [[200]])
        assert (response.status_code, response.text) == (400, "horizon must be ≤ 120, got 200")

    @pytest.mark.parametrize(
        ("args", "reps"),
        [
            ([[[2400]], [[47]]], 51),  # the seed: 2,400 leads, 47 a rep → 51 reps
            ([[[2760]], [[40]]], 69),  # the seed's month 12, conservative
            ([[[4200]], [[47]]], 89),  # 89.4 → nearest rep
            ([[[4200]], [[47]], [[0.85]]], 105),  # the seed's aggressive month 12
            ([[[3240]]], 81),  # the default load: 40 leads a rep (LeadsPerRepOptimal)
        ],
    )
    def test_reps_needed_of_the_seed(self, client, args, reps):
        assert result(client, "LB_REPS_NEEDED", *args) == [[reps]]

    def test_reps_needed_of_negative_leads(self, client):
        response = call(client, "LB_REPS_NEEDED", [[-1]])
        assert (response.status_code, response.text) == (400, "leads must be ≥ 0, got -1")

    def test_hiring_plan_by_hand(self, client):
        settings = [
            ["Key", "Value"],
            ["hiring.attrition", 0],
            ["hiring.time_to_hire_days", 0],
            ["capacity.ramp_days", 90],
        ]
        rows = result(client, "LB_HIRING_PLAN", [[2400, 2400, 2800, 2800]], [[60]], settings)
        # 40 leads a rep: 60, 60, 70, 70 needed; 60 reps today; the 10 hired for month 3
        # start in month 1 (no time to hire) and ramp linearly over 3 months.
        assert rows[0] == ["Month", "Reps needed", "Productive reps", "Hires"]
        assert [(r[0], r[1], r[3]) for r in rows[1:]] == [(1, 60, 10), (2, 60, 0), (3, 70, 0),
                                                         (4, 70, 0)]  # fmt: skip
        assert [r[2] for r in rows[1:]] == pytest.approx([60 + 10 / 6, 65, 60 + 10 * 5 / 6, 70])

    def test_hiring_plan_of_negative_reps(self, client):
        response = call(client, "LB_HIRING_PLAN", [[2400, 2400]], [[-2]])
        assert (response.status_code, response.text) == (400, "current_reps must be ≥ 0, got -2")


class TestLeads:
    def test_expected_roi_and_price_by_hand(self, client):
        assert result(client, "LB_EXPECTED_ROI", [[0.2]], [[3000]], [[150]]) == [[4.0]]
        # (0.3 × 140 + 0.7 × 70) ÷ 0.75 = 91 ÷ 0.75
        assert result(client, "LB_LEAD_PRICE", [[0.3]], [[140]], [[70]], [["25%"]]) == [
            [pytest.approx(91 / 0.75)]
        ]

    def test_expected_roi_of_a_free_lead(self, client):
        response = call(client, "LB_EXPECTED_ROI", [[0.2]], [[3000]], [[0]])
        assert (response.status_code, response.text) == (
            400,
            "cost must be > 0 to compute an expected ROI, got 0",
        )

    def test_lead_price_at_a_full_margin(self, client):
        response = call(client, "LB_LEAD_PRICE", [[0.3]], [[140]], [[70]], [[1]])
        assert (response.status_code, response.text) == (
            400,
            "target margin must be below 100 %, got 100.0%",
        )

    def test_breakeven_of_the_chapters_deals(self, client):
        # -50,000 + 300,000 p = 20,000 + 100,000 p  →  p = 70,000 / 200,000
        args = [[-50_000]], [[250_000]], [[20_000]], [[120_000]]
        assert result(client, "LB_BREAKEVEN_P", *args) == [[pytest.approx(0.35)]]

    def test_parallel_deals_never_break_even(self, client):
        answer = result(client, "LB_BREAKEVEN_P", [[0]], [[100]], [[10]], [[110]])
        assert answer == [[{"type": "Error", "errorType": "NotAvailable"}]]

    def test_classifier_metrics_of_the_chapters_example(self, client):
        predicted = [[0.9]] * 6 + [[0.1]] * 14 + [[0.7]] * 2 + [[0.3]] * 3
        actual = [[1]] * 6 + [[0]] * 14 + [[0]] * 2 + [[1]] * 3
        rows = result(client, "LB_CLASSIFIER_METRICS", predicted, actual)
        assert rows == [
            ["Accuracy", pytest.approx(20 / 25)],  # 80 %
            ["Precision", pytest.approx(6 / 8)],  # 75 %
            ["Recall", pytest.approx(6 / 9)],  # 67 %
            ["True hits", 6], ["True misses", 14], ["False hits", 2], ["Missed hits", 3],
        ]  # fmt: skip

    def test_classifier_metrics_of_other_outcomes(self, client):
        response = call(client, "LB_CLASSIFIER_METRICS", [[0.9, 0.2]], [[1, 2]])
        assert (response.status_code, response.text) == (
            400,
            "actual outcomes must be 1 (converted) or 0 (not converted)",
        )

    def test_lead_score_matches_the_leads_tab(self, client, scored_demo, monkeypatch):
        """One lead scored by the cell function gives the probability Score leads wrote."""
        monkeypatch.setenv(F.WORKBOOKS_ENV, str(scored_demo.parent))
        ws = openpyxl.load_workbook(scored_demo)["Leads"]
        rows = [[c.value for c in row] for row in ws[ws.tables["Leads"].ref]]
        header, lead = rows[0], rows[-1]
        features = ["Source", *header[header.index("Created") + 1 : header.index("Cost")]]
        values = [lead[header.index(h)] for h in features]
        cell = f"{scored_demo.parent}/[{scored_demo.name}]Leads"  # as CELL("filename") gives
        got = result(client, "LB_LEAD_SCORE", [[cell]], [features], [values])
        assert got == [[pytest.approx(lead[header.index("Probability")])]]

    def test_lead_score_over_columns_longer_than_the_lead(self, client, scored_demo, monkeypatch):
        """Headers and values as columns, each range a few rows longer than the features: the
        server trims each to its data, and the two still pair up."""
        monkeypatch.setenv(F.WORKBOOKS_ENV, str(scored_demo.parent))
        ws = openpyxl.load_workbook(scored_demo)["Leads"]
        rows = [[c.value for c in row] for row in ws[ws.tables["Leads"].ref]]
        header, lead = rows[0], rows[-1]
        features = ["Source", *header[header.index("Created") + 1 : header.index("Cost")]]
        values = [
            {"code": "#N/A"} if v is None else v for v in (lead[header.index(h)] for h in features)
        ]
        where = [[str(scored_demo)]]
        as_columns = [[h] for h in features] + [[None]] * 3, [[v] for v in values] + [[None]] * 3
        got = result(client, "LB_LEAD_SCORE", where, *as_columns)
        assert got == [[pytest.approx(lead[header.index("Probability")])]]

    def test_lead_score_of_an_unknown_feature(self, client, scored_demo, monkeypatch):
        monkeypatch.setenv(F.WORKBOOKS_ENV, str(scored_demo.parent))
        got = call(client, "LB_LEAD_SCORE", [[str(scored_demo)]], [["Shoe size"]], [[44]])
        assert got.status_code == 400
        assert got.text.startswith("unknown feature(s) 'Shoe size'; the model uses: Source, ")

    def test_lead_score_without_a_model(self, client, tmp_path, monkeypatch):
        monkeypatch.setenv(F.WORKBOOKS_ENV, str(tmp_path))
        from leadbook.workbook.jobs.refresh import new

        path = new(tmp_path / "fresh.xlsx")
        got = call(client, "LB_LEAD_SCORE", [[str(path)]], [["Source"]], [["A"]])
        assert (got.status_code, got.text) == (
            400,
            "fresh.xlsx records no lead model yet; run Score leads "
            "(leadbook score-leads fresh.xlsx) first",
        )


class TestLeadScoreReadsOnlyTheServersWorkbookFolder:
    """On leadbook serve, a cell cannot choose which of the server's files is read."""

    REFUSED = "is not a workbook in the server's workbook folder (LEADBOOK_WORKBOOKS)"

    @pytest.fixture
    def folders(self, scored_demo, tmp_path, monkeypatch):
        import shutil

        from leadbook.leads.store import model_dir

        served, victim = tmp_path / "served", tmp_path / "victim"
        for folder in (served, victim):
            folder.mkdir()
            shutil.copy2(scored_demo, folder / "Budget.xlsx")
            shutil.copytree(model_dir(scored_demo), model_dir(folder / "Budget.xlsx"))
        monkeypatch.setenv(F.WORKBOOKS_ENV, str(served))
        return served, victim

    def score(self, client, where: str):
        return call(client, "LB_LEAD_SCORE", [[where]], [["Source"]], [["Organic search"]])

    def test_a_workbook_in_the_folder_by_name_or_by_the_clients_path(self, client, folders):
        for where in (
            "Budget.xlsx",
            "C:\\Users\\ana\\[Budget.xlsx]Leads",
            "/Users/ana/Budget.xlsx",
        ):
            answer = self.score(client, where)
            assert answer.status_code == 200, (where, answer.text)

    def test_a_path_out_of_the_folder_reads_nothing_and_reveals_nothing(self, client, folders):
        served, victim = folders
        (served / "link.xlsx").symlink_to(victim / "Budget.xlsx")
        texts = []
        for where in ("../victim/Budget.xlsx", "link.xlsx", "../victim/missing.xlsx", "no.xlsx"):
            answer = self.score(client, where)
            assert answer.status_code == 400 and self.REFUSED in answer.text, answer.text
            texts.append(answer.text.replace(repr(where), "…"))
        assert len(set(texts)) == 1  # an existing file outside and a missing one look alike

    def test_odd_names_get_the_same_refusal(self, client, folders):
        for where in ("Budget.xlsx\x00.txt", "x" * 300 + ".xlsx", "a/" * 2_000 + "b.xlsx"):
            answer = self.score(client, where)
            assert answer.status_code == 400 and self.REFUSED in answer.text, answer.text

    def test_a_model_folder_linked_out_of_the_folder_is_not_read(self, client, folders):
        import shutil

        from leadbook.leads.store import model_dir

        served, victim = folders
        shutil.rmtree(model_dir(served / "Budget.xlsx"))
        model_dir(served / "Budget.xlsx").symlink_to(model_dir(victim / "Budget.xlsx"))
        answer = self.score(client, "Budget.xlsx")
        assert answer.status_code == 400 and self.REFUSED in answer.text, answer.text

    def test_a_pipe_in_the_folder_is_refused_at_once(self, client, folders):
        served, _ = folders
        os.mkfifo(served / "pipe.xlsx")
        answer = self.score(client, "pipe.xlsx")
        assert answer.status_code == 400 and self.REFUSED in answer.text

    def test_without_a_folder_the_server_reads_no_workbook(self, client, scored_demo, monkeypatch):
        monkeypatch.delenv(F.WORKBOOKS_ENV, raising=False)
        answer = self.score(client, str(scored_demo))
        assert answer.status_code == 400 and "none is set (LEADBOOK_WORKBOOKS)" in answer.text

    def test_a_model_file_that_is_a_pipe_is_not_read(self, client, folders):
        from leadbook.leads.store import model_dir

        served, _ = folders
        (stored,) = model_dir(served / "Budget.xlsx").glob("model-*.zip")
        stored.unlink()
        os.mkfifo(stored)
        answer = self.score(client, "Budget.xlsx")
        assert answer.status_code == 400 and "is not a regular file" in answer.text


class TestKpi:
    def test_largest_share_of_the_seed(self, client, demo_tables):
        tables = demo_tables["Sources"], demo_tables["History"], demo_tables["Settings"]
        got = result(client, "LB_KPI", [["largest_share"]], *tables)
        assert got == [[pytest.approx(816 * 156 / SEED_SPEND)]]  # Premium comparison sites

    def test_a_kpi_that_needs_other_tabs_says_why(self, client, demo_tables):
        got = result(client, "LB_KPI", [["forecast_board"]], demo_tables["Sources"])
        assert got[0][0].startswith("not available: ")

    def test_an_unknown_kpi_names_the_nearest(self, client, demo_tables):
        response = call(client, "LB_KPI", [["vendor_heath"]], demo_tables["Sources"])
        assert response.status_code == 400
        assert response.text.startswith(
            "unknown KPI 'vendor_heath' — did you mean 'vendor_health'?"
        )
