"""The example rows ``leadbook new`` puts in each input table, and how ``check`` finds them.

An empty table tells a new user nothing about what a row should hold; an example row does.
Each is marked as an example (its name starts with :data:`MARK`) and shown in grey italics,
and ``leadbook check`` reports it as an error until it is replaced or deleted, so an example
can never slip into an allocation.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from openpyxl.styles import Font
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.contract.tables import Locator
from leadbook.errors import Problem, Severity

MARK = "Example — "
"""How an example row's name starts."""
SOURCE = f"{MARK}comparison site (replace me)"
LEAD = "EXAMPLE-1"
MONTH = dt.datetime(2026, 1, 1)


def example_tables() -> dict[str, pd.DataFrame]:
    """The raw example row of each input table, keyed as in the contract."""
    return {
        C.SOURCES_TABLE.name: pd.DataFrame(
            [
                {
                    "source": SOURCE,
                    "vendor": "Example vendor",
                    "party": "third-party",
                    "channel": "Comparison",
                    "buyers": 1,
                    "age_hours": 2,
                    "history_months": 1,
                    "leads": 500,
                    "volume_cap": 800,
                    "cpl": 150.0,
                    "conversion": 0.15,
                    "revenue_per_customer": 1200.0,
                    "health": 4.0,
                    "compliance": "compliant",
                    "spend": 75_000.0,
                    "status": "active",
                }
            ]
        ),
        C.PRICE_TIERS_TABLE.name: pd.DataFrame([{"source": SOURCE, "up_to": 800, "cpl": 150.0}]),
        C.HISTORY_TABLE.name: pd.DataFrame(
            [
                {
                    "month": MONTH,
                    "source": SOURCE,
                    "spend": 75_000.0,
                    "leads": 500,
                    "customers": 75,
                    "revenue": 90_000.0,
                }
            ]
        ),
    }


def example_leads() -> pd.DataFrame:
    """The Leads table's example row: an open lead of the example source."""
    return pd.DataFrame(
        [
            {
                "lead_id": LEAD,
                "source": SOURCE,
                "created": MONTH,
                "cost": 150.0,
                "resale": True,
                "outcome": None,
                "value": 1200.0,
            }
        ]
    )


def is_example(value: object) -> bool:
    """Whether a row's name marks it as a template example.

    Examples
    --------
    >>> is_example(SOURCE), is_example(LEAD), is_example("Organic search")
    (True, True, False)
    """
    return isinstance(value, str) and value.strip().casefold().startswith(
        (MARK.casefold(), "example-")
    )


def example_problems(
    frame: pd.DataFrame, spec: C.TableSpec, locator: Locator, key: str
) -> list[Problem]:
    """An error at each example row of a raw table (its ``key`` column names the row)."""
    if key not in frame:
        return []
    codes, names = pd.factorize(frame[key])  # History repeats each name: each looked at once
    marked = np.array([*map(is_example, names), False], dtype=bool)[codes]
    return [
        Problem(
            locator.cell(i, key),
            f"{spec.name}: {frame[key].iat[i]!r} is the template's example row; replace it "
            "with your own or delete the row",
            Severity.ERROR,
        )
        for i in np.flatnonzero(marked).tolist()
    ]


EXAMPLE_TABLES = (
    (C.SOURCES_TABLE, "source"),
    (C.PRICE_TIERS_TABLE, "source"),
    (C.HISTORY_TABLE, "source"),
    (C.LEADS_TABLE, "lead_id"),
)


def mark_examples(wb: Workbook) -> None:
    """Show each example row of ``wb``'s input tables in grey italics."""
    for spec, key in EXAMPLE_TABLES:
        for ws in wb.worksheets:
            if spec.name not in ws.tables:
                continue
            min_col, min_row, max_col, max_row = range_boundaries(ws.tables[spec.name].ref)
            headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
            at = min_col + headers.index(spec.column(key).header)
            for r in range(min_row + 1, max_row + 1):
                if is_example(ws.cell(r, at).value):
                    for c in range(min_col, max_col + 1):
                        cell = ws.cell(r, c)
                        cell.font = Font(bold=cell.font.b, italic=True, color=EXAMPLE_COLOR)


EXAMPLE_COLOR = "7F7F9F"
