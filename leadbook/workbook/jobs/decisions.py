"""The decision record: each Rebalance's recommendation appended to the Decisions tab, and
Accept plan — the recommended spend written into Sources' Current spend, recorded there too.

Accept is the one job that writes to an input tab, and only to the Current spend cells of
the sources in the plan (:func:`leadbook.workbook.write.update_workbook` checks that nothing
else of the input tabs changed); ``leadbook undo`` puts the file back byte for byte. It
refuses, writing nothing, when there is no recommendation, when the Allocation tab is stale
against the inputs, or when the Allocation tab no longer holds the recommendation the log
recorded. See docs/decisions.md.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.allocation import Allocation
from leadbook.errors import LeadbookError
from leadbook.workbook.layout import is_formula_like, now
from leadbook.workbook.provenance import read_stamp, tab_statuses
from leadbook.workbook.read import open_inputs, read_table
from leadbook.workbook.splice import readable
from leadbook.workbook.tabs.decisions import (
    append_recommendations,
    log_column,
    log_ids,
    log_is_started,
    next_id,
    read_log,
    recommendation_rows,
)
from leadbook.workbook.write import WriteResult, one_job_per_workbook, update_workbook

TOLERANCE = 0.005
"""Spend that differs by less than half a cent is the same spend."""


class AcceptRefusedError(LeadbookError, ValueError):
    """Accept plan cannot accept: no recommendation, a stale one, or one the workbook no
    longer holds. Nothing was written."""


def inputs_text(prints: Mapping[str, str]) -> str:
    """The inputs' fingerprints as a stamp shows them.

    Examples
    --------
    >>> inputs_text({"Settings": "1a2b3c4d", "Sources": "5e6f7a8b"})
    'Settings 1a2b3c4d · Sources 5e6f7a8b'
    """
    return " · ".join(f"{g} {h}" for g, h in prints.items())


def plan_start(history: pd.DataFrame, today: dt.date | None = None) -> pd.Timestamp:
    """The first month a plan made now covers: the month after History's last (this month
    when History is empty).

    Examples
    --------
    >>> h = pd.DataFrame({"month": pd.to_datetime(["2026-09-01", "2026-10-01"])})
    >>> f"{plan_start(h):%Y-%m}"
    '2026-11'
    """
    months = pd.to_datetime(history["month"]) if len(history) else pd.Series(dtype=object)
    if len(months.dropna()):
        return (months.max().to_period("M") + 1).to_timestamp()
    return pd.Timestamp(today or now().date()).to_period("M").to_timestamp()


def record_recommendation(
    wb: Workbook, allocation: Allocation, inputs: str, plan_from: pd.Timestamp
) -> str:
    """Append ``allocation`` to the Recommendations log of ``wb`` under the next id; the id."""
    table = allocation.table
    frame = pd.DataFrame(
        {
            "spend": table["recommended"],
            "leads": table["leads"],
            "customers": table["customers"],
            "before": table["current"],
        },
        index=table.index,
    )
    return _append(wb, frame, allocation.objective.value, inputs, plan_from)


def record_allocation_tab(wb: Workbook, inputs: str, plan_from: pd.Timestamp) -> str | None:
    """Append the recommendation on ``wb``'s Allocation tab (as the demo renders it) to the
    log; its id, or None when the tab holds none."""
    frame, _, problems = read_table(wb, C.ALLOCATION_TABLE)
    if problems or frame.empty or frame["source"].isna().all():
        return None
    frame = frame.dropna(subset=["source"]).set_index("source")
    rows = pd.DataFrame(
        {
            "spend": frame["recommended"],
            "leads": frame["leads"],
            "customers": frame["customers"],
            "before": frame["current"],
        }
    )
    status = str(wb[C.ALLOCATION.name][C.NAMED_CELLS["RebalanceStatus"].cell].value or "")
    found = re.search(r"\(([^()]*)\)\s*$", status)
    return _append(wb, rows, found.group(1) if found else "", inputs, plan_from)


def _append(
    wb: Workbook, rows: pd.DataFrame, objective: str, inputs: str, plan_from: pd.Timestamp
) -> str:
    ws = readable(wb, C.DECISIONS.name) if C.DECISIONS.name in wb.sheetnames else None
    rec_id = next_id(pd.DataFrame({"rec_id": log_ids(ws)}))
    log = recommendation_rows(rec_id, C.RECOMMENDED, now(), plan_from, objective, inputs, rows)
    append_recommendations(wb, log)
    return rec_id


# --- Accept plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    """What Accept plan wrote: the recommendation and, per source, the spend before and after."""

    rec_id: str
    spend: pd.DataFrame
    """Indexed by source: ``before``, ``after``."""


@one_job_per_workbook
def accept(path: str | Path, *, user: str | None = None) -> tuple[WriteResult, Acceptance]:
    """Write the last recommendation's spend into Sources' Current spend and record the
    acceptance on the Decisions tab (one Accepted row per source) and the Log.

    Raises :class:`AcceptRefusedError` (nothing written) when there is no recommendation, it was
    accepted already, the Allocation tab is stale or no longer the recommendation recorded.
    """
    book = open_inputs(path)
    rec_id, plan, inputs = _acceptable(book)
    book_tab = book[C.DECISIONS.name]
    plan_from = pd.Timestamp(plan["plan_from"].iloc[0])
    objective = str(plan["objective"].iloc[0] or "")
    spend = plan.set_index("source")["spend"].astype(float)
    before: dict[str, Any] = {}

    def job(wb: Workbook) -> str:
        ws, cells = _spend_cells(wb, list(spend.index))
        for source, cell in cells.items():
            if is_formula_like(cell.value):
                raise AcceptRefusedError(
                    f"{ws.title}!{cell.coordinate}: the Current spend of {source!r} is a formula "
                    f"({cell.value}); Accept plan writes values only and would replace it. "
                    "Type the recommended spend yourself, or make the cell a value first"
                )
            before[source] = cell.value
            cell.value = round(float(spend[source]), 2)
        rows = plan.set_index("source")[["spend", "leads", "customers"]].astype(float)
        rows["spend"] = rows["spend"].round(2)
        rows["before"] = [_number(before[s]) for s in rows.index]
        log = recommendation_rows(rec_id, C.ACCEPTED, now(), plan_from, objective, inputs, rows)
        append_recommendations(wb, log)
        moved = sum(abs(rows["spend"] - rows["before"].fillna(0.0)) > TOLERANCE)
        return (
            f"accepted {rec_id}: wrote the recommended spend of {len(rows)} sources into "
            f"Sources[Current spend] ({moved} changed; ${rows['spend'].sum():,.0f} a month, "
            f"was ${rows['before'].fillna(0.0).sum():,.0f}); plan from {plan_from:%b %Y}"
        )

    result = update_workbook(
        path,
        "accept",
        job,
        user=user,
        changes=() if log_is_started(book_tab) else (C.DECISIONS.name,),
        input_edits={C.SOURCES_TABLE.name: ("spend",)},
    )
    table = pd.DataFrame(
        {"before": [_number(before[s]) for s in spend.index], "after": spend.round(2).to_numpy()},
        index=spend.index,
    )
    return result, Acceptance(rec_id, table)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _acceptable(book: Any) -> tuple[str, pd.DataFrame, str]:
    """The last recommendation (its id, its rows, its inputs) if it may be accepted."""
    ws = book[C.DECISIONS.name] if C.DECISIONS.name in book.sheetnames else None
    ids, events = log_ids(ws), log_column(ws, "event")  # two columns, not 100,000 rows
    recommended = [str(i) for i, e in zip(ids, events, strict=True) if e == C.RECOMMENDED]
    if not recommended:
        raise AcceptRefusedError(
            "there is no recommendation to accept: the Decisions tab records none. Press "
            "Rebalance (leadbook rebalance BOOK) first"
        )
    rec_id = max(recommended, key=_id_number)
    at = [i for i, v in enumerate(ids) if str(v) == rec_id]
    log = read_log(ws, (min(at), max(at)))
    plan = log[(log["event"] == C.RECOMMENDED) & (log["rec_id"] == rec_id)]
    done = log[(log["event"] == C.ACCEPTED) & (log["rec_id"] == rec_id)]
    if not done.empty:
        raise AcceptRefusedError(
            f"{rec_id} was accepted already ({_when(done['when'].iloc[0])}); press Rebalance "
            "for a new recommendation, then Accept plan"
        )
    if C.ALLOCATION.name not in book.sheetnames:
        raise AcceptRefusedError("the Allocation tab is missing; press Rebalance, then Accept plan")
    stamp = read_stamp(book[C.ALLOCATION.name])
    status = next((s for s in tab_statuses(book) if s.tab == C.ALLOCATION.name), None)
    if stamp is None or status is None:
        raise AcceptRefusedError(
            "the Allocation tab holds no computed recommendation; press Rebalance first"
        )
    if status.stale:
        raise AcceptRefusedError(
            f"cannot accept {rec_id}: {status.problem().message.replace('press', 'press')}, "
            "then Accept plan"
        )
    inputs = str(plan["inputs"].iloc[0] or "")
    if inputs != " · ".join(f"{g} {h}" for g, h in stamp.inputs.items()):
        raise AcceptRefusedError(
            f"cannot accept {rec_id}: it was computed from inputs {inputs or '(none recorded)'}, "
            "but the Allocation tab shows a later or other computation; press Rebalance, then "
            "Accept plan"
        )
    _same_plan(book, rec_id, plan)
    return rec_id, plan.reset_index(drop=True), inputs


def _id_number(rec_id: str) -> int:
    """R0042 → 42 (ids outgrow four digits: R10000 comes after R9999).

    >>> max(["R9999", "R10000"], key=_id_number)
    'R10000'
    """
    digits = rec_id.removeprefix("R")
    return int(digits) if digits.isdigit() else -1


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, dt.datetime) else str(value)


def _same_plan(book: Any, rec_id: str, plan: pd.DataFrame) -> None:
    """Refuse when the Allocation table or Sources no longer match the plan ``rec_id``."""
    frame, _, problems = read_table(book, C.ALLOCATION_TABLE)
    if problems:
        raise AcceptRefusedError(f"cannot accept {rec_id}: {problems[0]}; press Rebalance again")
    shown = {
        str(s): _number(v)
        for s, v in zip(frame["source"], frame["recommended"], strict=True)
        if s is not None and str(s).strip()
    }
    planned = {str(s): _number(v) for s, v in zip(plan["source"], plan["spend"], strict=True)}
    differ = sorted(
        s
        for s in set(shown) | set(planned)
        if s not in shown or s not in planned or not abs(shown[s] - planned[s]) <= TOLERANCE
    )
    if differ:
        raise AcceptRefusedError(
            f"cannot accept {rec_id}: the Allocation table no longer shows it (it differs for "
            f"{', '.join(map(repr, differ[:3]))}{' …' if len(differ) > 3 else ''}); press "
            "Rebalance again, then Accept plan"
        )
    sources, _, problems = read_table(book, C.SOURCES_TABLE)
    names = {str(s).strip() for s in sources.get("source", []) if s is not None}
    missing = sorted(set(planned) - names)
    if problems or missing:
        what = f"{', '.join(map(repr, missing[:3]))} not in Sources" if missing else problems[0]
        raise AcceptRefusedError(f"cannot accept {rec_id}: {what}; press Rebalance again")


def _spend_cells(wb: Workbook, sources: list[str]) -> tuple[Any, dict[str, Any]]:
    """The Sources tab and the Current spend cell of each of ``sources``."""
    spec = C.SOURCES_TABLE
    ws = next(w for w in wb.worksheets if spec.name in w.tables)
    min_col, min_row, max_col, max_row = range_boundaries(ws.tables[spec.name].ref)
    headers = [
        " ".join(str(ws.cell(min_row, c).value or "").split()).casefold()
        for c in range(min_col, max_col + 1)
    ]
    name_col = min_col + headers.index(spec.column("source").header.casefold())
    spend_col = min_col + headers.index(spec.column("spend").header.casefold())
    rows = {
        str(ws.cell(r, name_col).value).strip(): r
        for r in range(min_row + 1, max_row + 1)
        if ws.cell(r, name_col).value is not None
    }
    missing = [s for s in sources if s not in rows]
    if missing:
        raise AcceptRefusedError(
            f"{', '.join(map(repr, missing))} not found in Sources; nothing was written"
        )
    return ws, {s: ws.cell(rows[s], spend_col) for s in sources}


# --- Undo of an accept, from a button --------------------------------------------------------


def accepted_spend(path: str | Path) -> dict[str, float]:
    """The spend the workbook's last acceptance wrote, per source (empty without one)."""
    wb = open_inputs(path)
    log = read_log(wb[C.DECISIONS.name] if C.DECISIONS.name in wb.sheetnames else None)
    done = log[log["event"] == C.ACCEPTED]
    if done.empty:
        return {}
    last = done[done["rec_id"] == done["rec_id"].iloc[-1]]
    return {str(s): _number(v) for s, v in zip(last["source"], last["spend"], strict=True)}


def restored_spend(path: str | Path, written: Mapping[str, float]) -> dict[str, tuple[float, Any]]:
    """For the workbook at ``path`` as an undo restored it: each Current spend cell an
    acceptance wrote ``written`` into, as ``address → (written, value restored)``; the
    Excel Undo button puts back those the user has not typed over since."""
    from openpyxl import load_workbook

    wb = load_workbook(path, data_only=True)
    try:
        _, cells = _spend_cells(wb, [s for s in written])
    except AcceptRefusedError:  # a source gone from the restored Sources: left alone
        return {}
    return {c.coordinate: (written[s], c.value) for s, c in cells.items()}
