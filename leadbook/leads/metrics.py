"""How well a lead model predicts: AUC, log loss, Brier score and calibration error on held-out
leads, the calibration table, and the confusion counts at a threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    pass


# --- Metrics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifierMetrics:
    """Accuracy, precision and recall at a threshold, with the confusion matrix behind them."""

    true_hits: int
    true_misses: int
    false_hits: int
    missed_hits: int
    accuracy: float
    precision: float
    recall: float


def classifier_metrics(
    predicted: Sequence[float] | np.ndarray,
    actual: Sequence[float] | np.ndarray,
    threshold: float = 0.5,
) -> ClassifierMetrics:
    """Confusion matrix, accuracy, precision and recall of predictions against outcomes.

    A lead is a predicted hit when its probability (or 0/1 prediction) is above
    ``threshold``, as in the chapter; ``actual`` is 1 for converted, 0 otherwise. Precision
    (recall) is NaN when there is no predicted (actual) hit.

    Examples
    --------
    The chapter's worked example: 6 true hits, 14 true misses, 2 false hits, 3 missed hits.

    >>> predicted = [0.9] * 6 + [0.1] * 14 + [0.7] * 2 + [0.3] * 3
    >>> actual = [1] * 6 + [0] * 14 + [0] * 2 + [1] * 3
    >>> m = classifier_metrics(predicted, actual)
    >>> f"{m.accuracy:.0%} {m.precision:.0%} {m.recall:.0%}"
    '80% 75% 67%'
    """
    p = np.asarray(predicted, dtype=float)
    y = np.asarray(actual, dtype=float)
    if p.shape != y.shape:
        raise ValueError(f"predicted has {p.size} values but actual has {y.size}")
    if np.isnan(p).any() or np.isnan(y).any():
        raise ValueError("predicted and actual must not contain blanks")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("actual outcomes must be 1 (converted) or 0 (not converted)")
    hit, real = p > threshold, y == 1
    tp, tn = int((hit & real).sum()), int((~hit & ~real).sum())
    fp, fn = int((hit & ~real).sum()), int((~hit & real).sum())
    return ClassifierMetrics(
        tp,
        tn,
        fp,
        fn,
        accuracy=(tp + tn) / p.size if p.size else math.nan,
        precision=tp / (tp + fp) if tp + fp else math.nan,
        recall=tp / (tp + fn) if tp + fn else math.nan,
    )


def calibration_table(p: np.ndarray, y: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Leads in ``bins`` equal groups by score (top first): mean predicted, observed, lift.

    Examples
    --------
    >>> t = calibration_table(np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 1, 0, 0]), bins=2)
    >>> t[["leads", "predicted", "observed", "lift"]].round(2).values.tolist()
    [[2.0, 0.85, 1.0, 2.0], [2.0, 0.15, 0.0, 0.0]]
    """
    order = np.argsort(-p, kind="stable")
    groups = np.array_split(order, bins)
    overall = float(y.mean()) if len(y) else math.nan
    rows = []
    for i, g in enumerate(groups):
        observed = float(y[g].mean()) if len(g) else math.nan
        rows.append(
            {
                "decile": f"{i + 1} of {bins}" + (" (top)" if i == 0 else ""),
                "leads": float(len(g)),
                "predicted": float(p[g].mean()) if len(g) else math.nan,
                "observed": observed,
                "lift": observed / overall if overall else math.nan,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class HeldOutMetrics:
    """Held-out figures of one model."""

    auc: float
    log_loss: float
    brier: float
    at_threshold: ClassifierMetrics
    top_decile_lift: float


def held_out_metrics(p: np.ndarray, y: np.ndarray, threshold: float) -> HeldOutMetrics:
    """AUC, log loss, Brier score, threshold metrics and top-tenth lift of predictions.

    Examples
    --------
    >>> m = held_out_metrics(np.array([0.9, 0.6, 0.4, 0.1]), np.array([1, 0, 1, 0]), 0.5)
    >>> m.auc, round(m.brier, 3), m.at_threshold.accuracy
    (0.75, 0.185, 0.5)
    """
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else math.nan
    lift = calibration_table(p, y)["lift"].iloc[0] if len(y) >= 10 else math.nan
    return HeldOutMetrics(
        auc=auc,
        log_loss=float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
        brier=float(brier_score_loss(y, p)),
        at_threshold=classifier_metrics(p, y, threshold),
        top_decile_lift=float(lift),
    )
