"""Benchmark the three workbook commands end to end at scale (issue 13, item 13).

Builds, from leadbook's own demo (``leadbook.demo``: its eleven sources are the templates,
its ``_history`` generator the months), a workbook of N sources with 20 months of History
each — H = 20 N rows — into a temporary folder: every source is a copy of a demo source with
its own name, vendor, channel, CPL, conversion, volume, price tiers and health drawn from a
seeded generator, keeping its template's status (active, testing, paused). The budget, sales
reps and support scale with today's spend. Like the issue's book, the demo's class bands
cannot all be met by such a portfolio, so ``rebalance`` ends in the elastic re-solve that
names the rules that must give (exit 2) — the case that took minutes.

Then runs each command as a user does, ``.venv/bin/leadbook check|rebalance|refresh BOOK``,
as a subprocess on a fresh copy of the built file, and prints for each

- **wall**: the command's wall time, start of the process to its exit (Python start-up,
  imports, reading, computing, writing and saving the .xlsx all included) — not a function;
- **peak RSS**: the child's own maximum resident set size (``os.wait4``'s rusage);

the median over ``--repeats`` runs, beside the same figures for a 1,000-source workbook run
in the same process (the scaling ratio: 10× the sources should cost about 10× the time), and
the targets of the issue: check < 10 s, rebalance < 30 s, refresh < 60 s, each < 1 GB. The
machine is shared, so compare ratios within one run, not figures across runs.

    .venv/bin/python benchmarks/bench_scale.py            # 10,000 × 200,000 beside 1,000
    .venv/bin/python benchmarks/bench_scale.py --quick    # 1,000 × 20,000 alone
    .venv/bin/python benchmarks/bench_scale.py --sizes 3000 --repeats 1
    .venv/bin/python benchmarks/bench_scale.py --commands check    # the reader alone
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LEADBOOK = ROOT / ".venv" / "bin" / "leadbook"
MONTHS = 20
SEED = 20261313
BASELINE = 1_000
TARGETS = {"check": 10.0, "rebalance": 30.0, "refresh": 60.0}
MEMORY_TARGET_MB = 1024.0
TARGET_SIZE = 10_000
CHANNELS = ("Aggregator", "Search", "Social", "Referral", "Content", "Marketplace", "Events")


def scaled_tables(n: int, seed: int = SEED):
    """Sources, PriceTiers and History of ``n`` sources, each a varied copy of a demo source."""
    from leadbook import demo

    rng = np.random.default_rng(seed)
    base = demo.demo_tables()
    templates = base.sources.reset_index(drop=True)
    pick = rng.integers(0, len(templates), n)
    src = templates.iloc[pick].reset_index(drop=True)
    template_name = src["source"].to_numpy()
    src["source"] = [f"{name} {i + 1:05d}" for i, name in enumerate(template_name)]
    src["vendor"] = [f"Vendor {v:04d}" for v in rng.integers(1, max(2, n // 4), n)]
    src["channel"] = rng.choice(CHANNELS, n)
    price = rng.lognormal(0.0, 0.25, n)
    src["cpl"] = np.round(src["cpl"] * price, 2)
    src["conversion"] = np.clip(src["conversion"] * rng.lognormal(0.0, 0.2, n), 0.005, 0.6)
    volume = rng.lognormal(-1.0, 0.5, n)
    src["leads"] = np.round(src["leads"] * volume).astype(int)
    src["volume_cap"] = np.maximum(np.round(src["volume_cap"] * volume), 20).astype(int)
    src["revenue_per_customer"] = np.round(src["revenue_per_customer"] * rng.lognormal(0, 0.1, n))
    src["health"] = np.clip(np.round(src["health"] + rng.normal(0, 0.3, n), 1), 1.0, 5.0)
    src["buyers"] = np.maximum(1, src["buyers"] + rng.integers(-1, 2, n))
    src["history_months"] = MONTHS
    src["test_phase"] = src["test_phase"].astype(object)
    src["spend"] = np.round(src["leads"] * src["cpl"], 2)
    tiers = _scaled_tiers(base.price_tiers, src, template_name, price, volume)
    src = _spend_at_tiers(src, tiers)
    history = _history(src, rng)
    return src, tiers, history


def _scaled_tiers(tiers, src, template_name, price, volume) -> pd.DataFrame:
    """Each copy keeps its template's tier shape, sized to its volume cap and priced like it."""
    rows = []
    by_template = {name: t for name, t in tiers.groupby("source")}
    for i, name in enumerate(template_name):
        t = by_template.get(name)
        if t is None:
            continue
        share = t["up_to"].to_numpy() / t["up_to"].iloc[-1]
        cap = int(src.at[i, "volume_cap"])
        up = np.round(share * cap).astype(int) + np.arange(len(share)) - len(share) + 1
        up[-1] = cap
        cpl = np.round(t["cpl"].to_numpy() * price[i], 2)
        cpl[0] = src.at[i, "cpl"]
        rows.append(pd.DataFrame({"source": src.at[i, "source"], "up_to": up, "cpl": cpl}))
    return pd.concat(rows, ignore_index=True)


def _spend_at_tiers(src: pd.DataFrame, tiers: pd.DataFrame) -> pd.DataFrame:
    """Spend is today's leads at the CPL Rebalance uses (as the Sources check expects)."""
    from leadbook.portfolio.inventory import cpl_in_use

    used = cpl_in_use(src.set_index("source", drop=False), tiers)
    src["spend"] = np.round(src["leads"].to_numpy() * used.to_numpy(), 2)
    return src


def _history(src: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    from leadbook import demo

    frames = []
    for row in src.itertuples(index=False):
        h = demo._history(row._replace(source="-"), rng)
        h["source"] = row.source
        frames.append(h)
    return pd.concat(frames, ignore_index=True)


def build_book(n: int, folder: Path) -> Path:
    """Write the scaled workbook of ``n`` sources into ``folder``; returns its path."""
    from leadbook.demo import DEMO_SETTINGS, demo_settings
    from leadbook.portfolio.inventory import StatedTotals, build_inventory
    from leadbook.workbook.jobs.build import build_workbook
    from leadbook.workbook.write import save_new

    src, tiers, history = scaled_tables(n)
    inventory, _ = build_inventory(src, tiers, history)
    k = float(inventory.sources["spend"].sum()) / 291_408.0  # the demo's spend today
    settings = demo_settings().replace(
        {
            "policy.budget": round(DEMO_SETTINGS["policy.budget"] * k, -3),
            "capacity.sales_reps": round(DEMO_SETTINGS["capacity.sales_reps"] * k),
            "capacity.support_customers": round(DEMO_SETTINGS["capacity.support_customers"] * k),
        }
    )
    rendered = build_workbook(inventory, settings, StatedTotals())
    return save_new(rendered.workbook, folder / f"scale-{n}.xlsx", overwrite=True)


def run(command: str, book: Path, folder: Path, options: tuple[str, ...] = ()) -> dict:
    """Run ``leadbook COMMAND`` (with ``options``) on a fresh copy of ``book``: wall seconds,
    peak RSS (MB)."""
    copy = folder / f"run-{command}.xlsx"
    shutil.copyfile(book, copy)
    model = book.with_name(f"{book.stem}.leadbook-model")  # the lead model, if it has one
    if model.is_dir():
        shutil.copytree(model, copy.with_name(f"{copy.stem}.leadbook-model"), dirs_exist_ok=True)
    env = dict(os.environ, LEADBOOK_HOME=str(folder / "home"), HOME=str(folder / "home"))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(LEADBOOK), command, str(copy), "--json", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=folder,
    )
    out, err = b"", b""
    # wait4 gives this child's own rusage; read the pipes first so the child cannot block
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    copy.unlink(missing_ok=True)
    return {
        "wall": wall,
        "rss": usage.ru_maxrss / 1024,
        "code": proc.returncode,
        "tail": (err or out).decode(errors="replace")[-300:],
    }


def measure(n: int, folder: Path, repeats: int, commands: list[str]) -> dict:
    started = time.perf_counter()
    # Built in a child process: a command forked from a parent holding the built workbook
    # (a GB at 10,000 sources) would count the parent's pages in its own peak RSS.
    subprocess.run([sys.executable, __file__, "--build", str(n), str(folder)], check=True)
    book = folder / f"scale-{n}.xlsx"
    built = time.perf_counter() - started
    print(
        f"built {n:,} sources × {n * MONTHS:,} History rows in {built:.0f} s "
        f"({book.stat().st_size / 1e6:.1f} MB)",
        flush=True,
    )
    results = {}
    for command in commands:
        runs = [run(command, book, folder) for _ in range(repeats)]
        results[command] = {
            "wall": statistics.median(r["wall"] for r in runs),
            "walls": [r["wall"] for r in runs],
            "rss": max(r["rss"] for r in runs),
            "code": runs[-1]["code"],
            "tail": runs[-1]["tail"],
        }
        r = results[command]
        print(
            f"  {command} ({n:,}): "
            + ", ".join(f"{w:.1f} s" for w in r["walls"])
            + f"; peak {r['rss']:.0f} MB; exit {r['code']}",
            flush=True,
        )
        if r["code"] not in (0, 1):
            print("    " + r["tail"].strip().replace("\n", "\n    "), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 sources alone")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--commands", nargs="*", choices=list(TARGETS), default=list(TARGETS), help="which to run"
    )
    parser.add_argument("--build", nargs=2, metavar=("N", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build_book(int(args.build[0]), Path(args.build[1]))
        return
    sizes = args.sizes or ([BASELINE] if args.quick else [BASELINE, 10_000])
    if BASELINE not in sizes:
        sizes = [BASELINE, *sizes]
    print(
        f"leadbook scale benchmark — {os.cpu_count()} CPUs, {args.repeats} run(s) a figure, "
        f"{MONTHS} months of History a source"
    )
    with tempfile.TemporaryDirectory(prefix="leadbook-scale-") as tmp:
        folder = Path(tmp)
        (folder / "home").mkdir()
        figures = {n: measure(n, folder, args.repeats, args.commands) for n in sizes}
    base = figures[BASELINE]
    print()
    print(
        "| command | N × History rows | wall (median) | peak RSS | target | × 1,000-source wall |"
    )
    print("|---|---|---|---|---|---|")
    for n, results in figures.items():
        for command, r in results.items():
            ok = r["wall"] < TARGETS[command] and r["rss"] < MEMORY_TARGET_MB
            target = f"< {TARGETS[command]:.0f} s, < 1 GB"
            if n >= TARGET_SIZE:  # the targets are for its 10,000 sources
                target += " ✓" if ok else " ✗"
            ratio = r["wall"] / base[command]["wall"]
            print(
                f"| {command} | {n:,} × {n * MONTHS:,} | {r['wall']:.1f} s | {r['rss']:.0f} MB "
                f"| {target} | {ratio:.1f}× |"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
