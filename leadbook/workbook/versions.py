"""The versions leadbook keeps beside a workbook, and the log of its undos.

Before every write — a command, a button, ``new``/``demo --force``, an undo — leadbook keeps
the file as it was in a folder beside it::

    demo.xlsx
    demo.leadbook-versions/
        20260115T143012.123456Z-before-rebalance.xlsx   demo.xlsx as it was before a rebalance
        20260115T143515.000001Z-before-undo.xlsx        the file an undo replaced
        undo-log.jsonl                                  every undo, one JSON object a line

A version is named after the time it was kept (UTC, to the microsecond, strictly increasing
within the folder, so names sort by time and two writes in one second never collide) and
the command that replaced it. The folder holds at most ``VersionsKept`` versions (a
setting): only the oldest beyond that is ever deleted, and files that are not versions are
never touched. The undo log is only ever appended to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as ET  # noqa: N817

from leadbook import files

log = logging.getLogger(__name__)

FOLDER_SUFFIX = ".leadbook-versions"
UNDO_LOG = "undo-log.jsonl"
UNDO = "undo"
"""The command name of an undo: in version names, the undo log and the Log tab."""
VALUES_COPY = "leadbook:values-copy"
"""The document identifier of a workbook a button copied from Excel as cell values (see
:func:`udfs.book.mirror`): such a version must not replace a real workbook file."""

_STAMP = "%Y%m%dT%H%M%S.%fZ"
_NAME = re.compile(
    r"^(?P<stamp>\d{8}T\d{6}\.\d{6}Z)-before-(?P<command>[a-z0-9][a-z0-9-]*)(?P<suffix>\.\w+)$"
)
_DC_IDENTIFIER = "{http://purl.org/dc/elements/1.1/}identifier"


def versions_dir(book: str | Path) -> Path:
    """The folder beside the workbook that keeps its versions: ``<stem>.leadbook-versions``.

    Examples
    --------
    >>> versions_dir("/books/demo.xlsx").as_posix()
    '/books/demo.leadbook-versions'
    """
    book = Path(book)
    return book.with_name(f"{book.stem}{FOLDER_SUFFIX}")


@dataclass(frozen=True)
class Version:
    """One kept version: the file as it was just before the command ``before`` replaced it."""

    path: Path
    kept_at: dt.datetime
    """When it was kept (UTC): the time of the write that replaced it."""
    before: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stamp(self) -> str:
        return self.path.name.split("-", 1)[0]

    @property
    def by_undo(self) -> bool:
        """Kept by an undo (the file the undo replaced), not before a write."""
        return self.before == UNDO

    @property
    def local_time(self) -> dt.datetime:
        return local_time(self.kept_at)

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def digest(self) -> str:
        return _version_digest(self.path)

    def is_values_copy(self) -> bool:
        return is_values_copy(self.path)

    def __str__(self) -> str:
        return f"the version kept before {self.before} at {self.local_time:%Y-%m-%d %H:%M:%S}"


def kept_versions(book: str | Path) -> list[Version]:
    """The versions kept beside ``book``, oldest first (none when the folder is missing).

    ``book.xlsx`` and ``book.xlsm`` share the folder; each sees, prunes and restores only
    the versions of its own kind."""
    folder = versions_dir(book)
    if not folder.is_dir():
        return []
    found = []
    suffix = Path(book).suffix.lower()
    for path in folder.iterdir():
        m = _NAME.match(path.name)
        if m and path.is_file() and m["suffix"].lower() == suffix:
            found.append(Version(path, _parse_stamp(m["stamp"]), m["command"]))
    return sorted(found, key=lambda v: v.name)


def keep_version(book: str | Path, command: str) -> Version:
    """Copy the workbook file into its versions folder, as it is before ``command`` writes.

    The copy is written under a temporary name, flushed to disk and renamed
    (:func:`leadbook.files.copy_file`), so a version that exists is always whole.
    """
    book = Path(book)
    folder = versions_dir(book)
    folder.mkdir(exist_ok=True)
    stamp = _next_stamp(folder)
    target = folder / f"{stamp}-before-{_slug(command)}{book.suffix.lower()}"
    files.copy_file(book, target)
    return Version(target, _parse_stamp(stamp), _slug(command))


def discard_version(version: Version) -> None:
    """Take back a version kept for a write that then failed (and its folder, if now empty)."""
    version.path.unlink(missing_ok=True)
    folder = version.path.parent
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def prune_versions(book: str | Path, limit: int) -> list[Path]:
    """Delete the oldest versions beyond ``limit``; the deleted files."""
    if limit < 1:
        raise ValueError(f"at least one version must be kept, got a limit of {limit}")
    deleted = []
    for version in kept_versions(book)[:-limit]:
        try:
            version.path.unlink()
        except OSError as exc:  # the write it follows has succeeded: say so, go on
            log.warning("could not delete %s, an old version (%s)", version.name, exc.strerror)
            continue
        deleted.append(version.path)
        log.info("deleted %s: more than %d versions are kept", version.name, limit)
    return deleted


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.lru_cache(maxsize=256)
def _version_digest(path: Path) -> str:
    """A kept version's digest, hashed once: a version is never changed, and its name (a
    stamp later than every other) is never reused."""
    return file_digest(path)


def is_values_copy(path: Path) -> bool:
    """Whether ``path`` is a button's copy of a live workbook's cell values (not a file a
    person saved): its document identifier says :data:`VALUES_COPY`."""
    try:
        with zipfile.ZipFile(path) as zf:
            core = ET.fromstring(zf.read("docProps/core.xml"))
    except (KeyError, OSError, zipfile.BadZipFile, ET.ParseError):
        return False
    node = core.find(_DC_IDENTIFIER)
    return node is not None and node.text == VALUES_COPY


def local_time(when: dt.datetime) -> dt.datetime:
    """A UTC time as the local wall-clock time, to the second (as the Log shows times)."""
    return when.astimezone().replace(tzinfo=None, microsecond=0)


# --- the undo log ------------------------------------------------------------------------


@dataclass(frozen=True)
class UndoRecord:
    """One undo: which version it restored, what it replaced, where that is kept."""

    stamp: str
    """Its time in the versions folder's stamp form; it identifies the record."""
    user: str
    restored: str
    """The name of the version it restored."""
    restored_sha256: str
    undid: str
    """The command whose write it took back (the one that replaced the restored version)."""
    replaced_sha256: str
    kept: str
    """The version that keeps the file it replaced."""

    @property
    def time(self) -> dt.datetime:
        return _parse_stamp(self.stamp)

    @property
    def restored_stamp(self) -> str:
        return self.restored.split("-", 1)[0]

    @property
    def log_text(self) -> str:
        """What the Log tab says about it."""
        undone_at = local_time(_parse_stamp(self.restored_stamp))
        return (
            f"took back {self.undid} of {undone_at:%Y-%m-%d %H:%M:%S}: restored "
            f"{self.restored}; the file it replaced is kept as {self.kept}"
        )


def undo_records(book: str | Path) -> list[UndoRecord]:
    """Every undo recorded beside ``book``, oldest first."""
    return [_record(e) for e in _events(book) if e.get("event") == UNDO]


def pending_undos(book: str | Path) -> list[UndoRecord]:
    """The undos the workbook's Log tab has not shown yet."""
    events = _events(book)
    shown = {e.get("undo") for e in events if e.get("event") == "shown"}
    return [_record(e) for e in events if e.get("event") == UNDO and e["stamp"] not in shown]


def record_undo(book: str | Path, record: UndoRecord, workbook: str) -> None:
    """Append an undo to the undo log."""
    event = {"event": UNDO, "time": record.time.isoformat(), "workbook": workbook}
    _append(book, event | dataclasses.asdict(record))


def mark_shown(book: str | Path, records: list[UndoRecord], command: str) -> None:
    """Note in the undo log that the Log tab now shows ``records`` (written by ``command``)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    for record in records:
        _append(book, {"event": "shown", "time": now, "undo": record.stamp, "by": command})


def next_stamp(book: str | Path) -> str:
    """A stamp later than every version and undo recorded beside ``book``."""
    return _next_stamp(versions_dir(book))


def _record(event: dict[str, Any]) -> UndoRecord:
    return UndoRecord(**{k: event[k] for k in UndoRecord.__dataclass_fields__})


def _events(book: str | Path) -> list[dict[str, Any]]:
    """The undo log's events about ``book`` (a folder may serve book.xlsx and book.xlsm)."""
    name = Path(book).name
    return [
        e
        for e in _events_in(versions_dir(book))
        if e.get("event") != UNDO or e.get("workbook", name) == name
    ]


def _events_in(folder: Path) -> list[dict[str, Any]]:
    path = folder / UNDO_LOG
    if not path.is_file():
        return []
    events = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            # a line cut short by a crash must not stop every later write
            log.warning("%s line %d is not JSON; ignored", path, number)
            continue
        if event.get("event") == UNDO and not set(UndoRecord.__dataclass_fields__) <= event.keys():
            log.warning("%s line %d lacks fields of an undo; ignored", path, number)
            continue
        events.append(event)
    return events


def _append(book: str | Path, event: dict[str, Any]) -> None:
    folder = versions_dir(book)
    folder.mkdir(exist_ok=True)
    with open(folder / UNDO_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(event, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _next_stamp(folder: Path) -> str:
    now = dt.datetime.now(dt.UTC)
    latest = [m["stamp"] for p in _names(folder) if (m := _NAME.match(p))]
    latest += [e["stamp"] for e in _events_in(folder) if e.get("event") == UNDO]
    if latest:
        now = max(now, _parse_stamp(max(latest)) + dt.timedelta(microseconds=1))
    return now.strftime(_STAMP)


def _names(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir()] if folder.is_dir() else []


def _parse_stamp(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, _STAMP).replace(tzinfo=dt.UTC)


def _slug(command: str) -> str:
    """A command as it appears in a version's name: lower case, letters, digits, hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", command.lower()).strip("-") or "write"
