"""Settings: seed defaults, keys, parsing from the Settings tab, round trips."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbook.enums import BudgetMode, Objective
from leadbook.errors import InputError
from leadbook.settings import (
    SETTING_SPECS,
    Band,
    Settings,
    setting_rows,
    settings_from_rows,
    spec_for,
)


class TestDefaults:
    def test_seed_bands(self):
        b = Settings().bands
        assert (b.tier1.min, b.tier1.max, b.tier2.min, b.tier2.max, b.tier3.min, b.tier3.max) == (
            0.60,
            0.70,
            0.20,
            0.25,
            0.10,
            0.15,
        )
        assert (b.premium.min, b.premium.max, b.standard.min, b.standard.max) == (
            0.40,
            0.50,
            0.35,
            0.40,
        )
        assert (b.value.min, b.value.max) == (0.10, 0.15)
        assert (b.low_risk.min, b.low_risk.max, b.medium_risk.min, b.medium_risk.max) == (
            0.50,
            0.60,
            0.25,
            0.35,
        )
        assert (b.high_risk.min, b.high_risk.max) == (0.10, 0.15)

    def test_seed_policy_and_capacity(self):
        s = Settings()
        p, c = s.policy, s.capacity
        assert (p.max_source_share, p.experimental_floor) == (0.40, 0.10)
        assert (p.weekly_increase, p.weekly_decrease, p.weekly_guardrail) == (0.25, 0.15, 0.20)
        assert p.min_active_sources == 5
        assert (p.test_phase1.min, p.test_phase1.max) == (5_000, 10_000)
        assert (p.test_phase2.min, p.test_phase2.max) == (15_000, 25_000)
        assert (c.leads_per_rep, c.utilisation, c.peak_leads_per_rep, c.ramp_days) == (
            47,
            0.85,
            55,
            90,
        )
        assert (c.ops_leads, c.support_customers) == (3_500, 180)

    def test_seed_weights(self):
        s = Settings()
        assert dataclasses.astuple(s.score_weights) == (0.40, 0.25, 0.20, 0.15)
        assert dataclasses.astuple(s.objective_weights) == (0.35, 0.25, 0.20, 0.20)

    def test_every_setting_has_a_unique_defined_name(self):
        names = [s.name for s in SETTING_SPECS]
        assert len(names) == len(set(names))
        assert all(n.isidentifier() and n[0].isupper() for n in names)


class TestSpecFor:
    def test_unknown_key_suggests_the_nearest(self):
        with pytest.raises(KeyError, match=r"did you mean 'policy\.max_source_share'"):
            spec_for("policy.max_source_shar")

    def test_band_parts_are_keys(self):
        assert spec_for("bands.tier1.min").name == "BandTier1Min"


class TestSettingsFromRows:
    def rows(self, **changes):
        values = {spec.key: value for spec, value in setting_rows(Settings())}
        values.update(changes)
        return [(k, v, f"Settings!C{i + 4}") for i, (k, v) in enumerate(values.items())]

    def test_round_trip_of_defaults(self):
        settings, problems = settings_from_rows(self.rows())
        assert settings == Settings()
        assert problems == []

    def test_percent_text_and_choice_text(self):
        rows = self.rows(
            **{
                "policy.max_source_share": "35%",
                "policy.objective": "Margin",
                "policy.budget_mode": "exact",
            }
        )
        settings, problems = settings_from_rows(rows)
        assert [p.severity for p in problems] == ["warning"]
        assert "MaxSourceShare do not — type it as a number" in problems[0].message
        assert settings.policy.max_source_share == pytest.approx(0.35)
        assert settings.policy.objective is Objective.MARGIN
        assert settings.policy.budget_mode is BudgetMode.EXACT

    def test_bad_values_are_located(self):
        rows = self.rows(
            **{
                "policy.max_source_share": "lots",
                "policy.min_active_sources": 2.5,
                "bands.tier1.min": 1.2,
            }
        )
        _, problems = settings_from_rows(rows)
        text = "\n".join(map(str, problems))
        assert "policy.max_source_share: must be a number, got 'lots'" in text
        assert "policy.min_active_sources: must be a whole number, got 2.5" in text
        assert "Settings!C19: bands.tier1.min: must be ≤ 100.0%, got 120.0%" in text
        assert all(p.where.startswith("Settings!C") for p in problems)

    def test_inverted_band_is_an_error(self):
        _, problems = settings_from_rows(self.rows(**{"bands.tier2.min": 0.3}))
        assert [str(p) for p in problems] == [
            "Settings!C21: BandTier2Min: the minimum 30.0% is above the maximum 25.0% "
            "(BandTier2Max)"
        ]

    def test_a_setting_twice_is_an_error_at_both_cells(self):
        rows = [*self.rows(), ("MaxSourceShare", 0.1, "Settings!C99")]
        _, problems = settings_from_rows(rows)
        (twice,) = [p for p in problems if "twice" in p.message]
        assert str(twice).startswith(
            "Settings!C99: MaxSourceShare: the setting appears twice (also at Settings!C"
        )

    def test_names_ignore_case_as_excel_does(self):
        settings, problems = settings_from_rows([("maxsourceshare", 0.3, "Settings!C5")])
        assert settings.policy.max_source_share == 0.3
        assert [p for p in problems if p.severity == "error"] == []

    def test_weights_must_add_to_one(self):
        _, problems = settings_from_rows(self.rows(**{"score_weights.risk": 0.2}))
        assert problems[0].where == "Settings!C46"  # the first weight's cell, not the tab
        assert problems[0].message == (
            "the score weights (WeightPerformance, WeightReliability, WeightStrategic, "
            "WeightRisk, at Settings!C46, Settings!C47, Settings!C48, Settings!C49) must add "
            "up to 100 %, got 105.0%"
        )

    def test_missing_key_warns_and_keeps_default(self):
        rows = [r for r in self.rows() if r[0] != "capacity.ops_leads"]
        settings, problems = settings_from_rows(rows)
        assert settings.capacity.ops_leads == 3_500
        assert [p.severity for p in problems] == ["warning"]
        assert "OpsCapacity (Operations capacity) is missing" in problems[0].message

    def test_blank_budget_means_not_set(self):
        settings, problems = settings_from_rows(self.rows(**{"policy.budget": None}))
        assert settings.policy.budget is None and problems == []

    def test_blank_other_value_is_an_error(self):
        _, problems = settings_from_rows(self.rows(**{"policy.max_source_share": " "}))
        assert problems[0].message == "policy.max_source_share: is empty"


class TestReplace:
    def test_replace_raises_with_every_problem(self):
        with pytest.raises(InputError, match="2 input problems"):
            Settings().replace({"policy.max_source_share": -1, "policy.nope": 1})


@given(low=st.floats(0, 1), width=st.floats(0, 1))
def test_band_accepts_ordered_ends_only(low, width):
    high = min(1.0, low + width)
    band = Band(low, high)
    assert band.contains(low) and band.contains(high)
    if low < high:
        with pytest.raises(ValueError, match="is above its maximum"):
            Band(high, low)


@given(share=st.floats(0, 1), budget=st.one_of(st.none(), st.floats(0, 1e9)))
def test_replace_round_trips_through_rows(share, budget):
    settings = Settings().replace({"policy.max_source_share": share, "policy.budget": budget})
    rows = [(spec.key, value, "Settings!C1") for spec, value in setting_rows(settings)]
    assert settings_from_rows(rows)[0] == settings


def test_the_full_choice_goes_to_at_least_one_source():
    # 0 would forecast every source by the quick path and call the largest "one of the
    # smaller sources"; the setting is refused below 1, named.
    with pytest.raises(InputError, match=r"full_choice_sources: must be ≥ 1, got 0"):
        Settings().replace({"forecast.full_choice_sources": 0})
    assert Settings().replace({"forecast.full_choice_sources": 1}).forecast.full_choice_sources == 1
