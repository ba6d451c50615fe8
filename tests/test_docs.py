"""The README tells the truth: its generated sections match the code, its commands exist."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from leadbook.board.specs import KPI_SPECS
from leadbook.cli import app

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def load_generator():
    spec = importlib.util.spec_from_file_location("readme_gen", ROOT / "docs" / "readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_sections_are_current():
    assert load_generator().render(README) == README, "run: .venv/bin/python docs/readme.py"


def test_readme_opens_with_exactly_the_two_commands():
    first_block = README.split("```")[1].strip().splitlines()
    assert first_block[0] == "bash"
    commands = [line.split("#")[0].strip() for line in first_block[1:]]
    assert commands == ["./dev demo", "./dev test"]


def test_every_command_in_the_table_exists():
    documented = set(re.findall(r"^\| `leadbook ([a-z-]+)", README, re.M))
    registered = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert documented == registered


def test_pictures_exist():
    for picture in re.findall(r"\]\((docs/img/[^)]+\.png)\)", README):
        assert (ROOT / picture).stat().st_size > 10_000


def test_board_md_kpi_table_is_current():
    spec = importlib.util.spec_from_file_location("board_doc", ROOT / "docs" / "boarddoc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "docs" / "board.md").read_text()
    assert module.render(text) == text, "run: .venv/bin/python docs/boarddoc.py"
    # every KPI has its definition and basis, in one table
    for key in (s.key for s in KPI_SPECS):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{key}` |"))
        cells = [c.strip() for c in row.split(" | ")]
        assert cells[2] and cells[3] and cells[4], row
