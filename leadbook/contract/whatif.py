"""The What-if tab: your scenarios (an input table), their results side by side, the
differences against the Settings as set, and the budget curve with its chart.

The Scenarios table is yours: Compare scenarios reads it and writes it back as it was. Its
contract columns are the scenario's name, its budget and one source's pin, cap or exclusion;
any other column headed by the defined name of a setting the allocation reads (``MaxSourceShare``,
``WeeklyGuardrail``, ``SalesReps``…) overrides that setting where filled (a column headed
``Note…`` is ignored).
The results tables get one column per scenario at render time, after "As set"; the tables
below the Scenarios table move down as it grows.
"""

from __future__ import annotations

from leadbook.contract.spec import Column, Kind, Role, SheetSpec, TableSpec

WHATIF_NAME = "What-if"

WHATIF_SCENARIOS_TABLE = TableSpec(
    name="WhatIfScenarios",
    sheet=WHATIF_NAME,
    anchor="A5",
    doc="Your scenarios, one a row: a name, the overrides (add a column headed by a setting's "
    "defined name for any other allocation setting: policy, bands, capacity, objective "
    "weights), and optionally one source pinned, capped or excluded. Compare scenarios never "
    "changes it.",
    columns=(
        Column(
            "scenario",
            "Scenario",
            Kind.TEXT,
            width=22,
            doc="A unique name (not 'As set', the Settings unchanged).",
        ),
        Column(
            "budget",
            "Budget",
            Kind.CURRENCY,
            required=False,
            lo=0,
            width=13,
            doc="The monthly budget of the scenario (blank: the Budget setting).",
        ),
        Column(
            "source",
            "Source",
            Kind.TEXT,
            required=False,
            width=24,
            doc="A source (as on the Sources tab) the next three columns change.",
        ),
        Column(
            "pin",
            "Pin spend",
            Kind.CURRENCY,
            required=False,
            lo=0,
            width=11,
            doc="Fix the source's monthly spend.",
        ),
        Column(
            "cap",
            "Cap spend",
            Kind.CURRENCY,
            required=False,
            lo=0,
            width=11,
            doc="Cap the source's monthly spend.",
        ),
        Column(
            "exclude",
            "Exclude",
            Kind.FLAG,
            required=False,
            width=9,
            doc="yes: the source spends nothing in this scenario.",
        ),
    ),
)

WHATIF_RESULTS_TABLE = TableSpec(
    name="WhatIfResults",
    sheet=WHATIF_NAME,
    anchor="A10",
    doc="Each scenario solved as Rebalance solves it, one column per scenario after 'As set': "
    "status (or the rule that must give), spend, leads, customers, blended CPA, margin, the "
    "binding rules, and the spend per source.",
    columns=(
        Column("measure", "Measure", Kind.TEXT, Role.OUTPUT, width=30),
        Column("as_set", "As set", Kind.TEXT, Role.OUTPUT, width=16),
    ),
)

WHATIF_DIFFERENCES_TABLE = TableSpec(
    name="WhatIfDifferences",
    sheet=WHATIF_NAME,
    anchor="A40",
    doc="Each scenario's figures minus those of 'As set' (blank where either is infeasible).",
    columns=(Column("measure", "Measure", Kind.TEXT, Role.OUTPUT, width=30),),
)

BUDGET_CURVE_TABLE = TableSpec(
    name="BudgetCurve",
    sheet=WHATIF_NAME,
    anchor="A70",
    doc="The full policy solved at budgets from CurveLow to CurveHigh of the budget "
    "(CurvePoints of them); the row at 100 % is Rebalance's recommendation.",
    columns=(
        Column("share", "Share of budget", Kind.PERCENT, Role.OUTPUT, width=10),
        Column("budget", "Budget", Kind.CURRENCY, Role.OUTPUT, width=13),
        Column("status", "Status", Kind.TEXT, Role.OUTPUT, width=11),
        Column("spend", "Spend used", Kind.CURRENCY, Role.OUTPUT, width=13),
        Column("leads", "Expected leads", Kind.NUMBER, Role.OUTPUT, width=11),
        Column("customers", "Expected customers", Kind.NUMBER, Role.OUTPUT, width=12),
        Column("blended_cpa", "Blended CPA", Kind.CURRENCY, Role.OUTPUT, width=11),
        Column(
            "marginal_cpa",
            "Marginal CPA",
            Kind.CURRENCY,
            Role.OUTPUT,
            width=11,
            doc="What the next customer costs: $1,000 ÷ the customers an extra $1,000 of "
            "budget adds (re-solved); blank where the budget does not bind.",
        ),
        Column("rule", "Rule that must give", Kind.TEXT, Role.OUTPUT, width=70),
    ),
)

WHATIF = SheetSpec(
    WHATIF_NAME,
    "Scenarios side by side against the Settings as set, and the budget curve.",
    Role.OUTPUT,
    tables=(
        WHATIF_SCENARIOS_TABLE,
        WHATIF_RESULTS_TABLE,
        WHATIF_DIFFERENCES_TABLE,
        BUDGET_CURVE_TABLE,
    ),
    tab_color="5B9BD5",
    buttons=("Compare scenarios",),
)
