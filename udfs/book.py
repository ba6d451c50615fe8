"""Run leadbook's workbook jobs on a live Excel workbook, through the xlwings Book API.

A button runs *the same job* as the command line (:mod:`leadbook.workbook.jobs.refresh`), on the
same workbook contract, so both give the same tables:

1. :func:`mirror` copies the live workbook's cells (values, as Excel shows them) and the
   places of its Excel Tables into an openpyxl workbook, saved to a temporary file;
2. the job reads and writes that file exactly as ``leadbook refresh BOOK`` would, through
   :func:`leadbook.workbook.write.update_workbook` (which also appends the Log row);
3. :func:`changes` compares the file before and after the job, and :func:`write_back`
   writes what changed — cell values and formulas, number formats, table sizes — to the
   live workbook.

A job that writes its workbook once (Rebalance: ``run_job(…, in_memory=True)``) changes the
mirrored workbook itself instead (:data:`~leadbook.workbook.memory.IN_MEMORY`): it reads its
inputs from it (the mirror holds each value as the saved copy gives it back, so a job reads
the same numbers either way); the file, saved with the live workbook's formulas in, is the
version Undo restores; it is not loaded for the write, nor the result saved and read back.

Every job keeps the copy it started from in the workbook's versions folder
(:func:`leadbook.workbook.versions.versions_dir`, beside the workbook: see
:func:`book_folder`), as the command line keeps the file, so the Undo button can put it
back. xlwings sends values only; leadbook's task pane (xlwings Server) also sends the
workbook's formulas (:func:`sent_formulas`), which go into that copy's formula cells, so Undo
puts formulas back as formulas, and tell :func:`changes` which formula cells the job left as
Excel holds them. Without them (xlwings Lite, the classic add-in) the copy holds values alone,
and Undo puts back the numbers formula cells showed. Nothing is written to Excel until the
job has succeeded, so a failing button
writes nothing. Only contents travel back: the template's look (column widths, colours,
conditional formats) stays as it is in the workbook, and charts are Excel's own.
Works with any xlwings Book: the classic add-in's (COM), and xlwings Lite's and xlwings
Server's (Office.js), since it uses only ranges, values, number formats and tables.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import math
import os
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table

from leadbook import files
from leadbook.contract import OUTPUT_SHEETS, SHEET_NAMES
from leadbook.errors import InputError, LeadbookError, Problem, WorkbookFileError
from leadbook.workbook.layout import set_cell
from leadbook.workbook.memory import IN_MEMORY, InMemory
from leadbook.workbook.splice import stub_tabs
from leadbook.workbook.versions import VALUES_COPY, versions_dir
from leadbook.workbook.write import (
    CALLER,
    LEFT_AS_THEY_WERE,
    WRITTEN,
    one_job,
)
from udfs.convert import as_typed, to_cell
from udfs.formula_cells import Formulas, formulas_in, sent_formulas, with_formulas

T = TypeVar("T")
Cells = dict[tuple[int, int], Any]
FILES_ENV = "LEADBOOK_FILES"
"""Where files kept beside a workbook go when the workbook's own folder is unknown."""


@dataclass
class SheetChange:
    """What a job changed on one tab: a block of cells, number formats, Excel Tables."""

    sheet: str
    top: int
    left: int
    cells: list[list[Any]]
    formats: list[tuple[str, str]] = field(default_factory=list)
    tables: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        bottom = self.top + len(self.cells) - 1
        right = self.left + len(self.cells[0]) - 1
        return f"{get_column_letter(self.left)}{self.top}:{get_column_letter(right)}{bottom}"


def run_job(
    book: Any,
    job: Callable[[Path], T],
    *,
    companions: Sequence[Callable[[Path], Path]] = (),
    made: Callable[[Path], Iterable[Path]] | None = None,
    tabs: Collection[str] | None = None,
    formulas: Any = None,
    in_memory: bool = False,
) -> T:
    """Run a file job (``refresh``, ``rebalance``…) on the live ``book``.

    ``job(path)`` gets a copy of the workbook as an .xlsx file of the workbook's own name
    and changes it as the command line would; what it changed is then written to ``book``
    (only on ``tabs``, when given). If the job raises, nothing is written — unless it
    recorded its failure in the file before raising (a Rebalance whose policy cannot be met
    marks the Allocation tab stale), in which case that record is written and the error
    raised.

    ``companions`` name the folders a job keeps beside its workbook (``companion(path)`` is
    the folder for the workbook at ``path``, e.g. :func:`leadbook.leads.store.model_dir`): each
    is copied from :func:`book_folder` beside the copy before the job, and back after it
    succeeds, so the job finds and keeps them as it would beside the file. ``made(path)``
    names files the job writes beside the copy (the board pack): they go to
    :func:`book_folder` only once the job has succeeded. The versions
    folder travels too, but only what the job changed in it goes back (:func:`_merge_back`).

    ``formulas``: the formulas of the live workbook, as leadbook's task pane sends them with a
    press (:func:`sent_formulas`; None from xlwings Lite, the classic add-in or an older
    pane). The job still reads values; the formulas tell :func:`changes` which formula cells
    the job left as they were, and go into the version the job keeps, so Undo puts formulas
    back as formulas (:func:`_keep_formulas`).

    ``in_memory``: the job writes its workbook once (:func:`update_workbook
    <leadbook.workbook.write.update_workbook>` called once, as by Rebalance), and that write
    may change the mirrored workbook itself (:data:`~leadbook.workbook.memory.IN_MEMORY`): the
    job reads its inputs from the mirror, the copy is not loaded by the write, nor is the
    result saved and read back; the copy is saved with ``formulas`` in
    (:func:`~udfs.formula_cells.formulas_in`), as the version Undo restores.
    """
    shown = sent_formulas(formulas, [s.name for s in book.sheets])
    unstorable = [
        _unstorable(tab, r, c, formula, "formula")
        for tab, cells in (shown or {}).items()
        for (r, c), formula in cells.items()
        if _NOT_IN_XML.search(formula)
    ]
    if unstorable:  # the version a press keeps holds its formulas: none could be saved
        raise InputError(unstorable)
    home, fresh = _files_home(book)
    with _one_press_at_a_time(home / book_file_name(book), fresh):
        return _run_job(book, job, home, fresh, companions, made, tabs, shown, in_memory)


def _one_press_at_a_time(path: Path, fresh: str | None) -> contextlib.AbstractContextManager:
    """The job lock of the workbook whose files are kept as ``path`` (beside the file itself
    for the classic add-in, so a button and a command take turns), held from the copy of the
    live workbook to the write back: a second press on the same workbook is refused, not
    run beside the first, whose Log row it would write over. A workbook without an identity
    yet gets a folder of its own, which no other press shares."""
    if fresh is not None:
        return contextlib.nullcontext()
    path.parent.mkdir(parents=True, exist_ok=True)
    return one_job(path)


def _run_job(
    book: Any,
    job: Callable[[Path], T],
    home: Path,
    fresh: str | None,
    companions: Sequence[Callable[[Path], Path]],
    made: Callable[[Path], Iterable[Path]] | None,
    tabs: Collection[str] | None,
    formulas: Formulas | None,
    in_memory: bool = False,
) -> T:
    token = CALLER.set("Excel button")
    at_home = HOME.set(home)
    try:
        with tempfile.TemporaryDirectory(prefix="leadbook-") as tmp:
            path = Path(tmp) / book_file_name(book)
            mirrored = mirror(book)
            # a job reading the copy in memory leaves the file to Undo: its formulas go in now
            with formulas_in(mirrored, formulas if in_memory else None):
                save_quietly(mirrored, path)
            saved = path.read_bytes()
            # the job changes the mirror itself: what it held, to compare with
            memory = InMemory(path, mirrored) if in_memory else None
            before: Workbook | Mirrored = Mirrored.of(mirrored) if memory else mirrored
            for companion in companions:
                _copy_folder(companion(home / path.name), companion(path))
            versions = _copy_folder(versions_dir(home / path.name), versions_dir(path))
            left: list[frozenset[str]] = []
            written: list[tuple[Workbook, frozenset[str]] | None] = []
            writes = LEFT_AS_THEY_WERE.set(left)
            saves = WRITTEN.set(written)
            opened = IN_MEMORY.set(memory)
            try:
                result = job(path)
            except LeadbookError:
                # A job that fails may still have recorded why (Rebalance marks its tab
                # stale); anything else it wrote is nothing, so the book stays as it was.
                recorded = bool(written) if memory else path.read_bytes() != saved
                if recorded:
                    wrote = mirrored if memory else openpyxl.load_workbook(path)
                    found = changes(before, wrote, formulas)
                    write_back(book, _kept(found, tabs))
                    if not memory:
                        _keep_formulas(versions_dir(path), versions, saved, formulas)
                    _merge_back(versions_dir(path), versions_dir(home / path.name), versions)
                    if fresh:
                        _give_identity(book, fresh)
                raise
            finally:
                IN_MEMORY.reset(opened)
                WRITTEN.reset(saves)
                LEFT_AS_THEY_WERE.reset(writes)
            read = _as_written(path, left, written)
            del written
            after = read[0][0]
            refuse_moved_tables(before, after)
            found = [c for wb, unread in read for c in changes(before, wb, formulas, unread)]
            order = {name: i for i, name in enumerate(after.sheetnames)}
            found = _kept(sorted(found, key=lambda c: order.get(c.sheet, len(order))), tabs)
            for companion in companions:
                _copy_folder(companion(path), companion(home / path.name))
            for file in made(path) if made else ():
                home.mkdir(parents=True, exist_ok=True)
                files.copy_file(file, home / file.name)
            if not memory:
                _keep_formulas(versions_dir(path), versions, saved, formulas)
            _merge_back(versions_dir(path), versions_dir(home / path.name), versions)
    finally:
        HOME.reset(at_home)
        CALLER.reset(token)
    write_back(book, found)
    if fresh:
        _give_identity(book, fresh)  # the folder its files were just kept in
    return result


@dataclass(frozen=True)
class Mirrored:
    """What a mirrored workbook held before a job changed it in memory: each tab's cells
    (:func:`_cells`) and where its Excel Tables were (name → tab, range)."""

    cells: dict[str, Cells]
    tables: dict[str, tuple[str, str]]

    @classmethod
    def of(cls, wb: Workbook) -> Mirrored:
        return cls({ws.title: _cells(ws, saved=True) for ws in wb.worksheets}, cls.of_tables(wb))

    @staticmethod
    def of_tables(wb: Workbook) -> dict[str, tuple[str, str]]:
        return {
            t.displayName: (ws.title, t.ref) for ws in wb.worksheets for t in ws.tables.values()
        }


def _kept(found: list[SheetChange], tabs: Collection[str] | None) -> list[SheetChange]:
    return [c for c in found if tabs is None or c.sheet in tabs]


MAX_NAME_BYTES = 200
"""The longest file name (UTF-8 bytes) a job's copy of the workbook gets: leadbook names its
lock and temporary files after the workbook with up to 42 bytes more, and the system takes 255."""


def book_file_name(book: Any) -> str:
    """The live workbook's file name as an .xlsx (``Book1`` before it is saved → ``Book1.xlsx``),
    a name past :data:`MAX_NAME_BYTES` cut short and told apart by a digest of it."""
    name = Path(str(book.name).replace("\\", "/").replace("\0", "")).name or "workbook"
    name = name if name.lower().endswith(".xlsx") else f"{Path(name).stem}.xlsx"
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    tag = hashlib.sha256(name.encode()).hexdigest()[:8]
    stem = name[:-5].encode()[: MAX_NAME_BYTES - 14].decode("utf-8", "ignore")
    return f"{stem}-{tag}.xlsx"


BOOK_ID_NAME = "LeadbookBookId"
"""A workbook-level defined name holding the workbook's identity (32 hex digits), which
leadbook adds the first time a button keeps files for a workbook it knows only by name."""
USER: ContextVar[str | None] = ContextVar("leadbook_user", default=None)
"""The signed-in user a button runs for (xlwings Server with sign-in on), else None."""
_BOOK_ID = re.compile(r'=?"?([0-9a-f]{32})"?')


HOME: ContextVar[Path | None] = ContextVar("leadbook_files_home", default=None)
"""While :func:`run_job` runs a job: the folder of the live workbook's files."""


def book_folder(book: Any) -> Path:
    """Where files a job keeps beside the workbook go — the versions, the lead model, the
    board pack (inside :func:`run_job`, the folder that job uses).

    The workbook's own folder when it is a file on this machine (the classic add-in gives
    its full path). Otherwise Office.js sends only the workbook's name, which two people
    may share: the files then go under ``LEADBOOK_FILES`` (default ``~/leadbook``), in a
    folder of the signed-in user (``shared`` without sign-in) and of the workbook's identity
    (:func:`book_identity`) — never a path the workbook or the request chose.
    """
    running = HOME.get()
    return running if running is not None else _files_home(book)[0]


def _files_home(book: Any) -> tuple[Path, str | None]:
    """:func:`book_folder`, and the identity to give the workbook when it has none yet
    (given only once its job succeeds: a failed press changes nothing)."""
    own = _own_folder(book)
    if own is not None:
        return own, None
    root = Path(os.environ.get(FILES_ENV) or Path.home() / "leadbook")
    user = USER.get()
    who = "shared" if user is None else "user-" + hashlib.sha256(user.encode()).hexdigest()[:16]
    found = book_identity(book)
    identity = found or uuid.uuid4().hex
    return root / who / identity, None if found else identity


def _own_folder(book: Any) -> Path | None:
    """The folder of a workbook Excel has open on this machine (the classic add-in), or None.
    Office.js (xlwings Lite, xlwings Server) sends only a name, which the request chooses: a
    path in it is never trusted."""
    try:
        if book.app.engine.type == "remote":
            return None
        full = Path(str(book.fullname))
    except Exception:  # a Book without an engine or a full name
        return None
    return full.parent if full.is_absolute() and full.parent.is_dir() else None


def book_identity(book: Any) -> str | None:
    """The workbook's identity: the 32 hex digits its ``LeadbookBookId`` name holds, or None
    when it has none (or holds anything else, which is replaced). The name travels with the
    file, so a copy shares its files and a Save As keeps them; two workbooks of one name do
    not."""
    try:
        found = _BOOK_ID.fullmatch(str(book.names[BOOK_ID_NAME].refers_to).strip())
    except Exception:  # no such name
        return None
    return found.group(1) if found else None


def _give_identity(book: Any, identity: str) -> None:
    with contextlib.suppress(Exception):  # an invalid one is replaced
        book.names[BOOK_ID_NAME].delete()
    book.names.add(BOOK_ID_NAME, f'="{identity}"')


def _copy_folder(source: Path, target: Path) -> dict[str, int]:
    """Make ``target`` hold what ``source`` holds (nothing if ``source`` is absent); the
    files copied, with their sizes.

    The copy is staged beside ``target`` and swapped in by two renames, the old folder
    kept aside until the new one has its name: a press killed between them leaves the old
    folder, which the next copy puts back (:func:`_put_back`)."""
    _put_back(source)
    if not source.is_dir():
        return {}
    target.parent.mkdir(parents=True, exist_ok=True)
    _put_back(target)
    staged = target.with_name(f".{target.name}.leadbook-new")
    aside = target.with_name(f".{target.name}.leadbook-old")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.rmtree(aside, ignore_errors=True)
    shutil.copytree(source, staged)
    if target.exists():
        target.rename(aside)
    staged.rename(target)
    shutil.rmtree(aside, ignore_errors=True)
    return {f.name: f.stat().st_size for f in target.iterdir() if f.is_file()}


def _put_back(folder: Path) -> None:
    """Give ``folder`` back the contents a killed :func:`_copy_folder` set aside."""
    aside = folder.with_name(f".{folder.name}.leadbook-old")
    if aside.is_dir() and not folder.exists():
        aside.rename(folder)


def _merge_back(copy: Path, home: Path, copied: dict[str, int]) -> None:
    """Bring back to the versions folder ``home`` what a job changed in its ``copy``: the
    files it added or grew (a version, the undo log), each written whole before it takes its
    name, and the removal of those it pruned. Files kept meanwhile by a command on the same
    folder are left alone."""
    if not copy.is_dir():
        return
    home.mkdir(parents=True, exist_ok=True)
    now = {f.name: f for f in copy.iterdir() if f.is_file()}
    for name, file in now.items():
        if copied.get(name) != file.stat().st_size:
            files.copy_file(file, home / name)
    for name in copied.keys() - now.keys():
        (home / name).unlink(missing_ok=True)


def mirror(book: Any) -> Workbook:
    """An openpyxl copy of the cell values and Excel Table places of ``book``'s contract tabs
    (a user's own tabs stay out: the jobs neither read nor write them), marked as such a
    copy (:data:`~leadbook.workbook.versions.VALUES_COPY`) so that a version kept of it
    never replaces a workbook file."""
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.identifier = VALUES_COPY
    wb.properties.description = (
        f"The cell values of {book_file_name(book)} as a leadbook button saw them in Excel"
    )
    unstorable: list[Problem] = []
    for sheet in book.sheets:
        if sheet.name not in SHEET_NAMES:
            continue
        ws = wb.create_sheet(sheet.name)
        used = sheet.used_range
        rows = used.options(ndim=2, err_to_str=True).value or []
        top, left = used.row, used.column  # looked up once: per cell, a tenth of the mirror
        for i, row in enumerate(rows, top):
            for j, value in enumerate(row, left):
                if value is None or value == "":
                    continue
                if isinstance(value, str) and _NOT_IN_XML.search(value):
                    unstorable.append(_unstorable(sheet.name, i, j, value))
                    continue
                set_cell(ws.cell(i, j), _as_stored(value))
        for table in sheet.tables:
            ws.add_table(_named_columns(ws, table.name, _plain(table.range.address)))
    if unstorable:
        raise InputError(unstorable)
    return wb


_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters a cell of Excel can hold (its text is UTF-16) that no .xlsx file can store: the
control characters but tab, line feed and return, half an emoji (a lone surrogate: what
``=LEFT`` leaves of one cut in two), U+FFFE and U+FFFF."""


def _unstorable(sheet: str, row: int, column: int, text: str, what: str = "text") -> Problem:
    """The problem of a live cell holding a character no workbook file can store, in its
    ``what`` (its text, or its formula).

    >>> p = _unstorable("Sources", 13, 1, "Premium \\x0b")
    >>> p.where, p.message.split(";")[0]
    ('Sources!A13', "holds a character a workbook file cannot store (U+000B, after 'Premium ')")
    >>> _unstorable("Sources", 3, 27, '="R\\x01D"', "formula").message.split(";")[1][:33]
    ' retype the formula without it (a'
    """
    at = _NOT_IN_XML.search(text)
    assert at is not None
    before = text[max(0, at.start() - 20) : at.start()]
    return Problem(
        f"{sheet}!{get_column_letter(column)}{row}",
        f"holds a character a workbook file cannot store (U+{ord(at.group()):04X}, after "
        f"{before!r}); retype the {what} without it (a control character, or half an emoji cut "
        "by a formula such as LEFT), then press again",
    )


def _named_columns(ws: Any, name: str, ref: str) -> Table:
    """The Excel Table ``name`` at ``ref`` of ``ws``, its columns named after the header cells
    as openpyxl names them when it saves a table without column names — which it does by
    taking the whole table's range from the sheet, making a cell of every empty place in it
    (History's thousands), for every later step of the press to walk over.

    >>> wb = Workbook(); ws = wb.active; ws["B2"], ws["C2"] = "Source", 3
    >>> [c.name for c in _named_columns(ws, "T", "B2:C40").tableColumns], len(ws._cells)
    (['Source', '3'], 2)
    """
    table = Table(displayName=name, ref=ref)
    min_col, min_row, max_col, _ = range_boundaries(ref)
    table._initialise_columns()
    for column, col in zip(range(min_col, max_col + 1), table.tableColumns, strict=True):
        held = ws._cells.get((min_row, column))
        col.name = str(held.value if held is not None else None)
    return table


def _keep_formulas(
    folder: Path, copied: dict[str, int], saved: bytes, formulas: Formulas | None
) -> None:
    """Put the live workbook's ``formulas`` into the versions the job kept, in ``folder``, of
    the values copy it started from (the files it added that hold the bytes ``saved``), so
    Undo gives formula cells back their formulas, not the numbers they showed. The formulas
    go straight into the saved copy's sheet XML (:func:`udfs.formula_cells.with_formulas`:
    loading and saving it again took a fifth of a press). The version stays marked as a
    values copy: the formulas hold no values, and a file is never restored from it."""
    if not formulas or not folder.is_dir():
        return
    kept: bytes | None = None
    for file in folder.iterdir():
        if file.name in copied or not file.is_file() or file.stat().st_size != len(saved):
            continue
        if file.read_bytes() != saved:
            continue
        kept = with_formulas(saved, formulas) if kept is None else kept
        staged = file.with_name(f".{file.name}.leadbook-new")
        staged.write_bytes(kept)
        staged.replace(file)


def refuse_moved_tables(before: Workbook | Mirrored, after: Workbook) -> None:
    """Raise when the job put an Excel Table elsewhere than the live workbook has it.

    Excel resizes a table in place (its header row and first column stay) but cannot move
    one, and a table written elsewhere would collide with the old one. A job moves a table
    when the tab's layout changed (a workbook from an older leadbook, or stacked tables that
    outgrew the room kept for them): the command line rewrites the tab whole, a button cannot.
    """
    was = before.tables if isinstance(before, Mirrored) else Mirrored.of_tables(before)
    moved, tabs = [], set()
    for ws in after.worksheets:
        for table in ws.tables.values():
            name = table.displayName
            if name not in was:
                continue
            sheet, ref = was[name]
            if sheet != ws.title or _top_left(ref) != _top_left(table.ref):
                moved.append(
                    f"{name} ({sheet}!{_top_left(ref)} → {ws.title}!{_top_left(table.ref)})"
                )
                tabs |= {sheet, ws.title}
    if moved:
        listed = ", ".join(sorted(tabs))
        raise WorkbookFileError(
            f"this layout moves Excel Tables, which Excel cannot do in place: {'; '.join(moved)}. "
            "Nothing was written. Run the same command with the leadbook command line on the "
            "saved workbook (it rewrites the tabs whole, keeping what they keep), or delete the "
            f"tab(s) {listed} and press the button again (leadbook writes them anew; what they "
            "kept, such as the forecast log, starts afresh)"
        )


def _top_left(ref: str) -> str:
    return ref.split(":")[0].replace("$", "")


def save_quietly(wb: Workbook, path: Path) -> None:
    """Save ``wb``; a mirrored table whose header cell is not text is not worth a warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "File may not be readable", UserWarning)
        wb.save(path)


def read_back(path: Path, left: list[frozenset[str]]) -> tuple[Workbook, frozenset[str]]:
    """The workbook a job wrote at ``path``, and the tabs of it not read: those every write
    of the job (``left``: what each cut out of its load and spliced back,
    :data:`~leadbook.workbook.write.LEFT_AS_THEY_WERE`) left as they were, cut here to their
    top rows. The whole workbook when a write loaded it whole or a tab is cut differently."""
    kept = frozenset.intersection(*left) if left else frozenset()
    stubbed = stub_tabs(path, outputs=kept & OUTPUT_SHEETS) if kept else None
    if stubbed is None or not set(stubbed.tabs) <= kept:
        return openpyxl.load_workbook(path), frozenset()
    return openpyxl.load_workbook(io.BytesIO(stubbed.package)), frozenset(stubbed.tabs)


def _as_written(
    path: Path, left: list[frozenset[str]], written: list[tuple[Workbook, frozenset[str]] | None]
) -> list[tuple[Workbook, frozenset[str]]]:
    """:func:`read_back`, as workbooks to compare each with the tabs of it not to (the first
    workbook's tables are those of the file): the workbook the job saved, still in memory,
    when it saved once (:data:`~leadbook.workbook.write.WRITTEN`) — the file holds those cells,
    and the tabs that write cut are the ones it left as they were — but for the tabs it gave
    rows in the file alone (the Decisions log), read back from the file."""
    if len(left) != 1 or len(written) != 1 or written[0] is None:
        return [read_back(path, left)]
    shown, given_rows = written[0]
    if not given_rows:
        return [(shown, left[0])]
    others = frozenset(shown.sheetnames) - given_rows
    from_file, _ = read_back(path, [others])
    unread = frozenset(from_file.sheetnames) - given_rows
    return [(shown, left[0] | given_rows), (from_file, unread)]


def changes(
    before: Workbook | Mirrored,
    after: Workbook,
    formulas: Formulas | None = None,
    unread: Collection[str] = (),
) -> list[SheetChange]:
    """Per tab, the smallest blocks covering every cell the job changed — one per run of
    changed rows, so the stamp in row 1 does not drag the rows between it and the tables
    along — with their formats; the first block of a tab carries its Excel Tables (name →
    range and style).

    ``before`` holds values (:func:`mirror`); ``formulas``, the live workbook's formulas
    (:func:`sent_formulas`), if known. A cell is unchanged when the job left its value, or
    wrote the formula it holds in Excel (:func:`formula_key`): Excel keeps that formula
    and calculates it, and a formula cell whose value the job changes is not written over.
    Tabs ``unread`` (:func:`read_back`) the job left as they were.
    """
    found = []
    for ws in after.worksheets:
        if ws.title in unread:
            continue
        if isinstance(before, Mirrored):
            old = before.cells.get(ws.title, {})
        else:
            old = _cells(before[ws.title]) if ws.title in before.sheetnames else {}
        new = _cells(ws)
        shown = (formulas or {}).get(ws.title, {})
        places = _table_places(ws)
        changed = [
            k
            for k in old.keys() | new.keys()
            if not _same(old.get(k), new.get(k)) and not _same_formula(shown.get(k), ws, k, places)
        ]
        tables = {
            t.displayName: (t.ref, t.tableStyleInfo.name if t.tableStyleInfo else None)
            for t in ws.tables.values()
        }
        for rows in _row_runs(sorted({r for r, _ in changed})):
            top, bottom = rows[0], rows[-1]
            columns = [c for r, c in changed if top <= r <= bottom]
            left, right = min(columns), max(columns)
            block = [
                [_to_excel(ws.cell(r, c)) for c in range(left, right + 1)]
                for r in range(top, bottom + 1)
            ]
            formats = _formats(ws, top, left, bottom, right)
            found.append(SheetChange(ws.title, top, left, block, formats, tables))
            tables = {}
    return found


def _row_runs(rows: list[int]) -> list[list[int]]:
    """Consecutive row numbers grouped: [1, 4, 5, 6] → [[1], [4, 5, 6]]."""
    runs: list[list[int]] = []
    for r in rows:
        if runs and r == runs[-1][-1] + 1:
            runs[-1].append(r)
        else:
            runs.append([r])
    return runs


def write_back(book: Any, found: list[SheetChange]) -> None:
    """Write the changes to the live workbook: values, then table sizes, then formats."""
    names = [s.name for s in book.sheets]
    for change in found:
        if change.sheet not in names:
            _add_sheet(book, change.sheet, names)
        sheet = book.sheets[change.sheet]
        sheet.range(change.address).value = change.cells
        _write_tables(sheet, change.tables)
        for address, number_format in change.formats:
            sheet.range(address).number_format = number_format


def _add_sheet(book: Any, name: str, names: list[str]) -> None:
    """Add the tab ``name`` where the command line puts a new tab (``sheets._place_of``): after
    the last tab the contract puts before it, else first (last, for a tab it does not know).
    Through ``after``: xlwings' Office.js Book puts a tab added ``before`` the n-th tab
    (n > 1) before the (n-1)-th."""
    if name in SHEET_NAMES:
        present = [names.index(n) for n in SHEET_NAMES[: SHEET_NAMES.index(name)] if n in names]
    else:
        present = [len(names) - 1]
    if present:
        book.sheets.add(name, after=book.sheets[max(present)])
        names.insert(max(present) + 1, name)
    else:
        book.sheets.add(name, before=book.sheets[0])
        names.insert(0, name)


def _write_tables(sheet: Any, tables: dict[str, tuple[str, str | None]]) -> None:
    existing = {t.name: t for t in sheet.tables}
    for name, (ref, style) in tables.items():
        if name not in existing:
            sheet.tables.add(
                source=sheet.range(ref), name=name, has_headers=True, table_style_name=style
            )
        elif _plain(existing[name].range.address) != ref:
            existing[name].resize(sheet.range(ref))


def _cells(ws: Any, saved: bool = False) -> Cells:
    """The tab's cells that hold a value, as saved (:func:`_as_saved`; ``saved``: they are
    already, as the mirror's are): those openpyxl holds, not every place of the used
    rectangle, which ``iter_rows`` would make (and keep) a cell for — half a million on the
    demo, a fifth of a press."""
    held = ((key, c.value) for key, c in ws._cells.items())
    if saved:
        return {key: value for key, value in held if value is not None and value != ""}
    return {key: _as_saved(value) for key, value in held if value is not None and value != ""}


def _as_saved(value: Any) -> Any:
    """A cell's value as the saved file gives it back (a job's workbook still in memory holds
    what it wrote, :func:`_as_written`): a number to the 16 significant digits openpyxl
    saves (a whole one as an int; not a number at all, as no value), a date as a datetime
    at midnight, a NumPy value as Python's.

    >>> _as_saved(0.43683083511777304), _as_saved(np.float64(3.0)), _as_saved(float("nan"))
    (0.436830835117773, 3, None)
    >>> _as_saved(dt.date(2026, 3, 1))
    datetime.datetime(2026, 3, 1, 0, 0)
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = "%.16g" % value  # noqa: UP031 — openpyxl's own format (compat.safe_string)
        return float(text) if "." in text or "e" in text else int(text)  # ("%g": no "E")
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def _as_stored(value: Any) -> Any:
    r"""A live cell's value as a saved copy gives it back (:func:`_as_saved`; a text's line
    breaks as XML reads them): the mirror holds it so, and a job reading the mirror in
    memory reads what it would read in the copy — the numbers, and so the fingerprints of
    its stamps, of every other button, which reads the copy.

    >>> _as_stored(0.12345678901249999), _as_stored(3.0), _as_stored("two\r\nlines\r")
    (0.1234567890125, 3, 'two\nlines\n')
    >>> _as_stored(12345678901234567890)  # a whole number past 16 digits: saved as a float
    1.234567890123457e+19
    """
    if type(value) is int and not -(10**16) < value < 10**16:
        value = float(value)
    value = _as_saved(value)
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return abs((a - b).total_seconds()) < 1
    if isinstance(a, int | float) and isinstance(b, int | float):
        # openpyxl saves a float to 16 significant digits: the file the job read gives back
        # 0.436830835117773 for a cell Excel sent as 0.43683083511777304
        return math.isclose(float(a), float(b), rel_tol=SAVED_DIGITS, abs_tol=0.0)
    return a == b


SAVED_DIGITS = 1e-15
"""How far apart two numbers may be and be the same cell's value once saved (relative)."""


_THIS_ROW = re.compile(r"(\b[A-Za-z_\\][\w.]*)?\[(?:\[#This Row\],\s*|@)\[?([^\[\]]+)\]?\]")
_TEXT = re.compile(r'("(?:[^"]|"")*")')
"""A text in quotes in a formula (a quote inside doubled)."""


def formula_key(formula: str, table: str | None = None) -> str:
    """A formula as Excel shows it and as a file keeps it, in one form: without the file's
    function prefixes (:func:`~udfs.convert.as_typed`), a this-row reference as ``[@Column]``
    — qualified by its table unless that is ``table``, the one the formula's cell is in (a row
    of another table is another reference). Texts in quotes are left as they are.

    >>> formula_key("=_xlfn.RANK.EQ(Scores[[#This Row],[Composite]],Scores[Composite])", "Scores")
    '=RANK.EQ([@Composite],Scores[Composite])'
    >>> formula_key("=[@[Current spend]]*2") == formula_key("=Sources[@Current spend]*2", "Sources")
    True
    >>> formula_key("=Sources[@Spend]", "Scores")
    '=Sources[@Spend]'
    """
    own = table.casefold() if table else None

    def this_row(match: re.Match[str]) -> str:
        name = match[1] if match[1] and match[1].casefold() != own else ""
        return f"{name}[@{match[2]}]"

    parts = _TEXT.split(formula)
    return "".join(
        part if i % 2 else _THIS_ROW.sub(this_row, as_typed(part)) for i, part in enumerate(parts)
    )


def _same_formula(
    shown: str | None, ws: Any, key: tuple[int, int], places: list[tuple[str, tuple[int, ...]]]
) -> bool:
    """Whether the job left in the cell at ``key`` the formula it ``shown`` in Excel
    (``places``: the tab's Excel Tables, :func:`_table_places`)."""
    if shown is None:
        return False
    value = ws.cell(*key).value
    if isinstance(value, ArrayFormula):
        value = value.text
    elif ws.cell(*key).data_type != "f":
        return False
    table = _table_at(places, key)
    return isinstance(value, str) and formula_key(value, table) == formula_key(shown, table)


def _table_places(ws: Any) -> list[tuple[str, tuple[int, ...]]]:
    """The Excel Tables of ``ws``: name, and (min_col, min_row, max_col, max_row)."""
    return [(t.displayName, range_boundaries(t.ref)) for t in ws.tables.values()]


def _table_at(places: list[tuple[str, tuple[int, ...]]], key: tuple[int, int]) -> str | None:
    """The name of the Excel Table (of ``places``) the cell at ``key`` is in, or None."""
    row, column = key
    for name, (min_col, min_row, max_col, max_row) in places:
        if min_row <= row <= max_row and min_col <= column <= max_col:
            return name
    return None


def _to_excel(cell: Any) -> Any:
    value = _as_saved(cell.value)
    if isinstance(value, ArrayFormula):
        return to_cell(value.text, formula=True)
    return to_cell(value, formula=cell.data_type == "f")


def _formats(ws: Any, top: int, left: int, bottom: int, right: int) -> list[tuple[str, str]]:
    """Number formats of the block as (range, format): vertical runs of one format per
    column, General left out."""
    runs = []
    for c in range(left, right + 1):
        letter, start, current = get_column_letter(c), top, None
        for r in range(top, bottom + 2):
            fmt = ws.cell(r, c).number_format if r <= bottom else None
            if fmt != current:
                if current not in (None, "General"):
                    runs.append((f"{letter}{start}:{letter}{r - 1}", current))
                start, current = r, fmt
    return runs


def _plain(address: str) -> str:
    """``$A$1:$B$2`` or ``Sheet!A1:B2`` as ``A1:B2``."""
    address = address.split("!")[-1].replace("$", "")
    min_col, min_row, max_col, max_row = range_boundaries(address)
    return f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"
