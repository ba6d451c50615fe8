"""Versions kept beside a workbook, and undo: every write keeps the file as it was, undo puts
it back byte for byte, one write at a time, and nothing is lost on the way."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import ClassVar

import openpyxl
import pytest
from conftest import set_setting

from leadbook import contract as C
from leadbook.errors import InfeasiblePolicyError, InputError, LeadbookError, WorkbookFileError
from leadbook.workbook import versions as V
from leadbook.workbook.jobs import refresh as jobs
from leadbook.workbook.jobs.rebalance import rebalance
from leadbook.workbook.undo import undo
from leadbook.workbook.write import update_workbook


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(path: Path, what: str = "a test write") -> None:
    """A leadbook write that changes nothing but the Log (the cheapest real write)."""
    update_workbook(path, "test", lambda wb: what)


def edit(path: Path, sheet: str, cell: str, value: object) -> None:
    """Change one cell and save, as a user would in Excel."""
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)


def folder_state(path: Path) -> dict[str, str]:
    """Every file in the versions folder with its digest (empty when there is no folder)."""
    folder = V.versions_dir(path)
    return {p.name: digest(p) for p in folder.iterdir()} if folder.is_dir() else {}


def log_rows(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path)[C.LOG.name]
    _, *rows = ws[ws.tables[C.LOG_TABLE.name].ref]
    return [tuple(c.value for c in row) for row in rows]


class TestKeep:
    def test_a_write_keeps_the_file_as_it_was_named_by_time_and_command(self, demo_book_path):
        original = digest(demo_book_path)
        result = jobs.refresh(demo_book_path)
        (version,) = V.kept_versions(demo_book_path)
        assert result.version == version.path
        assert version.path.parent == demo_book_path.with_name("demo.leadbook-versions")
        assert version.name.endswith("Z-before-refresh.xlsx")
        assert (version.before, version.digest()) == ("refresh", original)

    def test_the_board_pack_keeps_a_version_and_undo_leaves_the_pack(
        self, demo_book_path, tmp_path
    ):
        from leadbook.workbook.jobs.pack import export_board_pack

        original = digest(demo_book_path)
        result = export_board_pack(demo_book_path, "2026Q4", tmp_path / "pack")
        (version,) = V.kept_versions(demo_book_path)
        assert (version.before, version.digest()) == ("board", original)
        undo(demo_book_path)
        assert digest(demo_book_path) == original
        assert result.pack.exists()  # the pack is a file of its own, not the workbook's

    def test_names_sort_by_time_even_when_the_clock_runs_back(self, demo_book_path):
        folder = V.versions_dir(demo_book_path)
        folder.mkdir()
        future = folder / "29990101T000000.000000Z-before-refresh.xlsx"
        shutil.copy(demo_book_path, future)
        first = V.keep_version(demo_book_path, "rebalance")
        second = V.keep_version(demo_book_path, "rebalance")
        assert first.name == "29990101T000000.000001Z-before-rebalance.xlsx"
        assert second.name == "29990101T000000.000002Z-before-rebalance.xlsx"
        assert [v.name for v in V.kept_versions(demo_book_path)] == [
            future.name,
            first.name,
            second.name,
        ]

    def test_only_the_oldest_beyond_the_setting_is_deleted(self, demo_book_path):
        set_setting(demo_book_path, "files.versions_kept", 3)
        folder = V.versions_dir(demo_book_path)
        folder.mkdir()
        (folder / "my notes.txt").write_text("not a version")
        before_each = []
        for i in range(5):
            before_each.append(digest(demo_book_path))
            write(demo_book_path, f"write {i}")
        kept = V.kept_versions(demo_book_path)
        assert [v.digest() for v in kept] == before_each[2:]
        assert (folder / "my notes.txt").read_text() == "not a version"

    def test_a_wrong_setting_keeps_the_default_and_check_names_it(self, demo_book_path):
        set_setting(demo_book_path, "files.versions_kept", 0)
        problems = [str(p) for p in jobs.check(demo_book_path).problems]
        assert any("VersionsKept: must be ≥ 1, got 0" in p for p in problems)
        for _ in range(2):
            write(demo_book_path)
        assert len(V.kept_versions(demo_book_path)) == 2

    def test_prune_refuses_to_keep_nothing(self, demo_book_path):
        with pytest.raises(ValueError, match="at least one version must be kept, got a limit of 0"):
            V.prune_versions(demo_book_path, 0)

    def test_new_with_force_keeps_the_file_it_replaces(self, demo_book_path):
        original = digest(demo_book_path)
        jobs.new(demo_book_path, overwrite=True)
        (version,) = V.kept_versions(demo_book_path)
        assert (version.before, version.digest()) == ("new", original)

    def test_new_without_force_says_where_the_old_file_would_go(self, demo_book_path):
        with pytest.raises(
            WorkbookFileError,
            match=r"already exists; pass --force to replace it \(the old file is kept in "
            r"demo\.leadbook-versions\)",
        ):
            jobs.new(demo_book_path)


class TestAFailedRunKeepsNothing:
    """A run that fails leaves the workbook, its versions and its undo log as they were."""

    @pytest.fixture
    def written_once(self, demo_book_path):
        write(demo_book_path)
        undo(demo_book_path)  # the folder now holds versions and an undo log
        return demo_book_path

    def assert_untouched(self, path: Path, run, error, match: str) -> None:
        before, folder = digest(path), folder_state(path)
        with pytest.raises(error, match=match):
            run(path)
        assert digest(path) == before
        assert folder_state(path) == folder
        assert sorted(p.name for p in path.parent.glob(".~*")) == []

    def test_a_rebalance_without_the_lead_model_it_needs(self, written_once):
        set_setting(written_once, "LeadConversionSource", "model")
        self.assert_untouched(
            written_once, rebalance, LeadbookError, r"records no lead model; run Score leads"
        )

    def test_an_infeasible_rebalance_keeps_a_version_of_what_it_marks_stale(self, written_once):
        set_setting(written_once, "bands.tier1.min", 0.95)
        set_setting(written_once, "bands.tier1.max", 1.0)
        before = written_once.read_bytes()
        with pytest.raises(InfeasiblePolicyError, match=r"Tier 1 band needs ≥ \$"):
            rebalance(written_once)
        assert V.kept_versions(written_once)[-1].path.read_bytes() == before

    def test_a_bad_input(self, written_once):
        edit(written_once, "Sources", "J14", -3)
        self.assert_untouched(
            written_once, jobs.refresh, InputError, r"Sources!J14: CPL must be > 0, got -3"
        )

    def test_a_first_write_that_fails_creates_no_folder(self, demo_book_path):
        edit(demo_book_path, "Sources", "J14", -3)
        self.assert_untouched(
            demo_book_path, jobs.refresh, InputError, r"Sources!J14: CPL must be > 0, got -3"
        )
        assert not V.versions_dir(demo_book_path).exists()

    def test_a_version_that_cannot_be_kept_stops_the_write(self, demo_book_path):
        V.versions_dir(demo_book_path).write_text("a file where the folder should be")
        before = digest(demo_book_path)
        with pytest.raises(
            WorkbookFileError,
            match=r"demo\.xlsx: the version before this write cannot be kept in "
            r"demo\.leadbook-versions \(File exists\); nothing was written",
        ):
            write(demo_book_path)
        assert digest(demo_book_path) == before


class TestUndo:
    def test_two_writes_then_undo_twice_walks_back_byte_for_byte(self, demo_book_path):
        original = digest(demo_book_path)
        rebalance(demo_book_path)
        after_first = digest(demo_book_path)
        rebalance(demo_book_path)
        after_second = digest(demo_book_path)

        first = undo(demo_book_path)
        assert digest(demo_book_path) == after_first == first.sha256
        assert first.restored.before == "rebalance"
        assert (first.kept.before, first.kept.digest()) == ("undo", after_second)

        second = undo(demo_book_path)
        assert digest(demo_book_path) == original == second.sha256
        assert second.kept == first.restored  # the replaced file was kept already

        with pytest.raises(
            WorkbookFileError,
            match=r"nothing more to undo: demo\.xlsx is back to the oldest version kept in "
            r"demo\.leadbook-versions, the version kept before rebalance at .*VersionsKept",
        ):
            undo(demo_book_path)
        assert digest(demo_book_path) == original

    def test_nothing_to_undo_before_any_write(self, demo_book_path):
        before = digest(demo_book_path)
        with pytest.raises(
            WorkbookFileError,
            match=r"nothing to undo: no earlier version of demo\.xlsx is kept in "
            r"demo\.leadbook-versions \(leadbook keeps one there before each write",
        ):
            undo(demo_book_path)
        assert digest(demo_book_path) == before
        assert not V.versions_dir(demo_book_path).exists()

    def test_a_missing_workbook(self, tmp_path):
        with pytest.raises(WorkbookFileError, match=r"gone\.xlsx does not exist; there is nothing"):
            undo(tmp_path / "gone.xlsx")

    def test_edits_made_after_the_write_are_kept_as_an_undone_version(self, demo_book_path):
        original = digest(demo_book_path)
        write(demo_book_path)
        edit(demo_book_path, "Sources", "J14", 131.0)
        edited = digest(demo_book_path)
        result = undo(demo_book_path)
        assert digest(demo_book_path) == original
        assert result.kept.before == "undo" and result.kept.digest() == edited
        assert openpyxl.load_workbook(result.kept.path)["Sources"]["J14"].value == 131.0

    def test_a_write_after_an_undo_starts_a_new_walk(self, demo_book_path):
        original = digest(demo_book_path)
        write(demo_book_path, "a")
        after_a = digest(demo_book_path)
        write(demo_book_path, "b")
        undo(demo_book_path)  # back to after a
        write(demo_book_path, "c")
        assert digest(undo(demo_book_path).restored.path) == after_a  # c taken back
        # the version before b holds the same bytes again: the walk skips it to the original
        assert undo(demo_book_path).sha256 == original

    def test_the_log_tab_shows_each_undo_at_the_next_write_once(self, demo_book_path):
        write(demo_book_path, "first")
        write(demo_book_path, "second")
        taken = undo(demo_book_path)
        write(demo_book_path, "third")
        rows = log_rows(demo_book_path)
        *_, undo_row, third = rows
        assert [r[3] for r in rows[-3:]] == ["first", undo_row[3], "third"]
        assert undo_row[1] == "undo"
        assert re.fullmatch(
            r"took back test of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: restored "
            r"\d{8}T\d{6}\.\d{6}Z-before-test\.xlsx; the file it replaced is kept as "
            r"\d{8}T\d{6}\.\d{6}Z-before-undo\.xlsx",
            undo_row[3],
        )
        assert taken.restored.name in undo_row[3] and taken.kept.name in undo_row[3]
        assert undo_row[0] <= third[0]
        write(demo_book_path, "fourth")
        assert [r[1] for r in log_rows(demo_book_path)].count("undo") == 1
        assert V.pending_undos(demo_book_path) == []

    def test_the_undo_log_records_what_was_restored(self, demo_book_path):
        write(demo_book_path)
        taken = undo(demo_book_path)
        lines = (V.versions_dir(demo_book_path) / V.UNDO_LOG).read_text().splitlines()
        event = json.loads(lines[-1])
        assert event["event"] == "undo" and event["workbook"] == "demo.xlsx"
        assert event["restored"] == taken.restored.name
        assert event["restored_sha256"] == digest(demo_book_path)
        assert event["kept"] == taken.kept.name and event["undid"] == "test"

    def test_a_damaged_undo_log_line_does_not_stop_writes(self, demo_book_path):
        write(demo_book_path)
        undo(demo_book_path)
        with open(V.versions_dir(demo_book_path) / V.UNDO_LOG, "a") as f:
            f.write('{"event": "undo", "sta')  # cut short by a crash
        write(demo_book_path)
        assert [r[1] for r in log_rows(demo_book_path)].count("undo") == 1

    def test_keeps_at_most_the_setting_counting_its_own(self, demo_book_path):
        set_setting(demo_book_path, "files.versions_kept", 2)
        for _ in range(3):
            write(demo_book_path)
        newest = V.kept_versions(demo_book_path)[-1]
        undo(demo_book_path)
        kept = V.kept_versions(demo_book_path)
        assert [v.before for v in kept] == ["test", "undo"] and kept[0] == newest

    def test_refuses_a_buttons_copy_of_values_over_the_file(self, demo_book_path):
        """A button keeps the cell values it saw; restoring those over the real file would
        turn its formulas into numbers."""
        write(demo_book_path)
        wb = openpyxl.load_workbook(demo_book_path)
        wb.properties.identifier = V.VALUES_COPY
        copy = V.versions_dir(demo_book_path) / "29990101T000000.000000Z-before-rebalance.xlsx"
        wb.save(copy)
        before, folder = digest(demo_book_path), folder_state(demo_book_path)
        with pytest.raises(
            WorkbookFileError,
            match=r"the last write to demo\.xlsx was made by a button in Excel: "
            r"29990101T000000\.000000Z-before-rebalance\.xlsx holds the cell values the button "
            r"saw, not the file.*Press Undo in Excel instead",
        ):
            undo(demo_book_path)
        assert digest(demo_book_path) == before and folder_state(demo_book_path) == folder


class TestUndoThatCannotFinish:
    """An undo that cannot finish leaves the workbook, its versions and its log as they were."""

    def test_the_workbook_changes_while_undo_works(self, demo_book_path, monkeypatch):
        from leadbook.workbook import undo as undo_module

        write(demo_book_path)
        folder = folder_state(demo_book_path)

        copyfile = shutil.copyfile

        def copy_while_excel_saves(source, target):
            copyfile(source, target)
            edit(demo_book_path, "Sources", "J14", 131.0)

        monkeypatch.setattr(undo_module.shutil, "copyfile", copy_while_excel_saves)
        with pytest.raises(
            WorkbookFileError,
            match=r"demo\.xlsx or \d{8}T\d{6}\.\d{6}Z-before-test\.xlsx changed on disk while "
            r"leadbook worked; nothing was restored — run undo again",
        ):
            undo(demo_book_path)
        assert openpyxl.load_workbook(demo_book_path)["Sources"]["J14"].value == 131.0
        assert folder_state(demo_book_path) == folder

    @pytest.mark.parametrize("run", ["write", "undo"])
    def test_the_file_cannot_be_replaced(self, demo_book_path, monkeypatch, run):

        write(demo_book_path)
        before, folder = digest(demo_book_path), folder_state(demo_book_path)

        replace = os.replace

        def locked(source, target):
            if Path(target) == demo_book_path:  # as Windows refuses while Excel has it open
                raise PermissionError(13, "Permission denied")
            replace(source, target)

        monkeypatch.setattr(os, "replace", locked)
        with pytest.raises(
            WorkbookFileError,
            match=r"demo\.xlsx cannot be replaced \(Permission denied\); is it open in Excel\?",
        ):
            write(demo_book_path) if run == "write" else undo(demo_book_path)
        assert digest(demo_book_path) == before
        assert folder_state(demo_book_path) == folder

    @pytest.mark.broken_files("20991231T*")
    @pytest.mark.parametrize("planted", ["symlink", "not a workbook"])
    def test_a_planted_version_is_not_restored(self, demo_book_path, tmp_path, planted):
        """The versions folder sits beside the workbook, where whoever shares the folder can
        write: a symlink named as the newest version made undo copy the file it points to
        (a private key, mode 0600) over the workbook, with the workbook's mode; any file
        named so, workbook or not, replaced it."""
        write(demo_book_path)
        secret = tmp_path / "secret.txt"
        secret.write_text("the user's private key")
        secret.chmod(0o600)
        newest = V.versions_dir(demo_book_path) / "20991231T000000.000000Z-before-refresh.xlsx"
        if planted == "symlink":
            newest.symlink_to(secret)
        else:
            newest.write_text("the user's private key")
        before = digest(demo_book_path)
        with pytest.raises(WorkbookFileError, match="nothing was restored"):
            undo(demo_book_path)
        assert digest(demo_book_path) == before

    def test_book_xlsx_and_book_xlsm_keep_their_own_versions(self, demo_book_path):
        """They share a versions folder; neither prunes, lists or restores the other's."""
        twin = demo_book_path.with_suffix(".xlsm")
        shutil.copy2(demo_book_path, twin)
        write(demo_book_path)
        (mine,) = V.kept_versions(demo_book_path)
        set_setting(twin, "VersionsKept", 1)
        for _ in range(3):
            write(twin)
        assert V.kept_versions(demo_book_path) == [mine] and mine.path.exists()
        assert [v.path.suffix for v in V.kept_versions(twin)] == [".xlsm"]
        undo(demo_book_path)
        assert digest(demo_book_path) == digest(mine.path)


LOCKS = {
    "Excel": ("~$demo.xlsx", r"demo\.xlsx is open in Excel \(lock file ~\$demo\.xlsx\)"),
    "LibreOffice": (
        ".~lock.demo.xlsx#",
        r"demo\.xlsx is open in LibreOffice \(lock file \.~lock\.demo\.xlsx#\); close it "
        r"first\. If LibreOffice is not running, the lock file is left over from a crash",
    ),
}


class TestAnOpenWorkbookIsNotWritten:
    """Excel and LibreOffice keep a lock file beside a workbook they have open, and would
    overwrite leadbook's write when they save: every write and undo refuses it."""

    RUNS: ClassVar = {
        "refresh": jobs.refresh,
        "rebalance": rebalance,
        "new --force": lambda path: jobs.new(path, overwrite=True),
        "undo": undo,
    }

    @pytest.mark.parametrize("office", LOCKS)
    @pytest.mark.parametrize("run", RUNS)
    def test_refused_byte_identical(self, demo_book_path, office, run):
        write(demo_book_path)  # a version to undo to
        lock, message = LOCKS[office]
        (demo_book_path.parent / lock).write_text("someone,host,2026")
        before, folder = digest(demo_book_path), folder_state(demo_book_path)
        with pytest.raises(WorkbookFileError, match=message):
            self.RUNS[run](demo_book_path)
        assert digest(demo_book_path) == before
        assert folder_state(demo_book_path) == folder
