"""The ROI, Forecast, Forecast detail and Hiring tabs: LibreOffice oracle, the kept forecast
log, the CLI, and the layout (months across, tables stacked, none overlapping)."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.cell import (
    get_column_letter,
    range_boundaries,
)
from typer.testing import CliRunner

from leadbook.cli import app
from leadbook.workbook import contract as C
from leadbook.workbook.jobs import demo_workbook
from leadbook.workbook.planning import forecast, plan, roi
from tests.conftest import close, error_cells, recalc_values

PLANNING_TABS = (C.ROI.name, C.FORECAST.name, C.FORECAST_DETAIL.name, C.HIRING.name)


@pytest.mark.libreoffice
@pytest.mark.slow
def test_libreoffice_agrees_with_every_planning_formula(tmp_path: Path):
    rendered = demo_workbook()
    path = tmp_path / "demo.xlsx"
    rendered.workbook.save(path)
    values = recalc_values(path, tmp_path / "lo")
    assert error_cells(values) == []
    checked, wrong = 0, []
    for address, want in rendered.expected.items():
        sheet, cell = address.split("!")
        if sheet not in PLANNING_TABS:
            continue
        checked += 1
        got = values[sheet][cell].value
        if not close(got, want, rel=1e-6):
            wrong.append(f"{address}: LibreOffice {got!r}, leadbook {want!r}")
    assert wrong == []
    assert checked > 500  # ROI, CPA, NPV, IRR, P(reach), reps needed, capacity, log errors
    irr_words = [
        v for k, v in rendered.expected.items() if k.startswith("ROI!") and isinstance(v, str)
    ]
    assert any(v.startswith("no IRR: ") for v in irr_words)
    ws = values[C.HIRING.name]
    first, header, _, last = range_boundaries(ws.tables[C.CHAPTER_CHECK_TABLE.name].ref)
    check = first + C.CHAPTER_CHECK_TABLE.keys.index("check")
    assert [ws.cell(r, check).value for r in range(header + 1, last + 1)] == ["matches"] * 4


def _append_month(path: Path, month: dt.datetime) -> int:
    """Copy each source's last History row to ``month`` (a month of actuals arriving)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[C.HISTORY.name]
    table = ws.tables[C.HISTORY_TABLE.name]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    last: dict[str, list] = {}
    for row in ws.iter_rows(
        min_row=min_row + 1, max_row=max_row, min_col=min_col, max_col=max_col, values_only=True
    ):
        last[row[1]] = list(row)
    newest = max(r[0] for r in last.values())
    r = max_row
    for values in last.values():
        if values[0] != newest:
            continue
        r += 1
        for j, value in enumerate([month, *values[1:]]):
            ws.cell(r, min_col + j, value)
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{r}"
    wb.save(path)
    return r - max_row


@pytest.mark.slow
def test_forecast_log_is_kept_and_meets_actuals(demo_book_path: Path):
    first = forecast(demo_book_path)
    rows = len(first.result.log)
    assert rows > 0 and first.result.log["actual"].isna().all()
    again = forecast(demo_book_path)  # a rerun in the same month replaces, never duplicates
    assert len(again.result.log) == rows
    added = _append_month(demo_book_path, dt.datetime(2026, 11, 1))
    assert added >= 6
    later = forecast(demo_book_path).result
    made = later.log["made"].dt.strftime("%Y-%m").value_counts().to_dict()
    assert made["2026-11"] == rows and "2026-12" in made
    nov = later.log[(later.log["made"] == "2026-11-01") & (later.log["month"] == "2026-11-01")]
    assert nov["actual"].notna().all()
    assert set(later.accuracy["target_kind"]) == {"monthly", "board"}
    wb = openpyxl.load_workbook(demo_book_path)
    assert C.FORECAST_LOG_TABLE.name in wb[C.FORECAST_DETAIL.name].tables
    log_commands = [c.value for c in wb[C.LOG.name]["B"]]
    assert log_commands.count("forecast") == 3


@pytest.mark.slow
def test_jobs_write_their_tabs_with_charts(demo_book_path: Path):
    roi(demo_book_path)
    plan(demo_book_path)
    wb = openpyxl.load_workbook(demo_book_path)
    assert wb["ROI"]["A5"].value == "Premium comparison sites"
    assert [c.value for c in wb[C.LOG.name]["B"]][-2:] == ["roi", "plan"]
    with zipfile.ZipFile(demo_book_path) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) >= 2  # the forecast fan and reps needed vs productive


@pytest.mark.slow
def test_cli_plan_and_roi_json(demo_book_path: Path):
    runner = CliRunner()
    result = runner.invoke(app, ["plan", str(demo_book_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [c["scenario"] for c in payload["checks"]] == ["Conservative", "Base", "Aggressive"]
    result = runner.invoke(app, ["roi", str(demo_book_path), "--json"])
    payload = json.loads(result.stdout)
    assert payload["sources"][-1]["source"] == "Portfolio"


@pytest.mark.slow
def test_cli_refresh_runs_every_planning_tab(demo_book_path: Path):
    result = CliRunner().invoke(app, ["refresh", str(demo_book_path), "--json"])
    assert result.exit_code == 0, result.output
    assert "ROI, Forecast, Forecast detail, Hiring" in json.loads(result.stdout)["changed"]


def test_template_has_empty_planning_tables(template_path: Path):
    wb = openpyxl.load_workbook(template_path)
    for spec in (C.ROI, C.FORECAST, C.FORECAST_DETAIL, C.HIRING):
        assert {t.name for t in spec.tables} <= set(wb[spec.name].tables)


def test_missing_workbook_is_a_clear_error(tmp_path: Path):
    result = CliRunner().invoke(app, ["forecast", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 2
    assert "nope.xlsx: no such file" in " ".join(result.stderr.split())
