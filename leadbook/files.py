"""What leadbook will open as an input file: a regular file, named for what it is otherwise.

Opening a FIFO blocks until another program writes to it (``leadbook check pipe.xlsx``
waited for ever); a folder or a device is never a workbook or a lead file. Each is refused
before it is opened, by :func:`require_regular_file`.
"""

from __future__ import annotations

import stat
from pathlib import Path

from leadbook.errors import LeadbookError, WorkbookFileError

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
