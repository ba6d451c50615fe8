"""The Excel boundary: what arrives from cells and ranges, and what goes back.

Every trap of the boundary is handled here, once, for all three Excel fronts:

- **Shapes.** Office.js (xlwings Lite, xlwings Server) sends every argument as a 2-D
  matrix; the classic add-in sends one cell as a scalar and a row or column as a flat list.
  :func:`matrix` makes any of them 2-D, :func:`scalar` insists on one cell.
- **Typed cells.** Office.js may send a cell as an object (``{"type": "FormattedNumber",
  "basicValue": 45322, ...}`` for a date, ``{"type": "Error", "basicValue": "#DIV/0!"}``):
  :func:`plain_value` keeps the value, and an error as its text. (xlwings Server passes
  leadbook's table arguments through unconverted — see :mod:`udfs.server` — so this is
  the only place they are read.)
- **Empty cells.** Desktop Excel's Office.js sends an empty cell as ``0``; Excel on the web
  sends ``None``; the classic add-in ``None``; some hosts ``""``. Where a blank means
  something (an optional column, an unset budget), ``0`` is therefore read as blank.
- **Dates** arrive as serial numbers (45322 is 2024-01-31): :func:`from_serial`.
- **Tables** arrive with their header row (``Sources[#All]``) or without it (``Sources``):
  :func:`table` maps headers to the contract's column keys, or takes the contract's order.
- **Text numbers** such as ``"16.8%"`` or ``"$1,200"`` parse as the workbook reader parses
  them (:func:`leadbook.contract.tables.parse_cell`): the rule lives in the core, once.
- **Results** go back as 2-D lists with ``None`` for a missing value (an empty cell on
  every front, where NaN would be ``#NUM!`` on one and blank on another): :func:`spill`.
- **Cells a button writes** go through Excel's value APIs, which read text as the user's
  typing: :func:`to_cell` keeps text text and types formulas as a user would.
- **Errors.** :func:`excel_errors` turns a :class:`~leadbook.errors.LeadbookError` into
  xlwings' ``XlwingsError``, whose message Excel shows on the cell (xlwings Server answers
  400 with it, which Excel does not retry). Anything else is logged with its traceback and
  reaches Excel as a one-line "internal error" message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from leadbook.contract import (
    NUMERIC_KINDS,
    SETTINGS_TABLE,
    Column,
    Kind,
    Role,
    TableSpec,
)
from leadbook.contract.tables import EXCEL_EPOCH, parse_cell
from leadbook.enums import Choice
from leadbook.errors import InputError, LeadbookError, Severity
from leadbook.settings import Settings, settings_from_rows
from leadbook.workbook.layout import excel_value

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_DATE_KINDS = (Kind.MONTH, Kind.TIMESTAMP)
_TAKEN_FOR_FORMULA = ("=", "+", "-", "@", "'")
_FILE_PREFIXES = re.compile(r"_xlfn\.(?:_xlws\.)?|_xlpm\.")


# --- errors -------------------------------------------------------------------------


EXCEL_DESCRIPTION_LIMIT = 255
"""The longest description the classic add-in's import keeps (Excel's limit for a UDF's
description); Office.js shows the same text."""


def excel_description(doc: str | None) -> str:
    """A docstring's first paragraph on one line: the description Excel shows for a function
    (xlwings reads ``__doc__``; line breaks would show, and the rest belongs in docs/excel.md).

    >>> excel_description("Recommended spend per source.\\n    Spills.\\n\\n    More detail.")
    'Recommended spend per source. Spills.'
    """
    first = (doc or "").strip().split("\n\n")[0]
    return " ".join(first.split())


def excel_errors(f: F) -> F:
    """Let a LeadbookError reach Excel as its message; log anything else, show one line. The
    wrapper's docstring is the function's Excel description (:func:`excel_description`)."""
    from xlwings import XlwingsError

    @functools.wraps(f)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except LeadbookError as exc:
            raise XlwingsError(str(exc)) from None
        except XlwingsError:
            raise
        except Exception as exc:
            log.exception("leadbook: %s failed", f.__name__)
            raise XlwingsError(
                f"leadbook hit an internal error in {f.__name__} ({type(exc).__name__}); "
                "the log has the details. Please report it."
            ) from None

    call.__doc__ = excel_description(f.__doc__)
    if len(call.__doc__) > EXCEL_DESCRIPTION_LIMIT:
        raise ValueError(
            f"{f.__name__}'s description is {len(call.__doc__)} characters; Excel keeps "
            f"{EXCEL_DESCRIPTION_LIMIT}: shorten its docstring's first paragraph"
        )
    return call  # type: ignore[return-value]


class ArgumentError(LeadbookError, ValueError):
    """A cell function's argument is wrong; the message names the argument and the fix."""


# --- shapes and blanks ----------------------------------------------------------------


MAX_CELLS = 1_000_000
"""The most cells a cell function takes in one call, after blank rows and columns at the end
of each range are dropped. A whole column (``Data!A:A``) is 1,048,576 cells: Excel on the
web sends its empty cells as None, which are dropped; desktop Excel sends them as 0, which
cannot be told from data and would have leadbook compute on a million zeros."""


def at_edge(function: str, args: Sequence[Any], names: Sequence[str] = ()) -> tuple[Any, ...]:
    """A server call's arguments as leadbook reads them: each range without the blank rows
    and columns after its data (a whole column shrinks to its used part), and no more than
    :data:`MAX_CELLS` cells in all.

    >>> at_edge("LB_FORECAST", [[[1], [2], [None], [None]], 12])
    ([[1], [2], [None]], 12)
    >>> at_edge("LB_FORECAST", [[[0]] * 1_048_576], ["values"])
    Traceback (most recent call last):
    ...
    udfs.convert.ArgumentError: LB.FORECAST: its ranges hold 1,048,576 cells (values: ...
    """
    trimmed = tuple(_used(a) for a in args)
    sizes = {
        i: len(a) * max(map(len, a))
        for i, a in enumerate(trimmed)
        if isinstance(a, list) and a and isinstance(a[0], list)
    }
    if sum(sizes.values()) > MAX_CELLS:
        i = max(sizes, key=sizes.__getitem__)
        name = names[i] if i < len(names) else f"argument {i + 1}"
        raise ArgumentError(
            f"{function.replace('LB_', 'LB.', 1)}: its ranges hold {sum(sizes.values()):,} "
            f"cells ({name}: {_shape(trimmed[i])}), more than the {MAX_CELLS:,} a call takes "
            "in all. Give the ranges of the data, or Table columns (History[Leads]), which "
            "grow with the data (a whole column from desktop Excel arrives with its empty "
            "cells as 0, all of them)."
        )
    return trimmed


def _used(value: Any) -> Any:
    """A 2-D list without the trailing rows and columns of blank cells (None, "") beyond
    the first: one is kept, since a blank cell tells the functions that this host sends
    empty cells as blanks, so its zeros were typed (see :func:`numbers`). Anything else as
    it is.

    >>> _used([[1, None, None], [None, None, None], [None, None, None]])
    [[1, None], [None, None]]
    """
    if not (isinstance(value, list) and value and isinstance(value[0], list)):
        return value

    def blank_row(i: int) -> bool:
        return all(is_blank(plain_value(v)) for v in value[i])

    rows = len(value)
    while rows >= 2 and blank_row(rows - 1) and blank_row(rows - 2):
        rows -= 1
    width = max((len(r) for r in value[:rows]), default=0)

    def blank_column(j: int) -> bool:
        return all(len(r) <= j or is_blank(plain_value(r[j])) for r in value[:rows])

    while width >= 2 and blank_column(width - 1) and blank_column(width - 2):
        width -= 1
    if rows == len(value) and all(len(r) == width for r in value):
        return value
    kept = [r[:width] for r in value[:rows]]
    if rows < len(value) and any(v is None for r in value[rows:] for v in r):
        kept[-1] = [None] * len(kept[-1]) if all(map(is_blank, kept[-1])) else kept[-1]
    return kept


def matrix(value: Any) -> list[list[Any]]:
    """Any argument as a 2-D list of plain values: a scalar is one cell, a flat list a row.

    >>> matrix(5), matrix([1, 2]), matrix([[1], [{"type": "Double", "basicValue": 2}]])
    ([[5]], [[1, 2]], [[1], [2]])
    """
    if isinstance(value, list | tuple):
        if not value:
            return [[]]
        if isinstance(value[0], list | tuple):
            return [[plain_value(v) for v in row] for row in value]
        return [[plain_value(v) for v in value]]
    return [[plain_value(value)]]


def plain_value(value: Any) -> Any:
    """A cell as Office.js may send it (an object with a ``basicValue``), as its value; an
    error cell as its text ("#DIV/0!").

    >>> plain_value({"type": "FormattedNumber", "basicValue": 45322, "numberFormat": "m/d/yyyy"})
    45322
    >>> plain_value({"type": "Error", "errorType": "Div0", "basicValue": "#DIV/0!"}), plain_value(3)
    ('#DIV/0!', 3)
    >>> plain_value({"code": "#N/A", "message": "#N/A"})
    '#N/A'

    """
    if isinstance(value, dict):
        if "basicValue" in value:
            return value["basicValue"]
        code = value.get("code")
        if isinstance(code, str) and code.startswith("#"):
            return code  # an error cell as Office.js's CustomFunctions.Error carries it
    return value


def is_blank(value: Any) -> bool:
    """None, an empty or all-space string, or NaN: what an empty cell arrives as."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def is_empty_cell(value: Any) -> bool:
    """Blank, or the 0 desktop Office.js sends for an empty cell."""
    return is_blank(value) or (type(value) in (int, float) and value == 0)


def scalar(value: Any, name: str) -> Any:
    """The single value of a one-cell argument; None when it is blank.

    >>> scalar([[7]], "budget"), scalar(None, "budget")
    (7, None)
    """
    cells = matrix(value)
    if len(cells) != 1 or len(cells[0]) != 1:
        raise ArgumentError(f"{name} must be one cell, got a range of {_shape(cells)}")
    return None if is_blank(cells[0][0]) else cells[0][0]


def _shape(cells: list[list[Any]]) -> str:
    return f"{len(cells):,} row(s) × {len(cells[0]) if cells else 0:,} column(s)"


def number(
    value: Any,
    name: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    whole: bool = False,
    zero_is_blank: bool = False,
) -> float | None:
    """A one-cell number argument (text such as "16.8%" or "$1,200" allowed); None if blank.

    ``zero_is_blank`` is for optional arguments whose blank means "unknown": desktop
    Office.js sends an empty cell as 0, so there a 0 counts as blank.

    >>> number("16.8%", "conversion"), number([[3]], "months", whole=True)
    (0.168, 3.0)
    >>> number(-1, "months", lo=0)
    Traceback (most recent call last):
    ...
    udfs.convert.ArgumentError: months must be ≥ 0, got -1
    """
    raw = scalar(value, name)
    if raw is None or (zero_is_blank and is_empty_cell(raw)):
        return None
    kind = Kind.INTEGER if whole else Kind.NUMBER
    parsed, message = parse_cell(Column(name, name, kind, lo=lo, hi=hi), raw)
    if message:
        raise ArgumentError(message)
    return float(parsed)


Trailing = Literal["drop", "refuse", "keep"]


def numbers(value: Any, name: str, *, trailing: Trailing = "drop") -> list[float]:
    """A range of numbers (a row, a column or a block, read row by row) as floats; a blank
    cell inside is NaN, which the core reports. Blank cells after the last value are dropped,
    so a range longer than the data is fine.

    Desktop Excel sends those empty cells as 0 (Excel on the web as None), so zeros after the
    last non-zero value may be empty cells. ``trailing`` says what they are:

    - ``"drop"``: dropped, for arguments whose answer they cannot change (cash flows for a
      payback or an NPV; leads for the months of a hiring plan after the last month with
      leads);
    - ``"refuse"``: an error saying so, where they would be read as data (a forecast fits
      them) — unless the range holds a None, which only a host that sends empty cells as
      None does: then the zeros were typed;
    - ``"keep"``: kept.

    >>> numbers([[100], ["$40"], [None]], "cash_flows"), numbers([[-5], [5], [0], [0]], "flows")
    ([100.0, 40.0], [-5.0, 5.0])
    >>> numbers([[1, "x"]], "values")
    Traceback (most recent call last):
    ...
    udfs.convert.ArgumentError: values, value 2: values must be a number, got 'x'
    """
    cells = [v for row in matrix(value) for v in row]
    while cells and is_blank(cells[-1]):
        cells.pop()
    zeros = _trailing_zeros(cells)
    if zeros and trailing == "drop":
        del cells[-zeros:]
    elif zeros and trailing == "refuse" and not _sent_none(value):
        raise ArgumentError(_zeros_message(name, len(cells), zeros))
    return [_number_at(raw, name, i) for i, raw in enumerate(cells)]


def _trailing_zeros(cells: Sequence[Any]) -> int:
    count = 0
    for raw in reversed(cells):
        if not (type(raw) in (int, float) and raw == 0):
            break
        count += 1
    return count


def _sent_none(value: Any) -> bool:
    """Whether the host sent an empty cell as None (Excel on the web, the classic add-in)."""
    return any(v is None for row in matrix(value) for v in row)


def _zeros_message(name: str, total: int, zeros: int) -> str:
    where = f"after value {total - zeros}" if zeros < total else "every value is 0"
    return (
        f"{name} ends with {zeros:,} cell(s) of 0 ({where}). Desktop Excel passes empty cells "
        "as 0, so leadbook cannot tell them from months of 0: select only the cells with "
        "data, or a Table column (History[Leads]), which grows with the data. If these "
        "months really were 0, there is nothing to forecast: the series has stopped."
    )


def _number_at(raw: Any, name: str, i: int) -> float:
    if is_blank(raw):
        return math.nan
    parsed, message = parse_cell(Column(name, name, Kind.NUMBER), raw)
    if message:
        raise ArgumentError(f"{name}, value {i + 1}: {message}")
    return float(parsed)


def paired(a: list[Any], b: list[Any]) -> tuple[list[Any], list[Any]]:
    """Two parallel lists of cells, the longer one's trailing blank cells dropped to the
    other's length (the server trims each range to its data on its own, so a column of
    values may arrive shorter than its column of headers).

    >>> paired(["Source", "Pages", None], ["A", 3])
    (['Source', 'Pages'], ['A', 3])
    """
    a, b = list(a), list(b)
    while len(a) > len(b) and is_blank(a[-1]):
        a.pop()
    while len(b) > len(a) and is_blank(b[-1]):
        b.pop()
    return a, b


def outcome_pairs(predicted: Any, actual: Any) -> tuple[list[float], list[float]]:
    """Predictions and outcomes, one pair per lead, from two ranges of the same length.

    Rows blank in both after the last lead are dropped; so are rows that are 0 in both
    where that can only be an empty cell sent as 0 by desktop Excel: the predictions are
    probabilities (a model gives no exact 0) or the outcomes are TRUE/FALSE. Otherwise such
    rows are ambiguous and reported. TRUE/FALSE outcomes count as 1/0.

    >>> outcome_pairs([[0.9], [0.2], [0], [0]], [[1], [0], [0], [0]])
    ([0.9, 0.2], [1.0, 0.0])
    >>> outcome_pairs([[1], [0], [None]], [[True], [False], [None]])
    ([1.0, 0.0], [1.0, 0.0])
    """
    p, a = paired(
        [v for row in matrix(predicted) for v in row], [v for row in matrix(actual) for v in row]
    )
    if len(p) == len(a):
        while p and is_blank(p[-1]) and is_blank(a[-1]):
            p.pop(), a.pop()
        both_zero = 0
        for x, y in zip(reversed(p), reversed(a), strict=True):
            if not (_is_zero(x) and _is_zero(y)):
                break
            both_zero += 1
        if both_zero and not (_sent_none(predicted) or _sent_none(actual)):
            probabilities = any(_is_number(x) and 0 < x < 1 for x in p)
            if not (probabilities or any(isinstance(y, bool) for y in a)):
                raise ArgumentError(
                    f"predicted and actual end with {both_zero:,} row(s) of 0 in both. Desktop "
                    "Excel passes empty cells as 0, so leadbook cannot tell them from leads "
                    "predicted and found 0: select only the rows with leads, or give the "
                    "outcomes as TRUE/FALSE (then a 0 is an empty cell)."
                )
            del p[-both_zero:], a[-both_zero:]
    a = [float(y) if isinstance(y, bool) else y for y in a]
    return (
        [_number_at(x, "predicted", i) for i, x in enumerate(p)],
        [_number_at(y, "actual", i) for i, y in enumerate(a)],
    )


def _is_number(x: Any) -> bool:
    return type(x) in (int, float)


def _is_zero(x: Any) -> bool:
    return _is_number(x) and x == 0


def text(value: Any, name: str) -> str | None:
    """A one-cell text argument, stripped; None when blank (or the 0 desktop Excel sends for
    an empty cell: no text argument of leadbook's takes a bare 0)."""
    raw = scalar(value, name)
    return None if is_empty_cell(raw) else str(raw).strip()


def core_input(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``f(*args, **kwargs)`` for core functions whose documented input error is a
    ``ValueError`` (:mod:`leadbook.leads.money`, :func:`leadbook.leads.metrics.classifier_metrics`):
    the error reaches the cell as its message."""
    try:
        return f(*args, **kwargs)
    except LeadbookError:
        raise
    except ValueError as exc:
        raise ArgumentError(str(exc)) from None


def unknown(value: float | None) -> float:
    """A blank optional number as NaN, which the core reads as "unknown"."""
    return float("nan") if value is None else value


def required(value: float | str | None, name: str) -> Any:
    """``value``, or an input error saying the argument is missing."""
    if value is None:
        raise ArgumentError(f"{name} is required; the cell is empty")
    return value


def required_number(value: Any, name: str, **bounds: Any) -> float:
    """A one-cell number argument that must be given; an empty cell counts as 0, as in
    Excel's own arithmetic (``=A1*2`` is 0 when A1 is empty).

    Desktop Excel sends an empty cell as 0 and Excel on the web as None, so reading None as
    0 is what makes both give one answer; where 0 is out of bounds, both get the same message.

    >>> required_number(None, "months", lo=0), required_number([[0]], "months", lo=0)
    (0.0, 0.0)
    >>> required_number(None, "health", lo=1, hi=5)
    Traceback (most recent call last):
    ...
    udfs.convert.ArgumentError: health must be ≥ 1, got 0 (an empty cell counts as 0)
    """
    raw = scalar(value, name)
    try:
        return required(number(0 if raw is None else raw, name, **bounds), name)
    except ArgumentError as exc:
        if is_empty_cell(raw):
            raise ArgumentError(f"{exc} (an empty cell counts as 0)") from None
        raise


def choice(value: Any, kind: type[Choice], name: str) -> Any:
    """A one-cell choice argument (case and spacing ignored), as its enum member."""
    raw = scalar(value, name)
    raw = required(None if is_empty_cell(raw) else raw, name)
    try:
        return kind.parse(raw)
    except ValueError:
        raise ArgumentError(f"{name} must be one of: {kind.choices()}; got {raw!r}") from None


def flag(value: Any, name: str) -> bool:
    """A one-cell yes/no argument (TRUE/FALSE, yes/no, 1/0); blank is no."""
    raw = scalar(value, name)
    if raw is None or raw is False or raw == 0:
        return False
    parsed, message = parse_cell(Column(name, name, Kind.FLAG), raw)
    if message:
        raise ArgumentError(message)
    return bool(parsed)


def from_serial(value: float) -> pd.Timestamp:
    """An Excel serial date as a timestamp (Excel's 1900 date system).

    >>> from_serial(45322)
    Timestamp('2024-01-31 00:00:00')
    """
    return pd.Timestamp(EXCEL_EPOCH + dt.timedelta(days=float(value)))


# --- tables ---------------------------------------------------------------------------


def table(value: Any, spec: TableSpec) -> pd.DataFrame:
    """A range holding a contract table, as raw cells keyed by the contract's column keys.

    The range may start with the table's header row (columns found by header text, extra
    columns ignored) or be the data rows alone in the template's column order (all the
    columns, or only the input columns). Rows of empty cells are dropped. Empty cells
    become None — including the 0 that desktop Office.js sends for them, except in a
    required number column, where 0 is a value; a serial number in a date column becomes a
    date. The index counts data rows from 0, so problems name "Sources row 3".
    """
    columns, rows = _columns(matrix(value), spec)
    kept = {i: row for i, row in enumerate(rows) if not all(map(is_empty_cell, row))}
    return pd.DataFrame(
        [[_cell(spec.column(k), row[j]) for j, k in columns] for row in kept.values()],
        columns=[k for _, k in columns],
        index=list(kept),
    )


def _columns(
    cells: list[list[Any]], spec: TableSpec
) -> tuple[list[tuple[int, str]], list[list[Any]]]:
    """Which column of ``cells`` holds which contract key, and the data rows."""
    by_header = {_norm(c.header): c.key for c in spec.columns}
    header = [by_header.get(_norm(v)) if isinstance(v, str) else None for v in cells[0]]
    if sum(k is not None for k in header) >= min(2, len(spec.columns)):
        return [(j, k) for j, k in enumerate(header) if k], cells[1:]
    width = len(cells[0])
    inputs = [c.key for c in spec.columns if c.role is Role.INPUT]
    for keys in (spec.keys, inputs):
        if width == len(keys):
            return list(enumerate(keys)), cells
    raise ArgumentError(
        f"cannot tell which column of the {spec.name} range is which: pass the table with its "
        f"header row ({spec.name}[#All]), or its {len(spec.keys)} columns in the template's "
        f"order; got {width} column(s) without the headers "
        f"{', '.join(repr(h) for h in spec.headers[:3])}, …",
    )


def _norm(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


def _cell(col: Column, value: Any) -> Any:
    if is_blank(value):
        return None
    if col.kind in _DATE_KINDS and type(value) in (int, float):
        return None if value == 0 else from_serial(value)
    zero_is_value = col.kind in NUMERIC_KINDS and col.required
    return None if is_empty_cell(value) and not zero_is_value else value


def optional_table(value: Any, spec: TableSpec) -> pd.DataFrame | None:
    """:func:`table`, or None for an omitted argument or a range of empty cells."""
    if value is None or all(is_empty_cell(v) for row in matrix(value) for v in row):
        return None
    return table(value, spec)


def typed(raw: pd.DataFrame, spec: TableSpec, keys: Sequence[str]) -> pd.DataFrame:
    """Only the columns ``keys`` of a raw table, parsed by the contract; every problem raised.

    For cell functions that need a few columns of a table (blended figures): the others
    may be absent or wrong without stopping them.
    """
    from leadbook.contract.tables import RowLocator, parse_table

    sub = dataclasses.replace(spec, columns=tuple(spec.column(k) for k in keys))
    frame, problems = parse_table(raw, sub, RowLocator(spec))
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise InputError(errors)
    if frame.empty:
        raise ArgumentError(f"the {spec.name} range has no rows")
    return frame.drop(columns="at_row")


def settings(value: Any) -> Settings:
    """Settings from a range of the Settings table; an omitted or blank argument is the
    defaults. Accepts the whole table (with or without headers) or two columns, Key and
    Value. Unknown keys and bad values are errors; missing keys keep their defaults. A
    blank (or 0) value of a setting that may be unset (the budget) leaves it unset.
    """
    cells = matrix(value)
    if all(is_empty_cell(v) for row in cells for v in row):
        return Settings()
    if len(cells[0]) == 2:
        has_header = _norm(cells[0][0]) == "key"
        columns, rows = [(0, "key"), (1, "value")], cells[1:] if has_header else cells
    else:
        columns, rows = _columns(cells, SETTINGS_TABLE)
    at = dict((k, j) for j, k in columns)
    if "key" not in at or "value" not in at:
        raise ArgumentError("the Settings range needs its Key and Value columns")
    defaults, found = Settings(), []
    for i, row in enumerate(rows):
        key, raw = row[at["key"]], row[at["value"]]
        if is_empty_cell(key):
            continue
        unset = _optional_setting(defaults, str(key).strip()) and is_empty_cell(raw)
        found.append((key, None if unset or is_blank(raw) else raw, f"Settings row {i + 1}"))
    parsed, problems = settings_from_rows(found)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise InputError(errors)
    return parsed


def _optional_setting(defaults: Settings, key: str) -> bool:
    """Whether a blank is a value of setting ``key`` (its default is "not set")."""
    try:
        return defaults.get(key) is None
    except KeyError:
        return False


# --- results --------------------------------------------------------------------------


def cell_value(value: Any) -> Any:
    """One result cell: enums as their text, NaN and NaT as None (an empty cell).

    >>> from leadbook.enums import Tier
    >>> cell_value(Tier.T1), cell_value(float("nan")), cell_value(2.5), cell_value(True)
    ('Tier 1', None, 2.5, True)
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return excel_value(value)


def spill(frame: pd.DataFrame, spec: TableSpec, keys: Sequence[str]) -> list[list[Any]]:
    """A table to spill: the contract's headers of ``keys``, then one row per frame row."""
    header = [spec.column(k).header for k in keys]
    body = [[cell_value(v) for v in row] for row in frame[list(keys)].itertuples(index=False)]
    return [header, *body]


def with_reason(found: tuple[Any, str], reason: bool) -> Any:
    """A class (``(Tier.T1, "Tier 1: 30 months…")``) as its text, or with its reason as a
    1×2 row to spill."""
    klass, why = found
    return [[cell_value(klass), why]] if reason else cell_value(klass)


def to_cell(value: Any, *, formula: bool = False) -> Any:
    """A cell a button writes, as Excel's value APIs must receive it: a formula as typed
    (:func:`as_typed`); text that Excel would take for a formula, or whose leading
    apostrophe it would eat, behind an apostrophe that keeps it text.

    >>> to_cell("=_xlfn.RANK.EQ(A1,A:A)", formula=True), to_cell("-5% on last week"), to_cell(3)
    ('=RANK.EQ(A1,A:A)', "'-5% on last week", 3)
    """
    if formula:
        return as_typed(value)
    if isinstance(value, str) and value.startswith(_TAKEN_FOR_FORMULA):
        return "'" + value
    return value


def as_typed(formula: str) -> str:
    """A formula of the file format as one types it: ``_xlfn.``, ``_xlws.`` and ``_xlpm.``
    (future-function and LET-name prefixes, which Excel adds back when it saves) removed.

    >>> as_typed("=_xlfn.RANK.EQ(A1,A:A,0)+_xlfn._xlws.SORT(B1:B3)")
    '=RANK.EQ(A1,A:A,0)+SORT(B1:B3)'
    """
    return _FILE_PREFIXES.sub("", formula)
