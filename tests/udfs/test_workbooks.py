"""What workbooks/ gives each Excel front is complete and points at code that exists."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

from udfs import functions, scripts

WORKBOOKS = Path(__file__).parent.parent.parent / "workbooks"
SCRIPTS = {
    "refresh", "check_inputs", "rebalance", "compare_scenarios", "refresh_forecast", "plan_hiring",
    "score_leads",
    "score_leads_retrain", "export_board_pack", "undo",
}  # fmt: skip
FUNCTIONS = {
    "BLENDED_CPL", "BLENDED_CONVERSION", "BLENDED_CPA", "PORTFOLIO", "TIER", "LEADTYPE",
    "RISKCLASS", "CLASSES", "SCORES", "ALLOCATE", "EXPLAIN", "ROI", "NPV_COHORT", "PAYBACK",
    "FORECAST", "REPS_NEEDED", "HIRING_PLAN", "LEAD_SCORE", "EXPECTED_ROI", "LEAD_PRICE",
    "BREAKEVEN_P", "CLASSIFIER_METRICS", "KPI", "BUDGET_CURVE",
}  # fmt: skip
DOCS = WORKBOOKS.parent / "docs" / "excel.md"


def decorated(module, marker: str) -> set[str]:
    """The names of ``module``'s members that xlwings registers (``__xlfunc__``…)."""
    return {n for n, f in inspect.getmembers(module) if hasattr(f, marker)}


class TestModules:
    """What each front re-exports (``__all__``) is everything the modules define."""

    def test_every_decorated_function_is_exported(self):
        assert decorated(functions, "__xlfunc__") == set(functions.__all__)
        assert {getattr(functions, n).__xlfunc__["excel_name"] for n in functions.__all__} == (
            FUNCTIONS
        )

    def test_every_script_is_exported_with_a_classic_entry_point(self):
        assert decorated(scripts, "__xlscript__") == SCRIPTS
        callers = {n for n in dir(scripts) if n.endswith("_caller")}
        assert callers == {f"{n}_caller" for n in SCRIPTS}
        assert set(scripts.__all__) == SCRIPTS | callers


def load_main():
    """workbooks/lite/main.py as xlwings Lite loads it: a module named ``main``."""
    spec = importlib.util.spec_from_file_location("main", WORKBOOKS / "lite" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestLite:
    def test_main_registers_every_function_under_lb(self):
        from xlwings.server import custom_functions_meta

        meta = custom_functions_meta(load_main())["functions"]
        expected = {
            f"LB.{getattr(functions, n).__xlfunc__['excel_name']}" for n in functions.__all__
        }
        assert {f["name"] for f in meta} == expected == {f"LB.{n}" for n in FUNCTIONS}

    def test_main_registers_the_scripts(self):
        main = load_main()
        found = {n for n, f in inspect.getmembers(main) if hasattr(f, "__xlscript__")}
        assert found == SCRIPTS

    def test_requirements_install_this_release_of_leadbook(self):
        """The pasted lines name this version of leadbook (tests/test_packaging.py resolves
        the rest against Pyodide's lock)."""
        from leadbook import __version__

        lines = (WORKBOOKS / "lite" / "requirements.txt").read_text().splitlines()
        wanted = [line for line in lines if line.strip() and not line.startswith("#")]
        assert wanted[0] == f"leadbook=={__version__}"


class TestClassic:
    def test_every_macro_runs_a_no_argument_entry_point(self):
        vba = (WORKBOOKS / "classic" / "leadbook.bas").read_bytes().decode()
        assert "\r\n" in vba  # the VBA editor imports CRLF files
        calls = re.findall(r'RunPython "import udfs\.scripts as s; s\.(\w+)\(\)"', vba)
        assert len(calls) == vba.count("RunPython") == len(SCRIPTS)
        assert set(calls) == {f"{n}_caller" for n in SCRIPTS}
        assert re.search(r"LeadbookRebalance on the Allocation tab", vba)
        for name in calls:
            entry = getattr(scripts, name)
            assert not inspect.signature(entry).parameters, name


def test_the_server_readme_names_the_routes_the_server_serves(client):
    text = (WORKBOOKS / "server" / "README.md").read_text()
    for route in [*re.findall(r"`(/[a-z/.]*)`", text), "/manifest.xml"]:
        assert client.get(route).status_code == 200, route


class TestDocs:
    def test_the_catalogue_documents_every_function_and_button(self):
        text = DOCS.read_text()
        for name in FUNCTIONS:
            assert re.search(rf"^#### `=LB\.{name}\(", text, re.M), name
        for name in SCRIPTS:
            assert f"`{name}`" in text, name
