"""Reading a live workbook into openpyxl, and finding what a job changed."""

from __future__ import annotations

import openpyxl
import xlwings as xw

from tests.udfs.officejs import book_payload
from udfs.book import changes, mirror


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
