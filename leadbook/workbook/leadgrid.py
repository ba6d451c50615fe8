"""Reading the Leads tab: the lead table's raw cells by header, and the model it records.

Score leads, Rebalance (the model's conversion) and ``LB.LEAD_SCORE`` read these; the tab's
renderer (:mod:`leadbook.workbook.tabs.leads`) only writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.contract.tables import SheetLocator, cell_value

if TYPE_CHECKING:  # scikit-learn takes seconds to import; only Score leads needs it
    from leadbook.leads.store import ModelRecord


def read_lead_grid(wb: Workbook) -> tuple[pd.DataFrame, SheetLocator] | None:
    """The Leads table's raw cells by header and where they sit; None if there is no table."""
    for ws in wb.worksheets:
        if C.LEADS_TABLE.name in ws.tables:
            table = ws.tables[C.LEADS_TABLE.name]
            min_col, min_row, max_col, max_row = range_boundaries(table.ref)
            grid = [
                [cell_value(v) for v in row]
                for row in ws.iter_rows(
                    min_row=min_row,
                    max_row=max_row,
                    min_col=min_col,
                    max_col=max_col,
                    values_only=True,
                )
            ]
            headers = [str(h).strip() if h is not None else "" for h in grid[0]]
            frame = pd.DataFrame(grid[1:], columns=headers)
            letters = _letters(headers, min_col)
            return frame, SheetLocator(ws.title, min_row, letters)
    return None


def _letters(headers: list[str], min_col: int) -> dict[str, str]:
    from leadbook.leads.table import FIXED_HEADERS

    letters = {}
    for j, header in enumerate(headers):
        key = FIXED_HEADERS.get(" ".join(header.split()).casefold(), header)
        letters[key] = get_column_letter(min_col + j)
    return letters


def read_model_record(wb: Workbook) -> ModelRecord | None:
    """The model the workbook records (hash, training-data hash, when, what), or None."""
    from leadbook.leads.store import ModelRecord

    ws = wb[C.LEADS.name] if C.LEADS.name in wb.sheetnames else None
    if ws is None:
        return None
    cells = {nc.name: ws[nc.cell].value for nc in C.LEAD_CELLS[:4]}
    model_hash = cells["LeadModelHash"]
    if not model_hash or not str(model_hash).strip():
        return None
    trained = cells["LeadModelTrained"]
    return ModelRecord(
        str(model_hash).strip(),
        str(cells["LeadModelData"] or ""),
        trained.isoformat() if hasattr(trained, "isoformat") else str(trained),
        str(cells["LeadModel"] or ""),
    )
