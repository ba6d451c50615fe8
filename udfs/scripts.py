"""leadbook's buttons: Refresh and Check inputs, as xlwings scripts.

Each script runs the same job as the command line (``leadbook refresh BOOK``,
``leadbook check --write BOOK``) on the live workbook through :func:`udfs.book.run_job`,
so a button and the command give the same tables. A failing script writes nothing; its
message reaches the task pane (xlwings Lite, xlwings Server) or a message box (classic).

- xlwings Lite runs the ``@script`` functions from its pane; xlwings Server from the
  buttons of leadbook's task pane.
- The classic add-in's ``RunPython`` calls the no-argument ``*_caller`` functions, which
  work on the workbook whose button was pressed (see ``workbooks/classic/leadbook.bas``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import xlwings as xw
from xlwings import script

from leadbook.errors import LeadbookError
from leadbook.workbook import jobs
from udfs.book import run_job
from udfs.convert import excel_errors

__all__ = ["check_inputs", "check_inputs_caller", "refresh", "refresh_caller"]


def _check(path: Path) -> Any:
    return jobs.check(path, write=True)


@script
@excel_errors
def refresh(book: xw.Book) -> None:
    """Refresh: recompute every analysis tab — Tiers, Scores, ROI, Forecast, Hiring."""
    run_job(book, jobs.refresh)


@script
@excel_errors
def check_inputs(book: xw.Book) -> None:
    """Check inputs: list every input problem in the Problems table of the Start tab."""
    run_job(book, _check)


def refresh_caller() -> None:
    """Refresh, for the classic add-in's ``RunPython`` (see workbooks/classic)."""
    _from_button(jobs.refresh)


def check_inputs_caller() -> None:
    """Check inputs, for the classic add-in's ``RunPython``."""
    _from_button(_check)


def _from_button(job: Callable[[Path], Any]) -> None:
    book = xw.Book.caller()
    try:
        run_job(book, job)
    except LeadbookError as exc:
        book.app.alert(str(exc), title="leadbook")
