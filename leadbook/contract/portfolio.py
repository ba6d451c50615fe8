"""The Tiers tab (each source's classes, spend against the bands) and the Scores tab."""

from __future__ import annotations

from leadbook.contract.spec import CENTS, Column, Kind, Role, SheetSpec, TableSpec
from leadbook.enums import LeadType, RiskClass, Tier

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
