"""Shared fixtures: the demo portfolio, workbook files, and the LibreOffice oracle."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import openpyxl
import pytest

from leadbook.demo import demo_inventory, demo_settings, demo_tables
from leadbook.libreoffice import recalculated
from leadbook.workbook.jobs import demo as write_demo
from leadbook.workbook.jobs import new as write_template

DATA = Path(__file__).parent / "data"
if str(DATA.parent) not in sys.path:
    sys.path.insert(0, str(DATA.parent))  # helper modules shared by tests (allocation_reference)


@pytest.fixture(scope="session")
def demo_inv():
    """The demo portfolio as a validated Inventory (read-only: do not mutate)."""
    return demo_inventory()


@pytest.fixture(scope="session")
def demo_cfg():
    """The demo's Settings."""
    return demo_settings()


@pytest.fixture
def raw_demo():
    """Fresh raw demo tables (DataFrames keyed as in the contract), safe to modify."""
    return demo_tables()


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workbook (and its lead model folder), built once per run: read-only."""
    path, _ = write_demo(tmp_path_factory.mktemp("built-demo") / "demo.xlsx")
    return path


@pytest.fixture
def demo_book_path(built_demo: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo workbook, with its model folder, in a temporary folder."""
    for item in built_demo.parent.iterdir():
        copy = shutil.copytree if item.is_dir() else shutil.copy2
        copy(item, tmp_path / item.name)
    return tmp_path / built_demo.name


@pytest.fixture
def template_path(tmp_path: Path) -> Path:
    """A freshly written empty template."""
    return write_template(tmp_path / "template.xlsx")


def recalc_values(path: Path, out_dir: Path) -> openpyxl.Workbook:
    """The workbook at ``path`` recalculated by LibreOffice, opened for its values."""
    return openpyxl.load_workbook(recalculated(path, out_dir), data_only=True)


def close(got: object, want: object, rel: float = 1e-9) -> bool:
    """Equal, or both numbers within ``rel`` relative tolerance (tiny absolute slack)."""
    if isinstance(want, int | float) and isinstance(got, int | float):
        return math.isclose(got, want, rel_tol=rel, abs_tol=1e-12)
    return got == want


def error_cells(wb: openpyxl.Workbook) -> list[str]:
    """Every cell holding an Excel error value (#DIV/0!, #NAME?, ...)."""
    errors = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "Err:")
    return [
        f"{ws.title}!{c.coordinate}={c.value}"
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith(errors)
    ]


def setting_cell(wb: openpyxl.Workbook, key: str) -> openpyxl.cell.Cell:
    """The Value cell of setting ``key`` (its key or defined name) on the Settings tab."""
    from leadbook.settings import spec_for
    from leadbook.workbook.contract import SETTINGS, SETTINGS_TABLE

    name = spec_for(key).name
    ws = wb[SETTINGS.name]
    header = ws[ws.tables[SETTINGS_TABLE.name].ref.split(":")[0]].row
    headers = [c.value for c in ws[header]]
    at_key, at_value = headers.index("Key"), headers.index("Value")
    for row in ws.iter_rows(min_row=header + 1):
        if row[at_key].value == name:
            return row[at_value]
    raise KeyError(f"setting {key} is not on the Settings tab")


def set_setting(path: Path, key: str, value: object) -> None:
    """Type ``value`` into setting ``key``'s Value cell on the Settings tab, and save."""
    wb = openpyxl.load_workbook(path)
    setting_cell(wb, key).value = value
    wb.save(path)
