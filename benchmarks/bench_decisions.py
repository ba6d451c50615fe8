"""How Rebalance and Accept plan slow as the Recommendations log grows (issue 17).

The log is never capped: every Rebalance appends one row per source. This builds the demo,
gives copies of it a log of N earlier rows (N = 0 and the sizes given), and times, alternating
the copies so that a noisy machine hurts each alike:

- ``rebalance`` (appends 11 rows to the log in place), and
- ``accept`` (writes Sources' Current spend, appends 11 Accepted rows),

reporting each size's time and its ratio to the empty log in the same run.

    PYTHONPATH=. python benchmarks/bench_decisions.py [--rows 20000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries

from leadbook import contract as C
from leadbook.workbook.jobs.decisions import accept
from leadbook.workbook.jobs.rebalance import rebalance
from leadbook.workbook.jobs.refresh import demo


def with_log(src: Path, dst: Path, rows: int) -> Path:
    """A copy of ``src`` whose Recommendations log holds ``rows`` earlier rows first."""
    shutil.copy2(src, dst)
    if not rows:
        return dst
    wb = openpyxl.load_workbook(dst)
    ws = wb[C.DECISIONS.name]
    table = ws.tables[C.RECOMMENDATIONS_TABLE.name]
    c0, r0, c1, r1 = range_boundaries(table.ref)
    current = [[ws.cell(r, c).value for c in range(c0, c1 + 1)] for r in range(r0 + 1, r1 + 1)]
    # earlier recommendations first; the demo's, renumbered after them, stays the newest
    old = [[f"R{1 + i // len(current):04d}", *current[i % len(current)][1:]] for i in range(rows)]
    newest = f"R{2 + (rows - 1) // len(current):04d}"
    current = [[newest, *line[1:]] for line in current]
    ws.delete_rows(r0 + 1, r1 - r0)
    for i, line in enumerate(old + current):
        for j, value in enumerate(line):
            ws.cell(r0 + 1 + i, c0 + j, value)
    end = r0 + len(old) + len(current)
    table.ref = f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{end}"
    table.autoFilter.ref = table.ref
    wb.save(dst)
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-decisions-"))
    try:
        base, _ = demo(folder / "demo.xlsx")
        sizes = [0, *args.rows]
        seeds = {n: with_log(base, folder / f"seed-{n}.xlsx", n) for n in sizes}
        times: dict[tuple[str, int], list[float]] = {}
        for k in range(args.repeat):
            for n in sizes if k % 2 == 0 else reversed(sizes):
                path = folder / f"run-{n}-{k}" / "book.xlsx"
                path.parent.mkdir()
                shutil.copy2(seeds[n], path)
                for name, job in (("accept", accept), ("rebalance", rebalance)):
                    started = time.perf_counter()
                    job(path)
                    times.setdefault((name, n), []).append(time.perf_counter() - started)
        for name in ("accept", "rebalance"):
            empty = statistics.median(times[(name, 0)])
            for n in sizes:
                got = times[(name, n)]
                print(
                    f"{name:9} log of {n:>7,} rows: median {statistics.median(got):6.2f} s "
                    f"(range {min(got):.2f}–{max(got):.2f}), "
                    f"{statistics.median(got) / empty:4.1f}× the empty log"
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
