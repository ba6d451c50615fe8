"""The ROI, Forecast, Forecast detail and Hiring tabs: LibreOffice oracle, the kept forecast
log, the CLI, and the layout (months across, tables stacked, none overlapping)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.cell import (
    column_index_from_string,
    coordinate_from_string,
    get_column_letter,
    range_boundaries,
)
from openpyxl.worksheet.table import Table
from typer.testing import CliRunner

from leadbook import contract as C
from leadbook.cli import app
from leadbook.demo import DEMO_STATED, demo_settings, demo_tables
from leadbook.planning.forecast import LEADS
from leadbook.portfolio.inventory import build_inventory
from leadbook.workbook.jobs.build import build_workbook
from leadbook.workbook.jobs.outputs import render_outputs
from leadbook.workbook.jobs.plan import forecast, plan, roi
from leadbook.workbook.jobs.refresh import REFRESH_TABS, demo_workbook
from leadbook.workbook.read import Book
from leadbook.workbook.tablecells import find_table
from leadbook.workbook.tabs.planning import (
    FORECAST_LINES,
    HIRING_LINES,
    detail_tables,
    forecast_tables,
)
from leadbook.workbook.write import save_new
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
    # Fast paybacks give the annual IRR in words with the monthly rate, as LibreOffice's
    # TEXT(IRR(…),"0%") writes it.
    assert any(v.startswith("over 1,000% a year (") for v in irr_words)
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
    # As Excel grows a table: its filter range too.
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{r}"
    table.autoFilter.ref = table.ref
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
    leads = nov[nov["measure"] == LEADS].set_index("source")["actual"]
    assert leads.notna().all()
    # a month without leads (the demo's tests on hold) has no conversion to meet
    conversion = nov[nov["measure"] != LEADS].set_index("source")["actual"]
    idle = leads.reindex(conversion.index).eq(0)
    assert (conversion.isna() == idle).all() and conversion[~idle].notna().all()
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


# --- Layout: months across, tables stacked, nothing overlapping ---------------------------------

LAYOUT_TABS = (C.FORECAST.name, C.FORECAST_DETAIL.name, C.HIRING.name)
SCREEN_PT = 64 + 20 * 15
"""Grid height Excel shows at 100 % zoom on a 1366×768 screen (ribbon, formula bar, tabs and
taskbar take the rest): 20 rows of 15 pt below at most 64 pt of frozen rows."""


def sixty_source_book() -> Book:
    """The demo's sources, copied under new names up to 60, each with its History."""
    t = demo_tables()
    copies = [t.sources.assign(source=t.sources["source"] + f" #{k}") for k in range(6)]
    sources = pd.concat(copies, ignore_index=True).head(60)
    names = set(sources["source"])
    renamed = [
        frame.assign(source=frame["source"] + f" #{k}")
        for frame in (t.history, t.price_tiers)
        for k in range(6)
    ]
    history = pd.concat(renamed[:6], ignore_index=True)
    tiers = pd.concat(renamed[6:], ignore_index=True)
    inventory, _ = build_inventory(
        sources, tiers[tiers["source"].isin(names)], history[history["source"].isin(names)]
    )
    return Book(demo_settings(), inventory, DEMO_STATED)


@pytest.fixture(scope="module")
def books(built_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo and a workbook of 60 sources (its analysis tabs filled, the others as in the
    template), as saved and loaded again: read-only."""
    book = sixty_source_book()
    rendered = build_workbook(book.inventory, book.settings, book.stated)
    render_outputs(rendered.workbook, book, REFRESH_TABS)
    sixty = save_new(rendered.workbook, tmp_path_factory.mktemp("sixty") / "sixty.xlsx")
    return {"demo": openpyxl.load_workbook(built_demo), "sixty": openpyxl.load_workbook(sixty)}


@pytest.fixture(scope="module")
def rendered_demo():
    """The demo workbook in memory (its charts still attached: openpyxl drops them on load)."""
    return demo_workbook()


@pytest.fixture(params=["demo", "sixty"])
def any_book(request, books: dict) -> openpyxl.Workbook:
    return books[request.param]


def _areas(ws) -> dict[str, tuple[int, int, int, int]]:
    """Every Excel Table and months-across view of a tab: name → (min col, min row, max col,
    max row)."""
    areas = {t.displayName: range_boundaries(t.ref) for t in ws.tables.values()}
    for view in C.MONTH_VIEWS:
        if view.sheet == ws.title:
            for sheet, ref in ws.parent.defined_names[view.name].destinations:
                assert sheet == ws.title
                areas[view.name] = range_boundaries(ref.replace("$", ""))
    return areas


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _months_apart(a: dt.datetime, b: dt.datetime) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _header_months(ws, row: int) -> list[dt.datetime]:
    months = []
    for c in range(2, ws.max_column + 1):
        cell = ws.cell(row, c)
        if cell.value is None:
            break
        assert isinstance(cell.value, dt.datetime) and cell.number_format == "mmm yyyy"
        months.append(cell.value)
    return months


def _consecutive(months: list[dt.datetime]) -> bool:
    return all(m.day == 1 for m in months) and all(
        _months_apart(a, b) == 1 for a, b in itertools.pairwise(months)
    )


class TestMonthsAcross:
    def test_the_forecast_opens_with_the_portfolio_by_month(self, built_demo: Path):
        wb = openpyxl.load_workbook(built_demo)
        ws = wb[C.FORECAST.name]
        top = _areas(ws)[C.FORECAST_VIEW.name]
        assert top[:2] == (1, 4)  # A4: below the title, the purpose and the note
        months = _header_months(ws, 5)
        assert len(months) == 12 + 24 and _consecutive(months)  # the year behind, 24 ahead
        assert months[12] == dt.datetime(2026, 11, 1)  # the first forecast month
        flags = [ws.cell(4, c).value for c in range(2, 2 + len(months))]
        assert flags == ["Actual"] * 12 + ["Forecast"] * 24
        labels = [ws.cell(r, 1).value for r in range(6, 15)]
        assert labels == [label for label, _ in FORECAST_LINES]
        assert ws["B6"].value == (
            "=SUMIFS(PortfolioForecast[Actual leads],PortfolioForecast[Month],B$5)"
        )
        assert ws["B7"].value is None and ws["N7"].value.startswith("=SUMIFS(")
        assert all(_areas(ws)[t][1] > top[3] for t in ws.tables)  # every table below it

    def test_hiring_opens_with_each_scenario_by_month(self, built_demo: Path):
        ws = openpyxl.load_workbook(built_demo)[C.HIRING.name]
        plan = ws.tables[C.HIRING_PLAN_TABLE.name]
        first, header, _, last = range_boundaries(plan.ref)
        plan_months = sorted({ws.cell(r, first + 1).value for r in range(header + 1, last + 1)})
        for k, scenario in enumerate(("Conservative", "Base", "Aggressive")):
            row = 5 + (len(HIRING_LINES) + 2) * k  # its lines, its month row and a gap
            assert ws.cell(row, 1).value == scenario
            months = _header_months(ws, row)
            assert months == plan_months and _consecutive(months) and len(months) == 24
            labels = [ws.cell(row + 1 + i, 1).value for i in range(len(HIRING_LINES))]
            assert labels == [
                "Leads",
                "Reps needed",
                "Headcount",
                "Productive reps",
                "Hires starting",
                "Requisitions to open",
                "Team cost",
            ]
            assert ws.cell(row + 2, 2).value == (
                "=SUMIFS(HiringPlan[Reps needed],HiringPlan[Month],B$"
                f"{row},HiringPlan[Scenario],$A${row})"
            )


class TestNoOverlap:
    @pytest.mark.parametrize("tab", C.SHEET_NAMES)
    def test_no_table_or_view_overlaps_another(self, any_book, tab):
        areas = list(_areas(any_book[tab]).items())
        clashes = [
            (a, b)
            for i, (a, box_a) in enumerate(areas)
            for b, box_b in areas[i + 1 :]
            if _overlap(box_a, box_b)
        ]
        assert clashes == []

    @pytest.mark.parametrize("tab", LAYOUT_TABS)
    def test_each_stacked_table_has_its_heading_above_it(self, any_book, tab):
        ws = any_book[tab]
        for name, (col, row, *_) in _areas(ws).items():
            if name in ws.tables:
                assert str(ws.cell(row - 1, col).value).startswith(f"{name}: "), name
                assert ws.cell(row - 2, col).value is None, name  # a blank row above

    def test_a_hundred_sources_over_24_months_stay_apart(self):
        series, sources, log = detail_tables(2 * 101, 100 * 24)
        series_last = int(series.anchor[1:]) + 2 * 101
        assert int(sources.anchor[1:]) - 1 > series_last + 1  # a blank row, then its heading
        assert log.anchor == "K5"  # beside them: the log grows every month, nothing below it

    def test_tables_stay_put_from_the_template_as_history_and_sources_grow(self):
        """A button cannot move a table (Excel resizes one in place only), so the first fill
        of a new workbook, another month of History or another source leave them where
        they are; only ForecastSeries outgrowing its room (past 20 sources) moves one."""
        template, filled = forecast_tables(0, 0), forecast_tables(48, 200)
        assert [s.anchor for s in template] == [s.anchor for s in filled]
        template, filled = detail_tables(0, 0), detail_tables(2 * 20 + 1, 20 * 24)
        assert [s.anchor for s in template] == [s.anchor for s in filled]
        assert detail_tables(2 * 21 + 1, 21 * 24)[1].anchor != template[1].anchor

    @pytest.mark.parametrize("tab", LAYOUT_TABS)
    def test_the_template_puts_tables_at_their_contract_anchors(self, template_path, tab):
        ws = openpyxl.load_workbook(template_path)[tab]
        for spec in C.sheet(tab).tables:
            assert ws.tables[spec.name].ref.split(":")[0] == spec.anchor, spec.name

    def test_charts_sit_between_the_view_and_the_tables(self, rendered_demo):
        wb = rendered_demo.workbook
        for tab in (C.FORECAST.name, C.HIRING.name):
            ws = wb[tab]
            (chart,) = ws._charts
            top = coordinate_from_string(chart.anchor)[1]
            rows = math.ceil(chart.height / 2.54 * 72 / 15)  # cm → rows of 15 pt
            areas = _areas(ws)
            view = next(v.name for v in C.MONTH_VIEWS if v.sheet == tab)
            assert areas[view][3] < top
            assert top + rows < min(box[1] for name, box in areas.items() if name != view) - 1


class TestReadable:
    @pytest.mark.parametrize("tab", (C.FORECAST.name, C.HIRING.name))
    def test_frozen_panes_leave_twenty_rows_and_one_label_column(self, built_demo, tab):
        ws = openpyxl.load_workbook(built_demo)[tab]
        letter, row = coordinate_from_string(ws.freeze_panes)
        frozen_cols = column_index_from_string(letter) - 1
        assert frozen_cols <= 1
        assert (
            sum(ws.column_dimensions[get_column_letter(c)].width for c in range(1, frozen_cols + 1))
            <= 30
        )

        def height(r: int) -> float:
            dim = ws.row_dimensions[r].height
            return dim if dim is not None else max(15.0, 1.3 * (ws.cell(r, 1).font.sz or 11))

        frozen = sum(height(r) for r in range(1, row))
        assert frozen <= 64
        assert frozen + sum(height(r) for r in range(row, row + 20)) <= SCREEN_PT + 15 * 2

    @pytest.mark.parametrize("tab", LAYOUT_TABS)
    def test_headers_fit_two_lines_and_labels_one(self, any_book, tab):
        ws = any_book[tab]
        cut = []
        for name, (c0, r0, c1, r1) in _areas(ws).items():
            header = r0 if name in ws.tables else r0 + 1
            for c in range(c0, c1 + 1):
                width = ws.column_dimensions[get_column_letter(c)].width
                text = ws.cell(header, c).value
                if isinstance(text, str) and len(wrapped(text, width)) > 2:
                    cut.append(f"{name}: {text!r} in {width}")
            if name not in ws.tables:
                width = ws.column_dimensions[get_column_letter(c0)].width
                labels = [ws.cell(r, c0).value for r in range(r0 + 1, r1 + 1)]
                cut += [f"{name}: {t!r}" for t in labels if t and text_width(t) > width - 1]
        assert cut == []


def text_width(text: str) -> float:
    """About how many widths of "0" ``text`` takes in bold Calibri 11 (capitals and M, W, %
    are wider, i, l and punctuation narrower)."""
    return sum(
        1.2 if ch.isupper() or ch in "MW%@" else 0.6 if ch in "il.,:;'()| " else 1.0 for ch in text
    )


def wrapped(text: str, width: float) -> list[str]:
    """``text`` wrapped at spaces into a column ``width`` wide (a word too long for it alone
    counts as two lines, as it is cut)."""
    lines, line = [], ""
    for word in text.split():
        if text_width(word) > width - 1:
            return [text, text, text]
        trial = f"{line} {word}".strip()
        if text_width(trial) <= width - 1:
            line = trial
        else:
            lines.append(line)
            line = word
    return [*lines, line]


class TestTablesByName:
    def test_every_table_is_found_by_name_with_its_contract_headers(self, any_book):
        for spec in C.TABLES.values():
            found = find_table(any_book, spec)
            assert found is not None, spec.name
            ws, table = found
            assert ws.title == spec.sheet, spec.name
            c0, r0, c1, _ = range_boundaries(table.ref)
            headers = [ws.cell(r0, c).value for c in range(c0, c1 + 1)]
            assert headers == [tc.name for tc in table.tableColumns], spec.name
            # the Leads table adds a column per lead feature between its contract columns
            assert [h for h in headers if h in spec.headers] == spec.headers, spec.name

    @pytest.mark.slow
    def test_forecast_and_plan_rewrite_the_same_tables_in_the_same_places(
        self, built_demo: Path, demo_book_path: Path
    ):
        forecast(demo_book_path)
        plan(demo_book_path)
        before, after = openpyxl.load_workbook(built_demo), openpyxl.load_workbook(demo_book_path)
        for tab in LAYOUT_TABS:
            assert after[tab].freeze_panes == before[tab].freeze_panes
            for table in before[tab].tables.values():
                name = table.displayName
                assert after[tab].tables[name].ref == table.ref, name
                cells = [[c.value for c in row] for row in before[tab][table.ref]]
                assert [[c.value for c in row] for row in after[tab][table.ref]] == cells, name

    @pytest.mark.slow
    def test_a_log_on_the_old_forecast_tab_moves_to_forecast_detail(self, demo_book_path: Path):
        """A workbook from before Forecast detail: its log, on the Forecast tab, is kept."""
        wb = openpyxl.load_workbook(demo_book_path)
        detail = wb[C.FORECAST_DETAIL.name]
        log = detail.tables[C.FORECAST_LOG_TABLE.name]
        rows = [[c.value for c in row] for row in detail[log.ref]]
        del wb[C.FORECAST_DETAIL.name]
        ws = wb[C.FORECAST.name]
        for i, values in enumerate(rows):
            for j, value in enumerate(values):
                ws.cell(4 + i, 39 + j, value)  # AM4, where it used to be
        ws.add_table(Table(displayName=log.displayName, ref=f"AM4:AW{3 + len(rows)}"))
        wb.save(demo_book_path)
        result = forecast(demo_book_path).result
        assert len(result.log) == len(rows) - 1
        wb = openpyxl.load_workbook(demo_book_path)
        assert wb.sheetnames.index(C.FORECAST_DETAIL.name) == wb.sheetnames.index("Forecast") + 1
        assert C.FORECAST_LOG_TABLE.name not in wb[C.FORECAST.name].tables
        assert wb[C.FORECAST_DETAIL.name].tables[C.FORECAST_LOG_TABLE.name].ref == log.ref
