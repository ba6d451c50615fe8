"""The Excel boundary: shapes, blanks, dates, headers and text numbers, in one module."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from leadbook import contract as C
from leadbook.enums import Tier
from leadbook.settings import Settings
from udfs import convert as X
from udfs.convert import ArgumentError


class TestMatrix:
    @pytest.mark.parametrize(
        ("value", "cells"),
        [(5, [[5]]), ([1, 2], [[1, 2]]), ([[1], [2]], [[1], [2]]), ((3, 4), [[3, 4]]),
         ([], [[]])],
    )  # fmt: skip
    def test_any_shape_becomes_two_dimensional(self, value, cells):
        assert X.matrix(value) == cells


class TestScalar:
    @pytest.mark.parametrize("value", [7, [7], [[7]]])
    def test_one_cell_in_any_shape(self, value):
        assert X.scalar(value, "x") == 7

    @pytest.mark.parametrize("value", [None, "", "  ", [[None]], float("nan")])
    def test_blank_is_none(self, value):
        assert X.scalar(value, "x") is None

    def test_a_range_is_refused(self):
        with pytest.raises(ArgumentError, match=r"^x must be one cell, got a range of 2 row"):
            X.scalar([[1], [2]], "x")


class TestNumber:
    @pytest.mark.parametrize(
        ("value", "number"),
        [("16.8%", 0.168), ("$1,200", 1200.0), ([[3]], 3.0), (" 2.5 ", 2.5), (0, 0.0)],
    )
    def test_numbers_and_number_text(self, value, number):
        assert X.number(value, "x") == pytest.approx(number)

    def test_zero_is_blank_where_blank_means_unknown(self):
        assert X.number([[0]], "variation", zero_is_blank=True) is None
        assert X.number([[0.1]], "variation", zero_is_blank=True) == 0.1
        assert math.isnan(X.unknown(None))

    @pytest.mark.parametrize(
        ("value", "kwargs", "message"),
        [
            ("abc", {}, r"^x must be a number, got 'abc'$"),
            (2.5, {"whole": True}, r"^x must be a whole number, got 2.5$"),
            (-1, {"lo": 0}, r"^x must be ≥ 0, got -1$"),
            (6, {"hi": 5}, r"^x must be ≤ 5, got 6$"),
        ],
    )
    def test_bad_numbers_are_named(self, value, kwargs, message):
        with pytest.raises(ArgumentError, match=message):
            X.number(value, "x", **kwargs)

    def test_required(self):
        with pytest.raises(ArgumentError, match=r"^health is required; the cell is empty$"):
            X.required(X.number(None, "health"), "health")


class TestFlag:
    @pytest.mark.parametrize(
        ("value", "flag"),
        [(True, True), ("yes", True), (1, True), (False, False), (0, False), (None, False),
         ("no", False)],
    )  # fmt: skip
    def test_yes_and_no(self, value, flag):
        assert X.flag(value, "reason") is flag

    def test_other_text_is_refused(self):
        with pytest.raises(ArgumentError, match=r"^reason must be yes or no, got 'maybe'$"):
            X.flag("maybe", "reason")


HEADERS = ("Source", "Party", "Monthly leads", "Pin spend", "Test phase", "Channel")


class TestTable:
    def test_headers_are_matched_loosely_and_extra_columns_ignored(self):
        raw = X.table([["  source", "MONTHLY  LEADS", "Notes"], ["A", 10, "x"]], C.SOURCES_TABLE)
        assert list(raw.columns) == ["source", "leads"]
        assert raw.to_dict("records") == [{"source": "A", "leads": 10}]

    def test_office_js_zeros_are_blank_except_in_required_numbers(self):
        raw = X.table([list(HEADERS), ["A", 0, 0, 0, 0, 0]], C.SOURCES_TABLE)
        assert raw.iloc[0].to_dict() == {
            "source": "A", "party": None, "leads": 0, "pin": None, "test_phase": None,
            "channel": None,
        }  # fmt: skip

    def test_rows_of_empty_cells_are_dropped_and_rows_keep_their_number(self):
        raw = X.table([list(HEADERS), [0] * 6, ["B", "first-party", 5, None, None, ""]],
                      C.SOURCES_TABLE)  # fmt: skip
        assert list(raw.index) == [1]  # "Sources row 2" in messages

    def test_without_headers_in_the_templates_order(self):
        row = ["A", "V", "first-party", "Web", 1, 2, 30, 100, 200, 50, 0.1, 900, 4, "compliant",
               5000, "active", 0, 0, 0, 0]  # fmt: skip
        inputs_only = X.table([row], C.SOURCES_TABLE)
        # every column: CPL used sits beside CPL, the other formulas at the end
        every_column = X.table([[*row[:10], 50, *row[10:], 0.5, 0.5, 500, 10]], C.SOURCES_TABLE)
        assert list(inputs_only.columns) == [c.key for c in C.SOURCES_TABLE.by_role(C.Role.INPUT)]
        assert list(every_column.columns) == C.SOURCES_TABLE.keys
        assert inputs_only.loc[0, "cpl"] == every_column.loc[0, "cpl"] == 50

    def test_serial_dates_become_months(self):
        raw = X.table([["Month", "Source"], [45322, "A"]], C.HISTORY_TABLE)
        assert raw.loc[0, "month"] == pd.Timestamp("2024-01-31")

    def test_an_empty_optional_table_is_none(self):
        assert X.optional_table(None, C.HISTORY_TABLE) is None
        assert X.optional_table([[0]], C.HISTORY_TABLE) is None


class TestSettings:
    def test_omitted_or_empty_is_the_defaults(self):
        assert X.settings(None) == Settings() == X.settings([[0, 0], [0, 0]])

    @pytest.mark.parametrize(
        "cells",
        [
            [["policy.max_source_share", "35%"]],
            [["Key", "Value"], ["policy.max_source_share", 0.35]],
            [
                C.SETTINGS_TABLE.headers,
                ["Allocation policy", None, None, None, None],  # a section's heading
                ["Max share", "MaxSourceShare", 0.35, "%", "x"],
            ],
        ],
    )
    def test_key_and_value_in_any_layout(self, cells):
        assert X.settings(cells).policy.max_source_share == pytest.approx(0.35)

    def test_a_blank_budget_stays_unset_but_a_zero_weight_is_zero(self):
        cells = [
            ["policy.budget", 0],
            ["score_weights.risk", 0],
            ["score_weights.performance", 0.55],
        ]
        settings = X.settings(cells)
        assert settings.policy.budget is None
        assert settings.score_weights.risk == 0

    def test_bad_values_are_located(self):
        with pytest.raises(
            X.InputError, match=r"^Settings row 2: policy.max_source_share: must be ≤ 100.0%"
        ):
            X.settings([["policy.budget", 1000], ["policy.max_source_share", 3]])


class TestResults:
    def test_cell_values(self):
        assert [X.cell_value(v) for v in (Tier.T2, float("nan"), pd.NaT, 3, True)] == [
            "Tier 2", None, None, 3, True,
        ]  # fmt: skip

    def test_spill_has_the_contract_headers(self):
        frame = pd.DataFrame({"source": ["A"], "tier": [Tier.T1], "extra": [1]})
        assert X.spill(frame, C.CLASSES_TABLE, ["source", "tier"]) == [
            ["Source", "Tier"], ["A", "Tier 1"],
        ]  # fmt: skip

    def test_with_reason(self):
        found = (Tier.T3, "Tier 3: in a test phase")
        assert X.with_reason(found, False) == "Tier 3"
        assert X.with_reason(found, True) == [["Tier 3", "Tier 3: in a test phase"]]


def test_the_docstring_examples_hold():
    import doctest

    failed, attempted = doctest.testmod(X, optionflags=doctest.ELLIPSIS)
    assert (failed, attempted > 10) == (0, True)
