"""The Allocation tab, which Rebalance rewrites: the recommendation, why, and the glide path.

Layout: the summary (named cells, live totals) at the top; the ``Allocation`` table of
next week's recommended spend next to today's with the change, share and CPA as live
formulas; to its right the recommended spend by class against the Settings bands
(``AllocationBands``, live SUMIFS) and every binding rule in words (``BindingRules``);
below it two native charts (current vs recommended by source; band usage against the
limits) and, for a glide path, the spend per source week by week with its chart.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.allocation import Allocation
from leadbook.allocation.model import Feeds
from leadbook.contract import Column, Kind, Role, file_formula
from leadbook.errors import InfeasiblePolicyError
from leadbook.portfolio.classify import BAND_GROUPS
from leadbook.settings import Settings, spec_for
from leadbook.workbook.layout import (
    Expected,
    anchor_of,
    freeze,
    highlight_text,
    note,
    table_column_range,
    title,
    write_named_cells,
    write_table,
)
from leadbook.workbook.sheets import CHART_BUILDERS

_GROUP_COLUMN = {"Tier": "Tier", "Lead type": "Lead type", "Risk": "Risk"}
_GROUP_KEY = {"Tier": "tier", "Lead type": "lead_type", "Risk": "risk"}
CHART_ROWS = 18
"""Rows the charts under the allocation table take."""
CAPACITY_CELL = "A13"
"""Where the sales capacity the solve used came from (read back by the board pack)."""
EXPLANATION_CELL = "A14"
"""The cell holding the solve's headline sentence (read back by the board pack)."""
CONVERSION_CELL = "A15"
"""Where the conversion rates the solve used came from (read back by the board pack)."""


def render_allocation(
    ws: Worksheet,
    allocation: Allocation | None,
    settings: Settings,
    expected: Expected,
    *,
    problem: InfeasiblePolicyError | None = None,
    feeds: Feeds | None = None,
) -> None:
    """Write the Allocation tab from ``allocation`` (None: empty tables, with ``problem``'s
    conflicts listed if the policy could not be met). ``feeds`` says where each source's
    conversion came from (the Conversion from column, blank without it); the sales
    capacity used is stated above the table."""
    title(ws, C.ALLOCATION)
    rows = _rows(allocation, feeds)
    _summary(ws, allocation, rows, settings, expected)
    write_table(
        ws,
        C.ALLOCATION_TABLE,
        rows if len(rows) else None,
        expected,
        formula_values=_formula_values(rows),
    )
    header_row, _ = anchor_of(C.ALLOCATION_TABLE)
    last_row = header_row + max(len(rows), 1)
    highlight_text(
        ws,
        table_column_range(ws, C.ALLOCATION_TABLE, "role", len(rows)),
        ["off"],
        bad=False,
    )
    _bands(ws, rows, allocation, settings, expected)
    _binding(ws, allocation, problem)
    if allocation is None:
        message = (
            "Press Rebalance (or run `leadbook rebalance BOOK`) to fill this tab."
            if problem is None
            else "The last Rebalance found the policy cannot be met; see the rules listed."
        )
        note(ws, EXPLANATION_CELL, message)
    else:
        note(ws, EXPLANATION_CELL, allocation.explanation()[0])
    _sources_of_figures(ws, allocation, feeds)
    if allocation is not None and allocation.glide is not None:
        _glide(ws, allocation, last_row + 3 + CHART_ROWS, expected)
    freeze(ws, header_row + 1, 2)
    draw_allocation_charts(ws)


def _rows(allocation: Allocation | None, feeds: Feeds | None = None) -> pd.DataFrame:
    keys = [c.key for c in C.ALLOCATION_TABLE.columns if c.role is not Role.FORMULA]
    if allocation is None:
        return pd.DataFrame(columns=keys)
    t = allocation.table
    origin = None if feeds is None else feeds.conversion["origin"].reindex(t.index)
    frame = t.assign(source=t.index, conversion_from=origin)
    frame["marginal_cpa"] = frame["marginal_cpa"].where(np.isfinite(frame["marginal_cpa"]))
    return frame[keys].reset_index(drop=True)


def _sources_of_figures(ws: Worksheet, allocation: Allocation | None, feeds: Feeds | None) -> None:
    """Where the sales capacity and the conversion rates came from."""
    capacity = allocation.sales_capacity if allocation is not None else None
    if capacity is None and feeds is not None:
        capacity = feeds.sales_capacity
    if capacity is not None:
        note(ws, CAPACITY_CELL, f"Sales capacity: {capacity.text}.")
    if feeds is not None:
        note(ws, CONVERSION_CELL, feeds.conversion_note)


def _formula_values(rows: pd.DataFrame) -> dict[str, list]:
    current = rows["current"].astype(float).to_numpy()
    rec = rows["recommended"].astype(float).to_numpy()
    customers = rows["customers"].astype(float).to_numpy()
    change = rec - current
    total = rec.sum()
    return {
        "change": change.tolist(),
        "change_pct": [
            c / cur if cur > 0 else None for c, cur in zip(change, current, strict=True)
        ],
        "share": (rec / total if total > 0 else rec * 0.0).tolist(),
        "cpa": [r / k if k > 0 else None for r, k in zip(rec, customers, strict=True)],
    }


def _budget_shown(settings: Settings, expected: Expected) -> float:
    """What the Budget cell's link shows without an allocation: the Budget setting, or
    today's spend (the Sources tab's CurrentSpend, as leadbook computed it) when blank."""
    if settings.policy.budget is not None:
        return settings.policy.budget
    spend = C.NAMED_CELLS["CurrentSpend"]
    return float(expected.get(f"{spend.sheet}!{spend.cell}") or 0.0)


def _summary(
    ws: Worksheet,
    allocation: Allocation | None,
    rows: pd.DataFrame,
    settings: Settings,
    expected: Expected,
) -> None:
    rec = float(rows["recommended"].astype(float).sum()) if len(rows) else 0.0
    cur = float(rows["current"].astype(float).sum()) if len(rows) else 0.0
    leads = float(rows["leads"].astype(float).sum()) if len(rows) else 0.0
    customers = float(rows["customers"].astype(float).sum()) if len(rows) else 0.0
    a = allocation
    budget = a.budget if a is not None else _budget_shown(settings, expected)
    today_customers = a.today.customers if a is not None else None
    values = {
        "RebalanceStatus": None if a is None else f"{a.status} ({a.objective.value})",
        "RebalanceBudget": budget,
        "RebalanceSpend": rec,
        "RebalanceUnspent": (budget or 0.0) - rec,
        "RebalanceLeads": leads,
        "RebalanceCustomers": customers,
        "RebalanceCPA": rec / customers if customers > 0 else None,
        "RebalanceBudgetValue": None if a is None else a.budget_value,
        "RebalanceObjective": None if a is None else a.objective_value,
        "RebalanceTodaySpend": cur,
        "RebalanceTodayLeads": None if a is None else a.today.leads,
        "RebalanceTodayCustomers": today_customers,
        "RebalanceTodayCPA": cur / today_customers if today_customers else None,
    }
    write_named_cells(ws, C.ALLOCATION_SUMMARY, values, expected)
    ws.column_dimensions["D"].width = max(ws.column_dimensions["D"].width or 0, 20)


def _bands(
    ws: Worksheet,
    rows: pd.DataFrame,
    allocation: Allocation | None,
    settings: Settings,
    expected: Expected,
) -> None:
    bands = settings.bands
    rec = rows["recommended"].astype(float).to_numpy() if len(rows) else np.zeros(0)
    cur = rows["current"].astype(float).to_numpy() if len(rows) else np.zeros(0)
    total, today = rec.sum(), cur.sum()
    usage, spend_f, low_f, high_f = [], [], [], []
    for group, _, members in BAND_GROUPS:
        key = _GROUP_KEY[group]
        for klass, attr in members:
            mask = (rows[key] == klass.value).to_numpy() if len(rows) else np.zeros(0, bool)
            amount = float(rec[mask].sum())
            share = amount / total if total > 0 else 0.0
            band = getattr(bands, attr)
            status = (
                "below"
                if share < band.min - 1e-6
                else "above"
                if share > band.max + 1e-6
                else "within"
            )
            usage.append(
                {
                    "group": group,
                    "klass": klass.value,
                    "current_share": float(cur[mask].sum()) / today if today > 0 else 0.0,
                    "spend": amount,
                    "share": share,
                    "band_min": band.min,
                    "band_max": band.max,
                    "status": status,
                }
            )
            spend_f.append(
                file_formula(
                    C.ALLOCATION_BANDS_TABLE,
                    f"SUMIFS(Allocation[Recommended],Allocation[{_GROUP_COLUMN[group]}],[@Class])",
                )[1:]
            )
            low_f.append(spec_for(f"bands.{attr}.min").name)
            high_f.append(spec_for(f"bands.{attr}.max").name)
    frame = pd.DataFrame(usage)
    write_table(
        ws,
        C.ALLOCATION_BANDS_TABLE,
        frame,
        expected,
        formula_values={
            k: frame[k].tolist() for k in ("spend", "share", "band_min", "band_max", "status")
        },
        row_formulas={"spend": spend_f, "band_min": low_f, "band_max": high_f},
        style="TableStyleLight9",
    )
    highlight_text(
        ws,
        table_column_range(ws, C.ALLOCATION_BANDS_TABLE, "status", len(frame)),
        ["below", "above"],
    )
    row, col = anchor_of(C.ALLOCATION_BANDS_TABLE)
    note(ws, f"{get_column_letter(col)}{row - 1}", "Recommended spend by class against the bands.")


def _binding(
    ws: Worksheet, allocation: Allocation | None, problem: InfeasiblePolicyError | None
) -> None:
    if allocation is not None:
        texts = [("binding", t) for t in allocation.binding]
    elif problem is not None:
        texts = [(c.rule, c.message) for c in problem.conflicts]
    else:
        texts = []
    frame = pd.DataFrame(
        [{"rank": k + 1, "rule": rule, "text": text} for k, (rule, text) in enumerate(texts)],
        columns=C.BINDING_TABLE.keys,
    )
    write_table(ws, C.BINDING_TABLE, frame if len(frame) else None, {}, style="TableStyleLight1")
    row, col = anchor_of(C.BINDING_TABLE)
    heading = "What binds next week" if problem is None else "Rules that must give"
    note(ws, f"{get_column_letter(col)}{row - 1}", heading)


def glide_table(weeks: int, anchor: str) -> C.TableSpec:
    """The glide path's table: source, today, then one column per week."""
    columns = list(C.GLIDE_TABLE.columns) + [
        Column(f"week_{w}", f"Week {w}", Kind.CURRENCY, Role.OUTPUT, width=11)
        for w in range(1, weeks + 1)
    ]
    return dataclasses.replace(C.GLIDE_TABLE, columns=tuple(columns), anchor=anchor)


def _glide(ws: Worksheet, allocation: Allocation, row: int, expected: Expected) -> None:
    glide, totals = allocation.glide, allocation.glide_totals
    assert glide is not None and totals is not None
    spec = glide_table(allocation.weeks, f"A{row}")
    frame = pd.DataFrame(
        {
            "source": glide.columns,
            "current": allocation.table["current"].reindex(glide.columns).to_numpy(),
            **{f"week_{w}": glide.loc[w].to_numpy() for w in glide.index},
        }
    )
    note(
        ws, f"A{row - 1}", f"Glide path: spend per source, week by week ({allocation.weeks} weeks)"
    )
    write_table(ws, spec, frame, expected, style="TableStyleLight9")
    col = len(spec.columns) + 2
    tspec = dataclasses.replace(C.GLIDE_TOTALS_TABLE, anchor=f"{get_column_letter(col)}{row}")
    sums = [f"SUM(GlidePath[Week {w}])" for w in totals.index]
    spend = [float(glide.loc[w].sum()) for w in totals.index]
    customers = totals["customers"].to_numpy()
    rows = pd.DataFrame(
        {
            "week": totals.index,
            "leads": totals["leads"].to_numpy(),
            "customers": customers,
        }
    )
    write_table(
        ws,
        tspec,
        rows,
        expected,
        formula_values={
            "spend": spend,
            "cpa": [s / k if k > 0 else None for s, k in zip(spend, customers, strict=True)],
        },
        row_formulas={"spend": sums},
        style="TableStyleLight9",
    )


def _table_area(ws: Worksheet, name: str) -> tuple[int, int, int, int] | None:
    if name not in ws.tables:
        return None
    return range_boundaries(ws.tables[name].ref)


def _col(spec: C.TableSpec, key: str, first: int) -> int:
    return first + spec.keys.index(key)


def draw_allocation_charts(ws: Worksheet) -> None:
    """(Re)draw the tab's native charts from the tables on it (see ``CHART_BUILDERS``)."""
    ws._charts = []
    area = _table_area(ws, C.ALLOCATION_TABLE.name)
    if area is None:
        return
    first, top, _, bottom = area
    if bottom <= top or ws.cell(top + 1, first).value in (None, ""):
        return
    spec = C.ALLOCATION_TABLE
    cats = Reference(ws, min_col=first, min_row=top + 1, max_row=bottom)
    data = Reference(
        ws,
        min_col=_col(spec, "current", first),
        max_col=_col(spec, "recommended", first),
        min_row=top,
        max_row=bottom,
    )
    bar = BarChart()
    bar.type = "bar"
    bar.title = "Current vs recommended spend by source ($ a month)"
    bar.add_data(data, titles_from_data=True)
    bar.set_categories(cats)
    bar.height, bar.width = 8.5, 17
    ws.add_chart(bar, f"A{bottom + 3}")
    _band_chart(ws, f"J{bottom + 3}")
    _glide_chart(ws)


def _band_chart(ws: Worksheet, anchor: str) -> None:
    area = _table_area(ws, C.ALLOCATION_BANDS_TABLE.name)
    if area is None:
        return
    first, top, _, bottom = area
    spec = C.ALLOCATION_BANDS_TABLE
    cats = Reference(ws, min_col=_col(spec, "klass", first), min_row=top + 1, max_row=bottom)
    share = Reference(ws, min_col=_col(spec, "share", first), min_row=top, max_row=bottom)
    limits = Reference(
        ws,
        min_col=_col(spec, "band_min", first),
        max_col=_col(spec, "band_max", first),
        min_row=top,
        max_row=bottom,
    )
    bar = BarChart()
    bar.title = "Recommended share by class against the bands"
    bar.add_data(share, titles_from_data=True)
    bar.set_categories(cats)
    bar.y_axis.number_format = "0%"
    line = LineChart()
    line.add_data(limits, titles_from_data=True)
    line.set_categories(cats)
    bar += line
    bar.height, bar.width = 8.5, 17
    ws.add_chart(bar, anchor)


def _glide_chart(ws: Worksheet) -> None:
    area = _table_area(ws, C.GLIDE_TABLE.name)
    if area is None:
        return
    first, top, last, bottom = area
    chart = LineChart()
    chart.title = "Glide path: spend per source by week ($ a month)"
    data = Reference(ws, min_col=first, max_col=last, min_row=top + 1, max_row=bottom)
    chart.add_data(data, from_rows=True, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=first + 1, max_col=last, min_row=top))
    chart.height, chart.width = 9, 24
    ws.add_chart(chart, f"A{bottom + 3}")


CHART_BUILDERS[C.ALLOCATION.name] = draw_allocation_charts
