"""Build the workbook: the empty template (``leadbook new``) and the demo (``leadbook demo``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.portfolio.inventory import Inventory, StatedTotals
from leadbook.settings import Settings
from leadbook.workbook.layout import Expected, fit_text, formula_values
from leadbook.workbook.log import render_log
from leadbook.workbook.provenance import DEPENDS, write_stamp
from leadbook.workbook.read import Book
from leadbook.workbook.tabs.general import render_coming, render_start
from leadbook.workbook.tabs.inputs import render_history, render_settings, render_sources


@dataclass
class Rendered:
    """A workbook in memory and leadbook's value for every formula cell in it."""

    workbook: Workbook
    expected: Expected = field(default_factory=dict)


def build_workbook(
    inventory: Inventory | None,
    settings: Settings | None = None,
    stated: StatedTotals | None = None,
    notes: Iterable[str] = (),
    leads: pd.DataFrame | None = None,
) -> Rendered:
    """Every tab of the contract, inputs filled from ``inventory`` (or left empty) and the
    Leads table from ``leads``.

    Output tabs start empty; :func:`leadbook.workbook.jobs.outputs.render_outputs` fills them.
    """
    settings = settings or Settings()
    wb = Workbook()
    wb.remove(wb.active)
    for spec in C.SHEETS:
        wb.create_sheet(spec.name)
    rendered = Rendered(wb, formula_values(wb))
    expected = rendered.expected
    render_start(wb[C.START.name], expected, notes=notes)
    render_settings(wb[C.SETTINGS.name], settings, expected)
    render_sources(wb[C.SOURCES.name], inventory, stated or StatedTotals(), expected)
    render_history(wb[C.HISTORY.name], inventory, expected)
    from leadbook.workbook.jobs.outputs import OUTPUT_RENDERERS

    lead_book = None
    if leads is not None and inventory is not None:
        lead_book = Book(settings, inventory, stated or StatedTotals(), leads=leads)
    for spec in C.SHEETS:
        if spec.name == C.LEADS.name:
            OUTPUT_RENDERERS[spec.name](wb[spec.name], lead_book, expected)
        elif spec.name in OUTPUT_RENDERERS:
            OUTPUT_RENDERERS[spec.name](wb[spec.name], None, expected)
        elif spec.coming:
            render_coming(wb[spec.name], spec)
    render_log(wb[C.LOG.name], expected)
    for name in DEPENDS:
        write_stamp(wb[name], None)
    for ws in wb.worksheets:
        fit_text(ws)
    wb.calculation.fullCalcOnLoad = True
    wb.active = 0
    return rendered
