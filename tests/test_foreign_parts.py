"""Parts of a workbook that leadbook does not own survive a write, or the write is refused.

openpyxl models only part of what Excel writes. Each fixture here adds, by editing the
package as Excel would write it, one feature openpyxl cannot create or carry (threaded
comments, sparklines, Excel 2010 data validations, rich text, Office add-in parts), and the
test checks that a ``refresh`` keeps it whole, with its relationships and content types.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET

import openpyxl
import pytest

from leadbook.errors import WorkbookFileError
from leadbook.workbook.jobs import refresh as jobs
from leadbook.workbook.jobs.rebalance import rebalance

REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
X14_NS = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM_NS = "http://schemas.microsoft.com/office/excel/2006/main"
THREADED_REL = "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment"
PERSON_REL = "http://schemas.microsoft.com/office/2017/10/relationships/person"
TASKPANES_REL = "http://schemas.microsoft.com/office/2011/relationships/webextensiontaskpanes"
WEBEXT_REL = "http://schemas.microsoft.com/office/2011/relationships/webextension"
COMMENTS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"
VML_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
CUSTOM_XML_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"


# --- reading a package the way Excel does: through relationships -------------------------


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rels_part(part: str) -> str:
    p = PurePosixPath(part)
    return f"{p.parent}/_rels/{p.name}.rels" if part else "_rels/.rels"


def related(parts: dict[str, bytes], part: str, rel_type: str) -> list[str]:
    """The parts ``part`` relates to with relationships of ``rel_type`` ("" for the package)."""
    data = parts.get(rels_part(part).lstrip("/").removeprefix("./"))
    if data is None:
        return []
    base = str(PurePosixPath(part).parent) if part else ""
    out = []
    for rel in ET.fromstring(data).iter(f"{{{REL_NS}}}Relationship"):
        if rel.get("Type") == rel_type:
            target = rel.get("Target", "")
            out.append(
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(base, target))
            )
    return out


def sheet_part(parts: dict[str, bytes], tab: str) -> str:
    book = ET.fromstring(parts["xl/workbook.xml"])
    rid = next(
        s.get(f"{{{R_NS}}}id") for s in book.iter(f"{{{MAIN_NS}}}sheet") if s.get("name") == tab
    )
    rels = ET.fromstring(parts["xl/_rels/workbook.xml.rels"])
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def content_type(parts: dict[str, bytes], part: str) -> str | None:
    types = ET.fromstring(parts["[Content_Types].xml"])
    ns = "{http://schemas.openxmlformats.org/package/2006/content-types}"
    for override in types.iter(f"{ns}Override"):
        if override.get("PartName") == f"/{part}":
            return override.get("ContentType")
    ext = part.rsplit(".", 1)[-1]
    for default in types.iter(f"{ns}Default"):
        if default.get("Extension") == ext:
            return default.get("ContentType")
    return None


def canonical(xml: bytes) -> str:
    return ET.canonicalize(xml.decode("utf-8"), strip_text=True)


def assert_package_sound(parts: dict[str, bytes]) -> None:
    """What Excel checks of a package before its cells: every relationship resolves, ids are
    unique, every part has a content type, worksheet children come in schema order."""
    for name, data in parts.items():
        if not name.endswith(".rels"):
            assert name == "[Content_Types].xml" or content_type(parts, name), name
            continue
        rels = list(ET.fromstring(data))
        assert len({r.get("Id") for r in rels}) == len(rels), name
        source = name.replace("_rels/", "").removesuffix(".rels")
        for r in rels:
            if r.get("TargetMode") != "External":
                assert related(parts, source, r.get("Type")), (name, r.get("Target"))
                for target in related(parts, source, r.get("Type")):
                    assert target in parts, (name, target)
    for part in list(parts):
        if content_type(parts, part) == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
        ):
            tags = [e.tag.rsplit("}", 1)[-1] for e in ET.fromstring(parts[part])]
            places = [SHEET_ORDER.index(t) for t in tags]
            assert places == sorted(places), (part, tags)


# --- editing a package as Excel would write it ---------------------------------------------


def edit_package(path: Path, change) -> None:
    """Let ``change(parts)`` edit the package's parts (a dict of name → bytes) in place."""
    parts = parts_of(path)
    change(parts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def add_rel(parts: dict[str, bytes], part: str, rel_type: str, target: str) -> str:
    """Add a relationship from ``part`` to the absolute ``target``; its id."""
    name = rels_part(part)
    xml = parts.get(name, f'<Relationships xmlns="{REL_NS}"></Relationships>'.encode()).decode()
    taken = set(re.findall(r'Id="([^"]+)"', xml))
    rid = next(f"rIdx{i}" for i in range(1, 999) if f"rIdx{i}" not in taken)
    rel = f'<Relationship Id="{rid}" Type="{rel_type}" Target="/{target}"/>'
    parts[name] = xml.replace("</Relationships>", rel + "</Relationships>").encode()
    return rid


def add_part(parts: dict[str, bytes], name: str, ctype: str, xml: str) -> None:
    parts[name] = xml.encode("utf-8")
    types = parts["[Content_Types].xml"].decode()
    override = f'<Override PartName="/{name}" ContentType="{ctype}"/>'
    parts["[Content_Types].xml"] = types.replace("</Types>", override + "</Types>").encode()


def insert_in_sheet(parts: dict[str, bytes], part: str, before: list[str], xml: str) -> None:
    """Put ``xml`` in worksheet ``part`` before the first of the elements ``before`` present."""
    text = parts[part].decode()
    at = min(
        (m.start() for tag in before if (m := re.search(rf"<{tag}[\s/>]", text))),
        default=text.rindex("</worksheet>"),
    )
    parts[part] = (text[:at] + xml + text[at:]).encode()


def declare(parts: dict[str, bytes], part: str, **prefixes: str) -> None:
    """Declare namespace prefixes on the root of ``part`` (as Excel does, on the root)."""
    text = parts[part].decode()
    root = re.search(r"<worksheet\b", text)
    start = text[root.start() : text.index(">", root.start())]
    decls = "".join(
        f' xmlns:{p}="{ns}"' for p, ns in prefixes.items() if f"xmlns:{p}=" not in start
    )
    parts[part] = (text[: root.end()] + decls + text[root.end() :]).encode()


SHEET_ORDER = (
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
)
"""CT_Worksheet's sequence of children, as the schema lists it."""


def after(tag: str) -> list[str]:
    """The worksheet elements the schema puts after ``tag``."""
    return list(SHEET_ORDER[SHEET_ORDER.index(tag) + 1 :])


PERSON = (
    '<personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"'
    ' xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<person displayName="Dana Finance" id="{6D3B7F7E-1F0B-4C59-9D7D-0A1B2C3D4E5F}"'
    ' userId="dana@example.com" providerId="AD"/></personList>'
)
THREADED = (
    '<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/'
    'threadedcomments" xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<threadedComment ref="A5" dT="2026-11-02T09:14:00.00" '
    'personId="{6D3B7F7E-1F0B-4C59-9D7D-0A1B2C3D4E5F}" '
    'id="{0B8C4A1E-7D2F-4E3A-9B6C-5D4E3F2A1B0C}"><text>Is the $156 CPL net of the '
    "rebate?</text></threadedComment></ThreadedComments>"
)
LEGACY_COMMENTS = (
    f'<comments xmlns="{MAIN_NS}" xmlns:mc="http://schemas.openxmlformats.org/'
    'markup-compatibility/2006" mc:Ignorable="xr" xmlns:xr="http://schemas.microsoft.com/'
    'office/spreadsheetml/2014/revision"><authors><author>tc={0B8C4A1E-7D2F-4E3A-9B6C-'
    '5D4E3F2A1B0C}</author></authors><commentList><comment ref="A5" authorId="0" '
    'shapeId="0" xr:uid="{0B8C4A1E-7D2F-4E3A-9B6C-5D4E3F2A1B0C}"><text><t>[Threaded comment]'
    "\n\nYour version of Excel allows you to read this threaded comment; however, any edits "
    "to it will get removed if the file is opened in a newer version of Excel. Learn more: "
    "https://go.microsoft.com/fwlink/?linkid=870924\n\nComment:\n    Is the $156 CPL net of "
    "the rebate?</t></text></comment></commentList></comments>"
)
VML = (
    '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:'
    'office" xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
    '<o:idmap v:ext="edit" data="1"/></o:shapelayout><v:shapetype id="_x0000_t202" '
    'coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke '
    'joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
    '<v:shape id="_x0000_s1025" type="#_x0000_t202" style="position:absolute;margin-left:'
    '59.25pt;margin-top:1.5pt;width:108pt;height:59.25pt;z-index:1;visibility:hidden" '
    'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" '
    'color="black" obscured="t"/><v:path o:connecttype="none"/><v:textbox style='
    '"mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
    '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>1, 15, '
    "3, 10, 3, 15, 7, 4</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>4</x:Row><x:Column>0"
    "</x:Column></x:ClientData></v:shape></xml>"
)


def add_threaded_comment(parts: dict[str, bytes]) -> str:
    """A threaded comment on Sources!A5 as Excel 365 writes it: the threaded comment and the
    person list, plus the legacy note (comments part and VML shape) older Excel reads."""
    sheet = sheet_part(parts, "Sources")
    add_part(
        parts,
        "xl/persons/person.xml",
        "application/vnd.ms-excel.person+xml",
        PERSON,
    )
    add_rel(parts, "xl/workbook.xml", PERSON_REL, "xl/persons/person.xml")
    add_part(
        parts,
        "xl/threadedComments/threadedComment1.xml",
        "application/vnd.ms-excel.threadedcomments+xml",
        THREADED,
    )
    add_part(
        parts,
        "xl/comments1.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml",
        LEGACY_COMMENTS,
    )
    parts["xl/drawings/vmlDrawing1.vml"] = VML.encode()
    types = parts["[Content_Types].xml"].decode()
    if 'Extension="vml"' not in types:
        vml = (
            '<Default Extension="vml" '
            'ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
        )
        parts["[Content_Types].xml"] = types.replace("</Types>", vml + "</Types>").encode()
    vml_id = add_rel(parts, sheet, VML_REL, "xl/drawings/vmlDrawing1.vml")
    add_rel(parts, sheet, COMMENTS_REL, "xl/comments1.xml")
    add_rel(parts, sheet, THREADED_REL, "xl/threadedComments/threadedComment1.xml")
    declare(parts, sheet, r=R_NS)
    insert_in_sheet(parts, sheet, after("legacyDrawing"), f'<legacyDrawing r:id="{vml_id}"/>')
    return sheet


def x14_ext(uri: str, body: str) -> str:
    return f'<extLst><ext uri="{uri}" xmlns:x14="{X14_NS}">{body}</ext></extLst>'


SPARKLINES = x14_ext(
    "{05C60535-1F16-4fd2-B633-F4F36F0B64E0}",
    '<x14:sparklineGroups xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:sparklineGroup displayEmptyCellsAs="gap" markers="1"><x14:colorSeries rgb="FF376092"/>'
    '<x14:colorNegative rgb="FFD00000"/><x14:colorAxis rgb="FF000000"/><x14:colorMarkers '
    'rgb="FFD00000"/><x14:colorFirst rgb="FFD00000"/><x14:colorLast rgb="FFD00000"/>'
    '<x14:colorHigh rgb="FFD00000"/><x14:colorLow rgb="FFD00000"/><x14:sparklines>'
    "<x14:sparkline><xm:f>Notes!B2:G2</xm:f><xm:sqref>H2</xm:sqref></x14:sparkline>"
    "<x14:sparkline><xm:f>Notes!B3:G3</xm:f><xm:sqref>H3</xm:sqref></x14:sparkline>"
    "</x14:sparklines></x14:sparklineGroup></x14:sparklineGroups>",
)
X14_VALIDATIONS = x14_ext(
    "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}",
    '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/'
    'main"><x14:dataValidation type="list" allowBlank="1" showInputMessage="1" '
    'showErrorMessage="1"><x14:formula1><xm:f>Notes!$A$2:$A$3</xm:f></x14:formula1>'
    "<xm:sqref>AJ6:AJ16</xm:sqref></x14:dataValidation></x14:dataValidations>",
)


def add_users_tab(path: Path) -> None:
    """A tab of the user's own, Notes, that leadbook knows nothing about."""
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Notes")
    ws.append(["Channel", "W1", "W2", "W3", "W4", "W5", "W6", "Trend"])
    ws.append(["Comparison sites", 10, 12, 9, 14, 15, 13])
    ws.append(["Aggregators", 8, 7, 9, 8, 10, 11])
    wb.save(path)


def add_sparklines(parts: dict[str, bytes]) -> str:
    sheet = sheet_part(parts, "Notes")
    declare(
        parts,
        sheet,
        mc="http://schemas.openxmlformats.org/markup-compatibility/2006",
        x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac",
    )
    text = parts[sheet].decode().replace("<worksheet ", '<worksheet mc:Ignorable="x14ac" ', 1)
    parts[sheet] = text.encode()
    insert_in_sheet(parts, sheet, [], SPARKLINES)
    return sheet


def add_x14_validation(parts: dict[str, bytes]) -> str:
    sheet = sheet_part(parts, "Sources")
    insert_in_sheet(parts, sheet, after("tableParts"), X14_VALIDATIONS)
    return sheet


RICH_RUNS = (
    '<r><rPr><b/><sz val="11"/><color rgb="FFC00000"/><rFont val="Calibri"/></rPr>'
    '<t>Blue-on-yellow</t></r><r><rPr><sz val="11"/><rFont val="Calibri"/></rPr>'
    '<t xml:space="preserve"> cells are inputs; black cells are Excel formulas.</t></r>'
)


def add_rich_text_inline(parts: dict[str, bytes]) -> str:
    """Sources!A2 as a rich inline string (bold red first words)."""
    sheet = sheet_part(parts, "Sources")
    text = parts[sheet].decode()
    text, n = re.subn(
        r'(<c r="A2"[^>]*t="inlineStr"[^>]*>)<is>.*?</is>', rf"\1<is>{RICH_RUNS}</is>", text
    )
    assert n == 1
    parts[sheet] = text.encode()
    return sheet


def add_rich_text_shared(parts: dict[str, bytes]) -> str:
    """Sources!A2 as a rich shared string, as Excel writes every string."""
    sheet = sheet_part(parts, "Sources")
    add_part(
        parts,
        "xl/sharedStrings.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml",
        f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si>{RICH_RUNS}</si></sst>',
    )
    add_rel(parts, "xl/workbook.xml", SST_REL, "xl/sharedStrings.xml")
    text = parts[sheet].decode()
    text, n = re.subn(
        r'<c r="A2"( s="\d+")? t="inlineStr"><is>.*?</is></c>',
        r'<c r="A2"\1 t="s"><v>0</v></c>',
        text,
    )
    assert n == 1
    parts[sheet] = text.encode()
    return sheet


TASKPANES = (
    '<wetp:taskpanes xmlns:wetp="http://schemas.microsoft.com/office/webextensions/taskpanes/'
    '2010/11"><wetp:taskpane dockstate="right" visibility="1" width="350" row="4">'
    '<wetp:webextensionref xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships" r:id="rId1"/></wetp:taskpane></wetp:taskpanes>'
)
WEBEXTENSION = (
    '<we:webextension xmlns:we="http://schemas.microsoft.com/office/webextensions/webextension/'
    '2010/11" id="{52811C31-4593-4B2C-8D2A-3A5E4B5E0C11}"><we:reference id="wa200005502" '
    'version="1.0.0.0" store="en-US" storeType="OMEX"/><we:alternateReferences/><we:properties>'
    '<we:property name="leadbook.server" value="&quot;https://leadbook.example.com&quot;"/>'
    '<we:property name="Office.AutoShowTaskpaneWithDocument" value="true"/></we:properties>'
    '<we:bindings/><we:snapshot xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"/></we:webextension>'
)


def add_webextension(parts: dict[str, bytes]) -> str:
    """An Office add-in's task pane, set to open with the workbook, and its settings."""
    add_part(
        parts,
        "xl/webextensions/taskpanes.xml",
        "application/vnd.ms-office.webextensiontaskpanes+xml",
        TASKPANES,
    )
    add_part(
        parts,
        "xl/webextensions/webextension1.xml",
        "application/vnd.ms-office.webextension+xml",
        WEBEXTENSION,
    )
    parts["xl/webextensions/_rels/taskpanes.xml.rels"] = (
        f'<Relationships xmlns="{REL_NS}"><Relationship Id="rId1" Type="{WEBEXT_REL}" '
        'Target="webextension1.xml"/></Relationships>'
    ).encode()
    add_rel(parts, "", TASKPANES_REL, "xl/webextensions/taskpanes.xml")
    return "xl/webextensions/taskpanes.xml"


def add_custom_xml(parts: dict[str, bytes]) -> str:
    """A custom XML data part (as SharePoint or an add-in stores document metadata)."""
    parts["customXml/item1.xml"] = b'<leadbookReview xmlns="urn:example:review">Q3</leadbookReview>'
    parts["customXml/itemProps1.xml"] = (
        b'<ds:datastoreItem ds:itemID="{3F1E2D4C-5B6A-4798-8A9B-0C1D2E3F4A5B}" xmlns:ds='
        b'"http://schemas.openxmlformats.org/officeDocument/2006/customXml"><ds:schemaRefs/>'
        b"</ds:datastoreItem>"
    )
    types = parts["[Content_Types].xml"].decode()
    override = (
        '<Override PartName="/customXml/itemProps1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.customXmlProperties+xml"/>'
    )
    parts["[Content_Types].xml"] = types.replace("</Types>", override + "</Types>").encode()
    parts["customXml/_rels/item1.xml.rels"] = (
        f'<Relationships xmlns="{REL_NS}"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/customXmlProps" '
        'Target="itemProps1.xml"/></Relationships>'
    ).encode()
    add_rel(parts, "xl/workbook.xml", CUSTOM_XML_REL, "customXml/item1.xml")
    return "customXml/item1.xml"


# --- the tests ---------------------------------------------------------------------------


def refresh(path: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    before = parts_of(path)
    jobs.refresh(path)
    return before, parts_of(path)


def assert_same_part(before, after, old: str, new: str) -> None:
    assert new in after, f"{old} was dropped"
    assert canonical(after[new]) == canonical(before[old])
    assert content_type(after, new) == content_type(before, old)


class TestKeepsWhatOpenpyxlDrops:
    def test_threaded_comments_and_persons(self, demo_book_path):
        edit_package(demo_book_path, add_threaded_comment)
        before, after = refresh(demo_book_path)
        sheet = sheet_part(after, "Sources")
        (threaded,) = related(after, sheet, THREADED_REL)
        assert_same_part(before, after, "xl/threadedComments/threadedComment1.xml", threaded)
        (person,) = related(after, "xl/workbook.xml", PERSON_REL)
        assert_same_part(before, after, "xl/persons/person.xml", person)
        # the legacy note stays tied to its thread (Excel matches them by xr:uid)
        (comments,) = related(after, sheet, COMMENTS_REL)
        assert_same_part(before, after, "xl/comments1.xml", comments)
        (vml,) = related(after, sheet, VML_REL)
        assert b"<x:Row>4</x:Row>" in after[vml]
        assert re.search(rb"<legacyDrawing [^>]*r:id=", after[sheet])

    def test_sparklines_on_a_users_tab(self, demo_book_path):
        add_users_tab(demo_book_path)
        edit_package(demo_book_path, add_sparklines)
        before, after = refresh(demo_book_path)
        got = ET.fromstring(after[sheet_part(after, "Notes")]).find(f"{{{MAIN_NS}}}extLst")
        want = ET.fromstring(before[sheet_part(before, "Notes")]).find(f"{{{MAIN_NS}}}extLst")
        assert got is not None, "the sparklines (extLst) were dropped"
        assert ET.canonicalize(ET.tostring(got)) == ET.canonicalize(ET.tostring(want))
        # the root says, as the original did, which prefixes an older Excel may ignore
        ignorable = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Ignorable"
        assert ET.fromstring(after[sheet_part(after, "Notes")]).get(ignorable) == "x14ac"

    def test_excel_2010_data_validations(self, demo_book_path):
        add_users_tab(demo_book_path)
        edit_package(demo_book_path, add_x14_validation)
        _, after = refresh(demo_book_path)
        root = ET.fromstring(after[sheet_part(after, "Sources")])
        lists = root.findall(f".//{{{X14_NS}}}dataValidation")
        assert len(lists) == 1, "the x14 data validation was dropped"
        assert lists[0].find(f".//{{{XM_NS}}}f").text == "Notes!$A$2:$A$3"
        assert list(root)[-1].tag == f"{{{MAIN_NS}}}extLst"  # extLst stays last (schema order)

    @pytest.mark.parametrize("add", [add_rich_text_inline, add_rich_text_shared])
    def test_rich_text_on_an_input_tab(self, demo_book_path, add):
        edit_package(demo_book_path, add)
        jobs.refresh(demo_book_path)
        wb = openpyxl.load_workbook(demo_book_path, rich_text=True)
        runs = wb["Sources"]["A2"].value
        assert [str(r.text) if hasattr(r, "text") else r for r in runs] == [
            "Blue-on-yellow",
            " cells are inputs; black cells are Excel formulas.",
        ]
        assert runs[0].font.b and runs[0].font.color.rgb == "FFC00000"

    def test_rich_text_on_an_input_tab_written_in_utf16(self, demo_book_path):
        """XML may be UTF-16 (openpyxl reads it): the checks on the part's bytes looked for
        UTF-8 ones, found no runs, and the write flattened them without a word."""

        def in_utf16(parts: dict[str, bytes]) -> None:
            sheet = add_rich_text_inline(parts)
            declared = '<?xml version="1.0" encoding="UTF-16"?>' + parts[sheet].decode()
            parts[sheet] = declared.encode("utf-16")

        edit_package(demo_book_path, in_utf16)
        jobs.refresh(demo_book_path)
        runs = openpyxl.load_workbook(demo_book_path, rich_text=True)["Sources"]["A2"].value
        assert [str(r.text) if hasattr(r, "text") else r for r in runs] == [
            "Blue-on-yellow",
            " cells are inputs; black cells are Excel formulas.",
        ]

    def test_parts_that_relate_twice_to_the_next_are_digested_once_each(
        self, demo_book_path, monkeypatch
    ):
        """Each part's subtree was digested anew along every path to it: 40 parts, each
        related twice to the next (a few kilobytes), asked for 2**40 digests, and refresh
        ran for ever (depth 18 already took 215 s)."""
        from leadbook.workbook import package

        note = "http://example.com/relationships/note"

        def chain(parts: dict[str, bytes]) -> None:
            add_rel(parts, "xl/workbook.xml", note, "xl/notes/n0.xml")
            for k in range(41):
                parts[f"xl/notes/n{k}.xml"] = f'<note xmlns="urn:x">{k}</note>'.encode()
            for k in range(40):
                twice = "".join(
                    f'<Relationship Id="{i}" Type="{note}" Target="n{k + 1}.xml"/>' for i in "ab"
                )
                parts[f"xl/notes/_rels/n{k}.xml.rels"] = (
                    f'<Relationships xmlns="{REL_NS}">{twice}</Relationships>'.encode()
                )

        edit_package(demo_book_path, chain)
        canonical, calls = package._canonical, []

        def counted(*args):
            calls.append(1)
            if len(calls) > 100_000:
                raise AssertionError("digested the same parts over and over")
            return canonical(*args)

        monkeypatch.setattr(package, "_canonical", counted)
        before, after = refresh(demo_book_path)
        (kept,) = related(after, "xl/workbook.xml", note)
        assert_same_part(before, after, "xl/notes/n0.xml", kept)

    def test_a_package_of_many_parts_is_read_once_per_change(self, demo_book_path, monkeypatch):
        """The content types (and each part's relationships) were parsed again for every
        part looked up: 4,000 notes under the workbook (775 KB) took refresh 160 s, and the
        time grows with the square of the parts."""
        from leadbook.workbook import parts as package_parts

        note = "http://example.com/relationships/note"

        def notes(parts: dict[str, bytes]) -> None:
            for k in range(300):
                add_rel(parts, "xl/workbook.xml", note, f"xl/notes/n{k}.xml")
                parts[f"xl/notes/n{k}.xml"] = f'<note xmlns="urn:x">{k}</note>'.encode()

        edit_package(demo_book_path, notes)
        parse, parsed = package_parts.ET.fromstring, []

        def counted(data, *args, **kwargs):
            parsed.append(b"<Types" in data[:300])
            return parse(data, *args, **kwargs)

        monkeypatch.setattr(package_parts.ET, "fromstring", counted)
        _, after = refresh(demo_book_path)
        assert sum(parsed) < 50, f"the content types were parsed {sum(parsed)} times"
        assert len(related(after, "xl/workbook.xml", note)) == 300

    def test_office_add_in_task_pane_and_settings(self, demo_book_path):
        edit_package(demo_book_path, add_webextension)
        before, after = refresh(demo_book_path)
        (panes,) = related(after, "", TASKPANES_REL)
        assert_same_part(before, after, "xl/webextensions/taskpanes.xml", panes)
        (ext,) = related(after, panes, WEBEXT_REL)
        assert_same_part(before, after, "xl/webextensions/webextension1.xml", ext)

    def test_custom_xml_data(self, demo_book_path):
        edit_package(demo_book_path, add_custom_xml)
        before, after = refresh(demo_book_path)
        (item,) = related(after, "xl/workbook.xml", CUSTOM_XML_REL)
        assert after[item] == before["customXml/item1.xml"]
        (props,) = related(after, item, CUSTOM_XML_REL + "Props")
        assert_same_part(before, after, "customXml/itemProps1.xml", props)

    def test_everything_at_once_opens_in_libreoffice(self, demo_book_path, tmp_path):
        from leadbook.workbook.libreoffice import convert

        add_users_tab(demo_book_path)
        for add in (
            add_threaded_comment,
            add_sparklines,
            add_x14_validation,
            add_webextension,
            add_rich_text_shared,
            add_custom_xml,
            add_excel_page_setup,
            add_excel_workbook_settings,
        ):
            edit_package(demo_book_path, add)
        jobs.refresh(demo_book_path)
        assert_package_sound(parts_of(demo_book_path))
        out = tmp_path / "lo"
        out.mkdir()
        converted = convert(demo_book_path, "csv", out)
        assert converted.read_text().startswith("leadbook")  # Start!A1


METADATA_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sheetMetadata"
DYNAMIC_ARRAY_METADATA = (
    f'<metadata xmlns="{MAIN_NS}" xmlns:xda="http://schemas.microsoft.com/office/'
    'spreadsheetml/2017/dynamicarray"><metadataTypes count="1"><metadataType name="XLDAPR" '
    'minSupportedVersion="120000" copy="1" pasteAll="1" pasteValues="1" merge="1" '
    'splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" coerce="1" '
    'cellMeta="1"/></metadataTypes><futureMetadata name="XLDAPR" count="1"><bk><extLst><ext '
    'uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}"><xda:dynamicArrayProperties fDynamic="1" '
    'fCollapsed="0"/></ext></extLst></bk></futureMetadata><cellMetadata count="1"><bk>'
    '<rc t="1" v="0"/></bk></cellMetadata></metadata>'
)


def add_dynamic_array(parts: dict[str, bytes]) -> str:
    """A spilling formula a user typed on their own tab, as Excel 365 writes it: the cell
    points (cm) at the workbook's cell metadata, which says the array is dynamic."""
    add_part(
        parts,
        "xl/metadata.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml",
        DYNAMIC_ARRAY_METADATA,
    )
    add_rel(parts, "xl/workbook.xml", METADATA_REL, "xl/metadata.xml")
    sheet = sheet_part(parts, "Notes")
    rows = (
        '<row r="5"><c r="H5" cm="1"><f t="array" ref="H5:H6">_xlfn._xlws.SORT(B2:B3)</f>'
        '<v>8</v></c></row><row r="6"><c r="H6"><v>10</v></c></row>'
    )
    parts[sheet] = parts[sheet].decode().replace("</sheetData>", rows + "</sheetData>").encode()
    return sheet


AUDITED = [
    (add_threaded_comment, r"the threadedComment part \S+ of tab Sources"),
    (add_threaded_comment, r"the person part xl/persons/person\.xml of the workbook"),
    (add_sparklines, r"sparklines on tab Notes"),
    (add_x14_validation, r"Excel 2010 data validations on tab Sources"),
    (add_rich_text_inline, r"rich text in Sources!A2"),
    (add_rich_text_shared, r"rich text in Sources!A2"),
    (add_webextension, r"the webextensiontaskpanes part \S+ of the package"),
    (add_custom_xml, r"the customXml part customXml/item1\.xml of the workbook"),
    (add_dynamic_array, r"a dynamic array formula in Notes!H5"),
    (add_dynamic_array, r"the sheetMetadata part xl/metadata\.xml of the workbook"),
]


class TestAuditNamesWhatOpenpyxlDrops:
    """Without the graft, the audit alone names each loss: keep or refuse, never drop."""

    @pytest.mark.parametrize(("add", "named"), AUDITED)
    def test_a_plain_openpyxl_save_is_caught(self, demo_book_path, tmp_path, add, named):
        from leadbook.workbook.losses import foreign_losses

        add_users_tab(demo_book_path)
        edit_package(demo_book_path, add)
        saved = tmp_path / "saved.xlsx"
        openpyxl.load_workbook(demo_book_path).save(saved)
        assert any(re.fullmatch(named, lost) for lost in foreign_losses(demo_book_path, saved))

    def test_nothing_is_reported_for_a_workbook_leadbook_wrote(self, demo_book_path):
        from leadbook.workbook.losses import foreign_losses

        jobs.refresh(demo_book_path)
        (kept,) = demo_book_path.parent.glob("*.leadbook-versions/*.xlsx")
        assert foreign_losses(kept, demo_book_path) == []


PRINTER = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/printerSettings"


def add_excel_page_setup(parts: dict[str, bytes]) -> str:
    """What Excel writes for a tab printed once: its printer's settings (a binary part the
    pageSetup refers to), and the green-triangle warnings a user chose to ignore."""
    sheet = sheet_part(parts, "Sources")
    parts["xl/printerSettings/printerSettings1.bin"] = bytes(range(256)) * 4
    types = parts["[Content_Types].xml"].decode()
    default = (
        '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.printerSettings"/>'
    )
    parts["[Content_Types].xml"] = types.replace("</Types>", default + "</Types>").encode()
    rid = add_rel(parts, sheet, PRINTER, "xl/printerSettings/printerSettings1.bin")
    declare(parts, sheet, r=R_NS)
    text = parts[sheet].decode()
    text = re.sub(r"<pageSetup\b[^>]*/>", "", text)
    parts[sheet] = text.encode()
    insert_in_sheet(
        parts,
        sheet,
        after("pageSetup"),
        f'<pageSetup orientation="landscape" paperSize="9" r:id="{rid}"/>',
    )
    insert_in_sheet(
        parts,
        sheet,
        after("ignoredErrors"),
        '<ignoredErrors><ignoredError sqref="G6:G16" numberStoredAsText="1"/></ignoredErrors>',
    )
    return sheet


def add_form_control(parts: dict[str, bytes]) -> str:
    """A form control as Excel 2010+ writes it: wrapped in mc:AlternateContent, which
    leadbook cannot put back in schema order."""
    sheet = sheet_part(parts, "Sources")
    declare(parts, sheet, mc="http://schemas.openxmlformats.org/markup-compatibility/2006")
    insert_in_sheet(
        parts,
        sheet,
        after("controls"),
        '<mc:AlternateContent><mc:Choice Requires="x14"><controls/></mc:Choice>'
        "<mc:Fallback/></mc:AlternateContent>",
    )
    return sheet


class TestExcelsOwnSheetParts:
    def test_printer_settings_and_ignored_errors(self, demo_book_path):
        edit_package(demo_book_path, add_excel_page_setup)
        before, after = refresh(demo_book_path)
        sheet = sheet_part(after, "Sources")
        (printer,) = related(after, sheet, PRINTER)
        assert after[printer] == before["xl/printerSettings/printerSettings1.bin"]
        root = ET.fromstring(after[sheet])
        setup = root.find(f"{{{MAIN_NS}}}pageSetup")
        assert setup.get("orientation") == "landscape"
        assert setup.get(f"{{{R_NS}}}id")
        assert root.find(f"{{{MAIN_NS}}}ignoredErrors") is not None

    @pytest.mark.broken_files("demo.xlsx")
    def test_refuses_what_it_cannot_put_back(self, demo_book_path):
        edit_package(demo_book_path, add_form_control)
        before = demo_book_path.read_bytes()
        with pytest.raises(
            WorkbookFileError,
            match=r"would drop the worksheet element <AlternateContent> of tab Sources; "
            "nothing was written",
        ):
            jobs.refresh(demo_book_path)
        assert demo_book_path.read_bytes() == before


def add_excel_workbook_settings(parts: dict[str, bytes]) -> str:
    """What Excel writes in every workbook part and openpyxl drops: the file version, where
    the file was last saved (x15ac:absPath), recovery settings and the workbook's extensions;
    plus a custom view a user saved."""
    book = parts["xl/workbook.xml"].decode()
    book = book.replace(
        "<workbook ",
        '<workbook xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac" '
        'mc:Ignorable="x15ac" ',
        1,
    )
    book = re.sub(
        r"<workbookPr\s*/>",
        '<fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="27425"/>'
        '<workbookPr defaultThemeVersion="166925"/><mc:AlternateContent><mc:Choice '
        'Requires="x15"><x15ac:absPath url="C:\\\\Users\\\\dana\\\\"/></mc:Choice>'
        "</mc:AlternateContent>",
        book,
        count=1,
    )
    book = book.replace(
        "</workbook>",
        '<customWorkbookViews><customWorkbookView name="Dana - review" '
        'guid="{5B6A7C8D-1E2F-4A3B-9C4D-5E6F7A8B9C0D}" windowWidth="1200" windowHeight="800" '
        'activeSheetId="3"/></customWorkbookViews><fileRecoveryPr repairLoad="1"/><extLst>'
        '<ext uri="{140A7094-0E35-4892-8432-C4D2E57EDEB5}" xmlns:x15="http://schemas.'
        'microsoft.com/office/spreadsheetml/2010/11/main"><x15:workbookPr '
        'chartTrackingRefBase="1"/></ext></extLst></workbook>',
    )
    parts["xl/workbook.xml"] = book.encode()
    return "xl/workbook.xml"


def test_the_workbook_parts_own_settings_and_extensions(demo_book_path):
    edit_package(demo_book_path, add_excel_workbook_settings)
    _, after = refresh(demo_book_path)
    book = ET.fromstring(after["xl/workbook.xml"])
    children = [e.tag.rsplit("}", 1)[-1] for e in book]
    for tag in ("fileVersion", "customWorkbookViews", "fileRecoveryPr", "extLst"):
        assert tag in children
    assert children.index("fileVersion") == 0
    assert children[-3:] == ["customWorkbookViews", "fileRecoveryPr", "extLst"]


TABLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table"
ALT_TEXT = (
    '<extLst><ext uri="{504A1905-F514-4f6f-8877-14C23A59335A}" xmlns:x14="http://schemas.'
    'microsoft.com/office/spreadsheetml/2009/9/main"><x14:table altText="Lead sources" '
    'altTextSummary="One row per vendor or channel"/></ext></extLst>'
)


@pytest.mark.broken_files("*-before-refresh.xlsx")  # the version kept: columns misnamed
def test_an_input_tables_alt_text_with_its_columns_repaired(demo_book_path):
    """The table keeps the user's alt text; leadbook still names its columns (its own)."""

    def change(parts):
        sheet = sheet_part(parts, "Sources")
        part = next(t for t in related(parts, sheet, TABLE_REL) if b'name="Sources"' in parts[t])
        xml = parts[part].decode().replace("</table>", ALT_TEXT + "</table>")
        parts[part] = re.sub(r'(<tableColumn id="1" name=")[^"]*"', r'\1Column1"', xml).encode()

    edit_package(demo_book_path, change)
    _, after = refresh(demo_book_path)
    sheet = sheet_part(after, "Sources")
    (table,) = [t for t in related(after, sheet, TABLE_REL) if b'name="Sources"' in after[t]]
    assert b'altText="Lead sources"' in after[table]
    assert b'<tableColumn id="1" name="Source"' in after[table]


def test_when_putting_back_fails_the_write_is_refused(demo_book_path, monkeypatch):
    """Keep or refuse: a graft that fails leaves its tab as openpyxl wrote it, and the audit
    refuses the write, naming what would be lost; the file stays byte-identical."""
    from leadbook.workbook import package

    def broken(*args):
        raise ValueError("no place for it")

    add_users_tab(demo_book_path)
    edit_package(demo_book_path, add_sparklines)
    monkeypatch.setattr(package, "_insert_in_order", broken)
    before = demo_book_path.read_bytes()
    with pytest.raises(
        WorkbookFileError, match=r"would drop sparklines on tab Notes; nothing was written"
    ):
        jobs.refresh(demo_book_path)
    assert demo_book_path.read_bytes() == before


def test_a_dynamic_array_formula_on_a_users_tab(demo_book_path):
    """openpyxl drops the cell's cm: Excel would show the spill as a legacy array formula."""
    add_users_tab(demo_book_path)
    edit_package(demo_book_path, add_dynamic_array)
    before, after = refresh(demo_book_path)
    (metadata,) = related(after, "xl/workbook.xml", METADATA_REL)
    assert_same_part(before, after, "xl/metadata.xml", metadata)
    root = ET.fromstring(after[sheet_part(after, "Notes")])
    cell = next(c for c in root.iter(f"{{{MAIN_NS}}}c") if c.get("r") == "H5")
    assert cell.get("cm") == "1"
    assert cell.find(f"{{{MAIN_NS}}}f").get("ref") == "H5:H6"


VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
MACRO_BOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def as_macro_workbook(parts: dict[str, bytes]) -> bytes:
    """The package as Excel saves an .xlsm: a macro project (its bytes opaque to leadbook)
    related from the workbook part, whose content type says macros are enabled."""
    project = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8  # an OLE file's start
    parts["xl/vbaProject.bin"] = project
    types = parts["[Content_Types].xml"].decode()
    types = types.replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", MACRO_BOOK
    )
    bin_type = '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
    parts["[Content_Types].xml"] = types.replace("</Types>", bin_type + "</Types>").encode()
    add_rel(parts, "xl/workbook.xml", VBA_REL, "xl/vbaProject.bin")
    return project


def test_a_macro_workbook_keeps_its_macros_and_the_users_parts(demo_book_path):
    """An .xlsm with a macro project and parts openpyxl drops (a threaded comment, sparklines,
    Excel 2010 validations on a user's tab): every command that writes keeps all of them, the
    macro project byte for byte, and the file stays a macro workbook."""
    book = demo_book_path.with_suffix(".xlsm")
    demo_book_path.rename(book)
    kept = {}

    def graft(parts: dict[str, bytes]) -> None:
        kept["project"] = as_macro_workbook(parts)
        add_threaded_comment(parts)
        add_x14_validation(parts)

    add_users_tab(book)
    edit_package(book, graft)
    edit_package(book, add_sparklines)
    before = parts_of(book)
    jobs.refresh(book)
    rebalance(book)
    after = parts_of(book)
    assert after["xl/vbaProject.bin"] == kept["project"]
    assert content_type(after, "xl/workbook.xml") == MACRO_BOOK
    assert related(after, "xl/workbook.xml", VBA_REL) == ["xl/vbaProject.bin"]
    threaded = [n for n in after if n.startswith("xl/threadedComments/")]
    assert [canonical(after[n]) for n in threaded] == [
        canonical(before[n]) for n in before if n.startswith("xl/threadedComments/")
    ]
    assert b"{05C60535-1F16-4fd2-B633-F4F36F0B64E0}" in after[sheet_part(after, "Notes")]
    assert b"{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" in after[sheet_part(after, "Sources")]
    assert_package_sound(after)
