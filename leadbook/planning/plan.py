"""The planning results the planning tabs show: the forecast with its log and accuracy, and
the hiring plan of every scenario with its capacity checks."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from leadbook.planning.capacity import HiringTerms, first_exceeded, hiring_plan, quarterly_hires
from leadbook.planning.forecast import PortfolioForecast, scenario_paths, scenario_table, scenarios
from leadbook.planning.forecastlog import accuracy, log_rows, update_log
from leadbook.settings import Settings


@dataclass(frozen=True)
class ForecastResult:
    """What the Forecast tabs show, computed once per refresh."""

    forecast: PortfolioForecast
    log: pd.DataFrame
    accuracy: pd.DataFrame
    scenarios: pd.DataFrame
    fan: pd.DataFrame
    """The PortfolioForecast table: :data:`FAN_ACTUAL_MONTHS` of actuals, then each forecast
    month with its interval, the three scenarios and the conversion (:func:`fan_rows`)."""


FAN_ACTUAL_MONTHS = 24
"""Months of actuals the PortfolioForecast table (and the fan chart) shows."""


def fan_rows(pf: PortfolioForecast, settings: Settings) -> pd.DataFrame:
    """The actual months, then the forecast with its interval and each scenario's path."""
    past = pf.actuals.tail(FAN_ACTUAL_MONTHS).rename(
        columns={"leads": "actual", "conversion": "actual_conversion"}
    )
    paths = scenario_paths(pf, settings)
    future = pd.DataFrame(
        {
            "month": pf.portfolio["month"],
            "forecast": pf.portfolio["leads"],
            "lower": pf.portfolio["lower"],
            "upper": pf.portfolio["upper"],
            "conservative": paths["Conservative"],
            "base": paths["Base"],
            "aggressive": paths["Aggressive"],
            "conversion": pf.portfolio["conversion"],
        }
    )
    return pd.concat([past, future], ignore_index=True)


def planned_forecast(
    pf: PortfolioForecast,
    history: pd.DataFrame,
    settings: Settings,
    previous_log: pd.DataFrame | None = None,
) -> ForecastResult:
    """The forecast ``pf``, its log (``previous_log`` plus this month's) and accuracy."""
    full_log = update_log(previous_log, log_rows(pf), history)
    return ForecastResult(
        pf,
        full_log,
        accuracy(full_log, history, settings),
        scenario_table(pf, settings),
        fan_rows(pf, settings),
    )


@dataclass(frozen=True)
class HiringResult:
    """The hiring plan of every scenario, its quarterly roll-up and the capacity checks."""

    plan: pd.DataFrame
    quarters: pd.DataFrame
    checks: pd.DataFrame


def hiring_result(pf: PortfolioForecast, settings: Settings) -> HiringResult:
    """Plan hires for each scenario's portfolio leads; check operations and support."""
    terms = HiringTerms.from_settings(settings)
    paths = scenario_paths(pf, settings).set_index("month")
    conversion = pf.portfolio.set_index("month")["conversion"].fillna(0.0)
    cap = settings.capacity
    plans, quarters, checks = [], [], []
    for s in scenarios(settings):
        leads = paths[s.name]
        plan = hiring_plan(leads, cap.sales_reps, terms).assign(scenario=s.name)
        plans.append(plan)
        quarters.append(quarterly_hires(plan).assign(scenario=s.name))
        customers = leads * conversion
        checks.append(
            {
                "scenario": s.name,
                "peak_leads": float(leads.max()),
                "peak_month": leads.idxmax(),
                "ops_capacity": cap.ops_leads * cap.ops_utilisation,
                "ops_exceeded": first_exceeded(leads, cap.ops_leads * cap.ops_utilisation),
                "support_capacity": cap.support_customers,
                "support_exceeded": first_exceeded(customers, cap.support_customers),
                "reps_month12": int(plan["needed"].iloc[11]),
                "hires_total": int(plan["hires"].sum()),
            }
        )
    return HiringResult(
        pd.concat(plans, ignore_index=True),
        pd.concat(quarters, ignore_index=True),
        pd.DataFrame(checks),
    )
