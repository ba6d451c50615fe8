"""The workbook contract: every tab, Excel Table, column and defined name, declared once.

The template builder, the reader, the writer, the cell functions and the README's tab guide
all read this package; nothing else spells a header or a tab name. One module per group of
tabs declares their tables, columns and named cells (:mod:`~leadbook.contract.inputs`,
:mod:`~leadbook.contract.portfolio`, :mod:`~leadbook.contract.allocation`,
:mod:`~leadbook.contract.planning`, :mod:`~leadbook.contract.leads`,
:mod:`~leadbook.contract.board`, :mod:`~leadbook.contract.general`) in the vocabulary of
:mod:`~leadbook.contract.spec`; this module gathers them in tab order. Formulas of calculated
columns are written in Excel's readable form (``[@CPL]``, ``Sources[Monthly leads]``) and
expanded to the file form (``Sources[[#This Row],[CPL]]``) by :func:`file_formula`.
:mod:`~leadbook.contract.tables` reads a table's cells against its spec.
"""

from __future__ import annotations

from leadbook.contract.allocation import (
    ALLOCATION,
    ALLOCATION_BANDS_TABLE,
    ALLOCATION_SUMMARY,
    ALLOCATION_TABLE,
    BINDING_TABLE,
    GLIDE_TABLE,
    GLIDE_TOTALS_TABLE,
)
from leadbook.contract.board import (
    BOARD,
    BOARD_HISTORY_TABLE,
    BOARD_KPIS_TABLE,
    MATURITY,
    MATURITY_ANSWERS_TABLE,
    MATURITY_ROADMAP_TABLE,
    MATURITY_STAGES_TABLE,
    MATURITY_SUMMARY,
)
from leadbook.contract.general import (
    LOG,
    LOG_TABLE,
    PROBLEMS_TABLE,
    START,
)
from leadbook.contract.inputs import (
    HISTORY,
    HISTORY_TABLE,
    LIST_NAMES,
    PRICE_TIERS_TABLE,
    SETTINGS,
    SETTINGS_TABLE,
    SOURCE_SUMMARY,
    SOURCES,
    SOURCES_TABLE,
)
from leadbook.contract.leads import (
    LEAD_ACTIONS_TABLE,
    LEAD_BANDS_TABLE,
    LEAD_CALIBRATION_TABLE,
    LEAD_CELLS,
    LEAD_CONFUSION_TABLE,
    LEAD_METRICS_TABLE,
    LEAD_SOURCES_TABLE,
    LEADS,
    LEADS_TABLE,
)
from leadbook.contract.planning import (
    ACCURACY_TABLE,
    CAPACITY_CHECKS_TABLE,
    CHAPTER_CHECK_TABLE,
    COHORT_FLOWS_TABLE,
    FORECAST,
    FORECAST_DETAIL,
    FORECAST_LOG_TABLE,
    FORECAST_SERIES_TABLE,
    FORECAST_VIEW,
    HIRING,
    HIRING_PLAN_TABLE,
    HIRING_QUARTERS_TABLE,
    HIRING_VIEW,
    MONTH_VIEWS,
    PORTFOLIO_FORECAST_TABLE,
    ROI,
    ROI_TABLE,
    SCENARIOS_TABLE,
    SOURCE_FORECAST_TABLE,
)
from leadbook.contract.portfolio import (
    BANDS_TABLE,
    CLASSES_TABLE,
    SCORES,
    SCORES_TABLE,
    TIERS,
)
from leadbook.contract.spec import (
    CENTS,
    FORMATS,
    NUMERIC_KINDS,
    Column,
    Kind,
    MonthView,
    NamedCell,
    Role,
    SheetSpec,
    TableSpec,
    file_formula,
)
from leadbook.contract.whatif import (
    BUDGET_CURVE_TABLE,
    WHATIF,
    WHATIF_DIFFERENCES_TABLE,
    WHATIF_RESULTS_TABLE,
    WHATIF_SCENARIOS_TABLE,
)

SHEETS: tuple[SheetSpec, ...] = (
    START,
    SETTINGS,
    SOURCES,
    HISTORY,
    TIERS,
    SCORES,
    ALLOCATION,
    WHATIF,
    ROI,
    FORECAST,
    FORECAST_DETAIL,
    HIRING,
    LEADS,
    BOARD,
    MATURITY,
    LOG,
)


SHEET_NAMES = tuple(s.name for s in SHEETS)


TABLES: dict[str, TableSpec] = {t.name: t for s in SHEETS for t in s.tables}


NAMED_CELLS: dict[str, NamedCell] = {c.name: c for s in SHEETS for c in s.cells}


INPUT_SHEETS = frozenset(s.name for s in SHEETS if s.role is Role.INPUT)


OUTPUT_SHEETS = frozenset(s.name for s in SHEETS if s.role is Role.OUTPUT)


def sheet(name: str) -> SheetSpec:
    """The spec of tab ``name``."""
    for spec in SHEETS:
        if spec.name == name:
            return spec
    raise KeyError(f"no tab named {name!r}; tabs are {', '.join(SHEET_NAMES)}")


__all__ = [
    "ACCURACY_TABLE",
    "ALLOCATION",
    "ALLOCATION_BANDS_TABLE",
    "ALLOCATION_SUMMARY",
    "ALLOCATION_TABLE",
    "BANDS_TABLE",
    "BINDING_TABLE",
    "BOARD",
    "BOARD_HISTORY_TABLE",
    "BOARD_KPIS_TABLE",
    "BUDGET_CURVE_TABLE",
    "CAPACITY_CHECKS_TABLE",
    "CENTS",
    "CHAPTER_CHECK_TABLE",
    "CLASSES_TABLE",
    "COHORT_FLOWS_TABLE",
    "FORECAST",
    "FORECAST_DETAIL",
    "FORECAST_LOG_TABLE",
    "FORECAST_SERIES_TABLE",
    "FORECAST_VIEW",
    "FORMATS",
    "GLIDE_TABLE",
    "GLIDE_TOTALS_TABLE",
    "HIRING",
    "HIRING_PLAN_TABLE",
    "HIRING_QUARTERS_TABLE",
    "HIRING_VIEW",
    "HISTORY",
    "HISTORY_TABLE",
    "INPUT_SHEETS",
    "LEADS",
    "LEADS_TABLE",
    "LEAD_ACTIONS_TABLE",
    "LEAD_BANDS_TABLE",
    "LEAD_CALIBRATION_TABLE",
    "LEAD_CELLS",
    "LEAD_CONFUSION_TABLE",
    "LEAD_METRICS_TABLE",
    "LEAD_SOURCES_TABLE",
    "LIST_NAMES",
    "LOG",
    "LOG_TABLE",
    "MATURITY",
    "MATURITY_ANSWERS_TABLE",
    "MATURITY_ROADMAP_TABLE",
    "MATURITY_STAGES_TABLE",
    "MATURITY_SUMMARY",
    "MONTH_VIEWS",
    "NAMED_CELLS",
    "NUMERIC_KINDS",
    "OUTPUT_SHEETS",
    "PORTFOLIO_FORECAST_TABLE",
    "PRICE_TIERS_TABLE",
    "PROBLEMS_TABLE",
    "ROI",
    "ROI_TABLE",
    "SCENARIOS_TABLE",
    "SCORES",
    "SCORES_TABLE",
    "SETTINGS",
    "SETTINGS_TABLE",
    "SHEETS",
    "SHEET_NAMES",
    "SOURCES",
    "SOURCES_TABLE",
    "SOURCE_FORECAST_TABLE",
    "SOURCE_SUMMARY",
    "START",
    "TABLES",
    "TIERS",
    "WHATIF",
    "WHATIF_DIFFERENCES_TABLE",
    "WHATIF_RESULTS_TABLE",
    "WHATIF_SCENARIOS_TABLE",
    "Column",
    "Kind",
    "MonthView",
    "NamedCell",
    "Role",
    "SheetSpec",
    "TableSpec",
    "file_formula",
    "sheet",
]
