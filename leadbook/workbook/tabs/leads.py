"""The Leads tab: your lead table (inputs) with leadbook's output columns, and the model report.

The tab is both input and output, so Score leads never replaces it: it rewrites the report
above the table (rows 3–22) and the output columns of the Leads table, cell by cell, and
:func:`leadbook.workbook.write.update_workbook` checks that every other column of the table
(the inputs and the features) is exactly as it was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.contract import Column, Kind, Role, file_formula
from leadbook.leads.table import NUMERIC
from leadbook.settings import LeadRules, Settings
from leadbook.workbook.layout import (
    LABEL_FONT,
    Expected,
    Formula,
    anchor_of,
    excel_value,
    freeze,
    highlight_text,
    note,
    set_cell,
    table_column_range,
    title,
    write_named_cells,
    write_table,
)
from leadbook.workbook.sheets import CHART_BUILDERS

if TYPE_CHECKING:  # scikit-learn takes seconds to import; only Score leads needs it
    from leadbook.leads.store import ModelRecord

REPORT_ROWS = range(3, 23)
REPORT_TABLES = (
    C.LEAD_METRICS_TABLE,
    C.LEAD_CONFUSION_TABLE,
    C.LEAD_BANDS_TABLE,
    C.LEAD_ACTIONS_TABLE,
    C.LEAD_CALIBRATION_TABLE,
    C.LEAD_SOURCES_TABLE,
)
_OUTPUT_KEYS = [c.key for c in C.LEADS_TABLE.columns if c.role is not Role.INPUT]
_FIRST_FEATURE = C.LEADS_TABLE.keys.index("created") + 1


def leads_spec(kinds: Mapping[str, str]) -> C.TableSpec:
    """The Leads table with feature columns (keyed by header) after Created."""
    features = tuple(
        Column(
            name,
            name,
            Kind.NUMBER if kind == NUMERIC else Kind.TEXT,
            required=False,
            number_format="General",
            width=max(10, min(len(name) + 2, 18)),
        )
        for name, kind in kinds.items()
    )
    cols = C.LEADS_TABLE.columns
    return replace(C.LEADS_TABLE, columns=cols[:_FIRST_FEATURE] + features + cols[_FIRST_FEATURE:])


# --- Building (template and demo) ----------------------------------------------------------


def render_leads(ws: Worksheet, book: Any, expected: Expected) -> None:
    """The Leads tab as built: the lead table (the demo's, or empty) and an empty report."""
    title(ws, C.LEADS)
    leads = getattr(book, "leads", None)
    kinds = {} if leads is None else _kinds_of(leads)
    rules = book.settings.leads if book is not None else Settings().leads
    render_report(ws, None, expected, rules=rules)
    spec = leads_spec(kinds)
    n = 0 if leads is None else len(leads)
    write_table(
        ws,
        spec,
        leads,
        expected,
        formula_values={"expected_roi": [None] * n},
        style="TableStyleLight9",
    )
    highlight_text(ws, table_column_range(ws, spec, "action", n), ["drop"], bad=False)
    header_row, _ = anchor_of(spec)
    freeze(ws, header_row + 1, 2)


def _kinds_of(leads: pd.DataFrame) -> dict[str, str]:
    fixed = set(C.LEADS_TABLE.keys)
    return {
        c: NUMERIC if pd.api.types.is_numeric_dtype(leads[c]) else "categorical"
        for c in leads.columns
        if c not in fixed
    }


# --- The report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadReport:
    """Everything the report above the Leads table shows."""

    record: ModelRecord
    report: Any
    rules: Any
    closed_since: int
    scored_at: Any
    actions: pd.DataFrame
    bands_open: Mapping[str, int]
    threshold: Any
    sell_quality: float | None
    sources: pd.DataFrame
    note: str
    drift: str | None = None
    """The warning that the leads scored differ from the training leads, or None."""


def render_report(
    ws: Worksheet, report: LeadReport | None, expected: Expected, *, rules: LeadRules | None = None
) -> None:
    """The model record, held-out metrics, confusion matrix, bands, actions, calibration,
    the ROI thresholds, pricing of the leads to sell and per-source quality.

    Without a report (a workbook never scored) the live formulas still get leadbook's values
    from ``rules`` (the Settings' lead section)."""
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    _clear_report(ws)
    ws["A3"] = "Model record (Score leads loads only the file with this hash)"
    ws["A3"].font = LABEL_FONT
    values = _cell_values(report, rules or LeadRules())
    write_named_cells(ws, C.LEAD_CELLS[:7], values, expected)
    ws["T14"] = "Work-first threshold"
    ws["T19"] = "Pricing the leads to sell (the chapter's formulas, live)"
    ws["T14"].font = ws["T19"].font = LABEL_FONT
    write_named_cells(ws, C.LEAD_CELLS[7:], values, expected)
    for nc in C.LEAD_CELLS:
        if nc.role is Role.OUTPUT:  # leadbook's figures, not inputs: no input styling
            ws[nc.cell].font, ws[nc.cell].fill = Font(), PatternFill()
    frames = _report_frames(report)
    for spec in REPORT_TABLES:
        rows = frames.get(spec.name)
        formula_values = {}
        if spec is C.LEAD_CONFUSION_TABLE and rows is not None:
            formula_values = {"total": (rows["hit"] + rows["miss"]).tolist()}
        if spec is C.LEAD_BANDS_TABLE and rows is not None:
            formula_values = {
                "conversion": [
                    c / h if h > 0 else None
                    for c, h in zip(rows["converted"], rows["held_out"], strict=True)
                ]
            }
        write_table(
            ws, spec, rows, expected, formula_values=formula_values, style="TableStyleLight1"
        )
    if report is not None:
        note(ws, "A20", report.note)
        if report.drift:
            ws["A21"] = report.drift
            ws["A21"].font = DRIFT_FONT
    draw_leads_charts(ws)
    for key, width in widths.items():
        ws.column_dimensions[key].width = width
    ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width or 0, 24)
    ws.column_dimensions["U"].width = max(ws.column_dimensions["U"].width or 0, 12)


DRIFT_FONT = Font(bold=True, color="9C0006")


def draw_leads_charts(ws: Worksheet) -> None:
    """Predicted against observed conversion by score tenth (the calibration table)."""
    ws._charts = []
    header_row, first = anchor_of(C.LEAD_CALIBRATION_TABLE)
    if ws.cell(header_row + 1, first + 2).value is None:
        return
    chart = BarChart()
    chart.title = "Held-out conversion by score tenth: predicted vs observed"
    chart.y_axis.title = "conversion"
    chart.y_axis.numFmt = "0%"
    last = header_row + 10
    data = Reference(ws, min_col=first + 2, max_col=first + 3, min_row=header_row, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=first, min_row=header_row + 1, max_row=last))
    chart.width, chart.height = 18, 8
    ws.add_chart(chart, "AG3")


CHART_BUILDERS[C.LEADS.name] = draw_leads_charts


def _clear_report(ws: Worksheet) -> None:
    for spec in REPORT_TABLES:
        if spec.name in ws.tables:
            del ws.tables[spec.name]
    last = max(ws.max_column, 40)
    for r in REPORT_ROWS:
        for c in range(1, last + 1):
            cell = ws.cell(r, c)
            if cell.value is not None:
                cell.value = None


def _cell_values(report: LeadReport | None, rules: LeadRules) -> dict[str, Any]:
    if report is None:
        return {
            "LeadRoiInUse": rules.roi_threshold,
            "LeadSellPrice": rules.cost_low / (1 - rules.target_margin),
            "LeadSellProfit": rules.price_low - rules.cost_low,
        }
    rec, t, rules = report.record, report.threshold, report.rules
    p = report.sell_quality
    p0 = 0.0 if p is None else p
    return {
        "LeadModel": rec.kind,
        "LeadModelHash": rec.model_hash,
        "LeadModelData": rec.data_hash,
        "LeadModelTrained": pd.Timestamp(rec.trained).to_pydatetime(),
        "LeadModelSplit": report.report.split,
        "LeadModelClosedSince": report.closed_since,
        "LeadsScored": report.scored_at,
        "LeadRoiInUse": t.settings_threshold,
        "LeadProfitAtSetting": t.settings_profit,
        "LeadBestThreshold": None if math.isinf(t.best_threshold) else t.best_threshold,
        "LeadProfitAtBest": t.best_profit,
        "LeadSellQuality": p,
        "LeadSellPrice": (p0 * rules.cost_high + (1 - p0) * rules.cost_low)
        / (1 - rules.target_margin),
        "LeadSellProfit": p0 * (rules.price_high - rules.cost_high)
        + (1 - p0) * (rules.price_low - rules.cost_low),
    }


def _report_frames(report: LeadReport | None) -> dict[str, pd.DataFrame | None]:
    if report is None:
        return {}
    from leadbook.leads.model import LOGISTIC

    r = report.report
    chosen, base = r.held_out[r.chosen], r.held_out[LOGISTIC]
    metrics = pd.DataFrame(
        [
            ("CV log loss", r.cv_log_loss[r.chosen], r.cv_log_loss[LOGISTIC]),
            ("AUC", chosen.auc, base.auc),
            ("Log loss", chosen.log_loss, base.log_loss),
            ("Brier score", chosen.brier, base.brier),
            (
                f"Accuracy at {r.threshold:.0%}",
                chosen.at_threshold.accuracy,
                base.at_threshold.accuracy,
            ),
            (
                f"Precision at {r.threshold:.0%}",
                chosen.at_threshold.precision,
                base.at_threshold.precision,
            ),
            (f"Recall at {r.threshold:.0%}", chosen.at_threshold.recall, base.at_threshold.recall),
            ("Top-tenth lift", chosen.top_decile_lift, base.top_decile_lift),
        ],
        columns=["metric", "chosen", "baseline"],
    )
    m = chosen.at_threshold
    confusion = pd.DataFrame(
        [
            ("Converted", m.true_hits, m.missed_hits),
            ("Did not convert", m.false_hits, m.true_misses),
        ],
        columns=["actual", "hit", "miss"],
    ).astype({"hit": float, "miss": float})
    bands = r.bands.assign(open=[float(report.bands_open.get(b, 0)) for b in r.bands["band"]])
    return {
        C.LEAD_METRICS_TABLE.name: metrics,
        C.LEAD_CONFUSION_TABLE.name: confusion,
        C.LEAD_BANDS_TABLE.name: bands,
        C.LEAD_ACTIONS_TABLE.name: report.actions,
        C.LEAD_CALIBRATION_TABLE.name: r.calibration,
        C.LEAD_SOURCES_TABLE.name: report.sources,
    }


# --- Reading the lead table and the model record -------------------------------------------


# --- Writing the output columns in place ----------------------------------------------------


def write_outputs(ws: Worksheet, outputs: pd.DataFrame, expected: Expected | None = None) -> int:
    """Write the output columns of the Leads table; ``outputs`` is indexed by table row.

    Rows not in ``outputs`` (closed or blank leads) get blank outputs. Input and feature
    columns are never touched. Returns how many rows got values.
    """
    table = ws.tables[C.LEADS_TABLE.name]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    headers = {
        " ".join(str(ws.cell(min_row, c).value or "").split()).casefold(): c
        for c in range(min_col, max_col + 1)
    }
    for key in _OUTPUT_KEYS:
        col = C.LEADS_TABLE.column(key)
        c = headers.get(col.header.casefold())
        if c is None:
            continue
        for i in range(max_row - min_row):
            cell = ws.cell(min_row + 1 + i, c)
            cell.number_format = col.format
            if col.role is Role.FORMULA:
                set_cell(cell, Formula(file_formula(C.LEADS_TABLE, col.formula or "")))
                if expected is not None:
                    value = outputs["expected_roi"].get(i) if i in outputs.index else None
                    expected[f"{ws.title}!{cell.coordinate}"] = excel_value(value)
                continue
            value = outputs[key].get(i) if i in outputs.index else None
            set_cell(cell, excel_value(value))
    return len(outputs)


def missing_output_columns(ws: Worksheet) -> list[str]:
    """Output headers absent from the Leads table (a user deleted one)."""
    table = ws.tables[C.LEADS_TABLE.name]
    min_col, min_row, max_col, _ = range_boundaries(table.ref)
    present = {
        " ".join(str(ws.cell(min_row, c).value or "").split()).casefold()
        for c in range(min_col, max_col + 1)
    }
    return [
        C.LEADS_TABLE.column(k).header
        for k in _OUTPUT_KEYS
        if C.LEADS_TABLE.column(k).header.casefold() not in present
    ]


def as_cells(values: np.ndarray) -> list[Any]:
    """Floats with NaN as blank, for cells."""
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]
