"""What the board pack and the maturity assessment take from the rest of the workbook.

The KPIs' optional inputs come from tabs other capabilities fill (Allocation, Forecast,
Leads, Hiring). This module finds them by the headers of the Excel Tables on those tabs, so
a tab that is empty, or a capability not installed yet, gives "not available" with the
reason instead of a number. The headers it looks for are those of the workbook contract
(:mod:`leadbook.contract`), so a renamed column cannot silently go missing here.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Mapping
from typing import Any

import pandas as pd
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.board.kpis import BoardInputs, quality_consistency_of
from leadbook.board.maturity import WorkbookFacts
from leadbook.board.quarters import Quarter
from leadbook.enums import Answer, Compliance, Party, Status
from leadbook.errors import LeadbookError, Problem, raise_errors
from leadbook.planning.roi import portfolio_roi_12m
from leadbook.workbook.jobs.computed import book_classes
from leadbook.workbook.read import Book
from leadbook.workbook.splice import readable
from leadbook.workbook.tablecells import block_values


def _headers(spec: C.TableSpec, **keys: str) -> dict[str, str]:
    """Board key → header text of the contract column it is read from."""
    return {mine: spec.column(theirs).header for mine, theirs in keys.items()}


ALLOCATION_HEADERS = _headers(
    C.ALLOCATION_TABLE, source="source", recommended="recommended", leads="leads"
)
"""The allocation by source, from the Allocation table Rebalance writes."""
FORECAST_LOG_HEADERS = _headers(
    C.FORECAST_LOG_TABLE,
    **{k: k for k in ("made", "month", "source", "measure", "forecast", "actual")},
)
"""The forecast log on the Forecast detail tab (leadbook.planning.forecast's LOG_COLUMNS)."""
FORECAST_TABS = (C.FORECAST.name, C.FORECAST_DETAIL.name)
"""The tabs Refresh forecast writes (a workbook written before Forecast detail existed held
the log on the Forecast tab)."""
QUALITY_HEADERS = _headers(
    C.LEAD_SOURCES_TABLE,
    source="source",
    conversion="history",
    predicted="predicted",
    leads="leads",
)
"""The per-source lead quality table Score leads writes on the Leads tab."""
SCORED_HEADER = "Probability"
"""The Leads table's column of scores: a filled cell is a scored lead."""


def _norm(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


_FROM_FILE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""A tab a job reads from the file (:func:`~leadbook.workbook.splice.readable`) → its
tables, their cells read once: it does not change while the job runs, and the Board and the
Maturity tab read it in turn."""


class _Table:
    """An Excel Table on a tab: its name and header texts, its cells read when first asked
    for — the Board looks for a few tables among many (the Leads tab's lead table is a big
    one it never reads)."""

    def __init__(self, ws: Any, table: Any):
        self.name = table.displayName
        self._ws = ws
        self._bounds = range_boundaries(table.ref)  # min_col, min_row, max_col, max_row
        min_col, min_row, max_col, _ = self._bounds
        (top,) = block_values(ws, min_row, min_row, min_col, max_col)
        self.headers = [str(h) if h is not None else f"Column{j}" for j, h in enumerate(top)]

    @functools.cached_property
    def rows(self) -> list[tuple[Any, ...]]:
        """The data rows, blank ones left out."""
        min_col, min_row, max_col, max_row = self._bounds
        grid = block_values(self._ws, min_row + 1, max_row, min_col, max_col)
        return [row for row in grid if any(v is not None for v in row)]

    def frame(self) -> pd.DataFrame:
        """The data rows as a frame keyed by the header texts."""
        return pd.DataFrame(self.rows, columns=self.headers)

    def column(self, header: str) -> list[Any]:
        """The values of each column headed ``header`` (spaces and case aside), one after
        another; a blank cell as None."""
        min_col, min_row, _, max_row = self._bounds
        return [
            value
            for j, text in enumerate(self.headers)
            if _norm(text) == _norm(header)
            for (value,) in block_values(self._ws, min_row + 1, max_row, min_col + j, min_col + j)
        ]


def _tables(wb: Workbook, tab: str) -> list[_Table]:
    if tab not in wb.sheetnames:
        return []
    ws = readable(wb, tab)  # a tab the job leaves alone is read from the file
    if ws is wb[tab]:
        return [_Table(ws, t) for t in ws.tables.values()]
    if ws not in _FROM_FILE:
        _FROM_FILE[ws] = [_Table(ws, t) for t in ws.tables.values()]
    return list(_FROM_FILE[ws])


def filled_rows(wb: Workbook, tab: str) -> int | None:
    """Data rows across the tables of ``tab`` (None when the workbook has no such tab).

    Examples
    --------
    >>> import openpyxl
    >>> from openpyxl.worksheet.table import Table
    >>> wb = openpyxl.Workbook(); ws = wb.active; ws.title = "Hiring"
    >>> for row in (["Month", "Reps"], ["2026-11", 40], [None, None], ["2026-12", 42]):
    ...     ws.append(row)
    >>> ws.add_table(Table(displayName="Plan", ref="A1:B4"))
    >>> filled_rows(wb, "Hiring"), filled_rows(wb, "Leads")
    (2, None)
    >>> find_frame(wb, "Hiring", {"reps": "REPS"})["reps"].tolist()
    [40, 42]
    """
    if tab not in wb.sheetnames:
        return None
    return sum(len(t.rows) for t in _tables(wb, tab))


def find_frame(wb: Workbook, tab: str, headers: Mapping[str, str]) -> pd.DataFrame | None:
    """The first table on ``tab`` holding every one of ``headers`` (key → header text), with
    those columns renamed to the keys; None if there is none or it has no rows."""
    wanted = {_norm(h): k for k, h in headers.items()}
    for table in _tables(wb, tab):
        present = {_norm(c): c for c in table.headers}
        if set(wanted) <= set(present) and table.rows:
            frame = table.frame()
            return frame.rename(columns={present[h]: k for h, k in wanted.items()})
    return None


def _numeric(frame: pd.DataFrame, *keys: str) -> pd.DataFrame:
    return frame.assign(**{k: pd.to_numeric(frame[k], errors="coerce") for k in keys})


def gather_inputs(
    wb: Workbook, book: Book, quarter: Quarter, saved: pd.DataFrame | None = None
) -> BoardInputs:
    """The board's inputs: the book's tables, and whatever the other tabs already hold."""
    reasons: dict[str, str] = {}
    allocation = _allocation(wb, reasons)
    log = _forecast_log(wb, reasons)
    quality = _quality(wb, reasons)
    roi_12m = _roi_12m(book, reasons)
    sales_reps = _planned_reps(book)
    return BoardInputs(
        quarter,
        book.inventory,
        book.settings,
        allocation=allocation,
        forecast_log=log,
        roi_12m=roi_12m,
        quality_consistency=quality,
        sales_reps=sales_reps,
        saved=saved,
        reasons=reasons,
        classified=book_classes(book),
    )


def _planned_reps(book: Book) -> float | None:
    """Productive reps from the hiring plan when Settings take sales capacity from it (as
    Rebalance does), so the KPI and the allocation count the same team; else None."""
    from leadbook.enums import CapacitySource
    from leadbook.workbook.jobs.feeds import planned_sales_capacity

    cap = book.settings.capacity
    if cap.sales_capacity_source is not CapacitySource.HIRING_PLAN:
        return None
    return planned_sales_capacity(book.inventory, book.settings).reps


def _allocation(wb: Workbook, reasons: dict[str, str]) -> pd.DataFrame | None:
    frame = find_frame(wb, C.ALLOCATION.name, ALLOCATION_HEADERS)
    if frame is None:
        reasons["allocation"] = (
            "the Allocation tab holds no recommended allocation yet (Rebalance fills it)"
        )
        return None
    keys = ["recommended", "leads"]
    return _numeric(frame, *keys).dropna(subset=["recommended"]).set_index("source")[keys]


def _forecast_log(wb: Workbook, reasons: dict[str, str]) -> pd.DataFrame | None:
    found = (find_frame(wb, tab, FORECAST_LOG_HEADERS) for tab in reversed(FORECAST_TABS))
    frame = next((f for f in found if f is not None), None)
    if frame is None:
        reasons["forecast_log"] = (
            f"the {C.FORECAST_DETAIL.name} tab holds no forecast log yet (Refresh forecast "
            "keeps one)"
        )
        return None
    return _numeric(frame, "forecast", "actual")


def _quality(wb: Workbook, reasons: dict[str, str]) -> float | None:
    frame = find_frame(wb, C.LEADS.name, QUALITY_HEADERS)
    if frame is None:
        reasons["quality_consistency"] = (
            "the Leads tab holds no scored lead quality by source yet (Score leads fills it)"
        )
        return None
    value = quality_consistency_of(_numeric(frame, "conversion", "predicted", "leads"))
    if value is None:
        reasons["quality_consistency"] = "no source has both scored open leads and conversion"
    return value


def _roi_12m(book: Book, reasons: dict[str, str]) -> float | None:
    try:
        value = portfolio_roi_12m(book.inventory, book.settings)
    except LeadbookError as exc:
        reasons["roi_12m"] = f"the 12-month ROI cannot be computed: {exc}"
        return None
    return None if math.isnan(value) else value


# --- Board history -----------------------------------------------------------------------


def saved_history(ws: Any | None) -> pd.DataFrame:
    """The Board history rows on a Board tab (empty when the tab or table is absent)."""
    spec = C.BOARD_HISTORY_TABLE
    empty = pd.DataFrame(columns=spec.keys)
    if ws is None or spec.name not in ws.tables:
        return empty
    min_col, min_row, max_col, max_row = range_boundaries(ws.tables[spec.name].ref)
    by_header = {_norm(c.header): c.key for c in spec.columns}
    top, *lines = block_values(ws, min_row, max_row, min_col, max_col)  # no cell made
    keys = [by_header.get(_norm(header)) for header in top]
    rows = []
    for values in lines:
        row = {k: v for k, v in zip(keys, values, strict=True) if k}
        if row.get("quarter"):
            rows.append(row)
    frame = pd.DataFrame(rows, columns=spec.keys)
    return frame.astype({k: float for k in spec.keys if k not in ("quarter", "exported")})


def with_quarter(saved: pd.DataFrame, quarter: Quarter, values: Mapping[str, Any]) -> pd.DataFrame:
    """Board history with ``quarter``'s row added, or replaced if it was there; sorted.

    Examples
    --------
    >>> saved = pd.DataFrame({"quarter": ["2026Q3", "2026Q1"], "roi": [2.9, 2.5]})
    >>> with_quarter(saved, Quarter(2026, 3), {"roi": 3.1})[["quarter", "roi"]].values.tolist()
    [['2026Q1', 2.5], ['2026Q3', 3.1]]
    """
    row = {"quarter": quarter.label, **values}
    kept = saved[saved["quarter"].astype(str) != quarter.label]
    frame = pd.concat([kept, pd.DataFrame([row])], ignore_index=True)
    frame = frame.reindex(columns=C.BOARD_HISTORY_TABLE.keys)
    order = frame["quarter"].map(lambda q: Quarter.parse(q))
    return frame.iloc[order.argsort(kind="stable")].reset_index(drop=True)


# --- Maturity -------------------------------------------------------------------------------


def read_answers(ws: Any | None) -> tuple[dict[str, Answer | None], dict[str, Any]]:
    """The Maturity answers on a tab: parsed by item, and as typed (to write back unchanged).

    An answer that is not yes, partly or no is an error naming its cell.
    """
    spec = C.MATURITY_ANSWERS_TABLE
    if ws is None or spec.name not in ws.tables:
        return {}, {}
    min_col, min_row, max_col, max_row = range_boundaries(ws.tables[spec.name].ref)
    headers = {_norm(ws.cell(min_row, c).value): c for c in range(min_col, max_col + 1)}
    key_col = headers.get(_norm(spec.column("key").header))
    answer_col = headers.get(_norm(spec.column("answer").header))
    if key_col is None or answer_col is None:
        return {}, {}
    parsed: dict[str, Answer | None] = {}
    raw: dict[str, Any] = {}
    problems = []
    for r in range(min_row + 1, max_row + 1):
        key, value = ws.cell(r, key_col).value, ws.cell(r, answer_col).value
        if key is None:
            continue
        raw[str(key)] = value
        text = "" if value is None else str(value).strip().lower()
        if not text:
            parsed[str(key)] = None
        elif text in {a.value for a in Answer}:
            parsed[str(key)] = Answer(text)
        else:
            cell = ws.cell(r, answer_col).coordinate
            problems.append(
                Problem(f"{ws.title}!{cell}", f"answer must be yes, partly or no, got {value!r}")
            )
    raise_errors(problems)
    return parsed, raw


def workbook_facts(wb: Workbook, book: Book, saved: pd.DataFrame) -> WorkbookFacts:
    """What the workbook shows about how the team works (see :class:`WorkbookFacts`)."""
    src = book.inventory.sources
    in_use = src[src["status"] != Status.PAUSED]
    third = in_use[in_use["party"] == Party.THIRD]
    history = book.inventory.history
    return WorkbookFacts(
        history_months=int(history["month"].nunique()) if len(history) else 0,
        third_party_sources=len(third),
        third_party_with_health=int(third["health"].notna().sum()),
        noncompliant_in_use=tuple(in_use.index[in_use["compliance"] == Compliance.NONCOMPLIANT]),
        forecast_rows=_forecast_rows(wb),
        forecast_horizon=_horizon(wb, history),
        hiring_rows=filled_rows(wb, C.HIRING.name),
        scored_leads=_scored(wb),
        board_quarters=len(saved),
    )


def _forecast_rows(wb: Workbook) -> int | None:
    """Data rows on the tabs Refresh forecast writes (None when the workbook has none)."""
    counts = [n for n in (filled_rows(wb, tab) for tab in FORECAST_TABS) if n is not None]
    return sum(counts) if counts else None


def _horizon(wb: Workbook, history: pd.DataFrame) -> int | None:
    """Months from History's last month to the latest month on the Forecast tab's tables."""
    if history.empty:
        return None
    months = [
        pd.to_datetime(pd.Series(table.column("month"), dtype=object), errors="coerce").max()
        for table in _tables(wb, C.FORECAST.name)
    ]
    months = [m for m in months if pd.notna(m)]
    if not months:
        return None
    last, reach = pd.Timestamp(history["month"].max()), max(months)
    return int((reach.year - last.year) * 12 + reach.month - last.month)


def _scored(wb: Workbook) -> int | None:
    if C.LEADS.name not in wb.sheetnames:
        return None
    return sum(
        sum(value is not None for value in table.column(SCORED_HEADER))
        for table in _tables(wb, C.LEADS.name)
    )
