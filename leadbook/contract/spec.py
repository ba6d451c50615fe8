"""The contract's vocabulary: kinds and roles of columns, and the specs of a column, an Excel
Table, a named cell, a tab and a months-across view; :func:`file_formula` expands a readable
table formula to the form stored in .xlsx files.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from leadbook.enums import Choice


class Kind(enum.Enum):
    """What a column holds; decides parsing, number format and data validation."""

    TEXT = "text"
    INTEGER = "whole number"
    NUMBER = "number"
    CURRENCY = "currency"
    PERCENT = "percentage"
    SCORE = "score"
    CHOICE = "choice"
    FLAG = "yes/no"
    MONTH = "month"
    TIMESTAMP = "timestamp"
    DATE = "date"


class Role(enum.Enum):
    """Who fills a column: the user (input), an Excel formula, or leadbook (output)."""

    INPUT = "input"
    FORMULA = "formula"
    OUTPUT = "output"


FORMATS: dict[Kind, str] = {
    Kind.TEXT: "@",
    Kind.INTEGER: "#,##0",
    Kind.NUMBER: "#,##0.0",
    Kind.CURRENCY: '"$"#,##0',
    Kind.PERCENT: "0.0%",
    Kind.SCORE: "0.0",
    Kind.CHOICE: "General",
    Kind.FLAG: "General",
    Kind.MONTH: "mmm yyyy",
    Kind.TIMESTAMP: "yyyy-mm-dd hh:mm:ss",
    Kind.DATE: "yyyy-mm-dd",
}


CENTS = '"$"#,##0.00'


NUMERIC_KINDS = frozenset({Kind.INTEGER, Kind.NUMBER, Kind.CURRENCY, Kind.PERCENT, Kind.SCORE})


@dataclass(frozen=True)
class Column:
    """One column of an Excel Table.

    ``lo``/``hi`` bound numeric inputs (``lo_open`` makes the lower bound strict);
    ``formula`` is set for calculated columns, in Excel's readable ``[@Header]`` form.
    """

    key: str
    header: str
    kind: Kind
    role: Role = Role.INPUT
    required: bool = True
    choices: type[Choice] | None = None
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    formula: str | None = None
    number_format: str | None = None
    width: float = 14
    doc: str = ""
    list_name: str | None = None

    @property
    def format(self) -> str:
        return self.number_format or FORMATS[self.kind]

    @property
    def unit(self) -> str:
        return {Kind.CURRENCY: "$", Kind.PERCENT: "%"}.get(self.kind, "")


@dataclass(frozen=True)
class TableSpec:
    """An Excel Table: its name, its sheet, where its header row starts, its columns."""

    name: str
    sheet: str
    anchor: str
    columns: tuple[Column, ...]
    doc: str = ""

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(f"table {self.name} has no column {key!r}")

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def by_role(self, role: Role) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role is role)


@dataclass(frozen=True)
class NamedCell:
    """A single cell with a defined name: a summary figure or a stated input."""

    name: str
    sheet: str
    cell: str
    label: str
    kind: Kind
    role: Role
    formula: str | None = None
    number_format: str | None = None
    doc: str = ""

    @property
    def format(self) -> str:
        return self.number_format or FORMATS[self.kind]


@dataclass(frozen=True)
class SheetSpec:
    """A tab: what it is for, whether users or leadbook write it, and what it holds."""

    name: str
    purpose: str
    role: Role
    tables: tuple[TableSpec, ...] = ()
    cells: tuple[NamedCell, ...] = ()
    coming: str = ""
    tab_color: str = "808080"
    buttons: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class MonthView:
    """A months-across block that is not an Excel Table: a title row, then rows of labels
    with one column per month, headed by the month's first day (a real date, shown
    ``mmm yyyy``) so that formulas can key on it. Its cells are SUMIFS links into a table of
    the tab; the workbook-level name ``name`` covers the block, from ``anchor`` (its title)."""

    name: str
    sheet: str
    anchor: str
    doc: str = ""


def file_formula(table: TableSpec, formula: str) -> str:
    """Expand a readable table formula to the form stored in .xlsx files.

    ``[@Col]`` and ``[@[Col name]]`` become ``Table[[#This Row],[Col]]``; a bare ``[Col]``
    (a whole column of the same table) becomes ``Table[Col]``.

    Examples
    --------
    >>> from leadbook.contract import SCORES_TABLE, SOURCES_TABLE
    >>> file_formula(SOURCES_TABLE, "[@[Monthly leads]]*[@Conversion]")
    '=Sources[[#This Row],[Monthly leads]]*Sources[[#This Row],[Conversion]]'
    >>> file_formula(SCORES_TABLE, "_xlfn.RANK.EQ([@Composite],[Composite],0)")
    '=_xlfn.RANK.EQ(Scores[[#This Row],[Composite]],Scores[Composite],0)'
    """
    out: list[str] = []
    i = 0
    while i < len(formula):
        if formula.startswith("[@[", i):
            end = formula.index("]]", i)
            out.append(f"{table.name}[[#This Row],[{formula[i + 3 : end]}]]")
            i = end + 2
        elif formula.startswith("[@", i):
            end = formula.index("]", i)
            out.append(f"{table.name}[[#This Row],[{formula[i + 2 : end]}]]")
            i = end + 1
        elif formula[i] == "[" and (i == 0 or not _is_name_char(formula[i - 1])):
            end = formula.index("]", i)
            out.append(f"{table.name}[{formula[i + 1 : end]}]")
            i = end + 1
        else:
            out.append(formula[i])
            i += 1
    return "=" + "".join(out)


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_."
