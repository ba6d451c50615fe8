"""The quarterly board pack: a values-only workbook (and its PDF) built from the workbook.

``leadbook board BOOK --quarter 2026Q4`` and the **Export board pack** button run
:func:`export_board_pack`, which

1. computes the quarter's KPIs, pitfalls and maturity assessment from the workbook;
2. updates the workbook through :func:`~leadbook.workbook.write.update_workbook`: the Board
   tab (with the quarter's row added to Board history, or replaced), the Maturity tab (the
   user's answers kept) and a Log row;
3. writes the pack, ``<book>-board-<quarter>.xlsx``: values only (no formula, no function,
   no link, no macro), a cover with the scorecard, the KPIs with their trends and the
   pitfalls, the portfolio, the trends, the allocation, forecast and hiring, ROI (copied as
   values from their tabs when filled, else "not available" and why) and the maturity
   roadmap, with native Excel charts; each sheet set to print landscape, fitted to the page
   width (A4 or Letter) with its title rows repeated;
4. with ``pdf``, converts the pack with headless LibreOffice.
"""

from __future__ import annotations

import io
import logging
import re
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.utils.cell import coordinate_from_string, get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook import files
from leadbook.board import maturity as M
from leadbook.board.kpis import Kpi, snapshot
from leadbook.board.pitfalls import Pitfall, Shows
from leadbook.board.quarters import Quarter, latest_quarter, quarter_actuals
from leadbook.enums import Switch
from leadbook.errors import LeadbookError, WorkbookFileError
from leadbook.portfolio.classify import band_usage, classify
from leadbook.workbook.jobs.gather import (
    saved_history,
    with_quarter,
)
from leadbook.workbook.jobs.outputs import board_view, book_plan_vs_actual, maturity_view
from leadbook.workbook.layout import formula_values, now
from leadbook.workbook.libreoffice import LibreOfficeError, convert, recalculated, soffice
from leadbook.workbook.pack.build import build_pack
from leadbook.workbook.pack.copied import ALLOCATION_SUMMARY_TITLE
from leadbook.workbook.pack.page import PACK_TABS, PAPERS, Block, PackContent
from leadbook.workbook.pack.summary import COHORT_SPEND, status_counts
from leadbook.workbook.read import Book, open_inputs, open_workbook, read_book
from leadbook.workbook.saving import save_workbook
from leadbook.workbook.sheets import replace_sheet
from leadbook.workbook.splice import sheet_parts, uncached_formulas
from leadbook.workbook.tabs.allocation import CAPACITY_CELL, CONVERSION_CELL, EXPLANATION_CELL
from leadbook.workbook.tabs.board import (
    BoardView,
    MaturityView,
    render_board_tab,
    render_maturity_tab,
)
from leadbook.workbook.tabs.decisions import read_log
from leadbook.workbook.write import one_job_per_workbook, update_workbook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackResult:
    """What an export wrote, and the figures it reported."""

    workbook: Path
    pack: Path
    pdf: Path | None
    quarter: Quarter
    kpis: tuple[Kpi, ...]
    pitfalls: tuple[Pitfall, ...]
    assessment: M.Assessment
    changed: str
    pdf_note: str | None = None
    """Why no PDF was made though the BoardPDF setting asked for one (None otherwise)."""


@one_job_per_workbook
def export_board_pack(
    path: str | Path,
    quarter: str | Quarter | None = None,
    out_dir: str | Path | None = None,
    *,
    pdf: bool | None = None,
    paper: str = "a4",
) -> PackResult:
    """Export the board pack of ``quarter`` and record it in the workbook (see module doc).

    ``quarter`` defaults to the quarter of History's last month. ``pdf``: also write the
    pack as a PDF (LibreOffice); None takes the BoardPDF setting, which makes no PDF where
    LibreOffice is missing and says so, where ``pdf=True`` is refused there. Raises
    :class:`~leadbook.errors.LeadbookError` for a bad quarter or paper or a workbook with
    input errors, before anything is written.
    """
    path = Path(path)
    given = quarter if isinstance(quarter, Quarter | None) else Quarter.parse(quarter)
    if paper.lower() not in PAPERS:
        raise LeadbookError(f"paper {paper!r} is not one of: {', '.join(PAPERS)}")
    out = Path(out_dir) if out_dir is not None else path.parent
    # Before the workbook records a pack, a pack that cannot be made there is refused.
    there = next((p for p in (out, *out.absolute().parents) if p.exists()), None)
    if there is not None and not there.is_dir():
        raise WorkbookFileError(
            f"{out} is not a folder leadbook can make the pack in ({there} is "
            f"{files.file_kind(there) or 'a file'}); nothing was written. Give --out a folder"
        )
    # an explicit --pdf/--no-pdf wins over the BoardPDF cell, which then need not be valid
    book = read_book(path, overridden=("BoardPDF",) if pdf is not None else ())
    when = given or latest_quarter(book.inventory.history)
    if when is None:
        raise LeadbookError("History is empty, so there is no latest quarter: give --quarter")
    files.refuse_planted_link(out / pack_name(path, when), f"the board pack of {path.name}")
    pdf, pdf_note = _pdf_wanted(pdf, book.settings.files.board_pdf is Switch.YES)
    if pdf:
        pdf_name = Path(pack_name(path, when)).with_suffix(".pdf")
        files.refuse_planted_link(out / pdf_name, f"the board pack of {path.name}")
    copied = copied_tabs(path)
    # read (and the Decisions log checked) before the workbook records the pack
    plan_vs_actual = _plan_vs_actual(path, book)
    done: list[Recorded] = []

    def job(wb: Workbook) -> str:
        done.append(_record(wb, book, when))
        board, a = done[0].board, done[0].maturity.assessment
        warnings = sum(p.shows is Shows.WARNING for p in board.pitfalls)
        return (
            f"board pack {when}: {status_counts(board.kpis)}; {warnings} pitfall warning(s); "
            f"maturity stage {a.reached.number}; pack {pack_name(path, when)}"
            + (" and its PDF" if pdf else "")
            + (f" ({pdf_note})" if pdf_note else "")
        )

    result = update_workbook(path, "board", job, book=book, changes=(C.BOARD.name, C.MATURITY.name))
    board, assessment = done[0].board, done[0].maturity.assessment
    classes = classify(book.inventory, book.settings)
    spend = book.inventory.sources["spend"]
    content = PackContent(
        book,
        when,
        done[0].period,
        board.kpis,
        board.pitfalls,
        assessment,
        copied,
        path.name,
        actuals=quarter_actuals(book.inventory, when),
        classes=classes,
        usage=band_usage(spend, classes, book.settings),
        plan_vs_actual=plan_vs_actual,
    )
    target = _save(build_pack(content, paper=paper.lower()), out / pack_name(path, when))
    pdf_path = convert(target, "pdf", out) if pdf else None
    return PackResult(
        path,
        target,
        pdf_path,
        when,
        board.kpis,
        board.pitfalls,
        assessment,
        result.changed,
        pdf_note,
    )


def _pdf_wanted(asked: bool | None, setting: bool) -> tuple[bool, str | None]:
    """Whether to write the PDF, and why not where the BoardPDF setting asked for one that
    cannot be made. ``asked``: the command's ``--pdf`` (None: not given). A PDF asked for
    by name on a machine without LibreOffice is refused before anything is written."""
    if not (asked or (asked is None and setting)):
        return False, None
    try:
        soffice()
    except LibreOfficeError as exc:
        if asked:
            raise LibreOfficeError(f"{exc}; nothing was written (or leave out --pdf)") from None
        return False, "no PDF: BoardPDF is yes but LibreOffice is not installed here"
    return True, None


def _plan_vs_actual(path: Path, book: Book) -> pd.DataFrame:
    """The accepted plans of the workbook's Decisions tab against its History, as Refresh
    fills PlanVsActual."""
    wb = open_inputs(path)
    ws = wb[C.DECISIONS.name] if C.DECISIONS.name in wb.sheetnames else None
    return book_plan_vs_actual(read_log(ws, by_row=True), book)


def pack_name(book: Path, quarter: Quarter | str) -> str:
    """The pack's file name: ``<book>-board-<quarter>.xlsx`` (a text quarter as it is: a
    glob's ``*`` finds every quarter's)."""
    label = quarter if isinstance(quarter, str) else quarter.label
    return f"{book.stem}-board-{label}.xlsx"


@dataclass(frozen=True)
class Recorded:
    """What an export wrote to the workbook, and what the pack shows of it."""

    board: BoardView
    maturity: MaturityView
    period: str


def _record(wb: Workbook, book: Book, quarter: Quarter) -> Recorded:
    """Rewrite the Board tab (adding the quarter to Board history) and the Maturity tab."""
    old_board = wb[C.BOARD.name] if C.BOARD.name in wb.sheetnames else None
    old_maturity = wb[C.MATURITY.name] if C.MATURITY.name in wb.sheetnames else None
    saved = saved_history(old_board)
    view = board_view(wb, book, quarter, saved)
    saved = with_quarter(saved, quarter, {"exported": now(), **snapshot(list(view.kpis))})
    view = replace(view, saved=saved)
    expected = formula_values(wb)
    render_board_tab(replace_sheet(wb, C.BOARD.name), view, expected)
    maturity = maturity_view(old_maturity, wb, book, saved)
    ws = replace_sheet(wb, C.MATURITY.name)
    render_maturity_tab(ws, maturity, expected)
    actuals = quarter_actuals(book.inventory, quarter)
    period = f"{actuals.coverage} of {quarter.long}" if actuals else view.period
    return Recorded(view, maturity, period)


def _save(wb: Workbook, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with files.replacing(target) as tmp:  # a new pack is for sharing: the umask's mode
        save_workbook(wb, tmp)
    return target


# --- Other tabs, as values -------------------------------------------------------------------


PACK_TABLES: dict[str, tuple[tuple[C.TableSpec, tuple[str, ...]], ...]] = {
    C.ROI.name: (
        (
            C.ROI_TABLE,
            (
                "source",
                "spend",
                "leads",
                "roi_30d",
                "roi_90d",
                "roi_12m",
                "revenue_roi_12m",
                "cpa",
                "revenue_per_lead",
                "payback",
            ),
        ),
        (C.COHORT_FLOWS_TABLE, ("source", "npv", "irr")),
    ),
    C.FORECAST.name: (
        (C.SCENARIOS_TABLE, ()),
        (
            C.PORTFOLIO_FORECAST_TABLE,
            ("month", "actual", "forecast", "lower", "upper", "conservative", "base", "aggressive"),
        ),
        (C.ACCURACY_TABLE, ()),
    ),
    C.HIRING.name: ((C.CAPACITY_CHECKS_TABLE, ()), (C.HIRING_QUARTERS_TABLE, ())),
}
"""What the board sees of each planning tab: these tables (and columns; () for all), in
this order. The Allocation tab has a view of its own (:func:`allocation_blocks`)."""
TABLE_TITLES = {
    C.ROI_TABLE.name: "ROI on contribution by horizon (revenue × gross margin, less cost to "
    "serve), per source and for the portfolio; revenue ROI beside it",
    C.COHORT_FLOWS_TABLE.name: "NPV and annual IRR of the cohorts' contribution cash flows",
    C.SCENARIOS_TABLE.name: "Growth scenarios, month 12",
    C.PORTFOLIO_FORECAST_TABLE.name: "Portfolio lead forecast and scenarios by month",
    C.ACCURACY_TABLE.name: "Forecast accuracy against actuals",
    C.CAPACITY_CHECKS_TABLE.name: "Operations and support capacity by scenario",
    C.HIRING_QUARTERS_TABLE.name: "Hires, requisitions and team cost by quarter and scenario",
}


PACK_HEADERS = {
    "Baseline sd": "Usual variation (sd)",
    "P(baseline reaches it)": "Chance the current plan reaches it",
    "Cohort spend": COHORT_SPEND,
    "Leads": "Cohort leads (average month)",
}
"""Column headers of the copied tabs in a board's words (the workbook keeps its own)."""


def board_headers(block: Block) -> Block:
    """A copied table with its headers in a board's words (:data:`PACK_HEADERS`).

    Examples
    --------
    >>> board_headers(Block("Scenarios", ("Scenario", "Baseline sd"))).headers
    ('Scenario', 'Usual variation (sd)')
    """
    return replace(block, headers=tuple(PACK_HEADERS.get(h, h) for h in block.headers))


OWN_SHEETS = {
    C.PORTFOLIO_FORECAST_TABLE.name: "Forecast by month",
    C.ROI_TABLE.name: "ROI by source",
}
"""The sheet a long copied table prints on by itself, its header on every page."""


def copied_tabs(path: Path) -> dict[str, list[Block]]:
    """What the pack shows of the Allocation, Forecast, Hiring and ROI tabs, as values.

    Formula cells need their values: a workbook last saved by Excel carries them, and so
    do the formulas leadbook writes (its own values). A shown formula without one (a
    user's own, saved by a program that does not calculate) has LibreOffice recalculate a
    copy first; without LibreOffice those cells stay blank and the page says why.
    """
    values = open_workbook(path, data_only=True, package=_copied_tabs_only(path))
    missing = _missing_values(path, values)
    if missing:
        try:
            with tempfile.TemporaryDirectory(prefix="leadbook-pack-") as tmp:
                values = openpyxl.load_workbook(recalculated(path, Path(tmp)), data_only=True)
            missing = []
        except LibreOfficeError as exc:
            log.warning("pack: formula values of %s left blank: %s", ", ".join(missing), exc)
    out = {}
    for tab in PACK_TABS:
        if tab not in values.sheetnames:
            continue
        if tab == C.ALLOCATION.name:
            blocks = allocation_blocks(values[tab])
        else:
            blocks = _selected(tab, tab_blocks(values, tab))
        if tab in missing:
            blocks.append(Block(UNCALCULATED))
        out[tab] = blocks
    return out


ALLOCATION_COLUMNS = (
    "source",
    "tier",
    "current",
    "recommended",
    "change",
    "share",
    "customers",
    "cpa",
    "marginal_cpa",
)
"""What the board sees of the Allocation table."""
RUN_RATE_HEADERS = {
    "Current spend": "Current spend a month",
    "Recommended": "Recommended a month",
    "Change": "Change a month",
    "Expected customers": "Expected customers a month",
}
"""The Allocation columns are monthly run-rates (of today's spend and of the allocation
recommended from next week): the pack's headers say so."""
ALLOCATION_TITLE = "Recommended spend by source, a month (run-rate)"
BINDING_SHOWN = 5
"""The most valuable binding rules the pack spells out; the rest are counted."""


def allocation_blocks(ws: Any) -> list[Block]:
    """The pack's view of the Allocation tab (values): the headline, today against the
    recommendation, the allocation by source and the rules that bind, most valuable first.

    An empty tab gives no table; a tab from an infeasible Rebalance gives its conflicts as
    notes.
    """
    tables = {b.title: b for b in tab_blocks(ws.parent, ws.title) if b.headers}
    allocation = tables.get(C.ALLOCATION_TABLE.name)
    rules = tables.get(C.BINDING_TABLE.name)
    texts = [str(r[-1]) for r in rules.rows if r[-1]] if rules is not None else []
    if allocation is None or not allocation.rows:
        return [Block(f"{k + 1}. {t}") for k, t in enumerate(texts)]
    v = {cell.name: ws[cell.cell].value for cell in C.ALLOCATION_SUMMARY}
    blocks = [
        Block(str(ws[cell].value))
        for cell in (EXPLANATION_CELL, CAPACITY_CELL, CONVERSION_CELL)
        if ws[cell].value
    ]
    blocks.append(_summary_block(v))
    budget, unspent, value = (
        v["RebalanceBudget"],
        v["RebalanceUnspent"],
        v["RebalanceBudgetValue"],
    )
    if isinstance(budget, int | float) and isinstance(unspent, int | float):
        line = f"Budget ${budget:,.0f} a month; ${max(unspent, 0.0):,.0f} of it left unspent."
        if isinstance(value, int | float) and value >= 0.005:
            line += f" Another $1,000 of budget would add {value:,.2f} expected customers."
        elif isinstance(value, int | float):
            line += " More budget would add no customers: other rules bind first."
        blocks.append(Block(line))
    spec = C.ALLOCATION_TABLE
    keys = [k for k in ALLOCATION_COLUMNS if spec.column(k).header in allocation.headers]
    idx = [allocation.headers.index(spec.column(k).header) for k in keys]
    table = _columns(allocation, idx)
    table = replace(table, headers=tuple(RUN_RATE_HEADERS.get(h, h) for h in table.headers))
    blocks.append(Block(ALLOCATION_TITLE, *_parts(table), own_sheet="Allocation by source"))
    if texts:
        blocks.append(Block("What binds the recommended allocation, most valuable first:"))
        blocks += [Block(f"{k + 1}. {t}") for k, t in enumerate(texts[:BINDING_SHOWN])]
        if len(texts) > BINDING_SHOWN:
            more = len(texts) - BINDING_SHOWN
            blocks.append(Block(f"… and {more} more at their limit: see the Allocation tab."))
    if any(name.startswith(C.GLIDE_TABLE.name) for name in tables):
        blocks.append(Block("The week-by-week glide path to this allocation is on the tab."))
    return blocks


def _summary_block(v: dict[str, Any]) -> Block:
    """Spend, leads, customers and CPA: today, recommended, and the change."""
    rows = []
    for label, today, recommended, fmt in (
        ("Spend a month", "RebalanceTodaySpend", "RebalanceSpend", "$#,##0"),
        ("Expected leads a month", "RebalanceTodayLeads", "RebalanceLeads", "#,##0"),
        ("Expected customers a month", "RebalanceTodayCustomers", "RebalanceCustomers", "#,##0.0"),
        ("Blended CPA", "RebalanceTodayCPA", "RebalanceCPA", "$#,##0"),
    ):
        a, b = v[today], v[recommended]
        change = b - a if isinstance(a, int | float) and isinstance(b, int | float) else None
        rows.append(((label, a, b, change), fmt))
    return Block(
        ALLOCATION_SUMMARY_TITLE,
        ("", "Today (run-rate)", "Recommended (run-rate)", "Change"),
        tuple(r for r, _ in rows),
        ("", [f for _, f in rows], [f for _, f in rows], [f for _, f in rows]),
        (20.0, 13.0, 13.0, 13.0),
    )


UNCALCULATED = (
    "Some values of this tab are formulas the workbook holds no saved result for (it was last "
    "saved by leadbook) and LibreOffice is not installed to compute them: they are left blank. "
    "Open and save the workbook in Excel, or install LibreOffice, and export again."
)


_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData\b[^>]*>.*?</sheetData\s*>", re.S)


def _copied_tabs_only(path: Path) -> bytes:
    """The package at ``path`` with the cells of every tab but :data:`PACK_TABS` cut, for
    openpyxl to read (at 10,000 sources History alone is 200,000 rows). A tab in another
    form (a prefixed ``sheetData``) is kept whole."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as zf, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as cut:
        parts = sheet_parts(zf)
        others = {part for tab, part in parts.items() if tab not in PACK_TABS}
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename in others:
                data = _SHEET_DATA.sub(b"<sheetData/>", data, count=1)
            cut.writestr(info.filename, data)
    return out.getvalue()


def _missing_values(path: Path, values: Workbook) -> list[str]:
    """The tabs whose shown cells hold formulas without a saved value (``values``: the
    workbook at ``path`` opened with its saved values)."""
    missing = []
    with zipfile.ZipFile(path) as zf:
        parts = sheet_parts(zf)
        for tab in PACK_TABS:
            if tab not in values.sheetnames or parts.get(tab) not in zf.namelist():
                continue
            bare = uncached_formulas(zf.read(parts[tab]))
            shown = _shown_cells(values[tab], tab) if bare else []
            if None in bare or any(c.coordinate in bare for c in shown):
                missing.append(tab)
    return missing


def _shown_cells(ws: Any, tab: str) -> list[Any]:
    """The cells the pack copies from a tab: its chosen columns, or every cell."""
    if tab not in PACK_TABLES:
        return [c for row in ws.iter_rows() for c in row]
    cells = []
    for spec, keys in PACK_TABLES[tab]:
        if spec.name not in ws.tables:
            continue
        min_col, min_row, _, max_row = range_boundaries(ws.tables[spec.name].ref)
        for key in keys or spec.keys:
            col = min_col + spec.keys.index(key)
            cells += [ws.cell(r, col) for r in range(min_row + 1, max_row + 1)]
    return cells


def _selected(tab: str, blocks: list[Block]) -> list[Block]:
    """The blocks of a tab the board sees: the intro notes above its first table, then the
    chosen tables and columns (see :data:`PACK_TABLES`), reshaped for reading; a table keyed
    by the same first column as the one before joins it."""
    if tab not in PACK_TABLES:
        return blocks
    first_table = next((i for i, b in enumerate(blocks) if b.headers), len(blocks))
    chosen = list(blocks[:first_table])
    by_name = {b.title: b for b in blocks if b.headers}
    for spec, keys in PACK_TABLES[tab]:
        block = by_name.get(spec.name)
        if block is None:
            continue
        wanted = [spec.column(k).header for k in keys] if keys else list(block.headers)
        block = _columns(block, [block.headers.index(h) for h in wanted if h in block.headers])
        block = RESHAPE.get(spec.name, lambda b: b)(block)
        block = Block(
            TABLE_TITLES.get(spec.name, spec.name),
            *_parts(board_headers(block)),
            own_sheet=OWN_SHEETS.get(spec.name, ""),
        )
        if chosen and _same_keys(chosen[-1], block):
            chosen[-1] = _joined(chosen[-1], block)
        else:
            chosen.append(block)
    return chosen


def _parts(block: Block) -> tuple[Any, ...]:
    return (block.headers, block.rows, block.formats, block.widths)


def _columns(block: Block, idx: list[int]) -> Block:
    return Block(
        block.title,
        tuple(block.headers[i] for i in idx),
        tuple(tuple(row[i] for i in idx) for row in block.rows),
        tuple(block.formats[i] if i < len(block.formats) else "" for i in idx),
        tuple(block.widths[i] if i < len(block.widths) else 10.0 for i in idx),
    )


def _same_keys(a: Block, b: Block) -> bool:
    return bool(
        a.headers
        and b.headers
        and a.headers[0] == b.headers[0]
        and [r[0] for r in a.rows] == [r[0] for r in b.rows]
    )


def _joined(a: Block, b: Block) -> Block:
    rest = range(1, len(b.headers))
    return Block(
        a.title,
        a.headers + tuple(b.headers[i] for i in rest),
        tuple(ra + tuple(rb[i] for i in rest) for ra, rb in zip(a.rows, b.rows, strict=True)),
        a.formats + tuple(b.formats[i] for i in rest),
        a.widths + tuple(b.widths[i] for i in rest),
        a.own_sheet,
    )


def _recent(block: Block, months_before: int = 6) -> Block:
    """The forecast months and the few actual months before them."""
    col = block.headers.index("Forecast") if "Forecast" in block.headers else None
    if col is None:
        return block
    first = next((i for i, r in enumerate(block.rows) if r[col] is not None), len(block.rows))
    return Block(
        block.title,
        block.headers,
        block.rows[max(0, first - months_before) :],
        block.formats,
        block.widths,
    )


def _by_quarter(block: Block) -> Block:
    """Hires, requisitions and the team's cost as one row per quarter, a column per
    scenario and measure."""
    names = list(block.headers)
    if not {"Scenario", "Quarter", "Hires starting"} <= set(names):
        return block
    s, q = names.index("Scenario"), names.index("Quarter")
    measures = [
        (names.index(header), label, fmt)
        for header, label, fmt in (
            ("Hires starting", "hires", "#,##0"),
            ("Requisitions to open", "requisitions", "#,##0"),
            ("Team cost", "team cost", '"$"#,##0'),
        )
        if header in names
    ]
    scenarios = list(dict.fromkeys(row[s] for row in block.rows))
    quarters = list(dict.fromkeys(row[q] for row in block.rows))
    cell = {(row[s], row[q]): row for row in block.rows}
    blank = [None] * len(names)
    headers = ["Quarter"] + [f"{sc} {label}" for _, label, _ in measures for sc in scenarios]
    rows = [
        tuple(
            [quarter]
            + [cell.get((sc, quarter), blank)[j] for j, _, _ in measures for sc in scenarios]
        )
        for quarter in quarters
    ]
    formats = ("", *(fmt for _, _, fmt in measures for _ in scenarios))
    n = len(headers) - 1
    return Block(block.title, tuple(headers), tuple(rows), formats, (9.0,) + (13.0,) * n)


RESHAPE = {C.PORTFOLIO_FORECAST_TABLE.name: _recent, C.HIRING_QUARTERS_TABLE.name: _by_quarter}
"""Tables the board reads better reshaped: the recent forecast months; hires by quarter."""


def tab_blocks(wb: Workbook, tab: str) -> list[Block]:
    """A tab's tables (with their number formats), its months-across views and its notes,
    top to bottom. A view is a block titled by its defined name, so that its cells are not
    taken for notes."""
    ws = wb[tab]
    blocks, covered = [], set()
    for top, view, cells in _view_blocks(ws):
        blocks.append((top, view))
        covered |= cells
    for table in ws.tables.values():
        name = table.displayName
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        cells = [
            list(r)
            for r in ws.iter_rows(
                min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col
            )
        ]
        covered |= {(c.row, c.column) for r in cells for c in r}
        rows = tuple(
            tuple(c.value for c in r) for r in cells[1:] if any(c.value is not None for c in r)
        )
        widths = tuple(
            ws.column_dimensions[get_column_letter(c)].width or 10
            for c in range(min_col, max_col + 1)
        )
        blocks.append(
            (
                min_row,
                Block(
                    name,
                    tuple(str(c.value or "") for c in cells[0]),
                    rows,
                    tuple(c.number_format for c in cells[1]) if len(cells) > 1 else (),
                    widths,
                ),
            )
        )
    notes = [
        (c.row, Block(str(c.value)))
        for r in ws.iter_rows(min_row=2)
        for c in r
        if c.value is not None and (c.row, c.column) not in covered
    ]
    return [b for _, b in sorted(blocks + notes, key=lambda x: x[0])]


def _view_blocks(ws: Any) -> list[tuple[int, Block, set[tuple[int, int]]]]:
    """The contract's months-across views on ``ws``: the top row, a block of the header row
    and lines, and the cells the view takes — every row from its anchor down to the first
    table's header (its chart and the first table's heading too). Found by the contract's
    anchor, not the defined name: a button's copy of the live workbook carries no names."""
    out = []
    tops = [range_boundaries(t.ref)[1] for t in ws.tables.values()]
    for view in C.MONTH_VIEWS:
        if view.sheet != ws.title:
            continue
        top = coordinate_from_string(view.anchor)[1]
        bottom = min([t for t in tops if t > top], default=ws.max_row + 1) - 1
        rows = list(ws.iter_rows(min_row=top, max_row=bottom, max_col=ws.max_column))
        grid = [[c.value for c in row] for row in rows]
        headers = tuple(str(v or "") for v in grid[1]) if len(grid) > 1 else ("",)
        block = Block(view.name, headers, tuple(tuple(r) for r in grid[2:]))
        out.append((top, block, {(c.row, c.column) for row in rows for c in row}))
    return out
