"""Benchmark Rebalance against the peers a finance team would otherwise reach for.

For random portfolios of N = 10, 100, 1,000 and 10,000 sources (price tiers, bands, change
limits, at least 5 active, entrants and test sources; feasible by construction, see
``leadbook.allocation.examples.random_model``) and horizons W = 1 and 13 weeks, prints the
median build and solve times of

- **leadbook**: the exact lazy MILP on HiGHS (``scipy.optimize.milp``/``linprog``), with the
  tie-break and the duals, and its proven optimality gap;
- **CBC**: a textbook MILP of the same model through PuLP (the engine of the OpenSolver
  Excel add-in): binaries up front for fill order, active sources and entrants, and each
  week's total spend a variable of its own, as in leadbook's model, so that a share row has
  two terms rather than every block of the portfolio (``tests/allocation_reference.py``;
  written over every block, CBC was 17× slower at 1,000 sources), solved to a 1e-9 gap;
- **SLSQP**: ``scipy.optimize.minimize(method="SLSQP")`` on the smooth version (tier curves
  smoothed, discrete rules dropped) — what marketing budget allocators use — with its
  answer scored on the exact model against the MILP optimum.

A glide path of W weeks is W weekly rebalances, each from the week before, for every
method (stopping once a week repeats). Peers run in their own process group with a time
limit and are killed when it passes.

Two more sections time what the random portfolios above rarely ask for (``--hard``):

- **hard** portfolios (``leadbook.allocation.examples.hard_model``: every source may stop
  but spends at least $15,000 if it runs, exact budget, sales capacity below today's
  leads), where the exact solve must add fill-order binaries and semi-continuous spends:
  leadbook's answer (``optimise(..., explain=False)``) and the user's wait (with the value
  of budget, a second integer solve) against CBC, the optima compared to 1e-9 relative and
  leadbook's answer checked by the independent rule checker;
- **infeasible** policies (``leadbook.allocation.examples.infeasible_model``: an exact
  budget above what the change limits allow, sales capacity too low, a pin above the max
  share, minimum spends that no four sources can meet in the budget — infeasible only as
  an integer programme): leadbook's verdict (``explain_infeasible=False``) and the user's
  wait (with the elastic re-solve and the verified fixes that name what must give)
  against CBC's "Infeasible".

    .venv/bin/python benchmarks/bench_allocation.py            # the full table
    .venv/bin/python benchmarks/bench_allocation.py --quick    # N ≤ 1,000, one repeat
    .venv/bin/python benchmarks/bench_allocation.py --hard     # the two sections only
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing as mp
import os
import resource
import signal
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from allocation_reference import reference_solve, violations  # noqa: E402

from leadbook.allocation.engine import (  # noqa: E402
    glide_path,
    next_week,
    optimise,
)
from leadbook.allocation.examples import (  # noqa: E402
    INFEASIBLE_KINDS,
    hard_model,
    infeasible_model,
    random_model,
)
from leadbook.allocation.model import MONEY, Model, Regime  # noqa: E402
from leadbook.allocation.rules import leads_before, leads_for_spend  # noqa: E402
from leadbook.enums import Objective  # noqa: E402
from leadbook.errors import InfeasiblePolicyError  # noqa: E402

SLSQP_MAX_N = 2_000
"""SLSQP's dense Jacobians grow as n²; above this it is not run (10,000 sources: 0.8 GB each)."""


# --- leadbook ---------------------------------------------------------------------------


def run_leadbook(model: Model, weeks: int) -> dict:
    started = time.perf_counter()
    path, _ = glide_path(model, Objective.CUSTOMERS, weeks, destination=False)
    wall = time.perf_counter() - started
    unique = list({id(p): p for p in path}.values())
    build = sum(p.timings["build"] for p in unique)
    return {
        "build": build,
        "solve": wall - build,
        "value": path[-1].value,
        "gap": max(p.timings["gap"] for p in unique),
        "ok": True,
    }


# --- CBC through PuLP ---------------------------------------------------------------------


def run_cbc(model: Model, weeks: int, time_limit: float) -> dict:
    build = solve = 0.0
    week = model
    before = model.portfolio.current
    value = math.nan
    for _ in range(weeks):
        ref = reference_solve(week, time_limit=max(time_limit - build - solve, 1.0))
        build += ref.build
        solve += ref.solve
        if ref.status != "optimal" or ref.spend is None:
            return {"build": build, "solve": solve, "ok": False, "status": ref.status}
        value = ref.value
        spend = ref.spend[0]
        if np.allclose(spend, before, rtol=1e-9, atol=1e-6):
            break
        before = spend
        week = next_week(model, spend)
    return {"build": build, "solve": solve, "value": value, "ok": True}


# --- SLSQP on the smooth model -------------------------------------------------------------


def _smooth(model: Model, tau: float):
    """Leads of each source as a smooth function of spend (the tier curve, softplus-rounded
    over ``tau`` dollars at each block edge), and its derivative."""
    pf = model.portfolio
    b = pf.blocks
    start = np.zeros(len(b))
    before_spend = np.cumsum(b.spend) - b.spend
    first = {}
    for j, i in enumerate(b.source):
        first.setdefault(i, j)
    start = before_spend - before_spend[[first[i] for i in b.source]]
    end = start + b.spend

    def soft(z):
        return tau * np.logaddexp(0.0, z / tau)

    def sig(z):
        return 0.5 * (1 + np.tanh(z / (2 * tau)))

    def leads(x):
        xs = x[b.source]
        per = (soft(xs - start) - soft(xs - end)) / b.cpl
        return np.bincount(b.source, per, minlength=len(pf))

    def slope(x):
        xs = x[b.source]
        per = (sig(xs - start) - sig(xs - end)) / b.cpl
        return np.bincount(b.source, per, minlength=len(pf))

    return leads, slope


def _box(model: Model) -> tuple[np.ndarray, np.ndarray]:
    pf, lim = model.portfolio, model.limits
    lo, hi = np.zeros(len(pf)), pf.max_spend.copy()
    r = pf.regime
    change = r == Regime.CHANGE
    lo[change] = np.maximum((1 - lim.decrease) * pf.current[change], lim.min_spend)
    hi[change] = np.minimum(hi[change], (1 + lim.increase) * pf.current[change])
    entrant = r == Regime.ENTRANT
    hi[entrant] = np.minimum(hi[entrant], lim.min_spend)
    testing = r == Regime.TESTING
    lo[testing], hi[testing] = pf.test_min[testing], np.minimum(hi[testing], pf.test_max[testing])
    pinned = r == Regime.PINNED
    lo[pinned] = hi[pinned] = pf.pin[pinned]
    hi[r == Regime.OFF] = 0.0
    hi = np.where(np.isfinite(pf.cap), np.minimum(hi, pf.cap), hi)
    return lo, np.maximum(hi, lo)


def run_slsqp(model: Model, weeks: int, time_limit: float) -> dict:
    from scipy.optimize import minimize

    started = time.perf_counter()
    week, before, x = model, model.portfolio.current, None
    for _ in range(weeks):
        x = _slsqp_week(week, minimize)
        if (
            np.allclose(x, before, rtol=1e-6, atol=1.0)
            or time.perf_counter() - started > time_limit
        ):
            break
        before = x
        week = next_week(model, x)
    solve = time.perf_counter() - started
    leads = _in_order(week, x)
    pf = week.portfolio
    value = float(
        (np.bincount(pf.blocks.source, leads[0], minlength=len(pf)) * pf.conversion).sum()
    )
    return {
        "build": 0.0,
        "solve": solve,
        "value": value,
        "ok": True,
        "broken": len(violations(week, leads)),
    }


def _in_order(model: Model, x: np.ndarray) -> np.ndarray:
    b = model.portfolio.blocks
    bought = leads_for_spend(model, x)
    return np.clip(bought[b.source] - leads_before(b), 0.0, b.leads)[None, :]


def _slsqp_week(model: Model, minimize) -> np.ndarray:
    pf, lim = model.portfolio, model.limits
    scale = MONEY
    leads, slope = _smooth(model, tau=max(1.0, 0.01 * float(np.median(pf.blocks.spend))))
    lo, hi = _box(model)
    conv = pf.conversion
    x0 = np.clip(pf.current, lo, hi) / scale

    def f(z):
        return -float(conv @ leads(z * scale))

    def g(z):
        return -conv * slope(z * scale) * scale

    ones = np.ones(len(pf))
    cons = [
        {"type": "ineq", "fun": lambda z: lim.budget / scale - z.sum(), "jac": lambda z: -ones},
        {
            "type": "ineq",
            "fun": lambda z: min(lim.sales_leads, lim.ops_leads) - leads(z * scale).sum(),
            "jac": lambda z: -slope(z * scale) * scale,
        },
        {
            "type": "ineq",
            "fun": lambda z: lim.support_customers - conv @ leads(z * scale),
            "jac": lambda z: -conv * slope(z * scale) * scale,
        },
    ]
    if lim.exact:
        cons[0]["type"] = "eq"
    rows = []
    if lim.max_share < 1:
        eye = np.eye(len(pf))
        rows.append(lim.max_share * np.ones((len(pf), len(pf))) - eye)
    for band in lim.bands:
        member = (pf.classes[band.column] == band.klass).astype(float)
        rows.append((member - band.min)[None, :])
        rows.append((band.max - member)[None, :])
    if lim.experimental_floor > 0:
        rows.append((pf.experimental.astype(float) - lim.experimental_floor)[None, :])
    if rows:
        matrix = np.vstack(rows)
        cons.append({"type": "ineq", "fun": lambda z: matrix @ z, "jac": lambda z: matrix})
    res = minimize(
        f,
        x0,
        jac=g,
        bounds=list(zip(lo / scale, hi / scale, strict=True)),
        constraints=cons,
        method="SLSQP",
        options={"maxiter": 300, "ftol": 1e-9},
    )
    return np.clip(res.x, lo / scale, hi / scale) * scale


# --- Hard and infeasible instances --------------------------------------------------------


def _block_leads(out) -> np.ndarray:
    model, lay, v = out.compiled.model, out.compiled.layout, out.v
    b = model.portfolio.blocks
    return np.array([v[lay.s(w)] * MONEY / b.cpl for w in range(model.weeks)])


def _cpu() -> float:
    """CPU seconds of this process and its finished children (CBC runs as a child): on a
    shared machine a steadier measure than wall time, which other jobs' load inflates."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_leadbook_once(model: Model, explain: bool) -> dict:
    """One ``optimise`` of ``model``: its wall time, value (or verdict) and broken rules.

    ``explain=False`` is the answer alone (a feasible policy's optimum without the value
    of budget, an infeasible one's verdict without what must give); True the user's wait.
    """
    started, cpu = time.perf_counter(), _cpu()
    try:
        out = optimise(model, Objective.CUSTOMERS, explain=explain, explain_infeasible=explain)
    except InfeasiblePolicyError as exc:
        return {
            "ok": True,
            "solve": time.perf_counter() - started,
            "cpu": _cpu() - cpu,
            "status": "infeasible",
            "conflicts": len(exc.conflicts),
        }
    wall = time.perf_counter() - started
    return {
        "ok": True,
        "solve": wall,
        "cpu": _cpu() - cpu,
        "status": "optimal",
        "value": out.value,
        "broken": len(violations(model, _block_leads(out))),
        "integers": out.solved.integers,
    }


def run_cbc_once(model: Model, time_limit: float) -> dict:
    cpu = _cpu()
    ref = reference_solve(model, time_limit=time_limit)
    return {
        "ok": True,
        "solve": ref.build + ref.solve,
        "cpu": _cpu() - cpu,
        "status": ref.status,
        "value": ref.value,
    }


def hard_rows(sizes: list[int], repeats: int, timeout: float) -> None:
    print(
        "\nHard portfolios (the exact solve adds integer variables; customers, W = 1; "
        "median wall time, CPU time in brackets)"
    )
    print(
        "| N | leadbook answer | leadbook with budget value | CBC | CBC ÷ leadbook answer | "
        "CBC ÷ leadbook with budget value | optima agree to | rules broken |"
    )
    print("|" + "---|" * 8)
    for n in sizes:
        answer, wait, cbc = [], [], []
        for seed in range(repeats):
            model = hard_model(n, seed=seed)
            # alternate the peers so that a burst of load on the machine hits both
            cbc.append(isolated(run_cbc_once, (model, timeout), timeout + 5))
            answer.append(isolated(run_leadbook_once, (model, False), timeout + 5))
            wait.append(isolated(run_leadbook_once, (model, True), timeout + 5))
        agree = [
            abs(c["value"] - m["value"]) / max(1.0, abs(c["value"]))
            for c, m in zip(cbc, answer, strict=True)
            if c.get("status") == "optimal" and m.get("status") == "optimal"
        ]
        agree_text = f"{max(agree):.0e}" if agree else f"— (CBC {_statuses(cbc)})"
        broken = [m["broken"] for m in answer + wait if "broken" in m]
        print(
            f"| {n:,} | {_both(answer)} | {_both(wait)} | {_both(cbc)} | "
            f"{_ratios(cbc, answer)} | {_ratios(cbc, wait)} | "
            f"{agree_text} | {max(broken) if broken else '—'} |",
            flush=True,
        )


def infeasible_rows(sizes: list[int], repeats: int, timeout: float) -> None:
    print("\nInfeasible policies (customers, W = 1; median wall time, CPU time in brackets)")
    print(
        "| N | policy | leadbook verdict | leadbook with what must give | CBC | "
        "CBC ÷ leadbook verdict | CBC ÷ leadbook with what must give | verdicts |"
    )
    print("|" + "---|" * 8)
    for n in sizes:
        for kind in INFEASIBLE_KINDS:
            verdict, wait, cbc = [], [], []
            for seed in range(repeats):
                model = infeasible_model(n, kind, seed=seed)
                cbc.append(isolated(run_cbc_once, (model, timeout), timeout + 5))
                verdict.append(isolated(run_leadbook_once, (model, False), timeout + 5))
                wait.append(isolated(run_leadbook_once, (model, True), timeout + 5))
            if not math.isfinite(median(wait, "solve")):
                c = median(cbc, "solve")
                w_text, w_ratio = f"> {timeout:.0f} s (timeout)", f"< {c / timeout:.2g}×"
            else:
                w_text, w_ratio = _both(wait), _ratios(cbc, wait)
            said = f"leadbook {_statuses(verdict)}, CBC {_statuses(cbc)}"
            print(
                f"| {n:,} | {kind} | {_both(verdict)} | {w_text} | {_both(cbc)} | "
                f"{_ratios(cbc, verdict)} | {w_ratio} | {said} |",
                flush=True,
            )


def _both(runs: list[dict]) -> str:
    """Median wall time, and median CPU time in brackets."""
    return f"{fmt(median(runs, 'solve'))} ({fmt(median(runs, 'cpu'))})"


def _ratios(peer: list[dict], mine: list[dict]) -> str:
    """Peer ÷ mine on wall time, and on CPU time in brackets."""
    wall = _ratio(median(peer, "solve"), median(mine, "solve"))
    return f"{wall} ({_ratio(median(peer, 'cpu'), median(mine, 'cpu'))})"


def _ratio(peer: float, mine: float) -> str:
    if not (math.isfinite(peer) and math.isfinite(mine)):
        return "—"
    return f"{peer / mine:.1f}×" if peer / mine >= 0.95 else f"{peer / mine:.2f}×"


def _statuses(runs: list[dict]) -> str:
    return "/".join(sorted({str(r.get("status", "?")) for r in runs}))


# --- Harness ----------------------------------------------------------------------------


def _child(conn, fn, args) -> None:
    os.setsid()
    try:
        conn.send(fn(*args))
    except Exception as exc:  # a peer failing is a result to report, not a crash
        conn.send({"ok": False, "status": f"{type(exc).__name__}: {exc}"})


def isolated(fn, args: tuple, timeout: float) -> dict:
    """Run ``fn(*args)`` in its own process group; kill the group after ``timeout`` s."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args))
    started = time.perf_counter()
    proc.start()
    if parent.poll(timeout):
        out = parent.recv()
        proc.join()
        return out
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.join()
    return {
        "ok": False,
        "status": f"timeout {timeout:.0f} s",
        "solve": time.perf_counter() - started,
    }


def median(runs: list[dict], key: str) -> float:
    values = [r[key] for r in runs if r.get("ok") and key in r]
    return statistics.median(values) if values else math.nan


def fmt(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N ≤ 1,000 and one repeat")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per peer run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--weeks", type=int, nargs="*", default=[1, 13])
    parser.add_argument("--hard", action="store_true", help="only the hard and infeasible sections")
    parser.add_argument("--hard-sizes", type=int, nargs="*", default=[100, 200, 1_000])
    parser.add_argument("--infeasible-sizes", type=int, nargs="*", default=[100, 1_000])
    args = parser.parse_args()
    sizes = args.sizes or ([10, 100, 1_000] if args.quick else [10, 100, 1_000, 10_000])
    repeats = 1 if args.quick else args.repeats
    print(
        f"leadbook allocation benchmark — {os.cpu_count()} CPUs, peer timeout {args.timeout:.0f} s"
        f", load average {os.getloadavg()[0]:.1f} at the start"
    )
    run_leadbook(random_model(20), 2)  # warm: HiGHS's first call and the lazy imports
    if not args.hard:
        random_rows(args, sizes, repeats)
    hard_rows(args.hard_sizes, repeats, args.timeout)
    infeasible_rows(args.infeasible_sizes, repeats, args.timeout)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


def random_rows(args: argparse.Namespace, sizes: list[int], repeats: int) -> None:
    header = (
        "| N | W | leadbook build | leadbook solve | gap | CBC build | CBC solve | "
        "CBC ÷ leadbook | SLSQP solve | SLSQP ÷ MILP optimum (rules broken) |"
    )
    print(header)
    print("|" + "---|" * 10)
    for n in sizes:
        for weeks in args.weeks:
            lb, cbc, sq = [], [], []
            for seed in range(repeats if n < 10_000 else 1):
                model = random_model(n, seed=seed)
                lb.append(run_leadbook(model, weeks))
                cbc.append(isolated(run_cbc, (model, weeks, args.timeout), args.timeout + 5))
                if n <= SLSQP_MAX_N:
                    sq.append(isolated(run_slsqp, (model, weeks, args.timeout), args.timeout + 5))
            lb_total = median(lb, "build") + median(lb, "solve")
            cbc_total = median(cbc, "build") + median(cbc, "solve")
            agree = [
                abs(c["value"] - m["value"]) / max(1.0, abs(m["value"]))
                for c, m in zip(cbc, lb, strict=True)
                if c.get("ok")
            ]
            if math.isfinite(cbc_total):
                ratio = f"{cbc_total / lb_total:.1f}×"
            else:
                failed = next((c for c in cbc if not c.get("ok")), {})
                ratio = failed.get("status", "—")
                if ratio.startswith("timeout"):
                    # CBC would have needed longer than its limit: a lower bound on the ratio
                    ratio = f"> {args.timeout / lb_total:.0f}× (CBC {ratio})"
            if agree:
                ratio += f" (optima agree to {max(agree):.0e})"
            if n > SLSQP_MAX_N:
                slsqp = ("not run", "dense n² Jacobians")
            elif not any(s.get("ok") for s in sq):
                slsqp = (next(s["status"] for s in sq), "—")
            else:
                share = [
                    s["value"] / m["value"] for s, m in zip(sq, lb, strict=True) if s.get("ok")
                ]
                broken = max(s["broken"] for s in sq if s.get("ok"))
                slsqp = (fmt(median(sq, "solve")), f"{statistics.median(share):.4f} ({broken})")
            print(
                f"| {n:,} | {weeks} | {fmt(median(lb, 'build'))} | {fmt(median(lb, 'solve'))} | "
                f"{max(r['gap'] for r in lb):.0e} | {fmt(median(cbc, 'build'))} | "
                f"{fmt(median(cbc, 'solve'))} | {ratio} | {slsqp[0]} | {slsqp[1]} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
