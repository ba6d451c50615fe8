"""The Decisions tab: the Recommendations log, appended to and never rewritten, and the
PlanVsActual table that Refresh fills.

Rebalance and Accept plan append their rows to the Recommendations table in place
(:func:`append_recommendations`): the rows already there are not touched. Refresh
re-renders the tab (:func:`render_decisions`) with the log's rows carried over, value for
value, from the tab it replaces, and PlanVsActual computed afresh.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.contract.tables import MAX_MAGNITUDE
from leadbook.enums import Objective
from leadbook.errors import Problem
from leadbook.workbook.layout import (
    Expected,
    anchor_of,
    excel_value,
    formula_values,
    freeze,
    note,
    set_cell,
    title,
    write_table,
)
from leadbook.workbook.sheets import replace_sheet
from leadbook.workbook.splice import append_rows, readable

_ID = re.compile(r"^R(\d+)$")
_PVA_NOTE = (
    "PlanVsActual (Refresh fills it): each History month an accepted plan covered. Customer "
    "variance = volume + price (CPL) + conversion + new or stopped, in that order: volume "
    "at planned rates, then price at planned conversion, then conversion."
)
_REC_NOTE = (
    "Recommendations: one row per source for every Rebalance (Event Recommended) and every "
    "Accept plan (Event Accepted). Rows are only ever added, never rewritten."
)


def _append_to_cut(wb: Workbook, source: Any, table: Any, rows: pd.DataFrame) -> None:
    """Append ``rows`` below the Recommendations table of the cut Decisions tab (the file's
    rows, ``source``, read as a stream only to its header and last row), through
    :func:`append_rows`."""
    spec = C.RECOMMENDATIONS_TABLE
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    (header,) = source.iter_rows(min_row, min_row, min_col, max_col, values_only=True)
    headers = [" ".join(str(v or "").split()).casefold() for v in header]
    if not log_is_started(source):
        raise AssertionError("the log is empty: a job that starts it loads the tab whole")
    at = {k: headers.index(spec.column(k).header.casefold()) for k in spec.keys}
    line = [None] * (max_col - min_col + 1)
    out = []
    for values in rows[list(spec.keys)].itertuples(index=False):
        cells = list(line)
        for key, value in zip(spec.keys, values, strict=True):
            cells[at[key]] = excel_value(value)
        out.append(cells)
    append_rows(wb, C.DECISIONS.name, max_row + 1, min_col, max_row, out)
    end = max_row + len(out)
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{end}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref


def _log_ref(ws: Any) -> str | None:
    spec = C.RECOMMENDATIONS_TABLE
    if ws is None or spec.name not in ws.tables:
        return None
    table = ws.tables[spec.name]
    return table.ref if hasattr(table, "ref") else table


def log_is_started(ws: Any) -> bool:
    """Whether tab ``ws`` (streamed or loaded; None: absent) holds a Recommendations table
    with a row in it — which Rebalance and Accept append to without loading the tab. Reads
    the table's last row only."""
    ref = _log_ref(ws)
    if ref is None:
        return False
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    if max_row > min_row + 1:
        return True
    (last,) = ws.iter_rows(max_row, max_row, min_col, max_col, values_only=True)
    return max_row > min_row and any(v is not None and v != "" for v in last)


def log_ids(ws: Any) -> list[Any]:
    """The Recommendation column of the log on ``ws`` (streamed or loaded; None: none)."""
    return log_column(ws, "rec_id")


def log_column(ws: Any, key: str) -> list[Any]:
    """Column ``key`` of the log on ``ws`` (streamed or loaded; None: none), read alone."""
    ref = _log_ref(ws)
    if ref is None:
        return []
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    (header,) = ws.iter_rows(min_row, min_row, min_col, max_col, values_only=True)
    headers = [" ".join(str(v or "").split()).casefold() for v in header]
    name = C.RECOMMENDATIONS_TABLE.column(key).header.casefold()
    if name not in headers:
        return []
    col = min_col + headers.index(name)
    return [r[0] for r in ws.iter_rows(min_row + 1, max_row, col, col, values_only=True)]


def render_decisions(
    ws: Worksheet,
    log: pd.DataFrame | None,
    pva: pd.DataFrame | None,
    expected: Expected,
) -> None:
    """The Decisions tab: the Recommendations rows ``log`` (as read from the tab it
    replaces) and the PlanVsActual rows ``pva`` (None: empty)."""
    title(ws, C.DECISIONS)
    rec_row, _ = anchor_of(C.RECOMMENDATIONS_TABLE)
    note(ws, f"A{rec_row - 1}", _REC_NOTE)
    pva_row, pva_col = anchor_of(C.PLAN_VS_ACTUAL_TABLE)
    note(ws, f"{get_column_letter(pva_col)}{pva_row - 1}", _PVA_NOTE)
    write_table(
        ws, C.RECOMMENDATIONS_TABLE, log if log is not None and len(log) else None, expected
    )
    write_table(ws, C.PLAN_VS_ACTUAL_TABLE, pva if pva is not None and len(pva) else None, expected)
    if pva is not None and len(pva):
        bold_totals(ws, len(pva))
    freeze(ws, rec_row + 1, 1)


def bold_totals(ws: Worksheet, n: int) -> None:
    """Each month's Total row of PlanVsActual in bold."""
    from openpyxl.styles import Font

    row, col = anchor_of(C.PLAN_VS_ACTUAL_TABLE)
    at = C.PLAN_VS_ACTUAL_TABLE.keys.index("source")
    width = len(C.PLAN_VS_ACTUAL_TABLE.columns)
    for r in range(row + 1, row + 1 + n):
        if ws.cell(r, col + at).value == "Total":
            for c in range(col, col + width):
                ws.cell(r, c).font = Font(bold=True)


def read_log(ws: Any, span: tuple[int, int] | None = None, *, by_row: bool = False) -> pd.DataFrame:
    """The Recommendations rows on tab ``ws`` (an openpyxl or streamed tab; None: none), keyed
    by contract column; blank rows dropped. Columns are found by their header. ``span``:
    only the data rows ``first``…``last`` (0 the table's first). ``by_row``: indexed by
    sheet row, with each column's letter in ``attrs["columns"]`` (for :func:`log_problems`)."""
    spec = C.RECOMMENDATIONS_TABLE
    empty = pd.DataFrame(columns=list(spec.keys))
    if ws is None or spec.name not in ws.tables:
        return empty
    table = ws.tables[spec.name]
    ref = table.ref if hasattr(table, "ref") else table
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    (header,) = ws.iter_rows(min_row, min_row, min_col, max_col, values_only=True)
    first, last = (
        (min_row + 1, max_row) if span is None else (min_row + 1 + span[0], min_row + 1 + span[1])
    )
    rows = [header, *ws.iter_rows(first, last, min_col, max_col, values_only=True)]
    headers = [" ".join(str(h or "").split()).casefold() for h in rows[0]]
    at = {
        c.key: headers.index(c.header.casefold())
        for c in spec.columns
        if c.header.casefold() in headers
    }
    kept = [
        (first + i, {key: row[j] for key, j in at.items()})
        for i, row in enumerate(rows[1:])
        if any(v is not None and v != "" for v in row)
    ]
    frame = pd.DataFrame([d for _, d in kept], columns=list(spec.keys))
    if by_row:
        frame.index = pd.Index([r for r, _ in kept], name="row")
        frame.attrs["columns"] = {k: get_column_letter(min_col + j) for k, j in at.items()}
    return frame


_REQUIRED = ("rec_id", "event", "plan_from", "source", "spend", "leads", "customers")
"""The log's columns PlanVsActual reads: every row must have them."""
_CHECKED = (*_REQUIRED[:2], "when", _REQUIRED[2], "objective", *_REQUIRED[3:], "before")
"""The log's columns checked cell by cell: all but Inputs (free text)."""
_FIGURES = ("spend", "leads", "customers")
_OBJECTIVES = tuple(o.value for o in Objective)
SHOWN = 10
"""Problems of the log listed one by one (the rest are counted)."""


def log_problems(log: pd.DataFrame) -> list[Problem]:
    """What is wrong with the Recommendations rows ``log`` (read ``by_row``), each at its
    cell: a missing column, an id not R0001…, an unknown event or objective, a blank, a
    month or time that is not a date, a figure that is not a number ≥ 0 below a trillion
    (Spend before may be blank), an acceptance whose sources are not those of its
    recommendation. The log is only ever appended to, so any of these is a hand edit.

    Examples
    --------
    >>> log = pd.DataFrame({"rec_id": ["R1"], "event": ["Accepted"], "when": [
    ...     dt.datetime(2026, 11, 3, 9)], "plan_from": [dt.datetime(2026, 11, 1)],
    ...     "objective": ["customers"], "source": ["A"], "spend": ["lots"], "leads": [1.0],
    ...     "customers": [0.1], "before": [None]}, index=[6])
    >>> log.attrs["columns"] = dict(zip(log.columns, "ABCDEGHIJK"))
    >>> [str(p).split(";")[0] for p in log_problems(log)]
    ["Decisions!H6: must be a number ≥ 0, got 'lots' (Spend of R1, A)"]
    """
    spec, sheet = C.RECOMMENDATIONS_TABLE, C.DECISIONS.name
    if log.empty:  # no tab, no table or no row yet: nothing to read wrong
        return []
    letters = log.attrs.get("columns", {})
    row, col = anchor_of(spec)
    missing = [k for k in _CHECKED if k not in letters]
    if missing:
        names = ", ".join(repr(spec.column(k).header) for k in missing)
        return [
            Problem(f"{sheet}!{get_column_letter(col)}{row}", f"{spec.name} has no {names} column")
        ]
    out: list[Problem] = []
    doubtful = log.loc[~_sound(log), list(_CHECKED)]  # the others need no cell-by-cell look
    for r, values in zip(doubtful.index, doubtful.itertuples(index=False), strict=True):
        cells = dict(zip(_CHECKED, values, strict=True))
        for key, value in cells.items():
            text = _log_cell(key, value)
            if text:
                whose = f"{spec.column(key).header} of {cells['rec_id']}, {cells['source']}"
                out.append(Problem(f"{sheet}!{letters[key]}{r}", f"{text} ({whose})"))
    if not out:  # a bad cell (an id) would count as a row missing here too
        out = _unmatched(log, f"{sheet}!{letters['source']}", f"{sheet}!{letters['rec_id']}")
    if len(out) > SHOWN:
        more = f"… and {len(out) - SHOWN:,} more problems in the log"
        out = [*out[:SHOWN], Problem(f"{sheet}!{spec.name}", more)]
    return [
        dataclasses.replace(p, message=f"{p.message}; {_FIX}") if i == 0 else p
        for i, p in enumerate(out)
    ]


_FIX = (
    "only Rebalance and Accept plan write the Recommendations log: type the cell back as they "
    "wrote it (leadbook undo --list shows the copies kept before each write), then Refresh"
)


def _dates(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(column):  # a column all dates: no cell to look at
        return column.notna().to_numpy(bool)
    return np.array([isinstance(v, dt.date) for v in column], dtype=bool)


def _figures(column: pd.Series, blank: bool = False) -> np.ndarray:
    """Which cells of ``column`` hold a number from 0 to below a trillion (or, ``blank``,
    nothing)."""
    numeric = pd.api.types.is_float_dtype(column) or pd.api.types.is_integer_dtype(column)
    plain = np.array(
        column.notna() if numeric else [type(v) in (int, float) for v in column], dtype=bool
    )
    x = pd.to_numeric(column.where(plain), errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        ok = plain & np.isfinite(x) & (x >= 0) & (x < MAX_MAGNITUDE)
    return ok | (column.isna().to_numpy(bool) if blank else False)


def _sound(log: pd.DataFrame) -> np.ndarray:
    """Which rows of ``log`` pass :func:`_log_cell` for sure, column by column at once."""
    ok = np.array(log["rec_id"].astype(str).str.fullmatch(_ID.pattern[1:-1]), dtype=bool)
    ok &= log["event"].isin([C.RECOMMENDED, C.ACCEPTED]).to_numpy(bool)
    ok &= log["objective"].isin(_OBJECTIVES).to_numpy(bool)
    ok &= _dates(log["plan_from"]) & _dates(log["when"])
    ok &= np.array([isinstance(v, str) and bool(v.strip()) for v in log["source"]], dtype=bool)
    for key in _FIGURES:
        ok &= _figures(log[key])
    return ok & _figures(log["before"], blank=True)


def _log_cell(key: str, value: Any) -> str:
    """What is wrong with one log cell ("" if nothing)."""
    blank = value is None or (isinstance(value, str) and not value.strip()) or value != value
    if blank:
        return "" if key == "before" else "is empty"  # a blank number cell is NaN in the frame
    if key == "rec_id" and not _ID.match(str(value)):
        return f"{value!r} is not an id (R0001, R0002…)"
    if key == "event" and value not in (C.RECOMMENDED, C.ACCEPTED):
        return f"must be {C.RECOMMENDED} or {C.ACCEPTED}, got {value!r}"
    if key == "objective" and value not in _OBJECTIVES:
        return f"must be {', '.join(_OBJECTIVES[:-1])} or {_OBJECTIVES[-1]}, got {value!r}"
    if key == "plan_from" and not isinstance(value, dt.date):
        return f"must be a month (a date), got {value!r}"
    if key == "when" and not isinstance(value, dt.date):
        return f"must be a date and time (when it was written), got {value!r}"
    if key in (*_FIGURES, "before"):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value < 0:
            return f"must be a number ≥ 0{' or blank' if key == 'before' else ''}, got {value!r}"
        if value >= MAX_MAGNITUDE:
            return f"must be below {MAX_MAGNITUDE:,.0f} (no plan is that large), got {value:,.0f}"
    return ""


def _unmatched(log: pd.DataFrame, column: str, id_column: str) -> list[Problem]:
    """An acceptance of an id the log never recommended (at its id); a source of a
    recommendation its acceptance lacks, or the reverse (at the row holding it; a single
    pair of them, one typed over, as one problem naming both rows); a source accepted twice.
    The log may hold 100,000 rows: compared as tables, not id by id."""
    pairs = log[["rec_id", "source"]].astype(str).assign(row=log.index, event=log["event"])
    acc = pairs[pairs["event"] == C.ACCEPTED]
    recommended = set(pairs.loc[pairs["event"] == C.RECOMMENDED, "rec_id"])
    orphans = acc[~acc["rec_id"].isin(recommended)].groupby("rec_id", sort=False)["row"].first()
    if len(orphans):
        return [
            Problem(
                f"{id_column}{row}",
                f"accepts {rec_id}, which no Recommended row of the log has (an id typed over?)",
            )
            for rec_id, row in orphans.items()
        ]
    rec = pairs[(pairs["event"] == C.RECOMMENDED) & pairs["rec_id"].isin(set(acc["rec_id"]))]
    keys = ["rec_id", "source"]
    both = rec.drop_duplicates(keys).merge(
        acc.drop_duplicates(keys), "outer", keys, suffixes=("_rec", "_acc"), indicator=True
    )
    odd = both[both["_merge"] != "both"]
    out = []
    for rec_id, rows in odd.groupby("rec_id", sort=False):
        out.extend(_mismatches(str(rec_id), rows, column))
    for _, r in acc[acc.duplicated(keys)].drop_duplicates(keys).iterrows():
        out.append(
            Problem(
                f"{column}{r['row']}",
                f"the acceptance of {r['rec_id']} has {r['source']!r} twice (a row copied?)",
            )
        )
    return sorted(out, key=lambda p: (len(p.where), p.where))


def _mismatches(rec_id: str, rows: pd.DataFrame, column: str) -> list[Problem]:
    """The sources of ``rec_id`` on one side of its log only (``rows`` of the merge), each
    at the row that holds it; one on each side is one cell typed over, reported once."""
    lacks = rows[rows["_merge"] == "left_only"]
    adds = rows[rows["_merge"] == "right_only"]
    if len(lacks) == 1 and len(adds) == 1:
        here, mine = int(lacks["row_rec"].iloc[0]), lacks["source"].iloc[0]
        there, theirs = int(adds["row_acc"].iloc[0]), adds["source"].iloc[0]
        return [
            Problem(
                f"{column}{here}",
                f"{rec_id}'s Recommended row holds {mine!r} where its Accepted row "
                f"{column}{there} holds {theirs!r}; the two were written alike, so one of "
                "them was typed over",
            )
        ]
    return [
        Problem(
            f"{column}{int(r['row_rec'])}",
            f"{rec_id} recommended {r['source']!r} here, but its acceptance lacks it (an "
            "Accepted row deleted or typed over?)",
        )
        for _, r in lacks.iterrows()
    ] + [
        Problem(
            f"{column}{int(r['row_acc'])}",
            f"the acceptance of {rec_id} has {r['source']!r}, which its Recommended rows "
            "lack (typed over, or a Recommended row deleted?)",
        )
        for _, r in adds.iterrows()
    ]


def next_id(log: pd.DataFrame) -> str:
    """The id the next recommendation gets: one more than the largest in ``log``.

    Examples
    --------
    >>> next_id(pd.DataFrame({"rec_id": []}))
    'R0001'
    >>> next_id(pd.DataFrame({"rec_id": ["R0001", "R0009", "R0009"]}))
    'R0010'
    >>> next_id(pd.DataFrame({"rec_id": ["R9999", "R0002"]}))
    'R10000'
    """
    numbers = [int(m.group(1)) for v in log["rec_id"] if (m := _ID.match(str(v or "")))]
    return f"R{max(numbers, default=0) + 1:04d}"


def recommendation_rows(
    rec_id: str,
    event: str,
    when: dt.datetime,
    plan_from: pd.Timestamp,
    objective: str,
    inputs: str,
    table: pd.DataFrame,
) -> pd.DataFrame:
    """The log rows of one recommendation or acceptance: ``table`` indexed by source with
    ``spend, leads, customers, before``."""
    return pd.DataFrame(
        {
            "rec_id": rec_id,
            "event": event,
            "when": when,
            "plan_from": pd.Timestamp(plan_from).to_pydatetime(),
            "objective": objective,
            "inputs": inputs,
            "source": [str(s) for s in table.index],
            "spend": table["spend"].astype(float).to_numpy(),
            "leads": table["leads"].astype(float).to_numpy(),
            "customers": table["customers"].astype(float).to_numpy(),
            "before": table["before"].astype(float).to_numpy(),
        },
        columns=list(C.RECOMMENDATIONS_TABLE.keys),
    )


def append_recommendations(wb: Workbook, rows: pd.DataFrame) -> Worksheet:
    """Append ``rows`` to the Recommendations table of ``wb`` in place; the rows there stay
    as they are. A workbook without the Decisions tab (made before it existed) gets it."""
    spec = C.RECOMMENDATIONS_TABLE
    if C.DECISIONS.name not in wb.sheetnames or spec.name not in wb[C.DECISIONS.name].tables:
        ws = replace_sheet(wb, C.DECISIONS.name)
        render_decisions(ws, None, None, formula_values(wb))
    ws = wb[C.DECISIONS.name]
    table = ws.tables[spec.name]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    source = readable(wb, C.DECISIONS.name)
    if source is not ws:  # cut out of the load: the rows go in as the file's rows go back
        _append_to_cut(wb, source, table, rows)
        return ws
    first_empty = max_row == min_row + 1 and all(
        ws.cell(max_row, c).value is None for c in range(min_col, max_col + 1)
    )
    r = max_row if first_empty else max_row + 1
    headers = [
        " ".join(str(ws.cell(min_row, c).value or "").split()).casefold()
        for c in range(min_col, max_col + 1)
    ]
    columns = [
        (spec.column(k), headers.index(spec.column(k).header.casefold()))
        for k in spec.keys
        if spec.column(k).header.casefold() in headers
    ]
    values = {k: rows[k].tolist() for k in spec.keys}
    for i in range(len(rows)):
        for col, j in columns:
            cell = ws.cell(r + i, min_col + j)
            set_cell(cell, excel_value(values[col.key][i]))
            cell.number_format = col.format
    last = r + len(rows) - 1
    end = max(last, min_row + 1)
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{end}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref
    return ws
