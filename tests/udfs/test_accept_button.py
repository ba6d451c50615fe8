"""The Accept plan button through xlwings Server's script endpoint, and the Undo button after
it: the Current spend cells it wrote go back, but one the user typed over since."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from leadbook import contract as C
from tests.udfs.test_scripts import SOURCES_FIRST_ROW, press, replayed, set_input, table_cells


def _spend(path: Path) -> dict[str, float]:
    _, rows = table_cells(openpyxl.load_workbook(path), C.SOURCES_TABLE.name)
    headers = rows[0]
    return {r[headers.index("Source")]: r[headers.index("Current spend")] for r in rows[1:]}


def _press(client, script: str, path: Path) -> list[dict]:
    response = press(client, script, path)
    assert response.status_code == 200, response.text
    actions = response.json()["actions"]
    replayed(path, actions).save(path)
    return actions


def test_accept_then_undo_from_buttons(client, demo_book_path: Path, monkeypatch) -> None:
    book = demo_book_path
    monkeypatch.setenv("LEADBOOK_FILES", str(book.parent / "files"))
    today = _spend(book)
    _, allocation = table_cells(openpyxl.load_workbook(book), C.ALLOCATION_TABLE.name)
    head = list(allocation[0])
    plan = {r[head.index("Source")]: r[head.index("Recommended")] for r in allocation[1:]}

    _press(client, "accept_plan", book)
    accepted = _spend(book)
    assert accepted == pytest.approx({s: round(v, 2) for s, v in plan.items()})
    _, log = table_cells(openpyxl.load_workbook(book), C.RECOMMENDATIONS_TABLE.name)
    assert [r[1] for r in log[1:]].count(C.ACCEPTED) == len(plan)

    response = press(client, "accept_plan", book)  # the same plan again: refused, no action
    assert response.status_code == 400 and "accepted already" in response.text

    typed = f"P{SOURCES_FIRST_ROW}"  # the first source's Current spend, typed over since
    assert openpyxl.load_workbook(book)["Sources"][f"A{SOURCES_FIRST_ROW}"].value in today
    set_input(book, typed, 99_999.0)
    _press(client, "undo", book)
    after = _spend(book)
    first = openpyxl.load_workbook(book)["Sources"][f"A{SOURCES_FIRST_ROW}"].value
    assert after[first] == 99_999.0  # the user's, kept
    assert {s: v for s, v in after.items() if s != first} == pytest.approx(
        {s: v for s, v in today.items() if s != first}
    )
    _, log = table_cells(openpyxl.load_workbook(book), C.RECOMMENDATIONS_TABLE.name)
    assert C.ACCEPTED not in [r[1] for r in log[1:]]
