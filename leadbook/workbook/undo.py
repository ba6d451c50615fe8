"""Undo: put back, byte for byte, the version of a workbook before leadbook's last write.

An undo walks back one write at a time, keeps the file it replaces as a version first, and
records itself in the undo log beside the versions (:mod:`leadbook.workbook.versions`).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from leadbook import files
from leadbook.errors import WorkbookFileError
from leadbook.workbook import versions as V
from leadbook.workbook.log import current_user
from leadbook.workbook.read import check_package
from leadbook.workbook.write import (
    _digest,
    _file_versions_limit,
    _refuse_if_open,
    _replace,
    _replace_keeping_version,
    one_job_per_workbook,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UndoResult:
    """What an undo did: the version it restored and where the file it replaced is kept."""

    path: Path
    restored: V.Version
    kept: V.Version
    sha256: str
    """The digest of the restored file, equal to the version's."""


@one_job_per_workbook
def undo(path: str | Path, *, user: str | None = None) -> UndoResult:
    """Restore, byte for byte, the version of the workbook before leadbook's last write.

    Undo again and it restores the version before that, one write at a time, as long as
    no write came in between (an undo continues the walk back the last undo began; the undo
    log beside the versions says where that was). The file an undo replaces is kept as a
    version first — edits made since the write are never lost — unless a kept version
    already holds those bytes. Each undo is recorded in the undo log, and the Log tab shows
    it at the next write.
    """
    if not Path(path).is_file():
        raise WorkbookFileError(f"{path} does not exist; there is nothing to undo")
    path = files.real_path(path)
    _refuse_if_open(path)
    files.refuse_read_only(path)
    versions = V.kept_versions(path)
    before = _digest(path)
    target = _undo_target(path, versions, before)
    _check_restorable(path, target)
    limit = _file_versions_limit(path)
    kept, stamp = _restore(path, target, before, versions)
    record = V.UndoRecord(
        stamp=stamp,
        user=user or current_user(),
        restored=target.name,
        restored_sha256=target.digest(),  # the bytes _restore checked and put in place
        undid=target.before,
        replaced_sha256=before,
        kept=kept.name,
    )
    V.record_undo(path, record, path.name)
    V.prune_versions(path, limit)
    log.info("%s: restored %s; the replaced file is kept as %s", path.name, target, kept.name)
    return UndoResult(path, target, kept, record.restored_sha256)


def _restore(
    path: Path, target: V.Version, before: str, versions: list[V.Version]
) -> tuple[V.Version, str]:
    """Put ``target``'s bytes in place of the file, keeping the file first unless a version
    holds its bytes already; that version, and the undo's stamp."""
    tmp = files.temporary_name(path)
    try:
        shutil.copyfile(target.path, tmp)
        if _digest(tmp) != target.digest() or _digest(path) != before:
            raise WorkbookFileError(
                f"{path.name} or {target.name} changed on disk while leadbook worked; "
                "nothing was restored — run undo again"
            )
        kept = next((v for v in versions if v.digest() == before), None)
        if kept is not None:
            _replace(path, tmp, before)
            return kept, V.next_stamp(path)
        kept = _replace_keeping_version(path, tmp, V.UNDO, before)
        return kept, kept.stamp
    finally:
        tmp.unlink(missing_ok=True)


def _undo_target(path: Path, versions: list[V.Version], current: str) -> V.Version:
    """The version an undo restores: the newest one kept before a write (not by an undo)
    whose bytes differ from the file's — older than the one the last undo restored when no
    write came since, so that repeated undos walk back one write at a time."""
    writes = [v for v in versions if not v.by_undo]
    folder = V.versions_dir(path).name
    if not writes:
        raise WorkbookFileError(
            f"nothing to undo: no earlier version of {path.name} is kept in {folder} "
            "(leadbook keeps one there before each write it makes)"
        )
    records = V.undo_records(path)
    last = records[-1] if records else None
    if last is not None and all(v.stamp < last.stamp for v in writes):
        writes = [v for v in writes if v.stamp < last.restored_stamp]
    for version in reversed(writes):
        if version.digest() != current:
            return version
    oldest = min((v for v in versions if not v.by_undo), key=lambda v: v.name)
    raise WorkbookFileError(
        f"nothing more to undo: {path.name} is back to the oldest version kept in {folder}, "
        f"{oldest}. The setting VersionsKept says how many versions are kept"
    )


def _check_restorable(path: Path, version: V.Version) -> None:
    if os.path.islink(version.path) or not version.path.is_file():
        raise WorkbookFileError(
            f"the version to restore, {version.name}, is a link or not a file, which leadbook "
            f"never keeps in {version.path.parent.name}; nothing was restored. Delete it (it "
            "was put there by hand) and run undo again"
        )
    try:
        check_package(version.path)
    except WorkbookFileError as exc:
        raise WorkbookFileError(
            f"the version to restore, {version.name}, is not a sound workbook ({exc}); "
            "nothing was restored"
        ) from exc
    if version.path.suffix.lower() != path.suffix.lower():
        raise WorkbookFileError(
            f"the version to restore, {version.name}, is not a {path.suffix} file; restore it "
            "by hand if it is the one you want"
        )
    if version.is_values_copy() and not V.is_values_copy(path):
        raise WorkbookFileError(
            f"the last write to {path.name} was made by a button in Excel: {version.name} "
            "holds the cell values the button saw, not the file, and would replace your "
            "formulas and formatting with values. Press Undo in Excel instead"
        )
