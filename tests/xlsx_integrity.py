"""The Excel-side structural oracle: what Excel would repair in an .xlsx, read from its raw parts.

LibreOffice forgives a table whose column names differ from its header cells, and resolves
structured references by the cells; Excel keys them by the table part's ``tableColumn``
names and offers to repair the file, dropping the tables. So this module reads the package
itself (zipfile and ElementTree, never openpyxl's object model, which would normalise what
it reads) and lists every such defect in words:

- a table whose header cells differ from its column names, whose column count disagrees
  with its range, with duplicate column names, ids or table names, or with no data row;
- a structured reference (``Sources[CPL]``, ``T[[#This Row],[A]:[B]]``, ``[@Col]``), sheet
  reference, defined name or ``#REF!`` in any formula (cells, calculated columns, totals,
  conditional formats, data validations, defined names, charts) that points nowhere;
- tables that overlap each other, a merged range or the sheet's own filter, and a table
  whose filter range differs from its own range;
- a data validation whose messages or list of choices are longer than Excel loads;
- a sheet whose table parts do not resolve through its relationships.

``findings(path)`` returns the list (empty means clean); ``assert_clean(path)`` fails a
test with all of them at once.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import io
import posixpath
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring as defused_fromstring

R_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
XM_F = "{http://schemas.microsoft.com/office/excel/2006/main}f"
XM_SQREF = "{http://schemas.microsoft.com/office/excel/2006/main}sqref"
FORMULA_TAGS = ("formula", "formula1", "formula2")
TABLE_FORMULAS = (
    ("calculatedColumnFormula", "calculated column"),
    ("totalsRowFormula", "totals row"),
)
CHART_F = "{http://schemas.openxmlformats.org/drawingml/2006/chart}f"
MAX_PART_BYTES = 256 * 2**20
VALIDATION_LIMITS = {"promptTitle": 32, "prompt": 255, "errorTitle": 32, "error": 224}
MAX_COLUMN_NAME = 255  # MS-OI29500 §2.1.681
SPECIAL_ITEMS = {"#all", "#data", "#headers", "#totals", "#this row"}
Bounds = tuple[int, int, int, int]
"""``(first column, first row, last column, last row)``, 1-based and inclusive."""


class Kind(enum.StrEnum):
    """What sort of defect a finding is."""

    HEADER = "header"  # a header cell differs from its column name
    COLUMNS = "columns"  # column count, ids or names inconsistent
    TABLE_NAME = "table name"  # a duplicate or invalid table name or id
    REFERENCE = "reference"  # a formula names a table, column, sheet or name that is absent
    DEFINED_NAME = "defined name"  # a defined name points nowhere
    OVERLAP = "overlap"  # tables overlapping each other, a merged range or a sheet filter
    FILTER = "filter"  # a table's autoFilter range differs from the table's
    VALIDATION = "validation"  # a data validation beyond Excel's length limits
    PART = "part"  # a relationship or part that does not resolve


@dataclass(frozen=True)
class Finding:
    """One defect: its kind, where it is (sheet, cell, table or part) and what is wrong."""

    kind: Kind
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class TablePart:
    """An Excel Table as its part declares it."""

    part: str
    sheet: str
    name: str
    display_name: str
    id: str
    ref: str
    bounds: Bounds
    header_rows: int
    totals_rows: int
    declared_count: str | None
    columns: list[str]
    column_ids: list[str]
    filter_ref: str | None
    formulas: list[tuple[str, str, str]]  # (column name, "calculated column"/"totals row", text)

    @property
    def label(self) -> str:
        return f"table {self.display_name} ({self.sheet}!{self.ref}, {self.part})"


@dataclass(frozen=True)
class FormulaSite:
    """A formula and where it lives; ``table`` is the table a bare ``[Col]`` refers to."""

    where: str
    text: str
    sheet: str | None = None
    table: str | None = None
    cell: str | None = None  # the A1 address of a cell formula
    kind: Kind = Kind.REFERENCE  # the kind of finding a broken reference here is


@dataclass
class Package:
    """The parts of a workbook that Excel's integrity rules are about."""

    sheets: list[str] = field(default_factory=list)
    tables: list[TablePart] = field(default_factory=list)
    names: list[tuple[str, int | None, str]] = field(default_factory=list)  # name, scope, value
    formulas: list[FormulaSite] = field(default_factory=list)
    merges: dict[str, list[Bounds]] = field(default_factory=dict)
    sheet_filters: dict[str, str] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)  # found while reading


# --- Public helpers -------------------------------------------------------------------------


def findings(path: Path | str) -> list[Finding]:
    """Every structural defect Excel would repair or stumble over in the workbook at ``path``.

    An empty list means clean. Results are cached by the file's content, so checking
    the same bytes again (a copy, or an unchanged file) costs one read.
    """
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest not in _FOUND:
        _FOUND[digest] = _findings_in(io.BytesIO(data))
    return list(_FOUND[digest])


def assert_clean(path: Path | str) -> None:
    """Fail with every finding at once when the workbook at ``path`` is not clean."""
    found = findings(path)
    if found:
        lines = "\n".join(f"  - {f}" for f in found[:60])
        more = f"\n  … and {len(found) - 60} more" if len(found) > 60 else ""
        raise AssertionError(
            f"{path}: {len(found)} structural problem(s) Excel would repair:\n{lines}{more}"
        )


_FOUND: dict[str, tuple[Finding, ...]] = {}
"""Findings by the SHA-256 of a file's bytes: the same bytes at any path give the same."""


def _findings_in(data: io.BytesIO) -> tuple[Finding, ...]:
    package = read_package(data)
    return tuple(
        [
            *package.problems,
            *table_findings(package),
            *reference_findings(package),
            *defined_name_findings(package),
            *overlap_findings(package),
        ]
    )


# --- Reading the package --------------------------------------------------------------------


def read_package(path: Path | BinaryIO) -> Package:
    """The sheets, tables, defined names and formulas of the workbook at ``path`` (a file
    name or the file's bytes)."""
    package = Package()
    with zipfile.ZipFile(path) as zf:
        parts = set(zf.namelist())
        content_types = _content_types(zf)
        workbook_part = _office_document(zf)
        workbook = _xml(zf, workbook_part)
        ns = _ns(workbook)
        strings = _shared_strings(zf, workbook_part)
        sheet_parts = _rels(zf, workbook_part)
        seen_tables: dict[str, str] = {}
        for sheet in workbook.iterfind(f"{ns}sheets/{ns}sheet"):
            name = sheet.get("name", "")
            package.sheets.append(name)
            rel = sheet_parts.get(sheet.get(f"{R_NS}id", ""))
            if rel is None or rel[1] not in parts:
                package.problems.append(
                    Finding(Kind.PART, f"sheet {name}", "its part is missing from the package")
                )
                continue
            if rel[0].endswith("/worksheet"):
                _read_sheet(zf, rel[1], name, strings, content_types, seen_tables, package)
        _read_defined_names(workbook, ns, package)
        _read_charts(zf, package)
    return package


def _read_sheet(
    zf: zipfile.ZipFile,
    part: str,
    sheet: str,
    strings: list[str],
    content_types: dict[str, str],
    seen_tables: dict[str, str],
    package: Package,
) -> None:
    root = _xml(zf, part)
    ns = _ns(root)
    tables = _sheet_tables(zf, root, ns, part, sheet, content_types, seen_tables, package)
    package.tables.extend(tables)
    header_cells = {
        _a1(c, t.bounds[1]) for t in tables if t.header_rows for c in _columns_of(t.bounds)
    }
    cells = _read_cells(root, ns, sheet, strings, header_cells, package)
    for table in tables:
        _check_header_cells(table, cells, package)
    package.merges[sheet] = [
        _bounds(m.get("ref", "")) for m in root.iterfind(f"{ns}mergeCells/{ns}mergeCell")
    ]
    sheet_filter = root.find(f"{ns}autoFilter")
    if sheet_filter is not None and sheet_filter.get("ref"):
        package.sheet_filters[sheet] = sheet_filter.get("ref", "")
    package.formulas.extend(_rule_formulas(root, sheet))
    package.problems.extend(_validation_findings(root, ns, sheet))


def _sheet_tables(
    zf: zipfile.ZipFile,
    root: Element,
    ns: str,
    part: str,
    sheet: str,
    content_types: dict[str, str],
    seen_tables: dict[str, str],
    package: Package,
) -> list[TablePart]:
    """The tables a sheet declares, checking that each ``tablePart`` resolves to a part."""
    rels = _rels(zf, part)
    declared = root.find(f"{ns}tableParts")
    if declared is None:
        return []
    ids = [tp.get(f"{R_NS}id", "") for tp in declared.iterfind(f"{ns}tablePart")]
    where = f"sheet {sheet} ({part})"
    if declared.get("count") not in (None, str(len(ids))):
        package.problems.append(
            Finding(
                Kind.PART,
                where,
                f"tableParts count={declared.get('count')} but it lists {len(ids)} table part(s)",
            )
        )
    tables = []
    for rid in ids:
        rel = rels.get(rid)
        if rel is None:
            message = f"table part relationship {rid!r} is not in the sheet's .rels"
        elif not rel[0].endswith("/table"):
            message = f"relationship {rid!r} is of type {rel[0]!r}, not a table"
        elif rel[1] not in zf.namelist():
            message = f"relationship {rid!r} points at {rel[1]}, which is not in the package"
        elif not content_types.get(rel[1], "").endswith("table+xml"):
            message = f"table part {rel[1]} has no table content type in [Content_Types].xml"
        elif rel[1] in seen_tables:
            message = f"table part {rel[1]} is also used by sheet {seen_tables[rel[1]]}"
        else:
            seen_tables[rel[1]] = sheet
            tables.append(_read_table(zf, rel[1], sheet))
            continue
        package.problems.append(Finding(Kind.PART, where, message))
    return tables


def _read_table(zf: zipfile.ZipFile, part: str, sheet: str) -> TablePart:
    root = _xml(zf, part)
    ns = _ns(root)
    declared = root.find(f"{ns}tableColumns")
    columns = [] if declared is None else list(declared.iterfind(f"{ns}tableColumn"))
    auto_filter = root.find(f"{ns}autoFilter")
    ref = root.get("ref", "")
    return TablePart(
        part=part,
        sheet=sheet,
        name=root.get("name", ""),
        display_name=root.get("displayName", ""),
        id=root.get("id", ""),
        ref=ref,
        bounds=_bounds(ref),
        header_rows=int(root.get("headerRowCount", "1")),
        totals_rows=int(root.get("totalsRowCount", "0")),
        declared_count=None if declared is None else declared.get("count"),
        columns=[_decode(c.get("name", "")) for c in columns],
        column_ids=[c.get("id", "") for c in columns],
        filter_ref=None if auto_filter is None else auto_filter.get("ref", ""),
        formulas=[
            (_decode(c.get("name", "")), what, f.text)
            for c in columns
            for tag, what in TABLE_FORMULAS
            if (f := c.find(f"{ns}{tag}")) is not None and f.text
        ],
    )


def _read_cells(
    root: Element,
    ns: str,
    sheet: str,
    strings: list[str],
    wanted: set[str],
    package: Package,
) -> dict[str, tuple[str, bool]]:
    """Collect every cell formula; return the ``wanted`` cells' text (and whether a formula)."""
    found = {}
    for cell in root.iterfind(f"{ns}sheetData/{ns}row/{ns}c"):
        ref = cell.get("r", "")
        f = cell.find(f"{ns}f")
        if f is not None and f.text and f.get("t") != "dataTable":
            package.formulas.append(FormulaSite(f"{sheet}!{ref}", f.text, sheet, cell=ref))
        if ref in wanted:
            found[ref] = (_cell_text(cell, ns, strings), f is not None)
    return found


def _cell_text(cell: Element, ns: str, strings: list[str]) -> str:
    """A cell's value as text, the way Excel names a table column after it."""
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        inline = cell.find(f"{ns}is")
        return "" if inline is None else _rich_text(inline, ns)
    value = cell.findtext(f"{ns}v")
    if not value:
        return ""
    if kind == "s":
        return strings[int(value)]
    if kind == "b":
        return "TRUE" if value == "1" else "FALSE"
    if kind == "n":
        return format(float(value), ".15g")
    return _decode(value)


def _rule_formulas(root: Element, sheet: str) -> Iterator[FormulaSite]:
    """The formulas of conditional formats and data validations (plain and x14 extensions)."""
    for child in root:
        if _local(child.tag) == "sheetData":
            continue
        for rule in child.iter():
            tag = _local(rule.tag)
            if tag not in ("conditionalFormatting", "dataValidation"):
                continue
            sqref = rule.get("sqref") or rule.findtext(XM_SQREF, "")
            what = "conditional format" if tag == "conditionalFormatting" else "data validation"
            for element in rule.iter():
                formula = element.tag == XM_F or _local(element.tag) in FORMULA_TAGS
                if formula and element.text and element.text.strip():
                    yield FormulaSite(f"{sheet}!{sqref} ({what})", element.text, sheet)


def _validation_findings(root: Element, ns: str, sheet: str) -> Iterator[Finding]:
    """Data validations longer than Excel loads (MS-OI29500 §2.1.613; a list of literal
    choices is one string of at most 255 characters): Excel drops them as it repairs."""
    for dv in root.iterfind(f"{ns}dataValidations/{ns}dataValidation"):
        where = f"{sheet}!{dv.get('sqref', '')} (data validation)"
        for attribute, limit in VALIDATION_LIMITS.items():
            text = _decode(dv.get(attribute, ""))
            if len(text) > limit:
                yield Finding(
                    Kind.VALIDATION,
                    where,
                    f"its {attribute} has {len(text)} characters; Excel allows {limit}",
                )
        choices = dv.findtext(f"{ns}formula1", "")
        if dv.get("type") == "list" and choices.startswith('"') and len(choices) - 2 > 255:
            yield Finding(
                Kind.VALIDATION,
                where,
                f"its list of choices has {len(choices) - 2} characters; Excel allows 255",
            )


def _read_defined_names(workbook: Element, ns: str, package: Package) -> None:
    """Defined names, each also a formula whose references must resolve."""
    for dn in workbook.iterfind(f"{ns}definedNames/{ns}definedName"):
        name, value = dn.get("name", ""), dn.text or ""
        scope = None if dn.get("localSheetId") is None else int(dn.get("localSheetId", ""))
        package.names.append((name, scope, value))
        sheet = package.sheets[scope] if scope is not None and scope < len(package.sheets) else None
        where = _name_label(name, scope, package.sheets)
        package.formulas.append(FormulaSite(where, value, sheet, kind=Kind.DEFINED_NAME))


def _name_label(name: str, scope: int | None, sheets: list[str]) -> str:
    if scope is None:
        return f"defined name {name!r}"
    sheet = sheets[scope] if 0 <= scope < len(sheets) else f"#{scope}"
    return f"defined name {name!r} (local to sheet {sheet})"


def _read_charts(zf: zipfile.ZipFile, package: Package) -> None:
    """The ranges charts plot: their sheet names must resolve too."""
    for part in zf.namelist():
        if part.startswith("xl/charts/chart") and part.endswith(".xml"):
            for f in _xml(zf, part).iter(CHART_F):
                if f.text:
                    package.formulas.append(FormulaSite(f"chart {part}", f.text))


def _check_header_cells(
    table: TablePart, cells: dict[str, tuple[str, bool]], package: Package
) -> None:
    if not table.header_rows:
        return
    row = table.bounds[1]
    for column, name in zip(_columns_of(table.bounds), table.columns, strict=False):
        text, is_formula = cells.get(_a1(column, row), ("", False))
        where = f"{table.sheet}!{_a1(column, row)}"
        if is_formula:
            package.problems.append(
                Finding(Kind.HEADER, where, f"header cell of {table.label} holds a formula")
            )
        if text != name:
            package.problems.append(
                Finding(
                    Kind.HEADER,
                    where,
                    f"{table.label} names this column {name!r} but its header cell says {text!r}",
                )
            )


# --- Tables ---------------------------------------------------------------------------------


def table_findings(package: Package) -> Iterator[Finding]:
    """Column counts, duplicate names and ids, and invalid table names."""
    for table in package.tables:
        yield from _column_findings(table)
    yield from _table_name_findings(package)


def _column_findings(table: TablePart) -> Iterator[Finding]:
    width = table.bounds[2] - table.bounds[0] + 1
    n = len(table.columns)
    if table.declared_count != str(n) or n != width:
        yield Finding(
            Kind.COLUMNS,
            table.label,
            f"tableColumns count={table.declared_count}, {n} tableColumn element(s), "
            f"and the range is {width} column(s) wide",
        )
    for name, times in Counter(c.casefold() for c in table.columns).items():
        if times > 1:
            yield Finding(Kind.COLUMNS, table.label, f"column name {name!r} is used {times} times")
    if "" in table.columns:
        yield Finding(Kind.COLUMNS, table.label, "a column has no name")
    for name in table.columns:
        if len(name) > MAX_COLUMN_NAME:
            yield Finding(
                Kind.COLUMNS, table.label, f"column name {name[:40]!r}… is over 255 characters"
            )
    if not all(i.isdigit() and int(i) > 0 for i in table.column_ids):
        yield Finding(Kind.COLUMNS, table.label, "a column id is not a whole number above 0")
    for column_id, times in Counter(table.column_ids).items():
        if times > 1:
            yield Finding(Kind.COLUMNS, table.label, f"column id {column_id} is used {times} times")
    if table.bounds[3] - table.bounds[1] + 1 <= table.header_rows + table.totals_rows:
        yield Finding(Kind.COLUMNS, table.label, "the table has no data row")


def _table_name_findings(package: Package) -> Iterator[Finding]:
    owners: dict[str, set[str]] = defaultdict(set)
    for table in package.tables:
        for name in {table.name.casefold(), table.display_name.casefold()}:
            owners[name].add(table.part)
        if not _valid_name(table.display_name):
            yield Finding(
                Kind.TABLE_NAME, table.label, f"{table.display_name!r} is not a valid table name"
            )
    for name, tables in owners.items():
        if len(tables) > 1:
            yield Finding(
                Kind.TABLE_NAME,
                ", ".join(sorted(tables)),
                f"table name {name!r} is used by {len(tables)} tables (Excel ignores case)",
            )
    names = {n.casefold() for n, _, _ in package.names}
    for table in package.tables:
        if table.display_name.casefold() in names:
            yield Finding(
                Kind.TABLE_NAME, table.label, "a defined name has the same name as the table"
            )
    for table_id, times in Counter(t.id for t in package.tables).items():
        if times > 1:
            yield Finding(Kind.TABLE_NAME, "workbook", f"table id {table_id} is used {times} times")


# --- Formulas and references ----------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A reference in a formula: a structured reference, sheet, name or error literal."""

    kind: str  # "structured", "sheet", "name", "error" ("external" for a [1] prefix)
    text: str  # table name (may be ""), sheet name, defined name, or the error literal
    inner: str = ""  # a structured reference's bracket content, escapes kept
    qualified: bool = False  # a name after a sheet prefix (Sheet1!Name)
    external: bool = False  # in another workbook ([1]Sheet1!A1): not checked


_STRING = re.compile(r'"(?:[^"]|"")*"?')
_QUOTED_SHEET = re.compile(r"'((?:[^']|'')*)'!")
_SHEET_PREFIX = re.compile(r"((?:[^\W\d]|\\)[\w.]*)(?::((?:[^\W\d]|\\)[\w.]*))?!")
_IDENT = re.compile(r"\$?(?:[^\W\d]|\\)[\w.\\?$]*")
_NUMBER = re.compile(r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")
_ERROR = re.compile(
    r"#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!|FIELD!"
    r"|BLOCKED!|CONNECT!|BUSY!|UNKNOWN!)",
    re.IGNORECASE,
)
FUNCTION_PREFIXES = ("_xlpm.", "_xlfn.", "_xleta.")  # LET/LAMBDA parameters, new functions
_CELL = re.compile(r"\$?[A-Za-z]{1,3}\$?\d{1,7}")
_COLUMN = re.compile(r"\$?[A-Za-z]{1,3}")


@functools.lru_cache(maxsize=8192)
def tokens(formula: str) -> tuple[Token, ...]:
    """The references in ``formula``, outside string literals.

    >>> [(t.kind, t.text, t.inner) for t in tokens('SUM(Sources[CPL])+Budget*"T[x]"')]
    [('structured', 'Sources', 'CPL'), ('name', 'Budget', '')]
    """
    found: list[Token] = []
    pos, external, qualified = 0, False, False
    while pos < len(formula):
        token, end = _token_at(formula, pos)
        if token is None:
            if formula[pos] != "!":  # [1]!Name keeps its workbook prefix
                qualified = external = False
            pos = max(end, pos + 1)
            continue
        pos = end
        if token.kind == "external":  # [1]Sheet1!A1: another workbook, not checked
            external = True
            continue
        token = replace(token, external=external or token.external, qualified=qualified)
        found.append(token)
        # A sheet prefix qualifies the reference that follows it (Sheet1!Name).
        qualified = token.kind == "sheet"
        external = token.external and qualified
    return tuple(found)


def _token_at(formula: str, pos: int) -> tuple[Token | None, int]:
    """The reference starting at ``pos`` (None for anything else) and where it ends."""
    char = formula[pos]
    if char == '"':
        return None, _STRING.match(formula, pos).end()
    if char == "'":
        m = _QUOTED_SHEET.match(formula, pos)
        if m is None:
            return None, pos + 1
        sheet = m.group(1).replace("''", "'")
        return Token("sheet", sheet, external=sheet.startswith("[")), m.end()
    if char == "[":
        end = _bracket_end(formula, pos)
        inner = formula[pos + 1 : end - 1]
        kind = "external" if inner.isdigit() else "structured"
        return Token(kind, "", inner), end
    if char == "#":
        m = _ERROR.match(formula, pos)
        return (None, pos + 1) if m is None else (Token("error", m.group(0).upper()), m.end())
    if char in "0123456789":
        return None, _NUMBER.match(formula, pos).end()
    if m := _SHEET_PREFIX.match(formula, pos):  # Sheet1! or Sheet1:Sheet3!
        first, last = m.groups()
        return Token("sheet", first if last is None else f"{first}:{last}"), m.end()
    if m := _IDENT.match(formula, pos):
        return _identifier(formula, m)
    return None, pos + 1


def _identifier(formula: str, m: re.Match[str]) -> tuple[Token | None, int]:
    """A table before ``[``, a function before ``(``, a literal, or else a defined name."""
    ident, end = m.group(0), m.end()
    after = formula[end : end + 1]
    if after == "[":
        close = _bracket_end(formula, end)
        return Token("structured", ident, formula[end + 1 : close - 1]), close
    before = formula[m.start() - 1 : m.start()]
    if after == "(" or _is_literal(ident, before, after):
        return None, end
    return Token("name", ident), end


def _is_literal(ident: str, before: str, after: str) -> bool:
    """Whether an identifier is a cell or column reference, a boolean or a LET parameter."""
    if ident.upper() in ("TRUE", "FALSE") or ident.lower().startswith(FUNCTION_PREFIXES):
        return True
    if _CELL.fullmatch(ident):
        return True
    return bool(_COLUMN.fullmatch(ident)) and ":" in (before, after)


def _bracket_end(formula: str, start: int) -> int:
    """The index just past the ``]`` that closes the ``[`` at ``start`` (``'`` escapes)."""
    depth, pos = 0, start
    while pos < len(formula):
        char = formula[pos]
        if char == "'":
            pos += 2
            continue
        depth += {"[": 1, "]": -1}.get(char, 0)
        pos += 1
        if depth == 0:
            return pos
    return len(formula)


@dataclass(frozen=True)
class StructuredReference:
    """What a structured reference asks for: columns (unescaped) and special items."""

    columns: tuple[str, ...]
    items: tuple[str, ...]
    malformed: bool = False


def parse_structured(inner: str) -> StructuredReference:
    """The columns and ``#`` items named inside a structured reference's outer brackets.

    >>> parse_structured("[#This Row],[Month 1]:[Month 12]")
    StructuredReference(columns=('Month 1', 'Month 12'), items=('#This Row',), malformed=False)
    >>> parse_structured("@[Rep''s '#]")
    StructuredReference(columns=("Rep's #",), items=('#This Row',), malformed=False)
    """
    text, items = inner.strip(), []
    if text.startswith("@"):
        text, items = text[1:].strip(), ["#This Row"]
    if not text.startswith("["):
        return _classify([text] if text else [], items, malformed=False)
    parts, pos = [], 0
    while pos < len(text):
        if text[pos] in " ,:":
            pos += 1
        elif text[pos] == "[":
            end = _bracket_end(text, pos)
            parts.append(text[pos + 1 : end - 1])
            pos = end
        else:
            return _classify(parts, items, malformed=True)
    return _classify(parts, items, malformed=False)


def _classify(parts: list[str], items: list[str], malformed: bool) -> StructuredReference:
    columns = [_unescape(p) for p in parts if not p.startswith("#")]
    specials = items + [p for p in parts if p.startswith("#")]
    return StructuredReference(tuple(columns), tuple(specials), malformed)


def _unescape(name: str) -> str:
    return re.sub(r"'(.)", r"\1", name)


def reference_findings(package: Package) -> Iterator[Finding]:
    """Every formula reference to a table, column, sheet or name the workbook lacks.

    One finding per problem and sheet: the first cell is named, the rest counted.
    """
    context = _Context.of(package)
    found: dict[tuple[Kind, str, str], list[str]] = {}
    for site in _all_formulas(package):
        for message in context.problems_in(site):
            key = (site.kind, site.sheet or site.where, message)
            found.setdefault(key, []).append(site.where)
    for (kind, _, message), sites in found.items():
        more = f" (and {len(sites) - 1} more)" if len(sites) > 1 else ""
        yield Finding(kind, sites[0] + more, message)


def _all_formulas(package: Package) -> Iterator[FormulaSite]:
    yield from package.formulas
    for table in package.tables:
        for column, what, text in table.formulas:
            where = f"{table.label}, column {column!r} ({what})"
            yield FormulaSite(where, text, table.sheet, table.display_name)


@dataclass
class _Context:
    """What a reference may name: tables with their columns, sheets and defined names."""

    tables: dict[str, TablePart]
    sheets: list[str]
    names: set[tuple[str, int | None]]
    seen: dict[tuple[str, str | None, str | None], list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, package: Package) -> _Context:
        return cls(
            {t.display_name.casefold(): t for t in package.tables},
            package.sheets,
            {(n.casefold(), scope) for n, scope, _ in package.names},
        )

    def problems_in(self, site: FormulaSite) -> list[str]:
        """The problems of one formula, once each (memoised: a column repeats its formula)."""
        implicit = None
        if any(t.kind == "structured" and not t.text for t in tokens(site.text)):
            implicit = self._implicit_table(site)
        key = (site.text, site.sheet, implicit)
        if key not in self.seen:
            self.seen[key] = list(dict.fromkeys(self._problems(site, implicit)))
        return self.seen[key]

    def _problems(self, site: FormulaSite, implicit: str | None) -> Iterator[str]:
        for token in tokens(site.text):
            if token.external:
                continue
            if token.kind == "structured":
                yield from self._structured(token, implicit)
            elif token.kind == "sheet":
                yield from self._sheet(token.text)
            elif token.kind == "error" and token.text == "#REF!":
                yield f"points at #REF! (a deleted range): {site.text!r}"
            elif token.kind == "name" and not token.qualified:
                yield from self._name(token.text, site)

    def _structured(self, token: Token, implicit: str | None) -> Iterator[str]:
        name = token.text or implicit
        if name is None:
            yield f"[{token.inner}] has no table name and is not inside a table"
            return
        table = self.tables.get(name.casefold())
        if table is None:
            yield f"{name}[{token.inner}] names table {name!r}, which does not exist"
            return
        ref = parse_structured(token.inner)
        if ref.malformed:
            yield f"{name}[{token.inner}] is not a valid structured reference"
        known = {c.casefold() for c in table.columns}
        for column in ref.columns:
            if column.casefold() not in known:
                yield (
                    f"{name}[{token.inner}] names column {column!r}, which table "
                    f"{table.display_name} does not declare"
                )
        for item in ref.items:
            if item.casefold() not in SPECIAL_ITEMS:
                yield f"{name}[{token.inner}]: {item!r} is not a structured reference item"

    def _implicit_table(self, site: FormulaSite) -> str | None:
        if site.table is not None or site.cell is None:
            return site.table
        for table in self.tables.values():
            if table.sheet == site.sheet and _inside(_cell(site.cell), table.bounds):
                return table.display_name
        return None

    def _sheet(self, sheet: str) -> Iterator[str]:
        known = {s.casefold() for s in self.sheets}
        for name in sheet.split(":"):  # Sheet1:Sheet3 is a 3-D reference
            if name.casefold() not in known:
                yield f"refers to sheet {name!r}, which does not exist"

    def _name(self, name: str, site: FormulaSite) -> Iterator[str]:
        key = name.casefold()
        scope = self.sheets.index(site.sheet) if site.sheet in self.sheets else None
        if (key, None) in self.names or (key, scope) in self.names or key in self.tables:
            return
        yield f"uses the name {name!r}, which is neither a defined name nor a table"


def defined_name_findings(package: Package) -> Iterator[Finding]:
    """Defined names that are empty, duplicated, invalid or local to an absent sheet.

    What a name's formula references (``#REF!``, sheets, tables, columns, other names) is
    checked with every other formula by :func:`reference_findings`.
    """
    seen = Counter((name.casefold(), scope) for name, scope, _ in package.names)
    for name, scope, value in package.names:
        where = _name_label(name, scope, package.sheets)
        if not value.strip():
            yield Finding(Kind.DEFINED_NAME, where, "has no value")
        if scope is not None and not 0 <= scope < len(package.sheets):
            yield Finding(Kind.DEFINED_NAME, where, f"is local to sheet #{scope}, which is absent")
        if seen[(name.casefold(), scope)] > 1:
            yield Finding(Kind.DEFINED_NAME, where, "is defined more than once in its scope")
        if not _valid_name(name):
            yield Finding(Kind.DEFINED_NAME, where, "is not a valid Excel name")


# --- Geometry -------------------------------------------------------------------------------


def overlap_findings(package: Package) -> Iterator[Finding]:
    """Tables overlapping each other, merged ranges or the sheet filter; filters off range."""
    by_sheet: dict[str, list[TablePart]] = defaultdict(list)
    for table in package.tables:
        by_sheet[table.sheet].append(table)
        yield from _filter_findings(table)
    for sheet, tables in by_sheet.items():
        for i, table in enumerate(tables):
            for other in tables[i + 1 :]:
                if _overlap(table.bounds, other.bounds):
                    yield Finding(Kind.OVERLAP, table.label, f"overlaps {other.label}")
            for merge in package.merges.get(sheet, []):
                if _overlap(table.bounds, merge):
                    yield Finding(
                        Kind.OVERLAP, table.label, f"overlaps merged cells {_range(merge)}"
                    )
            sheet_filter = package.sheet_filters.get(sheet)
            if sheet_filter and _overlap(table.bounds, _bounds(sheet_filter)):
                yield Finding(
                    Kind.OVERLAP, table.label, f"overlaps the sheet's own filter {sheet_filter}"
                )


def _filter_findings(table: TablePart) -> Iterator[Finding]:
    if table.filter_ref is None:
        return
    if not table.header_rows:
        yield Finding(Kind.FILTER, table.label, "has a filter but no header row")
        return
    first_col, first_row, last_col, last_row = table.bounds
    want = (first_col, first_row, last_col, last_row - table.totals_rows)
    if _bounds(table.filter_ref) != want:
        yield Finding(
            Kind.FILTER,
            table.label,
            f"its autoFilter covers {table.filter_ref}, not {_range(want)}",
        )


# --- Small helpers --------------------------------------------------------------------------


def _xml(zf: zipfile.ZipFile, part: str) -> Element:
    """A part's XML root. OOXML parts never declare a DTD; one that does is read by
    defusedxml, which refuses entities, the rest by ElementTree's faster C parser."""
    if zf.getinfo(part).file_size > MAX_PART_BYTES:
        raise ValueError(f"{part} unpacks to more than {MAX_PART_BYTES:,} bytes")
    data = zf.read(part)
    return defused_fromstring(data) if b"<!DOCTYPE" in data else ElementTree.fromstring(data)


def _ns(root: Element) -> str:
    """The ``{namespace}`` of a part's root element (transitional or strict)."""
    return root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's internal relationships: id → (type, target part path)."""
    folder, name = posixpath.split(part)
    rels_part = posixpath.join(folder, "_rels", name + ".rels")
    if rels_part not in zf.namelist():
        return {}
    rels = {}
    for rel in _xml(zf, rels_part).iter(f"{PKG_NS}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        rels[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(path))
    return rels


def _office_document(zf: zipfile.ZipFile) -> str:
    for rel_type, target in _rels(zf, "").values():
        if rel_type.endswith("/officeDocument"):
            return target
    return "xl/workbook.xml"


def _content_types(zf: zipfile.ZipFile) -> dict[str, str]:
    """Part path → content type, from the overrides and the extension defaults."""
    root = _xml(zf, "[Content_Types].xml")
    defaults = {
        d.get("Extension", "").lower(): d.get("ContentType", "")
        for d in root.iter(f"{CT_NS}Default")
    }
    types = {part: defaults.get(part.rsplit(".", 1)[-1].lower(), "") for part in zf.namelist()}
    for override in root.iter(f"{CT_NS}Override"):
        types[override.get("PartName", "").lstrip("/")] = override.get("ContentType", "")
    return types


def _shared_strings(zf: zipfile.ZipFile, workbook_part: str) -> list[str]:
    for rel_type, target in _rels(zf, workbook_part).values():
        if rel_type.endswith("/sharedStrings") and target in zf.namelist():
            root = _xml(zf, target)
            ns = _ns(root)
            return [_rich_text(si, ns) for si in root.iterfind(f"{ns}si")]
    return []


def _rich_text(element: Element, ns: str) -> str:
    """The text of a string item: its ``t``, or its runs' ``t`` (phonetic runs left out)."""
    plain = element.find(f"{ns}t")
    if plain is not None:
        return _decode(plain.text or "")
    return "".join(_decode(t.text or "") for t in element.iterfind(f"{ns}r/{ns}t"))


def _decode(text: str) -> str:
    """Undo OOXML's ``_xHHHH_`` escapes of characters XML cannot hold."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _valid_name(name: str) -> bool:
    """Whether Excel accepts ``name`` for a table or defined name (not a cell address)."""
    if not re.fullmatch(r"(?:[^\W\d]|\\)[\w.\\?]*", name):
        return False
    if name.casefold() in ("r", "c") or _CELL.fullmatch(name):
        return False
    bare = name.removeprefix("_xlnm.")
    return not re.fullmatch(r"[Rr]\d*[Cc]\d*", bare)


def _cell(ref: str) -> tuple[int, int]:
    """``"B12"`` → ``(2, 12)``."""
    m = re.fullmatch(r"\$?([A-Za-z]+)\$?(\d+)", ref)
    if m is None:
        return (0, 0)
    column = 0
    for letter in m.group(1).upper():
        column = column * 26 + ord(letter) - 64
    return column, int(m.group(2))


def _bounds(ref: str) -> Bounds:
    first, _, last = ref.partition(":")
    (c1, r1), (c2, r2) = _cell(first), _cell(last or first)
    return c1, r1, c2, r2


def _a1(column: int, row: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def _range(bounds: Bounds) -> str:
    return f"{_a1(bounds[0], bounds[1])}:{_a1(bounds[2], bounds[3])}"


def _columns_of(bounds: Bounds) -> Iterable[int]:
    return range(bounds[0], bounds[2] + 1)


def _inside(cell: tuple[int, int], bounds: Bounds) -> bool:
    return bounds[0] <= cell[0] <= bounds[2] and bounds[1] <= cell[1] <= bounds[3]


def _overlap(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
