"""What workbooks/ gives each Excel front is complete and points at code that exists."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

from udfs import functions, scripts

WORKBOOKS = Path(__file__).parent.parent.parent / "workbooks"
SCRIPTS = {"refresh", "check_inputs"}


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
        assert {f["name"] for f in meta} == expected
        assert "LB.TIER" in expected and "LB.SCORES" in expected

    def test_main_registers_the_scripts(self):
        main = load_main()
        found = {n for n, f in inspect.getmembers(main) if hasattr(f, "__xlscript__")}
        assert found == SCRIPTS

    def test_requirements_name_only_leadbook(self):
        lines = (WORKBOOKS / "lite" / "requirements.txt").read_text().splitlines()
        assert [line for line in lines if line.strip() and not line.startswith("#")] == ["leadbook"]


class TestClassic:
    def test_every_macro_runs_a_no_argument_entry_point(self):
        vba = (WORKBOOKS / "classic" / "leadbook.bas").read_bytes().decode()
        assert "\r\n" in vba  # the VBA editor imports CRLF files
        calls = re.findall(r'RunPython "import udfs\.scripts as s; s\.(\w+)\(\)"', vba)
        assert len(calls) == vba.count("RunPython") == len(SCRIPTS)
        for name in calls:
            entry = getattr(scripts, name)
            assert not inspect.signature(entry).parameters, name


def test_the_server_readme_names_the_routes_the_server_serves(client):
    text = (WORKBOOKS / "server" / "README.md").read_text()
    for route in [*re.findall(r"`(/[a-z/.]*)`", text), "/manifest.xml"]:
        assert client.get(route).status_code == 200, route
