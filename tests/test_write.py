"""Write safety: what a write keeps of the file (mode, owner, a symlink), what a killed write
leaves behind, and one job at a time over a job's whole read, compute and write.

Faults are injected, never timed: ``os.replace`` or a copy is patched to raise, to stop the
process with SIGKILL, or to run a second job at that very point.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import defusedxml.ElementTree as ET  # noqa: N817
import openpyxl
import pytest

from leadbook import contract as C
from leadbook.errors import WorkbookFileError
from leadbook.workbook import versions as V
from leadbook.workbook.jobs import refresh as jobs
from leadbook.workbook.layout import formula_values
from leadbook.workbook.saving import save_workbook
from leadbook.workbook.splice import sheet_parts
from leadbook.workbook.undo import undo

REPO = Path(__file__).resolve().parents[1]


def log_rows(path: Path) -> list[str]:
    """The commands of the workbook's Log rows, oldest first."""
    ws = openpyxl.load_workbook(path)["Log"]
    return [row[1] for row in ws.iter_rows(min_row=2, values_only=True) if row[1]]


def leftovers(folder: Path) -> list[str]:
    """Files a write leaves beside the workbook that are not the workbook's own."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".~", ".")))


def run_killed(path: Path, where: str, *, script: str = "jobs.check(path, write=True)") -> None:
    """Run ``script`` on the workbook at ``path`` in a process that SIGKILLs itself when it
    calls ``os.replace`` with a destination for which ``where`` (a Python expression of
    ``dst``) is true; the process must die so."""
    code = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        real = os.replace
        def replace(src, dst, *a, **k):
            dst = Path(dst)
            if {where}:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst, *a, **k)
        os.replace = replace
        from leadbook.workbook.jobs import refresh as jobs
        path = Path(sys.argv[1])
        {script}
        """
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()


# --- 4. What a write keeps of the file --------------------------------------------------


class TestWhatAWriteKeeps:
    @pytest.mark.parametrize("mode", [0o640, 0o664, 0o600])
    def test_the_mode(self, demo_book_path, mode):
        demo_book_path.chmod(mode)
        jobs.check(demo_book_path, write=True)
        assert stat.S_IMODE(demo_book_path.stat().st_mode) == mode

    @pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another owner")
    def test_the_owner(self, demo_book_path):
        os.chown(demo_book_path, 4321, 8765)
        jobs.check(demo_book_path, write=True)
        st = demo_book_path.stat()
        assert (st.st_uid, st.st_gid) == (4321, 8765)
        assert "check" in log_rows(demo_book_path)[-1]

    @pytest.mark.parametrize("refusal", [errno.EPERM, errno.ENOTSUP])
    def test_a_refused_chown_does_not_fail_the_write(self, demo_book_path, monkeypatch, refusal):
        """The file belongs to someone else (as a colleague's file on a share does)."""
        real_chown, asked = os.chown, []

        def chown(path, uid, gid, *args, **kwargs):
            asked.append((uid, gid))
            raise OSError(refusal, os.strerror(refusal))

        if os.geteuid() == 0:
            real_chown(demo_book_path, 4321, 8765)
        owner = demo_book_path.stat().st_uid, demo_book_path.stat().st_gid
        monkeypatch.setattr(os, "chown", chown)
        jobs.check(demo_book_path, write=True)
        assert log_rows(demo_book_path)[-1] == "check"
        assert asked[:1] == ([owner] if owner != (os.geteuid(), os.getegid()) else [])

    def test_a_symlinked_workbook_is_written_through_to_its_target(self, demo_book_path, tmp_path):
        elsewhere = tmp_path / "shared"
        elsewhere.mkdir()
        target = elsewhere / "real.xlsx"
        shutil.move(demo_book_path, target)
        demo_book_path.symlink_to(target)
        jobs.check(demo_book_path, write=True)
        assert demo_book_path.is_symlink()
        assert os.readlink(demo_book_path) == str(target)
        assert log_rows(target)[-1] == "check"

    def test_a_read_only_file_is_refused_by_name(self, demo_book_path):
        demo_book_path.chmod(0o444)
        before = demo_book_path.read_bytes()
        with pytest.raises(WorkbookFileError, match=r"demo\.xlsx is read-only"):
            jobs.check(demo_book_path, write=True)
        assert demo_book_path.read_bytes() == before
        assert stat.S_IMODE(demo_book_path.stat().st_mode) == 0o444
        assert not V.versions_dir(demo_book_path).exists()

    def test_a_read_only_folder_is_a_message_not_a_traceback(self, demo_book_path, monkeypatch):
        """The folder is made read-only; root ignores that, so for root the kernel's answer
        (EACCES on creating a file there) is injected."""
        from typer.testing import CliRunner

        from leadbook.cli import app

        folder = demo_book_path.parent
        real_open = os.open

        def open_(path, flags, *args, **kwargs):
            if flags & os.O_CREAT and Path(path).parent == folder:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, flags, *args, **kwargs)

        if os.geteuid() == 0:
            monkeypatch.setattr(os, "open", open_)
        before = demo_book_path.read_bytes()
        folder.chmod(0o555)
        try:
            result = CliRunner().invoke(app, ["check", "--write", str(demo_book_path)])
        finally:
            folder.chmod(0o755)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.exit_code == 2
        message = " ".join(result.output.split())
        assert f"cannot write in {folder}" in message
        assert "demo.xlsx was not changed" in message
        assert demo_book_path.read_bytes() == before


# --- 5. What a killed write leaves ------------------------------------------------------


class TestAKilledWrite:
    def test_a_kill_at_the_rename_leaves_the_workbook_and_the_next_run_cleans_up(
        self, demo_book_path, caplog
    ):
        before = demo_book_path.read_bytes()
        run_killed(demo_book_path, f"dst.name == {demo_book_path.name!r}")
        assert demo_book_path.read_bytes() == before
        assert leftovers(demo_book_path.parent)  # the kill left its temporary file behind
        with caplog.at_level(logging.WARNING):
            jobs.check(demo_book_path, write=True)
        assert leftovers(demo_book_path.parent) == []
        assert log_rows(demo_book_path)[-1] == "check"
        assert "no longer runs" in caplog.text  # its lock was taken over, and said so

    def test_a_kill_while_keeping_the_version_loses_no_version(self, demo_book_path):
        jobs.check(demo_book_path, write=True)
        folder = V.versions_dir(demo_book_path)
        kept = {v.name: v.path.read_bytes() for v in V.kept_versions(demo_book_path)}
        run_killed(demo_book_path, f"dst.parent.name == {folder.name!r}")
        assert {v.name: v.path.read_bytes() for v in V.kept_versions(demo_book_path)} == kept
        jobs.check(demo_book_path, write=True)
        assert leftovers(folder) == []
        assert leftovers(demo_book_path.parent) == []
        for version in V.kept_versions(demo_book_path):
            assert zipfile.ZipFile(version.path).testzip() is None

    def test_temporary_files_of_a_running_writer_are_left_alone(self, demo_book_path):
        from leadbook import files

        alive = files.temporary_name(demo_book_path)  # this process's: its writer runs
        alive.write_bytes(b"partial")
        jobs.check(demo_book_path, write=True)
        assert alive.read_bytes() == b"partial"
        alive.unlink()  # not a workbook: the suite's check of written workbooks would fail

    def test_the_temporary_file_is_flushed_to_disk_before_it_takes_the_name(
        self, demo_book_path, monkeypatch
    ):
        events: list[tuple[str, str]] = []
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd):
            events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
            return real_fsync(fd)

        def replace(src, dst, *args, **kwargs):
            events.append(("replace", str(dst)))
            return real_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)
        jobs.check(demo_book_path, write=True)
        at = events.index(("replace", str(demo_book_path)))
        assert events[at - 1][0] == "fsync" and events[at - 1][1].startswith(
            str(demo_book_path.parent / ".~")
        )  # the temporary file's bytes, then the rename, then the folder's entry
        assert ("fsync", str(demo_book_path.parent)) in events[at + 1 :]

    def test_a_failed_rename_leaves_the_workbook_byte_identical(self, demo_book_path, monkeypatch):
        real_replace = os.replace
        before = demo_book_path.read_bytes()

        def replace(src, dst, *args, **kwargs):
            if Path(dst) == demo_book_path:
                raise OSError(errno.EIO, "Input/output error")
            return real_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "replace", replace)
        with pytest.raises(WorkbookFileError, match="cannot be replaced"):
            jobs.check(demo_book_path, write=True)
        assert demo_book_path.read_bytes() == before
        assert leftovers(demo_book_path.parent) == []
        assert not V.versions_dir(demo_book_path).exists()


# --- 6. One job at a time, over the whole job --------------------------------------------


def _in_thread(action) -> BaseException | None:
    """Run ``action`` in another thread (another job of this process); what it raised."""
    raised: list[BaseException] = []

    def run():
        try:
            action()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return raised[0] if raised else None


class TestOneJobAtATime:
    def test_a_job_started_during_anothers_rename_is_refused(self, demo_book_path, monkeypatch):
        real_replace = os.replace
        second: list[BaseException | None] = []

        def slow_replace(src, dst, *args, **kwargs):
            if Path(dst) == demo_book_path and not second:
                second.append(_in_thread(lambda: jobs.refresh(demo_book_path)))
            return real_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "replace", slow_replace)
        jobs.check(demo_book_path, write=True)
        assert isinstance(second[0], WorkbookFileError)
        assert "another leadbook job is writing demo.xlsx" in str(second[0])
        assert log_rows(demo_book_path)[-1] == "check"

    def test_a_job_started_while_another_reads_the_workbook_is_refused(
        self, demo_book_path, monkeypatch
    ):
        """The lock covers the read and the compute, not only the write: a job that read the
        workbook before another wrote it would write results of inputs no longer there."""
        real_read = jobs.read_book
        second: list[BaseException | None] = []

        def read_book(path, *args, **kwargs):
            if not second:
                second.append(_in_thread(lambda: jobs.check(demo_book_path, write=True)))
            return real_read(path, *args, **kwargs)

        monkeypatch.setattr(jobs, "read_book", read_book)
        jobs.refresh(demo_book_path)
        assert isinstance(second[0], WorkbookFileError)
        assert "another leadbook job" in str(second[0])
        assert log_rows(demo_book_path)[-1] == "refresh"

    @pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="symlinks of POSIX")
    @pytest.mark.parametrize("victim_text", [None, ""])
    def test_a_lock_file_planted_as_a_symlink_writes_nothing_where_it_points(
        self, demo_book_path, tmp_path, victim_text
    ):
        """The lock file's name is leadbook's, beside a workbook that may come from anyone
        (a shared folder, an unzipped archive): a symlink planted there made the job create
        the file it pointed to (or fill an empty one) with its holder line."""
        victim = tmp_path / "elsewhere" / "victim.cfg"
        victim.parent.mkdir()
        if victim_text is not None:
            victim.write_text(victim_text)
        from leadbook.files import lock_path

        lock_path(demo_book_path).symlink_to(victim)
        with pytest.raises(WorkbookFileError, match="is a symbolic link"):
            jobs.check(demo_book_path, write=True)
        if victim_text is None:
            assert not victim.exists()
        else:
            assert victim.read_text() == victim_text

    def test_a_workbook_whose_lock_name_is_too_long_is_refused_with_a_message(self, demo_book_path):
        """The lock's name is the workbook's and 16 characters more: past the system's limit,
        the job says it cannot write there rather than stop with a traceback."""
        long = demo_book_path.with_name("b" * 245 + ".xlsx")
        demo_book_path.rename(long)
        with pytest.raises(WorkbookFileError, match="File name too long"):
            jobs.check(long, write=True)

    def test_nested_jobs_of_one_thread_do_not_deadlock(self, demo_book_path):
        from leadbook.workbook.write import one_job

        with one_job(demo_book_path):
            jobs.refresh(demo_book_path)
        assert log_rows(demo_book_path)[-1] == "refresh"

    def test_a_lock_left_by_a_killed_job_is_taken_over_with_a_warning(self, demo_book_path, caplog):
        run_killed(
            demo_book_path,
            "dst.name == 'never'",
            script="from leadbook.workbook.write import one_job\n"
            "        held = one_job(path)\n"
            "        held.__enter__()\n"
            "        os.kill(os.getpid(), signal.SIGKILL)",
        )
        with caplog.at_level(logging.WARNING):
            jobs.check(demo_book_path, write=True)
        assert log_rows(demo_book_path)[-1] == "check"
        assert "no longer runs" in caplog.text

    def test_the_workbook_changed_during_the_version_copy_stops_the_write(
        self, demo_book_path, monkeypatch
    ):
        real_keep = V.keep_version

        def keep_version(book, command):
            kept = real_keep(book, command)
            wb = openpyxl.load_workbook(demo_book_path)  # someone saves the file meanwhile
            wb["Sources"]["A1"] = "saved by someone else"
            wb.save(demo_book_path)
            return kept

        monkeypatch.setattr(V, "keep_version", keep_version)
        with pytest.raises(WorkbookFileError, match="changed on disk while leadbook worked"):
            jobs.check(demo_book_path, write=True)
        wb = openpyxl.load_workbook(demo_book_path)
        assert wb["Sources"]["A1"].value == "saved by someone else"
        assert V.kept_versions(demo_book_path) == []

    def test_the_workbook_half_written_by_another_program_during_the_graft_stops_the_write(
        self, demo_book_path, monkeypatch
    ):
        # Putting back what openpyxl dropped reads the original's parts when it looks at them
        # (package.Parts), not at the start: a file another program is writing in place
        # meanwhile made it stop with zipfile.BadZipFile ("an unexpected error ... a bug in
        # leadbook"), not with the message a file changed on disk gets.
        from leadbook.workbook import package

        real = package._Graft.relationships
        calls = []
        whole = demo_book_path.read_bytes()

        def relationships(self, old_part, new_part):
            if not calls:
                demo_book_path.write_bytes(b"PK\x03\x04 half written")
            calls.append(old_part)
            return real(self, old_part, new_part)

        monkeypatch.setattr(package._Graft, "relationships", relationships)
        with pytest.raises(WorkbookFileError, match="changed on disk while leadbook"):
            jobs.check(demo_book_path, write=True)
        assert calls
        assert demo_book_path.read_bytes() == b"PK\x03\x04 half written"
        assert V.kept_versions(demo_book_path) == []
        demo_book_path.write_bytes(whole)  # the other program finishes (the integrity check)

    def test_excel_opening_the_workbook_mid_run_stops_the_write(self, demo_book_path, monkeypatch):
        real_keep = V.keep_version
        before = demo_book_path.read_bytes()

        def keep_version(book, command):
            demo_book_path.with_name(f"~${demo_book_path.name}").write_bytes(b"owner")
            return real_keep(book, command)

        monkeypatch.setattr(V, "keep_version", keep_version)
        with pytest.raises(WorkbookFileError, match=r"demo\.xlsx is open in Excel"):
            jobs.check(demo_book_path, write=True)
        assert demo_book_path.read_bytes() == before
        assert V.kept_versions(demo_book_path) == []


def left_by_a_killed_writer(target: Path) -> Path:
    """A temporary file for ``target`` made by a process that has ended since."""
    code = "import sys; from pathlib import Path; from leadbook import files; "
    code += "print(files.temporary_name(Path(sys.argv[1])))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(target)], cwd=REPO, capture_output=True, text=True
    )
    return Path(done.stdout.strip())


class TestOneJobAtATimeWithoutFlock(TestOneJobAtATime):
    """The same, where the system has no ``flock`` (Windows): the lock is a file created
    exclusively, removed when the job ends, taken over when its holder no longer runs."""

    @pytest.fixture(autouse=True)
    def _no_flock(self, monkeypatch):
        import leadbook.files

        monkeypatch.setattr(leadbook.files, "fcntl", None)

    def test_the_lock_file_is_gone_when_the_job_ends(self, demo_book_path):
        from leadbook.files import lock_path
        from leadbook.workbook.write import one_job

        with one_job(demo_book_path):
            assert lock_path(demo_book_path).exists()
        assert not lock_path(demo_book_path).exists()

    def test_a_lock_held_on_another_machine_is_respected(self, demo_book_path):
        from leadbook.files import lock_path

        lock_path(demo_book_path).write_text("4242 another-machine 2026-12-03 09:00:00\n")
        with pytest.raises(WorkbookFileError, match="another leadbook job"):
            jobs.check(demo_book_path, write=True)
        assert lock_path(demo_book_path).exists()  # not ours to remove


class TestEveryWriter:
    def test_undo_refuses_a_read_only_file(self, demo_book_path):
        jobs.check(demo_book_path, write=True)
        demo_book_path.chmod(0o444)
        before = demo_book_path.read_bytes()
        with pytest.raises(WorkbookFileError, match=r"demo\.xlsx is read-only"):
            undo(demo_book_path)
        assert demo_book_path.read_bytes() == before

    def test_temporary_files_of_earlier_releases_are_removed_under_the_lock(self, demo_book_path):
        """Earlier releases named them without their process; only the lock's holder can
        tell they are stale, and only this workbook's are its."""
        ours = demo_book_path.with_name(".~demo-a8ifsgly.xlsx")
        theirs = demo_book_path.with_name(".~other-a8ifsgly.xlsx")
        for path in (ours, theirs):
            shutil.copy(demo_book_path, path)
        folder = V.versions_dir(demo_book_path)
        folder.mkdir()
        partial = folder / ".20260101T000000.000000Z-before-check.xlsx.partial"
        partial.write_bytes(b"cut short")
        jobs.check(demo_book_path, write=True)
        assert not ours.exists() and not partial.exists()
        assert theirs.exists()

    def test_a_symlink_planted_as_the_scored_file_does_not_choose_where_scores_go(
        self, demo_book_path, tmp_path
    ):
        from leadbook.demo import demo_leads
        from leadbook.leads.table import by_header
        from leadbook.workbook.jobs.leads import score_leads

        share = tmp_path / "share"  # an unzipped archive: a workbook, its leads, and a link
        share.mkdir()
        book = share / demo_book_path.name
        shutil.move(demo_book_path, book)
        by_header(demo_leads()).to_csv(share / "leads.csv", index=False)
        victim = tmp_path / "home" / ".ssh" / "authorized_keys"
        victim.parent.mkdir(parents=True)
        victim.write_text("ssh-ed25519 AAAA the user's own key\n")
        (share / "leads.scored.csv").symlink_to(victim)
        before = book.read_bytes()
        with pytest.raises(WorkbookFileError, match=r"leads\.scored\.csv is a symbolic link"):
            score_leads(book, leads_file=share / "leads.csv", retrain=True)
        assert victim.read_text() == "ssh-ed25519 AAAA the user's own key\n"
        assert book.read_bytes() == before  # refused before anything was written

    @pytest.mark.broken_files("*-board-*.xlsx")  # the planted link, to a text file
    def test_a_symlink_planted_as_the_board_pack_does_not_choose_where_it_goes(
        self, demo_book_path, tmp_path
    ):
        from leadbook.workbook.jobs.pack import export_board_pack, pack_name

        victim = tmp_path / "victim.txt"
        victim.write_text("the user's own file\n")
        (demo_book_path.parent / pack_name(demo_book_path, "2026Q4")).symlink_to(victim)
        before = demo_book_path.read_bytes()
        with pytest.raises(WorkbookFileError, match="is a symbolic link"):
            export_board_pack(demo_book_path, "2026Q4")
        assert victim.read_text() == "the user's own file\n"
        assert demo_book_path.read_bytes() == before

    def test_a_scored_lead_file_is_written_like_the_workbook(self, demo_book_path, tmp_path):
        """With its mode, and the temporary file of a killed scoring run beside it removed
        (a symlink in its place is refused: the test above)."""
        from leadbook.demo import demo_leads
        from leadbook.leads.table import by_header
        from leadbook.workbook.jobs.leads import score_leads

        by_header(demo_leads()).to_csv(tmp_path / "leads.csv", index=False)
        real = tmp_path / "leads.scored.csv"
        real.write_text("old scores\n")
        real.chmod(0o640)
        killed = left_by_a_killed_writer(real)
        assert killed.exists()
        score_leads(demo_book_path, leads_file=tmp_path / "leads.csv", retrain=True)
        assert real.read_text().startswith("lead_id,")
        assert stat.S_IMODE(real.stat().st_mode) == 0o640
        assert not killed.exists()


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def formula_cells_xml(path: Path, tab: str) -> dict[str, ET.Element]:
    """The formula cells of ``tab`` as its raw sheet part holds them."""
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(sheet_parts(zf)[tab])
    return {
        c.get("r"): c
        for c in ET.fromstring(xml).iter(f"{_MAIN}c")
        if c.find(f"{_MAIN}f") is not None
    }


class TestSavedFormulaValues:
    """A formula leadbook writes is saved with leadbook's value of it, as Excel saves one."""

    def test_each_kind_of_value_as_excel_writes_it(self, tmp_path):
        wb = openpyxl.Workbook()
        ws = wb.active
        values = formula_values(wb)
        cells = {
            "A1": ("=1+1", 2, None, "2"),
            "A2": ("=0.1*3", 0.30000000000000004, None, "0.30000000000000004"),
            "A3": ('="a<b & c"', "a<b & c", "str", "a<b & c"),
            "A4": ('=IF(1>2,1,"")', None, "str", None),  # the empty text: <v></v>
            "A5": ("=DATE(2026,11,1)", dt.datetime(2026, 11, 1), None, "46327"),
            "A6": ("=1=1", True, "b", "1"),
        }
        for cell, (formula, value, _, _) in cells.items():
            ws[cell] = formula
            ws[cell].number_format = "yyyy-mm-dd" if isinstance(value, dt.datetime) else "0.00"
            values[f"{ws.title}!{cell}"] = value
        values[f"{ws.title}!B1"] = 5.0  # recorded, but the cell holds no formula: no value
        ws["B1"] = 7
        save_workbook(wb, tmp_path / "f.xlsx")
        saved = formula_cells_xml(tmp_path / "f.xlsx", ws.title)
        assert set(saved) == set(cells)
        for cell, (formula, _, kind, text) in cells.items():
            c = saved[cell]
            assert [child.tag for child in c] == [f"{_MAIN}f", f"{_MAIN}v"]  # Excel's order
            assert c.get("s") is not None and c.get("t") == kind
            assert c.find(f"{_MAIN}f").text == formula[1:]
            assert c.find(f"{_MAIN}v").text == text
        back = openpyxl.load_workbook(tmp_path / "f.xlsx", data_only=True).active
        assert [back[c].value for c in cells] == [
            2,
            0.30000000000000004,
            "a<b & c",
            None,
            dt.datetime(2026, 11, 1),
            True,
        ]
        assert back["B1"].value == 7

    def test_a_job_keeps_the_values_of_the_tabs_it_did_not_render(self, demo_book_path):
        before = {tab: formula_cells_xml(demo_book_path, tab) for tab in C.OUTPUT_SHEETS}
        assert all(uncached_formulas_of(cells) == [] for cells in before.values())
        jobs.refresh(demo_book_path, (C.SCORES.name,))
        for tab in C.OUTPUT_SHEETS:
            after = formula_cells_xml(demo_book_path, tab)
            assert uncached_formulas_of(after) == [], tab
            if tab != C.SCORES.name:
                assert {r: c.find(f"{_MAIN}v").text for r, c in after.items()} == {
                    r: c.find(f"{_MAIN}v").text for r, c in before[tab].items()
                }, tab


def uncached_formulas_of(cells: dict[str, ET.Element]) -> list[str]:
    return [
        r
        for r, c in cells.items()
        if c.find(f"{_MAIN}v") is None or not (c.find(f"{_MAIN}v").text or c.get("t") == "str")
    ]


_PART = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetData><row r="1">{}</row></sheetData></worksheet>'
)


class TestCachedFormulaValues:
    """The cached values read from a tab: the plain form by pattern, any other by parsing."""

    @pytest.mark.parametrize(
        ("cells", "want", "plain"),
        [
            (
                '<c r="A1" s="2"><f>1+1</f><v>2</v></c><c r="A2" t="str"><f>"a&amp;b"</f>'
                '<v>a&amp;b</v></c><c r="A3" t="str"><f>""</f><v></v></c>'
                '<c r="A4"><f>A1</f><v /></c><c r="A5"><f t="shared" si="0"/><v>3</v></c>',
                {"A1": ("2", None), "A2": ("a&b", "str"), "A3": ("", "str"), "A5": ("3", None)},
                True,
            ),
            (  # an attribute order no plain pattern expects: parsed
                '<c t="str" r="B1"><f>"x"</f><v>x</v></c><c r="B2"><f>1</f><v>1</v></c>',
                {"B1": ("x", "str"), "B2": ("1", None)},
                False,
            ),
            (  # a formula that is not a cell's (in a comment): parsed, not counted
                '<c r="C1"><f>1</f><v>1</v></c><!-- <f>2</f> -->',
                {"C1": ("1", None)},
                False,
            ),
        ],
    )
    def test_plain_or_parsed(self, cells, want, plain):
        from leadbook.workbook.saving import _cached_formula_values, _plain_formula_values

        xml = _PART.format(cells).encode()
        assert (_plain_formula_values(xml) is not None) == plain
        assert _cached_formula_values(xml) == want


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (2.5, ("2.5", None)),
        (3.0, ("3", None)),
        (7, ("7", None)),
        (True, ("1", "b")),
        ("x", ("x", "str")),
        (float("inf"), None),
    ],
)
def test_a_cached_value_of_numpy_type_is_written_as_the_python_one(value, want):
    # A value computed with numpy (np.float64, np.int64, np.bool_) caches as the number it is:
    # repr(np.float64(2.5)) is 'np.float64(2.5)', and np.int64 is no int.
    import numpy as np

    from leadbook.workbook.saving import _typed_value

    epoch = dt.datetime(1899, 12, 30)
    assert _typed_value(value, epoch) == want
    if isinstance(value, bool):
        assert _typed_value(np.bool_(value), epoch) == want
    elif isinstance(value, float):
        assert _typed_value(np.float64(value), epoch) == want
    elif isinstance(value, int):
        assert _typed_value(np.int64(value), epoch) == want


class TestInMemory:
    """A write on a workbook already open (a button's mirror, IN_MEMORY) changes that
    workbook, keeps the file as the version and leaves the file as it was."""

    def _open(self, path):
        from leadbook.workbook.memory import IN_MEMORY, InMemory
        from leadbook.workbook.write import LEFT_AS_THEY_WERE, WRITTEN

        wb = openpyxl.load_workbook(path)
        written: list = []
        self.left: list = []
        tokens = (IN_MEMORY.set(InMemory(path, wb)), WRITTEN.set(written))
        return wb, written, (*tokens, LEFT_AS_THEY_WERE.set(self.left))

    def _close(self, tokens):
        from leadbook.workbook.memory import IN_MEMORY
        from leadbook.workbook.write import LEFT_AS_THEY_WERE, WRITTEN

        IN_MEMORY.reset(tokens[0])
        WRITTEN.reset(tokens[1])
        LEFT_AS_THEY_WERE.reset(tokens[2])

    def test_the_job_changes_the_open_workbook_and_the_file_becomes_the_version(
        self, demo_book_path
    ):
        from leadbook.workbook.write import update_workbook

        before = demo_book_path.read_bytes()
        wb, written, tokens = self._open(demo_book_path)

        def job(book):
            book[C.ALLOCATION.name]["A1"] = "changed in memory"
            return "a test write"

        try:
            result = update_workbook(demo_book_path, "test", job, changes=(C.ALLOCATION.name,))
        finally:
            self._close(tokens)
        assert demo_book_path.read_bytes() == before  # not saved: nobody reads it again
        assert result.version.read_bytes() == before  # the version Undo puts back
        assert written == [(wb, frozenset())]
        assert self.left == [C.INPUT_SHEETS]  # checked unchanged: not compared again
        assert wb[C.ALLOCATION.name]["A1"].value == "changed in memory"
        log = [row for row in wb[C.LOG.name].iter_rows(values_only=True) if "test" in row]
        assert len(log) == 1 and "a test write" in log[0]

    def test_the_reader_takes_the_open_workbook_until_it_is_written(self, demo_book_path):
        """A job reading its inputs reads the open workbook's cells, not the file's, until
        its write takes the workbook."""
        from leadbook.workbook.read import read_book
        from leadbook.workbook.write import update_workbook

        spend = 1 + C.SOURCES_TABLE.keys.index("spend")
        on_file = read_book(demo_book_path).inventory.sources["spend"].iloc[0]
        wb, _, tokens = self._open(demo_book_path)
        sent = on_file + 0.25
        wb[C.SOURCES.name].cell(13, spend).value = sent
        try:
            assert read_book(demo_book_path).inventory.sources["spend"].iloc[0] == sent
            assert read_book(demo_book_path).path == demo_book_path
            update_workbook(demo_book_path, "test", lambda book: "written", changes=())
            assert read_book(demo_book_path).inventory.sources["spend"].iloc[0] == on_file
        finally:
            self._close(tokens)

    def test_a_second_write_in_memory_is_refused(self, demo_book_path):
        from leadbook.workbook.write import update_workbook

        _, _, tokens = self._open(demo_book_path)
        try:
            update_workbook(demo_book_path, "test", lambda wb: "one", changes=())
            with pytest.raises(AssertionError, match="written once in memory already"):
                update_workbook(demo_book_path, "test", lambda wb: "two", changes=())
        finally:
            self._close(tokens)
