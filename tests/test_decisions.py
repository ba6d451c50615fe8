"""The decision record (issue 17): Recommendations appended by Rebalance, Accept plan writing
Sources' Current spend and undone byte for byte, and PlanVsActual's customer bridge."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries

from leadbook import contract as C
from leadbook.allocation.variance import customer_bridge, plan_vs_actual
from leadbook.board.quarters import Quarter
from leadbook.errors import InputError
from leadbook.workbook.jobs.decisions import AcceptRefusedError, accept
from leadbook.workbook.jobs.rebalance import rebalance
from leadbook.workbook.jobs.refresh import refresh
from leadbook.workbook.pack.decisions import PLAN_GRID, STEPS, _plan_page
from leadbook.workbook.pack.page import Page
from leadbook.workbook.read import open_inputs
from leadbook.workbook.tabs.decisions import log_problems, read_log
from leadbook.workbook.undo import undo


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _log(path: Path) -> pd.DataFrame:
    return read_log(open_inputs(path)[C.DECISIONS.name])


def _copy(src: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for item in src.parent.iterdir():
        if item.is_dir() and not item.name.endswith(".leadbook-versions"):
            shutil.copytree(item, folder / item.name, dirs_exist_ok=True)
    shutil.copy2(src, folder / name)
    return folder / name


def _table_rows(path: Path, spec: C.TableSpec) -> list[dict]:
    wb = openpyxl.load_workbook(path, data_only=True)
    for ws in wb.worksheets:
        if spec.name in ws.tables:
            c0, r0, c1, r1 = range_boundaries(ws.tables[spec.name].ref)
            rows = list(ws.iter_rows(r0, r1, c0, c1, values_only=True))
            return [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if any(r)]
    raise AssertionError(f"no table {spec.name}")


# --- the bridge -------------------------------------------------------------------------


def test_bridge_by_hand() -> None:
    # plan: $10,000 at $100 a lead (100 leads) converting 10 % = 10 customers
    # actual: $15,000 at $125 a lead (120 leads) converting 12.5 % = 15 customers
    # volume: +$5,000 at plan rates = 50 leads × 10 % = +5
    # price: $15,000 buys 120 leads, not 150: −30 leads × 10 % = −3
    # conversion: 120 leads × +2.5 points = +3
    b = customer_bridge((10_000, 100, 10), (15_000, 120, 15))
    assert (b.volume, b.price, b.conversion, b.other) == pytest.approx((5, -3, 3, 0), abs=1e-12)
    assert b.variance == 5


def test_bridge_new_and_stopped_sources_keep_the_remainder() -> None:
    new = customer_bridge((0, 0, 0), (4_000, 50, 6))
    assert (new.volume, new.price, new.conversion, new.other) == (0, 0, 0, 6)
    stopped = customer_bridge((4_000, 50, 5), (0, 0, 1))  # one late customer of old leads
    assert stopped.volume == pytest.approx(-5)  # all the planned customers, lost to volume
    assert stopped.other == pytest.approx(1)
    assert sum(stopped.parts) == pytest.approx(stopped.variance)


def test_a_source_with_no_leads_or_stopped_leaves_nothing_to_new_or_stopped() -> None:
    """Spent with no leads, or stopped: volume and price explain the whole variance. The
    remainder used to be a rounding residual (−3.6e-15), which the Total row showed as −0.00."""
    no_leads = customer_bridge((1_000, 13, 1.3), (20_000, 0, 0))
    assert no_leads.other == 0 and no_leads.conversion == 0
    assert no_leads.volume == pytest.approx(24.7) and no_leads.price == pytest.approx(-26)
    assert math.fsum(no_leads.parts) == pytest.approx(no_leads.variance, abs=1e-12)
    stopped = customer_bridge((1_000, 91, 3.1), (0, 0, 0))
    assert (stopped.volume, stopped.price, stopped.other) == (-3.1, 0, 0)
    plans = pd.DataFrame(
        {
            "rec_id": ["R0001", "R0001"],
            "plan_from": pd.to_datetime(["2026-11-01"] * 2),
            "source": ["A", "B"],
            "spend": [1_000.0, 1_000.0],
            "leads": [13.0, 91.0],
            "customers": [1.3, 3.1],
        }
    )
    history = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-11-01"]),
            "source": ["A"],
            "spend": [20_000.0],
            "leads": [0.0],
            "customers": [0.0],
        }
    )
    total = plan_vs_actual(plans, history).set_index("source").loc["Total"]
    assert total["other"] == 0 and math.copysign(1, total["other"]) == 1  # not −0.0


_amount = st.one_of(st.just(0.0), st.floats(1, 1e6, allow_nan=False))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.tuples(_amount, _amount, _amount), st.tuples(_amount, _amount, _amount))
def test_bridge_parts_sum_to_the_variance(plan, actual) -> None:
    b = customer_bridge(plan, actual)
    assert b.variance == actual[2] - plan[2]
    scale = max(1.0, *plan, *actual)
    assert abs(math.fsum(b.parts) - b.variance) <= 1e-9 * scale
    if all(v > 0 for v in (*plan, *actual)):
        assert b.other == 0
        assert b.conversion == pytest.approx(
            actual[1] * (actual[2] / actual[1] - plan[2] / plan[1]), rel=1e-6, abs=1e-6 * scale
        )


def _plans() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rec_id": ["R0001", "R0001", "R0002"],
            "plan_from": pd.to_datetime(["2026-11-01", "2026-11-01", "2027-01-01"]),
            "source": ["A", "B", "A"],
            "spend": [10_000.0, 5_000.0, 20_000.0],
            "leads": [100.0, 50.0, 200.0],
            "customers": [10.0, 5.0, 20.0],
        }
    )


def _history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": pd.to_datetime(
                ["2026-10-01", "2026-11-01", "2026-11-01", "2026-12-01", "2027-01-01"]
            ),
            "source": ["A", "A", "C", "A", "A"],
            "spend": [9_000.0, 12_000.0, 1_000.0, 10_000.0, 18_000.0],
            "leads": [90.0, 100.0, 10.0, 100.0, 200.0],
            "customers": [9.0, 12.0, 2.0, 11.0, 19.0],
        }
    )


def test_plan_vs_actual_months_sources_and_totals() -> None:
    t = plan_vs_actual(_plans(), _history())
    assert sorted({f"{m:%Y-%m}" for m in t["month"]}) == ["2026-11", "2026-12", "2027-01"]
    nov = t[t["month"] == pd.Timestamp("2026-11-01")].set_index("source")
    assert list(nov.index) == ["A", "B", "C", "Total"]  # B planned but not bought, C new
    assert nov.loc["B", "volume"] == pytest.approx(-5) and nov.loc["B", "other"] == 0
    assert nov.loc["C", "other"] == pytest.approx(2)
    assert nov.loc["Total", "variance"] == pytest.approx((12 + 2) - (10 + 5))
    jan = t[t["month"] == pd.Timestamp("2027-01-01")]
    assert set(jan["rec_id"]) == {"R0002"}  # the later plan takes over from its month
    parts = t[["volume", "price", "conversion", "other"]].sum(axis=1)
    assert (parts - t["variance"]).abs().max() < 1e-9


def test_pack_page_bridges_planned_to_actual_customers(tmp_path: Path) -> None:
    pva = plan_vs_actual(_plans(), _history())
    wb = openpyxl.Workbook()
    page = Page(wb, "Plan vs actual", "Plan against actual", "Q4 2026", PLAN_GRID, paper="a4")
    _plan_page(page, pva, Quarter(2026, 4))  # Nov and Dec 2026; Dec is shown in full
    wb.save(tmp_path / "page.xlsx")
    cells = [[c.value for c in row] for row in page.ws.iter_rows()]
    assert any("December 2026 against plan R0001" in str(r[1]) for r in cells)
    totals = [r for r in cells if r[1] in ("Total", "Nov 2026", "Dec 2026")]
    assert totals[0][6:8] == [15.0, 11.0]  # December: A and B planned, only A bought
    assert [r[1] for r in totals[1:]] == ["Nov 2026", "Dec 2026"]  # the quarter's months
    assert totals[1][6:8] == [15.0, 14.0]  # November: A and B planned, A and new C bought
    (chart,) = page.ws._charts
    assert chart.grouping == "stacked" and len(chart.series) == 4  # base, up, down, total
    bars = [r for r in cells if r[16] in {s for s, _ in STEPS}]
    assert [b[16] for b in bars] == [s for s, _ in STEPS]
    # columns past the grid: step, base (invisible), increase, decrease, total
    level = bars[0][20]
    assert level == 15.0
    for b in bars[1:-1]:
        assert b[17] == pytest.approx(min(level, level + b[18] - b[19]))  # floats from level
        level += b[18] - b[19]
    assert level == pytest.approx(bars[-1][20]) == pytest.approx(11.0)


# --- the workbook -----------------------------------------------------------------------


def test_demo_records_its_rebalance_as_r0001(built_demo: Path) -> None:
    log = _log(built_demo)
    allocation = {r["Source"]: r for r in _table_rows(built_demo, C.ALLOCATION_TABLE)}
    assert set(log["rec_id"]) == {"R0001"} and set(log["event"]) == {C.RECOMMENDED}
    assert set(log["source"]) == set(allocation)
    for row in log.itertuples():
        assert row.spend == pytest.approx(allocation[row.source]["Recommended"])
    assert {f"{m:%Y-%m}" for m in log["plan_from"]} == {"2026-11"}  # History ends Oct 2026


@pytest.fixture(scope="module")
def accepted(built_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo accepted, then undone: the hashes and the accepted file's copy."""
    folder = tmp_path_factory.mktemp("accept")
    path = _copy(built_demo, folder / "book", "demo.xlsx")
    before = _sha(path)
    sources_before = _table_rows(path, C.SOURCES_TABLE)
    result, acceptance = accept(path)
    after_accept = _copy(path, folder / "accepted", "accepted.xlsx")
    undo(path)
    return {
        "path": path,
        "before": before,
        "after_undo": _sha(path),
        "accepted": after_accept,
        "result": result,
        "acceptance": acceptance,
        "sources_before": sources_before,
    }


def test_accept_then_undo_is_byte_identical(accepted: dict) -> None:
    assert accepted["after_undo"] == accepted["before"]
    assert _sha(accepted["accepted"]) != accepted["before"]


def test_accept_writes_only_current_spend(accepted: dict) -> None:
    plan = _log(accepted["accepted"])
    rec = plan[plan["event"] == C.RECOMMENDED].set_index("source")
    before = {r["Source"]: r for r in accepted["sources_before"]}
    after = {r["Source"]: r for r in _table_rows(accepted["accepted"], C.SOURCES_TABLE)}
    inputs = [c.header for c in C.SOURCES_TABLE.by_role(C.Role.INPUT)]
    for source, row in after.items():
        assert row["Current spend"] == pytest.approx(round(rec.loc[source, "spend"], 2))
        for header in inputs:
            if header != "Current spend":
                assert row[header] == before[source][header], (source, header)
    log = _table_rows(accepted["accepted"], C.LOG_TABLE)
    assert log[-1]["Command"] == "accept" and "R0001" in log[-1]["What changed"]


def test_accept_appends_accepted_rows_and_keeps_the_recommendation(
    accepted: dict, built_demo: Path
) -> None:
    old, new = _log(built_demo), _log(accepted["accepted"])
    pd.testing.assert_frame_equal(
        new.iloc[: len(old)].reset_index(drop=True), old, check_dtype=False
    )
    rows = new.iloc[len(old) :]
    assert set(rows["event"]) == {C.ACCEPTED} and set(rows["rec_id"]) == {"R0001"}
    assert list(rows["source"]) == list(old["source"])
    demo_spend = {r["Source"]: r["Current spend"] for r in accepted["sources_before"]}
    assert [demo_spend[s] for s in rows["source"]] == pytest.approx(list(rows["before"]))


def test_accept_refuses_twice_and_leaves_the_file(accepted: dict, tmp_path: Path) -> None:
    path = _copy(accepted["accepted"], tmp_path, "again.xlsx")
    before = _sha(path)
    with pytest.raises(AcceptRefusedError, match="R0001 was accepted already"):
        accept(path)
    assert _sha(path) == before


def test_accept_refuses_without_a_recommendation(template_path: Path) -> None:
    before = _sha(template_path)
    with pytest.raises(AcceptRefusedError, match="no recommendation"):
        accept(template_path)
    assert _sha(template_path) == before


def _edit(path: Path, sheet: str, header: str, value: object, table: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    c0, r0, c1, _ = range_boundaries(ws.tables[table].ref)
    col = next(c for c in range(c0, c1 + 1) if ws.cell(r0, c).value == header)
    ws.cell(r0 + 1, col).value = value
    wb.save(path)


@pytest.mark.parametrize(
    ("sheet", "table", "header", "value", "message"),
    [
        ("Sources", "Sources", "CPL", 150.0, "stale: Sources changed"),
        ("Allocation", "Allocation", "Recommended", 1.0, "no longer shows it"),
    ],
)
def test_accept_refuses_a_stale_or_changed_plan(
    built_demo: Path,
    tmp_path: Path,
    sheet: str,
    table: str,
    header: str,
    value: object,
    message: str,
) -> None:
    path = _copy(built_demo, tmp_path, "demo.xlsx")
    _edit(path, sheet, header, value, table)
    before = _sha(path)
    with pytest.raises(AcceptRefusedError, match=message):
        accept(path)
    assert _sha(path) == before


def _append_month(path: Path, month: dt.datetime, log: pd.DataFrame) -> None:
    """History rows for ``month``: each accepted source bought 5 % more at a dearer CPL."""
    wb = openpyxl.load_workbook(path)
    ws = wb[C.HISTORY.name]
    table = ws.tables[C.HISTORY_TABLE.name]
    c0, r0, c1, r1 = range_boundaries(table.ref)
    r = r1
    for row in log[log["event"] == C.ACCEPTED].itertuples():
        if row.spend <= 0:
            continue
        r += 1
        values = (
            month,
            row.source,
            row.spend * 1.05,
            round(row.leads * 0.97),
            round(row.customers * 1.02),
            row.customers * 900,
        )
        for j, v in enumerate(values):
            ws.cell(r, c0 + j, v)
    table.ref = f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{r}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref
    wb.save(path)


def test_refresh_fills_plan_vs_actual_and_rebalance_appends(accepted: dict, tmp_path: Path) -> None:
    path = _copy(accepted["accepted"], tmp_path, "next.xlsx")
    log = _log(path)
    _append_month(path, dt.datetime(2026, 11, 1), log)
    refresh(path)
    rows = _table_rows(path, C.PLAN_VS_ACTUAL_TABLE)
    assert rows and {r["Month"] for r in rows} == {dt.datetime(2026, 11, 1)}
    assert {r["Plan"] for r in rows} == {"R0001"}
    effects = ("Volume effect", "Price (CPL) effect", "Conversion effect", "New or stopped")
    for r in rows:
        assert abs(math.fsum(r[e] for e in effects) - r["Customer variance"]) < 1e-9
        assert r["Customer variance"] == pytest.approx(
            r["Actual customers"] - r["Planned customers"]
        )
    total = next(r for r in rows if r["Source"] == "Total")
    bought = [r for r in rows if r["Source"] != "Total"]
    assert total["Actual customers"] == pytest.approx(sum(r["Actual customers"] for r in bought))
    assert total["Volume effect"] > 0 and total["Price (CPL) effect"] < 0  # 5 % more, dearer
    # Refresh carries the log over as it was, value for value
    pd.testing.assert_frame_equal(_log(path), log, check_dtype=False)
    rebalance(path)
    after = _log(path)
    pd.testing.assert_frame_equal(
        after.iloc[: len(log)].reset_index(drop=True), log, check_dtype=False
    )
    assert set(after.iloc[len(log) :]["rec_id"]) == {"R0002"}
    assert {f"{m:%Y-%m}" for m in after.iloc[len(log) :]["plan_from"]} == {"2026-12"}


def test_a_workbook_from_before_the_decisions_tab_gets_it_at_rebalance(
    built_demo: Path, tmp_path: Path
) -> None:
    path = _copy(built_demo, tmp_path, "old.xlsx")
    wb = openpyxl.load_workbook(path)
    del wb[C.DECISIONS.name]
    wb.save(path)
    before = _sha(path)
    with pytest.raises(AcceptRefusedError, match="Press Rebalance"):
        accept(path)
    assert _sha(path) == before
    rebalance(path)
    names = openpyxl.load_workbook(path).sheetnames
    assert names[-2:] == [C.DECISIONS.name, C.LOG.name]  # where the contract puts it
    assert set(_log(path)["rec_id"]) == {"R0001"}


def test_rows_appended_to_a_cut_tab_merge_into_the_rows_there() -> None:
    from leadbook.workbook.splice import Appended, with_appended

    rows = (
        b'<sheetData><row r="6" spans="1:13"><c r="A6" s="3" t="inlineStr"><is><t>R1</t></is>'
        b'</c><c r="B6" s="4"><v>1</v></c><c r="M6"><v>9</v></c></row>'
        b'<row r="7" spans="13:13"><c r="M7"><v>8</v></c></row><row r="8"/>'
        b'<row r="10"><c r="M10"><v>7</v></c></row></sheetData>'
    )
    added = Appended("Decisions", 7, 1, 6, (("R2", 2.5), ("R<3>", None), ("R4", 4.0)))
    got, dim = with_appended(rows, b'<dimension ref="A1:M8"/>', added)
    assert got == (
        b'<sheetData><row r="6" spans="1:13"><c r="A6" s="3" t="inlineStr"><is><t>R1</t></is>'
        b'</c><c r="B6" s="4"><v>1</v></c><c r="M6"><v>9</v></c></row>'
        b'<row r="7"><c r="A7" s="3" t="inlineStr"><is><t xml:space="preserve">R2</t></is></c>'
        b'<c r="B7" s="4"><v>2.5</v></c><c r="M7"><v>8</v></c></row>'
        b'<row r="8"><c r="A8" s="3" t="inlineStr"><is><t xml:space="preserve">R&lt;3&gt;</t>'
        b'</is></c><c r="B8" s="4"/></row>'
        b'<row r="9"><c r="A9" s="3" t="inlineStr"><is><t xml:space="preserve">R4</t></is></c>'
        b'<c r="B9" s="4"><v>4</v></c></row>'
        b'<row r="10"><c r="M10"><v>7</v></c></row></sheetData>'
    )
    assert dim == b'<dimension ref="A1:M9"/>'


def _accepted_row(path: Path) -> tuple[openpyxl.Workbook, int, dict[str, int]]:
    """The workbook, the sheet row of its first Accepted log row and each header's column."""
    wb = openpyxl.load_workbook(path)
    ws = wb[C.DECISIONS.name]
    c0, r0, c1, r1 = range_boundaries(ws.tables[C.RECOMMENDATIONS_TABLE.name].ref)
    cols = {str(ws.cell(r0, c).value): c for c in range(c0, c1 + 1)}
    row = next(r for r in range(r0 + 1, r1 + 1) if ws.cell(r, cols["Event"]).value == C.ACCEPTED)
    return wb, row, cols


@pytest.mark.parametrize(
    ("header", "value", "says"),
    [
        ("Spend", "lots", "must be a number"),
        ("Recommendation", "R00x1", "not an id"),
        ("Expected customers", None, "is empty"),
        ("Plan from", "soon", "must be a month"),
        (None, None, "lacks"),  # the whole row cleared
        ("Recommendation", "R0009", "which no Recommended row"),  # a plan never made
        ("Spend", 1e12, "must be below 1,000,000,000,000"),
        ("When", "yesterday", "must be a date and time"),
        ("Spend before", "lots", "must be a number ≥ 0 or blank"),
    ],
    ids=[
        "text in a spend",
        "broken id",
        "a missing part",
        "text in a month",
        "a row cleared",
        "an id never recommended",
        "a trillion spend",
        "text in When",
        "text in Spend before",
    ],
)
def test_refresh_refuses_a_hand_edited_log_naming_the_cell(
    accepted: dict, tmp_path: Path, header: str | None, value: object, says: str
) -> None:
    """PlanVsActual is a variance report read at the board: a log cell edited by hand used
    to become a plan of $0 (or a source 'new' to the plan) without a word."""
    path = _copy(accepted["accepted"], tmp_path, "edited.xlsx")
    _append_month(path, dt.datetime(2026, 11, 1), _log(path))
    wb, row, cols = _accepted_row(path)
    ws = wb[C.DECISIONS.name]
    for h in [header] if header else list(cols):
        ws.cell(row, cols[h]).value = value
    wb.save(path)
    before = _sha(path)
    with pytest.raises(InputError) as caught:
        refresh(path)
    where = f"Decisions!{get_column_letter(cols[header or 'Source'])}"
    assert where in str(caught.value) and says in str(caught.value)
    assert _sha(path) == before


def test_the_board_pack_refuses_a_hand_edited_log_before_it_writes(
    accepted: dict, tmp_path: Path
) -> None:
    """The pack's Plan vs actual page reads the same log: its refusal came after the workbook
    had recorded the pack (a Board history row, the Maturity answers, a Log row) for a pack
    that was never made."""
    from leadbook.workbook.jobs.pack import export_board_pack

    path = _copy(accepted["accepted"], tmp_path, "edited.xlsx")
    _append_month(path, dt.datetime(2026, 11, 1), _log(path))
    wb, row, cols = _accepted_row(path)
    wb[C.DECISIONS.name].cell(row, cols["Spend"]).value = "lots"
    wb.save(path)
    before = _sha(path)
    with pytest.raises(InputError) as caught:
        export_board_pack(path, "2026Q4", tmp_path / "pack", pdf=False)
    assert f"Decisions!{get_column_letter(cols['Spend'])}{row}" in str(caught.value)
    assert _sha(path) == before
    assert not (tmp_path / "pack").exists()


def test_a_workbook_without_a_log_has_nothing_to_refuse(demo_book_path: Path) -> None:
    wb = openpyxl.load_workbook(demo_book_path)
    del wb[C.DECISIONS.name]
    wb.save(demo_book_path)
    assert log_problems(read_log(None, by_row=True)) == []
    refresh(demo_book_path)  # the tab comes back, empty
    assert _log(demo_book_path).empty


def _small_log(**edits: tuple[int, object]) -> pd.DataFrame:
    """A Recommendations log read ``by_row`` (sheet rows 6-9): R0001 recommended A and B
    (rows 6, 7) and was accepted (rows 8, 9); ``edits``: key → (sheet row, value typed)."""
    when = dt.datetime(2026, 11, 3, 9, 30)
    log = pd.DataFrame(
        {
            "rec_id": ["R0001"] * 4,
            "event": [C.RECOMMENDED] * 2 + [C.ACCEPTED] * 2,
            "when": [when] * 4,
            "plan_from": [dt.datetime(2026, 11, 1)] * 4,
            "objective": ["customers"] * 4,
            "inputs": ["Settings 1 · Sources 2 · History 3"] * 4,
            "source": ["A", "B", "A", "B"],
            "spend": [1000.0, 2000.0, 1000.0, 2000.0],
            "leads": [10.0, 20.0, 10.0, 20.0],
            "customers": [1.0, 2.0, 1.0, 2.0],
            "before": [900.0, 2100.0, 900.0, None],
        },
        index=pd.Index([6, 7, 8, 9], name="row"),
    ).astype(object)
    for key, (row, value) in edits.items():
        log.loc[row, key] = value
    log.attrs["columns"] = dict(zip(C.RECOMMENDATIONS_TABLE.keys, "ABCDEFGHIJK", strict=True))
    return log


def test_a_sound_small_log_has_no_problem() -> None:
    """The frame below is a log as leadbook writes it (a blank Spend before included: the
    Sources cell an acceptance replaced may have been blank)."""
    assert log_problems(_small_log()) == []


@pytest.mark.parametrize(
    ("edit", "where", "says"),
    [
        ({"spend": (8, 1e12)}, "H8", "below 1,000,000,000,000"),
        ({"leads": (6, 5e12)}, "I6", "below 1,000,000,000,000"),
        ({"when": (7, "yesterday")}, "C7", "must be a date and time"),
        ({"when": (7, None)}, "C7", "is empty"),
        ({"objective": (6, "cheapest")}, "E6", "must be customers, margin or weighted"),
        ({"before": (9, "lots")}, "K9", "must be a number ≥ 0 or blank"),
        ({"before": (6, -5.0)}, "K6", "must be a number ≥ 0 or blank"),
    ],
    ids=[
        "spend 1e12",
        "leads 5e12",
        "text in When",
        "blank When",
        "text in Objective",
        "text in Spend before",
        "negative Spend before",
    ],
)
def test_the_log_check_names_every_edited_cell(edit: dict, where: str, says: str) -> None:
    """The check let through a Spend of 1e12 and text in When, Objective and Spend before
    (outside attack on issue 17): all are hand edits of a log only leadbook writes."""
    problems = log_problems(_small_log(**edit))
    assert [p.where for p in problems] == [f"Decisions!{where}"]
    assert says in problems[0].message and "type the cell back" in problems[0].message


def test_a_source_typed_over_on_a_recommended_row_is_blamed_on_that_row() -> None:
    """The mismatch was reported at the acceptance's first row (G8), not at the Recommended
    row typed over (G7); the message names both rows of the pair."""
    problems = log_problems(_small_log(source=(7, "Bee")))
    assert [p.where for p in problems] == ["Decisions!G7"]
    assert "'Bee'" in problems[0].message and "Decisions!G9" in problems[0].message
    assert "'B'" in problems[0].message
