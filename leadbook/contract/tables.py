"""Parse a contract table from raw cells into typed columns, collecting every problem.

The reader hands over a table as a DataFrame of raw cell values keyed by the contract's
column keys, with a :class:`Locator` that turns (row, column) into an Excel cell address.
Each cell is parsed by its column's kind; every failure becomes a located
:class:`~leadbook.errors.Problem` and parsing carries on, so a user fixes all in one pass.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter

from leadbook.contract.spec import NUMERIC_KINDS, Column, Kind, Role, TableSpec
from leadbook.errors import Problem, Severity

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
MAX_MAGNITUDE = 1e12
"""The largest number (in size) an input cell may hold: a trillion dollars, leads or hours
is no portfolio's, and past it the solver's tolerances and the money formats break."""
_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0"}


class Locator(Protocol):
    """Names a table cell in Excel terms."""

    def cell(self, row: int, key: str) -> str:
        """The address of data row ``row`` (0-based) in column ``key``."""
        ...

    def header(self) -> str:
        """The address of the table's header row."""
        ...


@dataclass(frozen=True)
class SheetLocator:
    """Cells of a table whose header row is at ``header_row`` with the given column letters.

    Examples
    --------
    >>> from leadbook.contract import SOURCES_TABLE
    >>> loc = SheetLocator.from_spec(SOURCES_TABLE)
    >>> loc.cell(0, "source"), loc.cell(2, "cpl")
    ('Sources!A13', 'Sources!J15')
    """

    sheet: str
    header_row: int
    letters: dict[str, str]

    @classmethod
    def from_spec(cls, spec: TableSpec) -> SheetLocator:
        """Where the table sits in the template, per the contract's anchor."""
        letter, row = coordinate_from_string(spec.anchor)
        first = column_index_from_string(letter)
        letters = {c.key: get_column_letter(first + i) for i, c in enumerate(spec.columns)}
        return cls(spec.sheet, row, letters)

    def cell(self, row: int, key: str) -> str:
        return f"{self.sheet}!{self.letters.get(key, '?')}{self.header_row + 1 + row}"

    def header(self) -> str:
        return f"{self.sheet}!{self.header_row}:{self.header_row}"


@dataclass(frozen=True)
class RowLocator:
    """Cells of a table that did not come from a sheet (a range passed to a cell function)."""

    table: TableSpec

    def cell(self, row: int, key: str) -> str:
        header = self.table.column(key).header if key in self.table.keys else key
        return f"{self.table.name} row {row + 1}, {header}"

    def header(self) -> str:
        return f"{self.table.name} headers"


def parse_table(
    raw: pd.DataFrame,
    spec: TableSpec,
    locator: Locator,
    roles: frozenset[Role] = frozenset({Role.INPUT}),
    *,
    text_numbers: bool = False,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed columns of ``raw`` for the spec's columns of the given roles, and the problems.

    Fully blank rows are dropped (their positions still count for cell addresses, kept in
    the ``at_row`` column). Missing required columns are reported once, at the header row.
    ``text_numbers`` warns at each number typed as text (a sheet's formulas skip it; a CSV
    file's numbers are all text).

    Examples
    --------
    >>> from leadbook.contract import HISTORY_TABLE
    >>> raw = pd.DataFrame({"month": ["2026-01-01"], "source": ["Organic"], "spend": [-5],
    ...                     "leads": ["abc"], "customers": [3], "revenue": [900]})
    >>> frame, problems = parse_table(raw, HISTORY_TABLE, SheetLocator.from_spec(HISTORY_TABLE))
    >>> for p in problems: print(p)
    History!C4: Spend must be ≥ 0, got -5
    History!D4: Leads must be a whole number, got 'abc'
    """
    columns = [c for c in spec.columns if c.role in roles]
    problems: list[Problem] = []
    missing = [c for c in columns if c.key not in raw.columns and c.required]
    if missing:
        names = ", ".join(f"'{c.header}'" for c in missing)
        problems.append(
            Problem(
                locator.header(),
                f"table {spec.name} has no column {names} "
                f"(its columns should be: {', '.join(spec.headers)})",
            )
        )
    present = [c for c in columns if c.key in raw.columns]
    if present:
        keep = ~np.logical_and.reduce([_blank_cells(raw[c.key]) for c in present])
    else:
        keep = np.zeros(len(raw), dtype=bool)
    raw = raw.loc[keep]
    out: dict[str, Any] = {"at_row": list(raw.index)}
    rows = raw.index.to_numpy()

    def report(i: int, col: Column, value: object, parsed: object, message: str | None) -> None:
        if message:
            problems.append(Problem(locator.cell(int(rows[i]), col.key), message))
        elif text_numbers and isinstance(value, str) and _number_as_text(col, value, parsed):
            warning = _typed_as_text(col, value, parsed)
            problems.append(Problem(locator.cell(int(rows[i]), col.key), warning, Severity.WARNING))

    for col in present:
        # A typed column (texts, dates) is parsed a distinct value at a time; an object
        # column may mix True, 1 and 1.0, which factorising would take for one value.
        if col.kind not in NUMERIC_KINDS and raw[col.key].dtype != object:
            out[col.key] = _parse_distinct(col, raw[col.key], report)
            continue
        column = raw[col.key].tolist()
        if col.kind in NUMERIC_KINDS:
            # Numbers that pass every check of their column are known at once
            # (_plain_numbers); only the other cells are parsed one by one.
            plain = np.array(_plain_numbers(col, column), dtype=bool)
            values: Any = np.full(len(column), math.nan)
            if plain.any():
                values[plain] = np.array(column, dtype=object)[plain].astype(float)
            if not col.required:  # an empty cell of an optional column: NaN, nothing to say
                plain |= np.fromiter((v is None for v in column), bool, len(column))
            others = np.flatnonzero(~plain).tolist()
        else:
            values, others = [None] * len(column), range(len(column))
        seen: dict[tuple[type, object], tuple[Any, str | None]] = {}
        for i in others:
            value = column[i]
            kind = type(value)
            number = kind is float or kind is int  # mostly distinct: not kept
            if not number and (hit := seen.get((kind, value))) is not None:
                parsed, message = hit
            else:
                parsed, message = parse_cell(col, value)
                if not number and len(seen) < _PARSED_KEPT:
                    seen[(kind, value)] = parsed, message
            report(i, col, value, parsed, message)
            if col.kind in NUMERIC_KINDS:
                values[i] = parsed if isinstance(parsed, float | int) else math.nan
            else:
                values[i] = parsed
        out[col.key] = values
    for col in columns:
        if col.key not in raw.columns:
            out[col.key] = [None] * len(raw)
    frame = pd.DataFrame(out, index=range(len(raw)))
    for col in columns:
        if col.kind in NUMERIC_KINDS:
            frame[col.key] = pd.to_numeric(frame[col.key], errors="coerce").astype(float)
    return frame, problems


def _parse_distinct(col: Column, column: pd.Series, report: Callable[..., None]) -> list[Any]:
    """A column of one type (texts, dates; not numbers) parsed a distinct value at a time: a
    column repeats its texts and months (History: each source, each month, many times). Each
    cell whose value has a problem is reported, in the column's order."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    distinct = uniques.tolist()  # Python's own values, as a cell gives them (not numpy's)
    if (codes < 0).any():  # a blank cell: parsed as the column holds it (None, NaN or NaT)
        first = int(np.argmax(codes < 0))
        distinct += column.iloc[first : first + 1].tolist()
    results = [parse_cell(col, value) for value in distinct]
    parsed = np.empty(len(results), dtype=object)
    parsed[:] = [value for value, _ in results]
    told = np.array(
        [
            bool(message) or _number_as_text(col, value, result)
            for value, (result, message) in zip(distinct, results, strict=True)
        ],
        dtype=bool,
    )
    for i in np.flatnonzero(told[codes]).tolist():  # codes of -1: the blank, listed last
        code = codes[i]
        report(i, col, distinct[code], *results[code])
    return parsed[codes].tolist()


_PARSED_KEPT = 100_000
"""The most distinct cell values of one column whose parse :func:`parse_table` keeps."""


def _number_as_text(col: Column, value: object, parsed: object) -> bool:
    return col.kind in NUMERIC_KINDS and isinstance(value, str) and parsed is not None


def _typed_as_text(col: Column, value: str, parsed: float) -> str:
    """The warning for a number typed as text: leadbook reads it, Excel's sums skip it.

    Examples
    --------
    >>> from leadbook.contract import SOURCES_TABLE
    >>> print(_typed_as_text(SOURCES_TABLE.column("conversion"), "16.8%", 0.168))
    Conversion is typed as text ('16.8%'): leadbook reads 0.168, but Excel's formulas
    skip text — type it as a number
    """
    return (
        f"{col.header} is typed as text ({value!r}): leadbook reads {parsed:g}, but Excel's "
        "formulas skip text — type it as a number"
    )


@dataclass(frozen=True)
class NotFinite:
    """A cell holding NaN or an infinity (another program wrote it; Excel cannot), kept apart
    from a blank cell so that it is reported at its cell instead of read as empty.

    Examples
    --------
    >>> str(NotFinite(float("-inf")))
    '-infinity'
    """

    value: float

    def __str__(self) -> str:
        if math.isnan(self.value):
            return "NaN"
        return "infinity" if self.value > 0 else "-infinity"

    __repr__ = __str__  # messages show the received value with !r


def cell_value(value: object) -> object:
    """A raw cell value as tables carry it: NaN and infinities as :class:`NotFinite`."""
    if isinstance(value, float) and not math.isfinite(value):
        return NotFinite(value)
    return value


def _blank_cells(column: pd.Series) -> np.ndarray:
    """Which cells of a column are blank, as :func:`_is_blank` tells, each distinct value
    looked at once (a column of numbers or dates is blank where it is missing)."""
    if column.dtype.kind in "iufbMm":
        return column.isna().to_numpy()
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    spaces = [isinstance(v, str) and not v.strip() for v in uniques]
    return np.array([*spaces, True], dtype=bool)[codes]  # a code of -1: missing, blank


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_cell(col: Column, value: object) -> tuple[Any, str | None]:
    """Parse one cell by its column's kind: ``(value, None)`` or ``(None, problem)``.

    Examples
    --------
    >>> from leadbook.contract import SOURCES_TABLE
    >>> parse_cell(SOURCES_TABLE.column("cpl"), -3)
    (None, 'CPL must be > 0, got -3')
    >>> parse_cell(SOURCES_TABLE.column("conversion"), "16.8%")
    (0.168, None)
    >>> print(parse_cell(SOURCES_TABLE.column("conversion"), 16.8)[1])
    Conversion must be from 0% to 100%, got 16.8 — did you mean 16.8 %? Type 16.8% or 0.168
    """
    if _is_blank(value):
        return None, (f"{col.header} is empty" if col.required else None)
    if isinstance(value, NotFinite):
        return None, f"{col.header} must be a finite number, got {value}"
    try:
        parsed = _PARSERS[col.kind](col, value)
    except ValueError as exc:
        return None, f"{col.header} {exc}"
    message = _out_of_bounds(col, parsed, value)
    return (None, message) if message else (parsed, None)


def _plain_numbers(col: Column, values: list[Any]) -> list[bool]:
    """Which of a numeric column's cells hold a number (int or float) that passes every check
    :func:`parse_cell` makes — finite, in size, whole or a fraction as the kind needs, within
    the column's bounds — and so parses to ``float(value)`` with no message; :func:`parse_cell`
    gives the others theirs. One pass over the column in numpy instead of one call a cell.

    Examples
    --------
    >>> from leadbook.contract import HISTORY_TABLE
    >>> _plain_numbers(HISTORY_TABLE.column("leads"), [3, 2.5, -1, "4", None, 1e13, True])
    [True, False, False, False, False, False, False]
    """
    if set(map(type, values)) <= {float, int, type(None)}:  # the common column: numbers alone
        numbers = values  # (None read as NaN: not a number, as below)
    else:
        numbers = [v if type(v) is float or type(v) is int else math.nan for v in values]
    try:
        x = np.array(numbers, dtype=float)
    except OverflowError:  # an int beyond any float: parse_cell says so
        return [False] * len(values)
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.isfinite(x) & (np.abs(x) <= MAX_MAGNITUDE)
        if col.kind is Kind.INTEGER:
            ok &= x == np.round(x)
        if col.kind is Kind.PERCENT and col.hi == 1:
            ok &= ~((x > 1) & (x <= 100))  # 16.8 meant as 16.8 %: parse_cell asks
        if col.lo is not None:
            ok &= (x > col.lo) if col.lo_open else (x >= col.lo)
        if col.hi is not None:
            ok &= x <= col.hi
    return ok.tolist()


def _text(col: Column, value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?%?")


def number_text(text: str) -> str:
    """A number typed as text without its $, spaces and thousands separators; a comma that
    separates no thousands (a decimal comma: '1,5') is an error, never read as 15.

    Examples
    --------
    >>> number_text(" $1,250.50 "), number_text("16.8%")
    ('1250.50', '16.8%')
    >>> number_text("1,5")
    Traceback (most recent call last):
    ...
    ValueError: has a comma that separates no thousands, got '1,5' — decimals take a point (1.5)
    """
    plain = text.strip().replace("$", "").replace(" ", "")
    if "," in plain and not _GROUPED.fullmatch(plain):
        raise ValueError(
            f"has a comma that separates no thousands, got {text!r} — decimals take a point "
            f"({plain.replace(',', '.')})"
        )
    return plain.replace(",", "")


def _number(col: Column, value: object) -> float:
    if isinstance(value, bool | dt.date | dt.datetime | dt.time):
        raise ValueError(f"must be a number, got {value!r}")
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            number = float(value)
        except OverflowError:  # a whole number of hundreds of digits, from another program
            raise ValueError(
                f"must be at most {MAX_MAGNITUDE:,.0f} in size, got a number of "
                f"{int(value).bit_length() * 0.30103:,.0f} digits"
            ) from None
    else:
        text = number_text(str(value))
        percent = text.endswith("%")
        try:
            number = float(text.rstrip("%"))
        except ValueError:
            kind = "a whole number" if col.kind is Kind.INTEGER else "a number"
            raise ValueError(f"must be {kind}, got {value!r}") from None
        if percent:
            number /= 100
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {value!r}")
    if abs(number) > MAX_MAGNITUDE:
        raise ValueError(f"must be at most {MAX_MAGNITUDE:,.0f} in size, got {value!r}")
    return number


def _integer(col: Column, value: object) -> float:
    number = _number(col, value)
    if number != round(number):
        raise ValueError(f"must be a whole number, got {value!r}")
    return number


def _percent(col: Column, value: object) -> float:
    number = _number(col, value)
    if col.hi == 1 and 1 < number <= 100 and not isinstance(value, str):
        raise ValueError(
            f"must be from 0% to 100%, got {value!r} — did you mean {number:g} %? "
            f"Type {number:g}% or {number / 100:g}"
        )
    return number


def _choice(col: Column, value: object) -> Any:
    assert col.choices is not None
    try:
        return col.choices.parse(value)
    except ValueError:
        raise ValueError(f"must be one of: {col.choices.choices()}; got {value!r}") from None


def _flag(col: Column, value: object) -> bool:
    text = str(value).strip().lower()
    if text in _TRUE or value is True:
        return True
    if text in _FALSE or value is False:
        return False
    raise ValueError(f"must be yes or no, got {value!r}")


EARLIEST = pd.Timestamp(1990, 1, 1)
YEARS_AHEAD = 5
"""Dates in input tables fall from :data:`EARLIEST` to this many years after today: outside,
they are typing slips (1900 is Excel's serial 1, 9999 its last day) that would stretch the
forecasts' month axis over centuries."""


def _month(col: Column, value: object) -> pd.Timestamp:
    return _month_or_date(value).to_period("M").to_timestamp()


def _month_or_date(value: object) -> pd.Timestamp:
    if isinstance(value, bool):
        raise ValueError(f"must be a date, got {value!r}")
    if isinstance(value, int | float) and 1 <= value < 2_958_466:  # an Excel serial date
        stamp = pd.Timestamp(EXCEL_EPOCH + dt.timedelta(days=float(value)))
    else:
        try:
            stamp = pd.Timestamp(value)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            raise ValueError(f"must be a date, got {value!r}") from None
    if pd.isna(stamp):
        raise ValueError(f"must be a date, got {value!r}")
    if stamp.tzinfo is not None:  # text with a zone ('2026-01-01T00:00Z'): the date as written
        stamp = stamp.tz_localize(None)
    latest = _latest(dt.date.today())
    if not EARLIEST <= stamp <= latest:
        raise ValueError(
            f"must be a date from {EARLIEST:%b %Y} to {latest:%b %Y}, got {stamp:%Y-%m-%d}"
        )
    return stamp


@functools.lru_cache(maxsize=2)
def _latest(today: dt.date) -> pd.Timestamp:
    """The last date an input table may hold, :data:`YEARS_AHEAD` years after ``today``."""
    return pd.Timestamp(today) + pd.DateOffset(years=YEARS_AHEAD)


def _date(col: Column, value: object) -> pd.Timestamp:
    return _month_or_date(value).normalize()


def _timestamp(col: Column, value: object) -> pd.Timestamp:
    return pd.Timestamp(value)  # type: ignore[arg-type]


_PARSERS = {
    Kind.TEXT: _text,
    Kind.INTEGER: _integer,
    Kind.NUMBER: _number,
    Kind.CURRENCY: _number,
    Kind.PERCENT: _percent,
    Kind.SCORE: _number,
    Kind.CHOICE: _choice,
    Kind.FLAG: _flag,
    Kind.MONTH: _month,
    Kind.TIMESTAMP: _timestamp,
    Kind.DATE: _date,
}


def _out_of_bounds(col: Column, parsed: Any, raw: object) -> str | None:
    if col.kind not in NUMERIC_KINDS:
        return None
    if col.lo is not None:
        if col.lo_open and parsed <= col.lo:
            return f"{col.header} must be > {col.lo:g}, got {_show(raw)}"
        if parsed < col.lo:
            return f"{col.header} must be ≥ {col.lo:g}, got {_show(raw)}"
    if col.hi is not None and parsed > col.hi:
        return f"{col.header} must be ≤ {col.hi:g}, got {_show(raw)}"
    return None


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if not isinstance(value, str) else repr(value)
