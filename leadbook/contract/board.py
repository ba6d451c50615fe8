"""The Board tab (KPIs, Board history) and the Maturity tab (stages, answers, roadmap)."""

from __future__ import annotations

from leadbook.contract.spec import CENTS, Column, Kind, NamedCell, Role, SheetSpec, TableSpec
from leadbook.enums import Answer

# --- Board and Maturity -------------------------------------------------------------------

_CHANGE = (
    'IF(AND(ISNUMBER([@Value]),ISNUMBER([@[Previous quarter]])),[@Value]-[@[Previous quarter]],"")'
)


BOARD_KPIS_TABLE = TableSpec(
    name="BoardKPIs",
    sheet="Board",
    anchor="A5",
    doc="Each board KPI of the quarter against its target on Settings (status is live).",
    columns=(
        Column("kpi", "KPI", Kind.TEXT, Role.OUTPUT, width=44),
        Column(
            "value",
            "Value",
            Kind.NUMBER,
            Role.OUTPUT,
            required=False,
            number_format="General",
            width=12,
            doc="Blank when not available; 'How it is computed' says why.",
        ),
        Column(
            "direction",
            "Reads",
            Kind.TEXT,
            Role.OUTPUT,
            width=13,
            doc="at least / at most / near the target; a band as its two ends (10.0% – 15.0%).",
        ),
        Column(
            "target",
            "Target",
            Kind.NUMBER,
            Role.FORMULA,
            number_format="General",
            width=11,
            doc="The Settings value, by defined name (TargetROI, MaxSourceShare, ...).",
        ),
        Column(
            "status",
            "Status",
            Kind.TEXT,
            Role.FORMULA,
            width=13,
            doc="on target / watch (missed by at most WatchMargin of the target) / off "
            "target / not available / for information.",
        ),
        Column(
            "previous",
            "Previous quarter",
            Kind.NUMBER,
            Role.OUTPUT,
            required=False,
            number_format="General",
            width=12,
        ),
        Column(
            "change",
            "Change",
            Kind.NUMBER,
            Role.FORMULA,
            number_format="General",
            width=11,
            formula=_CHANGE,
        ),
        Column("trend", "Trend", Kind.TEXT, Role.OUTPUT, width=11),
        Column(
            "planned",
            "After Rebalance",
            Kind.NUMBER,
            Role.OUTPUT,
            required=False,
            number_format="General",
            width=11,
            doc="The KPI under the recommended allocation on the Allocation tab.",
        ),
        Column("basis", "How it is computed", Kind.TEXT, Role.OUTPUT, width=48),
        Column("source", "From", Kind.TEXT, Role.OUTPUT, width=16),
        Column(
            "key", "Key", Kind.TEXT, Role.OUTPUT, width=20, doc="The KPI's name for =LB.KPI(...)."
        ),
    ),
)


BOARD_HISTORY_TABLE = TableSpec(
    name="BoardHistory",
    sheet="Board",
    anchor="N5",
    doc="The KPI values of every exported quarter, kept across runs for the trends.",
    columns=(
        Column("quarter", "Quarter", Kind.TEXT, Role.OUTPUT, width=9),
        Column("exported", "Exported", Kind.TIMESTAMP, Role.OUTPUT, width=19),
        Column("roi", "ROI", Kind.PERCENT, Role.OUTPUT, required=False, width=9),
        Column("roi_12m", "ROI 12 months", Kind.PERCENT, Role.OUTPUT, required=False, width=9),
        Column(
            "blended_cpl",
            "Cost per lead",
            Kind.CURRENCY,
            Role.OUTPUT,
            required=False,
            number_format=CENTS,
            width=10,
        ),
        Column(
            "blended_cpa",
            "Cost per customer",
            Kind.CURRENCY,
            Role.OUTPUT,
            required=False,
            number_format=CENTS,
            width=10,
        ),
        Column(
            "budget_utilisation", "Budget used", Kind.PERCENT, Role.OUTPUT, required=False, width=9
        ),
        Column(
            "revenue_per_lead",
            "Revenue per lead",
            Kind.CURRENCY,
            Role.OUTPUT,
            required=False,
            number_format=CENTS,
            width=10,
        ),
        Column(
            "forecast_board",
            "Forecast error, quarter",
            Kind.PERCENT,
            Role.OUTPUT,
            required=False,
            width=10,
        ),
        Column(
            "forecast_monthly",
            "Forecast error, monthly",
            Kind.PERCENT,
            Role.OUTPUT,
            required=False,
            width=10,
        ),
        Column(
            "quality_consistency",
            "Quality consistency",
            Kind.PERCENT,
            Role.OUTPUT,
            required=False,
            width=10,
        ),
        Column(
            "capacity_utilisation",
            "Capacity used",
            Kind.PERCENT,
            Role.OUTPUT,
            required=False,
            width=9,
        ),
        Column(
            "vendor_health",
            "Vendor health",
            Kind.SCORE,
            Role.OUTPUT,
            required=False,
            number_format="0.00",
            width=8,
        ),
        Column(
            "largest_share", "Largest share", Kind.PERCENT, Role.OUTPUT, required=False, width=9
        ),
        Column(
            "high_risk_share", "High-risk share", Kind.PERCENT, Role.OUTPUT, required=False, width=9
        ),
        Column(
            "experimental_share",
            "Experimental share",
            Kind.PERCENT,
            Role.OUTPUT,
            required=False,
            width=11,
        ),
        Column(
            "first_party_share",
            "First-party share",
            Kind.PERCENT,
            Role.OUTPUT,
            required=False,
            width=10,
        ),
        Column(
            "active_sources",
            "Active sources",
            Kind.INTEGER,
            Role.OUTPUT,
            required=False,
            width=8,
        ),
    ),
)


MATURITY_STAGES_TABLE = TableSpec(
    name="MaturityStages",
    sheet="Maturity",
    anchor="A5",
    doc="Each stage's checklist score (live) and whether it is reached.",
    columns=(
        Column("stage", "Stage", Kind.INTEGER, Role.OUTPUT, width=7),
        Column(
            "points",
            "Score",
            Kind.NUMBER,
            Role.FORMULA,
            width=7,
            formula="SUMIFS(MaturityAnswers[Points],MaturityAnswers[Stage],[@Stage])",
        ),
        Column(
            "out_of",
            "Out of",
            Kind.INTEGER,
            Role.FORMULA,
            width=14,
            formula="COUNTIFS(MaturityAnswers[Stage],[@Stage])",
        ),
        Column("name", "Stage name", Kind.TEXT, Role.OUTPUT, width=60),
        Column(
            "share",
            "Share",
            Kind.PERCENT,
            Role.FORMULA,
            width=11,
            formula='IF([@[Out of]]>0,[@Score]/[@[Out of]],"")',
        ),
        Column(
            "reached",
            "Reached",
            Kind.TEXT,
            Role.FORMULA,
            width=12,
            doc="yes when the share is at least MaturityThreshold and the stage before is reached.",
        ),
        Column("summary", "What it looks like", Kind.TEXT, Role.OUTPUT, width=66),
    ),
)


MATURITY_ANSWERS_TABLE = TableSpec(
    name="MaturityAnswers",
    sheet="Maturity",
    anchor="A12",
    doc="The checklist: your answers (blue on yellow) win over what the workbook shows.",
    columns=(
        Column("key", "Item", Kind.TEXT, Role.OUTPUT, width=7),
        Column("stage", "Stage", Kind.INTEGER, Role.OUTPUT, width=7),
        Column("kind", "Kind", Kind.TEXT, Role.OUTPUT, width=14),
        Column("text", "Characteristic", Kind.TEXT, Role.OUTPUT, width=60),
        Column(
            "answer",
            "Your answer",
            Kind.CHOICE,
            Role.INPUT,
            required=False,
            choices=Answer,
            width=11,
            doc="yes, partly or no; blank lets the workbook's own evidence count.",
        ),
        Column("workbook", "From the workbook", Kind.TEXT, Role.OUTPUT, required=False, width=12),
        Column("evidence", "Evidence", Kind.TEXT, Role.OUTPUT, required=False, width=66),
        Column(
            "counted",
            "Counted",
            Kind.TEXT,
            Role.FORMULA,
            width=10,
            formula='IF(TRIM([@[Your answer]])<>"",LOWER(TRIM([@[Your answer]])),'
            'IF([@[From the workbook]]<>"",[@[From the workbook]],""))',
            doc="Your answer if given, else the workbook's.",
        ),
        Column(
            "points",
            "Points",
            Kind.NUMBER,
            Role.FORMULA,
            width=8,
            formula='IF([@Counted]="yes",1,IF([@Counted]="partly",0.5,0))',
        ),
        Column("phase", "Roadmap phase", Kind.TEXT, Role.OUTPUT, width=46),
    ),
)


MATURITY_ROADMAP_TABLE = TableSpec(
    name="MaturityRoadmap",
    sheet="Maturity",
    anchor="A46",
    doc="The gaps to the next stage, in the chapter's transformation phases.",
    columns=(
        Column("key", "Item", Kind.TEXT, Role.OUTPUT, width=7),
        Column("stage", "Stage", Kind.INTEGER, Role.OUTPUT, width=7),
        Column("kind", "Kind", Kind.TEXT, Role.OUTPUT, width=14),
        Column("text", "Gap", Kind.TEXT, Role.OUTPUT, width=60),
        Column("counted", "Counted now", Kind.TEXT, Role.OUTPUT, width=11),
        Column("months", "When", Kind.TEXT, Role.OUTPUT, width=12),
        Column("phase", "Phase: what it builds", Kind.TEXT, Role.OUTPUT, width=66),
    ),
)


MATURITY_SUMMARY = (
    NamedCell(
        "MaturityStage",
        "Maturity",
        "D3",
        "Stage reached",
        Kind.TEXT,
        Role.FORMULA,
        'INDEX(MaturityStages[Stage name],COUNTIF(MaturityStages[Reached],"yes"))',
        doc="The highest stage reached (every earlier stage reached too).",
    ),
)


BOARD = SheetSpec(
    "Board",
    "KPIs against targets for the quarterly board pack, the pitfalls the data shows, and "
    "the history of exported quarters.",
    Role.OUTPUT,
    tables=(BOARD_KPIS_TABLE, BOARD_HISTORY_TABLE),
    tab_color="7030A0",
    buttons=("Export board pack",),
)


MATURITY = SheetSpec(
    "Maturity",
    "The four-stage strategic maturity checklist (your answers), the stage reached, and the "
    "roadmap for the gaps.",
    Role.OUTPUT,
    tables=(MATURITY_STAGES_TABLE, MATURITY_ANSWERS_TABLE, MATURITY_ROADMAP_TABLE),
    cells=MATURITY_SUMMARY,
    tab_color="7030A0",
    buttons=("Export board pack",),
)
