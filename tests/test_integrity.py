"""The Excel-side structural oracle (tests/xlsx_integrity.py) on small hand-made packages.

Each test writes a clean workbook with openpyxl, breaks one thing in its raw XML, and
checks that exactly that kind of finding fires; the clean file gives none.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableFormula
from xlsx_integrity import (
    Kind,
    StructuredReference,
    assert_clean,
    findings,
    parse_structured,
    tokens,
)

from leadbook.workbook.jobs.rebalance import rebalance
from leadbook.workbook.jobs.refresh import new as write_template
from leadbook.workbook.layout import name_all_table_columns
from leadbook.workbook.libreoffice import convert

# Tests that break their package on purpose carry ``broken_files``, so the conftest hook
# that checks every file a test writes leaves them to the test's own assertions.
broken = pytest.mark.broken_files

HEADERS = ["Region", "Units", "Unit price", "Rep's #"]


def base_workbook(path: Path) -> Path:
    """Two sheets; table Sales (A1:D3, a calculated column) and table Costs (F1:G3) on Data;
    a formula, a conditional format, a drop-down and defined names that all resolve."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append([*HEADERS, None, "Item", "Cost"])
    ws.append(["North", 3, 2.5, None, None, "Rent", 10])
    ws.append(["South", 4, 1.5, None, None, "Power", 5])
    for row in (2, 3):
        ws[f"D{row}"] = "=Sales[[#This Row],[Units]]*Sales[[#This Row],[Unit price]]"
    sales = Table(displayName="Sales", ref="A1:D3", autoFilter=AutoFilter(ref="A1:D3"))
    sales.tableColumns = [TableColumn(id=i + 1, name=h) for i, h in enumerate(HEADERS)]
    sales.tableColumns[3].calculatedColumnFormula = TableFormula(
        attr_text="Sales[[#This Row],[Units]]*Sales[[#This Row],[Unit price]]"
    )
    ws.add_table(sales)
    ws.add_table(Table(displayName="Costs", ref="F1:G3"))
    name_all_table_columns(wb)  # openpyxl would name Costs' columns Column1, Column2
    ws["I1"] = "=SUM(Sales[Units])*Rate+SUM(Costs[Cost])+'Other sheet'!A1"
    dv = DataValidation(type="list", formula1="Regions")
    ws.add_data_validation(dv)
    dv.add("A2:A10")
    other = wb.create_sheet("Other sheet")
    other["A1"] = 0.2
    wb.defined_names["Rate"] = DefinedName("Rate", attr_text="'Other sheet'!$A$1")
    wb.defined_names["Regions"] = DefinedName("Regions", attr_text="Sales[Region]")
    wb.defined_names["Flags"] = DefinedName("Flags", attr_text='"yes,no"')
    wb.save(path)
    return path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return base_workbook(tmp_path / "book.xlsx")


def patch(path: Path, part: str, change: Callable[[str], str]) -> Path:
    """Rewrite one part of the package with ``change`` (it must change something)."""
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    old = parts[part].decode("utf-8")
    new = change(old)
    assert new != old, f"the patch changed nothing in {part}"
    parts[part] = new.encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path


def replace(old: str, new: str) -> Callable[[str], str]:
    return lambda xml: xml.replace(old, new)


def table_part(path: Path, name: str) -> str:
    """The part path of the table whose displayName is ``name``."""
    with zipfile.ZipFile(path) as zf:
        for part in zf.namelist():
            if part.startswith("xl/tables/") and f'displayName="{name}"' in zf.read(part).decode():
                return part
    raise KeyError(name)


def set_formula(path: Path, cell: str, formula: str) -> Path:
    """Replace the formula of ``cell`` on the Data sheet."""
    escaped = formula.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    pattern = rf'(<c r="{cell}"[^>]*><f>)[^<]*(</f>)'
    return patch(
        path, "xl/worksheets/sheet1.xml", lambda xml: re.sub(pattern, rf"\g<1>{escaped}\2", xml)
    )


def kinds(path: Path) -> set[Kind]:
    return {f.kind for f in findings(path)}


def messages(path: Path) -> str:
    return "\n".join(map(str, findings(path)))


class TestCleanFile:
    def test_a_clean_file_has_no_findings(self, book):
        assert findings(book) == []
        assert_clean(book)

    @broken
    def test_assert_clean_lists_every_finding(self, book):
        patch(book, table_part(book, "Sales"), replace('name="Units"', 'name="Column2"'))
        with pytest.raises(AssertionError, match=r"structural problem") as caught:
            assert_clean(book)
        text = str(caught.value)
        assert "'Column2' but its header cell says 'Units'" in text
        assert "Sales[Units] names column 'Units'" in text


@broken
class TestTables:
    def test_header_cell_differs_from_column_name(self, book):
        patch(book, table_part(book, "Sales"), replace('name="Units"', 'name="Column2"'))
        found = [f for f in findings(book) if f.kind is Kind.HEADER]
        assert [str(f) for f in found] == [
            "Data!B1: table Sales (Data!A1:D3, xl/tables/table1.xml) names this column "
            "'Column2' but its header cell says 'Units'"
        ]

    def test_rich_text_and_number_headers_are_read(self, book):
        rich = '<c r="F1" t="inlineStr"><is><r><t>It</t></r><r><t>em</t></r></is></c>'
        patch(
            book,
            "xl/worksheets/sheet1.xml",
            replace('<c r="F1" t="inlineStr"><is><t>Item</t></is></c>', rich),
        )
        assert findings(book) == []
        patch(
            book,
            "xl/worksheets/sheet1.xml",
            lambda xml: re.sub(r'<c r="G1"[^>]*>.*?</c>', '<c r="G1"><v>2024</v></c>', xml),
        )
        assert "names this column 'Cost' but its header cell says '2024'" in messages(book)

    @pytest.mark.parametrize(
        ("cell", "text"),
        [
            ('<c t="s"><v>1</v></c>', "CPL"),
            ('<c t="inlineStr"><is><t>Line_x000a_break</t></is></c>', "Line\nbreak"),
            ("<c><v>2024</v></c>", "2024"),
            ("<c><v>0.5</v></c>", "0.5"),
            ('<c t="b"><v>1</v></c>', "TRUE"),
            ('<c t="str"><f>"A"&amp;"B"</f><v>AB</v></c>', "AB"),
            ("<c/>", ""),
        ],
    )
    def test_header_text_as_excel_reads_it(self, cell, text):
        from defusedxml.ElementTree import fromstring
        from xlsx_integrity import _cell_text

        assert _cell_text(fromstring(cell), "", ["Sources", "CPL"]) == text

    def test_header_cell_holding_a_formula(self, book):
        patch(
            book,
            "xl/worksheets/sheet1.xml",
            lambda xml: re.sub(
                r'<c r="F1"[^>]*>.*?</c>', '<c r="F1" t="str"><f>"Item"</f><v>Item</v></c>', xml
            ),
        )
        assert "header cell of table Costs" in messages(book)

    def test_column_count_disagrees(self, book):
        patch(book, table_part(book, "Costs"), replace('count="2"', 'count="3"'))
        assert kinds(book) == {Kind.COLUMNS}
        assert "tableColumns count=3, 2 tableColumn element(s)" in messages(book)

    def test_range_wider_than_the_columns(self, book):
        patch(book, table_part(book, "Costs"), replace('"F1:G3"', '"F1:H3"'))
        assert "and the range is 3 column(s) wide" in messages(book)

    def test_duplicate_column_names_ignore_case(self, book):
        patch(book, table_part(book, "Sales"), replace('name="Unit price"', 'name="UNITS"'))
        assert "column name 'units' is used 2 times" in messages(book)

    def test_duplicate_table_names_ignore_case(self, book):
        patch(book, table_part(book, "Costs"), replace('"Costs"', '"SALES"'))
        assert "table name 'sales' is used by 2 tables" in messages(book)

    def test_table_named_like_a_defined_name(self, book):
        patch(book, table_part(book, "Costs"), replace('"Costs"', '"Rate"'))
        assert "a defined name has the same name as the table" in messages(book)


class TestStructuredReferences:
    @pytest.mark.parametrize(
        "formula",
        [
            "SUM(Sales[Units])",
            "sales[UNITS]",  # Excel ignores case in table and column names
            "Sales[[#This Row],[Units]]",
            "Sales[[#All],[Region]:[Unit price]]",
            "ROWS(Sales[#Data])+ROWS(Sales[#Headers])+ROWS(Sales[])",
            "Sales[@Units]*Sales[@[Unit price]]",
            "Sales[[Rep''s '#]]",
            "Sales[@[Rep''s '#]]",
            '"Nope[Units] is only text"&Sales[Region]',
            "ROWS(Sales)+Rate",
            "[1]Elsewhere!A1+[1]!Budget",  # another workbook: not ours to check
        ],
    )
    def test_references_that_resolve(self, book, formula):
        assert findings(set_formula(book, "I1", formula)) == []

    @pytest.mark.parametrize(
        ("formula", "message"),
        [
            ("SUM(Nope[Units])", "names table 'Nope', which does not exist"),
            ("SUM(Sales[Unit])", "names column 'Unit', which table Sales does not declare"),
            ("Sales[[#This Row],[Nope]]", "names column 'Nope'"),
            ("SUM(Sales[[#All],[Region]:[Nope]])", "names column 'Nope'"),
            ("ROWS(Sales[#Everything])", "'#Everything' is not a structured reference item"),
            ("Sales[@Nope]", "names column 'Nope'"),
            ("Sales[Rep's #]", "names column 'Reps #'"),  # an unescaped ' escapes the s
            ("SUM([Units])", "[Units] has no table name and is not inside a table"),
            ("Gone!A1", "refers to sheet 'Gone', which does not exist"),
            ("'Gone sheet'!A1", "refers to sheet 'Gone sheet'"),
            ("SUM(#REF!)", "points at #REF!"),
            ("Budget*2", "uses the name 'Budget', which is neither a defined name nor a table"),
        ],
    )
    @broken
    def test_references_that_do_not(self, book, formula, message):
        found = findings(set_formula(book, "I1", formula))
        assert [f.where for f in found] == ["Data!I1"]
        assert message in found[0].message and found[0].kind is Kind.REFERENCE

    @broken
    def test_bare_column_in_a_calculated_column_is_its_own_table(self, book):
        part = table_part(book, "Sales")
        patch(book, part, replace("Sales[[#This Row],[Units]]*", "[@Units]*"))
        assert findings(book) == []
        patch(book, part, replace("[@Units]*", "[@Nope]*"))
        assert messages(book) == (
            'table Sales (Data!A1:D3, xl/tables/table1.xml), column "Rep\'s #" '
            "(calculated column): Sales[@Nope] names column 'Nope', which table Sales "
            "does not declare"
        )

    @broken
    def test_totals_row_formula(self, book):
        totals = (
            '<tableColumn id="2" name="Units" totalsRowFunction="custom">'
            "<totalsRowFormula>SUM(Sales[Nope5])</totalsRowFormula></tableColumn>"
        )
        patch(
            book, table_part(book, "Sales"), replace('<tableColumn id="2" name="Units" />', totals)
        )
        assert "column 'Units' (totals row): Sales[Nope5] names column 'Nope5'" in messages(book)

    @broken
    def test_shared_and_array_formulas(self, book):
        patch(
            book,
            "xl/worksheets/sheet1.xml",
            replace(
                '<c r="I1"><f>',
                '<c r="I2"><f t="shared" ref="I2:I3" si="0">Sales[Nope1]</f></c>'
                '<c r="I3"><f t="shared" si="0"/></c>'
                '<c r="J1"><f t="array" ref="J1">Sales[Nope2]</f></c><c r="I1"><f>',
            ),
        )
        assert "names column 'Nope1'" in messages(book)
        assert "names column 'Nope2'" in messages(book)

    @broken
    def test_conditional_format_and_data_validation_formulas(self, book):
        xml_cf = (
            '<conditionalFormatting sqref="B2:B3"><cfRule type="expression" priority="1">'
            "<formula>B2&gt;SUM(Sales[Nope3])</formula></cfRule></conditionalFormatting>"
        )
        patch(
            book,
            "xl/worksheets/sheet1.xml",
            lambda xml: xml.replace("<dataValidations", xml_cf + "<dataValidations").replace(
                "<formula1>Regions</formula1>", "<formula1>Costs[Nope4]</formula1>"
            ),
        )
        found = {f.where: f.message for f in findings(book)}
        assert "names column 'Nope3'" in found["Data!B2:B3 (conditional format)"]
        assert "names column 'Nope4'" in found["Data!A2:A10 (data validation)"]

    @broken
    def test_one_finding_per_problem_and_sheet(self, book):
        patch(book, "xl/worksheets/sheet1.xml", replace("[Unit price]", "[Nope]"))
        assert [f.where for f in findings(book)] == ["Data!D2 (and 1 more)"]


@broken
class TestDefinedNames:
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("#REF!", "points at #REF!"),
            ("Data!#REF!", "points at #REF!"),
            ("Gone!$A$1", "refers to sheet 'Gone', which does not exist"),
            ("'Other sheet (old)'!$A$1", "refers to sheet 'Other sheet (old)'"),
            ("", "has no value"),
            ("Sales[Nope]", "names column 'Nope'"),
            ("Missing[Region]", "names table 'Missing'"),
            ("Budget", "uses the name 'Budget'"),
        ],
    )
    def test_names_that_point_nowhere(self, book, value, message):
        patch(
            book,
            "xl/workbook.xml",
            replace(">'Other sheet'!$A$1</definedName>", f">{value}</definedName>"),
        )
        found = findings(book)
        assert [(f.kind, f.where) for f in found] == [(Kind.DEFINED_NAME, "defined name 'Rate'")]
        assert message in found[0].message

    def test_local_name_of_an_absent_sheet(self, book):
        patch(book, "xl/workbook.xml", replace('name="Flags"', 'name="Flags" localSheetId="5"'))
        assert "is local to sheet #5, which is absent" in messages(book)

    def test_names_defined_twice(self, book):
        patch(book, "xl/workbook.xml", replace('name="Flags"', 'name="RATE"'))
        assert "is defined more than once in its scope" in messages(book)


@broken
class TestGeometry:
    def test_overlapping_tables(self, book):
        patch(book, table_part(book, "Costs"), replace('"F1:G3"', '"D2:E4"'))
        assert "Sales (Data!A1:D3, xl/tables/table1.xml): overlaps table Costs" in messages(book)

    def test_table_over_merged_cells(self, tmp_path):
        path = base_workbook(tmp_path / "merged.xlsx")
        wb = openpyxl.load_workbook(path)
        wb["Data"].merge_cells("B2:C2")
        wb.save(path)
        assert "overlaps merged cells B2:C2" in messages(path)

    def test_filter_range_differs_from_table(self, book):
        patch(
            book,
            table_part(book, "Sales"),
            replace('<autoFilter ref="A1:D3"', '<autoFilter ref="A1:D2"'),
        )
        assert kinds(book) == {Kind.FILTER}
        assert "its autoFilter covers A1:D2, not A1:D3" in messages(book)

    def test_a_totals_row_is_left_out_of_the_filter(self, book):
        part = table_part(book, "Sales")
        patch(book, part, replace('headerRowCount="1"', 'headerRowCount="1" totalsRowCount="1"'))
        assert "its autoFilter covers A1:D3, not A1:D2" in messages(book)
        patch(book, part, replace('<autoFilter ref="A1:D3"', '<autoFilter ref="A1:D2"'))
        assert findings(book) == []

    def test_table_overlapping_the_sheets_own_filter(self, book):
        patch(
            book,
            "xl/worksheets/sheet1.xml",
            replace("<dataValidations", '<autoFilter ref="A1:B3"/><dataValidations'),
        )
        assert "overlaps the sheet's own filter A1:B3" in messages(book)


@broken
class TestValidations:
    @pytest.mark.parametrize(
        ("attribute", "limit"),
        [("promptTitle", 32), ("prompt", 255), ("errorTitle", 32), ("error", 224)],
    )
    def test_messages_longer_than_excel_loads(self, book, attribute, limit):
        dv = f'<dataValidation {attribute}="{"x" * (limit + 1)}" '
        patch(book, "xl/worksheets/sheet1.xml", replace("<dataValidation ", dv))
        assert messages(book) == (
            f"Data!A2:A10 (data validation): its {attribute} has {limit + 1} characters; "
            f"Excel allows {limit}"
        )

    def test_a_list_of_choices_longer_than_255_characters(self, book):
        choices = ",".join(f"choice {i:03}" for i in range(30))  # 329 characters
        patch(book, "xl/worksheets/sheet1.xml", replace(">Regions<", f'>"{choices}"<'))
        assert "its list of choices has 329 characters; Excel allows 255" in messages(book)


@broken
class TestParts:
    def test_table_part_relationship_missing(self, book):
        patch(
            book,
            "xl/worksheets/_rels/sheet1.xml.rels",
            lambda xml: re.sub(r'<Relationship [^>]*table1.xml"[^>]*/>', "", xml),
        )
        assert "is not in the sheet's .rels" in messages(book)

    def test_table_part_absent_from_the_package(self, book):
        patch(book, "xl/worksheets/_rels/sheet1.xml.rels", replace("table1.xml", "table9.xml"))
        assert "points at xl/tables/table9.xml, which is not in the package" in messages(book)


class TestTokens:
    def test_strings_and_escapes(self):
        found = tokens("IF(A1=\"x[y]\",T[[#This Row],[a']b]],'My sheet'!B2)")
        assert [(t.kind, t.text, t.inner) for t in found] == [
            ("structured", "T", "[#This Row],[a']b]"),
            ("sheet", "My sheet", ""),
        ]

    def test_cells_functions_and_booleans_are_not_names(self):
        assert tokens("SUM($A$1:B2,C:C,$1:$2)+_xlfn.XLOOKUP(1,A:A,B:B)*TRUE+1E+5") == ()

    def test_let_parameters_are_not_names(self):
        assert tokens("_xlfn.LET(_xlpm.x,2,_xlpm.x*Rate)")[0].text == "Rate"

    def test_parse_structured(self):
        assert parse_structured("[#All],[A]:[B]") == StructuredReference(("A", "B"), ("#All",))
        assert parse_structured("#Data") == StructuredReference((), ("#Data",))
        assert parse_structured("[A] x") == StructuredReference(("A",), (), malformed=True)


class TestLeadbookFiles:
    def test_a_fresh_template_is_clean(self, tmp_path):
        assert_clean(write_template(tmp_path / "new.xlsx"))

    @broken
    def test_the_pre_fix_defect_is_found(self, tmp_path):
        """Before 7c3a81f, tables kept openpyxl's Column1… names: a header cell differs and
        every formula naming that column points nowhere."""
        path = write_template(tmp_path / "new.xlsx")
        patch(path, table_part(path, "Sources"), replace('name="Source"', 'name="Column1"'))
        text = messages(path)
        assert "names this column 'Column1' but its header cell says 'Source'" in text
        assert "defined name 'SourceNames': Sources[Source] names column 'Source'" in text


@pytest.mark.libreoffice
def test_libreoffice_keeps_our_table_columns(built_demo, tmp_path):
    """LibreOffice's own table parts, the closest thing to Excel's, name every column as
    ours do; the file it saves passes the check too."""
    ours = tmp_path / "ours" / built_demo.name
    ours.parent.mkdir()
    shutil.copy2(built_demo, ours)
    saved = convert(ours, "xlsx", tmp_path / "saved")
    assert_clean(saved)
    assert table_columns(saved) == table_columns(ours)


def table_columns(path: Path) -> dict[str, list[str]]:
    """Each table's displayName → its tableColumn names, read from the raw parts."""
    from xlsx_integrity import read_package

    return {t.display_name: t.columns for t in read_package(path).tables}


@pytest.mark.broken_files("*-before-rebalance.xlsx")  # the broken file, kept as a version
def test_a_job_repairs_the_column_names_of_every_table(demo_book_path):
    """A workbook an earlier leadbook wrote (every table named Column1…, input tabs too):
    the next job names each table's columns after its header cells, the user's input tables
    included, and leaves the input cells as they were."""
    for table in ("Sources", "History", "Allocation", "Log"):
        part = table_part(demo_book_path, table)
        with zipfile.ZipFile(demo_book_path) as zf:
            xml = zf.read(part).decode()
        names = re.findall(r'<tableColumn id="(\d+)" name="([^"]*)"', xml)
        for i, (_, name) in enumerate(names, 1):
            patch(demo_book_path, part, replace(f'name="{name}"', f'name="Column{i}"'))
    assert any("Column1" in str(m) for m in findings(demo_book_path))
    inputs = openpyxl.load_workbook(demo_book_path)["Sources"]["J13"].value
    rebalance(demo_book_path)
    assert findings(demo_book_path) == []
    assert openpyxl.load_workbook(demo_book_path)["Sources"]["J13"].value == inputs
