"""The command line: commands, exit codes, --json, readable errors."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import openpyxl
import pytest
from conftest import loaded_modules
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

    @pytest.mark.broken_files("bad.xlsx")
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
            "refreshed Tiers, Scores, ROI, Forecast, Forecast detail, Hiring, Decisions for 11 "
            "sources"
        )
        assert payload["sources"][0]["source"] == "Referral programme"


class TestNew:
    def test_new_then_check(self, tmp_path):
        path = tmp_path / "t.xlsx"
        assert run("new", str(path)).exit_code == 0
        result = runner.invoke(app, ["check", str(path), "--json"])
        assert result.exit_code == 1
        errors = [p["where"] for p in json.loads(result.stdout)["problems"]]
        assert errors == ["Sources!A13", "Sources!AB13", "History!B4", "Leads!A24"]


class TestUndo:
    """leadbook undo BOOK: two rebalances, then two undos, each byte for byte."""

    def test_walks_back_two_rebalances(self, demo_book_path):
        book = str(demo_book_path)
        original = hashlib.sha256(demo_book_path.read_bytes()).hexdigest()
        first = run("rebalance", book)
        assert first.exit_code == 0
        assert "previous version kept as demo.leadbook-versions/" in first.stdout
        assert "-before-rebalance.xlsx; leadbook undo restores it" in first.stdout
        after_first = hashlib.sha256(demo_book_path.read_bytes()).hexdigest()
        assert run("rebalance", book).exit_code == 0

        result = run("undo", book)
        assert result.exit_code == 0
        assert re.search(
            r"Restored demo\.xlsx as it was before rebalance of \d{4}-\d\d-\d\d "
            r"\d\d:\d\d:\d\d \(demo\.leadbook-versions/\d{8}T\d{6}\.\d{6}Z-before-rebalance"
            rf"\.xlsx, sha256 {after_first[:16]}…\)",
            result.stdout,
        )
        assert "-before-undo.xlsx. Run leadbook undo again" in result.stdout

        payload = json.loads(run("undo", book, "--json").stdout)
        assert payload["sha256"] == original
        assert hashlib.sha256(demo_book_path.read_bytes()).hexdigest() == original
        assert payload["undid"] == "rebalance" and payload["restored"]["values_copy"] is False

        nothing = runner.invoke(app, ["undo", book])
        assert nothing.exit_code == 2
        assert "nothing more to undo: demo.xlsx is back to the oldest version" in nothing.stderr

    def test_list(self, demo_book_path):
        book = str(demo_book_path)
        empty = run("undo", "--list", book)
        assert "No version of demo.xlsx is kept yet" in empty.stdout
        run("refresh", book)
        run("undo", book)
        listed = run("undo", "--list", book)
        assert listed.exit_code == 0
        assert "2 version(s) of demo.xlsx kept in demo.leadbook-versions" in listed.stdout
        assert re.search(r"\d{8}T\d{6}\.\d{6}Z-before-refresh\.xlsx", listed.stdout)
        assert "restored by the undo of" in listed.stdout
        assert "1 undo(s) recorded in demo.leadbook-versions/undo-log.jsonl" in listed.stdout
        payload = json.loads(run("undo", "--list", "--json", book).stdout)
        assert [v["before"] for v in payload["versions"]] == ["refresh", "undo"]
        (record,) = payload["undos"]
        assert record["restored"] == Path(payload["versions"][0]["file"]).name

    def test_refused_while_open_in_libreoffice(self, demo_book_path):
        run("refresh", str(demo_book_path))
        before = demo_book_path.read_bytes()
        (demo_book_path.parent / ".~lock.demo.xlsx#").write_text("someone,host,2026")
        result = runner.invoke(app, ["undo", str(demo_book_path)])
        assert result.exit_code == 2
        assert "demo.xlsx is open in LibreOffice (lock file .~lock.demo.xlsx#)" in result.stderr
        assert demo_book_path.read_bytes() == before


def test_import_leadbook_does_not_import_xlwings():
    code = "import leadbook, leadbook.cli, leadbook.workbook.jobs.refresh"
    assert loaded_modules(code, ("xlwings",)) == []


def test_version_is_printed_without_a_command():
    from leadbook import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output.strip()) == (0, __version__)


def test_output_to_a_reader_that_went_away_is_no_bug(monkeypatch, tmp_path):
    """``leadbook new BOOK | head -1``: the pipe closes while leadbook writes, and a write
    raises BrokenPipeError; that is no bug in leadbook (it said it was, with a traceback and
    exit code 3)."""

    def gone(*_args, **_kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("leadbook.workbook.jobs.refresh.new", gone)
    result = CliRunner().invoke(app, ["new", str(tmp_path / "book.xlsx")])
    assert result.exit_code == 0, result.output
    assert "bug" not in result.output


def test_the_sources_summary_prints_the_best_and_counts_the_rest():
    """At 10,000 sources the summary printed every row (10 s); it prints the best and says
    where the rest are."""
    import pandas as pd

    from leadbook.cli import show as cli

    n = cli.SOURCES_SHOWN + 7
    summary = pd.DataFrame(
        {
            "rank": range(1, n + 1),
            "tier": "Tier 1",
            "lead_type": "Standard",
            "risk": "Low",
            "score": 50.0,
            "spend": 1_000.0,
            "share": 1 / n,
        },
        index=[f"Source {i:03d}" for i in range(1, n + 1)],
    )
    with cli.out.capture() as captured:
        cli.print_sources(summary)
    text = captured.get()
    assert f"Source {cli.SOURCES_SHOWN:03d}" in text
    assert f"Source {cli.SOURCES_SHOWN + 1:03d}" not in text
    assert "… and 7 more on the Scores tab" in text


@pytest.mark.parametrize("command", ["check", "roi", "rebalance"])
def test_jobs_without_a_lead_model_or_forecast_import_neither(command, demo_book_path):
    """scikit-learn, skops and statsmodels take over a second to import; the jobs that need
    no lead model (the demo's conversion is History's) and no forecast import none of them."""
    code = (
        "import sys\n"
        "from leadbook.cli import main\n"
        f"sys.argv = ['leadbook', {command!r}, {str(demo_book_path)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert loaded_modules(code, ("sklearn", "skops", "statsmodels")) == []


def test_rebalance_json_near_the_largest_exact_budget(demo_book_path):
    """The demo's largest exact budget is about $325,594: $1,000 more than $325,000 cannot
    be spent, which once made a NaN and crashed the JSON after the workbook was written."""
    from conftest import set_setting

    set_setting(demo_book_path, "BudgetMode", "exact")
    set_setting(demo_book_path, "Budget", 325_000)
    result = runner.invoke(app, ["rebalance", str(demo_book_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] and payload["budget_value"] is None
    said = "\n".join(payload["explanation"])
    assert "Another $1,000 could not be spent: at an exact budget of $326,000" in said
    assert "no duals" not in said and "adds up to -" not in said


def test_print_json_writes_null_for_a_non_finite_figure(capsys):
    import numpy as np

    from leadbook.cli.show import print_json

    print_json({"a": float("nan"), "b": [np.float64("inf"), 1.5], "c": {"d": -np.inf}})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [None, 1.5], "c": {"d": None}}


@pytest.mark.parametrize(
    "command",
    [
        "score-leads",
        "board",
        "roi",
        "forecast",
        "plan",
        "check",
        "refresh",
        "undo",
        "whatif",
        "accept",
    ],
)
def test_json_commands_print_a_json_error_on_stdout(command, tmp_path):
    """As rebalance --json does: a failed run prints {"ok": false, "summary": …} (exit 2),
    not an empty stdout."""
    book = tmp_path / "missing.xlsx"
    result = runner.invoke(app, [command, str(book), "--json"])
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["path"] == str(book)
    assert "missing.xlsx" in payload["summary"]
