"""The buttons, called through xlwings Server's script endpoint with the workbook as Excel
sends it; their actions are replayed on a copy and compared with what the command line
writes to another copy of the same workbook."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
import xlwings as xw
from openpyxl.worksheet.table import Table
from typer.testing import CliRunner

from leadbook import contract as C
from leadbook.cli import app
from leadbook.workbook.jobs.build import build_workbook
from leadbook.workbook.jobs.refresh import REFRESH_TABS, demo_book
from leadbook.workbook.provenance import parse_stamp, read_stamp
from leadbook.workbook.write import save_new
from tests.conftest import set_setting
from tests.udfs.conftest import copy_book
from tests.udfs.officejs import apply_actions, book_payload, formulas_arg, table_cells
from udfs import book as book_module
from udfs import scripts
from udfs.book import BOOK_ID_NAME
from udfs.convert import as_typed

OUTPUT_TABLES = {
    "refresh": tuple(t.name for tab in REFRESH_TABS for t in C.sheet(tab).tables),
    "check_inputs": ("Problems",),
}
CLI_COMMAND = {"refresh": ["refresh"], "check_inputs": ["check", "--write"]}
SOURCES_FIRST_ROW = 13  # the Sources table's header is row 12 (contract anchor A12)


def press(
    client, script: str, path: Path, *, identity: str | None = None, full_name=False, args=None
):
    """Press a button on the workbook at ``path``: the response of the script endpoint.
    ``identity``: the workbook's LeadbookBookId, as if an earlier press had given it one;
    ``args``: the script's arguments (leadbook's task pane sends the workbook's formulas)."""
    payload = book_payload(path, args, full_name=full_name)
    if identity is not None:
        payload["names"].append(
            {"name": BOOK_ID_NAME, "refers_to": f'="{identity}"', "type": "String",
             "book_scope": True,
             "scope_sheet_name": None, "scope_sheet_index": None, "sheet_index": None,
             "address": None}
        )  # fmt: skip
    return client.post(f"/xlwings/custom-scripts-call/{script}", json=payload)


def files_of(path: Path, root: Path, identity: str | None = None) -> Path:
    """Where the buttons keep the files of the workbook at ``path`` (its identity: the
    ``LeadbookBookId`` the file holds, or ``identity``) under ``LEADBOOK_FILES`` = ``root``,
    with nobody signed in."""
    if identity is None:
        text = openpyxl.load_workbook(path).defined_names[BOOK_ID_NAME].attr_text
        identity = text.strip('"')
    return root / "shared" / identity


IDENTITY = "0123456789abcdef0123456789abcdef"


def replayed(path: Path, actions: list[dict]) -> openpyxl.Workbook:
    wb = openpyxl.load_workbook(path)
    apply_actions(wb, actions)
    return wb


def run_cli(args: list[str], path: Path) -> openpyxl.Workbook:
    result = CliRunner().invoke(app, [*args, str(path)])
    assert result.exit_code in (0, 1), result.output
    return openpyxl.load_workbook(path)


def set_input(path: Path, cell: str, value: object) -> None:
    """Change one input cell of the Sources tab, as a user would in Excel."""
    wb = openpyxl.load_workbook(path)
    wb["Sources"][cell] = value
    wb.save(path)


def twins(path: Path, tmp_path: Path) -> tuple[Path, Path]:
    cli, button = tmp_path / "cli.xlsx", tmp_path / "button.xlsx"
    shutil.copy(path, cli)
    shutil.copy(path, button)
    return cli, button


@pytest.fixture
def inputs_only(tmp_path: Path) -> Path:
    """The demo's inputs in a workbook whose output tabs are still empty."""
    book = demo_book()
    rendered = build_workbook(book.inventory, book.settings, book.stated)
    return save_new(rendered.workbook, tmp_path / "inputs.xlsx")


def assert_same_tables(script: str, button: openpyxl.Workbook, cli: openpyxl.Workbook) -> None:
    """The same tables, cell by cell; a formula the button typed (``=RANK.EQ(…)``) equals the
    file's (``=_xlfn.RANK.EQ(…)``), as Excel adds the prefix when it saves."""
    for name in OUTPUT_TABLES[script]:
        ref, cells = table_cells(cli, name)
        typed = [[as_typed(v) if isinstance(v, str) else v for v in row] for row in cells]
        assert table_cells(button, name) == (ref, typed), name
    *_, button_log = table_cells(button, "Log")[1]
    *_, cli_log = table_cells(cli, "Log")[1]
    assert button_log[1:] == cli_log[1:]  # command, user, what changed (not the time)


class TestRefresh:
    def test_fills_empty_tabs_exactly_as_the_cli(self, client, inputs_only, tmp_path):
        cli, button = twins(inputs_only, tmp_path)
        response = press(client, "refresh", button)
        assert response.status_code == 200, response.text
        wb = replayed(button, response.json()["actions"])
        assert_same_tables("refresh", wb, run_cli(CLI_COMMAND["refresh"], cli))
        ref, cells = table_cells(wb, "Scores")
        assert ref == "A3:P14"  # grown from one empty row to the 11 demo sources
        assert cells[1][0] == "Premium comparison sites"
        rank = cells[1][C.SCORES_TABLE.keys.index("rank")]
        assert rank == "=RANK.EQ(Scores[[#This Row],[Composite]],Scores[Composite],0)"

    def test_follows_an_input_change_as_the_cli(self, client, demo_book_path, tmp_path):
        cli, button = twins(demo_book_path, tmp_path)
        for path in (cli, button):
            set_input(path, f"N{SOURCES_FIRST_ROW + 1}", 2.5)  # Insurance aggregators' health
        before = table_cells(openpyxl.load_workbook(button), "Classes")
        wb = replayed(button, press(client, "refresh", button).json()["actions"])
        assert_same_tables("refresh", wb, run_cli(CLI_COMMAND["refresh"], cli))
        assert table_cells(wb, "Classes") != before
        assert table_cells(wb, "Classes")[1][2][5] == "High"  # health 2.5 < 3: High risk

    def test_recreates_a_deleted_output_tab_as_the_cli(self, client, demo_book_path, tmp_path):
        wb = openpyxl.load_workbook(demo_book_path)
        del wb["Scores"]
        wb.save(demo_book_path)
        cli, button = twins(demo_book_path, tmp_path)
        actions = press(client, "refresh", button).json()["actions"]
        assert {"addSheet", "addTable"} <= {a["func"] for a in actions}
        wb, want = replayed(button, actions), run_cli(CLI_COMMAND["refresh"], cli)
        assert_same_tables("refresh", wb, want)
        assert wb.sheetnames == want.sheetnames  # where the command puts it: after Tiers
        assert wb.sheetnames.index("Scores") == wb.sheetnames.index("Tiers") + 1

    def test_writes_output_tabs_and_the_log_only(self, client, inputs_only):
        response = press(client, "refresh", inputs_only)
        sheets = openpyxl.load_workbook(inputs_only).sheetnames
        actions = response.json()["actions"]
        written = {sheets[a["sheet_position"]] for a in actions if a["func"] != "namesAdd"}
        # the Decisions tab, with nothing recommended or accepted yet, is rendered as it was
        assert written == {*REFRESH_TABS, "Log"} - {C.DECISIONS.name}
        # And the workbook's identity, which the files kept for it are filed under.
        (named,) = [a["args"] for a in actions if a["func"] == "namesAdd"]
        assert named[0] == "LeadbookBookId" and re.fullmatch(r'="[0-9a-f]{32}"', named[1])

    def test_an_input_error_is_its_message_and_writes_nothing(self, client, demo_book_path):
        set_input(demo_book_path, f"J{SOURCES_FIRST_ROW + 2}", -3)
        response = press(client, "refresh", demo_book_path)
        assert response.status_code == 400
        assert response.text == "Sources!J15: CPL must be > 0, got -3"

    def test_a_failed_script_queues_no_action(self, demo_book_path):
        set_input(demo_book_path, f"J{SOURCES_FIRST_ROW + 2}", -3)
        book = xw.Book(json=book_payload(demo_book_path))
        with pytest.raises(xw.XlwingsError, match=r"Sources!J15: CPL must be > 0, got -3"):
            unwrapped(scripts.refresh)(book)
        assert book.json()["actions"] == []

    def test_pressed_directly_as_plain_python(self, inputs_only, tmp_path):
        """No server: the script called with a Book of the payload, as xlwings Lite does."""
        cli, button = twins(inputs_only, tmp_path)
        book = xw.Book(json=book_payload(button))
        unwrapped(scripts.refresh)(book)
        wb = replayed(button, book.json()["actions"])
        assert_same_tables("refresh", wb, run_cli(CLI_COMMAND["refresh"], cli))


class TestCheckInputs:
    def test_lists_the_problems_the_cli_lists(self, client, demo_book_path, tmp_path):
        cli, button = twins(demo_book_path, tmp_path)
        for path in (cli, button):
            set_input(path, f"J{SOURCES_FIRST_ROW + 2}", -3)
            set_input(path, f"C{SOURCES_FIRST_ROW}", "vendor")
        response = press(client, "check_inputs", button)
        assert response.status_code == 200, response.text
        wb = replayed(button, response.json()["actions"])
        assert_same_tables("check_inputs", wb, run_cli(CLI_COMMAND["check_inputs"], cli))
        problems = {tuple(row) for row in table_cells(wb, "Problems")[1][1:]}
        assert ("Sources!J15", "CPL must be > 0, got -3", "error") in problems
        assert ("Sources!C13", "Party must be one of: first-party, third-party; got 'vendor'",
                "error") in problems  # fmt: skip

    def test_a_shorter_list_clears_the_old_rows(self, client, demo_book_path, tmp_path):
        set_input(demo_book_path, f"J{SOURCES_FIRST_ROW + 2}", -3)
        set_input(demo_book_path, f"C{SOURCES_FIRST_ROW}", "vendor")
        wb = replayed(
            demo_book_path, press(client, "check_inputs", demo_book_path).json()["actions"]
        )
        wb.save(demo_book_path)
        _, cells = table_cells(wb, "Problems")
        assert [r[0] for r in cells if r[2] == "error"] == ["Sources!C13", "Sources!J15"]
        longer = len(cells)
        set_input(demo_book_path, f"C{SOURCES_FIRST_ROW}", "third-party")  # fixed
        cli, button = twins(demo_book_path, tmp_path)
        wb = replayed(button, press(client, "check_inputs", button).json()["actions"])
        assert_same_tables("check_inputs", wb, run_cli(CLI_COMMAND["check_inputs"], cli))
        ref, cells = table_cells(wb, "Problems")
        assert [r for r in cells if r[2] == "error"] == [
            ["Sources!J15", "CPL must be > 0, got -3", "error"]
        ]
        assert len(cells) == longer - 1 and ref == f"A33:C{33 + len(cells) - 1}"
        assert wb["Start"][f"A{33 + len(cells)}"].value is None  # the old last row is cleared


def unwrapped(script):
    """A script as plain Python: in server mode @script wraps it in an async function."""
    return script.__wrapped__ if hasattr(script, "__xlscript__") else script


BUTTONS = {
    # script: (the command line that runs the same job, the tabs both write besides Log)
    # (the Board and Maturity summarise the tabs they read, so they follow those)
    "rebalance": (["rebalance"], ("Allocation", "Decisions", "Board", "Maturity")),  # its log row
    "compare_scenarios": (["whatif"], ("What-if",)),
    "refresh_forecast": (["forecast"], ("Forecast", "Forecast detail", "Board", "Maturity")),
    "plan_hiring": (["plan"], ("Hiring",)),
    "score_leads": (["score-leads"], ("Leads", "Board", "Maturity")),
    "export_board_pack": (["board"], ("Board", "Maturity")),
}

APPENDED = {"Decisions"}
"""Tabs a button's job appends rows to without rendering them again (no new stamp)."""


def sheet_cells(ws) -> dict[str, object]:
    """Every non-empty cell of a tab, formulas as one types them; a stamp without its time and
    without who ran the job (a button, or the command line)."""
    return {
        c.coordinate: _unstamped(as_typed(c.value)) if isinstance(c.value, str) else c.value
        for row in ws.iter_rows()
        for c in row
        if c.value is not None and c.value != ""
    }


def _unstamped(text: str) -> str:
    stamp = parse_stamp(text)
    if stamp is None:
        return text
    command = stamp.command.split(" (")[0]
    return f"{command} · {dict(stamp.inputs)} · reads {sorted(stamp.reads)}"


def assert_same_cells(button, cli, where: str) -> None:
    """The same cells; two times count as the same when within ten minutes (a tab may
    stamp when it was written, and the two runs are seconds apart), two numbers when they
    differ only in the last bits (875 and 874.999999999999)."""
    got, want = sheet_cells(button), sheet_cells(cli)
    assert got.keys() == want.keys(), where
    for key, value in want.items():
        if isinstance(value, dt.datetime) and isinstance(got[key], dt.datetime):
            assert abs(got[key] - value) < dt.timedelta(minutes=10), (where, key)
        elif isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-12), (where, key)
        else:
            assert got[key] == value, (where, key)


class TestEveryButtonAsTheCli:
    """Each button on one copy of the demo workbook, its command on another: the tabs they
    write are the same cell by cell, and so is the Log row (but its time)."""

    @pytest.mark.parametrize("script", BUTTONS)
    def test_writes_the_tabs_the_cli_writes(
        self, client, scored_demo, tmp_path, monkeypatch, script
    ):
        command, tabs = BUTTONS[script]
        cli = copy_book(scored_demo, tmp_path / "cli")
        button = copy_book(scored_demo, tmp_path / "button")
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))  # Office.js: no folder
        copy_book(button, files_of(button, tmp_path / "files", IDENTITY))  # its lead model
        response = press(client, script, button, identity=IDENTITY)
        assert response.status_code == 200, response.text
        actions = response.json()["actions"]
        sheets = openpyxl.load_workbook(button).sheetnames
        assert {sheets[a["sheet_position"]] for a in actions} == {*tabs, "Log"}
        wb, want = replayed(button, actions), run_cli(command, cli)
        for tab in tabs:
            assert_same_cells(wb[tab], want[tab], tab)
            if tab not in APPENDED:
                assert read_stamp(wb[tab]).command == f"{command[0]} (Excel button)"
        *_, button_log = table_cells(wb, "Log")[1]
        *_, cli_log = table_cells(want, "Log")[1]
        assert button_log[1:] == cli_log[1:]

    def test_the_board_pack_lands_beside_the_workbook(
        self, client, calculated_demo, tmp_path, monkeypatch
    ):
        """The pack copies tabs as values: from a workbook whose formulas have their values
        (as Excel saves it), the button's pack and the command's are the same."""
        cli = copy_book(calculated_demo, tmp_path / "cli")
        button = copy_book(calculated_demo, tmp_path / "button")
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        assert press(client, "export_board_pack", button, identity=IDENTITY).status_code == 200
        run_cli(["board"], cli)
        (pack,) = files_of(button, tmp_path / "files", IDENTITY).glob("demo-board-*.xlsx")
        assert pack.name == "demo-board-2026Q4.xlsx"  # History ends in Oct 2026
        cli_pack = openpyxl.load_workbook(cli.parent / pack.name)
        button_pack = openpyxl.load_workbook(pack)
        assert button_pack.sheetnames == cli_pack.sheetnames
        for sheet in cli_pack.sheetnames[1:]:  # the Cover stamps the time it was made
            assert_same_cells(button_pack[sheet], cli_pack[sheet], f"pack {sheet}")
        cover, cli_cover = sheet_cells(button_pack["Cover"]), sheet_cells(cli_pack["Cover"])
        assert cover.keys() == cli_cover.keys()
        # the Exported line, where the facts above it leave it
        at = next(k for k, v in cover.items() if v == "Exported").replace("B", "C")
        assert cover[at].endswith("from demo.xlsx") and cli_cover[at].endswith("from demo.xlsx")

    def test_board_pdf_yes_puts_the_pdf_beside_the_workbook_too(
        self, client, demo_book_path, tmp_path, monkeypatch
    ):
        from leadbook.workbook.jobs import pack
        from tests.test_pack import fake_pdf

        monkeypatch.setattr(pack, "convert", fake_pdf)
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        set_setting(demo_book_path, "BoardPDF", "yes")
        response = press(client, "export_board_pack", demo_book_path, identity=IDENTITY)
        assert response.status_code == 200, response.text
        home = files_of(demo_book_path, tmp_path / "files", IDENTITY)
        assert sorted(p.name for p in home.glob("demo-board-*")) == [
            "demo-board-2026Q4.pdf",
            "demo-board-2026Q4.xlsx",
        ]

    def test_glide_weeks_makes_the_rebalance_button_plan_a_path(
        self, client, demo_book_path, tmp_path, monkeypatch
    ):
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        set_setting(demo_book_path, "GlideWeeks", 3)
        response = press(client, "rebalance", demo_book_path, identity=IDENTITY)
        assert response.status_code == 200, response.text
        ws = replayed(demo_book_path, response.json()["actions"])[C.ALLOCATION.name]
        headers = [c.value for c in ws[ws.tables["GlidePath"].ref][0]]
        assert headers[:3] == ["Source", "Today", "Week 1"] and headers[-1] == "Week 3"

    def test_a_path_in_the_books_name_chooses_no_folder(
        self, client, demo_book_path, tmp_path, monkeypatch
    ):
        """Office.js's book name comes with the request: a full path in it is not trusted."""
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        target = elsewhere / demo_book_path.name
        shutil.copy(demo_book_path, target)
        before = sorted(p.name for p in elsewhere.iterdir())
        assert press(client, "export_board_pack", target, full_name=True).status_code == 200
        assert sorted(p.name for p in elsewhere.iterdir()) == before
        assert list((tmp_path / "files" / "shared").glob("*/demo-board-*.xlsx"))

    def test_a_long_book_name_works_like_a_short_one(
        self, client, demo_book_path, tmp_path, monkeypatch
    ):
        """80 Japanese characters are 240 bytes: a file name the system takes, but not its
        lock's or temporary file's, so every button on such a workbook answered "internal
        error … Please report it"."""
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        book = demo_book_path.rename(demo_book_path.with_name("売上" * 40 + ".xlsx"))
        response = press(client, "check_inputs", book)
        assert response.status_code == 200, response.text

    def test_a_failed_export_leaves_no_pack(self, client, demo_book_path, tmp_path, monkeypatch):
        """The job makes its pack, then the button refuses (a table it would move): the pack
        stays in the job's temporary folder."""
        from openpyxl.utils.cell import get_column_letter, range_boundaries

        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        wb = openpyxl.load_workbook(demo_book_path)
        board = wb["Board"]
        table = board.tables["BoardHistory"]
        left, top, right, bottom = range_boundaries(table.ref)
        for row in range(bottom, top - 1, -1):
            for col in range(right, left - 1, -1):
                board.cell(row, col + 3).value = board.cell(row, col).value
                board.cell(row, col).value = None
        table.ref = f"{get_column_letter(left + 3)}{top}:{get_column_letter(right + 3)}{bottom}"
        table.autoFilter.ref = table.ref
        wb.save(demo_book_path)
        response = press(client, "export_board_pack", demo_book_path)
        assert response.status_code == 400, response.text
        assert not list(tmp_path.glob("files/**/*-board-*.xlsx"))

    def test_score_leads_without_its_model_says_how_to_recover(
        self, client, demo_book_path, tmp_path, monkeypatch
    ):
        """The workbook records a lead model, but the folder the button looks in has none."""
        from leadbook.leads.store import model_dir

        shutil.rmtree(model_dir(demo_book_path))
        folder = tmp_path / "files"
        monkeypatch.setenv("LEADBOOK_FILES", str(folder))
        response = press(client, "score_leads", demo_book_path)
        assert response.status_code == 400  # the workbook records a model that is gone
        assert "is missing from demo.leadbook-model beside the workbook" in response.text
        assert "press Score leads (retrain) in Excel" in response.text
        assert "/tmp" not in response.text and "leadbook-" not in response.text.split("model")[0]
        assert not folder.exists()  # a failed press keeps nothing

    def test_score_leads_retrain_trains_afresh_as_the_cli(
        self, client, scored_demo, tmp_path, monkeypatch
    ):
        """The retrain button scores the open leads as ``score-leads --retrain`` does (the
        model file differs only by its training time)."""
        cli = copy_book(scored_demo, tmp_path / "cli")
        button = copy_book(scored_demo, tmp_path / "button")
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        response = press(client, "score_leads_retrain", button)
        assert response.status_code == 200, response.text
        wb = replayed(button, response.json()["actions"])
        want = run_cli(["score-leads", "--retrain"], cli)
        _, got_rows = table_cells(wb, "Leads")
        _, want_rows = table_cells(want, "Leads")
        column = got_rows[0].index("Probability")
        assert [r[column] for r in got_rows] == [r[column] for r in want_rows]
        assert "trained and recorded" in table_cells(wb, "Log")[1][-1][-1]

    def test_score_leads_keeps_the_model_it_trains_for_the_next_press(
        self, client, demo_book_path, tmp_path, monkeypatch
    ):
        """No model recorded: the button trains one, and keeps its file where the next press
        (which loads it, hash verified) finds it."""
        from leadbook.leads.store import model_dir

        wb = openpyxl.load_workbook(demo_book_path)
        wb["Leads"]["B5"] = None  # LeadModelHash: the workbook records no model
        wb.save(demo_book_path)
        shutil.rmtree(model_dir(demo_book_path))
        folder = tmp_path / "files"
        monkeypatch.setenv("LEADBOOK_FILES", str(folder))
        first = press(client, "score_leads", demo_book_path)
        assert first.status_code == 200, first.text
        wb = replayed(demo_book_path, first.json()["actions"])
        wb.save(demo_book_path)
        recorded = wb["Leads"]["B5"].value
        files = files_of(demo_book_path, folder)  # the identity the first press gave it
        kept = [p.name for p in model_dir(files / demo_book_path.name).glob("model-*.zip")]
        assert kept == [f"model-{recorded[:16]}.zip"]
        second = press(client, "score_leads", demo_book_path)
        assert second.status_code == 200, second.text
        log = table_cells(replayed(demo_book_path, second.json()["actions"]), "Log")[1][-1]
        assert "(hash verified)" in log[-1] and recorded[:12] in log[-1]

    def test_rebalance_of_an_infeasible_policy_marks_the_tab_stale_and_says_why(
        self, client, demo_book_path
    ):
        set_setting(demo_book_path, "Budget", 250_000)
        response = press(client, "rebalance", demo_book_path)
        assert response.status_code == 200, response.text
        actions = response.json()["actions"]
        (alert,) = [a for a in actions if a["func"] == "alert"]
        message, title = alert["args"][:2]
        assert title == "leadbook: the policy cannot be met"
        assert message.startswith("The policy cannot be met: ")
        assert "Premium comparison sites may fall at most 15 % a week" in message
        wb = replayed(demo_book_path, [a for a in actions if a["func"] != "alert"])
        status = C.NAMED_CELLS["RebalanceStatus"]
        assert wb[status.sheet][status.cell].value.startswith("stale — Rebalance at ")
        allocation = table_cells(openpyxl.load_workbook(demo_book_path), "Allocation")
        assert table_cells(wb, "Allocation") == allocation  # the old recommendation stays

    @pytest.mark.parametrize("script", BUTTONS)
    def test_every_button_has_a_classic_entry_point(self, script):
        assert callable(getattr(scripts, f"{script}_caller"))


def recommended(path: Path) -> list[float]:
    """The Allocation table's Recommended column (values rebalance computes)."""
    _, cells = table_cells(openpyxl.load_workbook(path), "Allocation")
    column = cells[0].index("Recommended")
    return [row[column] for row in cells[1:]]


def log_commands(path: Path) -> list[str]:
    return [row[1] for row in table_cells(openpyxl.load_workbook(path), "Log")[1][1:]]


class TestUndo:
    """Undo puts back what leadbook's tabs showed before the last button, one press at a time,
    from the values every button keeps beside the workbook."""

    def press_and_save(self, client, script: str, path: Path, **how) -> list[dict]:
        """Press a button and keep its writes in the file, as Excel would."""
        response = press(client, script, path, **how)
        assert response.status_code == 200, response.text
        actions = response.json()["actions"]
        replayed(path, actions).save(path)
        return actions

    def test_walks_back_two_rebalances_and_leaves_the_inputs(
        self, client, demo_book_path, monkeypatch
    ):
        from leadbook.workbook import versions as V

        book = demo_book_path
        monkeypatch.setenv("LEADBOOK_FILES", str(book.parent / "files"))  # Office.js: no folder
        states = [(recommended(book), log_commands(book))]
        for objective in ("margin", "weighted"):
            set_setting(book, "policy.objective", objective)
            self.press_and_save(client, "rebalance", book)
            states.append((recommended(book), log_commands(book)))
        assert states[0][0] != states[1][0] != states[2][0]
        files = files_of(book, book.parent / "files")
        kept = V.kept_versions(files / book.name)
        assert [v.before for v in kept] == ["rebalance", "rebalance"]
        assert all(v.is_values_copy() for v in kept)  # the cells the buttons saw

        set_input(book, f"N{SOURCES_FIRST_ROW + 1}", 2.5)  # typed after the last press
        for want in (states[1], states[0]):
            actions = self.press_and_save(client, "undo", book)
            sheets = openpyxl.load_workbook(book).sheetnames
            assert {sheets[a["sheet_position"]] for a in actions} <= C.OUTPUT_SHEETS
            assert recommended(book) == pytest.approx(want[0], rel=1e-12)
            assert log_commands(book) == want[1]
        wb = openpyxl.load_workbook(book)
        assert wb["Sources"][f"N{SOURCES_FIRST_ROW + 1}"].value == 2.5  # inputs untouched
        # the objective typed before the second press; the oldest version holds margin
        assert "weighted" in sheet_cells(wb["Settings"]).values()

        response = press(client, "undo", book)
        assert response.status_code == 400
        assert response.text.startswith("nothing more to undo: demo.xlsx is back to the oldest")

    def test_the_file_is_not_restored_from_a_buttons_values(
        self, client, demo_book_path, monkeypatch
    ):
        """The classic add-in keeps versions beside the file itself: leadbook undo on the file
        refuses the values a button kept, which would turn its formulas into numbers."""
        # The classic add-in's Book knows its file (an Office.js book's path is not trusted).
        monkeypatch.setattr(book_module, "_own_folder", lambda book: demo_book_path.parent)
        self.press_and_save(client, "plan_hiring", demo_book_path)
        before = demo_book_path.read_bytes()
        result = CliRunner().invoke(app, ["undo", str(demo_book_path)])
        assert result.exit_code == 2
        assert "was made by a button in Excel" in result.stderr
        assert "Press Undo in Excel instead" in result.stderr
        assert demo_book_path.read_bytes() == before

    def test_undo_with_nothing_kept_says_so(self, client, demo_book_path, tmp_path, monkeypatch):
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        response = press(client, "undo", demo_book_path)
        assert response.status_code == 400
        assert response.text.startswith("nothing to undo: no earlier version of demo.xlsx")


class TestTheFormulasTheTaskPaneSends:
    """leadbook's task pane sends the workbook's formulas with a press (xlwings' request has
    values alone); xlwings Lite, the classic add-in and an older pane send none."""

    def kept(self, path: Path, root: Path) -> openpyxl.Workbook:
        from leadbook.workbook import versions as V

        (version,) = V.kept_versions(files_of(path, root, IDENTITY) / path.name)
        assert version.is_values_copy()  # never a file to restore a workbook from
        return openpyxl.load_workbook(version.path)

    # The version: cell values and formulas, without the workbook's defined names the formulas
    # use (a values copy, for Undo in Excel alone; no file is restored from it).
    @pytest.mark.broken_files("*-before-rebalance.xlsx")
    def test_the_version_a_press_keeps_holds_them(self, client, demo_book_path, monkeypatch):
        monkeypatch.setenv("LEADBOOK_FILES", str(demo_book_path.parent / "files"))
        sent = formulas_arg(demo_book_path)
        response = press(client, "rebalance", demo_book_path, identity=IDENTITY, args=[sent])
        assert response.status_code == 200, response.text
        kept = self.kept(demo_book_path, demo_book_path.parent / "files")
        assert kept["Allocation"]["B5"].value == "=IF(ISNUMBER(Budget),Budget,CurrentSpend)"
        assert kept["Sources"]["B4"].value == "=SUM(Sources[Monthly leads])"

    @pytest.mark.parametrize("args", [None, [None]], ids=["no arguments", "none sent"])
    def test_without_them_a_press_keeps_values_as_before(
        self, client, demo_book_path, monkeypatch, args
    ):
        monkeypatch.setenv("LEADBOOK_FILES", str(demo_book_path.parent / "files"))
        response = press(client, "rebalance", demo_book_path, identity=IDENTITY, args=args)
        assert response.status_code == 200, response.text
        kept = self.kept(demo_book_path, demo_book_path.parent / "files")
        assert kept["Allocation"]["B5"].data_type != "f"  # what Office.js showed: a value

    @pytest.mark.parametrize(
        ("sent", "says"),
        [
            ("=1", "expected tab → formula → cells, got a str"),
            ({"Allocation": {"B5": ["=1"]}}, "Allocation: 'B5' is not a formula"),
            ({"Allocation": {"=1": ["B0"]}}, "Allocation: 'B0' is not a cell or block of cells"),
            ({"Budget tab": {"=1": ["A1"]}}, "'Budget tab' is not a tab of this workbook"),
        ],
    )
    def test_malformed_ones_run_nothing_and_say_so(
        self, client, demo_book_path, monkeypatch, sent, says
    ):
        monkeypatch.setenv("LEADBOOK_FILES", str(demo_book_path.parent / "files"))
        response = press(client, "rebalance", demo_book_path, identity=IDENTITY, args=[sent])
        assert response.status_code == 400
        assert response.text.startswith("leadbook cannot read the formulas the task pane sent")
        assert says in response.text
        assert response.text.endswith("Reload the task pane and press again")
        assert not (demo_book_path.parent / "files").exists()  # no copy, no version

    def test_a_second_argument_is_refused(self, client, demo_book_path):
        response = press(client, "refresh", demo_book_path, args=[None, None])
        assert response.status_code == 400
        assert "received 1 extra argument" in response.text


class TestAnOlderLayout:
    def test_a_button_that_would_move_a_table_says_so_and_writes_nothing(
        self, client, demo_book_path
    ):
        """The Forecast tab as leadbook wrote it before Forecast detail: its ForecastLog
        beside the other tables. Excel cannot move a table, so the button refuses, and says
        how to get the new layout."""
        wb = openpyxl.load_workbook(demo_book_path)
        detail = wb["Forecast detail"]
        log = detail.tables["ForecastLog"]
        rows = [[c.value for c in row] for row in detail[log.ref]]
        del wb["Forecast detail"]
        forecast = wb["Forecast"]
        for i, values in enumerate(rows):
            for j, value in enumerate(values):
                forecast.cell(4 + i, 39 + j, value)  # AM4
        forecast.add_table(Table(displayName="ForecastLog", ref=f"AM4:AW{3 + len(rows)}"))
        wb.save(demo_book_path)
        response = press(client, "refresh_forecast", demo_book_path)
        assert response.status_code == 400
        assert "ForecastLog (Forecast!AM4 → Forecast detail!K5)" in response.text
        assert "delete the tab(s) Forecast, Forecast detail and press the button again" in (
            response.text
        )
