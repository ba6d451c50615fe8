"""Generated sections of README.md, from the workbook contract, the Settings declaration and
the cell functions of ``udfs/``.

    .venv/bin/python docs/readme.py        # rewrite the generated sections in place

Each section sits between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers;
tests/test_docs.py fails when the README differs from what this module generates.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

from leadbook import contract as C
from leadbook.settings import SETTING_SPECS, Settings, section_title

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"


def tabs() -> str:
    lines = ["| Tab | What it is for | Written by | Button |", "|---|---|---|---|"]
    for spec in C.SHEETS:
        who = "you" if spec.role is C.Role.INPUT else "leadbook"
        purpose = spec.purpose + (f" *{spec.coming}*" if spec.coming else "")
        lines.append(f"| {spec.name} | {purpose} | {who} | {', '.join(spec.buttons)} |")
    return "\n".join(lines)


def sources_columns() -> str:
    lines = ["| Column | Kind | Required | Meaning |", "|---|---|---|---|"]
    for col in C.SOURCES_TABLE.columns:
        kind = col.kind.value if col.role is C.Role.INPUT else f"formula: `{col.formula}`"
        if col.choices is not None:
            kind = " / ".join(m.value for m in col.choices)
        required = "yes" if col.required and col.role is C.Role.INPUT else ""
        lines.append(f"| {col.header} | {kind} | {required} | {col.doc} |")
    return "\n".join(lines)


def settings() -> str:
    """The Settings tab as the README shows it: a heading per section, then each setting's
    label, key (its defined name), default and note."""
    lines = ["| Setting | Key | Default | Note |", "|---|---|---|---|"]
    defaults = Settings()
    section = None
    for spec in SETTING_SPECS:
        if spec.section != section:
            section = spec.section
            lines.append(f"| **{section_title(section)}** | | | |")
        value = defaults.get(spec.key)
        if value is None:
            shown = "blank"
        elif spec.is_percent:
            shown = f"{value:.0%}"
        elif spec.unit == "$":
            shown = f"${value:,.0f}"
        else:
            shown = f"{value}"
        unit = f" {spec.unit}" if spec.unit and spec.unit not in ("%", "$") else ""
        lines.append(f"| {spec.label} | `{spec.name}` | {shown}{unit} | {spec.doc} |")
    return "\n".join(lines)


def functions() -> str:
    """Every ``LB.*`` cell function: its Excel signature and the first line of its help.

    The Excel name is read from the ``@func(name=...)`` decorator in the source (xlwings
    registers it only inside an Excel runtime); the arguments from the Python signature,
    optional ones in brackets.
    """
    import udfs.functions as F

    tree = ast.parse((ROOT / "udfs" / "functions.py").read_text())
    names = {}
    for node in tree.body:
        for deco in getattr(node, "decorator_list", []):
            if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "func":
                for kw in deco.keywords:
                    if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                        names[node.name] = kw.value.value
    lines = ["| Function | What it returns |", "|---|---|"]
    for py_name in F.__all__:
        fn = getattr(F, py_name)
        args = [
            p.name if p.default is inspect.Parameter.empty else f"[{p.name}]"
            for p in inspect.signature(fn).parameters.values()
        ]
        help_text = " ".join((inspect.getdoc(fn) or "").split("\n\n")[0].split())
        excel = names.get(py_name, py_name.removeprefix("LB_"))
        lines.append(f"| `=LB.{excel}({', '.join(args)})` | {help_text} |")
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[], str]] = {
    "tabs": tabs,
    "functions": functions,
    "sources-columns": sources_columns,
    "settings": settings,
}


def render(text: str) -> str:
    """``text`` with every generated section replaced by its current content."""
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README.md has no section '{name}'")
        body = make()
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main() -> int:
    README.write_text(render(README.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
