"""The package's layout holds (docs/architecture.md): dependencies point one way, no import
cycle, no module too long to read.

The import graph is read from the source (every ``import`` statement, at any depth, so a
lazy import inside a function counts as much as one at the top), not from what happens to
be loaded, and the rules are stated once, as layers and rooms; there is no list of
exceptions. An import only for type checking (under ``if TYPE_CHECKING:``) counts for the
direction of dependencies but cannot make a cycle: it never runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYERS: tuple[tuple[str, int, str], ...] = (
    # (module prefix, layer, room): a module may import its own room and any lower layer
    ("leadbook.enums", 0, "basics"),
    ("leadbook.errors", 0, "basics"),
    ("leadbook.files", 0, "basics"),
    ("leadbook.contract", 1, "contract"),
    ("leadbook.settings", 1, "contract"),
    ("leadbook.portfolio", 2, "portfolio"),
    ("leadbook.allocation", 3, "allocation"),
    ("leadbook.planning", 3, "planning"),
    ("leadbook.leads", 3, "leads"),
    ("leadbook.board", 3, "board"),
    ("leadbook.demo", 4, "demo"),
    ("leadbook.workbook.jobs", 7, "jobs"),
    ("leadbook.workbook.tabs", 6, "tabs"),
    ("leadbook.workbook.pack", 6, "tabs"),
    ("leadbook.workbook", 5, "workbook"),
    ("leadbook.cli", 8, "faces"),
    ("udfs", 8, "faces"),
)
"""Layers, lowest first: shared basics; the workbook contract and Settings; the portfolio;
the capabilities (each its own room: none imports another); the demo data; the workbook
layer (read, safe write, layout); the tabs' renderers and the board pack's sheets; the jobs;
the faces (the command line and the Excel functions)."""

PACKAGE = ("leadbook", 1, "contract")
"""The package's own ``__init__`` (errors, and Settings when asked for): its layer is its
alone, so a new module directly under ``leadbook/`` must be given one."""

MAX_LINES = 850
"""About 800 lines: a module longer than this holds more than one thing."""


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("leadbook", "udfs"):
        for path in (ROOT / top).rglob("*.py"):
            if "server_project" in path.parts:  # xlwings Server's project files, loaded by it
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _type_only(tree: ast.Module) -> set[ast.AST]:
    """The import statements in the body of an ``if TYPE_CHECKING:`` (or
    ``typing.TYPE_CHECKING``), which never run; not its ``else``, nor any other test."""
    return {
        node
        for block in ast.walk(tree)
        if isinstance(block, ast.If)
        and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for statement in block.body
        for node in ast.walk(statement)
        if isinstance(node, ast.Import | ast.ImportFrom)
    }


def _imports(name: str, path: Path, *, typing: bool = True) -> set[str]:
    """The project modules ``name`` imports, wherever in the file the import is (with
    ``typing=False``, not counting imports for type checking only)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set() if typing else _type_only(tree)
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}
RUNTIME_GRAPH = {name: _imports(name, path, typing=False) for name, path in MODULES.items()}


def layer(module: str) -> tuple[int, str]:
    if module == PACKAGE[0]:
        return PACKAGE[1], PACKAGE[2]
    for prefix, rank, room in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return rank, room
    raise AssertionError(f"{module} is in no layer of docs/architecture.md")


def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)
    with pytest.raises(AssertionError, match="in no layer"):
        layer("leadbook.something_new")


def test_only_a_plain_type_checking_block_is_left_out_of_the_cycles():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import leadbook.demo\nelse:\n    import leadbook.cli\n"
        "if not TYPE_CHECKING:\n    import leadbook.files\n"
    )
    assert [ast.unparse(n) for n in _type_only(tree)] == ["import leadbook.demo"]


def test_dependencies_point_one_way():
    wrong = []
    for module, targets in GRAPH.items():
        rank, room = layer(module)
        for target in targets:
            t_rank, t_room = layer(target)
            if t_room != room and t_rank >= rank:
                wrong.append(
                    f"{module} (layer {rank}, {room}) imports {target} ({t_rank}, {t_room})"
                )
    assert not wrong, "\n".join(sorted(wrong))


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in RUNTIME_GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(RUNTIME_GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    assert _cycles() == []


def test_a_cycle_would_be_found(monkeypatch):
    # the check itself: a back edge from the contract to a job is both a cycle and upward
    jobs = "leadbook.workbook.jobs.refresh"
    for graph in (GRAPH, RUNTIME_GRAPH):
        monkeypatch.setitem(
            graph, "leadbook.contract.spec", graph["leadbook.contract.spec"] | {jobs}
        )
    assert any("leadbook.contract.spec" in c for c in _cycles())
    with pytest.raises(AssertionError, match=r"contract\.spec .* imports leadbook\.workbook\.jobs"):
        test_dependencies_point_one_way()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_too_long(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines"
