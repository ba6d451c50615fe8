"""Multi-horizon ROI of each source's monthly lead cohort: 30 days, 90 days, 12 months.

A *cohort* is the leads a source delivered in one month. Its cost is that month's spend; its
customers close over the following months along a *timing curve* (a share within 30 days,
a share within 90 days, all within 12 months); each customer brings its first revenue when it
closes and, while retained, expansion revenue every month after.

Returns are measured on **contribution**, not revenue: what the business keeps of the revenue
(the *gross margin* on Settings) less the *cost to serve* each new customer, against the lead
cost. From these monthly cash flows come the three horizons of the chapter —

- **30 days**: lead cost against the contribution of the customers closed in the first month;
- **90 days**: against the contribution of the full sales cycle (months 1–3);
- **12 months**: against first revenue plus expansion from retained customers (months 1–12);

— and the cohort's NPV, IRR (annualised) and payback month (numpy-financial, the discount
rate on Settings). The return on revenue is kept beside them, labelled as such.

History's ``customers`` and ``revenue`` are a cohort's totals: the customers won from that
month's leads and their first revenue. A source's timing comes from History's optional
*Customers in 30 days* / *Customers in 90 days* columns when at least ``min_cohorts`` cohorts
carry them, otherwise from the curve on Settings. A source with fewer than ``min_cohorts``
months in History is valued from its Sources row (leads × CPL, conversion, revenue per
customer) when it buys leads today.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy_financial as npf
import pandas as pd

from leadbook.errors import LeadbookError
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import RoiRules, Settings

MONTHS = 12
HORIZONS = {"30d": 1, "90d": 3, "12m": 12}
"""Each ROI horizon and the number of cohort months it covers."""
PORTFOLIO = "Portfolio"


class RoiInputError(LeadbookError, ValueError):
    """An ROI function was given an amount or cash flows it cannot value."""


@dataclass(frozen=True)
class Timing:
    """Cumulative shares of a cohort's customers closed within 30 and 90 days.

    Examples
    --------
    >>> Timing(0.20, 0.90).monthly_shares().round(4).tolist()[:4]
    [0.2, 0.35, 0.35, 0.0111]
    """

    within_30d: float
    within_90d: float

    def __post_init__(self) -> None:
        if not 0 <= self.within_30d <= self.within_90d <= 1:
            raise RoiInputError(
                f"timing shares must satisfy 0 ≤ 30-day ≤ 90-day ≤ 100 %, got "
                f"{self.within_30d:.1%} and {self.within_90d:.1%}"
            )

    def monthly_shares(self, months: int = MONTHS) -> np.ndarray:
        """Share of the cohort's customers closing in each month 1..``months`` (sums to 1)."""
        shares = np.zeros(months)
        shares[0] = self.within_30d
        shares[1:3] = (self.within_90d - self.within_30d) / 2
        shares[3:] = (1 - self.within_90d) / (months - 3)
        return shares


def roi(spend: float, revenue: float) -> float:
    """Return on investment: (revenue − spend) ÷ spend.

    Examples
    --------
    >>> roi(1_000, 3_470)
    2.47
    >>> roi(0, 500)
    Traceback (most recent call last):
    ...
    leadbook.planning.roi.RoiInputError: spend must be > 0 to give an ROI, got 0
    """
    if not spend > 0:
        raise RoiInputError(f"spend must be > 0 to give an ROI, got {spend:g}")
    return (revenue - spend) / spend


def cohort_cash_flows(
    spend: float,
    revenue: float,
    timing: Timing = Timing(0.20, 0.90),
    retention: float = 0.98,
    expansion: float = 0.20,
    months: int = MONTHS,
    *,
    gross_margin: float = 1.0,
    cost_to_serve: float = 0.0,
    customers: float = 0.0,
) -> np.ndarray:
    """Monthly cash flows of one cohort: month 1 pays the leads and collects early closes.

    ``revenue`` is the cohort's first revenue (all its customers); a customer closing in month
    j adds ``expansion / 12`` of its first revenue in each later month, times the share still
    retained (``retention`` per month). The business keeps ``gross_margin`` of that revenue
    and pays ``cost_to_serve`` for each of the cohort's ``customers`` in the month it closes;
    with the defaults (margin 100 %, no cost to serve) the flows are the cohort's revenue.

    Examples
    --------
    >>> cohort_cash_flows(1_000, 2_000, Timing(1.0, 1.0), retention=1.0, expansion=0.12,
    ...                   months=3).round(2).tolist()
    [1000.0, 20.0, 20.0]
    >>> cohort_cash_flows(1_000, 2_000, Timing(1.0, 1.0), retention=1.0, expansion=0.12,
    ...                   months=3, gross_margin=0.7, cost_to_serve=50, customers=4).tolist()
    [200.0, 14.0, 14.0]
    """
    if spend < 0 or revenue < 0 or customers < 0 or cost_to_serve < 0:
        raise RoiInputError(
            f"spend, revenue, customers and cost to serve must be ≥ 0, got {spend:g}, "
            f"{revenue:g}, {customers:g} and {cost_to_serve:g}"
        )
    if not 0 <= gross_margin <= 1:
        raise RoiInputError(f"the gross margin must be within 0–100 %, got {gross_margin:.1%}")
    shares = timing.monthly_shares(MONTHS)[:months]
    flows = revenue * shares
    for k in range(1, months):
        ages = k - np.arange(k)
        flows[k] += revenue * expansion / 12 * float(np.sum(shares[:k] * retention**ages))
    flows = gross_margin * flows - cost_to_serve * customers * shares
    flows[0] -= spend
    return flows


def _flows(cash_flows: Sequence[float] | np.ndarray) -> np.ndarray:
    flows = np.asarray(cash_flows, dtype=float).ravel()
    if flows.size < 2:
        raise RoiInputError(f"cash flows need at least 2 months, got {flows.size}")
    if not np.isfinite(flows).all():
        raise RoiInputError("cash flows must be finite numbers (a blank or text in the range?)")
    return flows


def monthly_rate(annual_rate: float) -> float:
    """The monthly rate equivalent to ``annual_rate``: (1 + r)^(1/12) − 1.

    Examples
    --------
    >>> round(monthly_rate(0.1268250301), 6)
    0.01
    """
    if annual_rate <= -1:
        raise RoiInputError(f"the discount rate must be above −100 %, got {annual_rate:.1%}")
    return (1 + annual_rate) ** (1 / 12) - 1


def npv_cohort(cash_flows: Sequence[float] | np.ndarray, annual_rate: float) -> float:
    """Net present value of monthly cash flows, the first undiscounted (month 1 is today).

    Examples
    --------
    >>> round(npv_cohort([-100, 60, 60], 0.0), 2)
    20.0
    >>> round(npv_cohort([-100, 110], (1.1) ** 12 - 1), 6)
    0.0
    """
    return float(npf.npv(monthly_rate(annual_rate), _flows(cash_flows)))


def irr_cohort(cash_flows: Sequence[float] | np.ndarray) -> float:
    """IRR per month of monthly cash flows; NaN when no real rate solves them (see
    :func:`irr_reason`). A board reads it annualised (:func:`annualised`).

    Examples
    --------
    >>> round(irr_cohort([-100, 110]), 4)
    0.1
    """
    rate = float(npf.irr(_flows(cash_flows)))
    return rate if math.isfinite(rate) else math.nan


def annualised(monthly: float) -> float:
    """The annual rate a monthly rate compounds to: (1 + r)^12 − 1 (NaN stays NaN).

    Examples
    --------
    >>> round(annualised(0.01), 6)
    0.126825
    """
    return (1 + monthly) ** 12 - 1


IRR_SHOWN_UP_TO = 10.0
"""Annual IRRs above this (1,000 %) are shown in words with the monthly rate: a cohort that
pays back within a quarter compounds to figures in the millions of percent, which say
nothing more than "it pays back fast"."""


def irr_annual_or_reason(cash_flows: Sequence[float] | np.ndarray) -> float | str:
    """The annual IRR, words with the monthly rate above 1,000 % a year, or why there is none.

    Examples
    --------
    >>> round(irr_annual_or_reason([-100, 0, 121]), 4)
    2.1384
    >>> irr_annual_or_reason([-100, 160])
    'over 1,000% a year (60% a month)'
    >>> irr_annual_or_reason([-100, 0])
    'no IRR: the cohort brings no revenue to set against its cost'
    """
    monthly = irr_or_reason(cash_flows)
    if isinstance(monthly, str):
        return monthly
    yearly = annualised(monthly)
    return yearly if yearly <= IRR_SHOWN_UP_TO else f"over 1,000% a year ({monthly:.0%} a month)"


def irr_reason(cash_flows: Sequence[float] | np.ndarray) -> str | None:
    """Why the cash flows have no IRR, in words; None when they have one.

    Examples
    --------
    >>> irr_reason([-100, 0, 0])
    'no IRR: the cohort brings no revenue to set against its cost'
    >>> irr_reason([50, 10, 10])
    'no IRR: nothing is at risk (month 1 already covers the cost)'
    >>> irr_reason([-100, 110]) is None
    True
    """
    flows = _flows(cash_flows)
    if (flows <= 0).all():
        return "no IRR: the cohort brings no revenue to set against its cost"
    if (flows >= 0).all():
        return "no IRR: nothing is at risk (month 1 already covers the cost)"
    if not math.isfinite(irr_cohort(flows)):
        return "no IRR: no real rate of return solves these cash flows"
    return None


def irr_or_reason(cash_flows: Sequence[float] | np.ndarray) -> float | str:
    """The monthly IRR, or the reason there is none — what an IRR cell shows.

    Examples
    --------
    >>> irr_or_reason([-100, 0])
    'no IRR: the cohort brings no revenue to set against its cost'
    """
    return irr_reason(cash_flows) or irr_cohort(cash_flows)


def payback(cash_flows: Sequence[float] | np.ndarray) -> int | None:
    """The first month (1-based) by whose end the cumulative cash flow is ≥ 0; None if never.

    Examples
    --------
    >>> payback([-100, 30, 30, 40, 40])
    4
    >>> payback([-100, 10]) is None
    True
    """
    reached = np.flatnonzero(np.cumsum(_flows(cash_flows)) >= -1e-9)
    return int(reached[0]) + 1 if reached.size else None


def payback_text(month: int | None, months: int = MONTHS) -> int | str:
    """A payback month for a cell: the month number, or words when it is not reached."""
    return month if month is not None else f"not within {months} months"


# --- Per source -----------------------------------------------------------------------------


def source_cohorts(inventory: Inventory, rules: RoiRules) -> pd.DataFrame:
    """One average monthly cohort per source: where it comes from and its timing.

    Columns: ``basis`` (words), ``cohorts``, ``spend``, ``leads``, ``customers``, ``revenue``,
    ``within_30d``, ``within_90d``, ``timing`` (words). Sources with nothing to value have NaN
    amounts and say why in ``basis``.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> cohorts = source_cohorts(demo_inventory(), Settings().roi)
    >>> cohorts.loc[["Organic search", "Webinar series"], ["basis", "timing"]].values.tolist()
    [['History: 12 cohorts', 'Settings curve'], ['History: 2 cohorts (thin)', 'Settings curve']]
    """
    names = list(inventory.names)
    history = inventory.history.sort_values(["source", "month"], kind="stable")
    recent = history.groupby("source", sort=False).tail(rules.cohort_months)
    n = recent.groupby("source").size().reindex(names, fill_value=0).to_numpy()
    means = recent.groupby("source")[list(_AMOUNTS)].mean().reindex(names)
    src = inventory.sources.loc[names]
    leads = src["leads"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        has_leads = leads > 0
    from_history = (n >= rules.min_cohorts) | ((n > 0) & ~has_leads)
    from_row = ~from_history & has_leads
    customers = leads * src["conversion"].to_numpy(float)
    on_row = {
        "spend": leads * src["cpl"].to_numpy(float),
        "leads": leads,
        "customers": customers,
        "revenue": customers * src["revenue_per_customer"].to_numpy(float),
    }
    amounts = {
        key: np.where(
            from_history, means[key].to_numpy(float), np.where(from_row, on_row[key], np.nan)
        )
        for key in _AMOUNTS
    }
    basis = [
        f"History: {k} cohort{'s' if k != 1 else ''}{' (thin)' if k < rules.min_cohorts else ''}"
        if history_based
        else f"Sources row (History has {k} month{'s' if k != 1 else ''})"
        if row_based
        else "no leads in History or on Sources"
        for k, history_based, row_based in zip(n.tolist(), from_history, from_row, strict=True)
    ]
    within_30d, within_90d, timing = _timing(recent, names, rules)
    return pd.DataFrame(
        {
            "basis": basis,
            "cohorts": n,
            **amounts,
            "within_30d": within_30d,
            "within_90d": within_90d,
            "timing": timing,
        },
        index=names,
    )


_AMOUNTS = ("spend", "leads", "customers", "revenue")


def _timing(
    recent: pd.DataFrame, names: list[str], rules: RoiRules
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each source's share of customers closed within 30 and 90 days, from its recent
    cohorts that record both (at least ``min_cohorts`` of them), else the Settings curve."""
    count = np.zeros(len(names), dtype=int)
    within_30d = np.full(len(names), rules.close_30d, dtype=float)
    within_90d = np.full(len(names), rules.close_90d, dtype=float)
    if {"customers_30d", "customers_90d"} <= set(recent.columns):
        known = recent.dropna(subset=["customers_30d", "customers_90d"])
        known = known[known["customers"] > 0].groupby("source")
        count = known.size().reindex(names, fill_value=0).to_numpy()
        sums = known[["customers", "customers_30d", "customers_90d"]].sum().reindex(names)
        learnt = count >= rules.min_cohorts
        total = sums["customers"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            within_30d = np.where(learnt, sums["customers_30d"].to_numpy(float) / total, within_30d)
            within_90d = np.where(learnt, sums["customers_90d"].to_numpy(float) / total, within_90d)
    timing = [
        f"History: {k} cohorts" if k >= rules.min_cohorts else "Settings curve"
        for k in count.tolist()
    ]
    return within_30d, within_90d, timing


def roi_table(inventory: Inventory, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per source and for the portfolio: the ROI figures, and the cohort cash flows.

    The first frame has ``basis, timing, cohorts, spend, leads, customers, revenue_30d,
    revenue_90d, revenue_12m, contribution_30d, contribution_90d, contribution_12m, roi_30d,
    roi_90d, roi_12m, revenue_roi_12m, cpa, revenue_per_lead, payback, npv, irr``: the ROIs,
    payback, NPV and IRR (annual) on contribution (:func:`cohort_cash_flows` with the gross
    margin and cost to serve on Settings), ``revenue_roi_12m`` on revenue. ``payback`` and
    ``irr`` hold words where there is no number. The second frame has the contribution cash
    flows, one column per cohort month (1..12). The last row of each is the portfolio.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> table, flows = roi_table(demo_inventory(), Settings())
    >>> table.loc["Portfolio", "basis"], flows.shape
    ('11 sources with leads', (12, 12))
    """
    rules = settings.roi
    cohorts = source_cohorts(inventory, rules)
    valued = cohorts[cohorts["spend"] > 0]
    flows = _cash_flows(valued, rules, rules.gross_margin, rules.cost_to_serve)
    revenue = _cash_flows(valued, rules, 1.0, 0.0)  # the same cohorts on revenue, for Revenue ROI
    total = _totals(valued)
    rows = {
        name: _figures(cohorts.loc[name], flows.loc[name], revenue.loc[name], rules)
        for name in valued.index
    }
    rows[PORTFOLIO] = _figures(
        pd.Series(
            {
                "basis": f"{len(valued)} sources with leads",
                "timing": "each source's",
                "cohorts": int(valued["cohorts"].sum()),
                **total.to_dict(),
            }
        ),
        flows.loc[PORTFOLIO],
        revenue.loc[PORTFOLIO],
        rules,
    )
    return pd.DataFrame.from_dict(rows, orient="index"), flows


def portfolio_roi_12m(inventory: Inventory, settings: Settings) -> float:
    """The portfolio's 12-month ROI of :func:`roi_table`, alone (the Board's KPI): no
    source's payback, NPV or IRR.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> table, _ = roi_table(demo_inventory(), Settings())
    >>> float(table.loc[PORTFOLIO, "roi_12m"]) == portfolio_roi_12m(demo_inventory(), Settings())
    True
    """
    rules = settings.roi
    cohorts = source_cohorts(inventory, rules)
    valued = cohorts[cohorts["spend"] > 0]
    kept = _cash_flows(valued, rules, rules.gross_margin, rules.cost_to_serve).loc[PORTFOLIO]
    cash = kept.to_numpy(dtype=float).copy()
    spend = float(_totals(valued)["spend"])
    cash[0] += spend
    return roi(spend, float(cash[: HORIZONS["12m"]].sum()))


def _totals(valued: pd.DataFrame) -> pd.Series:
    """The portfolio's spend, leads and customers: the sums over the sources valued."""
    return valued[["spend", "leads", "customers"]].sum()


def _cash_flows(
    valued: pd.DataFrame, rules: RoiRules, gross_margin: float, cost_to_serve: float
) -> pd.DataFrame:
    """The cohort cash flows of each source of ``valued`` (:func:`source_cohorts` with
    spend), one column per month, and their sum as the portfolio's last row."""
    frame = pd.DataFrame(
        [
            cohort_cash_flows(
                r.spend,
                r.revenue,
                Timing(r.within_30d, r.within_90d),
                rules.retention,
                rules.expansion,
                gross_margin=gross_margin,
                cost_to_serve=cost_to_serve,
                customers=r.customers,
            )
            for r in valued.itertuples()
        ],
        index=valued.index,
        columns=range(1, MONTHS + 1),
    )
    frame.loc[PORTFOLIO] = frame.sum()
    return frame


def _figures(
    cohort: pd.Series, flows: pd.Series, revenue_flows: pd.Series, rules: RoiRules
) -> dict:
    """One row of the ROI table from a cohort's contribution and revenue cash flows."""
    spend = float(cohort["spend"])
    cash = flows.to_numpy(dtype=float)
    kept, revenue = cash.copy(), revenue_flows.to_numpy(dtype=float).copy()
    kept[0] += spend
    revenue[0] += spend
    out = {k: cohort[k] for k in ("basis", "timing", "cohorts", "spend", "leads", "customers")}
    for label, months in HORIZONS.items():
        out[f"revenue_{label}"] = float(revenue[:months].sum())
        out[f"contribution_{label}"] = float(kept[:months].sum())
        out[f"roi_{label}"] = roi(spend, out[f"contribution_{label}"])
    out["revenue_roi_12m"] = roi(spend, out["revenue_12m"])
    out["cpa"] = spend / cohort["customers"] if cohort["customers"] > 0 else math.nan
    out["revenue_per_lead"] = out["revenue_12m"] / cohort["leads"]
    out["payback"] = payback_text(payback(cash))
    out["npv"] = npv_cohort(cash, rules.discount_rate)
    out["irr"] = irr_annual_or_reason(cash)
    return out
