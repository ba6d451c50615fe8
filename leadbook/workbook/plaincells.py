"""The cells of a tab in the plain form, tokenised in bulk with numpy.

:meth:`leadbook.workbook.sheetparse._SheetParser.parse_plain` matched a regular expression per
cell and converted each value in Python: 200,000 History rows (1.6 million cells) took
seconds. Here a block of a few megabytes of ``<sheetData>`` is cut at its ``<`` and ``>``
bytes into tags, every tag classified by its first bytes, the sequence of tags checked against
the plain form's grammar by one regular expression over one letter a tag, the cell references,
styles and types read from fixed-width windows, and the values converted a column of like
cells at a time (numbers by ``int``/``float`` mapped in C, shared strings by index, inline
strings split from one buffer).

What this reader does not recognise — a tag in another spelling, white space between tags, a
reference past nine digits, an unknown cell type, a value it cannot convert — makes
:func:`plain_rows` return None, and the cell-by-cell reader reads the tab (naming the bad
cell, where there is one). It never guesses.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from leadbook.errors import WorkbookFileError

BLOCK = 2 * 2**20
"""Bytes of ``<sheetData>`` tokenised at once: the arrays of a block are a few times this."""
_WIDTH = 64
"""The longest cell start tag read here (``<c r="XFD1048576" s="123" t="inlineStr">`` is 40)."""
_SPACE = np.zeros(256, bool)
_SPACE[[32, 9, 10, 13]] = True
"""White space between XML's attributes, by byte."""
_LOW_BYTES = np.array([(1 << 8 * n) - 1 for n in range(8)] + [2**64 - 1], np.uint64)
_GRAMMAR = re.compile(rb"(?:E|R(?:S|C(?:H|FG)?(?:VW|U)?(?:I[TP]ZJ)?X)*Q)*")
"""Rows of cells in the plain form, a letter a tag (see :data:`_SHORT`): a row (R … Q) or an
empty one (E), a cell (C … X) or an empty one (S) with at most a formula (F … G, or H), a
value (V … W, or U) and a one-run inline string (I, T or P, Z, J). Every letter has one
place in it, so a sequence is in it when its first and last letters may begin and end it and
each pair of neighbours may follow each other (:data:`_FOLLOWS`): checked in bulk, not by
the expression (kept for the tests and the reader)."""
_NEXT = {
    "E": "ER",
    "Q": "ER",
    "R": "SCQ",
    "S": "SCQ",
    "X": "SCQ",
    "C": "HFVUIX",
    "F": "G",
    "G": "VUIX",
    "H": "VUIX",
    "V": "W",
    "W": "IX",
    "U": "IX",
    "I": "TP",
    "T": "Z",
    "P": "Z",
    "Z": "J",
    "J": "X",
}
_FOLLOWS = np.zeros((256, 256), bool)
for _before, _afters in _NEXT.items():
    _FOLLOWS[ord(_before), [ord(a) for a in _afters]] = True
_FIRST, _LAST = (ord("R"), ord("E")), (ord("Q"), ord("E"))
_HOLDS_TEXT = np.zeros(256, bool)
_HOLDS_TEXT[[ord(c) for c in "FVTP"]] = True
_SHORT = {
    b"<row>": b"R",
    b"<row/>": b"E",
    b"</row>": b"Q",
    b"</c>": b"X",
    b"<f>": b"F",
    b"<f/>": b"H",
    b"</f>": b"G",
    b"<v>": b"V",
    b"<v/>": b"U",
    b"</v>": b"W",
    b"<is>": b"I",
    b"</is>": b"J",
    b"<t>": b"T",
    b"</t>": b"Z",
}
_PRESERVE = b'<t xml:space="preserve">'
_PRESERVE_WORDS = np.frombuffer(_PRESERVE, "<u8")
KINDS = ("n", "s", "inlineStr", "str", "e", "b", "d")
"""The cell types read here (Excel's and openpyxl's), by number (a cell without one is a
number, 0); any other sends the tab to the cell-by-cell reader."""
_NUMBER, _SHARED, _INLINE = 0, 1, 2

CHARACTER_REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));")
"""An XML character or entity reference (``&#x41;``, ``&#65;``, ``&amp;``)."""
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _NotPlainError(Exception):
    """Raised inside :func:`plain_rows` where the block is not in the form read here."""


@dataclass(frozen=True)
class PlainCells:
    """The cells of a tab read in bulk: each one's row, column and value, in the order of the
    part, and what is known of them as a whole."""

    row: np.ndarray
    column: np.ndarray
    value: np.ndarray
    finite: bool
    """Whether every float among the values is finite (none is NaN or an infinity)."""
    ordered: bool
    """Whether each cell comes after the one before it (no cell is given twice)."""

    def store(self, rows: dict[int, dict[int, Any]]) -> None:
        """The values into ``rows`` by row and column, as a cell at a time would put them
        (the last of a cell wins)."""
        _store(rows, self.row, self.column, self.value)


def plain_rows(
    parser: Any, data: bytes, begin: int, end: int, markup: list[bytes] | None = None
) -> PlainCells | None:
    """The cells between ``begin`` and ``end`` (the inside of ``<sheetData>``) with their
    values, as ``parser.value`` reads each; None if they are not all in the form read here
    (:mod:`leadbook.workbook.plaincells`).

    ``markup``: where to put, block by block, the only tags of the cells whose attributes
    are not spelled out here — the rows' and the formulas' start tags, in order, with their
    end tags (:data:`_MARKUP`) — having checked that every character between ``begin`` and
    ``end`` is one XML allows (:func:`_check_characters`). An XML parser that reads
    ``data`` with them in place of the inside of ``<sheetData>`` checks that the whole is
    well-formed, with :func:`plain_text` (cells and text are spelled out here)."""
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []
    whole = np.frombuffer(data, dtype=np.uint8)
    pos = begin
    try:
        while pos < end:
            cut = data.find(b"</row>", min(pos + BLOCK, end), end)
            cut = end if cut < 0 else cut + len(b"</row>")
            _read_block(parser, whole[pos:cut], blocks, markup)
            pos = cut
    except (_NotPlainError, WorkbookFileError, ValueError, IndexError, OverflowError):
        return None  # the cell-by-cell reader reads the tab, and names what is wrong
    if not blocks:
        nothing = np.zeros(0, np.int64)
        return PlainCells(nothing, nothing, np.empty(0, object), True, True)
    row = np.concatenate([b[0] for b in blocks])
    column = np.concatenate([b[1] for b in blocks])
    value = np.concatenate([b[2] for b in blocks])
    step = np.diff(row)
    ordered = bool(((step > 0) | ((step == 0) & (np.diff(column) > 0))).all())
    return PlainCells(row, column, value, all(b[3] for b in blocks), ordered)


def _read_block(
    parser: Any, seg: np.ndarray, blocks: list[tuple[Any, ...]], markup: list[bytes] | None
) -> None:
    lt, gt = np.flatnonzero(seg == 60), np.flatnonzero(seg == 62)
    if not len(lt):
        if len(seg):
            raise _NotPlainError
        return
    if len(lt) != len(gt) or lt[0] != 0 or gt[-1] != len(seg) - 1:
        raise _NotPlainError  # text outside the tags, or a '>' inside an attribute
    if (gt < lt).any() or (lt[1:] < gt[:-1]).any():
        raise _NotPlainError
    padded = np.zeros(len(seg) + _WIDTH + 8, np.uint8)
    padded[: len(seg)] = seg
    words = np.ndarray((len(seg) + _WIDTH,), "<u8", padded, 0, (1,))
    """The eight bytes from each byte on, as one number (an unaligned view, no copy)."""
    letters = _tag_letters(seg, words, lt, gt)
    if (
        not _FOLLOWS[letters[:-1], letters[1:]].all()
        or letters[0] not in _FIRST
        or (letters[-1] not in _LAST)
    ):
        raise _NotPlainError  # not rows of cells in the plain form (:data:`_GRAMMAR`)
    texted = np.flatnonzero(lt[1:] > gt[:-1] + 1)  # tags followed by text
    if not _HOLDS_TEXT[letters[texted]].all():
        raise _NotPlainError  # text between tags that hold none (white space, say)
    if markup is not None:
        _check_characters(seg)
        tags = np.flatnonzero(_MARKUP[letters])
        markup.append(_spans(seg, lt[tags], gt[tags] + 1).tobytes())
    opens = (letters == ord("C")) | (letters == ord("S"))
    starts = np.flatnonzero(opens)
    if not len(starts):
        return
    closed = letters[starts] == ord("S")
    row, column, style, kind = _references(words, lt[starts], gt[starts] - closed)
    owner = np.cumsum(opens, dtype=np.int32) - 1
    has_value, value_at, value_end = _inner(letters, owner, lt, gt, ord("V"), len(starts))
    value = has_value & (value_end > value_at), value_at, value_end  # <v></v> holds none
    text = _inner(letters, owner, lt, gt, (ord("T"), ord("P")), len(starts))
    got = np.empty(len(starts), dtype=object)
    keep = np.zeros(len(starts), bool)
    finite = _convert(parser, seg, words, got, keep, kind, style, value, text, row, column)
    blocks.append((row[keep], column[keep], got[keep], finite))


_MARKUP = np.zeros(256, bool)
_MARKUP[[ord(c) for c in "REQFHG"]] = True
"""The tags whose attributes the bulk reader does not spell out (a row's ``spans``, a
formula's ``ref``…), with their end tags: an XML parser checks them (see :func:`plain_rows`)."""
_OUT_OF_ASCII = np.ones(256, bool)
_OUT_OF_ASCII[32:128] = False
_CONTROL = np.zeros(256, bool)
_CONTROL[[b for b in range(32) if b not in (9, 10, 13)]] = True
"""Bytes XML 1.0 allows nowhere: the control characters but tab, line feed and return."""


def _check_characters(seg: np.ndarray) -> None:
    """Raise :class:`_NotPlainError` unless ``seg`` is UTF-8 of characters XML allows
    (no control character but white space, no U+FFFE or U+FFFF): as expat reads it."""
    odd = seg[_OUT_OF_ASCII[seg]] if ((seg - np.uint8(32)) >= 96).any() else seg[:0]
    if _CONTROL[odd].any():
        raise _NotPlainError
    if (odd >= 128).any():
        text = seg.tobytes().decode("utf-8")  # a UnicodeDecodeError is a ValueError: None
        if "\ufffe" in text or "\uffff" in text:
            raise _NotPlainError


_REFERENCE = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)|&#(x?)(\w+);")
"""An ``&`` that begins no reference XML reads without a DTD, or a character reference."""


def plain_text(data: bytes, begin: int, end: int) -> bool:
    """Whether the text of ``data`` between ``begin`` and ``end`` is text XML allows, as far
    as :func:`_check_characters` leaves it: every ``&`` begins a reference to one of XML's
    five entities or to a character XML allows, and no ``]]>`` is there.

    Examples
    --------
    >>> plain_text(b"<v>R&amp;D &#233;</v>", 0, 21), plain_text(b"<v>&#0;</v>", 0, 11)
    (True, False)
    """
    if data.find(b"]", begin, end) >= 0 and data.find(b"]]>", begin, end) >= 0:
        return False
    if data.find(b"&", begin, end) < 0:
        return True
    for match in _REFERENCE.finditer(data, begin, end):
        if match[2] is None:
            return False
        try:
            code = int(match[2], 16 if match[1] else 10)
        except ValueError:
            return False
        if not (
            code in (9, 10, 13)
            or 0x20 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF
        ):
            return False
    return True


def _spans(seg: np.ndarray, at: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The bytes from each ``at`` to its ``end``, one after the other."""
    size = end - at
    offset = np.cumsum(size) - size
    return seg[np.arange(size.sum()) - np.repeat(offset - at, size)]


def _inner(
    letters: np.ndarray, owner: np.ndarray, lt: np.ndarray, gt: np.ndarray, tag: Any, cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether each cell holds a non-empty text in the element ``tag`` (a letter, or
    either of two), and where that text starts and ends."""
    found = np.flatnonzero(np.isin(letters, tag))
    has = np.zeros(cells, bool)
    at, end = np.zeros(cells, np.int64), np.zeros(cells, np.int64)
    at[owner[found]], end[owner[found]] = gt[found] + 1, lt[found + 1]
    has[owner[found]] = True
    return has, at, end


def _tag_letters(seg: np.ndarray, words: np.ndarray, lt: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """One letter a tag (:data:`_GRAMMAR`'s), ``?`` for a tag not in the plain form."""
    length = gt - lt + 1
    code = words[lt] & _LOW_BYTES[np.minimum(length, 8)]
    letters = np.full(len(lt), ord("?"), np.uint8)
    for tag, letter in _SHORT.items():
        letters[code == int.from_bytes(tag.ljust(8, b"\0"), "little")] = ord(letter)
    closed = seg[gt - 1] == ord("/")
    row = (length > 5) & (code & 0xFFFFFFFF == int.from_bytes(b"<row", "little"))
    row &= _SPACE[(code >> 32 & 0xFF).astype(np.uint8)]
    letters[row] = np.where(closed[row], ord("E"), ord("R"))
    formula = (length > 3) & (code & 0xFFFF == int.from_bytes(b"<f", "little"))
    formula &= _SPACE[(code >> 16 & 0xFF).astype(np.uint8)]
    letters[formula] = np.where(closed[formula], ord("H"), ord("F"))
    cell = (length > 7) & (code & 0xFFFFFFFFFFFF == int.from_bytes(b'<c r="', "little"))
    letters[cell] = np.where(closed[cell], ord("S"), ord("C"))
    maybe = np.flatnonzero((length == len(_PRESERVE)) & (code & 0xFFFF == ord("<") | ord("t") << 8))
    if len(maybe):
        spelled = words[lt[maybe][:, None] + np.arange(0, len(_PRESERVE), 8)]
        letters[maybe[(spelled == _PRESERVE_WORDS).all(axis=1)]] = ord("P")
    return letters


def _references(
    words: np.ndarray, at: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each cell start tag's row, column, style and type (``<c r="B7" s="3" t="s">``), its
    ``<`` at ``at`` and its ``>`` or ``/>`` at ``end``. A field stops at the first byte not
    its own, so none runs past its tag."""
    head = _at(words, at + 6, 4)
    upper = (head >= ord("A")) & (head <= ord("Z"))
    if (upper[:, 1] & upper[:, 2] & upper[:, 3]).any() or not upper[:, 0].all():
        raise _NotPlainError
    letters = 1 + upper[:, 1] + (upper[:, 1] & upper[:, 2])
    code = head[:, :3].astype(np.int64) - ord("A") + 1
    column = np.select(
        [letters == 1, letters == 2],
        [code[:, 0], code[:, 0] * 26 + code[:, 1]],
        code[:, 0] * 676 + code[:, 1] * 26 + code[:, 2],
    )
    row, after = _digits(words, at + 6 + letters)
    after = _expect(words, after, b'"')
    style = np.zeros(len(at), np.int64)
    styled = _starts(words, after, b' s="')
    if styled.any():
        number, past = _digits(words, after[styled] + 4)
        style[styled] = number
        after[styled] = _expect(words, past, b'"')
    kind = np.zeros(len(at), np.int64)  # no t="…": a number
    typed = _starts(words, after, b' t="')
    if typed.any():
        window = _at(words, after[typed] + 4, 10)
        alpha = ((window | 32) >= ord("a")) & ((window | 32) <= ord("z"))
        size = np.argmin(alpha, axis=1)  # (no type is ten letters long)
        after[typed] = _expect(words, after[typed] + 4 + size, b'"')
        code = words[after[typed] - 1 - size] & _LOW_BYTES[np.minimum(size, 8)]
        named = np.full(len(size), -1, np.int64)
        for number, name in enumerate(KINDS):
            spelled = int.from_bytes(name[:8].encode().ljust(8, b"\0"), "little")
            named[(size == len(name)) & (code == spelled)] = number
        if (named < 0).any():
            raise _NotPlainError  # another type: the cell-by-cell reader reads it
        kind[typed] = named
    spaced = np.flatnonzero(after != end)
    if len(spaced):  # white space before the tag's end, as the regex allows: nothing else
        if (after[spaced] > end[spaced]).any() or (end[spaced] - after[spaced] > 16).any():
            raise _NotPlainError
        gap = _at(words, after[spaced], 16)
        inside = np.arange(16) < (end[spaced] - after[spaced])[:, None]
        if (inside & ~_SPACE[gap]).any():
            raise _NotPlainError
    return row, column, style, kind


def _at(words: np.ndarray, start: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes from each ``start`` on (rounded up to whole words)."""
    got = words[start[:, None] + np.arange(0, width, 8)] if width > 8 else words[start][:, None]
    return got.view(np.uint8)


def _starts(words: np.ndarray, at: np.ndarray, text: bytes) -> np.ndarray:
    """Whether the bytes at each ``at`` spell ``text`` (at most eight bytes)."""
    mask = (1 << 8 * len(text)) - 1
    return words[at] & mask == int.from_bytes(text, "little")


def _expect(words: np.ndarray, at: np.ndarray, text: bytes) -> np.ndarray:
    if not _starts(words, at, text).all():
        raise _NotPlainError
    return at + len(text)


def _digits(words: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The number written in decimal digits at each ``at`` (one to nine), and where it ends."""
    window = _at(words, at, 10)[:, :10] - np.uint8(ord("0"))
    size = np.argmin(window <= 9, axis=1)  # 0 if none, or all ten, is a digit
    if not size.all():
        raise _NotPlainError
    number = np.zeros(len(at), np.int64)
    for digits in np.unique(size).tolist():
        which = size == digits
        number[which] = window[which, :digits] @ 10 ** np.arange(digits - 1, -1, -1)
    return number, at + size


def _marked(seg: np.ndarray, words: np.ndarray, at: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whether each text from ``at`` to ``end`` holds a point or an exponent (``.eE``)."""
    window = _at(words, at, 24)
    found = (window == ord(".")) | (window == ord("e")) | (window == ord("E"))
    found &= np.arange(24) < (end - at)[:, None]
    marked = found.any(axis=1)
    for i in np.flatnonzero(end - at > 24).tolist():  # a long text (white space, say)
        text = seg[at[i] : end[i]].tobytes()
        marked[i] = b"." in text or b"e" in text or b"E" in text
    return marked


def _texts(seg: np.ndarray, at: np.ndarray, end: np.ndarray) -> list[bytes]:
    """The bytes between each ``at`` and ``end``, split from one buffer (no ``<`` in text)."""
    if not len(at):
        return []
    size = end - at + 1  # each text with the '>' before it, made the separator
    offset = np.cumsum(size) - size
    index = np.arange(size.sum()) - np.repeat(offset, size) + np.repeat(at - 1, size)
    buffer = seg[index]
    buffer[offset] = ord("<")
    return buffer.tobytes().split(b"<")[1:]


def _convert(
    parser: Any,
    seg: np.ndarray,
    words: np.ndarray,
    got: np.ndarray,
    keep: np.ndarray,
    kind: np.ndarray,
    style: np.ndarray,
    value: tuple[np.ndarray, ...],
    text: tuple[np.ndarray, ...],
    row: np.ndarray,
    column: np.ndarray,
) -> bool:
    """Each cell's value into ``got`` (``keep`` where it has one), as ``parser.value``
    reads it: numbers, shared strings and inline strings a group at a time, the rest (dates,
    booleans, error codes, a formula's text) a cell at a time. Whether every float read is
    finite ("1e999" reads as infinity)."""
    has_value, value_at, value_end = value
    has_text, text_at, text_end = text
    finite = True
    dates = np.isin(style, sorted(parser.book.date_styles))
    plain = np.flatnonzero((kind == _NUMBER) & has_value & ~dates)
    if len(plain):
        marked = _marked(seg, words, value_at[plain], value_end[plain])  # floats, as openpyxl reads
        for group, convert in ((plain[~marked], int), (plain[marked], float)):
            numbers = np.empty(len(group), object)
            texts = _texts(seg, value_at[group], value_end[group])
            numbers[:] = converted = list(map(convert, texts))
            got[group] = numbers
            if convert is float:
                finite = bool(np.isfinite(np.array(converted, dtype=float)).all())
        keep[plain] = True
    shared = np.flatnonzero((kind == _SHARED) & has_value)
    if len(shared):
        texts = _texts(seg, value_at[shared], value_end[shared])
        if any(b"&" in t or b"\r" in t for t in texts):
            raise _NotPlainError
        table = parser.book.shared_strings
        strings = np.empty(len(texts), object)
        strings[:] = [table[i] for i in map(int, texts)]
        got[shared], keep[shared] = strings, True
    inline = np.flatnonzero((kind == _INLINE) & has_text)
    if len(inline):
        got[inline] = _decoded(_texts(seg, text_at[inline], text_end[inline]))
        keep[inline] = True
    rest = np.flatnonzero((kind != _INLINE) & has_value & ~keep)
    if not len(rest):
        return finite
    from pandas import factorize  # (loaded with the reader: its tables are pandas frames)

    codes, distinct = factorize(_decoded(_texts(seg, value_at[rest], value_end[rest])))
    pair = (kind[rest] * 2**32 + style[rest]) * len(distinct) + codes
    unique, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
    values = np.empty(len(unique), object)  # a column of months repeats a few values
    for u in np.argsort(first, kind="stable").tolist():  # each once, in the order of the part
        i = int(first[u])
        at = int(rest[i])
        parser.row, parser.column = int(row[at]), int(column[at])  # named if it fails
        values[u] = parser.value(KINDS[kind[at]], int(style[at]), distinct[codes[i]])
    got[rest] = values[inverse]
    keep[rest] = np.array([v is not None for v in values], bool)[inverse]
    return finite


def _decoded(texts: list[bytes]) -> np.ndarray:
    """Texts as XML reads them: line ends made ``\\n``, character references resolved."""
    if not texts:
        return np.empty(0, object)
    joined = b"<".join(texts)
    if b"\r" in joined:
        joined = joined.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    decoded = joined.decode().split("<")
    if b"&" in joined:
        decoded = [CHARACTER_REFERENCE.sub(referenced, t) if "&" in t else t for t in decoded]
    out = np.empty(len(decoded), object)
    out[:] = decoded
    return out


def _store(
    rows: dict[int, dict[int, Any]], row: np.ndarray, column: np.ndarray, got: np.ndarray
) -> None:
    """The values into ``rows`` as a cell at a time would put them (the last of a cell wins)."""
    if not len(row):
        return
    bounds = [0, *(np.flatnonzero(np.diff(row)) + 1).tolist(), len(row)]
    numbers, columns, values = row.tolist(), column.tolist(), got.tolist()
    for a, b in itertools.pairwise(bounds):
        line = rows.get(numbers[a])
        if line is None:
            rows[numbers[a]] = dict(zip(columns[a:b], values[a:b], strict=True))
        else:
            line.update(zip(columns[a:b], values[a:b], strict=True))


def referenced(match: re.Match[str]) -> str:
    """The character a reference stands for, as XML reads it (HTML maps some otherwise)."""
    hexadecimal, decimal, entity = match.groups()
    if entity:
        return _ENTITIES[entity]
    return chr(int(hexadecimal, 16) if hexadecimal else int(decimal))
