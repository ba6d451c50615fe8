"""Runaway cell-function calls on ``leadbook serve``, timed as Excel's client sees them.

Starts ``leadbook serve`` on 127.0.0.1 as shipped and calls it through xlwings' own Excel
client (tests/realclient/functions.mjs, in Node) while a health check (``GET /``) polls the
server every 0.1 s. Three calls:

- ``LB.FORECAST(Data!A:A)`` from Excel on the web: 24 months, then 1,048,552 empty cells
  sent as null (a 7 MB request);
- the same from desktop Excel, whose empty cells arrive as 0;
- with ``--limit`` seconds as the server's time limit (``LEADBOOK_CALL_SECONDS``), a
  10-year forecast of 120 months, which takes longer: the call is stopped, and a quick call
  after it shows the server goes on.

Prints, per call, the seconds until the cell had its answer (the user's wait, end to end
from the client), what the cell says, and the health check's worst and median latency
meanwhile; as a peer in the same run, the health check's latency with no call running.
Run:

    .venv/bin/python benchmarks/excel_runaway.py [--rounds 3] [--limit 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]
CLIENT = ROOT / "tests" / "realclient" / "functions.mjs"
LEADBOOK = str(Path(sys.executable).with_name("leadbook"))
HISTORY = [120, 130, 125, 140, 150, 145, 160, 170, 165, 180, 175, 190] * 2
WHOLE_COLUMN = 1_048_576
SIGN_IN = "benchmark-sign-in-token-0123456789abcdef"


def serve(**extra: str) -> tuple[str, subprocess.Popen]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: os.environ[k] for k in ("PATH", "HOME", "PYTHONPATH") if k in os.environ}
    env |= {"XLWINGS_LICENSE_KEY": "noncommercial", "LEADBOOK_TOKEN": SIGN_IN, **extra}
    proc = subprocess.Popen(
        [LEADBOOK, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/").status_code == 200:
                time.sleep(5)  # the compute processes import their modules
                return base, proc
        except httpx.TransportError:
            time.sleep(0.3)
    raise SystemExit("leadbook serve did not come up")


def excel(base: str, host: str, call: dict) -> dict:
    node = shutil.which("node") or shutil.which("nodejs")
    done = subprocess.run(
        [node, str(CLIENT), base, host],
        env={**os.environ, "LEADBOOK_SIGN_IN": SIGN_IN},
        input=json.dumps({"calls": [call]}),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["answers"][0]


def health(base: str, seconds: float | None = None, busy: threading.Thread | None = None):
    seen, until = [], time.monotonic() + (seconds or 0)
    while (busy.is_alive() if busy else time.monotonic() < until) or not seen:
        started = time.monotonic()
        httpx.get(f"{base}/", timeout=60)
        seen.append(time.monotonic() - started)
        time.sleep(0.1)
    return seen


def timed(base: str, host: str, call: dict) -> tuple[dict, list[float]]:
    found: list[dict] = []
    busy = threading.Thread(target=lambda: found.append(excel(base, host, call)))
    busy.start()
    waits = health(base, busy=busy)
    busy.join()
    return found[0], waits


def says(answer: dict) -> str:
    if "error" in answer:
        return answer["message"][:70] + "…"
    value = answer["value"]
    return f"{len(value) - 1} month(s) forecast" if len(value) > 1 else str(value[0][0])


def report(name: str, runs: list[tuple[dict, list[float]]]) -> None:
    seconds = [a["seconds"] for a, _ in runs]
    worst = [max(w) for _, w in runs]
    print(
        f"{name:<44} {statistics.median(seconds):6.2f} s  health worst "
        f"{max(worst):.3f} s, median {statistics.median(w for _, ws in runs for w in ws):.3f} s"
        f"\n{'':<44} the cell: {says(runs[-1][0])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=float, default=0.3)
    a = parser.parse_args()
    whole = {
        "id": "LB_FORECAST",
        "args": [{"values": [[v] for v in HISTORY], "rows": WHOLE_COLUMN}],
    }
    base, proc = serve()
    try:
        idle = health(base, seconds=3)
        print(f"peer: health check with no call running, worst {max(idle):.3f} s\n")
        for host in ("web", "desktop"):
            runs = [timed(base, host, whole) for _ in range(a.rounds)]
            report(f"LB.FORECAST(A:A), {host}", runs)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    base, proc = serve(LEADBOOK_CALL_SECONDS=str(a.limit))
    try:
        long = {"id": "LB_FORECAST", "args": [[[100 + (i % 12) * 7 + i] for i in range(120)],
                                              [[120]]]}  # fmt: skip
        runs = [timed(base, "desktop", long) for _ in range(a.rounds)]
        report(f"120-month forecast, limit {a.limit:g} s", runs)
        time.sleep(5)  # the stopped processes' replacements import their modules
        quick = excel(base, "desktop", {"id": "LB_ROI", "args": [[[100]], [[440]]]})
        print(f"{'LB.ROI(100, 440) 5 s later':<44} {quick['seconds']:6.2f} s  → {says(quick)}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


if __name__ == "__main__":
    main()
