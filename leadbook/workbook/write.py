"""Write to a workbook without ever losing what is in it.

:func:`update_workbook` is the only way leadbook changes a user's file. It

1. opens the file (formulas kept) and lets a job rewrite *output* tabs only;
2. checks the job left every input tab exactly as it was;
3. appends a Log row, saves to a temporary file beside the original, puts back in it every
   part, extension and worksheet element of the user's that openpyxl dropped or rewrote
   (:mod:`leadbook.workbook.package`: threaded comments, sparklines, Excel 2010 validations,
   rich text, add-in task panes…), and audits the save: anything of the user's still lost
   (a part of the package, of the workbook or of a tab leadbook does not own, compared by
   digest) aborts the write, naming it and its tab;
4. keeps the original as a version in ``<stem>.leadbook-versions/``
   (:mod:`leadbook.workbook.versions`); checks, immediately before the rename, that the
   original did not change meanwhile and that Excel or LibreOffice has not opened it;
   renames the temporary file over it, with its mode and owner (:mod:`leadbook.files`),
   and deletes the oldest version beyond ``VersionsKept``.

A job holds the workbook's lock (:func:`one_job`) from its read to its write, so another
job on the same workbook is refused rather than interleaved. Any failure before the rename
leaves the original byte-identical and keeps no version.
:func:`~leadbook.workbook.undo.undo` puts back, byte for byte, the version before the last write.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import logging
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as ET  # noqa: N817
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook import files
from leadbook.errors import WorkbookFileError
from leadbook.settings import Settings
from leadbook.workbook import versions as V
from leadbook.workbook.layout import fit_text, now
from leadbook.workbook.log import append_log, point_setting_names, render_log
from leadbook.workbook.losses import foreign_losses
from leadbook.workbook.memory import IN_MEMORY
from leadbook.workbook.package import keep_foreign_parts
from leadbook.workbook.parts import Package
from leadbook.workbook.provenance import READS, SUMMARY_TABS, stamp_tabs
from leadbook.workbook.read import (
    Book,
    check_package,
    open_inputs,
    open_workbook,
    read_settings,
)
from leadbook.workbook.saving import carry_cached_values, save_workbook, saved_package
from leadbook.workbook.sheets import (
    CHART_BUILDERS,
    Renderer,
    follow_summaries,
    rendered_tabs,
    replace_sheet,
    restore_charts,
)
from leadbook.workbook.splice import (
    Stubbed,
    appended_rows,
    fits,
    remember_cut,
    splice_back,
    stub_tabs,
)
from leadbook.workbook.stream import StreamedBook, open_streamed

log = logging.getLogger(__name__)


Job = Callable[[Workbook], str]
"""Rewrites output tabs of an open workbook and says what changed (for the Log)."""


CALLER: ContextVar[str] = ContextVar("leadbook_caller", default="command line")
"""Who runs the jobs of this context, as the stamps and the Log say it: the command line,
or an Excel button (``udfs.book.run_job`` sets it)."""

LEFT_AS_THEY_WERE: ContextVar[list[frozenset[str]] | None] = ContextVar(
    "leadbook_left_as_they_were", default=None
)
"""While a list (``udfs.book.run_job`` sets one): each write of this context appends the
tabs it cut out of its load and spliced back as they were — none when it loaded the whole
workbook — so that a button reads back only the tabs a job may have changed."""

WRITTEN: ContextVar[list[tuple[Workbook, frozenset[str]] | None] | None] = ContextVar(
    "leadbook_written", default=None
)
"""While a list (``udfs.book.run_job`` sets one): each write of this context appends the
workbook it saved, its cells as they went into the file (the tabs it cut, the
:data:`LEFT_AS_THEY_WERE`, still cut), with the cut tabs it gave rows in the file alone (the
Decisions log: read those from the file), so that a button need not load the file it wrote to
see what changed; None for a workbook past :data:`COLLECT_AFTER_BYTES`, whose cells are let go
before the save ends."""


_WORKBOOK_PARTS = {
    "pivot caches": re.compile(r"^xl/pivotCache/"),
    "external links": re.compile(r"^xl/externalLinks/"),
    "macros (VBA)": re.compile(r"^xl/vbaProject\.bin$"),
    "slicers": re.compile(r"^xl/slicers?/"),
    "timelines": re.compile(r"^xl/timelines?/"),
    "data connections": re.compile(r"^xl/connections\.xml$"),
    "Power Query data": re.compile(r"^customXml/"),
}


@dataclass(frozen=True)
class WriteResult:
    """What a write did."""

    path: Path
    version: Path
    """Where the file as it was before the write is kept."""
    changed: str


def one_job_per_workbook(job: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``job(…, path, …)`` holding the job lock of the workbook at ``path`` (its
    argument named so), from its first read to its write: two jobs on one workbook never
    interleave (:func:`one_job`)."""

    @functools.wraps(job)
    def locked(*args: Any, **kwargs: Any) -> Any:
        bound = inspect.signature(job).bind(*args, **kwargs)
        with one_job(Path(bound.arguments["path"])):
            return job(*args, **kwargs)

    return locked


COLLECT_AFTER_BYTES = 4 * 2**20
"""A saved workbook past this size (the demo's is 0.2 MB, 10,000 sources' 10 MB) has its
openpyxl cells collected before the package is read back."""


@one_job_per_workbook
def update_workbook(
    path: str | Path,
    command: str,
    job: Job,
    *,
    user: str | None = None,
    book: Book | None = None,
    extra_groups: Mapping[str, tuple[str, ...]] | None = None,
    versions_kept: int | None = None,
    changes: Collection[str] | None = None,
    summaries: Mapping[str, Renderer] | None = None,
    input_edits: Mapping[str, Collection[str]] | None = None,
    replaced: Collection[str] = (),
) -> WriteResult:
    """Run ``job`` on the workbook at ``path`` and save it safely (see the module doc).

    With the ``book`` the job computed from, each output tab the job rendered is stamped
    with the time, ``command`` and the fingerprints of the inputs it read, and the summary
    tabs among ``summaries`` (Board, Maturity: their renderers) that read a rendered tab are
    re-rendered so they stay in step
    (:mod:`leadbook.workbook.provenance`). ``extra_groups``: input groups a tab used beyond
    its usual ones this time. ``versions_kept``: the VersionsKept setting when the caller
    has read it without a ``book`` (else the file is opened once more to read it).
    ``changes``: the output tabs the job renders, when it says; the other output tabs (but
    the summaries that follow them and the Log) are then cut out of the load and spliced
    back as they were (:mod:`leadbook.workbook.splice`). ``input_edits``: the input columns
    the job may change, as table name → column keys (Accept plan: Sources' Current spend);
    their tabs are loaded whole, and any other change to an input tab still aborts the write.
    ``replaced``: tabs among ``changes`` whose renderers read nothing of the tab they replace
    (:data:`leadbook.workbook.jobs.outputs.RENDERED_ANEW`): they are loaded cut to their
    first row, and the job must render each of them.
    """
    given, path = Path(path), files.real_path(path)  # a symlink is written through
    memory = _in_memory(path)
    if memory is None:
        _refuse_if_open(path)
        files.refuse_read_only(path)
        check_package(path)
        before = _digest(path)
    edited = frozenset(C.TABLES[t].sheet for t in input_edits or {})
    if set(replaced) - set(changes or ()):
        raise AssertionError(f"{command} replaces tabs it does not say it changes: {replaced}")
    if memory is None:  # (checked above)
        stubbed, wb = _open_for_write(path, _unchanged(changes), edited, frozenset(replaced))
    else:
        stubbed, wb = None, memory
    editable = _editable_cells(wb, input_edits or {})
    inputs = _snapshot(wb, C.INPUT_SHEETS, editable)
    cut = stubbed.outputs if stubbed is not None else frozenset()
    left = {name: (wb[name], _snapshot(wb, frozenset({name}))) for name in cut}
    table_inputs = _table_inputs(wb, cut)
    changed = job(wb)
    rendered = rendered_tabs(wb) & set(wb.sheetnames)
    if stubbed is not None and stubbed.replaced - rendered:  # saved, it would keep one row
        raise AssertionError(
            f"{command} did not render {', '.join(sorted(stubbed.replaced - rendered))}, "
            "which it said it replaces; nothing was written"
        )
    if book is not None and summaries:
        rendered |= follow_summaries(wb, book, rendered, summaries)
    # a cut tab gets its rows back as they were: a job that changed one would lose it
    touched = {
        name
        for name, (ws, cells) in left.items()
        if name in rendered
        or name not in wb.sheetnames
        or wb[name] is not ws
        or _snapshot(wb, frozenset({name})) != cells
    }
    if touched:
        raise AssertionError(
            f"{command} changed {', '.join(sorted(touched))}, which it did not say it "
            "changes; nothing was written"
        )
    for name in rendered:
        fit_text(wb[name])
    if book is not None and book.fingerprints is not None:
        stamp_tabs(
            wb, rendered, f"{command} ({CALLER.get()})", now(), book.fingerprints, extra_groups
        )
    if _snapshot(wb, C.INPUT_SHEETS, editable) != inputs or (
        editable and _editable_cells(wb, input_edits or {}) != editable
    ):
        raise AssertionError(f"{command} changed an input tab; nothing was written")
    after = _table_inputs(wb, cut)
    # A table the job created (a tab new to this workbook) holds nothing of the user's yet.
    if {name: after.get(name) for name in table_inputs} != table_inputs:
        raise AssertionError(
            f"{command} changed input columns of a table on an output tab; nothing was written"
        )
    restore_charts(wb)
    point_setting_names(wb)
    if C.LOG.name not in wb.sheetnames:  # deleted by the user: the Log starts again
        render_log(replace_sheet(wb, C.LOG.name), {})
    undos = V.pending_undos(path)
    for undone in undos:  # an undo restores bytes, so the Log hears of it at the next write
        append_log(wb, V.UNDO, undone.log_text, undone.user, at=V.local_time(undone.time))
    append_log(wb, command, changed, user)
    # the book's settings were read as values (a VersionsKept typed as a formula counts)
    if versions_kept is None:
        versions_kept = (
            book.settings.files.versions_kept if book is not None else _file_versions_limit(path)
        )
    limit = versions_kept
    wb.calculation.fullCalcOnLoad = True
    if memory is not None:  # the file stays as it was: it is the version, and nobody reads it
        version = V.keep_version(path, command)
        # the input tabs were checked unchanged above (but the columns the job edits)
        _hand_over(C.INPUT_SHEETS - edited, (wb, frozenset()))
        V.mark_shown(path, undos, command)
        V.prune_versions(path, limit)
        log.info("%s: %s (in memory; version kept as %s)", path.name, changed, version.name)
        return WriteResult(given, version.path, changed)
    tmp = files.temporary_name(path)
    try:
        # The saved package is put right in memory, all of it, and written once.
        appended = appended_rows(wb)
        cut_tabs = set(stubbed.tabs) if stubbed is not None else set()
        if any(a.tab not in cut_tabs for a in appended):
            raise AssertionError(f"{command} appended rows to a tab it loaded whole")
        saved, size = saved_package(wb)
        # rows appended into a cut tab's XML (the Decisions log) are not in ``wb``: a button
        # reads that tab back from the saved file
        small = size <= COLLECT_AFTER_BYTES
        given_rows = frozenset(a.tab for a in appended)
        shown = (wb, given_rows) if small and WRITTEN.get() is not None else None
        # From here the saved package is all there is: the workbook's cells (400 MB at 10,000
        # sources, in cycles that only a collection frees) go before its parts are read —
        # for a big workbook only: a collection takes a while in a process holding much.
        del wb
        if size > COLLECT_AFTER_BYTES:
            gc.collect()
        spliced = frozenset(stubbed.tabs) if stubbed is not None else frozenset()
        if stubbed is not None:
            # those tabs' rows, cached values included, as they were (and rows appended)
            if appended:
                splice_back(stubbed, saved, appended)
            else:
                splice_back(stubbed, saved)
            del stubbed
        try:  # these read the original again (its parts when looked at)
            original = Package.read(path)
            kept = C.INPUT_SHEETS | (C.OUTPUT_SHEETS - rendered)
            carry_cached_values(original, saved, kept - spliced)
            keep_foreign_parts(original, saved)
            _audit(original, saved, path.name)
        except zipfile.BadZipFile:  # another program writing it in place meanwhile
            _refuse_if_changed(path, before)
            raise
        saved.write(tmp, like=original)  # its unchanged parts copied as stored
        del saved, original
        version = _replace_keeping_version(path, tmp, command, before)
        # a tab given rows (the Decisions log) is not as it was: a button reads it back
        _hand_over(spliced - {a.tab for a in appended}, shown)
    finally:
        tmp.unlink(missing_ok=True)
    V.mark_shown(path, undos, command)
    V.prune_versions(path, limit)
    log.info("%s: %s (previous version kept as %s)", path.name, changed, version.name)
    return WriteResult(given, version.path, changed)


def _in_memory(path: Path) -> Workbook | None:
    """The workbook at ``path`` already open (:data:`IN_MEMORY`), taken once; else None."""
    memory = IN_MEMORY.get()
    if memory is None or files.real_path(memory.path) != path:
        return None
    if memory.used:
        raise AssertionError(
            f"{path.name} was written once in memory already; a second write "
            "would not see the first (run this job on the file)"
        )
    memory.used = True
    return memory.wb


def _hand_over(
    left_as_they_were: frozenset[str], shown: tuple[Workbook, frozenset[str]] | None
) -> None:
    """Tell a button what this write left as it was and the workbook it wrote
    (:data:`LEFT_AS_THEY_WERE`, :data:`WRITTEN`), when it asks."""
    left = LEFT_AS_THEY_WERE.get()
    if left is not None:
        left.append(left_as_they_were)
    written = WRITTEN.get()
    if written is not None:
        written.append(shown)


def versions_limit(wb: Workbook | StreamedBook) -> int:
    """How many versions to keep beside the workbook: its ``VersionsKept`` setting (the
    default when that cell is missing or wrong; ``leadbook check`` reports why)."""
    settings, _ = read_settings(wb)
    return settings.files.versions_kept


def _file_versions_limit(path: Path) -> int:
    """:func:`versions_limit` of the workbook file at ``path``; the default if it cannot be
    read (a file ``new --force`` replaces need not be a leadbook workbook)."""
    try:
        return versions_limit(open_inputs(path))
    except WorkbookFileError as exc:
        log.info("%s: keeping the default number of versions (%s)", path.name, exc)
        return Settings().files.versions_kept


def _replace_keeping_version(path: Path, new: Path, command: str, before: str) -> V.Version:
    """Keep ``path`` as a version, then rename ``new`` over it — if ``path`` still has the
    digest ``before`` and is not open; if that or the rename fails, the version is taken
    back and nothing has changed."""
    try:
        version = V.keep_version(path, command)
    except OSError as exc:
        raise WorkbookFileError(
            f"{path.name}: the version before this write cannot be kept in "
            f"{V.versions_dir(path).name} ({exc.strerror}); nothing was written"
        ) from exc
    try:
        _replace(path, new, before)
    except BaseException:
        V.discard_version(version)
        raise
    return version


@one_job_per_workbook
def save_new(
    wb: Workbook, path: str | Path, *, overwrite: bool = False, command: str = "new"
) -> Path:
    """Save a workbook leadbook built to a new file, atomically; refuse to overwrite unless
    told to, and then keep the old file as a version (before ``command``)."""
    given, path = Path(path), files.real_path(path)
    if path.suffix.lower() not in (".xlsx",):
        raise WorkbookFileError(f"{path.name}: leadbook writes .xlsx workbooks")
    if path.exists() and not overwrite:
        raise WorkbookFileError(
            f"{path} already exists; pass --force to replace it (the old file is kept in "
            f"{V.versions_dir(path).name})"
        )
    if path.exists():  # read below (its settings, its digest): a FIFO would block for ever
        files.require_regular_file(path, workbook=True)
    _refuse_if_open(path)
    files.refuse_read_only(path)
    limit = _file_versions_limit(path) if path.exists() else None
    before = _digest(path) if path.exists() else None
    tmp = files.temporary_name(path)
    try:
        save_workbook(wb, tmp)
        if before is None:
            _replace(path, tmp, None)
        else:
            _replace_keeping_version(path, tmp, command, before)
    finally:
        tmp.unlink(missing_ok=True)
    if limit is not None:
        V.prune_versions(path, limit)
    return given


def _replace(path: Path, new: Path, before: str | None) -> None:
    """Rename ``new`` over ``path`` (:func:`leadbook.files.put_in_place`), checking at the
    last moment that ``path`` still has the digest ``before`` (None: that it does not exist)
    and that no one has opened it in Excel or LibreOffice since the job began."""

    def unchanged() -> None:
        _refuse_if_open(path)
        _refuse_if_changed(path, before)

    files.put_in_place(new, path, check=unchanged)


def _refuse_if_changed(path: Path, before: str | None) -> None:
    """Refuse to go on when ``path`` no longer has the digest ``before`` (None: absent)."""
    if (_digest(path) if path.exists() else None) != before:
        raise WorkbookFileError(
            f"{path.name} changed on disk while leadbook worked; "
            "nothing was written — run the command again"
        )


def _refuse_if_open(path: Path) -> None:
    """Refuse to write a workbook that Excel or LibreOffice has open: each keeps a lock
    file beside it while it does, and would overwrite leadbook's write when it saves."""
    lock = path.with_name(f"~${path.name}")
    if lock.exists():
        raise WorkbookFileError(
            f"{path.name} is open in Excel (lock file {lock.name}); close "
            "it first, or use the button inside Excel"
        )
    lock = path.with_name(f".~lock.{path.name}#")
    if lock.exists():
        raise WorkbookFileError(
            f"{path.name} is open in LibreOffice (lock file {lock.name}); close it first. "
            "If LibreOffice is not running, the lock file is left over from a crash: delete it"
        )


_digest = V.file_digest


@contextlib.contextmanager
def one_job(path: str | Path) -> Iterator[None]:
    """Hold the workbook's job lock (``.~leadbook.<name>.lock`` beside it) while a job reads,
    computes and writes it: a second job on the same workbook is refused, never interleaved
    (:func:`leadbook.files.exclusive_lock`). Taking it, a job removes the temporary files
    that jobs killed mid-write left beside the workbook and its versions."""
    with files.exclusive_lock(path) as first:
        if first:
            _remove_leftovers(files.real_path(path))
        yield


def _remove_leftovers(path: Path) -> None:
    """Temporary files of killed writes: any whose process is gone, and (the lock being
    held) those of earlier leadbook releases, named without their process."""
    older = re.compile(rf"^\.~{re.escape(path.stem)}-[a-z0-9_]{{8}}{re.escape(path.suffix)}$")
    files.remove_stale_temporaries(path.parent, also=older)
    files.remove_stale_temporaries(V.versions_dir(path), also=re.compile(r"^\..+\.partial$"))


def _unchanged(changes: Collection[str] | None) -> frozenset[str]:
    """The output tabs a job that renders ``changes`` leaves as they are: all but those,
    the summaries that follow them (:func:`follow_summaries`) and the Log; none when the
    job does not say what it changes."""
    if changes is None:
        return frozenset()
    kept = set(changes) | {C.LOG.name}
    for name in SUMMARY_TABS:  # in their order: Maturity reads Board
        if set(READS[name]) & kept:
            kept.add(name)
    return C.OUTPUT_SHEETS - kept


def _open_for_write(
    path: Path,
    unchanged: frozenset[str] = frozenset(),
    whole: frozenset[str] = frozenset(),
    replaced: frozenset[str] = frozenset(),
) -> tuple[Stubbed | None, Workbook]:
    """The workbook for a job to change, its big input tabs (but those ``whole``, which the
    job edits) and the ``unchanged`` output tabs cut where they can be spliced back after
    the save (:mod:`.splice`), the ``replaced`` output tabs cut to their first row (the job
    renders them anew); else the whole workbook. The caller has checked the file
    (:func:`check_package`: it unpacks every part) and holds it (:func:`one_job`): the cut
    copy is loaded without checking it again, the whole file (the cut failed: changed
    since?) is checked again."""
    try:
        stubbed = stub_tabs(path, outputs=unchanged, whole=whole, replaced=replaced)
    except Exception as exc:  # damaged, or changed since check_package: the whole load names it
        log.debug("%s: loading it whole (%s: %s)", path.name, type(exc).__name__, exc)
        stubbed = None
    if stubbed is not None:
        try:
            wb = open_workbook(path, data_only=False, package=stubbed.package, checked=True)
        except WorkbookFileError as exc:
            log.debug("%s: loading it whole (%s)", path.name, exc)
        else:
            if (
                fits(stubbed, wb)
                and _charts_kept(path, wb, stubbed.outputs)
                and _titled(wb, stubbed.replaced)
            ):
                if stubbed.outputs:
                    remember_cut(wb, stubbed, open_streamed(path, lazy_tables=True))
                return stubbed, wb
    return None, open_workbook(path, data_only=False)  # (checked again: the cut failed)


def _titled(wb: Workbook, tabs: frozenset[str]) -> bool:
    """Whether each of ``tabs``, cut to its first row, is titled as leadbook titles its tabs
    (:func:`~leadbook.workbook.sheets.replace_sheet` refuses to replace a tab of the user's,
    which it tells by its A1; an A1 left blank is told by the rows below it, which the cut
    dropped: such a tab is loaded whole)."""
    return all(wb[tab]["A1"].value in (tab, "leadbook") for tab in tabs if tab in wb.sheetnames)


def _charts_kept(path: Path, wb: Workbook, cut: frozenset[str]) -> bool:
    """Whether openpyxl read every chart of the cut tabs: one it lost is redrawn from the
    tab's rows (:func:`restore_charts`), which a cut tab does not have."""
    if not cut & set(CHART_BUILDERS):
        return True
    drawn = _sheet_parts(Package.read(path))
    return all(
        len(wb[tab]._charts) >= drawn.get(tab, Counter())["graphicFrame"]
        for tab in cut & set(CHART_BUILDERS)
    )


def _snapshot(
    wb: Workbook, sheets: frozenset[str], skip: frozenset[tuple[str, int, int]] = frozenset()
) -> dict[str, list[tuple[Any, ...]]]:
    """Every cell value of the tabs ``sheets``; the cells ``skip`` (tab, row, column) as None."""
    return {
        name: [
            tuple(None if (name, c.row, c.column) in skip else c.value for c in row)
            for row in wb[name].iter_rows()
        ]
        for name in sheets
        if name in wb.sheetnames
    }


def _editable_cells(
    wb: Workbook, edits: Mapping[str, Collection[str]]
) -> frozenset[tuple[str, int, int]]:
    """The data cells (tab, row, column) of the input table columns ``edits`` names."""
    from leadbook.workbook.tablecells import find_table

    out: set[tuple[str, int, int]] = set()
    for name, keys in edits.items():
        spec = C.TABLES[name]
        found = find_table(wb, spec)
        if found is None:
            continue
        ws, table = found
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        headers = [
            " ".join(str(ws.cell(min_row, c).value or "").split()).casefold()
            for c in range(min_col, max_col + 1)
        ]
        for key in keys:
            header = spec.column(key).header.casefold()
            if header in headers:
                col = min_col + headers.index(header)
                out |= {(ws.title, r, col) for r in range(min_row + 1, max_row + 1)}
    return frozenset(out)


def _table_inputs(wb: Workbook, unchanged: Collection[str] = ()) -> dict[str, Any]:
    """Where each contract table on an output tab sits and every non-output column's cells.

    Tables such as Leads take user input on a tab leadbook writes: every column that is not
    one of the contract's output or formula columns (inputs, and features users add) counts.
    Tabs ``unchanged`` (cut out of the load, spliced back) are left out.
    """
    from leadbook.workbook.tablecells import block_values, find_table

    out: dict[str, Any] = {}
    for spec in C.TABLES.values():
        if spec.sheet in C.INPUT_SHEETS or not spec.by_role(C.Role.INPUT):
            continue
        found = find_table(wb, spec)
        if found is None or found[0].title in unchanged:  # spliced back as it was
            continue
        ws, table = found
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        owned = {c.header.casefold() for c in spec.columns if c.role is not C.Role.INPUT}
        header, *rows = block_values(ws, min_row, max_row, min_col, max_col)
        columns = {}
        for j, text in enumerate(header):
            text = " ".join(str(text or "").split())
            if text.casefold() not in owned:
                columns[(min_col + j, text)] = [row[j] for row in rows]
        out[spec.name] = (ws.title, table.ref, columns)
    return out


def _audit(original: Package, saved: Package, name: str) -> None:
    """Refuse a save of the workbook ``name`` that would drop parts openpyxl does not carry
    through (and :func:`~leadbook.workbook.package.keep_foreign_parts` could not put back)."""
    lost = []
    old, new = _sheet_parts(original), _sheet_parts(saved)
    for sheet, kinds in old.items():
        if sheet in C.OUTPUT_SHEETS:
            continue
        for kind, count in kinds.items():
            if new.get(sheet, Counter())[kind] < count:
                lost.append(f"{_KIND_NAMES.get(kind, kind)} on tab {sheet}")
    old_names, new_names = list(original.parts), list(saved.parts)
    for label, pattern in _WORKBOOK_PARTS.items():
        if any(pattern.match(n) for n in old_names) and not any(
            pattern.match(n) for n in new_names
        ):
            lost.append(label)
    lost += [item for item in foreign_losses(original, saved) if item not in lost]
    if lost:
        raise WorkbookFileError(
            f"{name}: saving with openpyxl would drop {', '.join(lost)}; nothing was "
            "written. Move those to another workbook, or run the button inside Excel, which "
            "writes through Excel itself."
        )


_KIND_NAMES = {
    "sp": "a shape or text box",
    "pic": "a picture",
    "graphicFrame": "a chart",
    "grpSp": "a group of shapes",
    "cxnSp": "a connector",
    "pivotTable": "a pivot table",
    "ctrlProp": "a form control (button)",
    "oleObject": "an embedded object",
}
_NS_XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"


def _sheet_parts(pkg: Package) -> dict[str, Counter]:
    """For each tab: the shapes, pictures, charts, pivot tables and controls it carries."""
    out: dict[str, Counter] = {}
    for name, part in pkg.tabs().items():
        counts: Counter = Counter()
        for rel in pkg.rels(part):
            if rel.kind == "drawing" and rel.target in pkg.parts:
                counts.update(_anchored(ET.fromstring(pkg.parts[rel.target])))
            elif rel.kind in _KIND_NAMES:
                counts[rel.kind] += 1
        out[name] = counts
    return out


def _anchored(drawing: Any) -> Counter:
    """What a drawing part anchors to its sheet: shapes, pictures, chart frames, groups."""
    counts: Counter = Counter()
    for anchor in drawing:
        for child in anchor:
            kind = child.tag.removeprefix(_NS_XDR)
            if kind in _KIND_NAMES:
                counts[kind] += 1
    return counts
