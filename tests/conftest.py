"""Shared fixtures: the demo portfolio, workbook files, and the LibreOffice oracle.

Every workbook a test writes is also read by the Excel-side structural oracle
(tests/xlsx_integrity.py) when the test has passed: see :func:`pytest_runtest_call`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from hypothesis import settings

from leadbook.demo import demo_inventory, demo_settings, demo_tables
from leadbook.workbook.jobs.refresh import demo as write_demo
from leadbook.workbook.jobs.refresh import new as write_template
from leadbook.workbook.libreoffice import recalculated

DATA = Path(__file__).parent / "data"
if str(DATA.parent) not in sys.path:
    sys.path.insert(0, str(DATA.parent))  # helper modules shared by tests (allocation_reference)

from xlsx_integrity import findings  # noqa: E402  (a helper module, found through sys.path)

# Property tests draw the same examples on every run (CI is not a lottery); a failure found
# while exploring is still reproducible from the seed pytest prints.
settings.register_profile("leadbook", derandomize=True, database=None)
settings.load_profile("leadbook")

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_checked = {"files": 0, "seconds": 0.0}


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


def loaded_modules(code: str, watched: tuple[str, ...]) -> list[str]:
    """Which of the modules ``watched`` (a package counts with its submodules) a fresh
    Python has imported after running ``code``: import costs and optional dependencies are
    checked where nothing the suite imported before can hide them."""
    import subprocess

    probe = (
        f"{code}\nimport json, sys\nwatched = {list(watched)!r}\n"
        "print(json.dumps(sorted(w for w in watched if any(m == w or m.startswith(w + '.') "
        "for m in sys.modules))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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
    from leadbook.contract import SETTINGS, SETTINGS_TABLE
    from leadbook.settings import spec_for

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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a test passes, fail it if a workbook it wrote is one Excel would repair.

    The workbooks are every .xlsx/.xlsm under the test's ``tmp_path`` (when it used one,
    directly or through a fixture) and every workbook path a fixture handed it (such as
    ``built_demo``). Tests that write broken files on purpose say so with
    ``@pytest.mark.broken_files`` (optionally naming the files by glob).
    """
    result = yield
    started = time.perf_counter()
    problems = [
        f"{path.name}: {finding}" for path in written_workbooks(item) for finding in findings(path)
    ]
    _checked["seconds"] += time.perf_counter() - started
    if problems:
        listed = "\n  ".join(problems[:40])
        more = f"\n  … and {len(problems) - 40} more" if len(problems) > 40 else ""
        pytest.fail(
            f"the test wrote a workbook Excel would repair (tests/xlsx_integrity.py); "
            f"if the test breaks it on purpose, mark it @pytest.mark.broken_files:\n  "
            f"{listed}{more}",
            pytrace=False,
        )
    return result


def written_workbooks(item: pytest.Item) -> list[Path]:
    """The workbooks a test wrote or was handed, less those its ``broken_files`` exempt."""
    funcargs = getattr(item, "funcargs", {})
    exempt = [glob for m in item.iter_markers("broken_files") for glob in m.args or ("*",)]
    tmp_path = funcargs.get("tmp_path")
    written = sorted(tmp_path.rglob("*")) if tmp_path is not None else []
    written = [p for p in written if not any(p.match(glob) for glob in exempt)]
    handed = [p for value in funcargs.values() for p in _paths_in(value)]
    if tmp_path is not None:
        handed = [p for p in handed if not p.is_relative_to(tmp_path)]
    workbooks = [p for p in dict.fromkeys(written + handed) if _is_workbook(p)]
    _checked["files"] += len(workbooks)
    return workbooks


def _paths_in(value: object) -> list[Path]:
    """A fixture's value if it is a path, or the path fields of a result dataclass."""
    if isinstance(value, Path):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = (getattr(value, f.name) for f in dataclasses.fields(value))
        return [f for f in fields if isinstance(f, Path)]
    return []


def _is_workbook(path: Path) -> bool:
    """An Excel workbook file, not an owner/lock file Excel (~$) or LibreOffice leaves."""
    lock = path.name.startswith(("~$", ".~lock."))
    return path.suffix.lower() in WORKBOOK_SUFFIXES and not lock and path.is_file()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many workbooks the structural check read, and what it cost."""
    if _checked["files"]:
        terminalreporter.write_line(
            f"structural check (tests/xlsx_integrity.py): {_checked['files']} workbook(s) "
            f"checked in {_checked['seconds']:.1f}s"
        )
