"""The input tabs: Settings, Sources (with price tiers and the portfolio summary) and History."""

from __future__ import annotations

from leadbook.contract.spec import CENTS, Column, Kind, NamedCell, Role, SheetSpec, TableSpec
from leadbook.enums import Compliance, Party, Status

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
