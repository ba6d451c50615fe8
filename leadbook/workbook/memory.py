"""A button's copy of the live workbook, already open in memory, for the jobs that take it.

A button (``udfs.book.run_job``) mirrors the live workbook's cells into an openpyxl workbook
and saves it as the file its job runs on. A job that writes its workbook once (Rebalance) need
not open that file again: while :data:`IN_MEMORY` holds the copy, the reader takes its inputs
from the workbook in memory (:func:`leadbook.workbook.read.read_book`) and the write changes
it in place (:func:`leadbook.workbook.write.update_workbook`).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from openpyxl.workbook.workbook import Workbook

from leadbook import files


@dataclass
class InMemory:
    """A workbook file's contents already open (a button's copy of the live workbook, which
    ``udfs.book.run_job`` mirrored into ``wb`` and saved at ``path``): while
    :data:`IN_MEMORY` holds one, :func:`~leadbook.workbook.read.read_book` on ``path`` reads
    ``wb``'s cells (which hold what the file gives back: ``udfs.book.mirror``) and
    :func:`~leadbook.workbook.write.update_workbook` on ``path`` lets its job change ``wb``
    itself instead of loading the file, and keeps the file as the version the write replaces
    without saving ``wb`` (nobody opens the copy again: the button reads ``wb``,
    :data:`~leadbook.workbook.write.WRITTEN`). Written once only: a second write on ``path``
    would not see the first."""

    path: Path
    wb: Workbook
    used: bool = False


IN_MEMORY: ContextVar[InMemory | None] = ContextVar("leadbook_in_memory", default=None)
"""While set (``udfs.book.run_job``, for a job that writes its workbook once): the workbook a
button's copy holds, already open (:class:`InMemory`)."""


def open_copy(path: Path) -> Workbook | None:
    """The workbook at ``path`` as :data:`IN_MEMORY` holds it, not written yet; else None.

    Examples
    --------
    >>> from pathlib import Path
    >>> wb = Workbook()
    >>> token = IN_MEMORY.set(InMemory(Path("copy.xlsx"), wb))
    >>> open_copy(Path("copy.xlsx")) is wb, open_copy(Path("other.xlsx"))
    (True, None)
    >>> IN_MEMORY.reset(token)
    """
    memory = IN_MEMORY.get()
    if memory is None or memory.used or files.real_path(memory.path) != files.real_path(path):
        return None
    return memory.wb
