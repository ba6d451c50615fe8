"""The ``leadbook`` process starts a command quickly (issue 16): what it imports before a
command, the collector paused while a command imports, and skops' trusted types unchanged by
the order score-leads imports in."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

from conftest import loaded_modules

from leadbook.cli.startup import owned_process, preload


def test_the_command_line_starts_without_pandas():
    """``leadbook --version``, ``--help`` and a command's parsing need no pandas (0.3 s):
    the command that needs it imports it."""
    assert loaded_modules("import leadbook.cli", ("pandas", "openpyxl", "scipy")) == []


def _probe(tmp_path, monkeypatch, name: str) -> None:
    """A module ``name`` that records, when imported, whether the collector was running."""
    (tmp_path / f"{name}.py").write_text("import gc\nCOLLECTING = gc.isenabled()\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_command_imports_with_the_collector_paused(tmp_path, monkeypatch):
    _probe(tmp_path, monkeypatch, "leadbook_probe_paused")
    frozen = gc.get_freeze_count()
    assert gc.isenabled()
    preload("leadbook_probe_paused")
    assert sys.modules["leadbook_probe_paused"].COLLECTING is False
    assert gc.isenabled()  # running again after
    assert gc.get_freeze_count() == frozen  # a test runner's collector is left as it was


def test_a_paused_collector_is_left_paused(tmp_path, monkeypatch):
    _probe(tmp_path, monkeypatch, "leadbook_probe_left")
    gc.disable()
    try:
        preload("leadbook_probe_left")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_leadbook_process_freezes_what_a_command_imported(tmp_path, monkeypatch):
    _probe(tmp_path, monkeypatch, "leadbook_probe_frozen")
    try:
        with owned_process():
            before = gc.get_freeze_count()
            preload("leadbook_probe_frozen")
            after = gc.get_freeze_count()
        assert after > before > 0
        assert gc.isenabled()
    finally:
        gc.unfreeze()  # this process is the test runner's


def test_a_failed_import_leaves_the_collector_running():
    try:
        preload("leadbook_no_such_module")
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError("the import did not fail")
    assert gc.isenabled()


def test_skops_trusts_the_same_types_whichever_order_score_leads_imports_in():
    """score-leads imports skops first so that its scan of the loaded modules for each scipy
    ufunc is short (issue 16); the scan stops at the module defining each ufunc, which comes
    before any that imports it, so the trusted types are those of any other order."""
    dump = (
        "import json, skops.io._trusted_types as T\n"
        "print(json.dumps({k: sorted(getattr(T, k)) for k in dir(T) if k.endswith('_NAMES')}))"
    )
    orders = {
        "as score-leads": "from leadbook.cli import startup\n"
        "startup.preload('skops.io', 'leadbook.workbook.jobs.leads')\n",
        "job first": "import leadbook.cli, leadbook.workbook.jobs.leads, sklearn.ensemble\n",
    }
    lists = {
        name: json.loads(
            subprocess.run(
                [sys.executable, "-c", code + dump], capture_output=True, text=True, check=True
            ).stdout
        )
        for name, code in orders.items()
    }
    assert lists["as score-leads"] == lists["job first"]
    assert len(lists["job first"]["SCIPY_UFUNC_TYPE_NAMES"]) > 100
