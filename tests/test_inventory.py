"""The inventory: cell parsing, validation with located errors, portfolio figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbook.contract import HISTORY_TABLE, PRICE_TIERS_TABLE, SOURCES_TABLE
from leadbook.contract.tables import SheetLocator, parse_cell
from leadbook.enums import Party, Status
from leadbook.errors import InputError
from leadbook.portfolio.inventory import (
    StatedTotals,
    build_inventory,
    portfolio_figures,
    seed_sources,
    source_cpa,
    stated_total_findings,
)

LOCATORS = {
    t.name: SheetLocator.from_spec(t) for t in (SOURCES_TABLE, PRICE_TIERS_TABLE, HISTORY_TABLE)
}


def problems_of(raw, **kwargs) -> list[str]:
    with pytest.raises(InputError) as info:
        build_inventory(raw.sources, raw.price_tiers, raw.history, locators=LOCATORS, **kwargs)
    return [str(p) for p in info.value.problems]


class TestSeedFigures:
    """The chapter's own table gives $121.42 and 15.52 %, not the stated $127 and 14.2 %."""

    def test_blended_figures_follow_from_rows(self):
        f = portfolio_figures(seed_sources())
        shares = [0.34, 0.28, 0.16, 0.12, 0.06, 0.04]
        cpl = [156, 134, 98, 67, 89, 45]
        conv = [0.168, 0.141, 0.112, 0.189, 0.153, 0.221]
        assert f.leads == 2400
        weighted = sum(s * c for s, c in zip(shares, cpl, strict=True))
        assert f.blended_cpl == pytest.approx(weighted, rel=1e-12)
        assert f.blended_conversion == pytest.approx(
            sum(s * c for s, c in zip(shares, conv, strict=True)), rel=1e-12
        )
        assert round(f.blended_cpl, 2) == 121.42
        assert round(f.blended_conversion, 4) == 0.1552
        assert f.blended_cpa == pytest.approx(121.42 / 0.15522, rel=1e-4)
        assert f.first_party_share == pytest.approx(0.22)

    def test_stated_totals_are_flagged(self):
        findings = stated_total_findings(
            portfolio_figures(seed_sources()), StatedTotals(2400, 127, 0.142)
        )
        assert [p.where for p in findings] == ["Sources!E6", "Sources!E7"]
        assert all(p.severity == "warning" for p in findings)
        assert (
            "stated blended CPL $127.00 does not follow from the rows, which give $121.42"
            in str(findings[0])
        )

    def test_consistent_totals_pass(self):
        findings = stated_total_findings(
            portfolio_figures(seed_sources()), StatedTotals(2400, 121.42, 0.1552)
        )
        assert findings == []


class TestParseCell:
    @pytest.mark.parametrize(
        ("key", "raw", "message"),
        [
            ("cpl", -3, "CPL must be > 0, got -3"),
            ("cpl", 0, "CPL must be > 0, got 0"),
            ("cpl", "abc", "CPL must be a number, got 'abc'"),
            ("cpl", None, "CPL is empty"),
            ("buyers", 1.5, "Buyers per lead must be a whole number, got 1.5"),
            ("health", 6, "Vendor health must be ≤ 5, got 6"),
            ("status", "live", "Status must be one of: active, testing, paused; got 'live'"),
            ("exclude", "maybe", "Exclude must be yes or no, got 'maybe'"),
            ("leads", True, "Monthly leads must be a number, got True"),
        ],
    )
    def test_bad_cells(self, key, raw, message):
        assert parse_cell(SOURCES_TABLE.column(key), raw) == (None, message)

    @pytest.mark.parametrize(
        ("key", "raw", "value"),
        [
            ("cpl", "$1,234.50", 1234.5),
            ("conversion", "16.8%", 0.168),
            ("status", "Testing", Status.TESTING),
            ("party", "First party", Party.FIRST),
            ("exclude", "yes", True),
            ("channel", None, None),
        ],
    )
    def test_good_cells(self, key, raw, value):
        assert parse_cell(SOURCES_TABLE.column(key), raw) == (value, None)

    def test_months_typed_as_serial_numbers_read_as_months(self, raw_demo):
        """A whole column of serial numbers is a column of integers to pandas, which History
        reads a distinct value at a time: each is read as the number a cell gives (numpy's
        integers fail the month check)."""
        history = raw_demo.history.copy()
        serials = (history["month"] - pd.Timestamp("1899-12-30")).dt.days
        history["month"] = serials.astype("int64")
        inventory, _ = build_inventory(raw_demo.sources, raw_demo.price_tiers, history)
        expected, _ = build_inventory(raw_demo.sources, raw_demo.price_tiers, raw_demo.history)
        pd.testing.assert_series_equal(inventory.history["month"], expected.history["month"])

    def test_excel_serial_month(self):
        value, message = parse_cell(HISTORY_TABLE.column("month"), 46023)
        assert message is None and value == pd.Timestamp("2026-01-01")

    @given(st.floats(min_value=1e-6, max_value=1e6))
    def test_any_positive_cpl_parses_to_itself(self, x):
        assert parse_cell(SOURCES_TABLE.column("cpl"), x) == (x, None)


class TestBuildInventory:
    def test_demo_is_valid(self, raw_demo):
        inventory, warnings = build_inventory(
            raw_demo.sources, raw_demo.price_tiers, raw_demo.history
        )
        assert len(inventory.sources) == 11
        assert all(p.severity == "warning" for p in warnings)

    def test_every_problem_reported_at_once_with_cells(self, raw_demo):
        s = raw_demo.sources.astype(object)
        raw_demo = type(raw_demo)(s, raw_demo.price_tiers, raw_demo.history)
        s.loc[0, "cpl"] = -3  # row 13
        s.loc[1, "leads"] = "lots"  # row 14
        s.loc[2, "source"] = s.loc[0, "source"]
        s.loc[3, "conversion"] = None
        problems = problems_of(raw_demo)
        assert "Sources!J13: CPL must be > 0, got -3" in problems
        assert "Sources!H14: Monthly leads must be a whole number, got 'lots'" in problems
        assert (
            "Sources!A15: source 'Premium comparison sites' appears twice (first at "
            "Sources!A13); names must be unique"
        ) in problems
        assert "Sources!L16: Conversion is empty" in problems

    def test_unknown_history_source_suggests_the_nearest(self, raw_demo):
        raw_demo.history.loc[5, "source"] = "Organic serch"
        (problem,) = problems_of(raw_demo)
        assert problem == (
            'History!B9: History: source "Organic serch" is not in Sources — '
            'did you mean "Organic search"?'
        )

    def test_missing_column_named_at_the_header(self, raw_demo):
        raw = raw_demo.sources.drop(columns=["cpl"])
        with pytest.raises(InputError, match=r"Sources!12:12: table Sources has no column 'CPL'"):
            build_inventory(raw, locators=LOCATORS)

    def test_testing_source_needs_a_phase(self, raw_demo):
        raw_demo.sources.loc[6, "test_phase"] = None
        assert problems_of(raw_demo) == [
            "Sources!R19: a testing source needs its test phase (1 or 2)"
        ]

    def test_pin_above_cap_and_pin_with_exclude(self, raw_demo):
        raw_demo.sources.loc[0, ["pin", "cap", "exclude"]] = [50_000.0, 40_000.0, "yes"]
        problems = problems_of(raw_demo)
        assert "Sources!S13: pinned spend $50,000 is above the spend cap $40,000" in problems
        assert "Sources!U13: a source cannot be both pinned and excluded" in problems

    def test_falling_price_tiers_are_refused(self, raw_demo):
        raw_demo.price_tiers.loc[1, "cpl"] = 150.0
        assert problems_of(raw_demo) == [
            "Sources!AD14: tier CPL of 'Premium comparison sites' must not fall with volume: "
            "$150.00 after $156.00 (volume discounts are not modelled)"
        ]

    def test_tiers_of_sources_typed_in_turn_are_checked_source_by_source(self, raw_demo):
        """A source's tiers need not sit together: each is checked against the one before it
        of the same source, and each source's problems come together, in the order its first
        tier comes (the falling price, then the last tier against the cap)."""
        tiers = raw_demo.price_tiers.iloc[[0, 3, 1, 4, 2]].reset_index(drop=True)
        tiers.loc[2, "cpl"] = 150.0  # Premium's second tier, on row 5 of the table
        tiers.loc[3, "up_to"] = 700  # Insurance's second tier, on row 6, below its first
        raw_demo = type(raw_demo)(raw_demo.sources, tiers, raw_demo.history)
        assert problems_of(raw_demo) == [
            "Sources!AD15: tier CPL of 'Premium comparison sites' must not fall with volume: "
            "$150.00 after $156.00 (volume discounts are not modelled)",
            "Sources!AC16: tiers of 'Insurance aggregators' must rise: 700 follows 750",
        ]

    def test_customers_above_leads_and_duplicate_month(self, raw_demo):
        h = raw_demo.history
        h.loc[0, "customers"] = h.loc[0, "leads"] + 1
        h.loc[1, "month"] = h.loc[0, "month"]
        problems = problems_of(raw_demo)
        assert any(p.startswith("History!E4: customers") for p in problems)
        assert any(
            p.startswith("History!A5: Premium comparison sites has two rows for") for p in problems
        )

    def test_customers_closed_within_30_and_90_days_stay_in_order(self, raw_demo):
        h = raw_demo.history
        h["customers_30d"], h["customers_90d"] = None, None
        h.loc[2, ["customers_30d", "customers_90d"]] = [100, 90]  # 30 days above 90 days
        h.loc[3, "customers_30d"] = h.loc[3, "customers"] + 5  # no 90-day count: vs all
        h.loc[4, ["customers_30d", "customers_90d"]] = [10, 20]  # in order
        problems = [p for p in problems_of(raw_demo) if "exceed" in p]
        assert problems == [
            "History!G6: Customers in 30 days (100) exceed Customers in 90 days (90)",
            f"History!G7: Customers in 30 days ({h.loc[3, 'customers'] + 5:,.0f}) exceed "
            f"Customers ({h.loc[3, 'customers']:,.0f})",
        ]

    def test_blank_rows_are_skipped(self, raw_demo):
        blank = pd.DataFrame([{k: None for k in raw_demo.sources.columns}])
        sources = pd.concat([raw_demo.sources, blank], ignore_index=True)
        inventory, _ = build_inventory(sources, raw_demo.price_tiers, raw_demo.history)
        assert len(inventory.sources) == 11

    def test_spend_inconsistent_with_leads_warns(self, raw_demo):
        raw_demo.sources.loc[0, "spend"] = 200_000.0
        _, warnings = build_inventory(
            raw_demo.sources, raw_demo.price_tiers, raw_demo.history, locators=LOCATORS
        )
        assert (
            "Sources!P13: current spend $200,000 differs from monthly leads × CPL used (its "
            "price tiers) = $127,296" in [str(w) for w in warnings]
        )

    def test_a_pin_on_a_paused_source_is_said_to_be_ignored(self, raw_demo):
        paused = raw_demo.sources.index[raw_demo.sources["status"] == "paused"][0]
        raw_demo.sources.loc[paused, "pin"] = 20_000.0
        _, warnings = build_inventory(
            raw_demo.sources, raw_demo.price_tiers, raw_demo.history, locators=LOCATORS
        )
        said = [str(w) for w in warnings if "paused" in str(w)]
        assert len(said) == 1 and "pinned spend is set but the source is paused" in said[0]
        assert said[0].startswith(f"Sources!S{13 + paused}:")

    def test_spend_of_a_tiered_source_follows_its_tiers_not_its_cpl(self, raw_demo):
        """Premium: 816 leads, tiers at $156 up to 900. A CPL typed as $170 is warned about at
        the CPL; the spend ($127,296 = 816 × $156) is what the tiers say, so no warning."""
        raw_demo.sources.loc[0, "cpl"] = 170.0
        _, warnings = build_inventory(
            raw_demo.sources, raw_demo.price_tiers, raw_demo.history, locators=LOCATORS
        )
        where = [w.where for w in warnings]
        assert "Sources!J13" in where and "Sources!P13" not in where

    def test_a_source_name_with_spaces_around_it_warns(self, raw_demo):
        raw_demo.price_tiers.loc[7, "source"] = "Content downloads "
        _, warnings = build_inventory(
            raw_demo.sources, raw_demo.price_tiers, raw_demo.history, locators=LOCATORS
        )
        assert any(
            "source name 'Content downloads ' has spaces around it; leadbook reads "
            "'Content downloads' but Excel's formulas match names exactly" in str(w)
            for w in warnings
        )


class TestTiers:
    def test_blocks_run_to_the_volume_cap(self, demo_inv):
        assert demo_inv.tiers("Premium comparison sites") == [(900, 156), (100, 168), (100, 182)]

    def test_source_without_tiers_has_one_block(self, demo_inv):
        assert demo_inv.tiers("Mortgage broker referrals") == [(600, 98)]

    def test_tiers_past_the_cap_are_cut(self, raw_demo):
        raw_demo.sources.loc[0, "volume_cap"] = 950
        inventory, _ = build_inventory(raw_demo.sources, raw_demo.price_tiers, raw_demo.history)
        assert inventory.tiers("Premium comparison sites") == [(900, 156), (50, 168)]


@given(
    st.lists(
        st.tuples(st.floats(1, 5_000), st.floats(1, 500), st.floats(0.001, 0.9)),
        min_size=1,
        max_size=12,
    )
)
def test_blended_figures_are_weighted_averages(rows):
    sources = pd.DataFrame(
        [
            {
                "source": f"s{i}",
                "party": Party.THIRD,
                "leads": leads,
                "cpl": cpl,
                "conversion": conv,
                "spend": leads * cpl,
            }
            for i, (leads, cpl, conv) in enumerate(rows)
        ]
    )
    f = portfolio_figures(sources)
    assert (
        min(r[1] for r in rows) * (1 - 1e-12)
        <= f.blended_cpl
        <= max(r[1] for r in rows) * (1 + 1e-12)
    )
    assert math.isclose(f.blended_cpl, f.spend / f.leads, rel_tol=1e-9)
    assert math.isclose(f.blended_cpa, f.spend / f.customers, rel_tol=1e-9)
    assert np.all(source_cpa(sources) >= sources["cpl"])
