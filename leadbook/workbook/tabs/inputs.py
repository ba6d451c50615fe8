"""The input tabs: Settings, Sources (with price tiers and blended figures) and History.

Only the template builder writes these; the writer never touches them.
"""

from __future__ import annotations

import pandas as pd
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from leadbook.enums import Choice
from leadbook.inventory import (
    Inventory,
    StatedTotals,
    lead_shares,
    portfolio_figures,
    source_cpa,
    spend_shares,
    stated_total_findings,
)
from leadbook.settings import DOLLARS, PERCENT, SETTING_SPECS, Settings, setting_rows
from leadbook.workbook import contract as C
from leadbook.workbook.layout import (
    INPUT_FILL,
    INPUT_FONT,
    LABEL_FONT,
    Expected,
    anchor_of,
    define_name,
    highlight_above,
    highlight_below,
    highlight_text,
    note,
    table_column_range,
    title,
    write_named_cells,
    write_table,
)

SETTING_FORMATS = {PERCENT: "0.0%", DOLLARS: '"$"#,##0'}


def render_settings(ws: Worksheet, settings: Settings, expected: Expected) -> None:
    """The Settings table, one defined name per setting, drop-downs for choices."""
    title(ws, C.SETTINGS)
    rows = pd.DataFrame(
        [
            {
                "key": spec.key,
                "label": spec.label,
                "value": value,
                "unit": spec.unit,
                "name": spec.name,
                "doc": spec.doc,
            }
            for spec, value in setting_rows(settings)
        ]
    )
    write_table(ws, C.SETTINGS_TABLE, rows, expected)
    header_row, first = anchor_of(C.SETTINGS_TABLE)
    value_col = first + C.SETTINGS_TABLE.keys.index("value")
    for i, spec in enumerate(SETTING_SPECS):
        cell = ws.cell(header_row + 1 + i, value_col)
        cell.number_format = SETTING_FORMATS.get(spec.unit, "General")
        define_name(ws.parent, spec.name, ws.title, cell.coordinate)
        if issubclass(spec.kind, Choice):
            dv = DataValidation(
                type="list",
                formula1=f'"{",".join(m.value for m in spec.kind)}"',
                showErrorMessage=True,
                error=f"Choose one of: {spec.kind.choices()}",
            )
            ws.add_data_validation(dv)
            dv.add(cell.coordinate)
    ws.freeze_panes = ws.cell(header_row + 1, first + 1)


def render_sources(
    ws: Worksheet, inventory: Inventory | None, stated: StatedTotals, expected: Expected
) -> None:
    """Blended figures, stated totals and their checks, the Sources and PriceTiers tables."""
    title(ws, C.SOURCES, "Blue-on-yellow cells are inputs; black cells are Excel formulas.")
    ws["A3"], ws["D3"], ws["F3"] = "Portfolio (computed from the rows)", "Stated elsewhere", "Check"
    ws["A3"].font = ws["D3"].font = ws["F3"].font = LABEL_FONT
    values = _summary_values(inventory, stated)
    write_named_cells(ws, C.SOURCE_SUMMARY, values, expected)
    highlight_text(ws, "F4:F7", ["does not follow from the rows"], bad=False)
    note(ws, "A11", "Sources")
    note(
        ws,
        C.PRICE_TIERS_TABLE.anchor.replace("12", "11"),
        "Price tiers (optional): each tier's CPL applies up to its lead count; the last tier "
        "runs to the volume cap.",
    )
    sources = None if inventory is None else inventory.sources
    formula_values = {} if sources is None else _source_formula_values(sources)
    write_table(ws, C.SOURCES_TABLE, sources, expected, formula_values=formula_values)
    write_table(
        ws, C.PRICE_TIERS_TABLE, None if inventory is None else inventory.price_tiers, expected
    )
    for name, ref in C.LIST_NAMES.items():
        ws.parent.defined_names[name] = DefinedName(name, attr_text=ref)
    n = 0 if sources is None else len(sources)
    highlight_above(ws, table_column_range(ws, C.SOURCES_TABLE, "spend_share", n), "MaxSourceShare")
    highlight_below(ws, table_column_range(ws, C.SOURCES_TABLE, "health", n), "3", bad=False)
    highlight_above(ws, table_column_range(ws, C.SOURCES_TABLE, "conversion", n), "0.5", bad=False)
    header_row, _ = anchor_of(C.SOURCES_TABLE)
    ws.freeze_panes = f"B{header_row + 1}"


def _summary_values(inventory: Inventory | None, stated: StatedTotals) -> dict[str, object]:
    values: dict[str, object] = {
        "StatedLeads": stated.leads,
        "StatedCPL": stated.blended_cpl,
        "StatedConversion": stated.blended_conversion,
        "StatedTolerance": stated.tolerance,
    }
    if inventory is None or inventory.sources.empty:
        return values | {
            "TotalLeads": 0.0,
            "CurrentSpend": 0.0,
            "CheckLeads": None,
            "CheckCPL": None,
            "CheckConversion": None,
        }
    figures = portfolio_figures(inventory.sources)
    flagged = {p.where for p in stated_total_findings(figures, stated)}
    values |= {
        "TotalLeads": figures.leads,
        "CurrentSpend": figures.spend,
        "BlendedCPL": figures.blended_cpl,
        "BlendedConversion": figures.blended_conversion,
        "BlendedCPA": figures.blended_cpa,
        "FirstPartyShare": figures.first_party_share,
    }
    for check, stated_name in (
        ("CheckLeads", "StatedLeads"),
        ("CheckCPL", "StatedCPL"),
        ("CheckConversion", "StatedConversion"),
    ):
        cell = C.NAMED_CELLS[stated_name]
        given = values[stated_name]
        values[check] = (
            None
            if not given
            else "does not follow from the rows"
            if f"{cell.sheet}!{cell.cell}" in flagged
            else "consistent"
        )
    return values


def _source_formula_values(sources: pd.DataFrame) -> dict[str, list[object]]:
    return {
        "lead_share": lead_shares(sources).tolist(),
        "spend_share": spend_shares(sources).tolist(),
        "cpa": source_cpa(sources).tolist(),
        "customers": (sources["leads"] * sources["conversion"]).tolist(),
    }


def render_history(ws: Worksheet, inventory: Inventory | None, expected: Expected) -> None:
    """The History table."""
    title(ws, C.HISTORY)
    write_table(ws, C.HISTORY_TABLE, None if inventory is None else inventory.history, expected)
    header_row, _ = anchor_of(C.HISTORY_TABLE)
    ws.freeze_panes = f"A{header_row + 1}"


def style_input(cell) -> None:
    """Mark a cell as an input (blue on yellow)."""
    cell.font, cell.fill = INPUT_FONT, INPUT_FILL
