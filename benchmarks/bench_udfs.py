"""Benchmark LB.ALLOCATE and the Rebalance button as xlwings Server runs them, warm (issue 16).

Everything goes through ``leadbook serve``'s own code in this process: xlwings Server's app
(:func:`udfs.server.app`) called over its HTTP endpoints with the payloads Office.js sends
(``tests/udfs/officejs.py``: every argument a 2-D matrix, empty cells as 0, months as
serials), and cell functions computed in a compute process of :mod:`udfs.pool` (one, started
and warmed before the clock runs), as the server computes them. It prints

- **LB.ALLOCATE, first call**: the compute process's first call (its imports are done);
- **LB.ALLOCATE, warm, same arguments**: a recalculation, or LB.EXPLAIN beside it;
- **LB.ALLOCATE, warm, a new budget each call**: someone trying budgets;
- **Rebalance button, warm**: ``POST /xlwings/custom-scripts-call/rebalance`` with the whole
  demo workbook and its formulas, as the task pane sends them (the job runs on a copy; its
  changes go back; the version Undo reads keeps the formulas),
  and the CPU time of those presses in this process (on a shared machine, the wall time is
  mostly waiting for a core);

each the median wall time of ``--repeats`` calls (``--presses`` presses, default 10, for the
button: its first press, which warms the server, is not counted), beside **the solve**:
:func:`leadbook.allocation.allocate` on the demo's inputs already read, warm, in this process
(what ``bench_jobs.py`` puts beside each job), with the call as a multiple of it.

The targets are the issue's: LB.ALLOCATE warm under 50 ms, the Rebalance button under 0.5 s
warm. The machine is shared: compare figures within one run.

    .venv/bin/python benchmarks/bench_udfs.py
    .venv/bin/python benchmarks/bench_udfs.py --presses 20
    .venv/bin/python benchmarks/bench_udfs.py --repeats 20 --no-button
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "udfs"))  # officejs: what Excel's client sends

TOKEN = secrets.token_hex(16)
BUDGET = 320_000
ALLOCATE_TARGET = 0.050
BUTTON_TARGET = 0.5


def serve_in_process(folder: Path) -> object:
    """xlwings Server's app with leadbook's functions and buttons, computing in one process."""
    os.environ["LEADBOOK_COMPUTE_WORKERS"] = "1"
    os.environ["LEADBOOK_TOKEN"] = TOKEN
    os.environ["LEADBOOK_FILES"] = str(folder / "files")
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    from udfs.server import configure

    configure()
    from fastapi.testclient import TestClient

    from udfs.server import app, compute_pool

    client = TestClient(app(), headers={"Authorization": TOKEN})
    logging.disable(logging.WARNING)  # each request's log lines, the demo's stated totals
    pool = compute_pool(1)
    while not pool.pids():  # started and its modules imported: the server's warm state
        time.sleep(0.05)
    return client


def demo_tables() -> dict[str, list[list[object]]]:
    """The demo's tables as Excel passes ``Table[#All]`` to a cell function."""
    from officejs import demo_as_calculated, table_argument

    wb = demo_as_calculated()
    return {n: table_argument(wb, n) for n in ("Sources", "History", "Settings", "PriceTiers")}


def allocate_call(client: object, tables: dict, budget: float) -> Callable[[], float]:
    """One LB.ALLOCATE call through the custom-functions endpoint; its wall time."""
    from officejs import function_call

    body = function_call(
        "LB_ALLOCATE",
        tables["Sources"],
        [[budget]],
        tables["Settings"],
        tables["History"],
        tables["PriceTiers"],
    )

    def once() -> float:
        started = time.perf_counter()
        response = client.post("/xlwings/custom-functions-call", json=body)  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - started
        result = response.json().get("result")
        if response.status_code != 200 or result[0][0] != "Source":
            raise RuntimeError(f"LB.ALLOCATE failed: {response.status_code} {response.text[:300]}")
        return elapsed

    return once


def solve_seconds(repeats: int) -> float:
    """:func:`leadbook.allocation.allocate` on the demo's inputs already read, warm (median)."""
    from leadbook.allocation import allocate
    from leadbook.demo import demo_inventory, demo_settings
    from leadbook.workbook.jobs.feeds import sales_capacity_for

    inventory, settings = demo_inventory(), demo_settings()
    capacity = sales_capacity_for(inventory, settings)

    def once() -> float:
        started = time.perf_counter()
        allocate(inventory, settings, budget=BUDGET, sales_capacity=capacity)
        return time.perf_counter() - started

    once()
    return statistics.median(once() for _ in range(repeats))


def button_seconds(
    client: object, folder: Path, repeats: int, cpu: list[float] | None = None
) -> list[float]:
    """Rebalance pressed on the demo workbook, as the task pane sends it, ``repeats`` times
    after one press that warms the server (each press on the workbook as it started); each
    press's CPU time in this process (the button runs here) appended to ``cpu`` if given:
    on a loaded machine the wall time is mostly waiting for a core, the CPU time much less."""
    from officejs import book_payload, formulas_arg

    from leadbook.workbook.jobs.refresh import demo

    book, _ = demo(folder / "demo.xlsx")
    payload = book_payload(book, [formulas_arg(book)])  # the pane sends the formulas too

    def once() -> float:
        started, used = time.perf_counter(), time.process_time()
        response = client.post("/xlwings/custom-scripts-call/rebalance", json=payload)  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - started
        if cpu is not None:
            cpu.append(time.process_time() - used)
        if response.status_code != 200:
            raise RuntimeError(f"Rebalance failed: {response.status_code} {response.text[:300]}")
        return elapsed

    once()
    if cpu is not None:
        cpu.clear()
    return [once() for _ in range(repeats)]


def row(what: str, times: list[float], solve: float, target: float | None) -> str:
    median = statistics.median(times)
    verdict = ""
    if target is not None:
        verdict = f"< {target * 1000:g} ms " + ("✓" if median < target else "✗")
    runs = ", ".join(f"{t * 1000:.0f}" for t in times[:8]) + (" …" if len(times) > 8 else "")
    return f"| {what} | {median * 1000:.1f} ms | {runs} | {verdict} | {median / solve:.1f}× |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--presses", type=int, default=10, help="warm Rebalance presses timed (median)"
    )
    parser.add_argument("--no-button", action="store_true", help="LB.ALLOCATE only")
    args = parser.parse_args()
    print(f"leadbook cell function and button benchmark — {os.cpu_count()} CPUs, demo workbook")
    with tempfile.TemporaryDirectory(prefix="leadbook-udfs-") as tmp:
        folder = Path(tmp)
        client = serve_in_process(folder)
        tables = demo_tables()
        solve = solve_seconds(args.repeats)
        print(f"\nthe solve alone: {solve * 1000:.1f} ms (median, warm)\n")
        print("| call (through xlwings Server) | wall (median) | runs, ms | target | × the solve |")
        print("|---|---|---|---|---|")
        first = allocate_call(client, tables, BUDGET)()
        print(row("LB.ALLOCATE, first call", [first], solve, None), flush=True)
        same = allocate_call(client, tables, BUDGET)
        warm = [same() for _ in range(args.repeats)]
        print(row("LB.ALLOCATE, warm, same arguments", warm, solve, ALLOCATE_TARGET), flush=True)
        budgets = [BUDGET - 250 * (i + 1) for i in range(args.repeats)]
        warm = [allocate_call(client, tables, b)() for b in budgets]
        what = "LB.ALLOCATE, warm, a new budget each call"
        print(row(what, warm, solve, ALLOCATE_TARGET), flush=True)
        if not args.no_button:
            cpu: list[float] = []
            times = button_seconds(client, folder, max(1, args.presses), cpu)
            print(row("Rebalance button, warm", times, solve, BUTTON_TARGET), flush=True)
            print(row("Rebalance button, warm: CPU time", cpu, solve, BUTTON_TARGET), flush=True)


if __name__ == "__main__":
    main()
