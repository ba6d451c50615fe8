"""The command line: commands, exit codes, --json, readable errors."""

from __future__ import annotations

import json
import subprocess
import sys

import openpyxl
from typer.testing import CliRunner

from leadbook.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


class TestDemo:
    def test_writes_the_workbook_and_prints_the_summary(self, tmp_path):
        out = tmp_path / "d.xlsx"
        result = run("demo", "--out", str(out))
        assert result.exit_code == 0
        assert out.exists()
        assert "blended CPL $121.42, conversion 15.52%" in result.stdout
        assert "stated blended CPL $127.00 does not follow from the rows" in result.stdout
        assert "Referral programme" in result.stdout

    def test_json(self, tmp_path):
        result = run("demo", "--out", str(tmp_path / "d.xlsx"), "--json")
        payload = json.loads(result.stdout)
        assert round(payload["portfolio"]["blended_cpl"], 2) == 121.42
        assert len(payload["sources"]) == 11
        assert {f["where"] for f in payload["findings"]} == {"Sources!E6", "Sources!E7"}


class TestCheck:
    def test_warnings_only_exit_zero_unless_strict(self, demo_book_path):
        assert run("check", str(demo_book_path)).exit_code == 0
        assert run("check", str(demo_book_path), "--strict").exit_code == 1

    def test_errors_exit_one_and_are_listed(self, demo_book_path):
        wb = openpyxl.load_workbook(demo_book_path)
        wb["Sources"]["J14"] = -3
        wb.save(demo_book_path)
        result = run("check", str(demo_book_path), "--json")
        assert result.exit_code == 1
        payload = json.loads(result.stdout)
        assert payload["ok"] is False
        assert {
            "where": "Sources!J14",
            "message": "CPL must be > 0, got -3",
            "severity": "error",
        } in payload["problems"]

    def test_unreadable_file_exits_two_with_a_message(self, tmp_path):
        bad = tmp_path / "bad.xlsx"
        bad.write_bytes(b"not a workbook")
        result = runner.invoke(app, ["check", str(bad)])
        assert result.exit_code == 2
        assert "is not an Excel workbook" in result.stderr
        assert "Traceback" not in result.output


class TestRefresh:
    def test_refresh_json(self, demo_book_path):
        result = run("refresh", str(demo_book_path), "--json")
        assert result.exit_code == 0
        payload = json.loads(result.stdout)
        assert payload["changed"] == (
            "refreshed Tiers, Scores, ROI, Forecast, Forecast detail, Hiring for 11 sources"
        )
        assert payload["sources"][0]["source"] == "Referral programme"


class TestNew:
    def test_new_then_check(self, tmp_path):
        path = tmp_path / "t.xlsx"
        assert run("new", str(path)).exit_code == 0
        result = runner.invoke(app, ["check", str(path)])
        assert result.exit_code == 1
        assert "the Sources table has no sources yet" in result.stdout


def test_import_leadbook_does_not_import_xlwings():
    code = (
        "import sys, leadbook, leadbook.cli, leadbook.workbook.jobs; "
        "print('xlwings' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
