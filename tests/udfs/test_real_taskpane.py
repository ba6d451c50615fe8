"""The real-client tier of the buttons: leadbook's task pane pressed through xlwings' own client.

The client is the task pane's JavaScript as ``leadbook serve`` sends it to Excel
(``/static/js/custom-scripts/index.js`` and the modules it imports, with the server's
``auth.js``), run in Node (tests/realclient/taskpane.mjs). A press is the button's own click
handler: it reads the workbook through Office.js, posts it to the server, and applies the
actions it gets back through Office.js. Office.js is tests/realclient/excel.mjs, which holds
the demo workbook in memory as Excel would show it (each formula with the value Excel saved,
here LibreOffice's) and fails on any call it does not implement.

What Excel then shows is compared with what the command line writes for the same job, cell
by cell, on the tabs the job writes. What differs, and only that, is left out of the
comparison: the time a tab or the Log was stamped (within ten minutes), and who ran the job
(a button, or the command line) — see ``sheet_cells`` in test_scripts.py.

What this tier cannot see (only a live Excel can): Excel's own handling of the writes (its
calculation of the formulas written, calculated columns of tables, how it renders), its
object model beyond the calls the mock implements, and the task pane's rendering.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from leadbook.qualify import model_dir
from leadbook.workbook.jobs import REFRESH_TABS
from tests.udfs.conftest import copy_book
from tests.udfs.officejs import table_cells
from tests.udfs.realclient import CLIENT, NODE, SIGN_IN
from tests.udfs.taskpane import from_mock, mock_workbook, table_places
from tests.udfs.test_scripts import BUTTONS, assert_same_cells, run_cli
from tests.udfs.test_server import SCRIPTS

pytestmark = pytest.mark.slow

JOBS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    # script: (the command line that runs the same job, the tabs both write besides Log)
    "check_inputs": (["check", "--write"], ("Start",)),
    "refresh": (["refresh"], tuple(REFRESH_TABS)),
    **BUTTONS,
    "score_leads_retrain": (["score-leads", "--retrain"], ("Leads", "Board", "Maturity")),
}


class Pressed:
    """A run of taskpane.mjs: the buttons pressed on a workbook held by the Office.js mock."""

    def __init__(self, base: str, workbook: dict[str, Any], scripts: list[str]):
        self.proc = subprocess.Popen(
            [NODE, str(CLIENT / "taskpane.mjs"), base],
            env={**os.environ, "LEADBOOK_SIGN_IN": SIGN_IN},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.job = json.dumps({"workbook": workbook, "press": scripts}, allow_nan=False)
        self.scripts = scripts

    def result(self) -> dict[str, Any]:
        out, err = self.proc.communicate(self.job, timeout=600)
        assert self.proc.returncode == 0, err
        found = json.loads(out)
        assert found["missing"] == [], found["missing"]  # every call the client made is mocked
        return found


def press(base: str, workbook: dict[str, Any], scripts: list[str]) -> Pressed:
    """Start pressing ``scripts`` (in the background: the test runs the command meanwhile)."""
    return Pressed(base, workbook, scripts)


def button_calls(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in found["requests"] if "/custom-scripts-call/" in r["path"]]


def assert_pressed(found: dict[str, Any], scripts: list[str]) -> None:
    """Each press went through: no error on the task pane, the request accepted."""
    assert found["presses"] == [{"script": s, "error": None} for s in scripts]
    calls = button_calls(found)
    assert [(c["path"].rsplit("/", 1)[1], c["status"]) for c in calls] == [
        (s, 200) for s in scripts
    ]
    for call in calls:  # signed in with the token pasted into the task pane
        assert call["headers"]["Authorization"] == SIGN_IN


def assert_as_the_cli(button: openpyxl.Workbook, cli: openpyxl.Workbook, tabs) -> None:
    """The tabs the job writes hold the same cells and tables, the Log the same last row but
    its time, and the tabs are in the same order."""
    assert button.sheetnames == cli.sheetnames
    for tab in tabs:
        assert_same_cells(button[tab], cli[tab], tab)
    assert table_places(button, tabs) == table_places(cli, tabs)
    *_, button_log = table_cells(button, "Log")[1]
    *_, cli_log = table_cells(cli, "Log")[1]
    assert button_log[1:] == cli_log[1:]  # command, user, what changed (not the time)


def assert_untouched(button: openpyxl.Workbook, book: Path, tabs) -> None:
    """The other tabs hold what the workbook held (its formulas as one types them)."""
    before = openpyxl.load_workbook(book)
    for tab in before.sheetnames:
        if tab not in {*tabs, "Log"}:
            assert_same_cells(button[tab], before[tab], f"{tab} (not written)")


@pytest.fixture(scope="module")
def excel_demo(scored_demo, calculated_demo, tmp_path_factory) -> Path:
    """The scored demo workbook as Excel saves it (each formula with its value), with the lead
    model beside it."""
    book = copy_book(scored_demo, tmp_path_factory.mktemp("excel"))
    shutil.copy(calculated_demo, book)
    return book


@pytest.fixture(scope="module")
def files_root() -> Path:
    """Where the served server keeps the files of an Office.js workbook (signed in with the
    shared token: the folder ``shared``)."""
    return Path(os.environ["LEADBOOK_FILES"]) / "shared"


def workbook_with_files(book: Path, files_root: Path) -> dict[str, Any]:
    """``book`` as the mock holds it, with an identity of its own (as an earlier press leaves
    it), and the lead model it records in the server's folder for that identity."""
    identity = uuid.uuid4().hex
    shutil.copytree(model_dir(book), model_dir(files_root / identity / book.name))
    return mock_workbook(book, identity=identity)


def test_the_task_pane_has_every_button(served, excel_demo, files_root):
    """The client registers one click handler per button of the served page: leadbook's."""
    found = press(served, mock_workbook(excel_demo), []).result()
    assert sorted(found["buttons"]) == sorted(SCRIPTS) == sorted([*JOBS, "undo"])
    (meta,) = found["requests"]
    assert meta["path"] == "/xlwings/custom-scripts-meta.json" and meta["status"] == 200


@pytest.mark.parametrize("script", JOBS)
def test_a_press_writes_what_the_command_line_writes(
    served, excel_demo, files_root, tmp_path, script
):
    command, tabs = JOBS[script]
    book = copy_book(excel_demo, tmp_path / "button")
    workbook = workbook_with_files(book, files_root)
    pressing = press(served, workbook, [script])
    cli = run_cli(command, copy_book(excel_demo, tmp_path / "cli"))
    found = pressing.result()
    assert_pressed(found, [script])
    after = from_mock(found["workbook"])
    assert_as_the_cli(after, cli, tabs)
    assert_untouched(after, book, tabs)
