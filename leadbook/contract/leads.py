"""The Leads tab: the lead table with leadbook's output columns, and the model report."""

from __future__ import annotations

from leadbook.contract.spec import CENTS, Column, Kind, NamedCell, Role, SheetSpec, TableSpec

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
