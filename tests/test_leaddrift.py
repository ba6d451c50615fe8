"""Shift between the leads a model learned from and the leads it scores (issue 18)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadbook.demo import demo_leads
from leadbook.leads.drift import MAJOR, check_drift, psi, training_profile
from leadbook.leads.store import model_dir
from leadbook.leads.table import by_header
from leadbook.workbook.jobs.leads import score_leads
from leadbook.workbook.jobs.refresh import demo


@pytest.fixture(scope="module")
def scored_once(tmp_path_factory) -> Path:
    path, _ = demo(tmp_path_factory.mktemp("scored") / "book.xlsx")
    score_leads(path)
    return path


@pytest.fixture
def book(scored_once, tmp_path) -> Path:
    """A fresh copy of a scored demo workbook and its model folder."""
    target = tmp_path / "book.xlsx"
    shutil.copy2(scored_once, target)
    shutil.copytree(model_dir(scored_once), model_dir(target))
    return target


def _features(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Source": rng.choice(["a", "b", "c"], n, p=[0.6 - shift, 0.3, 0.1 + shift]),
            "Pages viewed": rng.normal(5 + 4 * shift, 2, n),
        }
    ).astype({"Source": object})


class TestDriftMeasure:
    def test_the_same_population_is_not_a_shift(self):
        rng = np.random.default_rng(1)
        profile = training_profile(_features(rng, 2_000, 0.0), rng.integers(0, 2, 2_000))
        drift = check_drift(profile, _features(rng, 300, 0.0))
        assert drift.features == () and drift.warning() is None

    def test_a_strong_shift_is_named_largest_first(self):
        rng = np.random.default_rng(2)
        profile = training_profile(_features(rng, 2_000, 0.0), rng.integers(0, 2, 2_000))
        drift = check_drift(profile, _features(rng, 500, 0.5))
        names = [n for n, _ in drift.features]
        assert set(names) == {"Source", "Pages viewed"}
        assert all(v >= MAJOR for _, v in drift.features)
        assert [v for _, v in drift.features] == sorted(
            (v for _, v in drift.features), reverse=True
        )
        warning = drift.warning()
        assert warning.startswith("The leads scored differ from those the model learned from: ")
        assert f"{names[0]} (PSI " in warning and "retrain or treat the probabilities" in warning

    def test_a_few_leads_are_not_called_a_shift_on_noise_alone(self):
        rng = np.random.default_rng(3)
        profile = training_profile(_features(rng, 2_000, 0.0), rng.integers(0, 2, 2_000))
        # 12 leads over 10 bins give a PSI over 0.25 by chance; it is not evidence of a shift.
        drift = check_drift(profile, _features(rng, 12, 0.0))
        assert drift.warning() is None

    def test_recent_closed_leads_converting_far_above_the_predictions(self):
        rng = np.random.default_rng(4)
        x = _features(rng, 1_000, 0.0)
        profile = training_profile(x, (rng.random(1_000) < 0.067).astype(int))
        y = (rng.random(400) < 0.316).astype(int)
        drift = check_drift(profile, x.iloc[:200], (np.full(400, 0.15), y))
        assert drift.features == () and drift.rate_shift
        assert "too low" in drift.warning() and "it learned 5.9%" in drift.warning()

    def test_psi_of_identical_shares_is_zero(self):
        assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0


def test_a_model_saved_before_profiles_loads_and_checks_no_drift(book):
    from leadbook.leads.store import _meta, _model_from

    model = score_leads(book).model
    meta = _meta(model)
    del meta["profile"]  # what a model file written before issue 18 holds
    old = _model_from(meta, model.estimator)
    assert old.profile is None
    assert check_drift(old.profile, by_header(demo_leads())[["Source"]]).warning() is None
