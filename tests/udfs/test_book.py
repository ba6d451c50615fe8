"""Reading a live workbook into openpyxl, and finding what a job changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import openpyxl
import pytest
import xlwings as xw
from openpyxl.worksheet.table import Table

from leadbook.errors import WorkbookFileError
from tests.udfs.officejs import book_payload
from udfs.book import changes, mirror, refuse_moved_tables
from udfs.formula_cells import FormulasError, sent_formulas


def test_mirror_keeps_cells_in_place_and_leaves_other_tabs_out(demo_book_path):
    payload = book_payload(demo_book_path)
    sources = next(s for s in payload["sheets"] if s["name"] == "Sources")
    last = sources["used_range_address"].split(":")[1]
    sources["used_range_address"] = f"C3:{last}"  # a used range that does not start at A1
    payload["sheets"].append({**sources, "name": "My notes", "tables": []})
    wb = mirror(xw.Book(json=payload))
    original = openpyxl.load_workbook(demo_book_path, data_only=True)
    assert wb["Sources"]["J13"].value == original["Sources"]["J13"].value == 156
    assert wb["Sources"]["A13"].value is None  # left of the used range
    assert "My notes" not in wb.sheetnames
    assert wb["Sources"].tables["Sources"].ref == original["Sources"].tables["Sources"].ref


def test_a_number_saved_and_read_back_is_no_change(tmp_path):
    # Excel sent 0.43683083511777304; openpyxl saves 16 significant digits, and the job's
    # file gives back 0.436830835117773: the button must not write the cell back
    before = openpyxl.Workbook()
    before.active.title = "Sources"
    before.active["W13"] = 0.43683083511777304
    before.active["W14"] = 1.0
    before.save(tmp_path / "book.xlsx")
    after = openpyxl.load_workbook(tmp_path / "book.xlsx")
    after.active["W14"] = 1.000001  # a change a job makes is one
    assert [c.address for c in changes(before, after)] == ["W14:W14"]


def test_a_jobs_workbook_in_memory_changes_what_its_saved_file_changes(tmp_path):
    # a button diffs the workbook its job saved, still in memory (udfs.book._as_written):
    # what it writes must be what the saved file gives back, cell for cell
    before = openpyxl.Workbook()
    before.active.title = "Allocation"
    before.active["A1"] = "Allocation"
    after = openpyxl.Workbook()
    after.active.title = "Allocation"
    cells = {
        "A1": "Allocation",
        "B2": 0.43683083511777304,  # past the 16 digits a file keeps
        "B3": np.float64(394.79999999999995),
        "B4": np.int64(7),
        "B5": 3.0,
        "B6": dt.date(2026, 3, 1),
        "B7": float("nan"),  # saved as no value
        "B8": True,
    }
    for ref, value in cells.items():
        after.active[ref] = value
    after.save(tmp_path / "saved.xlsx")
    saved = openpyxl.load_workbook(tmp_path / "saved.xlsx")
    in_memory, from_file = changes(before, after), changes(before, saved)
    assert [c.cells for c in in_memory] == [c.cells for c in from_file]
    assert [c.address for c in in_memory] == ["B2:B6", "B8:B8"]
    assert all(type(v) is not np.int64 for c in in_memory for row in c.cells for v in row)


def test_changes_cover_changed_cells_with_their_formats_and_tables():
    before, after = openpyxl.Workbook(), openpyxl.Workbook()
    for wb in (before, after):
        wb.active.title = "Scores"
        wb.active["A1"] = "title"
    after.active["B4"] = 0.5
    after.active["B4"].number_format = "0.0%"
    after.active["C6"] = "=_xlfn.RANK.EQ(B4,B:B)"
    after.active["D5"] = "-5 % is text"
    (change,) = changes(before, after)
    assert (change.sheet, change.address) == ("Scores", "B4:D6")
    assert change.cells == [
        [0.5, None, None],
        [None, None, "'-5 % is text"],
        [None, "=RANK.EQ(B4,B:B)", None],
    ]
    assert ("B4:B4", "0.0%") in change.formats


class TestChangesWithTheFormulasExcelShows:
    """The job reads values, so the file it leaves holds formulas where the live workbook
    held numbers: a formula it wrote alike to the one Excel holds is no change."""

    def pair(self, written: str) -> tuple[openpyxl.Workbook, openpyxl.Workbook]:
        """F4 in the Scores table (A3:F5), whose columns Sources has too."""
        before, after = openpyxl.Workbook(), openpyxl.Workbook()
        for wb in (before, after):
            wb.active.title = "Scores"
            for c, header in enumerate(["Source", "Spend", "Performance", "D", "E", "Score"], 1):
                wb.active.cell(3, c, header)
            wb.active.add_table(Table(displayName="Scores", ref="A3:F5"))
        before.active["F4"] = 0.71  # the value Excel showed for its formula
        after.active["F4"] = written
        return before, after

    @pytest.mark.parametrize(
        "written",
        [
            "=Scores[[#This Row],[Performance]]*WeightPerformance",  # the file's form
            "=[@Performance]*WeightPerformance",  # Excel's
        ],
    )
    def test_the_formula_excel_holds_is_not_written_again(self, written):
        before, after = self.pair(written)
        shown = {"Scores": {(4, 6): "=[@Performance]*WeightPerformance"}}
        assert changes(before, after, shown) == []
        assert [c.address for c in changes(before, after)] == ["F4:F4"]  # values alone

    def test_another_formula_is_written(self):
        before, after = self.pair("=[@Performance]*WeightRisk")
        shown = {"Scores": {(4, 6): "=[@Performance]*WeightPerformance"}}
        (change,) = changes(before, after, shown)
        assert change.cells == [["=[@Performance]*WeightRisk"]]

    def test_text_that_looks_like_the_formula_is_written(self):
        before, after = self.pair("=[@Performance]*WeightPerformance")
        after.active["F4"].data_type = "s"  # text, not a formula
        shown = {"Scores": {(4, 6): "=[@Performance]*WeightPerformance"}}
        assert [c.address for c in changes(before, after, shown)] == ["F4:F4"]

    @pytest.mark.parametrize("shown", ["=[@Spend]*2", "=Scores[@Spend]*2", "=scores[@Spend]*2"])
    def test_this_row_of_its_own_table_is_the_files_form(self, shown):
        before, after = self.pair("=Scores[[#This Row],[Spend]]*2")
        assert changes(before, after, {"Scores": {(4, 6): shown}}) == []

    @pytest.mark.parametrize(
        ("written", "shown"),
        [
            # another table's row is not the cell's own table's row
            ("=Scores[[#This Row],[Spend]]*2", "=Sources[@Spend]*2"),
            ("=Sources[[#This Row],[Spend]]*2", "=[@Spend]*2"),
            # text in quotes is text, not a reference or a function's prefix
            ('="Scores[[#This Row],[Spend]]"', '="[@Spend]"'),
            ('="_xlfn.RANK"&[@Spend]', '="RANK"&[@Spend]'),
        ],
    )
    def test_a_formula_alike_only_once_normalised_wrongly_is_written(self, written, shown):
        before, after = self.pair(written)
        (change,) = changes(before, after, {"Scores": {(4, 6): shown}})
        assert change.address == "F4:F4"


class TestSentFormulas:
    TABS = ("Allocation", "Sources", "My notes")

    def test_blocks_become_cells_and_other_tabs_are_left_out(self):
        sent = {
            "Allocation": {"=[@Spend]*2": ["H13:H15", "J2"]},
            "My notes": {"=1+1": ["A1"]},  # a user's own tab: no job reads it
        }
        found = sent_formulas(sent, self.TABS)
        assert found == {
            "Allocation": {(13, 8): "=[@Spend]*2", (14, 8): "=[@Spend]*2",
                           (15, 8): "=[@Spend]*2", (2, 10): "=[@Spend]*2"}
        }  # fmt: skip

    def test_none_sent_is_none(self):
        assert sent_formulas(None, self.TABS) is None

    @pytest.mark.parametrize(
        ("sent", "says"),
        [
            (["=1"], r"expected tab → formula → cells, got a list"),
            ({"Allocation": ["B5"]}, r"Allocation: expected formula → cells, got a list"),
            ({"Budget tab": {"=1": ["A1"]}}, r"'Budget tab' is not a tab of this workbook"),
            ({"Sources": {"1+1": ["A1"]}}, r"Sources: '1\+1' is not a formula"),
            ({"Sources": {"=" + "1" * 8192: ["A1"]}}, r"has at most 8192 characters"),
            ({"Sources": {"=1": "A1"}}, r"expected a list of cell addresses, got a str"),
            ({"Sources": {"=1": ["A0"]}}, r"'A0' is not a cell or block of cells"),
            ({"Sources": {"=1": ["XFE1"]}}, r"'XFE1' is not a cell"),
            ({"Sources": {"=1": ["A1048577"]}}, r"'A1048577' is not a cell"),
            ({"Sources": {"=1": ["B5:A1"]}}, r"'B5:A1' is not a cell"),
            ({"Sources": {"=1": [["A1"]]}}, r"is not a cell or block of cells"),
            ({"Sources": {"=1": ["A1"], "=2": ["A1:A2"]}}, r"Sources!A1: two formulas"),
            ({"Sources": {"=1": ["A1:XFD1048576"]}}, r"more than 1,000,000 formula cells"),
        ],
    )
    def test_anything_else_is_refused_saying_what_and_how_to_recover(self, sent, says):
        with pytest.raises(FormulasError, match=says) as caught:
            sent_formulas(sent, self.TABS)
        assert str(caught.value).startswith("leadbook cannot read the formulas the task pane")
        assert str(caught.value).endswith("Reload the task pane and press again")

    def test_every_problem_is_named_at_once(self):
        sent = {"Sources": {"1": ["A1"], "=2": ["A0"]}, "Nope": {}}
        with pytest.raises(FormulasError, match=r"'1' is not .*'A0' is not .*'Nope' is not"):
            sent_formulas(sent, self.TABS)

    def test_the_cap_counts_the_cells_of_every_tab(self):
        tabs = ["Allocation", "Sources"]
        sent = {tab: {"=1": ["A1:A600000"]} for tab in tabs}
        with pytest.raises(FormulasError, match=r"more than 1,000,000 formula cells"):
            sent_formulas(sent, tabs)

    def test_many_tabs_take_steps_in_proportion(self):
        """The request names the workbook's tabs too: 20,000 of them, a formula each, must
        not cost 20,000² steps (it took 9 s). Counted as comparisons of tab names, not timed:
        a lookup in a list compares with every tab before it, one in a set with the one."""
        compared = 0

        class CountedName(str):
            __hash__ = str.__hash__

            def __eq__(self, other):
                nonlocal compared
                compared += 1
                return str.__eq__(self, other)

        count = 2_000
        tabs = [CountedName(f"Tab {i}") for i in range(count)]
        sent = {"".join(tab): {"=1": ["A1"]} for tab in tabs}  # equal names, other objects
        sent_formulas(sent, tabs)
        assert 0 < compared <= 2 * count


def _with_table(name: str, sheet: str, ref: str) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.active.title = sheet
    for row in wb.active[ref]:
        for cell in row:
            cell.value = "x"
    wb.active.add_table(Table(displayName=name, ref=ref))
    return wb


class TestMovedTables:
    def test_a_table_resized_in_place_is_fine(self):
        before = _with_table("PortfolioForecast", "Forecast", "A43:J50")
        refuse_moved_tables(before, _with_table("PortfolioForecast", "Forecast", "A43:J91"))

    @pytest.mark.parametrize(
        ("sheet", "ref", "move"),
        [
            ("Forecast", "A43:J91", "PortfolioForecast (Forecast!I4 → Forecast!A43)"),
            ("Forecast detail", "I4:R52", "PortfolioForecast (Forecast!I4 → Forecast detail!I4)"),
        ],
    )
    def test_a_moved_table_is_refused_with_the_way_out(self, sheet, ref, move):
        before = _with_table("PortfolioForecast", "Forecast", "I4:R52")
        after = _with_table("PortfolioForecast", sheet, ref)
        with pytest.raises(WorkbookFileError, match="Excel cannot do in place") as caught:
            refuse_moved_tables(before, after)
        assert move in str(caught.value) and "Nothing was written" in str(caught.value)


def test_a_button_brings_back_only_what_its_job_changed_in_the_versions_folder(tmp_path):
    """A version a command keeps while a button runs is not lost; what the job pruned goes,
    what it added or appended to comes back."""
    from udfs.book import _copy_folder, _merge_back

    home, copy = tmp_path / "home", tmp_path / "copy"
    home.mkdir()
    (home / "old.bin").write_text("old")
    (home / "undo-log.jsonl").write_text("{}\n")
    copied = _copy_folder(home, copy)
    (home / "by-a-command.bin").write_text("kept meanwhile")
    (copy / "old.bin").unlink()  # pruned by the job
    (copy / "new.bin").write_text("new")
    (copy / "undo-log.jsonl").write_text("{}\n{}\n")
    _merge_back(copy, home, copied)
    assert sorted(p.name for p in home.iterdir()) == [
        "by-a-command.bin",
        "new.bin",
        "undo-log.jsonl",
    ]
    assert (home / "undo-log.jsonl").read_text() == "{}\n{}\n"


def _pressed(path, identity="0123456789abcdef0123456789abcdef"):
    """The workbook at ``path`` as Office.js sends it, with the identity an earlier press
    gave it (so two presses share its folder under LEADBOOK_FILES)."""
    from udfs.book import BOOK_ID_NAME

    payload = book_payload(path)
    payload["names"].append(
        {"name": BOOK_ID_NAME, "refers_to": f'="{identity}"', "book_scope": True,
         "scope_sheet_name": None, "scope_sheet_index": None, "sheet_index": None,
         "address": None}
    )  # fmt: skip
    return xw.Book(json=payload)


def press_during(first: Any, second: Any, job: Any, other: Any, **options: Any) -> list:
    """Press ``first`` (running ``job``) and, while its job runs, ``second`` (running
    ``other``) from another thread, as two users or a double click do; what the second
    press raised."""
    import threading

    from udfs.book import run_job

    raised: list[BaseException] = []

    def press_second() -> None:
        try:
            run_job(second, other, **options)
        except BaseException as exc:
            raised.append(exc)

    def during(path):
        thread = threading.Thread(target=press_second)
        thread.start()
        thread.join()
        return job(path)

    run_job(first, during, **options)
    return raised


def test_a_second_press_on_a_workbook_while_a_button_runs_is_refused(demo_book_path):
    """Two presses on one workbook (two users, or a double click) each run on their own
    copy: both used to succeed, and the second's write-back took the first's Log row away."""
    from leadbook.workbook.jobs import refresh as jobs

    first, second = _pressed(demo_book_path), _pressed(demo_book_path)
    raised = press_during(first, second, lambda path: jobs.check(path, write=True), jobs.refresh)
    assert len(raised) == 1 and isinstance(raised[0], WorkbookFileError)
    assert "another leadbook job is writing demo.xlsx" in str(raised[0])
    assert second.json()["actions"] == []
    assert first.json()["actions"] != []


def test_a_button_and_a_command_on_one_workbook_take_turns(demo_book_path, monkeypatch):
    """The classic add-in's button keeps its files beside the workbook file: it holds the
    same lock as a command on that file."""
    from leadbook.workbook.jobs import refresh as jobs
    from leadbook.workbook.write import one_job
    from udfs import book as book_module
    from udfs.book import run_job

    monkeypatch.setattr(book_module, "_own_folder", lambda book: demo_book_path.parent)
    with one_job(demo_book_path):
        busy = None
        import threading

        def press():
            nonlocal busy
            try:
                run_job(_pressed(demo_book_path), jobs.refresh)
            except WorkbookFileError as exc:
                busy = exc

        thread = threading.Thread(target=press)
        thread.start()
        thread.join()
    assert busy is not None and "another leadbook job is writing demo.xlsx" in str(busy)


def test_a_kill_while_a_button_brings_back_the_model_folder_loses_no_model(tmp_path):
    """The lead model folder a button copies back beside the workbook: killed between
    removing the old folder and renaming the new one in, the next press found no model."""
    import signal
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    from udfs.book import _copy_folder

    home, copy = tmp_path / "home" / "demo.leadbook-model", tmp_path / "copy" / "model"
    home.mkdir(parents=True)
    (home / "model-old.skops").write_bytes(b"old model")
    copy.mkdir(parents=True)
    (copy / "model-new.skops").write_bytes(b"new model")
    code = textwrap.dedent(
        """
        import os, signal, sys
        from pathlib import Path
        real = os.rename
        def rename(src, dst, *args, **kwargs):
            if Path(src).name.endswith(".leadbook-new"):
                os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst, *args, **kwargs)
        os.rename = rename
        from udfs.book import _copy_folder
        _copy_folder(Path(sys.argv[1]), Path(sys.argv[2]))
        """
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code, str(copy), str(home)], cwd=repo, capture_output=True
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    again = tmp_path / "again" / "model"
    found = _copy_folder(home, again)  # the next press copies the model in
    assert found == {"model-old.skops": len(b"old model")}
    assert (again / "model-old.skops").read_bytes() == b"old model"


def test_the_pane_formulas_put_into_the_saved_copy_read_as_set_and_saved(demo_book_path):
    # the version Undo reads gets the pane's formulas patched into the copy's saved XML
    # (udfs.formula_cells): it must read back cell for cell as the copy with them set and saved
    import io

    from tests.udfs.officejs import formulas_arg
    from udfs.book import save_quietly
    from udfs.formula_cells import with_formulas

    copy = mirror(xw.Book(json=book_payload(demo_book_path)))
    sent = sent_formulas(formulas_arg(demo_book_path), copy.sheetnames)
    assert sent is not None and sum(len(cells) for cells in sent.values()) > 1000
    sent["Allocation"][(90, 40)] = '=A1&"<b>"'  # past the tab's cells, and text to escape
    buffer = io.BytesIO()
    save_quietly(copy, buffer)
    patched = openpyxl.load_workbook(io.BytesIO(with_formulas(buffer.getvalue(), sent)))
    for tab, cells in sent.items():
        for (r, c), formula in cells.items():
            copy[tab].cell(r, c).value = formula
    buffer = io.BytesIO()
    save_quietly(copy, buffer)
    resaved = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    assert patched.sheetnames == resaved.sheetnames
    for ws in resaved.worksheets:
        other = patched[ws.title]
        assert other.calculate_dimension() == ws.calculate_dimension()
        assert {t.displayName: t.ref for t in other.tables.values()} == {
            t.displayName: t.ref for t in ws.tables.values()
        }
        cells = {
            (c.coordinate, c.value, c.data_type, c.number_format)
            for row in ws.iter_rows()
            for c in row
        }
        assert cells == {
            (c.coordinate, c.value, c.data_type, c.number_format)
            for row in other.iter_rows()
            for c in row
        }
    assert patched["Allocation"]["AN90"].value == '=A1&"<b>"'


def test_the_mirror_read_in_memory_is_the_saved_copy_read(demo_book_path, tmp_path):
    """Rebalance reads its inputs from the mirror in memory, every other button from the copy
    saved of it: with Excel's 17 digits, a text's carriage returns and a whole number past 16
    digits in the live inputs, both give the same book, fingerprints included."""
    from leadbook import contract as C
    from leadbook.workbook.read import inspect_book, inspect_workbook, read_book
    from udfs.book import save_quietly

    payload = book_payload(demo_book_path)
    sources = next(s for s in payload["sheets"] if s["name"] == C.SOURCES.name)
    row = sources["values"][12]  # row 13, the first source
    keys = C.SOURCES_TABLE.keys
    row[keys.index("spend")] = 127296.90503549999  # 17 digits; the file keeps 16
    row[keys.index("vendor")] = "Acme\r\nEast\r"
    row[keys.index("buyers")] = 12345678901234567890  # out of range: both name it
    wb = mirror(xw.Book(json=payload))
    copy = tmp_path / "copy.xlsx"
    save_quietly(wb, copy)
    in_memory, problems = inspect_workbook(wb)
    _, on_file_problems = inspect_book(copy)
    assert [str(p) for p in problems] == [str(p) for p in on_file_problems]
    assert any("Sources!E13" in str(p) for p in problems), problems
    row[keys.index("buyers")] = 1
    wb = mirror(xw.Book(json=payload))
    save_quietly(wb, copy)
    in_memory, _ = inspect_workbook(wb)
    on_file = read_book(copy)
    assert in_memory is not None
    for name in ("sources", "price_tiers", "history"):
        a, b = getattr(in_memory.inventory, name), getattr(on_file.inventory, name)
        assert a.equals(b) and (a.dtypes == b.dtypes).all(), name
    assert in_memory.inventory.sources["vendor"].iloc[0] == "Acme\nEast"  # as read back
    for group in ("Sources", "History", "Settings"):
        assert in_memory.fingerprints.of(C.ALLOCATION.name, group) == on_file.fingerprints.of(
            C.ALLOCATION.name, group
        )
