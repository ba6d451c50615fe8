"""Cell functions through xlwings Server's custom-function endpoint, with the arguments
desktop Excel's Office.js sends (2-D matrices, empty cells as 0, dates as serials), and as
plain Python (the classic add-in's shapes: scalars, None for an empty cell)."""

from __future__ import annotations

import os

import pytest

from leadbook.demo import demo_inventory, demo_settings
from leadbook.inventory import SEED_MONTHLY_LEADS, SEED_SOURCES
from leadbook.scoring import score_sources
from leadbook.workbook.jobs import demo_workbook
from tests.udfs.officejs import function_call, table_argument, table_cells
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
    rendered = demo_workbook()
    wb = rendered.workbook
    for address, value in rendered.expected.items():
        sheet, cell = address.split("!")
        wb[sheet][cell] = value
    tables = {name: table_argument(wb, name) for name in ("Sources", "History", "Settings")}
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
            ([[[12]], [["active"]], [[0]]], "health must be ≥ 1, got 0"),
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

        with pytest.raises(XlwingsError, match=r"^health must be ≥ 1, got 0$"):
            F.LB_TIER(12, "active", 0)

    def test_empty_cells_as_none_from_the_classic_add_in(self, demo_tables):
        sources = demo_tables["classic Sources"]
        assert sources[1][sources[0].index("Test phase")] is None
        assert F.LB_SCORES(sources)[1:] == F.LB_SCORES(demo_tables["Sources"])[1:]
