"""Lead-model training time against one HistGradientBoosting fit, on 45,211 leads, offline.

Issue 18 measured ``train_model`` on UCI Bank Marketing (45,211 leads) at 56× one
``HistGradientBoostingClassifier`` fit, 58 % of it in ``StratifiedGroupKFold`` run three times
to keep 9 duplicate leads together. Nothing may be downloaded here, so the leads are synthetic
and shaped like that file: 45,211 leads, 11.7 % converted, 7 numeric features (one with blanks)
and 8 categorical ones plus the source, 9 leads repeating another, no Created dates (so the
stratified split and cross-validation are the ones measured).

The reference fit is the boosted model leadbook trains (the same ``HistGradientBoostingClassifier``
settings, its ordinal encoding of categories) fitted once on all leads, on one thread as
``train_model`` runs. The figure reported is ``train_model`` time ÷ that fit's time (best of
``--repeat`` runs of each), with the chosen model and its held-out AUC, log loss and calibration
error, so a faster training can be checked to choose as well.

Measured (2 shared cores, CPU time; wall time was up to 2.5× CPU time under load): before
issue 18's changes 45.5× one fit (58× by wall time); after the one fold assignment 18.0×;
after cross-validating only until 10,000 leads are scored 9.9–12.4× across runs (10.2× and
10.7× on 4 December 2026, load average 3–7). Then the boosted model from 10,000 training leads
became one fit calibrated (sigmoid) on a tenth of them, not three fits on 3 folds (2.4× one fit
per calibrated model → 0.9×), and from 30,000 training leads cross-validation scores one fold
of 3–5 instead of two of 5: 4.0× and 4.1× one fit (same session as the 10.2×, load average
2.7–3.9). The choice (gradient boosting) is unchanged; held-out AUC 0.7466 → 0.7462, log loss
0.3570 → 0.3571, Brier 0.1076 → 0.1077, calibration error (ECE over score deciles) 0.0134 →
0.0100. With Created dates added (time-ordered split) training went from 12.2 s to 5.1 s CPU,
same choice, held-out AUC 0.7320 → 0.7304, log loss 0.3703 → 0.3706.

Run: ``.venv/bin/python benchmarks/bench_qualify_speed.py [--repeat 3] [--leads 45211]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from leadbook.leads.model import SEED, _gbm, _typed, train_model
from leadbook.leads.table import LeadTable
from leadbook.settings import LeadRules

SOURCES = ("Comparison sites", "Aggregators", "Broker referrals", "Organic search", "Content")


def synthetic_leads(n: int = 45_211, duplicates: int = 9, seed: int = 18) -> LeadTable:
    """Bank-marketing-shaped leads: the outcome depends on a few features, some interacting."""
    rng = np.random.default_rng(seed)
    cats = {
        "Job": (12, rng.integers(0, 12, n)),
        "Marital": (3, rng.integers(0, 3, n)),
        "Education": (4, rng.integers(0, 4, n)),
        "Default": (2, rng.choice(2, n, p=[0.98, 0.02])),
        "Housing": (2, rng.integers(0, 2, n)),
        "Loan": (2, rng.choice(2, n, p=[0.84, 0.16])),
        "Contact": (3, rng.choice(3, n, p=[0.65, 0.06, 0.29])),
        "Month": (12, rng.integers(0, 12, n)),
    }
    num = {
        "Age": rng.normal(41, 10, n).clip(18, 95).round(),
        "Balance": np.round(rng.lognormal(6.5, 1.5, n) - 300),
        "Day": rng.integers(1, 32, n).astype(float),
        "Campaign": rng.geometric(0.4, n).astype(float),
        "Pdays": np.where(rng.random(n) < 0.82, -1.0, rng.integers(1, 400, n)),
        "Previous": rng.poisson(0.6, n).astype(float),
        "Days to first contact": rng.exponential(2.0, n).round(1),
    }
    source = rng.choice(len(SOURCES), n, p=[0.34, 0.28, 0.16, 0.14, 0.08])
    logit = (
        -1.9
        + 0.9 * (num["Pdays"] > 0)
        - 0.18 * np.minimum(num["Campaign"], 8)
        + 0.012 * (num["Age"] - 41) ** 2 / 10
        + 0.6 * (cats["Month"][1] % 4 == 0)
        - 0.5 * cats["Housing"][1]
        - 0.4 * cats["Loan"][1]
        - 0.9 * (cats["Contact"][1] == 2)
        + 0.25 * np.log1p(np.maximum(num["Balance"], 0)) / 3
        + 1.2 * (cats["Job"][1] >= 10) * (num["Age"] > 55)
        + 0.8 * np.sin(num["Day"] / 5) * (cats["Contact"][1] == 0)
        + np.array([0.3, 0.0, -0.2, 0.4, 0.1])[source]
        - 0.08 * num["Days to first contact"]
    )
    outcome = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    num["Balance"][rng.random(n) < 0.03] = np.nan  # blanks, as lead files have
    features = pd.DataFrame(
        {
            **{
                k: pd.Series([f"{k[:3]}{v}" for v in codes], dtype=object)
                for k, (_, codes) in cats.items()
            },
            **num,
        }
    )
    fixed = pd.DataFrame(
        {
            "at_row": np.arange(n),
            "lead_id": [f"B{i:06d}" for i in range(n)],
            "source": pd.Series(np.array(SOURCES, dtype=object)[source], dtype=object),
            "created": pd.NaT,
            "cost": 1.0,
            "resale": None,
            "outcome": outcome,
            "value": np.nan,
        }
    )
    # A few leads entered twice: same features and outcome under a new id.
    twins = rng.choice(n, duplicates, replace=False)
    targets = rng.choice(np.setdiff1d(np.arange(n), twins), duplicates, replace=False)
    features.iloc[targets] = features.iloc[twins].to_numpy()
    fixed.loc[targets, ["source", "outcome"]] = fixed.loc[twins, ["source", "outcome"]].to_numpy()
    kinds = {k: "categorical" for k in cats} | {k: "numeric" for k in num}
    return LeadTable(fixed, features, kinds)


def _timed(run) -> tuple[float, float, object]:
    """CPU seconds, wall seconds and the result of ``run()``. Both fits run on one thread,
    so CPU time is the fair figure on a shared machine; wall time is shown beside it."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = run()
    return time.process_time() - cpu, time.perf_counter() - wall, out


def one_gbm_fit(table: LeadTable) -> tuple[float, float]:
    """CPU and wall seconds for one fit of leadbook's boosted model (uncalibrated), all leads."""
    kinds = {"Source": "categorical", **table.kinds}
    x = _typed(table.model_frame(), kinds)
    y = table.fixed["outcome"].to_numpy(dtype=int)
    pipeline = _gbm(kinds, len(x), SEED).estimator
    with threadpool_limits(1):
        return _timed(lambda: pipeline.fit(x, y))[:2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--leads", type=int, default=45_211)
    args = parser.parse_args()
    table = synthetic_leads(args.leads)
    y = table.fixed["outcome"].to_numpy()
    print(f"synthetic leads: {len(y):,}, {y.mean():.1%} converted, {len(table.kinds)} features")
    fits = [one_gbm_fit(table) for _ in range(args.repeat)]
    fit_cpu, fit_wall = min(f[0] for f in fits), min(f[1] for f in fits)
    print(
        f"one HistGradientBoosting fit: {fit_cpu:.2f} s CPU, {fit_wall:.2f} s wall "
        f"(best of {args.repeat})"
    )
    runs = [_timed(lambda: train_model(table, LeadRules())) for _ in range(args.repeat)]
    cpu, wall = min(r[0] for r in runs), min(r[1] for r in runs)
    model = runs[-1][2]
    r = model.report
    print(
        f"train_model: {cpu:.2f} s CPU, {wall:.2f} s wall (best of {args.repeat}) = "
        f"{cpu / fit_cpu:.1f}× one fit by CPU time ({wall / fit_wall:.1f}× by wall time)"
    )
    print(f"split: {r.split}; {r.n_train:,} train / {r.n_held_out:,} held out")
    print(
        f"chosen: {r.chosen}; CV log loss "
        + ", ".join(f"{k} {v:.4f}" for k, v in r.cv_log_loss.items())
    )
    for name, m in r.held_out.items():
        print(
            f"  held out, {name}: AUC {m.auc:.4f}, log loss {m.log_loss:.4f}, Brier {m.brier:.4f}"
        )
    c = r.calibration
    ece = float((c["leads"] * (c["predicted"] - c["observed"]).abs()).sum() / c["leads"].sum())
    print(f"  held out, {r.chosen}: calibration error {ece:.4f} (ECE over score deciles)")


if __name__ == "__main__":
    main()
