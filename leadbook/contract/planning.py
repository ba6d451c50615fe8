"""The planning tabs: ROI (with the cohorts' cash flows), Forecast, Forecast detail and Hiring."""

from __future__ import annotations

from leadbook.contract.spec import CENTS, Column, Kind, MonthView, Role, SheetSpec, TableSpec

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
    doc="How each series was forecast: the method (the combination from 12 months on, a "
    "backtest's choice below or for the smaller sources) and its backtest error.",
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
            doc="The (seasonal) naive floor on the same backtest (blank for the combination, "
            "which is chosen by no backtest).",
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
