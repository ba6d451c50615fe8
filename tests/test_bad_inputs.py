"""Bad input, named (issue 13, items 7, 8, 9 and 11): one regression test per case.

Each test failed on the code before the fix: a traceback, a silent acceptance, a live
formula, or a command that waited for ever. tests/test_fuzz_inputs.py samples the rest.
"""

from __future__ import annotations

import json
import os
import re
import threading
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from leadbook.cli import BUG_EXIT, app
from leadbook.errors import LeadbookError, WorkbookFileError
from leadbook.workbook.log import append_log
from leadbook.workbook.read import open_workbook

runner = CliRunner()
pytestmark = pytest.mark.broken_files  # the inputs are broken on purpose (two headers alike...)


def edit(path: Path, *cells: tuple[str, str, Any]) -> None:
    """Type values into ``(sheet, cell, value)`` and save."""
    wb = openpyxl.load_workbook(path)
    for sheet, cell, value in cells:
        wb[sheet][cell].value = value
    wb.save(path)


def check(path: Path) -> tuple[int, list[dict[str, str]]]:
    result = runner.invoke(app, ["check", "--json", str(path)])
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, [
        p for p in json.loads(result.stdout)["problems"] if p["severity"] == "error"
    ]


def error_at(problems: list[dict[str, str]], where: str, pattern: str) -> None:
    found = [p for p in problems if p["where"] == where]
    assert found, f"no error at {where}: {problems}"
    assert any(re.search(pattern, p["message"]) for p in found), found


def history_rows(wb: openpyxl.Workbook) -> tuple[Any, int, int]:
    ws = wb["History"]
    first, last = ws.tables["History"].ref.split(":")
    return ws, int(re.sub(r"\D", "", first)), int(re.sub(r"\D", "", last))


class TestTracebacksBecomePlaces:
    def test_rows_cleared_at_the_bottom_of_history_are_ignored(self, demo_book_path):
        wb = openpyxl.load_workbook(demo_book_path)
        ws, _, last = history_rows(wb)
        for row in ws.iter_rows(min_row=last - 2, max_row=last):
            for cell in row:
                cell.value = None
        wb.save(demo_book_path)
        code, errors = check(demo_book_path)
        assert code == 0 and errors == []
        result = runner.invoke(app, ["rebalance", str(demo_book_path)])
        assert result.exit_code == 0, result.output

    def test_a_header_typed_twice(self, demo_book_path):
        edit(demo_book_path, ("History", "F3", "Customers"))
        _, errors = check(demo_book_path)
        error_at(
            errors,
            "History!F3",
            r"'Customers' of table History appears twice \(also at "
            r"History!E3\)",
        )

    def test_merged_cells_in_the_leads_table(self, demo_book_path):
        wb = openpyxl.load_workbook(demo_book_path)
        wb["Leads"].merge_cells("D25:E25")
        wb.save(demo_book_path)
        _, errors = check(demo_book_path)
        error_at(errors, "Leads!D25:E25", "merged inside table Leads")
        result = runner.invoke(app, ["score-leads", str(demo_book_path)])
        assert result.exit_code == 2 and "Leads!D25:E25" in result.output

    def test_settings_without_its_key_column(self, demo_book_path):
        edit(demo_book_path, ("Settings", "B3", "\u00a0"))
        _, errors = check(demo_book_path)
        error_at(errors, "Settings!3:3", "table Settings has no column 'Key'")

    def test_a_lead_with_a_blank_source(self, demo_book_path):
        edit(demo_book_path, ("Leads", "B26", "\u00a0"))
        _, errors = check(demo_book_path)
        error_at(errors, "Leads!B26", "Source is empty")

    def test_a_month_in_year_9999(self, demo_book_path):
        edit(demo_book_path, ("History", "A7", pd.Timestamp(9999, 12, 1).to_pydatetime()))
        _, errors = check(demo_book_path)
        error_at(errors, "History!A7", r"must be a date from Jan 1990 to .*, got 9999-12-01")

    @pytest.mark.parametrize("ref", ["A:H", "H142:A3", "A3:H1048577"])
    def test_a_table_whose_range_is_not_a_block_of_cells(self, demo_book_path, ref):
        """A table's ref of whole columns, with its corners swapped, or past the last row
        (a file another program wrote) stopped check with a traceback and exit code 3."""
        wb = openpyxl.load_workbook(demo_book_path)
        table = wb["History"].tables["History"]
        table.ref = table.autoFilter.ref = ref
        wb.save(demo_book_path)
        for command in ("check", "refresh"):
            result = runner.invoke(app, [command, str(demo_book_path)])
            assert result.exit_code == 2, result.output
            assert "Traceback" not in result.output
            assert f"table History (tab History) has the range {ref!r}" in result.output

    def test_rebalance_refuses_what_check_finds(self, demo_book_path):
        edit(demo_book_path, ("History", "F3", "Spend"), ("Sources", "J13", -3))
        before = demo_book_path.read_bytes()
        result = runner.invoke(app, ["rebalance", str(demo_book_path)])
        assert result.exit_code == 2
        assert "History!F3" in result.output and "Sources!J13" in result.output
        assert demo_book_path.read_bytes() == before


class TestBugsAreNotInputErrors:
    def test_an_unexpected_exception_exits_with_the_bug_code(self, demo_book_path, monkeypatch):
        import leadbook.workbook.jobs.refresh as jobs

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(jobs, "check", broken)
        result = runner.invoke(app, ["check", str(demo_book_path)])
        assert result.exit_code == BUG_EXIT == 3
        assert "this is a bug in leadbook, please report it" in result.output
        assert "RuntimeError: boom" in result.output  # the traceback, logged

    def test_no_logging_error_in_process(self, demo_book_path):
        for _ in range(2):  # the second run once wrote to the first run's closed stderr
            result = runner.invoke(app, ["rebalance", str(demo_book_path)])
            assert result.exit_code == 0, result.output
            assert "Logging error" not in result.output
        assert "WARNING leadbook.workbook.read: Sources!E6" in result.output


def with_raw_value(path: Path, sheet_xml: str, marker: str, raw: str) -> None:
    """Replace the stored value ``marker`` by ``raw`` in a sheet's XML (openpyxl cannot
    write NaN or infinity; other programs can)."""
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members[sheet_xml] = members[sheet_xml].replace(
        f"<v>{marker}</v>".encode(), f"<v>{raw}</v>".encode()
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def sheet_xml(path: Path, title: str) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    return f"xl/worksheets/sheet{wb.sheetnames.index(title) + 1}.xml"


class TestSilentAcceptances:
    def test_an_infinity_is_named_at_its_cell(self, demo_book_path):
        edit(demo_book_path, ("Sources", "J13", 123456.125))
        with_raw_value(demo_book_path, sheet_xml(demo_book_path, "Sources"), "123456.125", "1e999")
        _, errors = check(demo_book_path)
        error_at(errors, "Sources!J13", "CPL must be a finite number, got infinity")

    def test_a_stored_nan_is_named_at_its_cell(self, demo_book_path):
        edit(demo_book_path, ("History", "C4", 123456.125))
        with_raw_value(demo_book_path, sheet_xml(demo_book_path, "History"), "123456.125", "NaN")
        result = runner.invoke(app, ["check", str(demo_book_path)])
        assert result.exit_code == 2
        assert "History!C4: holds 'NaN' where a number is stored" in result.output

    def test_a_formula_without_a_saved_value_is_not_called_empty(self, demo_book_path):
        """A formula typed by a program that does not calculate (openpyxl here) has no saved
        value: the cell is not empty, it needs Excel to open and save it."""
        edit(demo_book_path, ("Sources", "P13", "=1000*2"))
        _, errors = check(demo_book_path)
        error_at(errors, "Sources!P13", r"^Current spend holds a formula without a saved value")
        error_at(errors, "Sources!P13", "open and save the workbook in Excel, or type the number")

    def test_an_infinite_setting_is_named_at_its_cell(self, demo_book_path):
        edit(demo_book_path, ("Settings", "C8", 0.123456125))
        path = sheet_xml(demo_book_path, "Settings")
        with_raw_value(demo_book_path, path, "0.123456125", "-1E999")
        _, errors = check(demo_book_path)
        error_at(errors, "Settings!C8", "MaxSourceShare: must be a finite number, got -infinity")

    @pytest.mark.parametrize(
        ("sheet", "cell", "what"),
        [
            ("Sources", "J13", "CPL"),
            ("Sources", "P13", "Current spend"),
            ("History", "C4", "Spend"),
        ],
    )
    def test_a_huge_number_is_an_error_at_its_cell(self, demo_book_path, sheet, cell, what):
        edit(demo_book_path, (sheet, cell, 1e300))
        _, errors = check(demo_book_path)
        error_at(errors, f"{sheet}!{cell}", f"{what} must be at most 1,000,000,000,000 in size")

    def test_a_huge_budget_is_an_error_at_its_cell(self, demo_book_path):
        edit(demo_book_path, ("Settings", "C5", 1e300))
        _, errors = check(demo_book_path)
        error_at(errors, "Settings!C5", "Budget: must be at most 1,000,000,000,000 in size")

    @pytest.mark.parametrize("month", ["1900-01-01", "2200-01-01", 1])
    def test_a_history_month_far_away_is_an_error(self, demo_book_path, month):
        edit(demo_book_path, ("History", "A4", month))
        _, errors = check(demo_book_path)
        error_at(errors, "History!A4", "Month must be a date from Jan 1990")

    @pytest.mark.parametrize(("sheet", "cell"), [("Sources", "J13"), ("Settings", "C8")])
    def test_a_decimal_comma_is_not_read_as_thousands(self, demo_book_path, sheet, cell):
        edit(demo_book_path, (sheet, cell, "1,5"))  # was read as 15
        _, errors = check(demo_book_path)
        error_at(errors, f"{sheet}!{cell}", r"comma that separates no thousands, got '1,5'")

    def test_a_duplicated_setting_names_both_cells(self, demo_book_path):
        edit(demo_book_path, ("Settings", "B9", "MaxSourceShare"), ("Settings", "C9", 0.05))
        _, errors = check(demo_book_path)
        error_at(errors, "Settings!C9", r"appears twice \(also at Settings!C8\)")

    def test_score_weights_not_adding_up_are_named_at_their_cells(self, demo_book_path):
        from tests.conftest import set_setting, setting_cell

        set_setting(demo_book_path, "WeightPerformance", 0.9)
        wb = openpyxl.load_workbook(demo_book_path)
        where = f"Settings!{setting_cell(wb, 'WeightPerformance').coordinate}"
        _, errors = check(demo_book_path)
        error_at(errors, where, rf"score weights \(WeightPerformance.*at {where}, .*got 1\d\d")

    def test_check_validates_the_leads_table(self, demo_book_path):
        edit(demo_book_path, ("Leads", "I24", -5), ("Leads", "E23", "Form completeness"))
        _, errors = check(demo_book_path)
        error_at(errors, "Leads!E23", r"appears twice \(also at Leads!D23\)")
        edit(demo_book_path, ("Leads", "E23", "Pages viewed"), ("Leads", "B25", "Nowhere"))
        _, errors = check(demo_book_path)
        error_at(errors, "Leads!I24", "Cost must be > 0, got -5")
        error_at(errors, "Leads!B25", "source 'Nowhere' is not in Sources")


class TestFormulaLikeTextIsWrittenAsText:
    def test_the_log_user(self, tmp_path):
        from leadbook.workbook.jobs.refresh import new

        path = new(tmp_path / "book.xlsx")
        wb = openpyxl.load_workbook(path)
        append_log(wb, "check", "listed", user='=HYPERLINK("http://x","y")')
        wb.save(path)
        cell = next(
            c
            for row in openpyxl.load_workbook(path)["Log"].iter_rows()
            for c in row
            if c.value == '=HYPERLINK("http://x","y")'
        )
        assert cell.data_type == "s"

    def test_lead_ids_in_the_scored_csv(self, demo_book_path, tmp_path):
        from leadbook.demo import demo_leads
        from leadbook.leads.table import by_header

        leads = by_header(demo_leads())
        open_rows = leads.index[leads["Converted"].isna()][:3]
        leads.loc[open_rows, "Lead ID"] = ["=1+1", "@SUM(A1)", "+cmd"]
        leads.to_csv(tmp_path / "leads.csv", index=False)
        result = runner.invoke(
            app, ["score-leads", str(demo_book_path), "--leads", str(tmp_path / "leads.csv")]
        )
        assert result.exit_code == 0, result.output
        text = (tmp_path / "leads.scored.csv").read_text()
        for raw in ("=1+1", "@SUM(A1)", "+cmd"):
            assert f"\n'{raw}," in text and f"\n{raw}," not in text


def cfb(*names: str) -> bytes:
    """An OLE compound file's header and one directory sector naming ``names`` (the
    layout Excel's password-protected .xlsx has: EncryptionInfo, EncryptedPackage)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entries = b"".join(
        (n.encode("utf-16-le") + b"\0\0").ljust(64, b"\0")
        + (2 * len(n) + 2).to_bytes(2, "little")
        + bytes(62)
        for n in ("Root Entry", *names)
    )
    return header + entries.ljust(512, b"\0")


class TestFilesThatAreNotWorkbooks:
    def test_a_fifo_is_refused_before_it_is_opened(self, tmp_path):
        fifo = tmp_path / "pipe.xlsx"
        os.mkfifo(fifo)
        answers: list[Any] = []
        worker = threading.Thread(
            target=lambda: answers.append(runner.invoke(app, ["check", str(fifo)])), daemon=True
        )
        worker.start()
        worker.join(30)
        if worker.is_alive():  # the old code blocks in open(): release it, then fail
            with open(fifo, "wb"):
                pass
            pytest.fail("check waited on a FIFO")
        assert answers[0].exit_code == 2
        assert "pipe.xlsx: is a named pipe (FIFO), not a file" in answers[0].output

    @pytest.mark.parametrize("kind", ["fifo", "folder"])
    def test_new_force_over_what_is_not_a_file(self, tmp_path, kind):
        """``new --force`` reads the file it replaces (its VersionsKept, its digest): over a
        FIFO it waited for ever, over a folder it stopped with exit code 3."""
        target = tmp_path / "book.xlsx"
        os.mkfifo(target) if kind == "fifo" else target.mkdir()
        answers: list[Any] = []
        worker = threading.Thread(
            target=lambda: answers.append(runner.invoke(app, ["new", "--force", str(target)])),
            daemon=True,
        )
        worker.start()
        worker.join(30)
        if worker.is_alive():  # blocked in open(): release it, then fail
            with open(target, "wb"):
                pass
            worker.join(30)
            pytest.fail("new --force waited on a FIFO")
        assert answers[0].exit_code == 2, answers[0].output
        assert "book.xlsx: is a" in answers[0].output and "not a file" in answers[0].output

    def test_a_folder(self, tmp_path):
        (tmp_path / "book.xlsx").mkdir()
        with pytest.raises(WorkbookFileError, match=r"book\.xlsx: is a folder, not a file"):
            open_workbook(tmp_path / "book.xlsx")

    def test_an_encrypted_workbook_is_called_encrypted(self, tmp_path):
        path = tmp_path / "secret.xlsx"
        path.write_bytes(cfb("EncryptionInfo", "EncryptedPackage"))
        with pytest.raises(WorkbookFileError, match=r"is encrypted \(password-protected\)"):
            open_workbook(path)

    def test_an_old_xls_renamed(self, tmp_path):
        path = tmp_path / "old.xlsx"
        path.write_bytes(cfb("Workbook"))
        with pytest.raises(WorkbookFileError, match=r"old-format Excel \(\.xls\)"):
            open_workbook(path)

    def test_a_fifo_as_the_lead_file(self, demo_book_path, tmp_path):
        from leadbook.workbook.jobs.leads import score_leads

        fifo = tmp_path / "leads.csv"
        os.mkfifo(fifo)
        done: list[BaseException] = []

        def run() -> None:
            try:
                score_leads(demo_book_path, leads_file=fifo)
            except LeadbookError as exc:
                done.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(60)
        if worker.is_alive():
            with open(fifo, "wb"):
                pass
            pytest.fail("score-leads waited on a FIFO")
        assert done and "leads.csv: is a named pipe (FIFO)" in str(done[0])
