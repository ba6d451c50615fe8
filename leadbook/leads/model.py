"""Lead qualification: a conversion-probability model, its report, and its safe storage.

**Model.** Two scikit-learn candidates are trained on closed leads:

- a gradient-boosted classifier (``HistGradientBoostingClassifier``: native categorical and
  missing-value support) wrapped in ``CalibratedClassifierCV`` so its probabilities can be taken
  at face value: three fits on 3 folds, each calibrated on its third (sigmoid under 2,000
  training leads, isotonic above), or from :data:`ONE_SPLIT_CALIBRATION` leads one fit
  calibrated (sigmoid) on a tenth it did not see;
- the transparent baseline: an L2-regularised logistic regression in a ``Pipeline`` (median
  imputation with missing-value indicators and standardisation for numbers; a "(blank)" level
  and one-hot encoding for categories).

The one with the lower cross-validated log loss is chosen. When every closed lead has a
Created date the held-out set is the latest 20 % and cross-validation is time-ordered
(``TimeSeriesSplit``), so no fold learns from its future; otherwise both are stratified and
identical leads (duplicates) are kept on one side (:func:`_fold_ids`, a fold assignment made
once for the held-out split and once for both candidates' cross-validation). The held-out
report is of the model fitted without the held-out leads; the model that scores is refitted on
all closed leads with the same settings. Every generator is seeded.

**Top factors.** For each scored lead and feature, the change in the lead's log-odds when that
feature is set to the training leads' typical value (median, or most common category): positive
factors raise its probability. Model-agnostic, exact for the logistic model's numeric features.

**Storage.** The trained model is saved to ``<book>.leadbook-model/model-<hash>.zip`` next to
the workbook, with a readable manifest; the workbook records the file's SHA-256 and the hash of the
training data. The file holds the estimator in skops' format and everything else as JSON, so loading
it builds only the types on :data:`~leadbook.leads.store.TRUSTED_TYPES` and can run no code —
pickles are never loaded, since whoever can write a workbook can write a pickle and its hash beside
it. :func:`~leadbook.leads.store.load_model` refuses a missing, altered, foreign or untrusted file,
and a model whose training leads have since been edited or removed — each with a message that says
what to do. Nothing retrains silently.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from leadbook import __version__
from leadbook.errors import LeadbookError
from leadbook.leads.table import CATEGORICAL, NUMERIC, LeadTable
from leadbook.settings import LeadRules

if TYPE_CHECKING:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline

from leadbook.leads.drift import training_profile
from leadbook.leads.metrics import HeldOutMetrics, calibration_table, held_out_metrics

# scikit-learn (with the scipy.stats it loads, about a second) is imported inside the functions
# that train, measure held-out leads or load a model: LB.CLASSIFIER_METRICS and the jobs that
# never touch a model do without it.

log = logging.getLogger(__name__)


SEED = 20261101


HELD_OUT_SHARE = 0.2


MIN_CLOSED = 40


MIN_PER_OUTCOME = 8


TIE_MARGIN = 0.01


CV_SCORED = 10_000


"""Cross-validation stops once its folds have scored this many training leads (all 5 folds
below 10,000 training leads; 2 or more of 5 to 30,000; from 30,000 one fold, of 3, 4 or 5 as
many as keep it this large, see :func:`_fold_count`): each fold costs a calibrated boosting
fit, and past this the log-loss comparison is already precise (per-fold differences on 7,000
leads vary by about ±0.5 % against the 1 % tie margin)."""


ONE_SPLIT_CALIBRATION = 10_000


"""From this many training leads the boosted model is one fit calibrated (sigmoid) on a
stratified :data:`CALIBRATION_SHARE` of its training leads kept out of that fit; below it,
three fits on a 3-fold split, each calibrated on its third, and averaged. On 45,211 leads the
three fits cost 2.4× one fit where the one split costs 0.9×, with the same held-out AUC and
log loss (and a lower calibration error): a sigmoid fitted on 3,600 leads is as sure as three
on 12,000. Isotonic calibration on one split was not (its held-out log loss varied by 4 %
with the split's seed)."""


CALIBRATION_SHARE = 0.1


GBM = "gradient boosting (calibrated)"


LOGISTIC = "logistic regression"


class ModelError(LeadbookError):
    """The stored lead model cannot be used: missing, altered, foreign, stale or incompatible."""


# --- Training --------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelReport:
    """What a CFO needs to trust the model, all on held-out closed leads."""

    chosen: str
    cv_log_loss: dict[str, float]
    held_out: dict[str, HeldOutMetrics]
    bands: pd.DataFrame
    calibration: pd.DataFrame
    split: str
    n_train: int
    n_held_out: int
    threshold: float


@dataclass
class TrainedModel:
    """A fitted lead model and everything needed to use and check it later."""

    estimator: Any
    kind: str
    kinds: dict[str, str]
    reference: dict[str, Any]
    report: ModelReport
    digests: pd.Series
    data_hash: str
    trained: str
    versions: dict[str, str] = field(default_factory=dict)
    profile: dict[str, Any] | None = None
    """The training leads' feature bins and base rate (:mod:`leadbook.leads.drift`); None
    for a model saved before leadbook kept them."""

    @property
    def features(self) -> list[str]:
        return ["Source", *self.kinds]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Conversion probabilities of leads (``frame`` as :meth:`LeadTable.model_frame`)."""
        with threadpool_limits(1):
            return self.estimator.predict_proba(_typed(frame, self.all_kinds))[:, 1]

    def typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's features of ``frame``, numbers as floats and categories as text."""
        return _typed(frame, self.all_kinds)

    @property
    def all_kinds(self) -> dict[str, str]:
        return {"Source": CATEGORICAL, **self.kinds}


def train_model(table: LeadTable, rules: LeadRules, *, seed: int = SEED) -> TrainedModel:
    """Train both candidates on the closed leads, choose by CV log loss, report on held-out.

    The logistic baseline wins unless the boosted model's CV log loss is lower by more than
    :data:`TIE_MARGIN` (relative): with little data the transparent model is kept. Training
    runs on one thread (faster for lead-table sizes, and kind to shared machines). Raises
    :class:`~leadbook.errors.LeadbookError` when there are too few closed leads.
    """
    import sklearn.ensemble  # noqa: F401  OpenMP must be loaded to be limited: a first
    # training in a process ran its boosting on every core, the limit set before it loaded.

    with threadpool_limits(1):
        return _train(table, rules, seed)


def _train(table: LeadTable, rules: LeadRules, seed: int) -> TrainedModel:
    from sklearn.base import clone

    closed = table.closed()
    y = closed.fixed["outcome"].to_numpy(dtype=int)
    _check_enough(y)
    x = _typed(closed.model_frame(), {"Source": CATEGORICAL, **closed.kinds})
    kinds = {"Source": CATEGORICAL, **closed.kinds}
    created = closed.fixed["created"]
    timed = bool(created.notna().all())
    groups = _duplicate_groups(x)
    train, test, split = _held_out_split(created, y, groups, timed, seed)
    candidates = {GBM: _gbm(kinds, len(train), seed), LOGISTIC: _logistic(kinds, seed)}
    # One fold assignment for both candidates (it was computed once per candidate).
    k = _fold_count(len(train))
    folds = None if timed else _fold_ids(y[train], groups[train], k, seed)
    cv = {
        name: _cv_log_loss(model, x.iloc[train], y[train], groups[train], timed, seed, folds)
        for name, model in candidates.items()
    }
    chosen = GBM if cv[GBM] < cv[LOGISTIC] * (1 - TIE_MARGIN) else LOGISTIC
    held_out, p_test = {}, {}
    for name, model in candidates.items():
        fitted = clone(model).fit(x.iloc[train], y[train])
        p_test[name] = fitted.predict_proba(x.iloc[test])[:, 1]
        held_out[name] = held_out_metrics(p_test[name], y[test], rules.hit_threshold)
    log.info("lead model CV log loss: %s; chosen: %s", cv, chosen)
    final = clone(candidates[chosen]).fit(x, y)
    digests = row_digests(closed)
    report = ModelReport(
        chosen=chosen,
        cv_log_loss=cv,
        held_out=held_out,
        bands=band_table(p_test[chosen], y[test], rules),
        calibration=calibration_table(p_test[chosen], y[test]),
        split=split,
        n_train=len(train),
        n_held_out=len(test),
        threshold=rules.hit_threshold,
    )
    return TrainedModel(
        estimator=final,
        kind=chosen,
        kinds=dict(closed.kinds),
        reference=_reference(x),
        report=report,
        digests=digests,
        data_hash=data_hash(digests),
        trained=pd.Timestamp.now().floor("s").isoformat(),
        versions=library_versions(),
        profile=training_profile(x, y),
    )


def _check_enough(y: np.ndarray) -> None:
    n, hits = len(y), int(y.sum())
    if n < MIN_CLOSED or min(hits, n - hits) < MIN_PER_OUTCOME:
        raise LeadbookError(
            f"the lead table has {n} closed leads ({hits} converted, {n - hits} not); a model "
            f"needs at least {MIN_CLOSED} closed leads with {MIN_PER_OUTCOME} of each outcome "
            "(mark closed leads yes or no in Converted)"
        )


def _typed(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for name, kind in kinds.items():
        column = frame[name]
        if kind == NUMERIC:
            out[name] = pd.to_numeric(column, errors="coerce").astype(float)
        else:
            out[name] = column.map(lambda v: np.nan if v is None or v is np.nan else str(v))
            out[name] = out[name].astype(object)
    return out


def _split_kinds(kinds: Mapping[str, str]) -> tuple[list[str], list[str]]:
    numeric = [n for n, k in kinds.items() if k == NUMERIC]
    return numeric, [n for n, k in kinds.items() if k == CATEGORICAL]


def _gbm(kinds: Mapping[str, str], n_train: int, seed: int) -> CalibratedClassifierCV:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    numeric, categorical = _split_kinds(kinds)
    prep = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                ),
                categorical,
            ),
            ("num", "passthrough", numeric),
        ]
    )
    boosted = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=150,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=False,
        categorical_features=[True] * len(categorical) + [False] * len(numeric),
        random_state=seed,
    )
    pipeline = Pipeline([("prep", prep), ("model", boosted)])
    if n_train >= ONE_SPLIT_CALIBRATION:
        split = StratifiedShuffleSplit(1, test_size=CALIBRATION_SHARE, random_state=seed)
        return CalibratedClassifierCV(pipeline, method="sigmoid", cv=split)
    method = "sigmoid" if n_train < 2_000 else "isotonic"
    return CalibratedClassifierCV(
        pipeline, method=method, cv=StratifiedKFold(3, shuffle=True, random_state=seed)
    )


def _logistic(kinds: Mapping[str, str], seed: int) -> Pipeline:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical = _split_kinds(kinds)
    prep = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(blank)"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )
    return Pipeline(
        [("prep", prep), ("model", LogisticRegression(C=1.0, max_iter=2_000, random_state=seed))]
    )


def _duplicate_groups(x: pd.DataFrame) -> np.ndarray:
    """One group id per distinct feature vector, so duplicates stay on one side of a split."""
    # ``x`` is typed (floats, and text or NaN): hashing it as it is groups the same leads as
    # hashing its text, in a tenth of the time (0.02 s of 45,000 leads, not 0.15 s).
    hashed = pd.util.hash_pandas_object(x, index=False).to_numpy()
    return pd.factorize(hashed)[0]


def _fold_ids(y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fold (0 … k − 1) for every lead: stratified by outcome, identical leads in one fold.

    Repeated feature vectors (groups of more than one lead, usually few) go first, largest
    first, each to the fold least filled in proportion to its outcomes; the single leads then
    fill the folds class by class, each class as evenly as it can. Without duplicates this is
    a shuffled stratified k-fold. It replaces scikit-learn's ``StratifiedGroupKFold``, whose
    loop over every group took 15 s of 45,000 leads, most of them alone in their group.

    Examples
    --------
    >>> f = _fold_ids(np.array([1, 1, 0, 0, 0, 0, 1, 0]), np.array([0, 0, 1, 2, 3, 4, 5, 6]), 2, 1)
    >>> bool(f[0] == f[1]), np.bincount(f).tolist()
    (True, [4, 4])
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(y, dtype=int)
    folds = np.empty(len(y), dtype=int)
    filled = np.zeros((k, 2))
    per_class = np.maximum(np.bincount(y, minlength=2), 1)
    sizes = np.bincount(groups)
    multi = np.flatnonzero(sizes > 1)
    if multi.size:
        multi = rng.permutation(multi)
        multi = multi[np.argsort(-sizes[multi], kind="stable")]
        members = pd.Series(np.arange(len(y))).groupby(groups).indices
        for g in multi:
            rows = members[g]
            outcomes = np.bincount(y[rows], minlength=2)
            load = ((filled + outcomes) / per_class).sum(axis=1)
            f = int(np.argmin(load))
            folds[rows] = f
            filled[f] += outcomes
    single = sizes[groups] == 1
    for c in (0, 1):
        rows = rng.permutation(np.flatnonzero(single & (y == c)))
        if rows.size:
            # Fold f's j-th new lead of class c would be its (filled + j)-th: the rows take the
            # lowest such places over all folds, so the folds fill level by level; on a tie the
            # fold with fewer leads so far goes first, which keeps the folds' sizes even too.
            order = np.argsort(filled.sum(axis=1), kind="stable")
            levels = filled[order, c][:, None] + np.arange(1, rows.size + 1)[None, :]
            places = np.argsort(levels, axis=None, kind="stable")[: rows.size]
            folds[rows] = order[places // rows.size]
            filled[:, c] += np.bincount(folds[rows], minlength=k)
    return folds


def _held_out_split(
    created: pd.Series, y: np.ndarray, groups: np.ndarray, timed: bool, seed: int
) -> tuple[np.ndarray, np.ndarray, str]:
    n = len(y)
    if timed:
        order = np.argsort(created.to_numpy(), kind="stable")
        cut = round(n * (1 - HELD_OUT_SHARE))
        first = pd.Timestamp(created.iloc[order[cut]]).date()
        return order[:cut], order[cut:], f"time-ordered: the latest 20 % (created from {first})"
    folds = _fold_ids(y, groups, round(1 / HELD_OUT_SHARE), seed)
    train, test = np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)
    return train, test, "stratified 20 %, duplicates kept together (no Created dates)"


def _fold_count(n: int) -> int:
    """Cross-validation folds of ``n`` training leads: 5, or from 3 × :data:`CV_SCORED` leads
    the most (3 to 5) of which one fold scores :data:`CV_SCORED` leads, so one fit does.

    Two folds of 5 fitted 29,000 of 36,000 leads twice to score 14,400; one of 3 fits 24,000
    once to score 12,000 and made the same choice (on 45,211 leads: 2.2 % apart, tie at 1 %).

    Examples
    --------
    >>> [_fold_count(n) for n in (1_000, 29_999, 36_000, 45_000, 80_000)]
    [5, 5, 3, 4, 5]
    """
    return min(n // CV_SCORED, 5) if n >= 3 * CV_SCORED else 5


def _cv_log_loss(
    model: Any,
    x: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    timed: bool,
    seed: int,
    folds: np.ndarray | None = None,
) -> float:
    """Mean log loss of ``model`` over k − 1 time-ordered or k stratified folds (k from
    :func:`_fold_count`), or the latest (the first) of them that score :data:`CV_SCORED` leads;
    ``folds`` (from :func:`_fold_ids`) is computed once by the caller for both candidates."""
    from sklearn.base import clone
    from sklearn.metrics import log_loss
    from sklearn.model_selection import TimeSeriesSplit

    k = _fold_count(len(y))
    if timed:
        splits = list(TimeSeriesSplit(n_splits=k - 1).split(x))[::-1]  # the most data first
    else:
        if folds is None:
            folds = _fold_ids(y, groups, k, seed)
        splits = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(k)]
    scored = np.cumsum([len(test) for _, test in splits])
    splits = splits[: int(np.searchsorted(scored, CV_SCORED)) + 1]
    losses = []
    for train, test in splits:
        if len(set(y[train])) < 2 or min(np.bincount(y[train], minlength=2)) < 3:
            continue
        fitted = clone(model).fit(x.iloc[train], y[train])
        p = np.clip(fitted.predict_proba(x.iloc[test])[:, 1], 1e-15, 1 - 1e-15)
        losses.append(log_loss(y[test], p, labels=[0, 1]))
    return float(np.mean(losses)) if losses else math.inf


def band_table(p: np.ndarray, y: np.ndarray, rules: LeadRules) -> pd.DataFrame:
    """Held-out leads and conversions per score band (High, Medium, Low)."""
    from leadbook.leads.money import score_bands

    bands = np.array([b.value for b in score_bands(p, rules)])
    cutoffs = {"High": rules.band_high, "Medium": rules.band_medium, "Low": 0.0}
    return pd.DataFrame(
        [
            {
                "band": band,
                "cutoff": cut,
                "held_out": float((bands == band).sum()),
                "converted": float(y[bands == band].sum()),
            }
            for band, cut in cutoffs.items()
        ]
    )


def _reference(x: pd.DataFrame) -> dict[str, Any]:
    ref: dict[str, Any] = {}
    for name in x.columns:
        column = x[name]
        if column.dtype.kind == "f":
            ref[name] = float(column.median()) if column.notna().any() else math.nan
        else:
            mode = column.dropna().mode()
            ref[name] = mode.iloc[0] if len(mode) else np.nan
    return ref


def library_versions() -> dict[str, str]:
    import sklearn

    return {"leadbook": __version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__}


# --- Scoring and top factors --------------------------------------------------------------


def top_factors(model: TrainedModel, frame: pd.DataFrame, k: int = 3) -> list[str]:
    """Each lead's ``k`` strongest factors, as ``"Feature = value (+0.62)"`` in log-odds.

    A factor is the change in the lead's log-odds when the feature is set to the training
    leads' typical value; factors under 0.01 in size are left out.
    """
    x = _typed(frame, model.all_kinds)
    moved = [x]
    for name in x.columns:
        one = x.copy()
        one[name] = model.reference[name]
        moved.append(_typed(one, model.all_kinds))
    # One prediction over every lead and every moved copy of it: a call per feature cost
    # more than the prediction itself.
    with threadpool_limits(1):
        p = model.estimator.predict_proba(pd.concat(moved, ignore_index=True))[:, 1]
    logits = _logit(p).reshape(len(moved), len(x))
    effects = logits[0] - logits[1:]  # feature × lead
    strongest = np.argsort(-np.abs(effects), axis=0, kind="stable")[:k]
    names, cells = list(x.columns), [x[name].tolist() for name in x.columns]
    out = []
    for i in range(len(x)):
        parts = [
            f"{names[j]} = {_show(cells[j][i])} ({effects[j, i]:+.2f})"
            for j in strongest[:, i]
            if abs(effects[j, i]) >= 0.01
        ]
        out.append("; ".join(parts))
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "blank"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --- Training-data fingerprints ---------------------------------------------------------


def row_digests(table: LeadTable, features: Sequence[str] | None = None) -> pd.Series:
    """A 64-bit digest of each closed lead's training inputs, indexed by lead id.

    It covers the source, Created, the outcome and the ``features`` (by default all), so
    editing any of them (or removing the lead) shows.
    """
    fixed = table.fixed[["source", "created", "outcome"]].astype(str)
    chosen = table.features[list(features) if features is not None else table.features.columns]
    frame = pd.concat([fixed, chosen.astype(str)], axis=1)
    frame.columns = [str(c) for c in frame.columns]
    digests = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    return pd.Series(digests, index=table.fixed["lead_id"].to_numpy(), name="digest")


def data_hash(digests: pd.Series) -> str:
    """SHA-256 of the training data's row digests, in lead-id order."""
    ordered = digests.sort_index(kind="stable")
    h = hashlib.sha256()
    h.update("\n".join(map(str, ordered.index)).encode())
    h.update(ordered.to_numpy(dtype=np.uint64).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Staleness:
    """How the closed leads differ from the model's training leads."""

    changed: tuple[str, ...]
    removed: tuple[str, ...]
    new_closed: int
    disjoint: bool = False
    """The table holds none of the training leads (e.g. a file of open leads): nothing to check."""


def staleness(model: TrainedModel, closed: LeadTable) -> Staleness:
    """Training leads since edited or removed, and how many leads closed since training."""
    now = row_digests(closed, [f for f in model.kinds if f in closed.features])
    trained = model.digests
    common = trained.index.intersection(now.index)
    changed = common[trained.loc[common].to_numpy() != now.loc[common].to_numpy()]
    removed = trained.index.difference(now.index)
    return Staleness(
        tuple(map(str, changed)),
        tuple(map(str, removed)),
        len(now.index.difference(trained.index)),
        disjoint=len(common) == 0,
    )
