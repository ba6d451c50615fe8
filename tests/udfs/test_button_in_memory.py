"""The Rebalance button running its job in memory, against the command (an outside attack)."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
from typer.testing import CliRunner

from leadbook.cli import app
from tests.conftest import set_setting
from tests.udfs.conftest import copy_book
from tests.udfs.officejs import table_cells
from tests.udfs.test_scripts import (
    IDENTITY,
    SOURCES_FIRST_ROW,
    assert_same_cells,
    files_of,
    press,
    replayed,
    run_cli,
    set_input,
)

TABS = ("Allocation", "Decisions", "Board", "Maturity", "Log")


def _both(client, book, tmp_path, monkeypatch, prepare=None):
    cli = copy_book(book, tmp_path / "cli")
    button = copy_book(book, tmp_path / "button")
    monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
    copy_book(button, files_of(button, tmp_path / "files", IDENTITY))
    if prepare:
        prepare(cli)
        prepare(button)
    return cli, button


def _press_saved(client, path):
    response = press(client, "rebalance", path, identity=IDENTITY)
    assert response.status_code == 200, response.text
    replayed(path, response.json()["actions"]).save(path)
    return response.json()["actions"]


def _accept(path):
    result = CliRunner().invoke(app, ["accept", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("presses", [2, 3])
def test_rebalance_button_after_a_started_log_is_the_command(
    client, scored_demo, tmp_path, monkeypatch, presses
):
    """A log already started (a recommendation accepted, so the next write appends)."""
    cli, button = _both(client, scored_demo, tmp_path, monkeypatch)
    for n in range(presses):
        if n == 1:
            _accept(cli)
            _accept(button)
        if n == 2:
            for p in (cli, button):
                set_setting(p, "policy.objective", "margin")
        _press_saved(client, button)
        run_cli(["rebalance"], cli)
    got, want = openpyxl.load_workbook(button), openpyxl.load_workbook(cli)
    for tab in TABS[:-1]:
        assert_same_cells(got[tab], want[tab], tab)
    assert [r[1:] for r in table_cells(got, "Log")[1]] == [
        r[1:] for r in table_cells(want, "Log")[1]
    ]


@pytest.mark.parametrize(
    "cell, value",
    [(f"J{SOURCES_FIRST_ROW + 2}", "lots"), (f"J{SOURCES_FIRST_ROW + 2}", -0.0)],
)
def test_a_bad_input_press_writes_nothing(
    client, demo_book_path, tmp_path, monkeypatch, cell, value
):
    monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
    set_input(demo_book_path, cell, value)
    response = press(client, "rebalance", demo_book_path)
    assert response.status_code == 400, response.text
    assert "Sources!J15" in response.text


def _deleting(tab):
    def prepare(path):
        wb = openpyxl.load_workbook(path)
        del wb[tab]
        wb.save(path)

    return prepare


@pytest.mark.parametrize("tab", ["Decisions", "Log", "Board"])
def test_rebalance_button_on_a_deleted_tab_is_the_command(
    client, scored_demo, tmp_path, monkeypatch, tab
):
    cli, button = _both(client, scored_demo, tmp_path, monkeypatch, _deleting(tab))
    _press_saved(client, button)
    run_cli(["rebalance"], cli)
    got, want = openpyxl.load_workbook(button), openpyxl.load_workbook(cli)
    assert got.sheetnames == want.sheetnames
    for t in TABS[:-1]:
        if t in want.sheetnames:
            assert_same_cells(got[t], want[t], t)


def _press_payload(client, payload):
    import json

    return client.post(
        "/xlwings/custom-scripts-call/rebalance",
        content=json.dumps(payload).encode(),  # ensure_ascii: a lone surrogate as \\ud83d
        headers={"content-type": "application/json"},
    )


@pytest.mark.parametrize(
    "text", ["Premium \ud83d", "Premium \ufffe", "Premium \x01", "Premium \x0b"]
)
def test_a_live_cell_xml_cannot_hold_is_named_not_called_a_damaged_file(
    client, demo_book_path, tmp_path, monkeypatch, text
):
    """Excel's strings are UTF-16: a cell may hold half an emoji (=LEFT(A1, 9)) or a control
    character; Office.js sends them. A press should name the cell, not call the file damaged."""
    from tests.udfs.officejs import book_payload

    monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
    payload = book_payload(demo_book_path)
    names = openpyxl.load_workbook(demo_book_path).sheetnames
    sheet = payload["sheets"][names.index("Sources")]
    row = SOURCES_FIRST_ROW  # the first source's row (1-based) → values index row - 1
    assert isinstance(sheet["values"][row - 1][0], str)
    sheet["values"][row - 1][0] = text
    response = _press_payload(client, payload)
    assert response.status_code in (200, 400)
    assert "damaged" not in response.text and "internal error" not in response.text
    assert "Sources!A13" in response.text  # the cell, as a bad input is named


ODD = [
    -0.0,
    10**20,
    2**63,
    1e308,
    5e-324,
    True,
    False,
    "#DIV/0!",
    "#N/A",
    "0012",
    "1e5",
    "  x  ",
    "a\nb",
    "x" * 32000,
    "]]>",
    "R&D <x>",
    "😀",
    45000.5,
]


def test_odd_live_values_keep_a_clean_version_and_undo_brings_them_back(
    client, demo_book_path, tmp_path, monkeypatch
):
    """The version a press keeps (the mirror saved through leadbook's cell writer) is a file
    Excel opens without repair, its parts XML, and Undo's values are the live ones."""
    from xml.parsers import expat

    from tests.udfs.officejs import book_payload
    from tests.xlsx_integrity import assert_clean

    monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
    payload = book_payload(demo_book_path, full_name=False)
    names = openpyxl.load_workbook(demo_book_path).sheetnames
    start = payload["sheets"][names.index("Allocation")]
    for i, value in enumerate(ODD):
        row = start["values"][60 + i] if len(start["values"]) > 60 + i else None
        if row is None:
            width = len(start["values"][0])
            start["values"].extend([[""] * width for _ in range(61 + i - len(start["values"]))])
            row = start["values"][60 + i]
        row[0] = value
    response = _press_payload(client, payload)
    assert response.status_code == 200, response.text
    kept = sorted((tmp_path / "files").rglob("*.leadbook-versions/*.xlsx"))
    assert kept, list((tmp_path / "files").rglob("*"))
    for version in kept:
        assert_clean(version)
        with zipfile.ZipFile(version) as zf:
            for name in zf.namelist():
                if name.endswith(".xml"):
                    expat.ParserCreate().Parse(zf.read(name), True)


def test_two_rebalance_presses_at_once_in_memory(demo_book_path, tmp_path, monkeypatch):
    """A second Rebalance press while the first's job runs in memory is refused, and the
    first still writes; the second's mirror is never changed by the first's write."""
    from leadbook.errors import WorkbookFileError
    from leadbook.workbook.jobs.rebalance import rebalance as rebalance_job
    from tests.udfs.test_book import _pressed, press_during

    monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
    first, second = _pressed(demo_book_path), _pressed(demo_book_path)
    raised = press_during(first, second, rebalance_job, rebalance_job, in_memory=True)
    assert len(raised) == 1 and isinstance(raised[0], WorkbookFileError), raised
    assert second.json()["actions"] == []
    assert first.json()["actions"] != []
