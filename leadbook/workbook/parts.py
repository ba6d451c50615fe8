"""An xlsx package read as Excel reads it: its parts, relationships and content types.

:class:`Package` holds the parts of a zip package (:class:`Parts`, which keeps each part's
relationships and the content types read once per change) and writes it back. The constants
name the relationship kinds the writer regenerates and the schema order of a worksheet's and
a workbook's children, which a part put back must keep; a worksheet part's cells can be taken
apart and put back, for the grafts and the audit that work around them.
"""

from __future__ import annotations

import io
import posixpath
import re
import shutil
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as ET  # noqa: N817


def escape(text: str) -> str:
    """``text`` with ``&``, ``<`` and ``>`` escaped for an XML element's content, as
    :func:`xml.sax.saxutils.escape` does (whose module imports ``urllib.request``, and with it
    ``http.client`` and ``ssl``: a tenth of the command line's start-up at the time).

    >>> escape("R&D <new>")
    'R&amp;D &lt;new&gt;'
    """
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def quoteattr(text: str) -> str:
    r"""``text`` escaped and quoted as an XML attribute's value, as
    :func:`xml.sax.saxutils.quoteattr` does (see :func:`escape`).

    >>> print(quoteattr("a\tb"), quoteattr('say "hi"'), quoteattr("it's \"x\""))
    "a&#9;b" 'say "hi"' "it's &quot;x&quot;"
    """
    text = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"{}"'.format(text.replace('"', "&quot;"))


_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

WRITER_OWNED = frozenset(
    {
        "officeDocument",
        "core-properties",
        "extended-properties",
        "worksheet",
        "chartsheet",
        "styles",
        "sharedStrings",
        "calcChain",
    }
)
"""Relationship kinds (from the package or the workbook) whose parts the writer regenerates:
tabs are compared tab by tab, styles and strings cell by cell by openpyxl's own model, the
calculation chain Excel rebuilds (leadbook asks for a full recalculation on load)."""

SHEET_ORDER = [
    "sheetPr",
    "dimension",
    "sheetViews",
    "sheetFormatPr",
    "cols",
    "sheetData",
    "sheetCalcPr",
    "sheetProtection",
    "protectedRanges",
    "scenarios",
    "autoFilter",
    "sortState",
    "dataConsolidate",
    "customSheetViews",
    "mergeCells",
    "phoneticPr",
    "conditionalFormatting",
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
]
"""The children of a worksheet in the order the schema (CT_Worksheet) requires; a
chartsheet's are a subset, in the same order."""

WORKBOOK_ORDER = [
    "fileVersion",
    "fileSharing",
    "workbookPr",
    "workbookProtection",
    "bookViews",
    "sheets",
    "functionGroups",
    "externalReferences",
    "definedNames",
    "calcPr",
    "oleSize",
    "customWorkbookViews",
    "pivotCaches",
    "smartTagPr",
    "smartTagTypes",
    "webPublishing",
    "fileRecoveryPr",
    "webPublishObjects",
    "extLst",
]
"""The children of a workbook part in schema order (CT_Workbook)."""

WRITTEN_ELEMENTS = frozenset({"sheets", "definedNames", "calcPr", "bookViews", "sheetData"})
"""Elements leadbook itself writes (the tabs, the names, the recalculation, the cells): what
it leaves out of them is its choice, never put back."""

ORDERS = {
    "worksheet": tuple(SHEET_ORDER),
    "chartsheet": tuple(SHEET_ORDER),
    "workbook": tuple(WORKBOOK_ORDER),
}
"""The children, in order, of each root leadbook puts dropped elements back into. An
element named in none (``mc:AlternateContent``) has no place leadbook can be sure of: the
audit refuses a write that would drop one from a tab; in the workbook part it only ever
holds where Excel last saved the file (``x15ac:absPath``)."""

KNOWN_EXTENSIONS = {
    "{05C60535-1F16-4fd2-B633-F4F36F0B64E0}": "sparklines",
    "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}": "Excel 2010 data validations",
    "{78C0D931-6437-407d-A8EE-F0AAD7539E65}": "Excel 2010 conditional formats",
    "{3A4CF648-6AED-40f4-86FF-DC5316D8AED3}": "slicers",
    "{7E03D99C-DC04-49d9-9315-930204A7B6E9}": "timelines",
}


@dataclass(frozen=True)
class Rel:
    """One relationship of a part: its id, kind (the last segment of its type), full type,
    and target (a part name, or the URL of an external target)."""

    id: str
    kind: str
    type: str
    target: str
    external: bool


class Parts(MutableMapping[str, bytes]):
    """A package's parts, name → bytes, each decompressed when first asked for: putting back
    what openpyxl dropped looks at the tabs the user owns and what hangs from them, not at
    leadbook's own output tabs, and a 10,000-source workbook's parts are 150 MB
    uncompressed, held twice. The package is read from one archive in memory (its compressed
    bytes, a tenth of that): a part is not looked up in the file's directory again each time.
    Names keep the package's order, added ones come last."""

    def __init__(
        self,
        parts: dict[str, bytes | None],
        archive: zipfile.ZipFile | None = None,
        zipped: bytes | None = None,
        read: dict[str, bytes] | None = None,
    ):
        self._parts = parts
        """Name → bytes, or None while the part is still only in ``archive``."""
        self._archive = archive
        self._zipped = zipped
        """The archive's own bytes: an unchanged part is copied from them as it is stored."""
        self._read = {} if read is None else read
        """Name → the bytes of each part decompressed so far, exactly as the archive holds
        them (not those read as UTF-16 and given as UTF-8): such a part still set to the
        same bytes is unchanged."""

    @classmethod
    def of_file(cls, path: Path) -> Parts:
        return cls.of_bytes(Path(path).read_bytes())

    @classmethod
    def of_bytes(cls, data: bytes) -> Parts:
        """The parts of the package whose (zipped) bytes are ``data``."""
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = {i.filename: None for i in archive.infolist() if not i.is_dir()}
        return cls(names, archive, data)  # type: ignore[arg-type]

    def __getitem__(self, name: str) -> bytes:
        data = self._parts[name]
        if data is None:
            assert self._archive is not None
            raw = self._archive.read(name)  # its CRC checked
            data = self._parts[name] = _utf8(raw)
            if data is raw:
                self._read[name] = raw
        return data

    def __setitem__(self, name: str, data: bytes) -> None:
        self._parts[name] = data

    def __delitem__(self, name: str) -> None:
        del self._parts[name]

    def __contains__(self, name: object) -> bool:
        return name in self._parts

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def copy(self) -> Parts:
        """Another mapping of the same parts (their bytes shared), to change apart."""
        return Parts(dict(self._parts), self._archive, self._zipped, self._read)

    def stored(
        self, name: str, data: bytes | None = None
    ) -> tuple[zipfile.ZipInfo, memoryview] | None:
        """Part ``name`` as the archive stores it — its entry and its compressed bytes — when
        the part is still the archive's own (or, given ``data``, when the archive's part
        ``name`` is those bytes, compared byte for byte); None otherwise, or when the
        archive's entry is not one to copy as it is (encrypted, or compressed otherwise than
        deflated)."""
        if self._zipped is None or self._archive is None:
            return None
        try:
            info = self._archive.getinfo(name)
        except KeyError:
            return None
        if data is None:
            own = self._parts.get(name)
            if own is not None and own is not self._read.get(name):
                return None  # changed, or read as UTF-16
            if own is None and name not in self._parts:
                return None
        elif not _same_bytes(data, info, self._read.get(name), self._archive):
            return None
        return _entry(info, self._zipped)

    def write(self, zf: zipfile.ZipFile, name: str, like: Parts | None = None) -> None:
        """Write part ``name`` into ``zf``: copied as it is stored when it is the archive's
        own, or the same bytes as part ``name`` of ``like`` (no decompressing and compressing
        again: History's 75 MB took a second and a half); else compressed, and one not read
        yet copied across a megabyte at a time, never held whole."""
        data = self._parts[name]
        if data is None:
            assert self._archive is not None
            with self._archive.open(name) as part:
                if part.read(2) in (b"\xff\xfe", b"\xfe\xff", b"<\0", b"\0<"):
                    data = self[name]  # perhaps UTF-16: written as UTF-8, as read
        stored = self.stored(name)
        if stored is None and data is not None and like is not None:
            stored = like.stored(name, data)
        if stored is not None and _write_stored(zf, name, *stored):
            return
        if data is not None:
            zf.writestr(name, data)
            return
        assert self._archive is not None
        with self._archive.open(name) as part, zf.open(name, "w") as out:
            shutil.copyfileobj(part, out, 2**20)


class Package:
    """The parts of an OPC package (name → bytes), read and written as a whole."""

    def __init__(self, parts: dict[str, bytes] | Parts):
        self.parts = parts if isinstance(parts, Parts) else Parts(dict(parts))
        self._parsed: dict[str, tuple[bytes, object]] = {}
        """Part → (its bytes, what was read from them): read again only once changed (a
        package of 4,000 parts read its content types 4,000 times, for minutes)."""

    def _read_once(self, name: str, read, key: object = None):
        data = self.parts[name]
        slot = name if key is None else (name, key)
        cached = self._parsed.get(slot)
        if cached is None or cached[0] is not data:
            cached = self._parsed[slot] = (data, read(data))
        return cached[1]

    def bare(self, part: str) -> bytes:
        """Part ``part`` without its cells (:func:`_without_cells`), worked out once for
        each bytes it is given: the grafts and the audit each look at History's 75 MB.

        Examples
        --------
        >>> xml = b'<worksheet><sheetData><row r="1"/></sheetData></worksheet>'
        >>> Package({"s.xml": xml}).bare("s.xml")
        b'<worksheet><sheetData/></worksheet>'
        """
        return self._read_once(part, _without_cells, "bare")

    @classmethod
    def read(cls, path: Path) -> Package:
        """The package at ``path``, its XML parts in UTF-8 (the only encoding the checks on
        their bytes, and Excel, write; a parser, and openpyxl, read UTF-16 too)."""
        return cls(Parts.of_file(path))

    @classmethod
    def of_bytes(cls, data: bytes) -> Package:
        """The package whose zipped bytes are ``data`` (:meth:`read` of a file in memory)."""
        return cls(Parts.of_bytes(data))

    @classmethod
    def of(cls, package: Path | Package) -> Package:
        """``package`` itself, or the package at that path."""
        return package if isinstance(package, Package) else cls.read(package)

    def to_bytes(self, like: Package | None = None) -> bytes:
        """The package zipped, ``[Content_Types].xml`` first, as Excel writes it; each part
        that is still as read, or the same as the part of that name in ``like`` (the file
        the package was made from), copied compressed as it is stored (:meth:`Parts.write`)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            first = ["[Content_Types].xml"]
            for name in first + [n for n in self.parts if n not in first]:
                self.parts.write(zf, name, like.parts if like is not None else None)
        return buffer.getvalue()

    def write(self, path: Path, like: Package | None = None) -> None:
        Path(path).write_bytes(self.to_bytes(like))

    def rels(self, part: str) -> list[Rel]:
        """The relationships of ``part`` ("" for the package's own)."""
        if rels_name(part) not in self.parts:
            return []
        return list(self._read_once(rels_name(part), lambda data: _read_rels(part, data)))

    def content_type(self, part: str) -> str | None:
        overrides, defaults = self._read_once("[Content_Types].xml", _read_types)
        if part.casefold() in overrides:
            return overrides[part.casefold()]
        return defaults.get(part.rsplit(".", 1)[-1].casefold())

    def workbook_part(self) -> str:
        return next(r.target for r in self.rels("") if r.kind == "officeDocument")

    def tabs(self) -> dict[str, str]:
        """Tab name → its sheet part."""
        book = self.workbook_part()
        targets = {r.id: r.target for r in self.rels(book)}
        root = ET.fromstring(self.parts[book])
        return {
            s.get("name"): targets.get(s.get(f"{{{_R}}}id"), "")
            for s in root.iter(f"{{{_MAIN}}}sheet")
        }


def _read_rels(part: str, data: bytes) -> list[Rel]:
    base = str(PurePosixPath(part).parent) if part else ""
    out = []
    for r in ET.fromstring(data).iter(f"{{{_PKG_REL}}}Relationship"):
        kind_type = r.get("Type", "")
        target = r.get("Target", "")
        external = r.get("TargetMode") == "External"
        if not external:
            target = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(base, target))
            )
        kind = kind_type.rstrip("/").rsplit("/", 1)[-1]
        out.append(Rel(r.get("Id", ""), kind, kind_type, target, external))
    return out


def _read_types(data: bytes) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Part → content type, and extension → content type (the first of each, casefolded)."""
    types = ET.fromstring(data)
    overrides: dict[str, str | None] = {}
    defaults: dict[str, str | None] = {}
    for o in types.iter(f"{{{_CT}}}Override"):
        overrides.setdefault(o.get("PartName", "").lstrip("/").casefold(), o.get("ContentType"))
    for d in types.iter(f"{{{_CT}}}Default"):
        defaults.setdefault(d.get("Extension", "").casefold(), d.get("ContentType"))
    return overrides, defaults


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
"""A zip member's local file header: signature, version, flags, method, time, date, CRC,
sizes, and the lengths of its name and extra field."""


def _entry(info: zipfile.ZipInfo, zipped: bytes) -> tuple[zipfile.ZipInfo, memoryview] | None:
    """The member ``info`` of the archive whose bytes are ``zipped``: its entry and its
    compressed bytes as stored, when its local header agrees with the directory; None when
    it cannot be copied as it is."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None  # encrypted, or a method leadbook does not copy
    start = info.header_offset
    if start < 0 or start + _LOCAL_HEADER.size > len(zipped):
        return None
    head = _LOCAL_HEADER.unpack_from(zipped, start)
    if head[0] != b"PK\x03\x04" or head[3] != info.compress_type:
        return None
    begin = start + _LOCAL_HEADER.size + head[9] + head[10]
    end = begin + info.compress_size
    if end > len(zipped):
        return None
    return info, memoryview(zipped)[begin:end]


def _same_bytes(
    data: bytes, info: zipfile.ZipInfo, read: bytes | None, archive: zipfile.ZipFile
) -> bool:
    """Whether ``data`` are the bytes of member ``info`` of ``archive`` (``read``: them, if
    decompressed already): by size and CRC first, then byte for byte."""
    if len(data) != info.file_size:
        return False
    if read is not None:  # at hand: compared as they are (a CRC of 75 MB takes longer)
        return data is read or data == read
    return zlib.crc32(data) == info.CRC and data == archive.read(info)


_WRITER = ("_lock", "_seekable", "fp", "start_dir", "_writecheck", "filelist", "NameToInfo")
"""What :func:`_write_stored` uses of a :class:`zipfile.ZipFile` that is not documented."""


def _write_stored(zf: zipfile.ZipFile, name: str, info: zipfile.ZipInfo, raw: memoryview) -> bool:
    """Write part ``name`` into ``zf`` as the compressed bytes ``raw`` of the entry ``info``
    (its CRC and sizes copied), as :meth:`zipfile.ZipFile.mkdir` writes an entry of its own
    (Python 3.11 to 3.13: the same lines); False, with nothing written, when ``zf`` is not
    the writer this expects."""
    if getattr(zf, "_writing", True) or not all(hasattr(zf, a) for a in _WRITER):
        return False
    if zf.mode != "w" or not zf._seekable:
        return False
    entry = zipfile.ZipInfo(name, time.localtime(time.time())[:6])  # as writestr dates it
    entry.compress_type = info.compress_type
    entry.external_attr = 0o600 << 16  # as writestr
    entry.CRC, entry.file_size, entry.compress_size = info.CRC, info.file_size, len(raw)
    with zf._lock:
        zf.fp.seek(zf.start_dir)
        entry.header_offset = zf.fp.tell()
        zf._writecheck(entry)
        zf._didModify = True
        zf.fp.write(entry.FileHeader(None))
        zf.fp.write(raw)
        zf.filelist.append(entry)
        zf.NameToInfo[name] = entry
        zf.start_dir = zf.fp.tell()
    return True


def _utf8(data: bytes) -> bytes:
    """``data`` in UTF-8 if it is XML in UTF-16 (by its byte order mark, or ``<`` as its
    first character), else as it is (a picture's bytes stay untouched)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"
    elif data.startswith((b"<\0", b"\0<")):
        codec = "utf-16-le" if data[0] == ord("<") else "utf-16-be"
    else:
        return data
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return data
    if not text.lstrip("\ufeff \t\r\n").startswith("<"):
        return data  # not XML: bytes that happen to start like UTF-16
    return re.sub(r"""^(<\?xml[^>]*?encoding=["'])[^"']*""", r"\g<1>UTF-8", text, count=1).encode()


def rels_name(part: str) -> str:
    """The part holding the relationships of ``part`` ("" for the package).

    Examples
    --------
    >>> rels_name("xl/worksheets/sheet1.xml")
    'xl/worksheets/_rels/sheet1.xml.rels'
    >>> rels_name("")
    '_rels/.rels'
    """
    if not part:
        return "_rels/.rels"
    p = PurePosixPath(part)
    return f"{p.parent}/_rels/{p.name}.rels"


_SHEET_DATA = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?sheetData)\b[^>]*?(/?)>")


def _without_cells(xml: bytes) -> bytes:
    """A worksheet part with an empty ``<sheetData/>``, for the audit of the elements around
    the cells: the cells are leadbook's to write (:data:`WRITTEN_ELEMENTS`), and parsing
    200,000 rows of them twice took most of a write's audit. Unchanged when the part holds
    no sheetData, or a comment or CDATA section that could hide its end tag.

    Examples
    --------
    >>> _without_cells(b'<worksheet><sheetData><row r="1"/></sheetData><extLst/></worksheet>')
    b'<worksheet><sheetData/><extLst/></worksheet>'
    """
    found = _SHEET_DATA.search(xml)
    if found is None or b"<![CDATA[" in xml or b"<!--" in xml:
        return xml
    if found[2]:  # <sheetData/> already
        return xml
    close = b"</" + found[1] + b">"
    end = xml.find(close, found.end())
    if end < 0:
        return xml
    return xml[: found.start()] + b"<" + found[1] + b"/>" + xml[end + len(close) :]


def _cells_apart(xml: bytes, bare: bytes | None = None) -> tuple[bytes, memoryview | None]:
    """A worksheet part with its ``<sheetData>`` emptied (:func:`_without_cells`), and the
    element taken out, as a view of ``xml`` (not a copy), None when the part was left as it
    was.

    Examples
    --------
    >>> xml = b'<worksheet><sheetData><row r="1"/></sheetData><extLst/></worksheet>'
    >>> bare, cells = _cells_apart(xml)
    >>> bytes(cells)
    b'<sheetData><row r="1"/></sheetData>'
    >>> _cells_back(bare, cells) == xml
    True
    """
    bare = _without_cells(xml) if bare is None else bare  # (given: worked out already)
    if bare is xml:
        return xml, None
    found = _SHEET_DATA.search(xml)
    assert found is not None
    placeholder = len(found[1]) + 3  # <sheetData/>
    start = found.start()
    return bare, memoryview(xml)[start : start + len(xml) - len(bare) + placeholder]


def _cells_back(xml: bytes, cells: bytes | memoryview | None) -> bytes:
    """``xml`` with the ``<sheetData/>`` that :func:`_cells_apart` left put back as ``cells``."""
    if cells is None:
        return xml
    found = _SHEET_DATA.search(xml)
    assert found is not None and found[2], "the emptied sheetData is gone"
    return b"".join((xml[: found.start()], cells, xml[found.end() :]))
