"""What feeds Rebalance besides Settings: the hiring plan's sales capacity and the lead
model's conversion (leadbook/workbook/jobs/feeds.py).

Expected figures are worked out by hand from the demo's inputs: 70 sales reps, 47 leads per
rep, 85 % utilisation, 2 % monthly attrition, 45 days to hire (so no new rep can start before
the plan's third month), History ending Oct 2026 (so the plan's first month is Nov 2026),
operations capacity 3,500 × 85 % = 2,975 leads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from leadbook import contract as C
from leadbook.errors import LeadbookError
from leadbook.workbook.jobs import feeds as R
from leadbook.workbook.jobs.rebalance import rebalance
from leadbook.workbook.jobs.refresh import demo, demo_book
from leadbook.workbook.read import read_book
from tests.conftest import set_setting

PER_REP = 47 * 0.85


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_open_leads(path: Path, source: str, n: int) -> None:
    """Append ``n`` copies of ``source``'s first open lead (new ids) to the Leads table."""
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    wb = openpyxl.load_workbook(path)
    ws = wb[C.LEADS.name]
    table = ws.tables[C.LEADS_TABLE.name]
    first, top, last, bottom = range_boundaries(table.ref)
    headers = [c.value for c in ws[top][first - 1 : last]]
    rows = [[c.value for c in r][first - 1 : last] for r in ws.iter_rows(top + 1, bottom)]
    model = next(
        r
        for r in rows
        if r[headers.index("Source")] == source and r[headers.index("Converted")] is None
    )
    for k in range(n):
        values = list(model)
        values[headers.index("Lead ID")] = f"ADDED-{k}"
        for j, v in enumerate(values):
            ws.cell(bottom + 1 + k, first + j, v)
    table.ref = f"{get_column_letter(first)}{top}:{get_column_letter(last)}{bottom + n}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref
    wb.save(path)


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory) -> Path:
    """The demo workbook, built once for this module (copy it before changing it)."""
    path, _ = demo(tmp_path_factory.mktemp("demo") / "demo.xlsx")
    return path


@pytest.fixture
def demo_copy(built_demo: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(built_demo, tmp_path / "book.xlsx"))


def with_settings(values: dict) -> object:
    book = demo_book()
    return dataclasses.replace(book, settings=book.settings.replace(values))


class TestBookSalesCapacity:
    def test_fewer_productive_reps_in_the_plan_bind_the_allocation(self):
        # 80 reps losing 10 % a month, nobody hired in time: 72 productive reps in month 1.
        book = with_settings(
            {
                "capacity.sales_reps": 80,
                "hiring.attrition": 0.10,
                "capacity.sales_capacity_source": "hiring plan",
            }
        )
        planned = 80 * (1 - 0.10) * PER_REP
        allocation, feeds = R.book_allocation(book)
        assert feeds.sales_capacity.leads == pytest.approx(planned)
        assert feeds.sales_capacity.origin == "the hiring plan"
        assert feeds.sales_capacity.basis == "72.0 productive reps in Nov 2026 × 47 leads × 85%"
        assert allocation.totals.leads <= planned * (1 + 1e-9)
        assert allocation.totals.leads == pytest.approx(planned)  # it binds
        sales = [b for b in allocation.binding if b.startswith("Sales capacity binds")]
        assert sales and "2,876 leads a month" in sales[0] and "from the hiring plan" in sales[0]

    def test_settings_keep_the_old_figure(self):
        book = with_settings(
            {
                "capacity.sales_reps": 80,
                "hiring.attrition": 0.10,
                "capacity.sales_capacity_source": "settings",
            }
        )
        allocation, feeds = R.book_allocation(book)
        assert feeds.sales_capacity.leads == pytest.approx(80 * PER_REP)
        assert feeds.sales_capacity.origin == "Settings"
        # 3,196 leads of sales capacity do not bind; operations (2,975) do.
        assert allocation.totals.leads == pytest.approx(3_500 * 0.85)
        assert not any(b.startswith("Sales capacity binds") for b in allocation.binding)

    def test_the_demo_takes_its_capacity_from_the_hiring_plan(self):
        book = demo_book()
        assert book.settings.capacity.sales_capacity_source == "hiring plan"
        capacity = R.book_sales_capacity(book)
        assert capacity.leads == pytest.approx(70 * 0.98 * PER_REP)
        assert capacity.text == (
            "2,741 leads/month from the hiring plan "
            "(68.6 productive reps in Nov 2026 × 47 leads × 85%)"
        )

    def test_no_history_no_plan(self):
        book = with_settings({"capacity.sales_capacity_source": "hiring plan"})
        empty = dataclasses.replace(book.inventory, history=book.inventory.history.iloc[:0])
        with pytest.raises(
            LeadbookError,
            match=r"capacity.sales_capacity_source \(SalesCapacitySource\) is 'hiring plan', "
            r"but the hiring plan cannot be made: .*History is empty.* set it to 'settings'",
        ):
            R.book_sales_capacity(dataclasses.replace(book, inventory=empty))


class TestBookConversion:
    def scored(self, source: str, p: float) -> pd.DataFrame:
        return pd.DataFrame({"source": [source] * 40, "probability": [p] * 40})

    @pytest.mark.parametrize(
        ("p", "expected"),
        # Content downloads: $12,816 today, 15.3 % history. Worth more, it rises by the
        # +20 % guardrail; worth less, it falls by the −15 % weekly decrease.
        [(0.30, 12_816 * 1.20), (0.05, 12_816 * 0.85)],
    )
    def test_model_conversion_moves_the_source(self, monkeypatch, p, expected):
        source = "Content downloads"
        before, _ = R.book_allocation(demo_book())
        monkeypatch.setattr(R, "_scored_open_leads", lambda book: self.scored(source, p))
        after, feeds = R.book_allocation(with_settings({"leads.conversion_source": "model"}))
        assert after.table.at[source, "conversion"] == pytest.approx(p)
        assert after.table.at[source, "recommended"] == pytest.approx(expected)
        rose = after.table.at[source, "recommended"] > before.table.at[source, "recommended"]
        assert bool(rose) == (p > 0.153)
        assert feeds.conversion.at[source, "origin"] == "model (40 open leads)"
        other = feeds.conversion.drop(source)
        assert (other["origin"] == "history: no scored leads").all()

    def test_history_is_the_sources_tab(self):
        book = demo_book()
        inventory, conversion = R.book_conversion(book)
        assert inventory is book.inventory
        assert (conversion["origin"] == "history").all()
        assert conversion.at["Organic search", "conversion"] == pytest.approx(0.189)

    def test_no_model_recorded_is_an_error_and_the_file_is_untouched(self, demo_copy):
        set_setting(demo_copy, "leads.conversion_source", "model")
        before = digest(demo_copy)
        files = set(demo_copy.parent.iterdir())
        with pytest.raises(
            LeadbookError,
            match=r"leads.conversion_source \(LeadConversionSource\) is 'model', but book.xlsx "
            r"records no lead model; run Score leads \(leadbook score-leads BOOK\)",
        ):
            rebalance(demo_copy)
        assert digest(demo_copy) == before
        assert set(demo_copy.parent.iterdir()) == files

    def test_the_recorded_model_feeds_the_rebalance(self, demo_copy):
        from leadbook.workbook.jobs.leads import score_leads

        # The demo has 17 open Insurance aggregators leads; 15 more make it 32, enough (30)
        # for the model's mean to replace its history.
        add_open_leads(demo_copy, "Insurance aggregators", 15)
        scored = score_leads(demo_copy)  # trains and records the first model
        set_setting(demo_copy, "leads.conversion_source", "model")
        _, allocation = rebalance(demo_copy)
        # A second method: the probabilities Score leads wrote, averaged per source.
        wb = openpyxl.load_workbook(demo_copy, data_only=True)
        ws = wb[C.LEADS.name]
        ref = ws.tables[C.LEADS_TABLE.name].ref
        rows = [[c.value for c in row] for row in ws[ref]]
        leads = pd.DataFrame(rows[1:], columns=rows[0])
        open_leads = leads[leads["Probability"].notna()]
        counts = open_leads.groupby("Source")["Probability"].agg(["mean", "size"])
        enough = counts[counts["size"] >= 30]
        assert len(enough) >= 1
        for source, row in enough.iterrows():
            assert allocation.table.at[source, "conversion"] == pytest.approx(row["mean"])
        assert scored.trained
        tab = wb[C.ALLOCATION.name]
        ref = tab.tables[C.ALLOCATION_TABLE.name].ref
        cells = [[c.value for c in row] for row in tab[ref]]
        table = pd.DataFrame(cells[1:], columns=cells[0]).set_index("Source")
        for source in table.index:
            want = (
                f"model ({int(counts.at[source, 'size'])} open leads)"
                if source in enough.index
                else "history"
            )
            assert table.at[source, "Conversion from"].startswith(want)
        assert "lead model's prediction for" in tab["A15"].value


class TestAllocationTab:
    def test_the_demo_states_capacity_and_conversion(self, built_demo):
        ws = openpyxl.load_workbook(built_demo)[C.ALLOCATION.name]
        assert ws["A13"].value == (
            "Sales capacity: 2,741 leads/month from the hiring plan "
            "(68.6 productive reps in Nov 2026 × 47 leads × 85%)."
        )
        assert ws["A15"].value == "Conversion: each source's history (Sources tab)."

    def test_rebalance_and_the_built_tab_agree(self, demo_copy):
        built = openpyxl.load_workbook(demo_copy)[C.ALLOCATION.name]
        _, allocation = rebalance(demo_copy)
        after = openpyxl.load_workbook(demo_copy)[C.ALLOCATION.name]
        assert after["A13"].value == built["A13"].value
        ref = after.tables[C.ALLOCATION_TABLE.name].ref
        assert [[c.value for c in r] for r in after[ref]] == [
            [c.value for c in r] for r in built[ref]
        ]
        assert allocation.totals.leads == pytest.approx(70 * 0.98 * PER_REP)

    def test_settings_source_after_a_user_edit(self, demo_copy):
        set_setting(demo_copy, "capacity.sales_capacity_source", "settings")
        assert read_book(demo_copy).settings.capacity.sales_capacity_source == "settings"
        _, allocation = rebalance(demo_copy)
        ws = openpyxl.load_workbook(demo_copy)[C.ALLOCATION.name]
        assert ws["A13"].value == (
            "Sales capacity: 2,796 leads/month from Settings (70 reps × 47 leads × 85%)."
        )
        assert allocation.totals.leads == pytest.approx(70 * PER_REP)
