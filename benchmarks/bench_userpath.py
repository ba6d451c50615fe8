"""The allocation as the user waits for it, beside the solve the allocation benchmark times.

``benchmarks/bench_allocation.py`` times the solve: the weekly rebalances of a glide path.
What Rebalance then does before anyone sees a figure — the destination (the optimum without
weekly limits, for a glide path), the binding rules with their values, the table — is part of
the user's wait too. For seeded random portfolios (``random_model``) of N sources and glide
paths of W weeks this prints, per case, the median of

- **solve**: ``glide_path(model, objective, W, destination=False)``, as the allocation
  benchmark times it;
- **user's path**: ``optimise``/``glide_path`` with the destination, then ``allocation_from``
  (explanations and the table), as ``leadbook rebalance`` runs it;

and their ratio (issue 16's goal: within 2× of the solve). In-process, warm (imports and
HiGHS's first call done before timing).

    .venv/bin/python benchmarks/bench_userpath.py                  # N 1,000 and 10,000; W 1, 13
    .venv/bin/python benchmarks/bench_userpath.py --sizes 1000 --weeks 1 13 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from leadbook.allocation.allocate import allocation_from
from leadbook.allocation.engine import glide_path, optimise
from leadbook.allocation.examples import random_model
from leadbook.enums import Objective


def user_path(n: int, weeks: int) -> tuple[float, float]:
    """Seconds of the solve and of the user's path, on a portfolio of ``n`` sources."""
    model = random_model(n)
    goal = Objective.CUSTOMERS
    started = time.perf_counter()
    glide_path(model, goal, weeks, destination=False)
    solve = time.perf_counter() - started
    started = time.perf_counter()
    if weeks == 1:
        allocation_from(optimise(model, goal))
    else:
        path, steady = glide_path(model, goal, weeks)
        allocation_from(path[0], path, steady)
    return solve, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000])
    parser.add_argument("--weeks", type=int, nargs="*", default=[1, 13])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    glide_path(random_model(20), Objective.CUSTOMERS, 2)  # warm: imports, HiGHS's first call
    print(f"leadbook user's path benchmark — {os.cpu_count()} CPUs, median of {args.repeats}")
    print("| sources | weeks | solve | user's path | × the solve |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        for weeks in args.weeks:
            runs = [user_path(n, weeks) for _ in range(args.repeats)]
            solve = statistics.median(r[0] for r in runs)
            user = statistics.median(r[1] for r in runs)
            print(f"| {n:,} | {weeks} | {solve:.2f} s | {user:.2f} s | {user / solve:.2f}× |")


if __name__ == "__main__":
    main()
