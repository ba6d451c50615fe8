"""Parse a worksheet part's cells for a streamed tab, values only.

A part in the plain form Excel and openpyxl write (UTF-8, the main namespace the default,
nothing prefixed) is read by regular expressions, in bulk where it can be
(:func:`~leadbook.workbook.plaincells.plain_rows`) and cell by cell otherwise; any other part
goes through expat, which refuses a DTD or an entity declaration. Either way the cells come
out as openpyxl gives them with ``data_only=True``, and a read asked for the top rows stops
once it is past them (:func:`_rows_past` says whether it missed nothing).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from xml.parsers import expat

from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.cell_range import CellRange

from leadbook.errors import WorkbookFileError
from leadbook.workbook.plaincells import (
    CHARACTER_REFERENCE,
    plain_rows,
    plain_text,
    referenced,
)

if TYPE_CHECKING:
    from leadbook.workbook.stream import StreamedSheet

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_MAIN = MAIN + " "
_PLAIN_CELLS = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]+)"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
    rb"\s*(?:/>|>"
    rb"(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?"
    rb"(?:<v>([^<]*)</v>|<v\s*/>)?"
    rb'((?:<is><t(?: xml:space="preserve")?>([^<]*)</t></is>|<is><t\s*/></is>|<is\s*/>))?'
    rb"</c>)"
)
"""A cell in the plain form: column, row, style, type, value, inline string, its text."""
_PLAIN_ROW = re.compile(rb"<row(?:[ \t\r\n][^>]*?)?(/?)>|</row>")
"""A row's start tag (``/`` if it is empty) or its end tag, in the plain form."""
_NEAR_REF = re.compile(
    rb"""\sr\s*=\s*(?:"(?![A-Z]{0,3}[1-9][0-9]{2,}")([^"]*)"|'(?![A-Z]{0,3}[1-9][0-9]{2,}')([^']*)')"""
)
"""An ``r`` attribute but one plainly past row 99: read further by :func:`_rows_past`."""
_PLAIN_REF = re.compile(rb"[A-Z]{0,3}([0-9]{1,2})")
"""A reference in well-formed XML: a character's number, or one of XML's five entities."""
_CELL_OR_ROW = re.compile(rb"<(?:c[ \t\r\n/>]|row\b)")
_MERGE_REF = re.compile(rb"""<mergeCell\s+ref\s*=\s*["']([^"']+)["']""")
_PLAIN_MERGES = re.compile(
    rb'<mergeCells(?: count="[0-9]+")?>((?:<mergeCell ref="[^"]*" ?/>)*)</mergeCells>'
)
"""The merged ranges in the plain form: each a child of mergeCells, as openpyxl reads them."""
_MERGE_TAG = re.compile(rb"<mergeCell[ \t\r\n/>]")
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:c|row|v|is|t|r|f|rPh|mergeCell|sheetData)\b")
_C, _V, _ROW, _IS, _R, _T, _MERGES, _MERGE = (
    _MAIN + tag for tag in ("c", "v", "row", "is", "r", "t", "mergeCells", "mergeCell")
)
_COORD = re.compile(r"([A-Z]{1,3})([0-9]+)$")
_NUMBER_CHARS = frozenset(".eE")
_FLOAT_MARK = re.compile(rb"[.eE]")
"""What makes a stored number a float rather than an int (:data:`_NUMBER_CHARS`), in bytes."""


class _EnoughRowsError(Exception):
    """Raised from inside the parser once the rows asked for are read."""


class _SheetParser:
    """expat handlers filling a :class:`~leadbook.workbook.stream.StreamedSheet`'s rows with values.

    The handlers run once per element (about four million for 200,000 History rows), so they
    are closures over local state, comparing expat's interned element names."""

    def __init__(self, sheet: StreamedSheet, up_to: int | None):
        self.sheet = sheet
        self.book = sheet._book
        self.up_to = up_to
        self.row = 0
        self.column = 0
        self._dates: dict[tuple[float, bool], Any] = {}
        self.stopped_at = 0
        """Where the first row past ``up_to`` starts (a byte index), once parse() stops there."""

    def parse(self, source: Any) -> bool:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_dtd(self.sheet)
        parser.EntityDeclHandler = _refuse_dtd(self.sheet)
        self._install(parser)
        try:
            parser.ParseFile(source)
        except _EnoughRowsError:
            return False
        except expat.ExpatError as exc:
            raise WorkbookFileError(
                f"{self.book.name}: tab {self.sheet.title!r} is not well-formed XML ({exc}); "
                "the file is damaged — open it in Excel and save it again"
            ) from exc
        return True

    def parse_plain(self, data: bytes, plain: bool | None = None) -> bool:
        """Read a whole tab written in the plain form Excel, LibreOffice and openpyxl write —
        UTF-8, the main namespace the default one (declared on the root alone), no comments,
        CDATA or DTD, and every cell ``<c r="B7" s="3" t="s">`` with at most a formula, a
        value or a one-run inline string — with one regular expression, over twice as fast
        as expat's handlers. False, having kept nothing, when the tab is in another form
        (:meth:`parse` then reads it): the XML must be well-formed, and every cell element of
        the tab must have matched. Where the bulk reader reads the cells, it checks their
        tags and text itself, and expat checks the rest of the part (the rows' and formulas'
        tags in place of the cells); otherwise expat checks the whole part, in one pass
        without handlers. ``plain``: whether :func:`_is_plain_sheet` holds of ``data``, if
        known."""
        if not (plain if plain is not None else _is_plain_sheet(data)):
            return False
        begin, end = data.find(b"<sheetData>"), data.find(b"</sheetData>")
        if begin < 0 or end < 0:
            begin = end = len(data)  # no cells (<sheetData/>), or not in the plain form
        inside = begin + len(b"<sheetData>")
        markup: list[bytes] = []
        cells = plain_rows(self, data, inside, end, markup)
        if cells is not None and inside <= end and plain_text(data, inside, end):
            # the cells and their text are checked: expat checks the rest, not 75 MB again
            data_checked = data[:inside] + b"".join(markup) + data[end:]
        else:
            data_checked = data
        if not self._well_formed(data_checked):
            return False  # parse() names the damage
        if _CELL_OR_ROW.search(data, 0, begin) or _CELL_OR_ROW.search(data, end):
            return False  # a cell or row outside sheetData: parse() reads it as openpyxl does
        rows: dict[int, dict[int, Any]] = {}
        if cells is None and not self._cells_one_by_one(data, begin, end, rows):
            return False
        refs = [
            ref for block in _PLAIN_MERGES.findall(data, end) for ref in _MERGE_REF.findall(block)
        ]
        if len(refs) != len(_MERGE_TAG.findall(data, end)):
            return False  # a merged range elsewhere than in mergeCells: parse() reads it
        if cells is not None:
            self.sheet._bulk = cells  # kept as arrays: a table is read a column at a time
        else:
            self.sheet._rows.update(rows)
        self.sheet._merged.ranges.extend(
            self._merged_range(CHARACTER_REFERENCE.sub(referenced, ref.decode())) for ref in refs
        )
        return True

    def _merged_range(self, ref: str) -> CellRange:
        """The merged range ``ref`` (as XML reads the attribute); a ref that names no range
        is the tab's damage, named."""
        try:
            return CellRange(ref)
        except (ValueError, TypeError) as exc:
            raise WorkbookFileError(
                f"{self.book.name}: tab {self.sheet.title!r} merges {ref!r}, which is no range "
                "of cells; the file is damaged — open it in Excel and save it again"
            ) from exc

    def _well_formed(self, data: bytes) -> bool:
        """Whether ``data`` is well-formed XML, its main namespace the default one declared
        on the root alone (an unprefixed ``<c>`` outside it is no cell); a DTD is refused."""
        check = expat.ParserCreate(namespace_separator=" ")
        check.StartDoctypeDeclHandler = _refuse_dtd(self.sheet)
        defaults: list[tuple[str | None, int]] = []
        check.StartNamespaceDeclHandler = lambda prefix, uri: (
            defaults.append((uri, check.CurrentByteIndex)) if prefix is None else None
        )
        try:
            check.Parse(data, True)
        except expat.ExpatError:
            return False
        return defaults == [(MAIN, data.find(b"<", 1 if data.startswith(b"<?xml") else 0))]

    def _cells_one_by_one(self, data: bytes, begin: int, end: int, rows: dict) -> bool:
        """The cells of a plain tab into ``rows``, a regular expression's match each (where
        :func:`~leadbook.workbook.plaincells.plain_rows` gave up); False if a cell is not in
        the plain form."""
        columns: dict[bytes, int] = {}
        styles: dict[bytes | None, int] = {None: 0}
        plain_numbers = {b"n", None}  # a number: read here unless its style shows a date
        dates = self.book.date_styles
        value_of, cell_at, row_at = self.value, _PLAIN_CELLS.match, _PLAIN_ROW.match
        pos, in_row = begin + len(b"<sheetData>"), False
        while pos < end:  # rows and cells, each where the last ended: nothing between
            match = cell_at(data, pos) if in_row else None
            if match is None:
                tag = row_at(data, pos)
                if tag is None or in_row != (tag[1] is None):
                    return False  # another element, or a cell in another form
                in_row, pos = tag[1] == b"", tag.end()
                continue
            pos = match.end()
            letters, digits, style, kind, value, inline, text = match.groups()
            column = columns.get(letters)
            if column is None:
                column = columns[letters] = column_index_from_string(letters.decode())
            self.row, self.column = int(digits), column
            number = styles.get(style)
            if number is None:
                number = styles[style] = int(style)
            if kind in plain_numbers and value and number not in dates:
                try:  # the common cell, as value() reads it, without its call
                    got = float(value) if _FLOAT_MARK.search(value) else int(value)
                except ValueError:
                    got = value_of("n", number, value.decode())  # names the cell
                line = rows.get(self.row)
                if line is None:
                    line = rows[self.row] = {}
                line[column] = got
                continue
            if kind == b"inlineStr":
                if not inline:
                    continue
                raw = text
            elif value:
                raw = value
            else:
                continue
            if b"\r" in raw:  # as XML reads line ends (a character reference stays)
                raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            decoded = raw.decode()
            if "&" in decoded:
                decoded = CHARACTER_REFERENCE.sub(referenced, decoded)
            got = value_of(kind.decode() if kind else "n", number, decoded)
            if got is not None:
                line = rows.get(self.row)
                if line is None:
                    line = rows[self.row] = {}
                line[column] = got
        return True

    def _install(self, parser: Any) -> None:
        rows = self.sheet._rows
        merged = self.sheet._merged.ranges
        up_to = self.up_to if self.up_to is not None else 2**62
        columns: dict[str, int] = {}
        text: list[str] = []
        # the cell being read: kind, style, whether it has a value, whether text is collected
        cell: list[Any] = ["n", 0, False, False]
        # the element depth, the open row's, the open cell's and the open mergeCells' (-1: none)
        depth = [0, -1, -1, -1]
        inside: list[str] = []  # the elements open inside the cell
        seen: set[str] = set()  # the cell's value, inline string, texts and runs read so far
        value_of = self.value

        def start(name: str, attrs: dict[str, str]) -> None:
            depth[0] += 1
            if depth[2] >= 0:
                if name == _V and not inside and not cell[3] and _V not in seen:
                    inside.append(name)  # a cell's value, the common case, read at once
                    seen.add(name)
                    if cell[0] != "inlineStr":  # an inline string's text is in <is> alone
                        cell[2] = cell[3] = True
                else:
                    inner(name)
            elif depth[0] == depth[1] + 1:
                if name != _C:  # openpyxl would read it as a cell
                    raise self._damaged(f"an element <{name.removeprefix(_MAIN)}> inside a row")
                ref = attrs.get("r")
                if ref:
                    letters = ref.rstrip("0123456789")
                    column = columns.get(letters)
                    if column is None:
                        if not letters.isalpha() or not letters.isupper() or len(letters) > 3:
                            raise self._damaged(f"a cell reference {ref!r}")
                        column = columns[letters] = column_index_from_string(letters)
                    digits = ref[len(letters) :]
                    if not digits.isdigit():
                        raise self._damaged(f"a cell reference {ref!r}")
                    self.row, self.column = int(digits), column
                else:
                    self.column += 1
                style = attrs.get("s")
                cell[:] = attrs.get("t", "n"), int(style) if style else 0, False, False
                text.clear()
                inside.clear()
                seen.clear()
                depth[2] = depth[0]
            elif name == _ROW:
                number = attrs.get("r")
                self.row = int(number) if number else self.row + 1
                self.column = 0
                if self.row > up_to:
                    self.stopped_at = parser.CurrentByteIndex
                    raise _EnoughRowsError
                depth[1] = depth[0]
            elif name == _MERGES:
                depth[3] = depth[0]
            elif name == _MERGE and depth[0] == depth[3] + 1:
                ref = attrs.get("ref")
                if ref:
                    merged.append(self._merged_range(ref))

        def inner(name: str) -> None:
            """An element inside the cell but its first value: its value, its inline
            string's text and runs are read where openpyxl reads them; what openpyxl reads
            otherwise is refused."""
            if cell[3]:
                raise self._damaged("an element inside its text")
            if name == _ROW:
                raise self._damaged("an element <row> inside a cell")
            inside.append(name)
            path = tuple(inside)
            if path == (_V,) or path == (_IS,):
                if name in seen:
                    raise self._damaged("two values" if name == _V else "two inline strings")
                seen.add(name)
                if (name == _IS) == (cell[0] == "inlineStr"):
                    cell[2] = True  # "" if it holds no text, as openpyxl reads it
                    cell[3] = name == _V
            elif path == (_IS, _R):
                seen.add(_R)
                seen.discard(_T)
            elif path == (_IS, _T) or path == (_IS, _R, _T):
                if _T in seen or (len(path) == 2 and _R in seen):
                    raise self._damaged("two texts in its inline string")
                seen.add(_T)
                cell[3] = cell[0] == "inlineStr"

        def end(name: str) -> None:
            depth[0] -= 1
            if depth[0] + 1 == depth[2]:
                depth[2] = -1
                cell[3] = False
                if cell[2]:
                    value = value_of(cell[0], cell[1], "".join(text))
                    if value is not None:
                        line = rows.get(self.row)
                        if line is None:
                            line = rows[self.row] = {}
                        line[self.column] = value
            elif depth[2] >= 0:
                inside.pop()
                cell[3] = False
            elif depth[0] + 1 == depth[1]:
                depth[1] = -1
            elif depth[0] + 1 == depth[3]:
                depth[3] = -1

        def characters(data: str) -> None:
            if cell[3]:
                text.append(data)

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = characters

    def value(self, kind: str, style: int, text: str) -> Any:
        """The cell's value as openpyxl's reader gives it with ``data_only=True``."""
        if kind == "inlineStr":
            return text
        if not text:
            return None
        if kind == "n":
            try:
                number = float(text) if _NUMBER_CHARS.intersection(text) else int(text)
            except ValueError:
                coordinate = f"{get_column_letter(self.column)}{self.row}"
                shown = text if len(text) <= 24 else f"{text[:20]}…"
                raise WorkbookFileError(
                    f"{self.book.name}, {self.sheet.title}!{coordinate}: holds {shown!r} where "
                    "a number is stored, which Excel never writes (NaN or infinity from another "
                    "program?); type a number or clear the cell"
                ) from None
            if style in self.book.date_styles:
                key = (number, style in self.book.timedelta_styles)
                date = self._dates.get(key)
                if date is None:  # a column of months repeats a few: each converted once
                    try:
                        date = from_excel(number, self.book.epoch, timedelta=key[1])
                    except (OverflowError, ValueError):
                        date = "#VALUE!"
                    self._dates[key] = date
                return date
            return number
        if kind == "s":
            try:
                return self.book.shared_strings[int(text)]
            except (IndexError, ValueError):
                raise self._damaged(f"a shared string {text!r} that the workbook lacks") from None
        if kind == "b":
            return text.strip() not in ("0", "false")
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            try:
                return from_ISO8601(text)
            except ValueError:
                return "#VALUE!"
        return text  # "str" (a formula's text), "e" (an error code such as #N/A)

    def _damaged(self, what: str) -> WorkbookFileError:
        coordinate = f"{get_column_letter(max(self.column, 1))}{max(self.row, 1)}"
        return WorkbookFileError(
            f"{self.book.name}, {self.sheet.title}!{coordinate}: holds {what}, which Excel "
            "never writes; the file is damaged — open it in Excel and save it again"
        )


def _rows_past(data: bytes, start: int, up_to: int) -> bool:
    """Whether every row and cell reference (``r="…"``) of a worksheet part from byte
    ``start`` on is past row ``up_to``: a partial read stopping there has missed nothing. A
    reference that is not plain letters and digits (a character reference, say), or a part
    in UTF-16, is not known to be past."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        return False
    for match in _NEAR_REF.finditer(data, start):
        near = _PLAIN_REF.fullmatch(match[1] if match[1] is not None else match[2])
        if near is None or int(near[1]) <= up_to:
            return False
    return True


def _is_plain_sheet(data: bytes) -> bool:
    """Whether a worksheet part is in the plain form :meth:`_SheetParser.parse_plain` reads:
    UTF-8 (declared or not), the main namespace as the default one, no element of it
    prefixed (inside sheetData, parse_plain reads no prefixed element as a row or cell), and
    no comment, CDATA section, DTD or processing instruction but the XML declaration."""
    head = data[:4096]
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        return False
    if data.startswith(b"<?xml"):
        declaration = head[: head.find(b"?>") + 2]
        encoding = re.search(rb"""encoding\s*=\s*["']([^"']+)["']""", declaration)
        if encoding and encoding[1].lower() not in (b"utf-8", b"utf8"):
            return False
        after = len(declaration)
    else:
        after = 0
    if f'xmlns="{MAIN}"'.encode() not in head:
        return False
    # each searched for in place (the part may be 75 MB), its rarer byte first
    if data.find(b"!") >= 0 and b"<!" in data:
        return False
    if data.find(b"?", after) >= 0 and data.find(b"<?", after) >= 0:
        return False
    # a prefixed element inside sheetData is no row or cell of the plain form, which
    # parse_plain reads alone there: it is looked for around sheetData
    begin, end = data.find(b"<sheetData>"), data.find(b"</sheetData>")
    if not 0 <= begin < end:
        return _PREFIXED.search(data) is None
    return _PREFIXED.search(data, 0, begin) is None and _PREFIXED.search(data, end) is None


def _refuse_dtd(sheet: StreamedSheet) -> Any:
    def refuse(*_: Any) -> None:
        raise WorkbookFileError(
            f"{sheet._book.name}: tab {sheet.title!r} declares an XML DTD or entities; Excel "
            "never writes these, leadbook refuses the file"
        )

    return refuse
