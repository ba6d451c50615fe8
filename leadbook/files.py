"""How leadbook puts a file on disk without losing the one there: the few file-system steps
every writer shares (the workbook, its versions, the board pack, scored CSV and Parquet
files, the lead model).

- :func:`replacing` (or :func:`temporary_name` then :func:`put_in_place`): the new file is
  written under a temporary name beside the target, flushed to disk, given the mode and
  owner the target has, and renamed over it, so the target is either the old file or the
  whole new one. A symlinked target is written through to the file it points to.
- :func:`remove_stale_temporaries`: a temporary file's name carries its writer's process;
  once that process is gone (killed mid-write), the file is removed by the next writer.
- :func:`exclusive_lock`: one job at a time per workbook, over its read, compute and write.
- :func:`require_regular_file`: what leadbook will open as an input is a regular file. Opening
  a FIFO blocks until another program writes to it (``leadbook check pipe.xlsx`` waited for
  ever); a folder or a device is never a workbook or a lead file. Each is refused, by what it
  is, before it is opened; a password-protected workbook is named as such.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from leadbook.errors import LeadbookError, WorkbookFileError

try:
    import fcntl
except ImportError:  # Windows: the lock is a file created exclusively
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMPORARY = re.compile(
    r"^\.~.*\.leadbook-(?P<pid>\d+)-(?P<host>[0-9a-f]{8})-[0-9a-f]{8}(?:\.[^.]*)?$"
)
_CHOWN_REFUSED = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def real_path(path: str | Path) -> Path:
    """The file ``path`` names, its symlinks followed: the one a write must replace."""
    return Path(os.path.realpath(path))


def refuse_read_only(path: Path) -> None:
    """Raise if the file at ``path`` is read-only (no write bit, or not writable by this
    user): renaming over it would succeed, and overwrite a file its owner protected."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not mode & 0o222 or not os.access(path, os.W_OK):
        raise WorkbookFileError(
            f"{path.name} is read-only; leadbook wrote nothing to it. Make it writable "
            "(clear Read-only in its properties, or chmod u+w), or copy it, and run again"
        )


# --- writing -------------------------------------------------------------------------------


def temporary_name(target: Path) -> Path:
    """A new, empty, private file beside ``target`` to write its next version to, named after
    this process (see :func:`remove_stale_temporaries`)."""
    target = Path(target)
    name = f".~{target.stem}.leadbook-{os.getpid()}-{_HOST}-{secrets.token_hex(4)}{target.suffix}"
    tmp = target.with_name(name)
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise cannot_write_in(target, exc) from exc
    return tmp


def put_in_place(
    tmp: Path, target: Path, *, like: Path | None = None, check: Callable[[], None] | None = None
) -> None:
    """Rename ``tmp`` over ``target`` once its bytes are on disk, with the mode and owner of
    ``target`` (if it exists; else of ``like``, else a new file's under the umask).

    ``check`` runs just before the rename and stops it by raising. The owner is kept where
    the system allows: a refused chown leaves the file to whoever runs the job.
    """
    target = real_path(target)
    _flush(tmp)
    source = target if target.exists() else like
    _take_mode_and_owner(tmp, source)
    refuse_read_only(target)
    if check is not None:
        check()
    try:
        os.replace(tmp, target)
    except OSError as exc:
        raise WorkbookFileError(
            f"{target.name} cannot be replaced ({exc.strerror}); is it open in Excel? Close "
            "it and run the command again"
        ) from exc
    _flush(target.parent)  # the rename itself


@contextlib.contextmanager
def replacing(
    target: str | Path, *, like: Path | None = None, check: Callable[[], None] | None = None
) -> Iterator[Path]:
    """A temporary file to write the new ``target`` to; put in its place (:func:`put_in_place`)
    when the block ends, removed if it raises. A symlink is written through to its file.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with replacing(folder / "notes.txt") as tmp:
    ...     _ = tmp.write_text("whole or not at all")
    >>> (folder / "notes.txt").read_text()
    'whole or not at all'
    >>> sorted(p.name for p in folder.iterdir())
    ['notes.txt']
    >>> shutil.rmtree(folder)
    """
    real = real_path(target)
    remove_stale_temporaries(real.parent)
    tmp = temporary_name(real)
    try:
        yield tmp
        put_in_place(tmp, real, like=like, check=check)
    finally:
        tmp.unlink(missing_ok=True)


def copy_file(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically: a ``target`` that exists is whole. A new
    copy keeps the source's mode and owner (a private workbook's copy stays private)."""
    with replacing(target, like=source) as tmp:
        shutil.copy2(source, tmp)


def write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with replacing(target) as tmp:
        tmp.write_bytes(data)


def cannot_write_in(target: Path, exc: OSError) -> WorkbookFileError:
    """The error for a folder leadbook may not write in (``exc`` says why)."""
    return WorkbookFileError(
        f"leadbook cannot write in {target.parent} ({exc.strerror}): it writes {target.name} "
        "through a temporary file beside it (and keeps a workbook's lock and versions there). "
        f"{target.name} was not changed; ask for write access to the folder, or copy the file "
        "to a folder you can write in"
    )


def _flush(path: Path) -> None:
    """Put the bytes of a file, or the entries of a folder, on disk."""
    folder = Path(path).is_dir()
    try:
        fd = os.open(path, os.O_RDONLY if folder else os.O_RDWR)
    except OSError:  # Windows opens no folder: its renames are durable as they are
        if folder:
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _take_mode_and_owner(tmp: Path, source: Path | None) -> None:
    if source is None:
        os.chmod(tmp, 0o666 & ~_umask())
        return
    st = os.stat(source)
    if hasattr(os, "chown"):
        _chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, stat.S_IMODE(st.st_mode))  # after chown, which clears set-id bits


def _chown(path: Path, uid: int, gid: int) -> None:
    """Give ``path`` to ``uid``:``gid``; failing that, to ``gid`` alone; failing that, leave it
    to whoever runs the job (only root may give a file away)."""
    here = os.stat(path)
    if (here.st_uid, here.st_gid) == (uid, gid):
        return
    for owner in ((uid, gid), (-1, gid)):
        try:
            os.chown(path, *owner)
            return
        except OSError as exc:
            if exc.errno not in _CHOWN_REFUSED:
                raise
            refused = exc
    log.info("%s keeps its owner %d:%d (%s)", path.name, here.st_uid, here.st_gid, refused)


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it: setting it to 0
    for a moment (the portable way) would give a file another thread creates then mode 0666."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- temporary files of writers that are gone ---------------------------------------------


def remove_stale_temporaries(folder: Path, *, also: re.Pattern[str] | None = None) -> list[Path]:
    """Remove the temporary files in ``folder`` whose writer no longer runs on this machine
    (one killed mid-write), and those whose name matches ``also`` (a caller holding the lock
    that their writers held); the files removed."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _TEMPORARY.match(entry.name)
        gone = m is not None and m["host"] == _HOST and not _running(int(m["pid"]))
        if gone or (also is not None and also.match(entry.name)):
            try:
                entry.unlink()
            except OSError as exc:
                log.warning("could not remove %s, left by a killed write (%s)", entry, exc)
                continue
            log.info("removed %s, left by a write that was killed", entry)
            removed.append(entry)
    return removed


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (when that cannot be told: yes)."""
    if os.name == "nt":  # os.kill would end the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


# --- one job at a time ---------------------------------------------------------------------

_held = threading.local()


def lock_path(path: str | Path) -> Path:
    """The lock file of the workbook at ``path``: ``.~leadbook.<name>.lock`` beside its file."""
    real = real_path(path)
    return real.with_name(f".~leadbook.{real.name}.lock")


@contextlib.contextmanager
def exclusive_lock(path: str | Path) -> Iterator[bool]:
    """Hold the workbook's lock (:func:`lock_path`): a second job on it, in this process or
    another, is refused with a message. Re-entrant within a thread, so a job may call
    another; yields whether this call took it (the outermost one).

    The lock is the kernel's (``flock``): it goes with its process, so a job that was killed
    holds nothing. Its file says who holds it; one left behind is taken over with a warning.
    """
    real = str(real_path(path))
    depth: dict[str, int] = _held.__dict__.setdefault("depth", {})
    if real in depth:
        depth[real] += 1
        try:
            yield False
        finally:
            depth[real] -= 1
        return
    lock = lock_path(real)
    fd = _acquire(Path(real), lock)
    depth[real] = 1
    try:
        yield True
    finally:
        del depth[real]
        _release(lock, fd)


def _acquire(book: Path, lock: Path) -> int:
    while True:
        flags = os.O_RDWR | os.O_CREAT | (os.O_EXCL if fcntl is None else 0) | _NOFOLLOW
        try:
            fd = os.open(lock, flags, 0o644)
        except OSError as exc:
            if os.path.islink(lock):  # planted: the lock would write where it points
                raise WorkbookFileError(
                    f"the lock file {lock.name} beside {book.name} is a symbolic link, which "
                    "leadbook's lock never is; nothing was done. Delete it and run again"
                ) from exc
            if not isinstance(exc, FileExistsError):
                raise cannot_write_in(book, exc) from exc
            # no flock: the file itself is the lock
            if _left_by_dead_process(book, lock, _read(lock)):
                lock.unlink(missing_ok=True)
                continue
            raise WorkbookFileError(_busy_message(book, lock, _read(lock))) from None
        if fcntl is None:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise WorkbookFileError(_busy_message(book, lock, _read(lock))) from None
        if not _same_file(fd, lock):  # removed by the job that held it: take the new one
            os.close(fd)
            continue
        left = os.read(fd, 200).decode(errors="replace")
        if not left or _left_by_dead_process(book, lock, left):
            break
        os.close(fd)  # an older leadbook's lock (a file without flock), or another machine's
        raise WorkbookFileError(_busy_message(book, lock, left))
    holder = f"{os.getpid()} {socket.gethostname()} {dt.datetime.now():%Y-%m-%d %H:%M:%S}\n"
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, holder.encode())
    return fd


def _release(lock: Path, fd: int) -> None:
    if fcntl is None:  # Windows removes no open file
        os.close(fd)
    with contextlib.suppress(OSError):
        lock.unlink()  # under flock, while still held: a job that opened it meanwhile retries
    if fcntl is not None:
        os.close(fd)


def _left_by_dead_process(book: Path, lock: Path, holder: str) -> bool:
    """Whether the lock file's holder is a process of this machine that no longer runs; if
    so, says that its lock is taken over."""
    try:
        pid, host, *_ = holder.split()
        dead = host == socket.gethostname() and not _running(int(pid))
    except ValueError:
        return False
    if dead:
        log.warning(
            "%s: taking over the lock of process %s, which no longer runs (it was stopped "
            "during a job; the workbook is as that job found it or as it wrote it)",
            book.name,
            pid,
        )
    return dead


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read(lock: Path) -> str:
    try:
        return lock.read_text(errors="replace")
    except OSError:
        return ""


def _busy_message(book: Path, lock: Path, holder: str) -> str:
    try:
        pid, _, day, time = holder.split()[:4]
        since = f" (process {pid}, since {day} {time})"
    except ValueError:
        since = ""
    return (
        f"another leadbook job is writing {book.name}{since}; wait for it to finish and run "
        f"this one again. If no job is running, delete the lock file {lock.name}"
    )


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The first bytes of an OLE compound file (old .xls, and Office's encrypted packages)."""
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
MAX_SCAN = 64 * 2**20


def file_kind(path: Path) -> str | None:
    """What ``path`` is if it is not a regular file ("a named pipe (FIFO)"...), else None.

    Examples
    --------
    >>> import tempfile
    >>> file_kind(Path(tempfile.gettempdir()))
    'a folder'
    """
    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def refuse_planted_link(path: Path, of: str) -> None:
    """Refuse to write a file whose name leadbook chose (a scored lead file, a board pack)
    where a symbolic link stands: whoever could write in the folder — an archive, a shared
    drive — would choose where leadbook writes, over any file of the user's. A workbook is
    written through its link (the user made it); these files are leadbook's own.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "leads.scored.csv").symlink_to(folder / "elsewhere")
    >>> refuse_planted_link(folder / "leads.scored.csv", "the scores of leads.csv")
    Traceback (most recent call last):
    ...
    leadbook.errors.WorkbookFileError: leads.scored.csv is a symbolic link; leadbook writes ...
    """
    if path.is_symlink():
        raise WorkbookFileError(
            f"{path.name} is a symbolic link; leadbook writes {of} there as a file of its own "
            "and follows no link it did not make: nothing was written. Remove the link, or "
            "move the files to a folder of your own"
        )


def require_regular_file(path: Path, *, workbook: bool = False) -> None:
    """Refuse ``path`` unless it is an existing regular file, without opening it."""
    error = WorkbookFileError if workbook else LeadbookError
    if not path.exists():
        raise error(f"{path}: no such file")
    kind = file_kind(path)
    if kind is not None:
        raise error(f"{path}: is {kind}, not a file; leadbook reads only regular files")


def is_encrypted_package(path: Path) -> bool:
    """Whether ``path`` is an Office file saved with a password: an OLE compound file that
    holds an ``EncryptedPackage`` stream (Excel's encrypted .xlsx is not a zip)."""
    with path.open("rb") as f:
        if f.read(len(CFB_MAGIC)) != CFB_MAGIC:
            return False
        return ENCRYPTED_STREAM in f.read(MAX_SCAN)


def is_compound_file(path: Path) -> bool:
    """Whether ``path`` starts as an OLE compound file (an old .xls, a .doc...)."""
    with path.open("rb") as f:
        return f.read(len(CFB_MAGIC)) == CFB_MAGIC
