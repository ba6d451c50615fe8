"""Writing a package copies the parts a job did not change as they are stored, and checks a
package's bytes once.

History's part is 75 MB at 10,000 sources: decompressing and compressing it again on every
write took a second and a half of a ``check --write``, and checking the file once for its
read and again before its write unpacked every part twice.
"""

from __future__ import annotations

import io
import shutil
import types
import zipfile
from pathlib import Path

import openpyxl
import pytest

from leadbook.errors import WorkbookFileError
from leadbook.workbook import parts as P
from leadbook.workbook import read
from leadbook.workbook.jobs import refresh as jobs
from leadbook.workbook.losses import foreign_losses
from leadbook.workbook.parts import Package

BIG = b"<worksheet>" + b"".join(
    b'<row r="%d"><c><v>%d</v></c></row>' % (i, i) for i in range(1, 3000)
)


def zipped(parts: dict[str, bytes], level: int = 9) -> bytes:
    """A package whose members are compressed at ``level`` (not the writer's 6: a member
    copied as stored keeps this compression, one compressed again does not)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def stored_bytes(data: bytes, name: str) -> bytes:
    """The compressed bytes of member ``name`` of the zip ``data``, as stored."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    head = P._LOCAL_HEADER.unpack_from(data, info.header_offset)
    start = info.header_offset + P._LOCAL_HEADER.size + head[9] + head[10]
    return data[start : start + info.compress_size]


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None  # every member's CRC holds
        return {i.filename: zf.read(i) for i in zf.infolist()}


PARTS = {"[Content_Types].xml": b"<Types/>", "xl/big.xml": BIG, "xl/small.xml": b"<a/>"}


class TestCopiedAsStored:
    def test_a_part_never_read_is_copied_as_stored(self):
        data = zipped(PARTS)
        out = Package.of_bytes(data).to_bytes()
        assert members(out) == PARTS
        assert stored_bytes(out, "xl/big.xml") == stored_bytes(data, "xl/big.xml")

    def test_a_part_read_but_not_changed_is_copied_as_stored(self):
        data = zipped(PARTS)
        pkg = Package.of_bytes(data)
        assert pkg.parts["xl/big.xml"] == BIG
        out = pkg.to_bytes()
        assert stored_bytes(out, "xl/big.xml") == stored_bytes(data, "xl/big.xml")

    def test_a_changed_part_is_compressed_anew(self):
        data = zipped(PARTS)
        pkg = Package.of_bytes(data)
        pkg.parts["xl/big.xml"] = BIG.replace(b"<v>7</v>", b"<v>8</v>")
        got = members(pkg.to_bytes())
        assert got["xl/big.xml"] == BIG.replace(b"<v>7</v>", b"<v>8</v>")
        assert got["xl/small.xml"] == b"<a/>"

    def test_a_part_with_the_bytes_of_the_originals_is_copied_from_it(self):
        original = zipped(PARTS)
        saved = Package.of_bytes(zipped(PARTS, level=1))  # openpyxl's save, say
        saved.parts["xl/big.xml"] = bytes(BIG)  # spliced back: new bytes, the same
        out = saved.to_bytes(like=Package.of_bytes(original))
        assert stored_bytes(out, "xl/big.xml") == stored_bytes(original, "xl/big.xml")
        assert members(out) == PARTS

    def test_the_same_size_and_crc_are_not_enough(self, monkeypatch):
        """Bytes of the original part's size and CRC but other bytes are compressed anew,
        never replaced by the original's."""
        original = Package.of_bytes(zipped(PARTS))
        other = BIG.replace(b"<v>7</v>", b"<v>8</v>")
        crc = zipfile.ZipFile(io.BytesIO(zipped(PARTS))).getinfo("xl/big.xml").CRC
        monkeypatch.setattr(P, "zlib", types.SimpleNamespace(crc32=lambda data: crc))
        saved = Package.of_bytes(zipped(PARTS))
        saved.parts["xl/big.xml"] = other
        assert members(saved.to_bytes(like=original))["xl/big.xml"] == other

    def test_a_part_read_from_utf16_is_written_as_utf8(self):
        text = '<?xml version="1.0" encoding="UTF-16"?><a>é</a>'
        pkg = Package.of_bytes(zipped({**PARTS, "xl/u.xml": text.encode("utf-16")}))
        got = members(pkg.to_bytes())["xl/u.xml"]
        assert got == '<?xml version="1.0" encoding="UTF-8"?><a>é</a>'.encode()

    def test_without_the_writer_it_expects_every_part_is_compressed(self, monkeypatch):
        data = zipped(PARTS)
        monkeypatch.setattr(P, "_WRITER", (*P._WRITER, "_not_in_this_python"))
        out = Package.of_bytes(data).to_bytes()
        assert members(out) == PARTS
        assert stored_bytes(out, "xl/big.xml") != stored_bytes(data, "xl/big.xml")

    def test_an_encrypted_or_other_method_member_is_not_copied(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as zf:
            zf.writestr("[Content_Types].xml", b"<Types/>")
            zf.writestr("xl/big.xml", BIG)
        out = Package.of_bytes(buffer.getvalue()).to_bytes()
        with zipfile.ZipFile(io.BytesIO(out)) as zf:
            assert zf.getinfo("xl/big.xml").compress_type == zipfile.ZIP_DEFLATED
        assert members(out)["xl/big.xml"] == BIG


def test_a_write_copies_the_input_tabs_as_the_file_stored_them(demo_book_path):
    """A job that changes output tabs only leaves every input tab's part as the file stored
    it: not decompressed and compressed again, and the file sound for openpyxl."""
    before = demo_book_path.read_bytes()
    jobs.check(demo_book_path, write=True)
    after = demo_book_path.read_bytes()
    tabs = Package.of_bytes(before).tabs()
    for tab in ("Sources", "History", "Tiers"):
        assert stored_bytes(after, tabs[tab]) == stored_bytes(before, tabs[tab]), tab
    members(after)
    wb = openpyxl.load_workbook(demo_book_path)
    assert wb["Start"].max_row > 1


class TestCheckedOnce:
    def test_the_same_bytes_are_unpacked_once(self, demo_book_path, monkeypatch):
        unpacked = []
        real = read._check_members
        monkeypatch.setattr(read, "_PASSED", {})
        monkeypatch.setattr(read, "_check_members", lambda *a: unpacked.append(1) or real(*a))
        read.check_package(demo_book_path)
        read.check_package(demo_book_path)
        assert len(unpacked) == 1
        copy = demo_book_path.with_name("copy.xlsx")
        shutil.copy(demo_book_path, copy)
        read.check_package(copy)  # the same bytes elsewhere: checked already
        assert len(unpacked) == 1

    def test_other_bytes_or_limits_are_checked_again(self, demo_book_path, monkeypatch):
        monkeypatch.setattr(read, "_PASSED", {})
        read.check_package(demo_book_path)
        monkeypatch.setattr(read, "MAX_CELLS", 100)
        with pytest.raises(WorkbookFileError, match="more than the 100"):
            read.check_package(demo_book_path)

    @pytest.mark.broken_files("bad.xlsx")
    def test_a_file_that_failed_fails_again(self, tmp_path: Path, monkeypatch):
        monkeypatch.setattr(read, "_PASSED", {})
        bad = tmp_path / "bad.xlsx"
        bad.write_bytes(zipped({"[Content_Types].xml": b"<Types/>"}))
        for _ in range(2):
            with pytest.raises(WorkbookFileError, match="not an Excel workbook"):
                read.check_package(bad)


def test_the_audit_of_a_tab_saved_as_it_was_still_reads_its_shared_strings(demo_book_path):
    """A tab whose bytes are the same is skipped by the audit, but not its rich text when
    the strings its cells index changed."""
    from tests.test_foreign_parts import add_rich_text_shared, edit_package

    edit_package(demo_book_path, add_rich_text_shared)
    original = Package.read(demo_book_path)
    assert foreign_losses(original, Package.read(demo_book_path)) == []
    saved = Package.read(demo_book_path)
    flat = saved.parts["xl/sharedStrings.xml"].decode()
    start, end = flat.index("<si>"), flat.index("</si>")
    saved.parts["xl/sharedStrings.xml"] = (
        flat[:start] + "<si><t>Blue-on-yellow cells</t>" + flat[end:]
    ).encode()
    assert foreign_losses(original, saved) == ["rich text in Sources!A2"]
