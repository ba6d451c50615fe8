"""Benchmark What-if against one Rebalance, its peer in the same run.

1. **Demo workbook**: the Compare scenarios job (``leadbook whatif BOOK``) with 10 scenarios
   on the What-if tab and the 21-point budget curve, against the Rebalance job
   (``leadbook rebalance BOOK``) on a copy of the same file; each job reads the workbook,
   solves and writes it, as the command does. Goal (issue 17): under 3 s of job time.
2. **1,000 random sources** (``leadbook.allocation.examples.random_model``, "at most"
   budget): the 21-point budget curve from 50 % to 150 % of the budget — one compiled model
   retargeted per point — against one rebalance solve (with its explanation) of the same
   model. Goal: under 10 s.

Runs alternate (curve, peer, curve, peer…) because the machine is shared; the figures are
the median and the range of wall-clock seconds, with the process's CPU seconds beside them.

    .venv/bin/python benchmarks/bench_whatif.py            # both, 3 repeats
    .venv/bin/python benchmarks/bench_whatif.py --quick    # 1 repeat
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries

from leadbook import contract as C
from leadbook.allocation.allocate import allocation_from
from leadbook.allocation.engine import optimise
from leadbook.allocation.examples import random_model
from leadbook.allocation.whatif import curve_of_model
from leadbook.enums import Objective
from leadbook.workbook.jobs.rebalance import rebalance
from leadbook.workbook.jobs.refresh import demo
from leadbook.workbook.jobs.whatif import whatif

TEN = [
    ("Lean $300k", 300_000, None, None),
    ("Budget $310k", 310_000, None, None),
    ("As budgeted $320k", 320_000, None, None),
    ("Budget $335k", 335_000, None, None),
    ("Stretch $350k", 350_000, None, None),
    ("Share 35%", None, 0.35, None),
    ("Share 45%", None, 0.45, None),
    ("Guardrail 30%", None, None, 0.30),
    ("Guardrail 10%", None, None, 0.10),
    ("Stretch, guardrail 30%", 350_000, None, 0.30),
]
"""Ten scenarios: budgets, MaxSourceShare and WeeklyGuardrail by their defined names."""


def ten_scenarios(path: Path) -> None:
    """Put :data:`TEN` in the demo's Scenarios table (two setting columns added)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[C.WHATIF.name]
    table = ws.tables[C.WHATIF_SCENARIOS_TABLE.name]
    min_col, min_row, max_col, _ = range_boundaries(table.ref)
    ws.cell(min_row, max_col + 1, "MaxSourceShare")
    ws.cell(min_row, max_col + 2, "WeeklyGuardrail")
    for i, (name, budget, share, guardrail) in enumerate(TEN, start=1):
        ws.cell(min_row + i, min_col, name)
        ws.cell(min_row + i, min_col + 1, budget)
        ws.cell(min_row + i, max_col + 1, share)
        ws.cell(min_row + i, max_col + 2, guardrail)
    last = get_column_letter(max_col + 2)
    table.ref = f"{get_column_letter(min_col)}{min_row}:{last}{min_row + len(TEN)}"
    table.tableColumns = []
    table._initialise_columns()
    for col, cell in zip(table.tableColumns, ws[min_row][min_col - 1 : max_col + 2], strict=True):
        col.name = str(cell.value)
    wb.save(path)


def timed(run: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def report(label: str, ours: list[tuple[float, float]], peer: list[tuple[float, float]]) -> None:
    def text(runs: list[tuple[float, float]]) -> str:
        walls = [w for w, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        return (
            f"median {statistics.median(walls):6.2f} s (range {min(walls):.2f}–{max(walls):.2f};"
            f" CPU {cpu:.2f} s)"
        )

    ratio = statistics.median(w for w, _ in ours) / statistics.median(w for w, _ in peer)
    ratios = [o[0] / p[0] for o, p in zip(ours, peer, strict=True)]
    print(f"{label}")
    print(f"  what-if : {text(ours)}")
    print(f"  peer    : {text(peer)}")
    print(f"  ratio   : {ratio:.1f}× one rebalance (per pair {min(ratios):.1f}–{max(ratios):.1f}×)")


def bench_demo(repeats: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-whatif-"))
    try:
        built, _ = demo(folder / "demo.xlsx")
        ten_scenarios(built)
        book_w, book_r = folder / "w" / "demo.xlsx", folder / "r" / "demo.xlsx"
        for book in (book_w, book_r):
            book.parent.mkdir()
            shutil.copy2(built, book)
            model = folder / "demo.leadbook-model"
            if model.exists():
                shutil.copytree(model, book.parent / model.name)
        rebalance(book_r)  # warm: imports, HiGHS's first call
        ours, peer = [], []
        for _ in range(repeats):
            ours.append(timed(lambda: whatif(book_w)))
            peer.append(timed(lambda: rebalance(book_r)))
        _, view = whatif(book_w)
        assert view.curve is not None
        print(
            f"Demo workbook: {len(view.results) - 1} scenarios + a {len(view.curve.table)}-point "
            "budget curve (leadbook whatif) vs one Rebalance job (leadbook rebalance); goal < 3 s"
        )
        report("", ours, peer)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_large(n: int, repeats: int) -> None:
    model = random_model(n, seed=0)
    budgets = model.limits.budget * np.linspace(0.5, 1.5, 21)
    allocation_from(optimise(random_model(20), Objective.CUSTOMERS))  # warm
    ours, peer = [], []
    curve = None
    for _ in range(repeats):
        ours.append(timed(lambda: curve_of_model(model, Objective.CUSTOMERS, budgets)))
        peer.append(timed(lambda: allocation_from(optimise(model, Objective.CUSTOMERS))))
    curve = curve_of_model(model, Objective.CUSTOMERS, budgets)
    feasible = int((curve.table["status"] == "optimal").sum())
    print(
        f"{n:,} random sources: a 21-point budget curve, 50–150 % ({feasible} feasible points) "
        "vs one rebalance solve with its explanation; goal < 10 s"
    )
    report("", ours, peer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--sources", type=int, default=1_000)
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    bench_demo(repeats)
    print()
    bench_large(args.sources, repeats)


if __name__ == "__main__":
    main()
