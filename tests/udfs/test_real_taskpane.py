"""The real-client tier of the buttons: leadbook's task pane pressed through xlwings' own client.

The client is the task pane's JavaScript as ``leadbook serve`` sends it to Excel
(``/static/js/custom-scripts/index.js`` and the modules it imports, with the server's
``auth.js``), run in Node (tests/realclient/taskpane.mjs). A press is the button's own click
handler: it reads the workbook through Office.js, posts it to the server, and applies the
actions it gets back through Office.js. Office.js is tests/realclient/excel.mjs, which holds
the demo workbook in memory as Excel would show it (each formula with the value Excel saved,
here LibreOffice's) and fails on any call it does not implement.

What Excel then shows is compared with what the command line writes for the same job on a
copy of the same workbook: every cell of every tab (those the job writes, the Log, and the
rest, which neither may change), every table, the order of the tabs. Left out, and only
these: when a tab was stamped and by whom (``sheet_cells`` in test_scripts.py keeps a stamp's
command, inputs and reads), a time within ten minutes of the other (the Log's, the lead
model's training time), a number differing from the other past its 12th digit; and after
*Score leads (retrain)* the new model's hash, in Leads!B5 and the Log's row (the model file
records when it was trained).

What this tier cannot see (only a live Excel can): Excel's own handling of the writes (its
calculation of the formulas written, calculated columns of tables, how it renders), its
object model beyond the calls the mock implements, and the task pane's rendering.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from leadbook.leads.store import model_dir
from leadbook.workbook.versions import kept_versions
from tests.conftest import setting_cell
from tests.udfs.conftest import copy_book
from tests.udfs.officejs import book_payload, table_cells
from tests.udfs.realclient import CLIENT, NODE, SIGN_IN
from tests.udfs.taskpane import from_mock, identity_name, mock_workbook, table_places
from tests.udfs.test_scripts import BUTTONS, run_cli, sheet_cells
from tests.udfs.test_server import LEADBOOK, SCRIPTS

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice]  # the workbooks as Excel saves them

COMMANDS: dict[str, list[str]] = {
    # script: the command line that runs the same job
    "check_inputs": ["check", "--write"],
    "refresh": ["refresh"],
    **{script: command for script, (command, _) in BUTTONS.items()},
    "score_leads_retrain": ["score-leads", "--retrain"],
    "accept_plan": ["accept"],
    "undo": ["undo"],
}
SCENARIOS: dict[str, list[str]] = {
    # a workbook, and the buttons pressed on it in turn
    "check_inputs": ["check_inputs"],
    "refresh, Scores tab deleted": ["refresh"],
    "rebalance, objective margin": ["rebalance"],
    "accept_plan, after a rebalance": ["accept_plan"],
    "compare_scenarios": ["compare_scenarios"],
    "refresh_forecast": ["refresh_forecast"],
    "plan_hiring": ["plan_hiring"],
    "score_leads": ["score_leads"],
    "score_leads_retrain": ["score_leads_retrain"],
    "export_board_pack": ["export_board_pack"],
}


def _delete_scores(wb: openpyxl.Workbook) -> None:
    del wb["Scores"]  # the job makes it anew


def _objective_margin(wb: openpyxl.Workbook) -> None:
    setting_cell(wb, "policy.objective").value = "margin"  # a new plan, every row changes


CHANGES = {
    "refresh, Scores tab deleted": _delete_scores,
    "rebalance, objective margin": _objective_margin,
}
"""What is changed in the workbook before a scenario's presses, as a user would in Excel."""
RUN_BEFORE = {"accept_plan, after a rebalance": ["rebalance"]}
"""A command run on the workbook before a scenario's presses (then calculated, as Excel would:
the mock does not calculate the formulas a press writes)."""


def run_presses(base: str, workbook: dict[str, Any], scripts: list[str]) -> dict[str, Any]:
    """``scripts`` pressed in turn on ``workbook`` (held by the Office.js mock) by xlwings'
    task-pane client: what taskpane.mjs reports."""
    done = subprocess.run(
        [NODE, str(CLIENT / "taskpane.mjs"), base],
        env={**os.environ, "LEADBOOK_SIGN_IN": SIGN_IN},
        input=json.dumps({"workbook": workbook, "press": scripts}, allow_nan=False),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["missing"] == [], found["missing"]  # every call the client made is mocked
    return found


def button_calls(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in found["requests"] if "/custom-scripts-call/" in r["path"]]


def assert_pressed(found: dict[str, Any], scripts: list[str]) -> None:
    """Each press went through: no error on the task pane, the request accepted, signed in
    with the token pasted into the task pane."""
    assert [(p["script"], p["error"]) for p in found["presses"]] == [(s, None) for s in scripts]
    calls = button_calls(found)
    assert [(c["path"].rsplit("/", 1)[1], c["status"]) for c in calls] == [
        (s, 200) for s in scripts
    ]
    assert all(c["headers"]["Authorization"] == SIGN_IN for c in calls)


def differences(button: openpyxl.Workbook, cli: openpyxl.Workbook) -> dict[str, tuple]:
    """The cells that differ, tab by tab — those the job writes, the Log, and the rest, which
    neither may change: "Tab!A1" → (button's, command's). What may differ does not count (as
    in ``assert_same_cells``): a stamp's time and who ran the job, times within ten minutes,
    numbers in their last bits."""
    found = {}
    for tab in cli.sheetnames:
        got, want = sheet_cells(button[tab]), sheet_cells(cli[tab])
        for key in got.keys() | want.keys():
            a, b = got.get(key), want.get(key)
            if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
                same = abs(a - b) < dt.timedelta(minutes=10)
            elif isinstance(a, float) and isinstance(b, float | int):
                same = a == pytest.approx(b, rel=1e-12)
            else:
                same = a == b
            if not same:
                found[f"{tab}!{key}"] = (a, b)
    return found


def assert_as_the_cli(
    button: openpyxl.Workbook, cli: openpyxl.Workbook, where: str, unlike: set[str] = frozenset()
) -> None:
    """Every cell the same but those in ``unlike`` (which must differ: the test says why),
    the same tables, and the tabs in the same order."""
    assert button.sheetnames == cli.sheetnames, where
    found = differences(button, cli)
    assert found.keys() == unlike, (where, sorted(found.items())[:12])
    assert table_places(button, cli.sheetnames) == table_places(cli, cli.sheetnames), where


def as_excel_saves(book: Path, folder: Path) -> Path:
    """``book`` as Excel saves it, each formula with its value (LibreOffice's), in ``folder``
    with the lead model beside it."""
    from leadbook.workbook.libreoffice import recalculated

    saved = copy_book(book, folder)
    shutil.copy(recalculated(book, folder / "calculated"), saved)
    return saved


@pytest.fixture(scope="module")
def excel_demo(scored_demo, calculated_demo, tmp_path_factory) -> Path:
    """The scored demo workbook as Excel saves it (each formula with its value), with the lead
    model beside it. Calculated twice: LibreOffice saves numbers to 15 digits, so the first
    file's formula values come from its inputs before they were rounded; Excel's come from
    the cells as they are, and so do a second calculation's."""
    from leadbook.workbook.libreoffice import recalculated

    book = copy_book(scored_demo, tmp_path_factory.mktemp("excel"))
    shutil.copy(recalculated(calculated_demo, book.parent / "again"), book)
    return book


@pytest.fixture(scope="module")
def books(excel_demo, tmp_path_factory):
    """The workbook of each scenario, as Excel saves it: a future (a changed workbook is
    calculated by LibreOffice in the background)."""

    def prepare(scenario: str) -> Path:
        if scenario not in CHANGES and scenario not in RUN_BEFORE:
            return excel_demo
        changed = copy_book(excel_demo, tmp_path_factory.mktemp("changed"))
        if scenario in CHANGES:
            wb = openpyxl.load_workbook(changed)
            CHANGES[scenario](wb)
            wb.save(changed)
        if scenario in RUN_BEFORE:  # a process of its own: the tests run the CLI meanwhile
            subprocess.run([LEADBOOK, *RUN_BEFORE[scenario], str(changed)], check=True)
        return as_excel_saves(changed, tmp_path_factory.mktemp("saved"))

    with ThreadPoolExecutor(max_workers=len(CHANGES) + len(RUN_BEFORE)) as pool:
        yield {scenario: pool.submit(prepare, scenario) for scenario in SCENARIOS}


@pytest.fixture(scope="module")
def pressed(served, books, excel_demo):
    """Every scenario pressed, one after another in the background (the tests run the command
    line meanwhile): a future of taskpane.mjs's report per scenario. Each workbook has an
    identity of its own (as an earlier press leaves it), and the lead model it records in
    the server's folder for that identity (signed in with the shared token: ``shared``)."""
    files = Path(os.environ["LEADBOOK_FILES"]) / "shared"
    demo = mock_workbook(excel_demo)

    def press(scenario: str) -> dict[str, Any]:
        book = books[scenario].result()
        workbook = demo if book == excel_demo else mock_workbook(book)
        identity = uuid.uuid4().hex
        shutil.copytree(model_dir(book), model_dir(files / identity / book.name))
        workbook = {**workbook, "names": [*workbook["names"], identity_name(identity)]}
        return {**run_presses(served, workbook, SCENARIOS[scenario]), "identity": identity}

    with ThreadPoolExecutor(max_workers=1) as pool:
        yield {scenario: pool.submit(press, scenario) for scenario in SCENARIOS}
        pool.shutdown(cancel_futures=True)


@pytest.fixture(scope="module")
def cli_runs() -> dict[str, Path]:
    """The command line's copy of a scenario's workbook once its commands ran (for Undo)."""
    return {}


def test_the_task_pane_has_every_button(pressed):
    """Every script has its button on the served page, each leadbook's own (lb-click: its
    press sends the workbook's formulas with xlwings' request), and xlwings' client fetched
    the scripts' metadata."""
    found = pressed["check_inputs"].result()
    assert sorted(found["buttons"]) == sorted(SCRIPTS) == sorted(COMMANDS)
    assert set(found["clickers"]) == {"lb-click"}
    pressed_here = {script for scripts in SCENARIOS.values() for script in scripts} | {"undo"}
    assert pressed_here == set(found["buttons"])  # this tier presses every one of them
    meta = found["requests"][0]
    assert meta["path"] == "/xlwings/custom-scripts-meta.json" and meta["status"] == 200


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_press_writes_what_the_command_line_writes(pressed, books, cli_runs, tmp_path, scenario):
    scripts = SCENARIOS[scenario]
    cli = copy_book(books[scenario].result(), tmp_path / "cli")
    wants = [run_cli(COMMANDS[script], cli) for script in scripts]
    cli_runs[scenario] = cli
    found = pressed[scenario].result()
    assert_pressed(found, scripts)
    for press, want in zip(found["presses"], wants, strict=True):
        got = from_mock(press["workbook"])
        if press["script"] == "score_leads_retrain":
            # The model is trained afresh, and its file records when: another hash, which
            # Leads!B5 holds and the Log's row names. The model's scores are the same.
            unlike = {"Leads!B5", "Log!D6"}
            assert_as_the_cli(got, want, scenario, unlike)
            *_, logged = table_cells(got, "Log")[1]
            *_, cli_logged = table_cells(want, "Log")[1]
            hashes = (got["Leads"]["B5"].value[:12], want["Leads"]["B5"].value[:12])
            assert logged[-1].replace(hashes[0], "#") == cli_logged[-1].replace(hashes[1], "#")
        else:
            assert_as_the_cli(got, want, f"{scenario}: {press['script']}")


@pytest.fixture(scope="module")
def undone(served, pressed, books, cli_runs, tmp_path_factory):
    """Undo pressed after the Rebalance press, and the command line's undo after its
    rebalance: (the press's report, the button's workbook, the command's). The server kept
    the workbook's tabs as the Rebalance press saw them, under the workbook's identity. The
    workbook Undo reads is the one Rebalance left, as Excel shows it once calculated: the
    command line's (its cells are the button's, as the Rebalance test asserts), calculated
    by LibreOffice, since the mock does not calculate."""
    scenario = "rebalance, objective margin"
    rebalanced = pressed[scenario].result()
    folder = tmp_path_factory.mktemp("undo")
    if (cli := cli_runs.get(scenario)) is None:  # the Rebalance test ran it
        cli = copy_book(books[scenario].result(), folder / "cli")
        run_cli(COMMANDS["rebalance"], cli)
    shown = as_excel_saves(cli, folder / "shown")
    found = run_presses(served, mock_workbook(shown, identity=rebalanced["identity"]), ["undo"])
    want = run_cli(COMMANDS["undo"], cli)
    (press,) = found["presses"]
    return found, from_mock(press["workbook"]), want


def test_undo_puts_back_what_the_command_line_puts_back(undone):
    _, button, cli = undone
    assert_as_the_cli(button, cli, "undo")


def test_undo_puts_back_formulas_as_formulas(undone, pressed, books):
    """Undo after Rebalance: the formula cells of the tabs Rebalance rewrote (Allocation, and
    Board, which reads it) hold formulas again, for Excel to calculate, not the numbers they
    showed: the Rebalance press kept, with the cell values xlwings sent, the formulas leadbook's
    task pane read (a values copy still, which no file is ever restored from)."""
    found, button, cli = undone
    assert_pressed(found, ["undo"])
    for tab in ("Allocation", "Board"):
        want = {k: v for k, v in sheet_cells(cli[tab]).items() if str(v).startswith("=")}
        assert want and {k: sheet_cells(button[tab]).get(k) for k in want} == want, tab
    scenario = "rebalance, objective margin"
    files = Path(os.environ["LEADBOOK_FILES"]) / "shared" / pressed[scenario].result()["identity"]
    kept = kept_versions(files / books[scenario].result().name)
    assert [v.before for v in kept] == ["rebalance", "undo"]
    assert all(v.is_values_copy() for v in kept)
    allocation = openpyxl.load_workbook(kept[0].path)["Allocation"]
    assert allocation["B5"].value == "=IF(ISNUMBER(Budget),Budget,CurrentSpend)"


def test_the_test_twin_sends_what_xlwings_client_sends(pressed, books):
    """tests/udfs/officejs.py's ``book_payload``, which the in-process button tests send,
    is the request xlwings' client builds from the same workbook (Office.js's workbook: that
    of Microsoft 365, as the mock says; its identity name aside, which the twin's caller adds)."""
    found = pressed["plan_hiring"].result()
    (call,) = button_calls(found)
    # What leadbook's task pane adds: the formulas, the script's one argument (the twin's
    # caller may add them, as test_scripts.py's presses do).
    sent = {key: value for key, value in call["body"].items() if key != "args"}
    (formulas,) = call["body"]["args"]
    assert formulas["Allocation"]["=IF(ISNUMBER(Budget),Budget,CurrentSpend)"] == ["B5"]
    identity = [n for n in sent["names"] if n["name"] == "LeadbookBookId"]
    assert [n["refers_to"] for n in identity] == [f'="{found["identity"]}"']
    sent = {**sent, "names": [n for n in sent["names"] if n not in identity]}
    twin = book_payload(books["plan_hiring"].result())
    assert sent.keys() == twin.keys()
    for key in ("client", "version", "book", "names"):
        assert sent[key] == twin[key], key
    assert [s["name"] for s in sent["sheets"]] == [s["name"] for s in twin["sheets"]]
    for got, want in zip(sent["sheets"], twin["sheets"], strict=True):
        assert got == want, got["name"]
