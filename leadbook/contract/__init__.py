"""The workbook contract: every tab, Excel Table, column and defined name, declared once.

The template builder, the reader, the writer, the cell functions and the README's tab guide
all read this module; nothing else spells a header or a tab name. Formulas of calculated
columns are written here in Excel's readable form (``[@CPL]``, ``Sources[Monthly leads]``)
and expanded to the file form (``Sources[[#This Row],[CPL]]``) by :func:`file_formula`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from leadbook.enums import Answer, Choice, Compliance, LeadType, Party, RiskClass, Status, Tier


class Kind(enum.Enum):
    """What a column holds; decides parsing, number format and data validation."""

    TEXT = "text"
    INTEGER = "whole number"
    NUMBER = "number"
    CURRENCY = "currency"
    PERCENT = "percentage"
    SCORE = "score"
    CHOICE = "choice"
    FLAG = "yes/no"
    MONTH = "month"
    TIMESTAMP = "timestamp"
    DATE = "date"


class Role(enum.Enum):
    """Who fills a column: the user (input), an Excel formula, or leadbook (output)."""

    INPUT = "input"
    FORMULA = "formula"
    OUTPUT = "output"


FORMATS: dict[Kind, str] = {
    Kind.TEXT: "@",
    Kind.INTEGER: "#,##0",
    Kind.NUMBER: "#,##0.0",
    Kind.CURRENCY: '"$"#,##0',
    Kind.PERCENT: "0.0%",
    Kind.SCORE: "0.0",
    Kind.CHOICE: "General",
    Kind.FLAG: "General",
    Kind.MONTH: "mmm yyyy",
    Kind.TIMESTAMP: "yyyy-mm-dd hh:mm:ss",
    Kind.DATE: "yyyy-mm-dd",
}

CENTS = '"$"#,##0.00'
NUMERIC_KINDS = frozenset({Kind.INTEGER, Kind.NUMBER, Kind.CURRENCY, Kind.PERCENT, Kind.SCORE})


@dataclass(frozen=True)
class Column:
    """One column of an Excel Table.

    ``lo``/``hi`` bound numeric inputs (``lo_open`` makes the lower bound strict);
    ``formula`` is set for calculated columns, in Excel's readable ``[@Header]`` form.
    """

    key: str
    header: str
    kind: Kind
    role: Role = Role.INPUT
    required: bool = True
    choices: type[Choice] | None = None
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    formula: str | None = None
    number_format: str | None = None
    width: float = 14
    doc: str = ""
    list_name: str | None = None

    @property
    def format(self) -> str:
        return self.number_format or FORMATS[self.kind]

    @property
    def unit(self) -> str:
        return {Kind.CURRENCY: "$", Kind.PERCENT: "%"}.get(self.kind, "")


@dataclass(frozen=True)
class TableSpec:
    """An Excel Table: its name, its sheet, where its header row starts, its columns."""

    name: str
    sheet: str
    anchor: str
    columns: tuple[Column, ...]
    doc: str = ""

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(f"table {self.name} has no column {key!r}")

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def by_role(self, role: Role) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role is role)


@dataclass(frozen=True)
class NamedCell:
    """A single cell with a defined name: a summary figure or a stated input."""

    name: str
    sheet: str
    cell: str
    label: str
    kind: Kind
    role: Role
    formula: str | None = None
    number_format: str | None = None
    doc: str = ""

    @property
    def format(self) -> str:
        return self.number_format or FORMATS[self.kind]


@dataclass(frozen=True)
class SheetSpec:
    """A tab: what it is for, whether users or leadbook write it, and what it holds."""

    name: str
    purpose: str
    role: Role
    tables: tuple[TableSpec, ...] = ()
    cells: tuple[NamedCell, ...] = ()
    coming: str = ""
    tab_color: str = "808080"
    buttons: tuple[str, ...] = field(default=())


# --- Settings ---------------------------------------------------------------------------

SETTINGS_TABLE = TableSpec(
    name="Settings",
    sheet="Settings",
    anchor="A3",
    doc="The model's assumptions, one row per setting under a heading per section; change "
    "the Value column only.",
    columns=(
        Column(
            "label",
            "Setting",
            Kind.TEXT,
            Role.OUTPUT,
            width=56,
            doc="What the setting means; a row with no Key heads a section.",
        ),
        Column(
            "key",
            "Key",
            Kind.TEXT,
            Role.OUTPUT,
            width=24,
            doc="The setting's defined name: use it in formulas (=MaxSourceShare); do not edit.",
        ),
        Column(
            "value",
            "Value",
            Kind.NUMBER,
            Role.INPUT,
            required=False,
            width=14,
            number_format="General",
            doc="The value leadbook uses; percentages as 25% (or 0.25).",
        ),
        Column("unit", "Unit", Kind.TEXT, Role.OUTPUT, width=13),
        Column("doc", "Notes", Kind.TEXT, Role.OUTPUT, width=90),
    ),
)

# --- Sources --------------------------------------------------------------------------

SOURCES_TABLE = TableSpec(
    name="Sources",
    sheet="Sources",
    anchor="A12",
    doc="The lead-source inventory: one row per source.",
    columns=(
        Column("source", "Source", Kind.TEXT, width=30, doc="Unique name of the source."),
        Column("vendor", "Vendor", Kind.TEXT, width=22, doc="Who sells the leads (or your team)."),
        Column(
            "party",
            "Party",
            Kind.CHOICE,
            choices=Party,
            width=13,
            doc="third-party (bought from a vendor) or first-party (your own channel).",
        ),
        Column(
            "channel",
            "Channel",
            Kind.TEXT,
            required=False,
            width=21,
            doc="Optional: the channel or campaign type, for your own grouping.",
        ),
        Column(
            "buyers",
            "Buyers per lead",
            Kind.INTEGER,
            lo=1,
            width=10,
            doc="How many buyers each lead is sold to (1 = exclusive).",
        ),
        Column(
            "age_hours",
            "Lead age (hours)",
            Kind.NUMBER,
            lo=0,
            width=10,
            doc="Typical age of a lead when delivered.",
        ),
        Column(
            "history_months",
            "Months of history",
            Kind.INTEGER,
            lo=0,
            width=10,
            doc="Months you have bought from the source; History should hold as many rows.",
        ),
        Column(
            "leads",
            "Monthly leads",
            Kind.INTEGER,
            lo=0,
            width=11,
            doc="Leads bought per month today.",
        ),
        Column(
            "volume_cap",
            "Volume cap",
            Kind.INTEGER,
            lo=0,
            width=11,
            doc="Most leads per month the vendor can supply.",
        ),
        Column(
            "cpl",
            "CPL",
            Kind.CURRENCY,
            lo=0,
            lo_open=True,
            number_format=CENTS,
            width=10,
            doc="Cost per lead today ($).",
        ),
        Column(
            "cpl_used",
            "CPL used",
            Kind.CURRENCY,
            Role.FORMULA,
            number_format=CENTS,
            width=10,
            formula="IF(COUNTIF(PriceTiers[Source],[@Source])=0,[@CPL],"
            "IF([@[Monthly leads]]>0,SUMPRODUCT((PriceTiers[Source]=[@Source])"
            "*PriceTiers[Leads bought today],PriceTiers[Tier CPL])/[@[Monthly leads]],"
            "_xlfn.MINIFS(PriceTiers[Tier CPL],PriceTiers[Source],[@Source])))",
            doc="What Rebalance pays per lead at today's volume: the CPL, or where the "
            "source has price tiers, their average over today's monthly leads.",
        ),
        Column(
            "conversion",
            "Conversion",
            Kind.PERCENT,
            lo=0,
            hi=1,
            width=11,
            doc="Share of leads that become customers.",
        ),
        Column(
            "revenue_per_customer",
            "Revenue per customer",
            Kind.CURRENCY,
            lo=0,
            width=13,
            doc="First revenue of a customer from this source ($).",
        ),
        Column(
            "health",
            "Vendor health",
            Kind.NUMBER,
            lo=1,
            hi=5,
            width=9,
            number_format="0.0",
            doc="Vendor scorecard, 1 (poor) to 5 (excellent).",
        ),
        Column(
            "compliance",
            "Compliance",
            Kind.CHOICE,
            choices=Compliance,
            width=14,
            doc="The source's consent and compliance review: a risk criterion.",
        ),
        Column(
            "spend",
            "Current spend",
            Kind.CURRENCY,
            lo=0,
            width=13,
            doc="Spend per month today ($).",
        ),
        Column(
            "status",
            "Status",
            Kind.CHOICE,
            choices=Status,
            width=10,
            doc="active, testing (a new source on a test budget) or paused (gets nothing).",
        ),
        Column(
            "test_phase",
            "Test phase",
            Kind.INTEGER,
            required=False,
            lo=1,
            hi=2,
            width=8,
            doc="For testing sources: 1 (weeks 1–4) or 2 (weeks 5–12).",
        ),
        Column(
            "pin",
            "Pin spend",
            Kind.CURRENCY,
            required=False,
            lo=0,
            width=11,
            doc="Fix next period's spend at this amount.",
        ),
        Column(
            "cap",
            "Cap spend",
            Kind.CURRENCY,
            required=False,
            lo=0,
            width=11,
            doc="Never spend more than this.",
        ),
        Column(
            "exclude",
            "Exclude",
            Kind.FLAG,
            required=False,
            width=9,
            doc="'yes' keeps the source out of the allocation.",
        ),
        Column(
            "lead_share",
            "Share of leads",
            Kind.PERCENT,
            Role.FORMULA,
            width=10,
            formula="IF(SUM(Sources[Monthly leads])>0,"
            "[@[Monthly leads]]/SUM(Sources[Monthly leads]),0)",
        ),
        Column(
            "spend_share",
            "Share of spend",
            Kind.PERCENT,
            Role.FORMULA,
            width=10,
            formula="IF(SUM(Sources[Current spend])>0,"
            "[@[Current spend]]/SUM(Sources[Current spend]),0)",
        ),
        Column(
            "cpa",
            "CPA",
            Kind.CURRENCY,
            Role.FORMULA,
            width=11,
            formula='IF([@Conversion]>0,[@CPL]/[@Conversion],"")',
            doc="Cost per customer: CPL ÷ conversion.",
        ),
        Column(
            "customers",
            "Customers per month",
            Kind.NUMBER,
            Role.FORMULA,
            width=11,
            formula="[@[Monthly leads]]*[@Conversion]",
        ),
    ),
)

PRICE_TIERS_TABLE = TableSpec(
    name="PriceTiers",
    sheet="Sources",
    anchor="AB12",
    doc="Optional volume price tiers: a source's leads cost each tier's CPL up to its limit.",
    columns=(
        Column(
            "source",
            "Source",
            Kind.TEXT,
            width=28,
            list_name="SourceNames",
            doc="The source this tier prices, as named in Sources.",
        ),
        Column(
            "up_to",
            "Up to leads",
            Kind.INTEGER,
            lo=0,
            lo_open=True,
            width=11,
            doc="This tier's price applies up to this many leads per month.",
        ),
        Column(
            "cpl",
            "Tier CPL",
            Kind.CURRENCY,
            lo=0,
            lo_open=True,
            number_format=CENTS,
            width=10,
            doc="Cost per lead within this tier ($); tiers replace the source's CPL.",
        ),
        Column(
            "leads_today",
            "Leads bought today",
            Kind.NUMBER,
            Role.FORMULA,
            width=11,
            formula='MAX(0,IF(COUNTIFS([Source],[@Source],[Up to leads],">"&[@[Up to leads]])=0,'
            "SUMIFS(Sources[Monthly leads],Sources[Source],[@Source]),"
            "MIN([@[Up to leads]],SUMIFS(Sources[Monthly leads],Sources[Source],[@Source])))"
            '-_xlfn.MAXIFS([Up to leads],[Source],[@Source],[Up to leads],"<"&[@[Up to leads]]))',
            doc="Of the source's monthly leads today, those bought at this tier's price (the "
            "last tier takes the rest).",
        ),
    ),
)

_SUMMARY = "Sources"
_DIFFERS = '"does not follow from the rows"'
SOURCE_SUMMARY = (
    NamedCell(
        "TotalLeads",
        _SUMMARY,
        "B4",
        "Monthly leads",
        Kind.INTEGER,
        Role.FORMULA,
        "SUM(Sources[Monthly leads])",
    ),
    NamedCell(
        "CurrentSpend",
        _SUMMARY,
        "B5",
        "Current monthly spend",
        Kind.CURRENCY,
        Role.FORMULA,
        "SUM(Sources[Current spend])",
    ),
    NamedCell(
        "BlendedCPL",
        _SUMMARY,
        "B6",
        "Blended CPL",
        Kind.CURRENCY,
        Role.FORMULA,
        'IF(TotalLeads>0,SUMPRODUCT(Sources[Monthly leads],Sources[CPL])/TotalLeads,"")',
        CENTS,
        "Lead-weighted average cost per lead.",
    ),
    NamedCell(
        "BlendedConversion",
        _SUMMARY,
        "B7",
        "Blended conversion",
        Kind.PERCENT,
        Role.FORMULA,
        'IF(TotalLeads>0,SUMPRODUCT(Sources[Monthly leads],Sources[Conversion])/TotalLeads,"")',
        "0.00%",
    ),
    NamedCell(
        "BlendedCPA",
        _SUMMARY,
        "B8",
        "Blended CPA",
        Kind.CURRENCY,
        Role.FORMULA,
        'IF(N(BlendedConversion)>0,BlendedCPL/BlendedConversion,"")',
        CENTS,
        "Cost per customer across the portfolio.",
    ),
    NamedCell(
        "FirstPartyShare",
        _SUMMARY,
        "B9",
        "First-party share of leads",
        Kind.PERCENT,
        Role.FORMULA,
        'IF(TotalLeads>0,SUMIFS(Sources[Monthly leads],Sources[Party],"first-party")'
        '/TotalLeads,"")',
    ),
    NamedCell(
        "StatedLeads",
        _SUMMARY,
        "E4",
        "Stated leads",
        Kind.INTEGER,
        Role.INPUT,
        doc="Totals as reported elsewhere (a deck, a vendor report); leave blank if none.",
    ),
    NamedCell(
        "StatedCPL",
        _SUMMARY,
        "E6",
        "Stated CPL",
        Kind.CURRENCY,
        Role.INPUT,
        number_format=CENTS,
    ),
    NamedCell(
        "StatedConversion",
        _SUMMARY,
        "E7",
        "Stated conversion",
        Kind.PERCENT,
        Role.INPUT,
        number_format="0.00%",
    ),
    NamedCell(
        "StatedTolerance",
        _SUMMARY,
        "E9",
        "Tolerance",
        Kind.PERCENT,
        Role.INPUT,
        doc="Relative difference accepted before a stated total is flagged.",
    ),
    NamedCell(
        "CheckLeads",
        _SUMMARY,
        "F4",
        "Check",
        Kind.TEXT,
        Role.FORMULA,
        'IF(N(StatedLeads)=0,"",IF(ABS(TotalLeads-StatedLeads)<=StatedTolerance*StatedLeads,'
        f'"consistent",{_DIFFERS}))',
    ),
    NamedCell(
        "CheckCPL",
        _SUMMARY,
        "F6",
        "Check",
        Kind.TEXT,
        Role.FORMULA,
        'IF(OR(N(StatedCPL)=0,N(BlendedCPL)=0),"",IF(ABS(BlendedCPL-StatedCPL)'
        f'<=StatedTolerance*StatedCPL,"consistent",{_DIFFERS}))',
    ),
    NamedCell(
        "CheckConversion",
        _SUMMARY,
        "F7",
        "Check",
        Kind.TEXT,
        Role.FORMULA,
        'IF(OR(N(StatedConversion)=0,N(BlendedConversion)=0),"",'
        "IF(ABS(BlendedConversion-StatedConversion)<=StatedTolerance*StatedConversion,"
        f'"consistent",{_DIFFERS}))',
    ),
)

LIST_NAMES = {"SourceNames": "Sources[Source]"}
"""Defined names that hold the allowed values of a column (its drop-down list)."""

# --- History --------------------------------------------------------------------------

HISTORY_TABLE = TableSpec(
    name="History",
    sheet="History",
    anchor="A3",
    doc="Monthly actuals per source: what was spent and what it produced.",
    columns=(
        Column("month", "Month", Kind.MONTH, width=11, doc="The month (any date in it)."),
        Column(
            "source",
            "Source",
            Kind.TEXT,
            width=30,
            list_name="SourceNames",
            doc="The source, as named in Sources.",
        ),
        Column("spend", "Spend", Kind.CURRENCY, lo=0, width=12, doc="Spent that month ($)."),
        Column("leads", "Leads", Kind.INTEGER, lo=0, width=9, doc="Leads bought that month."),
        Column(
            "customers",
            "Customers",
            Kind.INTEGER,
            lo=0,
            width=10,
            doc="Customers won from that month's leads.",
        ),
        Column(
            "revenue",
            "Revenue",
            Kind.CURRENCY,
            lo=0,
            width=13,
            doc="First revenue of those customers ($).",
        ),
        Column(
            "customers_30d",
            "Customers in 30 days",
            Kind.INTEGER,
            required=False,
            lo=0,
            width=10,
            doc="Optional: of the month's customers, those closed within 30 days (ROI timing).",
        ),
        Column(
            "customers_90d",
            "Customers in 90 days",
            Kind.INTEGER,
            required=False,
            lo=0,
            width=10,
            doc="Optional: those closed within 90 days; blank uses the curve on Settings.",
        ),
    ),
)

# --- Tiers (classification) -------------------------------------------------------------

CLASSES_TABLE = TableSpec(
    name="Classes",
    sheet="Tiers",
    anchor="A3",
    doc="Tier, lead type and risk class of every source, with the reason for each.",
    columns=(
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=30),
        Column("tier", "Tier", Kind.CHOICE, Role.OUTPUT, choices=Tier, width=9),
        Column("tier_reason", "Why this tier", Kind.TEXT, Role.OUTPUT, width=80),
        Column("lead_type", "Lead type", Kind.CHOICE, Role.OUTPUT, choices=LeadType, width=10),
        Column("lead_type_reason", "Why this lead type", Kind.TEXT, Role.OUTPUT, width=70),
        Column("risk", "Risk", Kind.CHOICE, Role.OUTPUT, choices=RiskClass, width=9),
        Column("risk_reason", "Why this risk class", Kind.TEXT, Role.OUTPUT, width=80),
        Column("spend", "Current spend", Kind.CURRENCY, Role.OUTPUT, width=13),
    ),
)

BANDS_TABLE = TableSpec(
    name="BandCheck",
    sheet="Tiers",
    anchor="K3",
    doc="Today's spend by class against the Settings bands (live formulas).",
    columns=(
        Column("group", "Group", Kind.TEXT, Role.OUTPUT, width=11),
        Column("klass", "Class", Kind.TEXT, Role.OUTPUT, width=10),
        Column(
            "spend",
            "Current spend",
            Kind.CURRENCY,
            Role.FORMULA,
            width=13,
            doc="SUMIFS of Classes[Current spend] over the row's class.",
        ),
        Column(
            "share",
            "Share",
            Kind.PERCENT,
            Role.FORMULA,
            width=9,
            formula="IF(SUM(Classes[Current spend])>0,"
            "[@[Current spend]]/SUM(Classes[Current spend]),0)",
        ),
        Column(
            "band_min",
            "Band min",
            Kind.PERCENT,
            Role.FORMULA,
            width=9,
            doc="The Settings band, by defined name.",
        ),
        Column("band_max", "Band max", Kind.PERCENT, Role.FORMULA, width=9),
        Column(
            "status",
            "Status",
            Kind.TEXT,
            Role.FORMULA,
            width=10,
            formula='IF([@Share]<[@[Band min]]-0.000000001,"below",'
            'IF([@Share]>[@[Band max]]+0.000000001,"above","within"))',
        ),
    ),
)

# --- Scores ---------------------------------------------------------------------------

SCORES_TABLE = TableSpec(
    name="Scores",
    sheet="Scores",
    anchor="A3",
    doc="Weighted source scores (0–100) and the inputs behind them.",
    columns=(
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=30),
        Column("performance", "Performance", Kind.SCORE, Role.OUTPUT, width=12),
        Column("reliability", "Reliability", Kind.SCORE, Role.OUTPUT, width=11),
        Column("strategic", "Strategic", Kind.SCORE, Role.OUTPUT, width=10),
        Column("risk", "Risk", Kind.SCORE, Role.OUTPUT, width=9),
        Column(
            "composite",
            "Composite",
            Kind.SCORE,
            Role.FORMULA,
            width=11,
            formula="[@Performance]*WeightPerformance+[@Reliability]*WeightReliability"
            "+[@Strategic]*WeightStrategic+[@Risk]*WeightRisk",
        ),
        Column(
            "rank",
            "Rank",
            Kind.INTEGER,
            Role.FORMULA,
            width=7,
            formula="_xlfn.RANK.EQ([@Composite],[Composite],0)",
        ),
        Column("cpa", "CPA", Kind.CURRENCY, Role.OUTPUT, required=False, width=11),
        Column("conversion", "Conversion", Kind.PERCENT, Role.OUTPUT, width=11),
        Column(
            "revenue_per_lead",
            "Revenue per lead",
            Kind.CURRENCY,
            Role.OUTPUT,
            number_format=CENTS,
            width=11,
        ),
        Column(
            "volume_stability",
            "Volume stability",
            Kind.PERCENT,
            Role.OUTPUT,
            required=False,
            width=10,
        ),
        Column(
            "conversion_consistency",
            "Conversion consistency",
            Kind.PERCENT,
            Role.OUTPUT,
            required=False,
            width=11,
        ),
        Column(
            "diversification",
            "Diversification value",
            Kind.PERCENT,
            Role.OUTPUT,
            required=False,
            width=11,
        ),
        Column("headroom", "Growth headroom", Kind.PERCENT, Role.OUTPUT, width=10),
        Column("vendor_dependence", "Vendor dependence", Kind.PERCENT, Role.OUTPUT, width=11),
        Column(
            "cpl_volatility", "CPL volatility", Kind.PERCENT, Role.OUTPUT, required=False, width=10
        ),
    ),
)

# --- Leads (qualification and monetisation) ----------------------------------------------

LEADS_TABLE = TableSpec(
    name="Leads",
    sheet="Leads",
    anchor="A23",
    doc="One row per lead. Inputs (blue on yellow) are yours: any column whose header is not "
    "listed here is a feature the model learns from. leadbook writes only the output columns.",
    columns=(
        Column("lead_id", "Lead ID", Kind.TEXT, width=11, doc="Unique id of the lead."),
        Column(
            "source", "Source", Kind.TEXT, width=26, doc="The lead's source, as named in Sources."
        ),
        Column(
            "created",
            "Created",
            Kind.DATE,
            required=False,
            width=11,
            doc="When the lead arrived; orders the held-out split so nothing leaks back in time.",
        ),
        Column(
            "cost",
            "Cost",
            Kind.CURRENCY,
            lo=0,
            lo_open=True,
            number_format=CENTS,
            width=10,
            doc="What the lead cost ($).",
        ),
        Column(
            "resale",
            "Resale allowed",
            Kind.FLAG,
            required=False,
            width=9,
            doc="'no' when the lead may not be sold on (consent, exclusivity); blank means yes.",
        ),
        Column(
            "outcome",
            "Converted",
            Kind.FLAG,
            required=False,
            width=10,
            doc="yes or no once the lead is closed; blank while it is open.",
        ),
        Column(
            "value",
            "Value",
            Kind.CURRENCY,
            required=False,
            lo=0,
            width=11,
            doc="Revenue if it converts, where known (not a model feature: it leaks the outcome).",
        ),
        Column("probability", "Probability", Kind.PERCENT, Role.OUTPUT, required=False, width=11),
        Column("band", "Band", Kind.TEXT, Role.OUTPUT, required=False, width=9),
        Column(
            "value_used",
            "Value if converted",
            Kind.CURRENCY,
            Role.OUTPUT,
            required=False,
            width=12,
            doc="The lead's Value, or else its source's revenue per customer.",
        ),
        Column(
            "expected_roi",
            "Expected ROI",
            Kind.NUMBER,
            Role.FORMULA,
            required=False,
            number_format='0.00"×"',
            width=10,
            formula="IF(ISNUMBER([@Probability]),"
            '[@Probability]*[@[Value if converted]]/[@Cost],"")',
            doc="Probability × value ÷ cost.",
        ),
        Column("action", "Action", Kind.TEXT, Role.OUTPUT, required=False, width=15),
        Column(
            "priority",
            "Priority",
            Kind.INTEGER,
            Role.OUTPUT,
            required=False,
            width=8,
            doc="Order in which to work the work-first leads (1 first).",
        ),
        Column(
            "price",
            "Price",
            Kind.CURRENCY,
            Role.OUTPUT,
            required=False,
            number_format=CENTS,
            width=10,
            doc="Price reaching the target margin on the lead's expected cost, and at least "
            "on its own Cost.",
        ),
        Column("factors", "Top factors", Kind.TEXT, Role.OUTPUT, required=False, width=70),
    ),
)

LEAD_METRICS_TABLE = TableSpec(
    name="LeadMetrics",
    sheet="Leads",
    anchor="D3",
    doc="How well the model predicts, on held-out closed leads, beside the logistic baseline.",
    columns=(
        Column("metric", "Held-out metric", Kind.TEXT, Role.OUTPUT, width=24),
        Column("chosen", "Chosen model", Kind.NUMBER, Role.OUTPUT, number_format="0.000", width=12),
        Column(
            "baseline",
            "Logistic baseline",
            Kind.NUMBER,
            Role.OUTPUT,
            number_format="0.000",
            width=12,
        ),
    ),
)

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

LEAD_CONFUSION_TABLE = TableSpec(
    name="LeadConfusion",
    sheet="Leads",
    anchor="H3",
    doc="Held-out leads by outcome and prediction at the hit threshold.",
    columns=(
        Column("actual", "Actual", Kind.TEXT, Role.OUTPUT, width=16),
        Column("hit", "Predicted hit", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("miss", "Predicted miss", Kind.INTEGER, Role.OUTPUT, width=10),
        Column(
            "total",
            "Total",
            Kind.INTEGER,
            Role.FORMULA,
            width=9,
            formula="[@[Predicted hit]]+[@[Predicted miss]]",
        ),
    ),
)

LEAD_BANDS_TABLE = TableSpec(
    name="LeadBands",
    sheet="Leads",
    anchor="H8",
    doc="Conversion of held-out leads by score band, and the open leads in each band.",
    columns=(
        Column("band", "Band", Kind.TEXT, Role.OUTPUT, width=16),
        Column("cutoff", "From probability", Kind.PERCENT, Role.OUTPUT, width=10),
        Column("held_out", "Held-out leads", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("converted", "Converted", Kind.INTEGER, Role.OUTPUT, width=9),
        Column(
            "conversion",
            "Conversion",
            Kind.PERCENT,
            Role.FORMULA,
            width=10,
            formula='IF([@[Held-out leads]]>0,[@Converted]/[@[Held-out leads]],"")',
        ),
        Column("open", "Open leads", Kind.INTEGER, Role.OUTPUT, width=9),
    ),
)

LEAD_ACTIONS_TABLE = TableSpec(
    name="LeadActions",
    sheet="Leads",
    anchor="O3",
    doc="Open leads by action.",
    columns=(
        Column("action", "Action", Kind.TEXT, Role.OUTPUT, width=18),
        Column("leads", "Open leads", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("probability", "Mean probability", Kind.PERCENT, Role.OUTPUT, width=11),
        Column("revenue", "Expected revenue", Kind.CURRENCY, Role.OUTPUT, width=13),
    ),
)

LEAD_CALIBRATION_TABLE = TableSpec(
    name="LeadCalibration",
    sheet="Leads",
    anchor="T3",
    doc="Held-out leads in tenths by score: predicted against observed conversion, and lift.",
    columns=(
        Column("decile", "Score tenth", Kind.TEXT, Role.OUTPUT, width=12),
        Column("leads", "Leads", Kind.INTEGER, Role.OUTPUT, width=8),
        Column("predicted", "Mean predicted", Kind.PERCENT, Role.OUTPUT, width=10),
        Column("observed", "Observed", Kind.PERCENT, Role.OUTPUT, width=10),
        Column("lift", "Lift", Kind.NUMBER, Role.OUTPUT, number_format='0.00"×"', width=8),
    ),
)

LEAD_SOURCES_TABLE = TableSpec(
    name="LeadSourceQuality",
    sheet="Leads",
    anchor="Z3",
    doc="Each source's conversion in Sources beside its open leads' mean predicted probability; "
    "the Settings switch LeadConversionSource decides which one Rebalance uses.",
    columns=(
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=26),
        Column("history", "Conversion (Sources)", Kind.PERCENT, Role.OUTPUT, width=11),
        Column("predicted", "Predicted (open leads)", Kind.PERCENT, Role.OUTPUT, width=11),
        Column("leads", "Open leads", Kind.INTEGER, Role.OUTPUT, width=9),
        Column("used", "Rebalance uses", Kind.TEXT, Role.OUTPUT, width=10),
        Column("reason", "Why", Kind.TEXT, Role.OUTPUT, width=30),
    ),
)

_LEADS = "Leads"
LEAD_CELLS = (
    NamedCell("LeadModel", _LEADS, "B4", "Model", Kind.TEXT, Role.OUTPUT),
    NamedCell(
        "LeadModelHash",
        _LEADS,
        "B5",
        "Model file SHA-256",
        Kind.TEXT,
        Role.OUTPUT,
        doc="The model file Score leads loads must have exactly this hash.",
    ),
    NamedCell("LeadModelData", _LEADS, "B6", "Training data SHA-256", Kind.TEXT, Role.OUTPUT),
    NamedCell("LeadModelTrained", _LEADS, "B7", "Trained", Kind.TIMESTAMP, Role.OUTPUT),
    NamedCell("LeadModelSplit", _LEADS, "B8", "Held-out split", Kind.TEXT, Role.OUTPUT),
    NamedCell(
        "LeadModelClosedSince",
        _LEADS,
        "B9",
        "Leads closed since training",
        Kind.INTEGER,
        Role.OUTPUT,
    ),
    NamedCell("LeadsScored", _LEADS, "B10", "Last scored", Kind.TIMESTAMP, Role.OUTPUT),
    NamedCell(
        "LeadRoiInUse",
        _LEADS,
        "U15",
        "ROI threshold (Settings)",
        Kind.NUMBER,
        Role.FORMULA,
        "LeadRoiThreshold",
        '0.00"×"',
    ),
    NamedCell(
        "LeadProfitAtSetting", _LEADS, "U16", "Expected profit at it", Kind.CURRENCY, Role.OUTPUT
    ),
    NamedCell(
        "LeadBestThreshold",
        _LEADS,
        "U17",
        "Profit-maximising threshold",
        Kind.NUMBER,
        Role.OUTPUT,
        number_format='0.00"×"',
    ),
    NamedCell(
        "LeadProfitAtBest", _LEADS, "U18", "Expected profit at it", Kind.CURRENCY, Role.OUTPUT
    ),
    NamedCell(
        "LeadSellQuality",
        _LEADS,
        "U20",
        "Leads to sell: mean probability (p)",
        Kind.PERCENT,
        Role.OUTPUT,
    ),
    NamedCell(
        "LeadSellPrice",
        _LEADS,
        "U21",
        "Price reaching the target margin",
        Kind.CURRENCY,
        Role.FORMULA,
        "(LeadSellQuality*LeadCostHigh+(1-LeadSellQuality)*LeadCostLow)/(1-LeadTargetMargin)",
        CENTS,
    ),
    NamedCell(
        "LeadSellProfit",
        _LEADS,
        "U22",
        "Expected profit per lead at partner prices",
        Kind.CURRENCY,
        Role.FORMULA,
        "LeadSellQuality*(LeadPriceHigh-LeadCostHigh)+(1-LeadSellQuality)*(LeadPriceLow-LeadCostLow)",
        CENTS,
        "The chapter's p·(R_high − C_high) + (1 − p)·(R_low − C_low).",
    ),
)

# --- Allocation (Rebalance) --------------------------------------------------------------

_REC = "Allocation[Recommended]"
ALLOCATION_TABLE = TableSpec(
    name="Allocation",
    sheet="Allocation",
    anchor="A16",
    doc="Next week's recommended monthly spend per source next to today's, and why.",
    columns=(
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=28),
        Column("tier", "Tier", Kind.TEXT, Role.OUTPUT, width=8),
        Column("lead_type", "Lead type", Kind.TEXT, Role.OUTPUT, width=10),
        Column("risk", "Risk", Kind.TEXT, Role.OUTPUT, width=8),
        Column("role", "Role", Kind.TEXT, Role.OUTPUT, width=12, doc="Which rules govern it."),
        Column("current", "Current spend", Kind.CURRENCY, Role.OUTPUT, width=13),
        Column("recommended", "Recommended", Kind.CURRENCY, Role.OUTPUT, width=13),
        Column(
            "change",
            "Change",
            Kind.CURRENCY,
            Role.FORMULA,
            width=12,
            formula="[@Recommended]-[@[Current spend]]",
        ),
        Column(
            "change_pct",
            "Change %",
            Kind.PERCENT,
            Role.FORMULA,
            width=9,
            formula='IF([@[Current spend]]>0,[@Change]/[@[Current spend]],"")',
        ),
        Column(
            "share",
            "Share",
            Kind.PERCENT,
            Role.FORMULA,
            width=8,
            formula="IF(SUM([Recommended])>0,[@Recommended]/SUM([Recommended]),0)",
        ),
        Column("leads", "Expected leads", Kind.NUMBER, Role.OUTPUT, width=10),
        Column("customers", "Expected customers", Kind.NUMBER, Role.OUTPUT, width=11),
        Column(
            "cpa",
            "CPA",
            Kind.CURRENCY,
            Role.FORMULA,
            width=10,
            formula='IF([@[Expected customers]]>0,[@Recommended]/[@[Expected customers]],"")',
        ),
        Column(
            "marginal_cpa",
            "Marginal CPA",
            Kind.CURRENCY,
            Role.OUTPUT,
            required=False,
            width=11,
            doc="Cost of one more customer from this source; blank at its volume cap.",
        ),
        Column(
            "conversion",
            "Conversion",
            Kind.PERCENT,
            Role.OUTPUT,
            width=10,
            doc="The conversion rate Rebalance used: customers = leads × conversion.",
        ),
        Column(
            "conversion_from",
            "Conversion from",
            Kind.TEXT,
            Role.OUTPUT,
            required=False,
            width=22,
            doc="history (Sources tab) or model (the recorded lead model's mean prediction "
            "for the source's open leads), as Settings' LeadConversionSource asks.",
        ),
        Column("binding", "Binding rules", Kind.TEXT, Role.OUTPUT, required=False, width=40),
    ),
)

ALLOCATION_BANDS_TABLE = TableSpec(
    name="AllocationBands",
    sheet="Allocation",
    anchor="T16",
    doc="Recommended spend by class against the Settings bands (live formulas).",
    columns=(
        Column("group", "Group", Kind.TEXT, Role.OUTPUT, width=10),
        Column("klass", "Class", Kind.TEXT, Role.OUTPUT, width=10),
        Column("current_share", "Today", Kind.PERCENT, Role.OUTPUT, width=8),
        Column(
            "spend",
            "Recommended",
            Kind.CURRENCY,
            Role.FORMULA,
            width=13,
            doc="SUMIFS of Allocation[Recommended] over the row's class.",
        ),
        Column(
            "share",
            "Share",
            Kind.PERCENT,
            Role.FORMULA,
            width=8,
            formula=f"IF(SUM({_REC})>0,[@Recommended]/SUM({_REC}),0)",
        ),
        Column("band_min", "Band min", Kind.PERCENT, Role.FORMULA, width=9),
        Column("band_max", "Band max", Kind.PERCENT, Role.FORMULA, width=9),
        Column(
            "status",
            "Status",
            Kind.TEXT,
            Role.FORMULA,
            width=9,
            formula='IF([@Share]<[@[Band min]]-0.000001,"below",'
            'IF([@Share]>[@[Band max]]+0.000001,"above","within"))',
        ),
    ),
)

BINDING_TABLE = TableSpec(
    name="BindingRules",
    sheet="Allocation",
    anchor="T30",
    doc="Every rule at its limit next week, in plain words, most valuable first.",
    columns=(
        Column("rank", "#", Kind.INTEGER, Role.OUTPUT, width=5),
        Column("rule", "Rule", Kind.TEXT, Role.OUTPUT, width=18),
        Column("text", "What binds", Kind.TEXT, Role.OUTPUT, width=110),
    ),
)

GLIDE_TABLE = TableSpec(
    name="GlidePath",
    sheet="Allocation",
    anchor="A60",
    doc="Spend per source week by week (one column per week); written with --weeks > 1, "
    "below the allocation; the week columns are added at render time.",
    columns=(
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=28),
        Column("current", "Today", Kind.CURRENCY, Role.OUTPUT, width=12),
    ),
)

GLIDE_TOTALS_TABLE = TableSpec(
    name="GlideTotals",
    sheet="Allocation",
    anchor="A80",
    doc="Each week's totals of the glide path.",
    columns=(
        Column("week", "Week", Kind.INTEGER, Role.OUTPUT, width=8),
        Column("spend", "Spend", Kind.CURRENCY, Role.FORMULA, width=13),
        Column("leads", "Expected leads", Kind.NUMBER, Role.OUTPUT, width=10),
        Column("customers", "Expected customers", Kind.NUMBER, Role.OUTPUT, width=11),
        Column(
            "cpa",
            "Blended CPA",
            Kind.CURRENCY,
            Role.FORMULA,
            width=11,
            formula='IF([@[Expected customers]]>0,[@Spend]/[@[Expected customers]],"")',
        ),
    ),
)

_ALLOC = "Allocation"
ALLOCATION_SUMMARY = (
    NamedCell("RebalanceStatus", _ALLOC, "B4", "Status", Kind.TEXT, Role.OUTPUT),
    NamedCell(
        "RebalanceBudget",
        _ALLOC,
        "B5",
        "Budget",
        Kind.CURRENCY,
        Role.FORMULA,
        "IF(ISNUMBER(Budget),Budget,CurrentSpend)",
        doc="The Budget setting, or today's spend when it is blank — linked, not copied.",
    ),
    NamedCell(
        "RebalanceSpend",
        _ALLOC,
        "B6",
        "Recommended spend",
        Kind.CURRENCY,
        Role.FORMULA,
        f"SUM({_REC})",
    ),
    NamedCell(
        "RebalanceUnspent",
        _ALLOC,
        "B7",
        "Budget left",
        Kind.CURRENCY,
        Role.FORMULA,
        "RebalanceBudget-RebalanceSpend",
    ),
    NamedCell(
        "RebalanceLeads",
        _ALLOC,
        "B8",
        "Expected leads",
        Kind.NUMBER,
        Role.FORMULA,
        "SUM(Allocation[Expected leads])",
    ),
    NamedCell(
        "RebalanceCustomers",
        _ALLOC,
        "B9",
        "Expected customers",
        Kind.NUMBER,
        Role.FORMULA,
        "SUM(Allocation[Expected customers])",
    ),
    NamedCell(
        "RebalanceCPA",
        _ALLOC,
        "B10",
        "Blended CPA",
        Kind.CURRENCY,
        Role.FORMULA,
        'IF(RebalanceCustomers>0,RebalanceSpend/RebalanceCustomers,"")',
        CENTS,
    ),
    NamedCell(
        "RebalanceBudgetValue",
        _ALLOC,
        "B11",
        "Customers per extra $1,000",
        Kind.NUMBER,
        Role.OUTPUT,
        number_format="0.000",
        doc="Marginal value of budget, from the duals of the allocation LP.",
    ),
    NamedCell(
        "RebalanceObjective",
        _ALLOC,
        "B12",
        "Objective value",
        Kind.NUMBER,
        Role.OUTPUT,
        number_format="#,##0.000",
    ),
    NamedCell(
        "RebalanceTodaySpend",
        _ALLOC,
        "E6",
        "Today: spend",
        Kind.CURRENCY,
        Role.FORMULA,
        "SUM(Allocation[Current spend])",
    ),
    NamedCell("RebalanceTodayLeads", _ALLOC, "E8", "Today: leads", Kind.NUMBER, Role.OUTPUT),
    NamedCell(
        "RebalanceTodayCustomers", _ALLOC, "E9", "Today: customers", Kind.NUMBER, Role.OUTPUT
    ),
    NamedCell(
        "RebalanceTodayCPA",
        _ALLOC,
        "E10",
        "Today: blended CPA",
        Kind.CURRENCY,
        Role.FORMULA,
        'IF(RebalanceTodayCustomers>0,RebalanceTodaySpend/RebalanceTodayCustomers,"")',
        CENTS,
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

# --- Start, Log -------------------------------------------------------------------------

PROBLEMS_TABLE = TableSpec(
    name="Problems",
    sheet="Start",
    anchor="A30",
    doc="What the last 'Check inputs' found.",
    columns=(
        Column("where", "Where", Kind.TEXT, Role.OUTPUT, width=26),
        Column("problem", "Problem", Kind.TEXT, Role.OUTPUT, width=90),
        Column("severity", "Severity", Kind.TEXT, Role.OUTPUT, width=10),
    ),
)

LOG_TABLE = TableSpec(
    name="Log",
    sheet="Log",
    anchor="A3",
    doc="Every write leadbook makes to this workbook.",
    columns=(
        Column("time", "Time", Kind.TIMESTAMP, Role.OUTPUT, width=20),
        Column("command", "Command", Kind.TEXT, Role.OUTPUT, width=24),
        Column("user", "User", Kind.TEXT, Role.OUTPUT, width=14),
        Column("changed", "What changed", Kind.TEXT, Role.OUTPUT, width=90),
    ),
)

# --- ROI, Forecast, Hiring (planning) ---------------------------------------------------------

_NUM3 = "#,##0.000"


def _horizon_key(label: str) -> str:
    return f"{label.split()[0]}{'d' if 'days' in label else 'm'}"


def _horizon_roi(label: str, on: str = "Contribution") -> Column:
    """ROI over a horizon: on contribution (the ROI), or on revenue, labelled as such."""
    prefix = "" if on == "Contribution" else "revenue_"
    return Column(
        f"{prefix}roi_{_horizon_key(label)}",
        f"ROI {label}" if on == "Contribution" else f"Revenue ROI {label}",
        Kind.PERCENT,
        Role.FORMULA,
        width=10 if on == "Contribution" else 13,
        formula=f"IF([@[Cohort spend]]>0,([@[{on} {label}]]-[@[Cohort spend]])"
        f'/[@[Cohort spend]],"")',
        doc=f"({on} within {label} − cohort spend) ÷ cohort spend"
        + (
            "; contribution is revenue × GrossMargin − CostToServe per customer won."
            if prefix == ""
            else "."
        ),
    )


def _horizon_contribution(label: str) -> Column:
    return Column(
        f"contribution_{_horizon_key(label)}",
        f"Contribution {label}",
        Kind.CURRENCY,
        Role.OUTPUT,
        width=12,
        doc=f"What the business keeps of the revenue within {label}: revenue × GrossMargin, "
        "less CostToServe for each customer closed by then.",
    )


ROI_TABLE = TableSpec(
    name="ROI",
    sheet="ROI",
    anchor="A4",
    doc="Each source's average monthly cohort over three horizons, and the portfolio's.",
    columns=(
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=28),
        Column("basis", "Cohort from", Kind.TEXT, Role.OUTPUT, width=26),
        Column("timing", "Timing from", Kind.TEXT, Role.OUTPUT, width=16),
        Column("cohorts", "Cohorts", Kind.INTEGER, Role.OUTPUT, width=8),
        Column("spend", "Cohort spend", Kind.CURRENCY, Role.OUTPUT, width=12),
        Column("leads", "Leads", Kind.NUMBER, Role.OUTPUT, width=9),
        Column("customers", "Customers", Kind.NUMBER, Role.OUTPUT, width=10),
        Column("revenue_30d", "Revenue 30 days", Kind.CURRENCY, Role.OUTPUT, width=12),
        Column("revenue_90d", "Revenue 90 days", Kind.CURRENCY, Role.OUTPUT, width=12),
        Column("revenue_12m", "Revenue 12 months", Kind.CURRENCY, Role.OUTPUT, width=12),
        _horizon_contribution("30 days"),
        _horizon_contribution("90 days"),
        _horizon_contribution("12 months"),
        _horizon_roi("30 days"),
        _horizon_roi("90 days"),
        _horizon_roi("12 months"),
        _horizon_roi("12 months", on="Revenue"),
        Column(
            "cpa",
            "CPA",
            Kind.CURRENCY,
            Role.FORMULA,
            width=10,
            formula='IF([@Customers]>0,[@[Cohort spend]]/[@Customers],"")',
        ),
        Column(
            "revenue_per_lead",
            "Revenue per lead (12 months)",
            Kind.CURRENCY,
            Role.FORMULA,
            number_format=CENTS,
            width=12,
            formula='IF([@Leads]>0,[@[Revenue 12 months]]/[@Leads],"")',
        ),
        Column(
            "payback",
            "Payback month",
            Kind.INTEGER,
            Role.OUTPUT,
            width=10,
            doc="First cohort month whose cumulative contribution cash flow is ≥ 0.",
        ),
    ),
)

COHORT_FLOWS_TABLE = TableSpec(
    name="CohortFlows",
    sheet="ROI",
    anchor="W4",
    doc="Monthly contribution cash flows of each average cohort (month 1 pays the leads); "
    "NPV and IRR (annual).",
    columns=(
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=28),
        *(
            Column(f"m{k}", f"Month {k}", Kind.CURRENCY, Role.OUTPUT, width=10)
            for k in range(1, 13)
        ),
        Column(
            "npv",
            "NPV",
            Kind.CURRENCY,
            Role.FORMULA,
            width=12,
            formula="[@[Month 1]]+NPV((1+DiscountRate)^(1/12)-1,[@[Month 2]:[Month 12]])",
        ),
        Column(
            "irr",
            "IRR (annual)",
            Kind.PERCENT,
            Role.FORMULA,
            width=32,
            doc="The monthly IRR compounded over a year; above 1,000 % a year, words that give "
            "the monthly rate; words instead of a rate when no real rate solves the flows.",
        ),
    ),
)

# The Forecast and Hiring tabs read as FP&A reads them: a months-across view first (a
# MonthView), then their tables stacked below it. The long, machine-readable forecast
# tables sit on the Forecast detail tab. The renderers place the stacked tables from their
# row counts; the anchors here are where the empty template puts them.
_FORECAST_DETAIL = "Forecast detail"


@dataclass(frozen=True)
class MonthView:
    """A months-across block that is not an Excel Table: a title row, then rows of labels
    with one column per month, headed by the month's first day (a real date, shown
    ``mmm yyyy``) so that formulas can key on it. Its cells are SUMIFS links into a table of
    the tab; the workbook-level name ``name`` covers the block, from ``anchor`` (its title)."""

    name: str
    sheet: str
    anchor: str
    doc: str = ""


FORECAST_VIEW = MonthView(
    "ForecastByMonth",
    "Forecast",
    "A4",
    "Portfolio leads by month: actuals, the forecast with its interval, the three "
    "scenarios and conversion, linked to the PortfolioForecast table.",
)
HIRING_VIEW = MonthView(
    "HiringByMonth",
    "Hiring",
    "A4",
    "Per scenario, leads, reps needed, headcount, productive reps, hires and requisitions "
    "by month, linked to the HiringPlan table.",
)
MONTH_VIEWS = (FORECAST_VIEW, HIRING_VIEW)

FORECAST_SERIES_TABLE = TableSpec(
    name="ForecastSeries",
    sheet=_FORECAST_DETAIL,
    anchor="A5",
    doc="How each series was forecast: the method the backtest chose and its error.",
    columns=(
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=26),
        Column("measure", "Measure", Kind.TEXT, Role.OUTPUT, width=11),
        Column("months", "Months of history", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("method", "Method", Kind.TEXT, Role.OUTPUT, width=34),
        Column("mase", "Backtest MASE", Kind.NUMBER, Role.OUTPUT, number_format="0.00", width=10),
        Column(
            "floor_mase",
            "Naive MASE",
            Kind.NUMBER,
            Role.OUTPUT,
            number_format="0.00",
            width=9,
            doc="The (seasonal) naive floor on the same backtest.",
        ),
        Column("note", "Note", Kind.TEXT, Role.OUTPUT, width=50),
    ),
)

PORTFOLIO_FORECAST_TABLE = TableSpec(
    name="PortfolioForecast",
    sheet="Forecast",
    anchor="A43",
    doc="Portfolio leads: History, the baseline forecast with its interval, the scenarios.",
    columns=(
        Column("month", "Month", Kind.MONTH, Role.OUTPUT, width=10),
        Column("actual", "Actual leads", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("forecast", "Forecast", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("lower", "Lower", Kind.INTEGER, Role.OUTPUT, width=9),
        Column("upper", "Upper", Kind.INTEGER, Role.OUTPUT, width=9),
        Column("conservative", "Conservative", Kind.INTEGER, Role.OUTPUT, width=13),
        Column("base", "Base", Kind.INTEGER, Role.OUTPUT, width=9),
        Column("aggressive", "Aggressive", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("actual_conversion", "Actual conversion", Kind.PERCENT, Role.OUTPUT, width=11),
        Column("conversion", "Conversion forecast", Kind.PERCENT, Role.OUTPUT, width=11),
    ),
)

SCENARIOS_TABLE = TableSpec(
    name="Scenarios",
    sheet="Forecast",
    anchor="A37",
    doc="Each scenario's month-12 leads against the baseline forecast's distribution.",
    columns=(
        Column("scenario", "Scenario", Kind.TEXT, Role.OUTPUT, width=13),
        Column("growth", "Growth per year", Kind.PERCENT, Role.OUTPUT, width=9),
        Column("confidence", "Stated confidence", Kind.PERCENT, Role.OUTPUT, width=11),
        Column("month", "Month 12", Kind.MONTH, Role.OUTPUT, width=10),
        Column("leads", "Scenario leads", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("baseline", "Baseline leads", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("sd", "Baseline sd", Kind.NUMBER, Role.OUTPUT, width=9),
        Column(
            "probability",
            "P(baseline reaches it)",
            Kind.PERCENT,
            Role.FORMULA,
            width=12,
            formula="IF([@[Baseline sd]]>0,1-_xlfn.NORM.DIST([@[Scenario leads]],"
            "[@[Baseline leads]],[@[Baseline sd]],TRUE),IF([@[Baseline leads]]>="
            "[@[Scenario leads]],1,0))",
            doc="The chance the plan is met without growth actions (normal forecast error).",
        ),
    ),
)

SOURCE_FORECAST_TABLE = TableSpec(
    name="SourceForecast",
    sheet=_FORECAST_DETAIL,
    anchor="A49",
    doc="Each forecast source's monthly leads and conversion with their intervals.",
    columns=(
        Column("month", "Month", Kind.MONTH, Role.OUTPUT, width=10),
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=26),
        Column("leads", "Leads", Kind.NUMBER, Role.OUTPUT, width=9),
        Column("leads_lower", "Leads lower", Kind.NUMBER, Role.OUTPUT, width=9),
        Column("leads_upper", "Leads upper", Kind.NUMBER, Role.OUTPUT, width=9),
        Column("conversion", "Conversion", Kind.PERCENT, Role.OUTPUT, width=11),
        Column("conversion_lower", "Conversion lower", Kind.PERCENT, Role.OUTPUT, width=11),
        Column("conversion_upper", "Conversion upper", Kind.PERCENT, Role.OUTPUT, width=11),
        Column(
            "customers",
            "Customers",
            Kind.NUMBER,
            Role.FORMULA,
            width=11,
            formula="[@Leads]*[@Conversion]",
        ),
    ),
)

FORECAST_LOG_TABLE = TableSpec(
    name="ForecastLog",
    sheet=_FORECAST_DETAIL,
    anchor="K5",
    doc="Every month's forecasts, kept across runs and compared with actuals as they arrive.",
    columns=(
        Column("made", "Made", Kind.MONTH, Role.OUTPUT, width=10),
        Column("month", "Month", Kind.MONTH, Role.OUTPUT, width=10),
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=26),
        Column("measure", "Measure", Kind.TEXT, Role.OUTPUT, width=11),
        Column("horizon", "Months ahead", Kind.INTEGER, Role.OUTPUT, width=8),
        Column("forecast", "Forecast", Kind.NUMBER, Role.OUTPUT, number_format=_NUM3, width=10),
        Column("lower", "Lower", Kind.NUMBER, Role.OUTPUT, number_format=_NUM3, width=10),
        Column("upper", "Upper", Kind.NUMBER, Role.OUTPUT, number_format=_NUM3, width=10),
        Column("method", "Method", Kind.TEXT, Role.OUTPUT, width=30),
        Column(
            "actual",
            "Actual",
            Kind.NUMBER,
            Role.OUTPUT,
            required=False,
            number_format=_NUM3,
            width=10,
        ),
        Column(
            "error",
            "Error",
            Kind.PERCENT,
            Role.FORMULA,
            width=9,
            formula="IF(ISNUMBER([@Actual]),IF([@Actual]<>0,([@Forecast]-[@Actual])"
            '/[@Actual],""),"")',
        ),
    ),
)

ACCURACY_TABLE = TableSpec(
    name="Accuracy",
    sheet="Forecast",
    anchor="A94",
    doc="Forecast accuracy against actuals: MAPE and MASE against the chapter's targets.",
    columns=(
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=26),
        Column("measure", "Measure", Kind.TEXT, Role.OUTPUT, width=11),
        Column("compared", "Forecasts compared", Kind.INTEGER, Role.OUTPUT, width=11),
        Column("mape", "MAPE", Kind.PERCENT, Role.OUTPUT, width=9),
        Column("mase", "MASE", Kind.NUMBER, Role.OUTPUT, number_format="0.00", width=8),
        Column("target", "Target (±)", Kind.PERCENT, Role.OUTPUT, width=9),
        Column("target_kind", "Target", Kind.TEXT, Role.OUTPUT, width=9),
        Column(
            "status",
            "Status",
            Kind.TEXT,
            Role.FORMULA,
            width=9,
            formula='IF([@MAPE]<=[@[Target (±)]],"within","outside")',
        ),
    ),
)

HIRING_PLAN_TABLE = TableSpec(
    name="HiringPlan",
    sheet="Hiring",
    anchor="A96",
    doc="Month by month and scenario: reps needed, productive reps, hires and requisitions.",
    columns=(
        Column("scenario", "Scenario", Kind.TEXT, Role.OUTPUT, width=13),
        Column("month", "Month", Kind.MONTH, Role.OUTPUT, width=10),
        Column("leads", "Leads", Kind.INTEGER, Role.OUTPUT, width=9),
        Column(
            "needed",
            "Reps needed",
            Kind.INTEGER,
            Role.FORMULA,
            width=9,
            formula="MAX(0,ROUNDUP([@Leads]/LeadsPerRepOptimal-RepRounding,0))",
        ),
        Column("headcount", "Headcount", Kind.NUMBER, Role.OUTPUT, width=10),
        Column("productive", "Productive reps", Kind.NUMBER, Role.OUTPUT, width=11),
        Column("hires", "Hires starting", Kind.INTEGER, Role.OUTPUT, width=9),
        Column("requisitions", "Requisitions to open", Kind.INTEGER, Role.OUTPUT, width=12),
        Column("leavers", "Expected leavers", Kind.NUMBER, Role.OUTPUT, width=9),
        Column(
            "capacity",
            "Sales capacity (leads)",
            Kind.INTEGER,
            Role.FORMULA,
            width=14,
            formula="[@[Productive reps]]*LeadsPerRepOptimal",
        ),
        Column(
            "cost",
            "Team cost",
            Kind.CURRENCY,
            Role.FORMULA,
            width=12,
            formula="[@Headcount]*RepMonthlyCost",
            doc="Headcount × the loaded cost of a rep a month (RepMonthlyCost).",
        ),
        Column("status", "Status", Kind.TEXT, Role.OUTPUT, width=18),
    ),
)

HIRING_QUARTERS_TABLE = TableSpec(
    name="HiringQuarters",
    sheet="Hiring",
    anchor="A66",
    doc="Hires and requisitions per quarter and scenario.",
    columns=(
        Column("scenario", "Scenario", Kind.TEXT, Role.OUTPUT, width=13),
        Column("quarter", "Quarter", Kind.TEXT, Role.OUTPUT, width=9),
        Column("hires", "Hires starting", Kind.INTEGER, Role.OUTPUT, width=9),
        Column("requisitions", "Requisitions to open", Kind.INTEGER, Role.OUTPUT, width=12),
        Column("cost", "Team cost", Kind.CURRENCY, Role.OUTPUT, width=12),
    ),
)

CAPACITY_CHECKS_TABLE = TableSpec(
    name="CapacityChecks",
    sheet="Hiring",
    anchor="A53",
    doc="Operations and support capacity against each scenario, and when each is exceeded.",
    columns=(
        Column("scenario", "Scenario", Kind.TEXT, Role.OUTPUT, width=13),
        Column("peak_leads", "Peak leads", Kind.INTEGER, Role.OUTPUT, width=9),
        Column("peak_month", "Peak month", Kind.MONTH, Role.OUTPUT, width=10),
        Column("ops_capacity", "Operations capacity", Kind.INTEGER, Role.OUTPUT, width=11),
        Column("ops_exceeded", "Operations first exceeded", Kind.MONTH, Role.OUTPUT, width=16),
        Column("support_capacity", "Support capacity", Kind.INTEGER, Role.OUTPUT, width=10),
        Column("support_exceeded", "Support first exceeded", Kind.MONTH, Role.OUTPUT, width=14),
        Column("reps_month12", "Reps needed, month 12", Kind.INTEGER, Role.OUTPUT, width=13),
        Column("hires_total", "Hires over the plan", Kind.INTEGER, Role.OUTPUT, width=11),
    ),
)

CHAPTER_CHECK_TABLE = TableSpec(
    name="ChapterCheck",
    sheet="Hiring",
    anchor="A59",
    doc="The chapter's staffing table, recomputed with the rounding rule on Settings.",
    columns=(
        Column("case", "Case", Kind.TEXT, Role.OUTPUT, width=24),
        Column("leads", "Leads", Kind.INTEGER, Role.OUTPUT, width=9),
        Column("per_rep", "Leads per rep", Kind.NUMBER, Role.OUTPUT, width=9),
        Column(
            "reps",
            "Reps (model)",
            Kind.INTEGER,
            Role.FORMULA,
            width=9,
            formula="MAX(0,ROUNDUP([@Leads]/[@[Leads per rep]]-RepRounding,0))",
        ),
        Column("chapter", "Reps (chapter)", Kind.INTEGER, Role.OUTPUT, width=9),
        Column(
            "check",
            "Check",
            Kind.TEXT,
            Role.FORMULA,
            width=9,
            formula='IF([@[Reps (model)]]=[@[Reps (chapter)]],"matches","differs")',
        ),
    ),
)

# --- Tabs -----------------------------------------------------------------------------

START = SheetSpec(
    "Start",
    "What each tab is for, which button to press, and the last input check.",
    Role.OUTPUT,
    tables=(PROBLEMS_TABLE,),
    tab_color="1F4E78",
    buttons=("Check inputs",),
)
SETTINGS = SheetSpec(
    "Settings",
    "Bands, caps, weights and capacity figures that every calculation uses.",
    Role.INPUT,
    tables=(SETTINGS_TABLE,),
    tab_color="FFC000",
)
SOURCES = SheetSpec(
    "Sources",
    "The source inventory (inputs in blue on yellow), optional price tiers, and "
    "the portfolio's blended figures.",
    Role.INPUT,
    tables=(SOURCES_TABLE, PRICE_TIERS_TABLE),
    cells=SOURCE_SUMMARY,
    tab_color="FFC000",
)
HISTORY = SheetSpec(
    "History",
    "Monthly spend, leads, customers and revenue per source.",
    Role.INPUT,
    tables=(HISTORY_TABLE,),
    tab_color="FFC000",
)
TIERS = SheetSpec(
    "Tiers",
    "Tier, lead type and risk class of each source, and today's spend against the bands.",
    Role.OUTPUT,
    tables=(CLASSES_TABLE, BANDS_TABLE),
    tab_color="70AD47",
    buttons=("Refresh",),
)
SCORES = SheetSpec(
    "Scores",
    "Performance, reliability, strategic and risk scores, the composite and the rank.",
    Role.OUTPUT,
    tables=(SCORES_TABLE,),
    tab_color="70AD47",
    buttons=("Refresh",),
)
ALLOCATION = SheetSpec(
    "Allocation",
    "The recommended budget allocation, what binds it, and the glide path.",
    Role.OUTPUT,
    tables=(ALLOCATION_TABLE, ALLOCATION_BANDS_TABLE, BINDING_TABLE),
    cells=ALLOCATION_SUMMARY,
    tab_color="5B9BD5",
    buttons=("Rebalance",),
)
ROI = SheetSpec(
    "ROI",
    "30-day, 90-day and 12-month ROI, NPV, IRR and payback per source.",
    Role.OUTPUT,
    tables=(ROI_TABLE, COHORT_FLOWS_TABLE),
    tab_color="5B9BD5",
)
FORECAST = SheetSpec(
    "Forecast",
    "Portfolio leads and conversion by month: actuals, the forecast with its interval, "
    "the scenarios, and forecast accuracy.",
    Role.OUTPUT,
    tab_color="5B9BD5",
    tables=(SCENARIOS_TABLE, PORTFOLIO_FORECAST_TABLE, ACCURACY_TABLE),
    buttons=("Refresh forecast",),
)
FORECAST_DETAIL = SheetSpec(
    _FORECAST_DETAIL,
    "How each series was forecast, every source's monthly forecast, and the forecast log "
    "kept across runs.",
    Role.OUTPUT,
    tab_color="5B9BD5",
    tables=(FORECAST_SERIES_TABLE, SOURCE_FORECAST_TABLE, FORECAST_LOG_TABLE),
    buttons=("Refresh forecast",),
)
HIRING = SheetSpec(
    "Hiring",
    "Reps needed, productive reps and hires by month and scenario; capacity checks.",
    Role.OUTPUT,
    tab_color="5B9BD5",
    tables=(HIRING_PLAN_TABLE, HIRING_QUARTERS_TABLE, CAPACITY_CHECKS_TABLE, CHAPTER_CHECK_TABLE),
    buttons=("Plan hiring",),
)
LEADS = SheetSpec(
    "Leads",
    "The lead table (your inputs) with each open lead's probability, band, expected ROI, "
    "action and price, and the model report.",
    Role.OUTPUT,
    tables=(
        LEAD_METRICS_TABLE,
        LEAD_CONFUSION_TABLE,
        LEAD_BANDS_TABLE,
        LEAD_ACTIONS_TABLE,
        LEAD_CALIBRATION_TABLE,
        LEAD_SOURCES_TABLE,
        LEADS_TABLE,
    ),
    cells=LEAD_CELLS,
    tab_color="5B9BD5",
    buttons=("Score leads",),
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
LOG = SheetSpec(
    "Log",
    "Every write leadbook made to this workbook.",
    Role.OUTPUT,
    tables=(LOG_TABLE,),
    tab_color="808080",
    buttons=("Undo",),
)

SHEETS: tuple[SheetSpec, ...] = (
    START,
    SETTINGS,
    SOURCES,
    HISTORY,
    TIERS,
    SCORES,
    ALLOCATION,
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


def file_formula(table: TableSpec, formula: str) -> str:
    """Expand a readable table formula to the form stored in .xlsx files.

    ``[@Col]`` and ``[@[Col name]]`` become ``Table[[#This Row],[Col]]``; a bare ``[Col]``
    (a whole column of the same table) becomes ``Table[Col]``.

    Examples
    --------
    >>> file_formula(SOURCES_TABLE, "[@[Monthly leads]]*[@Conversion]")
    '=Sources[[#This Row],[Monthly leads]]*Sources[[#This Row],[Conversion]]'
    >>> file_formula(SCORES_TABLE, "_xlfn.RANK.EQ([@Composite],[Composite],0)")
    '=_xlfn.RANK.EQ(Scores[[#This Row],[Composite]],Scores[Composite],0)'
    """
    out: list[str] = []
    i = 0
    while i < len(formula):
        if formula.startswith("[@[", i):
            end = formula.index("]]", i)
            out.append(f"{table.name}[[#This Row],[{formula[i + 3 : end]}]]")
            i = end + 2
        elif formula.startswith("[@", i):
            end = formula.index("]", i)
            out.append(f"{table.name}[[#This Row],[{formula[i + 2 : end]}]]")
            i = end + 1
        elif formula[i] == "[" and (i == 0 or not _is_name_char(formula[i - 1])):
            end = formula.index("]", i)
            out.append(f"{table.name}[{formula[i + 1 : end]}]")
            i = end + 1
        else:
            out.append(formula[i])
            i += 1
    return "=" + "".join(out)


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_."
