"""Compare scenarios (``leadbook whatif BOOK``) on workbook files: what it writes, what it
refuses, and that its figures are Rebalance's."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from conftest import set_setting
from openpyxl.utils.cell import range_boundaries

from leadbook import contract as C
from leadbook.errors import InputError
from leadbook.workbook.jobs.feeds import book_allocation
from leadbook.workbook.jobs.whatif import whatif
from leadbook.workbook.read import read_book

SCENARIOS = C.WHATIF_SCENARIOS_TABLE.name


def _copy(built_demo: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for item in built_demo.parent.iterdir():
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, folder / item.name)
    return folder / built_demo.name


def _edit_scenarios(path: Path, rows: list[list[object]], extra: list[str] = ()) -> None:
    """Replace the Scenarios table's rows (and add columns headed ``extra``), as a user would."""
    wb = openpyxl.load_workbook(path)
    ws = wb[C.WHATIF.name]
    table = ws.tables[SCENARIOS]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    for j, header in enumerate(extra, start=max_col + 1):
        ws.cell(min_row, j, header)
    last_col = max_col + len(extra)
    for r in range(min_row + 1, max(max_row, min_row + len(rows)) + 1):
        for c in range(min_col, last_col + 1):
            ws.cell(r, c).value = None  # ws.cell(r, c, None) would leave the value
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            ws.cell(min_row + i, min_col + j, value)
    table.ref = (
        f"{openpyxl.utils.get_column_letter(min_col)}{min_row}:"
        f"{openpyxl.utils.get_column_letter(last_col)}{min_row + max(len(rows), 1)}"
    )
    table.tableColumns = []
    table._initialise_columns()
    for col, cell in zip(table.tableColumns, ws[min_row][min_col - 1 : last_col], strict=True):
        col.name = str(cell.value)
    wb.save(path)


def _values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


@pytest.fixture(scope="module")
def compared(built_demo: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demo with a fourth scenario that changes a setting by its defined name and pins a
    source, compared once: (path, file before, result, view)."""
    path = _copy(built_demo, tmp_path_factory.mktemp("whatif"))
    _edit_scenarios(
        path,
        [
            ["Lean $300k", 300_000, None, None, None, None, None],
            ["As budgeted $320k", 320_000, None, None, None, None, None],
            ["Stretch $350k", 350_000, None, None, None, None, None],
            ["Share 35%", None, "Organic search", 20_000, None, None, 0.35],
        ],
        extra=["MaxSourceShare"],
    )
    before = _values(path)
    result, view = whatif(path)
    return path, before, result, view


def test_the_demo_starts_with_three_budget_scenarios(built_demo: Path):
    ws = openpyxl.load_workbook(built_demo, data_only=True)[C.WHATIF.name]
    _, min_row, _, max_row = range_boundaries(ws.tables[SCENARIOS].ref)
    rows = [(ws.cell(r, 1).value, ws.cell(r, 2).value) for r in range(min_row + 1, max_row + 1)]
    assert [b for _, b in rows] == [300_000, 320_000, 350_000]
    results = ws.tables[C.WHATIF_RESULTS_TABLE.name].ref
    assert range_boundaries(results)[2] - range_boundaries(results)[0] + 1 == 5  # 1 + 4
    assert ws._charts or ws.tables[C.BUDGET_CURVE_TABLE.name]  # the chart is redrawn on load


def test_whatif_writes_only_the_what_if_tab_and_the_log(compared):
    path, before, result, view = compared
    after = _values(path)
    for tab in before:
        if tab not in (C.WHATIF.name, C.LOG.name):
            assert after[tab] == before[tab], tab
    assert "compared 4 scenario(s)" in result.changed
    # the Scenarios table is the user's: written back as it was
    wb = openpyxl.load_workbook(path)
    ws = wb[C.WHATIF.name]
    ref = ws.tables[SCENARIOS].ref
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    cells = [
        [ws.cell(r, c).value for c in range(min_col, max_col + 1)]
        for r in range(min_row, max_row + 1)
    ]
    old = [list(row[min_col - 1 : max_col]) for row in before[C.WHATIF.name][min_row - 1 : max_row]]
    assert cells == old
    assert [r.name for r in view.results] == [
        "As set",
        "Lean $300k",
        "As budgeted $320k",
        "Stretch $350k",
        "Share 35%",
    ]
    curve = view.curve.table
    assert len(curve) == 21 and set(curve["status"]) <= {"optimal", "infeasible"}
    infeasible = curve[curve["status"] == "infeasible"]
    assert (infeasible["rule"].str.len() > 0).all()


def test_the_curve_at_100_percent_and_as_set_are_rebalances_recommendation(
    built_demo: Path, compared
):
    _, _, _, view = compared
    rebalance, _ = book_allocation(read_book(built_demo))
    row = view.curve.table[np.isclose(view.curve.table["share"], 1.0)].iloc[0]
    assert row["spend"] == pytest.approx(rebalance.totals.spend, rel=1e-7)
    assert row["customers"] == pytest.approx(rebalance.totals.customers, rel=1e-7)
    as_set = view.results[0]
    assert as_set.customers == pytest.approx(rebalance.totals.customers, rel=1e-9)
    assert as_set.binding == rebalance.binding


def test_a_scenario_equals_rebalance_on_a_workbook_with_that_setting_changed(
    built_demo: Path, compared, tmp_path: Path
):
    _, _, _, view = compared
    stretch, share = view.results[3], view.results[4]
    path = _copy(built_demo, tmp_path / "changed")
    set_setting(path, "Budget", 350_000)
    direct, _ = book_allocation(read_book(path))
    assert stretch.status == "optimal"
    assert stretch.customers == pytest.approx(direct.totals.customers, rel=1e-9)
    assert stretch.per_source.to_dict() == pytest.approx(
        direct.table["recommended"].to_dict(), rel=1e-9
    )
    set_setting(path, "Budget", 320_000)
    set_setting(path, "MaxSourceShare", 0.35)
    wb = openpyxl.load_workbook(path)
    sources = wb[C.SOURCES.name]
    header = [c.value for c in sources[range_boundaries(sources.tables["Sources"].ref)[1]]]
    pin = header.index("Pin spend") + 1
    for row in sources.iter_rows(min_row=range_boundaries(sources.tables["Sources"].ref)[1] + 1):
        if row[0].value == "Organic search":
            sources.cell(row[0].row, pin, 20_000)
    wb.save(path)
    direct, _ = book_allocation(read_book(path))
    assert share.per_source["Organic search"] == pytest.approx(20_000)
    assert share.customers == pytest.approx(direct.totals.customers, rel=1e-9)


@pytest.mark.parametrize(
    ("rows", "extra", "where", "says"),
    [
        ([["A", 300_000, None, None, None, None, 0.3]], ["MaxSorceShare"], "G5", "MaxSourceShare"),
        ([["A", "lots"]], [], "B6", "must be a number"),
        ([["A", None, "Nowhere", None, 5_000]], [], "C6", "'Nowhere' is not a source"),
        ([["A", None, None, None, None, None, 3]], ["MaxSourceShare"], "G6", "did you mean 3 %"),
        ([["A", "=300000*1"]], [], "B6", "holds a formula"),
        ([["A", None, None, None, None, None, 25]], ["CurvePoints"], "G5", "budget curve"),
        # read once, for the Settings as set: a scenario's own value would be ignored
        (
            [["A", None, None, None, None, None, "model"]],
            ["LeadConversionSource"],
            "G5",
            "changes nothing a scenario solves",
        ),
        (
            [["A", None, None, None, None, None, 0.5]],
            ["WeightPerformance"],
            "G5",
            "classify, score and convert",
        ),
        ([["A", None, None, None, None, None, 4]], ["GlideWeeks"], "G5", "next week"),
        # the later column silently won (Excel renames a header typed twice; not one
        # typed with a space after it)
        (
            [["A", None, None, None, None, None, 0.3, 0.4]],
            ["MaxSourceShare", "MaxSourceShare "],
            "H5",
            "already sets",
        ),
        (
            [["A", None, None, None, None, None, 0.3, 0.4]],
            ["MaxSourceShare", "policy.max_source_share"],
            "H5",
            "column G already sets",
        ),
        (
            [["A", 300_000, None, None, None, None, 350_000]],
            ["policy.budget"],
            "G5",
            "column B already sets",
        ),
        # contradictions the Sources tab refuses in its own rows were solved as something
        ([["A", None, "Organic search", 20_000, None, "yes"]], [], "D6", "both pinned"),
        ([["A", None, "Organic search", 30_000, 20_000]], [], "D6", "above its spend cap"),
        # a paused source stays off: the pin was silently ignored
        ([["A", None, "Regional insurance network", 20_000]], [], "D6", "is paused"),
    ],
    ids=[
        "unknown setting",
        "text in a number",
        "unknown source",
        "setting out of range",
        "formula",
        "curve setting",
        "conversion source",
        "score weight",
        "glide weeks",
        "setting twice",
        "setting by its key too",
        "budget by its key too",
        "pinned and excluded",
        "pin above cap",
        "paused source",
    ],
)
def test_bad_scenarios_name_the_cell_and_leave_the_file_byte_identical(
    built_demo: Path, tmp_path: Path, rows, extra, where, says
):
    path = _copy(built_demo, tmp_path / "bad")
    _edit_scenarios(path, rows, extra)
    before = path.read_bytes()
    with pytest.raises(InputError) as caught:
        whatif(path)
    assert f"What-if!{where}" in str(caught.value) and says in str(caught.value)
    assert str(caught.value).count("What-if!") == 1, "one problem, said once"
    assert path.read_bytes() == before


def test_a_workbook_without_the_what_if_tab_gets_it(built_demo: Path, tmp_path: Path):
    path = _copy(built_demo, tmp_path / "old")
    wb = openpyxl.load_workbook(path)
    wb.remove(wb[C.WHATIF.name])
    wb.save(path)
    _, view = whatif(path)
    assert [r.name for r in view.results] == ["As set"]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames.index(C.WHATIF.name) == wb.sheetnames.index(C.ALLOCATION.name) + 1
    assert SCENARIOS in wb[C.WHATIF.name].tables


def test_the_command_prints_json_and_refuses_bad_input_with_exit_2(compared, tmp_path: Path):
    import json

    from typer.testing import CliRunner

    from leadbook.cli import app

    path, _, _, _ = compared
    res = CliRunner().invoke(app, ["whatif", str(path), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["ok"] is True  # as every other command's --json on success
    assert [s["name"] for s in payload["scenarios"]][:2] == ["As set", "Lean $300k"]
    assert payload["scenarios"][1]["status"] == "infeasible" and payload["scenarios"][1]["rule"]
    assert len(payload["curve"]) == 21
    bad = tmp_path / "bad.xlsx"
    shutil.copy2(path, bad)
    _edit_scenarios(bad, [["A", "lots"]])
    before = bad.read_bytes()
    res = CliRunner().invoke(app, ["whatif", str(bad)])
    assert res.exit_code == 2 and "What-if!B6" in res.output
    assert bad.read_bytes() == before


@pytest.mark.parametrize(
    ("typed", "where"),
    [
        ({"G5": "MaxSourceShare", "G6": 0.35}, "G5"),
        ({"A9": "Extra $330k", "B9": 330_000}, "A9"),
        ({"H7": "a note to self"}, "H7"),
    ],
    ids=["setting column right of the table", "row below the table", "a note beside it"],
)
def test_cells_typed_outside_the_scenarios_table_are_refused_not_lost(
    built_demo: Path, tmp_path: Path, typed: dict[str, object], where: str
):
    """The Scenarios table is the user's, as its ref says (Compare scenarios never resizes
    it): a cell typed beside or below it, outside the ref, would vanish with the rewrite."""
    path = _copy(built_demo, tmp_path / "outside")
    wb = openpyxl.load_workbook(path)
    ws = wb[C.WHATIF.name]
    for cell, value in typed.items():
        ws[cell] = value
    wb.save(path)
    before = path.read_bytes()
    with pytest.raises(InputError) as caught:
        whatif(path)
    message = str(caught.value)
    assert f"What-if!{where}" in message and "outside" in message and "A5:F8" in message
    assert path.read_bytes() == before


def test_a_refused_json_run_prints_the_refusal_as_json(compared, tmp_path: Path):
    """As every --json command does: {"path", "ok": false, "summary"} on stdout, exit 2."""
    import json

    from typer.testing import CliRunner

    from leadbook.cli import app

    path, _, _, _ = compared
    bad = tmp_path / "bad.xlsx"
    shutil.copy2(path, bad)
    _edit_scenarios(bad, [["A", "lots"]])
    res = CliRunner().invoke(app, ["whatif", str(bad), "--json"])
    assert res.exit_code == 2
    payload = json.loads(res.stdout)
    assert payload["ok"] is False and payload["path"] == str(bad)
    assert "What-if!B6" in payload["summary"]


def test_excluding_a_paused_source_pinned_on_the_sources_tab_is_no_contradiction(
    built_demo: Path, tmp_path: Path
):
    """A paused source is off in every scenario, so what the Sources tab pins for it is
    never read: a scenario excluding it was refused as "both pinned and excluded"."""
    path = _copy(built_demo, tmp_path / "paused")
    wb = openpyxl.load_workbook(path)
    sources = wb[C.SOURCES.name]
    top = range_boundaries(sources.tables["Sources"].ref)[1]
    header = [c.value for c in sources[top]]
    for row in sources.iter_rows(min_row=top + 1):
        if row[header.index("Status")].value == "paused":
            sources.cell(row[0].row, header.index("Pin spend") + 1, 5_000)
            paused = row[0].value
    wb.save(path)
    _edit_scenarios(path, [["Drop it", None, paused, None, None, "yes"]])
    _, view = whatif(path)
    assert [r.status for r in view.results] == ["optimal", "optimal"]
    assert view.results[1].per_source[paused] == 0.0


@pytest.mark.parametrize(
    ("scenarios", "results_at"), [(1, 28), (3, 28), (20, 28), (21, 48), (22, 48), (41, 68)]
)
def test_the_results_leave_room_below_the_scenarios_however_many(scenarios: int, results_at: int):
    """Up to 20 scenarios the results sit at row 28, leaving room to type more scenarios
    below the table (Excel grows it); past 20 they sat 2 rows under the table, so the next
    scenario typed ran into their heading. They move down in steps of 20 rows instead."""
    from openpyxl import Workbook

    from leadbook.workbook.tabs.whatif import KeptTable, render_whatif

    rows = [("Scenario", "Budget")] + [(f"S{i}", 1000.0 * i) for i in range(scenarios)]
    kept = KeptTable(f"A5:B{5 + scenarios}", tuple(rows), tuple(("General",) * 2 for _ in rows))
    ws = Workbook().active
    render_whatif(ws, None, kept, {})
    header = range_boundaries(ws.tables[C.WHATIF_RESULTS_TABLE.name].ref)[1]
    assert header == results_at
    free = [r for r in range(6 + scenarios, header - 1) if ws.cell(r, 1).value is None]
    assert len(free) == header - 7 - scenarios >= 1  # at least a row to type the next into
