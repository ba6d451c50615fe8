"""Does leadbook's blocking work serialise xlwings Server? N concurrent cell-function calls.

Starts real servers on 127.0.0.1 and sends N concurrent ``LB.SCORES`` calls (a Sources
table of 11 × K sources with 24 months of History each: about 1.5 s of work at K = 5) — or,
with ``--function allocate``, ``LB.ALLOCATE`` calls (the same tables, the demo's policy with
its budget and capacity scaled K times: one HiGHS solve per call) — while a health check
(``GET /``) measures whether the server still answers:

- ``sync``: the functions served as they are written (plain ``def``) — xlwings Server runs
  a sync function on its event loop, which blocks it;
- ``--workers 0``: leadbook serve computing in a thread (``asyncio.to_thread``);
- ``--workers 1`` and ``--workers W``: leadbook serve computing in 1 or W processes.

Prints each configuration's time for one call, for N concurrent calls, the ratio of the
two (N when calls queue one behind another, N / W with W processes on W idle cores), and
the health check's worst latency under load. Run:

    .venv/bin/python benchmarks/excel_concurrency.py [--calls 4] [--copies 5] [--workers 4]
        [--function scores|allocate]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd

from leadbook import contract as C
from leadbook.demo import demo_settings, demo_tables

LEADBOOK = str(Path(sys.executable).with_name("leadbook"))
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
SIGN_IN = "benchmark-sign-in-token-0123456789abcdef"
"""leadbook serve's sign-in token (sign-in is on, as shipped; the sync server has none)."""
SYNC_PROJECT = '"""Sync functions, as written."""\nfrom udfs.functions import *  # noqa: F403\n'


def tables(copies: int) -> tuple[list[list], list[list]]:
    """Sources and History of ``copies`` copies of the demo portfolio, as Office.js sends
    them (headers, empty cells as 0, dates as serials)."""
    t = demo_tables()
    src = pd.concat(
        [t.sources.assign(source=t.sources["source"] + f" #{i}") for i in range(copies)]
    )
    hist = pd.concat(
        [t.history.assign(source=t.history["source"] + f" #{i}") for i in range(copies)]
    )
    return _range(src, C.SOURCES_TABLE), _range(hist, C.HISTORY_TABLE)


def _range(frame: pd.DataFrame, spec: C.TableSpec) -> list[list]:
    header = [spec.column(k).header for k in frame.columns]
    return [header] + [[_cell(v) for v in row] for row in frame.itertuples(index=False)]


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0
    if isinstance(value, pd.Timestamp):
        return (value.to_pydatetime() - EXCEL_EPOCH).days
    return value


def body(function: str, sources: list[list], history: list[list], copies: int) -> dict:
    """The request Excel sends for ``=LB.SCORES(Sources, History)`` or
    ``=LB.ALLOCATE(Sources, , Settings, History)``."""
    if function == "scores":
        name, args = "LB_SCORES", [sources, history, None]
    else:
        name, args = "LB_ALLOCATE", [sources, None, scaled_settings(copies), history, None]
    return {
        "client": "Office.js", "func_name": name, "args": args,
        "caller_address": "[bench.xlsx]Sheet1!A1", "version": "0.37.8", "runtime": "1.4",
        "culture_info_name": "en-US", "date_format": "M/d/yyyy", "session_id": "bench",
    }  # fmt: skip


def scaled_settings(copies: int) -> list[list]:
    """The demo's settings as a Key, Value range, with the budget and the sales, operations
    and support capacity ``copies`` times the demo's (the portfolio is ``copies`` demos)."""
    demo = demo_settings()
    values = dict(demo_tables().settings)
    values |= {
        "policy.budget": demo.policy.budget * copies,
        "capacity.sales_reps": demo.capacity.sales_reps * copies,
        "capacity.ops_leads": demo.capacity.ops_leads * copies,
        "capacity.support_customers": demo.capacity.support_customers * copies,
    }
    return [["Key", "Value"], *([k, v] for k, v in values.items())]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"server on port {port} did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


_CALLS = itertools.count(1)


def fresh(payload: dict) -> dict:
    """``payload`` with the first source's current spend nudged by a millionth of a dollar,
    a different nudge each call: leadbook serve keeps answers by the values of their
    arguments (udfs.memo), so without it every call after the first would be a look-up,
    not the computation measured here (a call after an edit)."""
    sources = [row[:] for row in payload["args"][0]]
    spend = sources[0].index(C.SOURCES_TABLE.column("spend").header)
    sources[1][spend] += next(_CALLS) * 1e-6
    return {**payload, "args": [sources, *payload["args"][1:]]}


async def measure(port: int, payload: dict, calls: int, repeat: int) -> tuple[float, float, float]:
    """Medians over ``repeat`` rounds of one call and of ``calls`` concurrent calls, and the
    worst health-check latency while the concurrent calls ran, in seconds."""
    url = f"http://127.0.0.1:{port}"
    call = "/xlwings/custom-functions-call"
    headers = {"Authorization": SIGN_IN}
    async with httpx.AsyncClient(base_url=url, timeout=600, headers=headers) as client:
        await asyncio.gather(
            *(client.post(call, json=fresh(payload)) for _ in range(calls))
        )  # warm
        singles, batches, worst = [], [], 0.0
        for _ in range(repeat):
            t0 = time.perf_counter()
            (await client.post(call, json=fresh(payload))).raise_for_status()
            singles.append(time.perf_counter() - t0)
            done = asyncio.Event()

            async def probe(done: asyncio.Event) -> float:
                slowest = 0.0
                while not done.is_set():
                    t0 = time.perf_counter()
                    await client.get("/")
                    slowest = max(slowest, time.perf_counter() - t0)
                    await asyncio.sleep(0.05)
                return slowest

            prober = asyncio.create_task(probe(done))
            t0 = time.perf_counter()
            responses = await asyncio.gather(
                *(client.post(call, json=fresh(payload)) for _ in range(calls))
            )
            batches.append(time.perf_counter() - t0)
            done.set()
            worst = max(worst, await prober)
            assert all(r.status_code == 200 for r in responses)
    return statistics.median(singles), statistics.median(batches), worst


def burn(n: int = 5_000_000) -> int:
    """Pure-Python CPU work, for measuring how much parallelism the machine has free."""
    total = 0
    for i in range(n):
        total += i
    return total


def machine_parallelism(processes: int) -> float:
    """How many times longer ``processes`` CPU-bound processes take than one, here and now:
    1.0 on idle cores, ``processes`` when there is no core to spare."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        list(pool.map(burn, [1] * processes))
        t0 = time.perf_counter()
        pool.submit(burn).result()
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(burn, [5_000_000] * processes))
        return (time.perf_counter() - t0) / one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4, help="concurrent calls")
    parser.add_argument("--copies", type=int, default=5, help="copies of the 11 demo sources")
    parser.add_argument("--workers", type=int, default=4, help="processes for the last run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per configuration")
    parser.add_argument(
        "--function", choices=("scores", "allocate"), default="scores", help="what to call"
    )
    opts = parser.parse_args()
    payload = body(opts.function, *tables(opts.copies), opts.copies)
    base = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS_")}
    base |= {
        "XLWINGS_LICENSE_KEY": "noncommercial",
        "XLWINGS_LOG_LEVEL": "WARNING",
        "LEADBOOK_TOKEN": SIGN_IN,
    }
    with tempfile.TemporaryDirectory() as tmp:
        sync_project = Path(tmp)
        for package in ("custom_functions", "custom_scripts"):
            (sync_project / package).mkdir()
            (sync_project / package / "__init__.py").write_text(
                SYNC_PROJECT if package == "custom_functions" else ""
            )
        runs = [
            ("sync functions (xlwings default)", "sync", 0),
            ("leadbook serve --workers 0 (thread)", "serve", 0),
            ("leadbook serve --workers 1", "serve", 1),
            (f"leadbook serve --workers {opts.workers}", "serve", opts.workers),
        ]
        print(
            f"LB.{opts.function.upper()} on {11 * opts.copies} sources × 24 months; "
            f"{opts.calls} concurrent "
            f"calls; medians of {opts.repeat} rounds; {os.cpu_count()} CPU(s), load average "
            f"{os.getloadavg()[0]:.1f} at start\n"
        )
        print(f"{'configuration':38} {'1 call':>8} {f'{opts.calls} calls':>9} "
              f"{'ratio':>6} {'health check (worst)':>21}")  # fmt: skip
        for label, kind, workers in runs:
            port = free_port()
            env = dict(base)
            if kind == "sync":
                env |= {"XLWINGS_ON_SERVER": "true", "XLWINGS_PROJECT_DIR": str(sync_project),
                        "XLWINGS_ENABLE_SOCKETIO": "false"}  # fmt: skip
                command = [sys.executable, "-m", "uvicorn", "xlwings_server.main:main_app",
                           "--port", str(port), "--log-level", "warning"]  # fmt: skip
            else:
                command = [LEADBOOK, "serve", "--port", str(port), "--workers", str(workers),
                           "--certs", str(Path(tmp) / "none")]  # fmt: skip
            proc = start(command, env, port)
            try:
                one, many, worst = asyncio.run(measure(port, payload, opts.calls, opts.repeat))
            finally:
                stop(proc)
            print(f"{label:38} {one:7.2f}s {many:8.2f}s {many / one:6.2f} {worst:20.2f}s")
        parallel = min(opts.calls, opts.workers)
        peer = machine_parallelism(parallel)
        best = opts.calls / parallel * peer
        print(
            f"\npeer: {parallel} pure-Python processes take {peer:.2f}× one on this machine "
            f"now (1.0 = idle cores to spare), so the best ratio --workers {opts.workers} can "
            f"reach here is about {best:.2f}"
        )


if __name__ == "__main__":
    main()
