"""The Decisions tab: every recommendation Rebalance made and each one accepted, and the
accepted plans against the actuals History later holds (see docs/decisions.md)."""

from __future__ import annotations

from leadbook.contract.spec import CENTS, Column, Kind, Role, SheetSpec, TableSpec

RECOMMENDED = "Recommended"
"""The Event of the rows a Rebalance appends (one per source)."""
ACCEPTED = "Accepted"
"""The Event of the rows Accept plan appends (one per source, the spend it wrote)."""


RECOMMENDATIONS_TABLE = TableSpec(
    name="Recommendations",
    sheet="Decisions",
    anchor="A5",
    doc=(
        "An append-only log: one row per source for every Rebalance (Event Recommended) and "
        "for every Accept plan (Event Accepted, the spend it wrote into Sources). Rows are "
        "never rewritten."
    ),
    columns=(
        Column(
            "rec_id",
            "Recommendation",
            Kind.TEXT,
            Role.OUTPUT,
            width=17,
            doc="R0001, R0002… one per Rebalance; Accepted rows repeat the id they accept.",
        ),
        Column("event", "Event", Kind.TEXT, Role.OUTPUT, width=13, doc="Recommended or Accepted."),
        Column("when", "When", Kind.TIMESTAMP, Role.OUTPUT, width=19),
        Column(
            "plan_from",
            "Plan from",
            Kind.MONTH,
            Role.OUTPUT,
            width=10,
            doc="The first month the plan covers: the month after History's last.",
        ),
        Column("objective", "Objective", Kind.TEXT, Role.OUTPUT, width=14),
        Column(
            "inputs",
            "Inputs",
            Kind.TEXT,
            Role.OUTPUT,
            width=44,
            doc="The fingerprints of the inputs the recommendation was computed from.",
        ),
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=28),
        Column(
            "spend",
            "Spend",
            Kind.CURRENCY,
            Role.OUTPUT,
            width=12,
            doc="The recommended monthly spend (Accepted: the spend written into Sources).",
        ),
        Column("leads", "Expected leads", Kind.NUMBER, Role.OUTPUT, width=10),
        Column("customers", "Expected customers", Kind.NUMBER, Role.OUTPUT, width=11),
        Column(
            "before",
            "Spend before",
            Kind.CURRENCY,
            Role.OUTPUT,
            width=12,
            doc="Sources' Current spend at the time (Accepted: the value it replaced).",
        ),
    ),
)


def _effect(key: str, header: str, doc: str) -> Column:
    return Column(
        key, header, Kind.NUMBER, Role.OUTPUT, width=11, number_format="#,##0.00", doc=doc
    )


PLAN_VS_ACTUAL_TABLE = TableSpec(
    name="PlanVsActual",
    sheet="Decisions",
    anchor="M5",
    doc=(
        "Each History month an accepted plan covered, per source and in total: planned "
        "against actual, and the customer variance split into volume, price and conversion "
        "effects (in that order) that add up to it exactly."
    ),
    columns=(
        Column("month", "Month", Kind.MONTH, Role.OUTPUT, width=10),
        Column("source", "Source", Kind.TEXT, Role.OUTPUT, width=28),
        Column("rec_id", "Plan", Kind.TEXT, Role.OUTPUT, width=8, doc="The accepted plan."),
        Column("plan_spend", "Planned spend", Kind.CURRENCY, Role.OUTPUT, width=12),
        Column("spend", "Actual spend", Kind.CURRENCY, Role.OUTPUT, width=12),
        Column("plan_leads", "Planned leads", Kind.NUMBER, Role.OUTPUT, width=10),
        Column("leads", "Actual leads", Kind.NUMBER, Role.OUTPUT, width=10),
        Column("plan_customers", "Planned customers", Kind.NUMBER, Role.OUTPUT, width=11),
        Column("customers", "Actual customers", Kind.NUMBER, Role.OUTPUT, width=11),
        Column(
            "plan_cpa", "Planned CPA", Kind.CURRENCY, Role.OUTPUT, width=10, number_format=CENTS
        ),
        Column("cpa", "Actual CPA", Kind.CURRENCY, Role.OUTPUT, width=10, number_format=CENTS),
        _effect("variance", "Customer variance", "Actual customers − planned customers."),
        _effect(
            "volume",
            "Volume effect",
            "(actual − planned spend) × planned leads per $ × planned conversion.",
        ),
        _effect(
            "price",
            "Price (CPL) effect",
            "Actual spend × change in leads per $ × planned conversion.",
        ),
        _effect("conversion", "Conversion effect", "Actual leads × change in conversion."),
        _effect(
            "other",
            "New or stopped",
            "What the chain cannot split: a source with no planned or no actual spend or leads.",
        ),
    ),
)


DECISIONS = SheetSpec(
    "Decisions",
    "Every recommendation and acceptance (never rewritten), and accepted plans against actuals.",
    Role.OUTPUT,
    tables=(RECOMMENDATIONS_TABLE, PLAN_VS_ACTUAL_TABLE),
    tab_color="5B9BD5",
    buttons=("Refresh",),
)
