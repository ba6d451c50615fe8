"""The Allocation tab: the recommendation, its bands, the binding rules and the glide path."""

from __future__ import annotations

from leadbook.contract.spec import CENTS, Column, Kind, NamedCell, Role, SheetSpec, TableSpec

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
        doc="Customers a month that another $1,000 of budget would add, re-solved with it.",
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


ALLOCATION = SheetSpec(
    "Allocation",
    "The recommended budget allocation, what binds it, and the glide path.",
    Role.OUTPUT,
    tables=(ALLOCATION_TABLE, ALLOCATION_BANDS_TABLE, BINDING_TABLE),
    cells=ALLOCATION_SUMMARY,
    tab_color="5B9BD5",
    buttons=("Rebalance", "Accept plan"),
)
