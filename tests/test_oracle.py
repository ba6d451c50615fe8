"""LibreOffice Calc as the formula oracle: every formula leadbook writes, recalculated by
LibreOffice, equals leadbook's own number, and no cell anywhere holds an error value."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from leadbook.workbook.jobs.build import build_workbook
from leadbook.workbook.jobs.refresh import demo_workbook
from tests.conftest import close, error_cells, recalc_values

FUTURE_FUNCTIONS = {
    "RANK.EQ",
    "STDEV.S",
    "IFS",
    "XLOOKUP",
    "CONCAT",
    "TEXTJOIN",
    "MAXIFS",
    "MINIFS",
    "FORECAST.ETS",
    "FILTER",
    "SORT",
    "UNIQUE",
    "SEQUENCE",
    "LET",
    "SWITCH",
    "IFNA",
    "PERCENTILE.INC",
    "NORM.S.INV",
    "NORM.INV",
}


def formula_cells(path: Path) -> dict[str, str]:
    wb = openpyxl.load_workbook(path)
    return {
        f"{ws.title}!{c.coordinate}": c.value
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    }


def check_against_oracle(rendered, tmp_path: Path) -> int:
    path = tmp_path / "book.xlsx"
    rendered.workbook.save(path)
    formulas = formula_cells(path)
    assert set(formulas) == set(rendered.expected), "every formula cell needs leadbook's value"
    values = recalc_values(path, tmp_path / "lo")
    assert error_cells(values) == []
    mismatches = []
    for ref, want in rendered.expected.items():
        sheet, cell = ref.split("!")
        got = values[sheet][cell].value
        if not close(got, want, rel=1e-9):
            mismatches.append(f"{ref}: leadbook {want!r}, LibreOffice {got!r} ({formulas[ref]})")
    assert mismatches == []
    return len(formulas)


@pytest.mark.libreoffice
def test_demo_workbook_formulas_match_leadbook(tmp_path):
    n = check_against_oracle(demo_workbook(), tmp_path)
    assert n > 100


@pytest.mark.libreoffice
def test_empty_template_has_no_error_values(tmp_path):
    check_against_oracle(build_workbook(None), tmp_path)


def test_modern_functions_carry_their_prefix(tmp_path):
    path = tmp_path / "demo.xlsx"
    demo_workbook().workbook.save(path)
    bare = []
    for ref, formula in formula_cells(path).items():
        for name in re.findall(r"(?<![\w.])([A-Z][A-Z0-9]*(?:\.[A-Z0-9]+)+|[A-Z]+)\(", formula):
            if name in FUTURE_FUNCTIONS:
                bare.append(f"{ref}: {name} needs its _xlfn. prefix")
    assert bare == []


@pytest.mark.libreoffice
@pytest.mark.parametrize(
    "build", [demo_workbook, lambda: build_workbook(None)], ids=["demo", "empty"]
)
def test_the_values_saved_with_the_formulas_are_the_oracles(tmp_path, build):
    """A workbook leadbook saves carries its own value of each formula (for readers that do
    not calculate): each equals LibreOffice's recalculation."""
    from leadbook.workbook.saving import save_workbook

    path = tmp_path / "book.xlsx"
    save_workbook(build().workbook, path)
    formulas = formula_cells(path)
    saved = openpyxl.load_workbook(path, data_only=True)
    values = recalc_values(path, tmp_path / "lo")
    mismatches = []
    for ref in formulas:
        sheet, cell = ref.split("!")
        got, want = saved[sheet][cell].value, values[sheet][cell].value
        if not close(got, want, rel=1e-9):
            mismatches.append(f"{ref}: saved {got!r}, LibreOffice {want!r} ({formulas[ref]})")
    assert len(formulas) > 100 and mismatches == []
