"""The input tabs: Settings, Sources (with price tiers and blended figures) and History.

Only the template builder writes these; the writer never touches them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.enums import Choice
from leadbook.portfolio.inventory import (
    Inventory,
    StatedTotals,
    cpl_in_use,
    lead_shares,
    leads_bought_by_tier,
    portfolio_figures,
    source_cpa,
    spend_shares,
    stated_total_findings,
)
from leadbook.settings import (
    DOLLARS,
    PERCENT,
    Settings,
    SettingSpec,
    section_title,
    setting_rows,
)
from leadbook.workbook.layout import (
    INPUT_FILL,
    INPUT_FONT,
    LABEL_FONT,
    SECTION_FILL,
    SECTION_FONT,
    Expected,
    anchor_of,
    define_name,
    excel_text,
    excel_title,
    freeze,
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
    """The Settings table as a model's assumptions sheet: a heading per section, then each
    setting's label, key (its defined name), value, unit and note; every value has its
    defined name, an input message and a validation of its type and bounds."""
    title(
        ws,
        C.SETTINGS,
        "The model's assumptions, by section: change the blue-on-yellow values only. Each "
        "Key is a defined name you can use in formulas.",
    )
    rows, at = _setting_rows(settings)
    # No filter buttons: sorting would scatter the sections (and move values from their
    # defined names until leadbook's next write points them back).
    write_table(
        ws, C.SETTINGS_TABLE, pd.DataFrame(rows), expected, validate=False, autofilter=False
    )
    header_row, first = anchor_of(C.SETTINGS_TABLE)
    value_col = first + C.SETTINGS_TABLE.keys.index("value")
    for i in range(len(rows)):
        r = header_row + 1 + i
        if i not in at:
            _section_heading(ws, r, first)
            continue
        spec = at[i]
        cell = ws.cell(r, value_col)
        cell.number_format = SETTING_FORMATS.get(spec.unit, "General")
        define_name(ws.parent, spec.name, ws.title, cell.coordinate)
        dv = setting_validation(spec)
        ws.add_data_validation(dv)
        dv.add(cell.coordinate)
    freeze(ws, header_row + 1, first + 1)


def _setting_rows(settings: Settings) -> tuple[list[dict[str, Any]], dict[int, SettingSpec]]:
    """The Settings table's rows (a heading row before each section) and, by row index, the
    setting each other row holds."""
    rows: list[dict[str, Any]] = []
    at: dict[int, SettingSpec] = {}
    section = None
    for spec, value in setting_rows(settings):
        if spec.section != section:
            section = spec.section
            rows.append({"label": section_title(section)})
        at[len(rows)] = spec
        rows.append(
            {
                "label": spec.label,
                "key": spec.name,
                "value": value,
                "unit": UNIT_WORDS.get(spec.unit, spec.unit),
                "doc": spec.doc,
            }
        )
    return [{k: r.get(k) for k in C.SETTINGS_TABLE.keys} for r in rows], at


def _section_heading(ws: Worksheet, row: int, first: int) -> None:
    """A section's heading row: bold on grey, and no input styling on its Value cell."""
    for j in range(len(C.SETTINGS_TABLE.columns)):
        cell = ws.cell(row, first + j)
        cell.font, cell.fill = SECTION_FONT, SECTION_FILL


UNIT_WORDS = {PERCENT: "%", DOLLARS: "$"}


def setting_validation(spec: SettingSpec) -> DataValidation:
    """Excel's check of one setting's value: a list for a choice, else a number of the
    right kind within the setting's bounds; its input message says what the value means."""
    if issubclass(spec.kind, Choice):
        choices = spec.kind
        dv = DataValidation(
            type="list",
            formula1=f'"{",".join(m.value for m in choices)}"',
            error=f"{spec.label}: choose one of {choices.choices()}.",
        )
    else:
        lo = -1e12 if spec.lo is None else spec.lo
        hi = 1e12 if spec.hi is None else spec.hi
        dv = DataValidation(
            type="whole" if spec.kind is int else "decimal",
            operator="between",
            formula1=f"{lo:g}",
            formula2=f"{hi:g}",
            allow_blank=spec.key == "policy.budget",
            error=_bounds_message(spec, lo, hi),
        )
    dv.showErrorMessage = dv.showInputMessage = True
    dv.errorTitle = excel_title(spec.label)
    dv.promptTitle = excel_title(spec.label)
    unit = f" ({UNIT_WORDS.get(spec.unit, spec.unit)})" if spec.unit else ""
    dv.prompt = excel_text(spec.doc + unit)
    return dv


def _bounds_message(spec: SettingSpec, lo: float, hi: float) -> str:
    if spec.is_percent:
        return excel_text(
            f"{spec.label} is a percentage from {lo:.0%} to {hi:.0%}: type 25% (or 0.25), not 25."
        )
    kind = "a whole number" if spec.kind is int else "a number"
    upper = f" to {hi:,g}" if hi < 1e12 else " or more"
    return excel_text(f"{spec.label} must be {kind} from {lo:,g}{upper}.")


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
    tiers = None if inventory is None else inventory.price_tiers
    formula_values = {} if inventory is None else _source_formula_values(inventory)
    write_table(ws, C.SOURCES_TABLE, sources, expected, formula_values=formula_values)
    write_table(
        ws,
        C.PRICE_TIERS_TABLE,
        tiers,
        expected,
        formula_values=None
        if inventory is None
        else {"leads_today": leads_bought_by_tier(inventory.sources, tiers).tolist()},
    )
    for name, ref in C.LIST_NAMES.items():
        ws.parent.defined_names[name] = DefinedName(name, attr_text=ref)
    n = 0 if sources is None else len(sources)
    highlight_above(ws, table_column_range(ws, C.SOURCES_TABLE, "spend_share", n), "MaxSourceShare")
    highlight_below(ws, table_column_range(ws, C.SOURCES_TABLE, "health", n), "3", bad=False)
    highlight_above(ws, table_column_range(ws, C.SOURCES_TABLE, "conversion", n), "0.5", bad=False)
    header_row, _ = anchor_of(C.SOURCES_TABLE)
    freeze(ws, header_row + 1, 2)


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


def _source_formula_values(inventory: Inventory) -> dict[str, list[object]]:
    sources = inventory.sources
    return {
        "cpl_used": cpl_in_use(sources, inventory.price_tiers).tolist(),
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
    freeze(ws, header_row + 1, 1)


def style_input(cell) -> None:
    """Mark a cell as an input (blue on yellow)."""
    cell.font, cell.fill = INPUT_FONT, INPUT_FILL
