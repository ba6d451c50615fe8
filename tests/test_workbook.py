"""The workbook as system of record: build, read, check, refresh, and safe writes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference

from leadbook.errors import InputError, WorkbookFileError
from leadbook.settings import Settings
from leadbook.workbook import contract as C
from leadbook.workbook import jobs
from leadbook.workbook.read import read_book
from leadbook.workbook.write import backup_path, update_workbook


def edit(path: Path, sheet: str, cell: str, value) -> bytes:
    """Change one cell with openpyxl (as a user would in Excel); the new bytes."""
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)
    return path.read_bytes()


def log_rows(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path)[C.LOG.name]
    return [tuple(c.value for c in row) for row in ws.iter_rows(min_row=4) if row[0].value]


class TestTemplate:
    def test_has_every_tab_in_order(self, template_path):
        assert openpyxl.load_workbook(template_path).sheetnames == list(C.SHEET_NAMES)

    def test_has_every_table_and_settings_name(self, template_path):
        wb = openpyxl.load_workbook(template_path)
        tables = {name for ws in wb.worksheets for name in ws.tables}
        assert tables == set(C.TABLES)
        assert {"MaxSourceShare", "BandTier1Min", "BlendedCPL", "StatedCPL"} <= set(
            wb.defined_names
        )

    def test_check_says_there_are_no_sources(self, template_path):
        result = jobs.check(template_path)
        assert [str(p) for p in result.errors] == ["Sources: the Sources table has no sources yet"]

    def test_new_refuses_to_overwrite(self, template_path):
        with pytest.raises(WorkbookFileError, match="already exists; pass --force"):
            jobs.new(template_path)

    def test_inputs_are_styled_and_validated(self, template_path):
        ws = openpyxl.load_workbook(template_path)["Sources"]
        cpl = ws["J13"]
        assert cpl.fill.fgColor.rgb.endswith("FFF2CC") and cpl.font.color.rgb.endswith("0000CC")
        lists = [dv.formula1 for dv in ws.data_validations.dataValidation]
        assert '"active,testing,paused"' in lists and '"first-party,third-party"' in lists
        assert ws.freeze_panes == "B13"
        history = openpyxl.load_workbook(template_path)["History"]
        by_area = {str(dv.sqref): dv.formula1 for dv in history.data_validations.dataValidation}
        assert by_area["B4:B504"] == "SourceNames"
        assert (
            openpyxl.load_workbook(template_path).defined_names["SourceNames"].attr_text
            == "Sources[Source]"
        )


class TestReadBook:
    def test_demo_round_trips(self, demo_book_path, demo_inv, demo_cfg):
        book = read_book(demo_book_path)
        assert book.settings == demo_cfg
        assert book.inventory.names == demo_inv.names
        assert book.inventory.sources.equals(demo_inv.sources)
        assert book.inventory.history.equals(demo_inv.history)
        assert book.stated.blended_cpl == 127.0

    def test_settings_edited_in_the_tab_are_read(self, demo_book_path):
        wb = openpyxl.load_workbook(demo_book_path)
        ws = wb["Settings"]
        row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "policy.max_source_share")
        row[2].value = 0.35
        wb.save(demo_book_path)
        assert read_book(demo_book_path).settings.policy.max_source_share == 0.35

    def test_columns_may_be_reordered_and_extra_columns_added(self, demo_book_path):
        wb = openpyxl.load_workbook(demo_book_path)
        ws = wb["History"]
        ws.insert_cols(1)
        ws["A3"] = "My notes"
        wb["History"].tables["History"].ref = f"A3:G{ws.max_row}"
        wb.save(demo_book_path)
        book = read_book(demo_book_path)
        assert len(book.inventory.history) > 0


class TestBadInput:
    """Each bad input gives the named error and leaves the file byte-identical."""

    def refuse(self, path: Path, match: str, error=InputError):
        before = path.read_bytes()
        with pytest.raises(error, match=match):
            jobs.refresh(path)
        assert path.read_bytes() == before
        assert not backup_path(path).exists()

    def test_text_in_a_number_column(self, demo_book_path):
        edit(demo_book_path, "Sources", "J14", "about 130")
        self.refuse(demo_book_path, r"Sources!J14: CPL must be a number, got 'about 130'")

    def test_negative_and_missing_cpl(self, demo_book_path):
        edit(demo_book_path, "Sources", "J14", -3)
        edit(demo_book_path, "Sources", "J15", None)
        self.refuse(
            demo_book_path,
            r"(?s)Sources!J14: CPL must be > 0, got -3.*"
            r"Sources!J15: CPL is empty",
        )

    def test_duplicate_source_names(self, demo_book_path):
        edit(demo_book_path, "Sources", "A14", "Premium comparison sites")
        self.refuse(
            demo_book_path,
            r"Sources!A14: source 'Premium comparison sites' appears "
            r"twice \(first at Sources!A13\)",
        )

    def test_unknown_source_in_history(self, demo_book_path):
        edit(demo_book_path, "History", "B4", "Aggregatr")
        self.refuse(demo_book_path, r'History!B4: History: source "Aggregatr" is not in Sources')

    def test_missing_column(self, demo_book_path):
        edit(demo_book_path, "Sources", "K12", "Conv")
        self.refuse(demo_book_path, r"Sources!12:12: table Sources has no column 'Conversion'")

    def test_unknown_setting(self, demo_book_path):
        wb = openpyxl.load_workbook(demo_book_path)
        wb["Settings"]["A5"] = "policy.budgett"
        wb.save(demo_book_path)
        self.refuse(
            demo_book_path,
            r"Settings!A5: unknown setting 'policy.budgett' — did you "
            r"mean 'policy.budget'\?",
        )

    def test_truncated_file(self, demo_book_path):
        data = demo_book_path.read_bytes()
        demo_book_path.write_bytes(data[: len(data) // 2])
        self.refuse(demo_book_path, "is not an Excel workbook", WorkbookFileError)

    def test_not_an_xlsx(self, tmp_path):
        path = tmp_path / "sources.xlsx"
        path.write_text("source,cpl\nA,3\n")
        self.refuse(path, "not a zip package", WorkbookFileError)

    def test_wrong_extension(self, tmp_path):
        path = tmp_path / "sources.csv"
        path.write_text("source,cpl\n")
        self.refuse(path, "leadbook reads .xlsx and .xlsm workbooks, not .csv", WorkbookFileError)

    def test_missing_file(self, tmp_path):
        with pytest.raises(WorkbookFileError, match="no such file"):
            jobs.refresh(tmp_path / "nope.xlsx")

    @pytest.mark.parametrize("padding", [0, 20_000])
    def test_xml_entity_bomb(self, demo_book_path, padding):
        """A 'billion laughs' DTD in a sheet; padded past the pre-scan, defusedxml refuses it."""
        bomb = (
            '<?xml version="1.0"?>' + f"<!--{'x' * padding}-->"
            '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        )

        def poison(xml: str) -> str:
            body = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
            return bomb + body.replace("<v>", "<v>&lol2;", 1)

        rewrite_part(demo_book_path, "xl/worksheets/sheet3.xml", poison)
        self.refuse(
            demo_book_path,
            "declares (an XML DTD or entities|XML entities or a DTD)",
            WorkbookFileError,
        )

    def test_zip_bomb(self, demo_book_path):
        rewrite_part(demo_book_path, "xl/padding.bin", lambda _: "0" * (600 * 2**20))
        self.refuse(demo_book_path, "a zip bomb", WorkbookFileError)


def rewrite_part(path: Path, name: str, change) -> None:
    """Rewrite one part of the package (adding it if absent)."""
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    old = parts.get(name, b"").decode("utf-8")
    parts[name] = change(old).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, data in parts.items():
            zf.writestr(part, data)
    path.write_bytes(buffer.getvalue())


class TestRefresh:
    def test_rewrites_only_output_tabs_and_logs(self, demo_book_path):
        before = openpyxl.load_workbook(demo_book_path)
        result = jobs.refresh(demo_book_path)
        after = openpyxl.load_workbook(demo_book_path)
        for name in C.INPUT_SHEETS:
            assert [[c.value for c in r] for r in before[name].iter_rows()] == [
                [c.value for c in r] for r in after[name].iter_rows()
            ]
        assert result.backup.exists() and result.backup == backup_path(demo_book_path)
        rows = log_rows(demo_book_path)
        assert [r[1] for r in rows] == ["demo", "refresh"]
        assert rows[-1][3] == (
            "refreshed Tiers, Scores, ROI, Forecast, Forecast detail, Hiring for 11 sources"
        )

    def test_refresh_reflects_changed_inputs(self, demo_book_path):
        edit(demo_book_path, "Sources", "G14", 30)  # aggregators: 30 months of history
        jobs.refresh(demo_book_path)
        ws = openpyxl.load_workbook(demo_book_path)["Tiers"]
        row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "Insurance aggregators")
        assert row[1].value == "Tier 1"

    def test_a_failing_job_leaves_the_file_byte_identical(self, demo_book_path):
        before = demo_book_path.read_bytes()

        def job(wb):
            wb["Tiers"]["A1"] = "half done"
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            update_workbook(demo_book_path, "test", job)
        assert demo_book_path.read_bytes() == before
        assert list(demo_book_path.parent.glob(".~*")) == []

    def test_a_job_that_touches_an_input_tab_is_stopped(self, demo_book_path):
        before = demo_book_path.read_bytes()

        def job(wb):
            wb["Sources"]["J13"] = 1.0
            return "oops"

        with pytest.raises(AssertionError, match="changed an input tab"):
            update_workbook(demo_book_path, "test", job)
        assert demo_book_path.read_bytes() == before

    def add_chart(self, path: Path) -> None:
        wb = openpyxl.load_workbook(path)
        ws = wb["History"]
        chart = BarChart()
        chart.add_data(Reference(ws, min_col=4, min_row=3, max_row=10), titles_from_data=True)
        ws.add_chart(chart, "J3")
        wb.save(path)

    def test_keeps_a_users_chart(self, demo_book_path):
        self.add_chart(demo_book_path)
        jobs.refresh(demo_book_path)
        assert len(openpyxl.load_workbook(demo_book_path)["History"]._charts) == 1

    def test_refuses_to_drop_a_users_text_box(self, demo_book_path):
        """openpyxl keeps charts but drops shapes; leadbook refuses rather than lose one."""
        self.add_chart(demo_book_path)
        text_box = (
            "<oneCellAnchor><from><col>1</col><colOff>0</colOff><row>1</row><rowOff>0</rowOff>"
            '</from><ext cx="900000" cy="300000"/><sp macro="" textlink=""><nvSpPr>'
            '<cNvPr id="9" name="Note"/><cNvSpPr txBox="1"/></nvSpPr><spPr/></sp><clientData/>'
            "</oneCellAnchor>"
        )
        rewrite_part(
            demo_book_path,
            "xl/drawings/drawing1.xml",
            lambda xml: xml.replace("</wsDr>", text_box + "</wsDr>"),
        )
        before = demo_book_path.read_bytes()
        with pytest.raises(
            WorkbookFileError,
            match="would drop a shape or text box on tab History; nothing was written",
        ):
            jobs.refresh(demo_book_path)
        assert demo_book_path.read_bytes() == before

    def test_refuses_while_open_in_excel(self, demo_book_path):
        (demo_book_path.parent / f"~${demo_book_path.name}").write_bytes(b"lock")
        with pytest.raises(WorkbookFileError, match="is open in Excel"):
            jobs.refresh(demo_book_path)


class TestCheck:
    def test_demo_has_only_the_stated_total_warnings(self, demo_book_path):
        result = jobs.check(demo_book_path)
        assert result.errors == []
        assert {p.where for p in result.problems} == {"Sources!E6", "Sources!E7"}

    def test_write_lists_problems_on_start(self, demo_book_path):
        edit(demo_book_path, "Sources", "J14", -3)
        jobs.check(demo_book_path, write=True)
        ws = openpyxl.load_workbook(demo_book_path)["Start"]
        header = C.PROBLEMS_TABLE.anchor
        rows = [
            [c.value for c in r[:3]]
            for r in ws.iter_rows(min_row=int(header[1:]) + 1)
            if r[0].value
        ]
        assert ["Sources!J14", "CPL must be > 0, got -3", "error"] in rows


def test_settings_tab_round_trips_every_value(tmp_path):
    from leadbook.workbook.build import build_workbook
    from leadbook.workbook.read import read_settings

    settings = Settings().replace(
        {"policy.budget": 123_456.0, "bands.tier1.max": 0.72, "policy.objective": "weighted"}
    )
    path = tmp_path / "s.xlsx"
    build_workbook(None, settings).workbook.save(path)
    read, problems = read_settings(openpyxl.load_workbook(path, data_only=True))
    assert problems == [] and read == settings
