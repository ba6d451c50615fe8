"""Stamps on output tabs, and stale tabs: what check reports after an edit and after the jobs."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest
from conftest import set_setting
from typer.testing import CliRunner

from leadbook import contract as C
from leadbook.cli import app
from leadbook.errors import InfeasiblePolicyError
from leadbook.workbook.jobs.leads import score_leads
from leadbook.workbook.jobs.rebalance import rebalance
from leadbook.workbook.jobs.refresh import check, new, refresh
from leadbook.workbook.libreoffice import convert
from leadbook.workbook.provenance import (
    DEPENDS,
    NARROW,
    NOT_COMPUTED,
    Stamp,
    parse_stamp,
    read_stamp,
)

PORTFOLIO_TABS = {
    "Tiers",
    "Scores",
    "Allocation",
    "What-if",
    "ROI",
    "Forecast",
    "Forecast detail",
    "Hiring",
    "Board",
    "Maturity",
}


def set_source_cell(path: Path, key: str, row: int, value: object) -> str:
    """Type ``value`` into the Sources table's column ``key``, data row ``row`` (from 1)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[C.SOURCES.name]
    table = ws.tables[C.SOURCES_TABLE.name]
    header_row = ws[table.ref.split(":")[0]].row
    headers = [c.value for c in ws[header_row]]
    cell = ws.cell(header_row + row, headers.index(C.SOURCES_TABLE.column(key).header) + 1)
    cell.value = value
    wb.save(path)
    return cell.coordinate


def stale_tabs(path: Path) -> dict[str, str]:
    return {p.where: p.message for p in check(path).problems if "stale" in p.message}


class TestStamps:
    def test_every_output_tab_of_the_demo_is_stamped_and_current(self, demo_book_path):
        wb = openpyxl.load_workbook(demo_book_path)
        for tab in DEPENDS:
            stamp = read_stamp(wb[tab])
            assert stamp is not None, tab
            assert stamp.command.startswith(("demo", "score-leads")), stamp.command
            assert set(stamp.inputs) >= set(DEPENDS[tab])
        assert stale_tabs(demo_book_path) == {}

    def test_the_board_and_maturity_record_the_tabs_they_read(self, demo_book_path):
        wb = openpyxl.load_workbook(demo_book_path)
        board = read_stamp(wb[C.BOARD.name])
        assert set(board.reads) == {"Allocation", "Forecast detail", "Leads"}
        assert board.reads["Allocation"] == read_stamp(wb["Allocation"]).ident("Allocation")

    def test_the_template_says_not_computed_and_nothing_is_stale(self, tmp_path):
        path = new(tmp_path / "t.xlsx")
        wb = openpyxl.load_workbook(path)
        for tab in DEPENDS:
            assert [c.value for c in wb[tab][1] if c.value == NOT_COMPUTED], tab
        assert stale_tabs(path) == {}

    def test_a_stamp_reads_back_as_written(self):
        stamp = Stamp(
            dt.datetime(2026, 12, 2, 9, 5, 7),
            "plan (Excel button)",
            {"Settings": "0123abcd", "Maturity answers": "89abcdef"},
            {"Board": "fedc0987"},
        )
        assert parse_stamp(stamp.text) == stamp
        assert stamp.ident("Board") != stamp.ident("Forecast")


class TestStale:
    def test_editing_one_cpl_makes_every_tab_that_reads_it_stale(self, demo_book_path):
        set_source_cell(demo_book_path, "cpl", 1, 150)
        stale = stale_tabs(demo_book_path)
        assert set(stale) == PORTFOLIO_TABS
        assert "Leads" not in stale  # it reads names, conversion and revenue only
        assert stale["Allocation"].startswith("stale: Sources changed since")
        assert "press Rebalance (leadbook rebalance BOOK)" in stale["Allocation"]

    @pytest.mark.parametrize("order", [("refresh", "rebalance"), ("rebalance", "refresh")])
    def test_refresh_and_rebalance_bring_every_tab_up_to_date(self, demo_book_path, order):
        set_source_cell(demo_book_path, "cpl", 1, 150)
        jobs = {"refresh": refresh, "rebalance": rebalance}
        for name in order:
            jobs[name](demo_book_path)
        # What-if is Compare scenarios' alone (leadbook whatif): it stays stale, and says so
        stale = stale_tabs(demo_book_path)
        assert list(stale) == ["What-if"] and "press Compare scenarios" in stale["What-if"]
        wb = openpyxl.load_workbook(demo_book_path)
        assert read_stamp(wb[C.BOARD.name]).command == f"{order[-1]} (command line)"

    def test_what_no_calculation_reads_makes_nothing_stale(self, demo_book_path):
        set_source_cell(demo_book_path, "channel", 1, "Renamed channel")
        wb = openpyxl.load_workbook(demo_book_path)
        ws = wb[C.HISTORY.name]
        first, last = ws.tables[C.HISTORY_TABLE.name].ref.split(":")
        rows = [[c.value for c in r] for r in ws[f"{first[0]}{ws[first].row + 1}:{last}"]]
        for i, values in enumerate(reversed(rows)):  # History sorted newest first
            for j, value in enumerate(values):
                ws.cell(ws[first].row + 1 + i, 1 + j).value = value
        wb.save(demo_book_path)
        assert stale_tabs(demo_book_path) == {}

    def test_a_policy_setting_leaves_the_scored_leads_current(self, demo_book_path):
        set_setting(demo_book_path, "MaxSourceShare", 0.35)
        stale = stale_tabs(demo_book_path)
        assert "Allocation" in stale and "Leads" not in stale

    def test_a_lead_setting_makes_the_leads_stale(self, demo_book_path):
        set_setting(demo_book_path, "LeadWorkCost", 55)
        assert "Leads" in stale_tabs(demo_book_path)

    def test_an_infeasible_rebalance_stays_stale_until_a_rebalance_succeeds(self, demo_book_path):
        set_setting(demo_book_path, "BandTier1Min", 0.95)
        set_setting(demo_book_path, "BandTier1Max", 1.0)
        with pytest.raises(InfeasiblePolicyError):
            rebalance(demo_book_path)
        set_setting(demo_book_path, "BandTier1Min", 0.6)
        set_setting(demo_book_path, "BandTier1Max", 0.7)  # back as it was
        stale = stale_tabs(demo_book_path)
        assert list(stale) == ["Allocation"]
        assert stale["Allocation"].startswith("stale: Rebalance at ")
        assert "found the policy cannot be met" in stale["Allocation"]
        rebalance(demo_book_path)
        assert stale_tabs(demo_book_path) == {}

    def test_a_lead_edit_makes_only_the_leads_tab_stale(self, demo_book_path):
        wb = openpyxl.load_workbook(demo_book_path)
        ws = wb[C.LEADS.name]
        table = ws.tables[C.LEADS_TABLE.name]
        first = ws[table.ref.split(":")[0]]
        headers = [c.value for c in ws[first.row]]
        ws.cell(first.row + 1, headers.index("Cost") + 1).value = 999
        wb.save(demo_book_path)
        assert set(stale_tabs(demo_book_path)) == {"Leads"}

    def test_score_leads_after_a_cpl_or_policy_edit_changes_no_lead_output(
        self, demo_book_path, tmp_path_factory
    ):
        """The Leads tab's narrow reads (NARROW) hold: a CPL and the policy are not in them."""
        assert NARROW[(C.LEADS.name, "Sources")] == ("source", "conversion", "revenue_per_customer")
        assert NARROW[(C.LEADS.name, "Settings")] == ("section:leads",)
        twin = tmp_path_factory.mktemp("twin") / demo_book_path.name
        shutil.copytree(demo_book_path.parent, twin.parent, dirs_exist_ok=True)
        set_source_cell(twin, "cpl", 1, 150)
        set_setting(twin, "MaxSourceShare", 0.35)
        score_leads(demo_book_path)
        score_leads(twin)
        for table in (C.LEADS_TABLE, C.LEAD_SOURCES_TABLE, C.LEAD_ACTIONS_TABLE):
            assert _table(demo_book_path, table) == _table(twin, table), table.name

    def test_a_file_saved_by_libreoffice_is_not_stale(self, demo_book_path, tmp_path):
        saved = convert(demo_book_path, "xlsx", tmp_path / "lo")
        assert stale_tabs(saved) == {}

    def test_check_writes_the_stale_tabs_on_start(self, demo_book_path):
        set_source_cell(demo_book_path, "cpl", 1, 150)
        res = CliRunner().invoke(app, ["check", str(demo_book_path), "--write"])
        assert res.exit_code == 0, res.output
        ws = openpyxl.load_workbook(demo_book_path)[C.START.name]
        table = ws.tables[C.PROBLEMS_TABLE.name]
        rows = [[c.value for c in row] for row in ws[table.ref]][1:]
        stale = {r[0]: r for r in rows if "stale" in r[1]}
        assert set(stale) == PORTFOLIO_TABS
        assert all(r[2] == "warning" for r in stale.values())


def _table(path: Path, spec: C.TableSpec) -> list[list[object]]:
    """The cells of Excel Table ``spec`` in the workbook at ``path``."""
    ws = openpyxl.load_workbook(path)[spec.sheet]
    return [[c.value for c in row] for row in ws[ws.tables[spec.name].ref]]


def test_settled_fingerprints_are_those_read_lazily_and_the_cells_are_let_go(demo_book_path):
    """A job hashes the portfolio's inputs before it writes and lets the streamed cells go
    (200,000 History rows at scale); the fingerprints are the ones computed when asked, and
    a group not settled (Leads) is read again and hashed the same."""
    from leadbook.workbook.provenance import PORTFOLIO, Fingerprints
    from leadbook.workbook.read import open_inputs

    lazy = Fingerprints(open_inputs(demo_book_path))
    expected = {g: lazy.of(C.TIERS.name, g) for g in PORTFOLIO} | {
        "Leads": lazy.of(C.LEADS.name, "Leads")
    }
    book = open_inputs(demo_book_path)
    settled = Fingerprints(book)
    settled.settle(PORTFOLIO)
    assert book[C.HISTORY.name]._rows == {}  # let go
    got = {g: settled.of(C.TIERS.name, g) for g in PORTFOLIO}
    assert got | {"Leads": settled.of(C.LEADS.name, "Leads")} == expected
