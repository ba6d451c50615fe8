"""Shift between the leads a model learned from and the leads it scores (issue 18)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from leadbook.cli import app
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


def _shifted_file(path, seed: int = 18) -> pd.DataFrame:
    """The demo's leads under new ids, from one source, viewing more pages, converting less."""
    rng = np.random.default_rng(seed)
    leads = by_header(demo_leads())
    leads["Lead ID"] = [f"N{i:04d}" for i in range(len(leads))]
    leads["Source"] = "Organic search"
    leads["Pages viewed"] = leads["Pages viewed"] + 8
    closed = leads["Converted"].notna()
    leads.loc[closed, "Converted"] = np.where(rng.random(closed.sum()) < 0.1, "yes", "no")
    leads.loc[closed & (leads["Converted"] == "yes"), "Value"] = 3000.0
    leads.to_csv(path, index=False)
    return leads


class TestScoreLeadsWarns:
    def test_the_demo_leads_show_no_shift(self, book):
        result = score_leads(book)
        assert result.drift is not None and result.drift.warning() is None
        assert result.drift.features == () and result.drift.recent == 0
        assert result.warnings == ()

    def test_shifted_leads_are_warned_of_in_the_report_cli_and_json(self, book, tmp_path):
        _shifted_file(tmp_path / "leads.csv")
        result = score_leads(book, leads_file=tmp_path / "leads.csv")
        drift = result.drift
        assert {n for n, _ in drift.major} >= {"Source", "Pages viewed"}
        # 300 closed leads the model never saw convert 10 %; it predicts about 55 % for them.
        assert drift.recent == 300 and drift.rate_shift
        assert drift.recent_rate < 0.15 < 0.4 < drift.recent_predicted
        warning = drift.warning()
        assert warning in result.warnings
        wb = openpyxl.load_workbook(book)
        assert wb["Leads"]["A21"].value == warning
        log = [str(v) for row in wb["Log"].iter_rows(values_only=True) for v in row]
        assert any("differ from the training leads: Source PSI" in v for v in log)
        out = CliRunner().invoke(
            app, ["score-leads", str(book), "--leads", str(tmp_path / "leads.csv"), "--json"]
        )
        assert out.exit_code == 0, out.output
        payload = json.loads(out.stdout)
        assert payload["drift"]["warning"] == warning and warning in payload["warnings"]
        text = CliRunner().invoke(
            app, ["score-leads", str(book), "--leads", str(tmp_path / "leads.csv")]
        )
        assert "The leads scored differ" in " ".join(text.output.split())

    def test_the_warning_leaves_with_the_shift(self, book, tmp_path):
        _shifted_file(tmp_path / "leads.csv")
        score_leads(book, leads_file=tmp_path / "leads.csv")
        score_leads(book)
        assert openpyxl.load_workbook(book)["Leads"]["A21"].value is None


def test_a_model_saved_before_profiles_loads_and_checks_no_drift(book):
    from leadbook.leads.store import _meta, _model_from

    model = score_leads(book).model
    meta = _meta(model)
    del meta["profile"]  # what a model file written before issue 18 holds
    old = _model_from(meta, model.estimator)
    assert old.profile is None
    assert check_drift(old.profile, by_header(demo_leads())[["Source"]]).warning() is None


def test_a_model_without_a_profile_skips_the_recent_conversion_check_too():
    """docs/qualify.md: a model saved before profiles "is checked for nothing" — not the
    recent leads' conversion either (which once said "it learned nan%")."""
    rng = np.random.default_rng(4)
    y = (rng.random(400) < 0.316).astype(int)  # far above the 15 % predicted
    drift = check_drift(None, _features(rng, 200, 0.0), (np.full(400, 0.15), y))
    assert not drift.rate_shift
    assert drift.warning() is None
