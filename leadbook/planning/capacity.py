"""Capacity and hiring: reps needed, the hires that make them productive in time, and the
operations and support limits each scenario meets.

- **Reps needed** in a month = leads ÷ (leads per rep × utilisation), rounded up after taking
  ``rounding`` of a rep's load off (:func:`reps_needed`). With the chapter's planning figure of
  40 leads per rep (its "85 % (40 leads per rep)") and ``rounding`` 0.5 — round to the nearest
  rep — the chapter's table comes out exactly: 2,400 leads need 51 reps at 47 leads each;
  2,760, 3,240 and 4,200 leads need 69, 81 and 105 reps at 40.
- **Ramp**: a new rep's productivity rises linearly from 0 on the first day to 100 % at the
  days-to-full-productivity on Settings (90: 1/6, 1/2, 5/6 of a full rep in months 1–3).
- **Attrition**: a share of reps leaves every month; leavers are backfilled because the plan
  hires to keep enough *productive* reps, counting ramp and attrition of the new hires too.
- **Time to hire**: a requisition opened in month m yields a rep starting in month
  m + ⌈days ÷ 30⌉; nobody hired today can start before that.

The plan is greedy and month by month: when the expected headcount falls short of the reps
needed in month t, it adds the fewest whole hires that close the gap at t, starting them in
the month (no earlier than a requisition opened today allows) that gives the most productive
capacity at t per hire — with the default ramp, 3 months ahead, so they are fully productive
when needed. Months that hires cannot reach in time are flagged: "peak: overtime" when the
reps at work can cover the leads at peak load, "short by N reps" otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadbook.errors import LeadbookError
from leadbook.settings import Settings

DAYS_PER_MONTH = 30


class CapacityInputError(LeadbookError, ValueError):
    """A capacity function was given a figure it cannot plan with."""


def reps_needed(
    leads: float, leads_per_rep: float, utilisation: float = 1.0, rounding: float = 0.5
) -> int:
    """Whole reps to work ``leads`` a month at ``leads_per_rep × utilisation`` each.

    The exact need is rounded up after taking ``rounding`` of one rep's load off: 0.5 rounds
    to the nearest rep (half a rep's load is absorbed by the gap between optimal and average
    load), 0 always rounds up.

    Examples
    --------
    >>> reps_needed(2_400, 47), reps_needed(2_760, 40), reps_needed(3_240, 40)
    (51, 69, 81)
    >>> reps_needed(4_200, 47, utilisation=0.85), reps_needed(2_401, 40, rounding=0)
    (105, 61)
    >>> reps_needed(100, 0)
    Traceback (most recent call last):
    ...
    leadbook.planning.capacity.CapacityInputError: leads per rep × utilisation must be > \
0, got 0 × 100%
    """
    load = leads_per_rep * utilisation
    if not load > 0:
        raise CapacityInputError(
            f"leads per rep × utilisation must be > 0, got {leads_per_rep:g} × {utilisation:.0%}"
        )
    if not 0 <= rounding < 1:
        raise CapacityInputError(f"rounding must be in [0, 1), got {rounding:g}")
    if not leads >= 0:
        raise CapacityInputError(f"leads must be ≥ 0, got {leads:g}")
    # round(…, 9) keeps float noise (69.000000001) from adding a rep, as Excel's ROUNDUP does.
    return max(0, math.ceil(round(leads / load - rounding, 9)))


def ramp_curve(ramp_days: float, months: int) -> np.ndarray:
    """Productivity of a new rep in each of its first ``months`` months (1 = a full rep).

    Linear from 0 on day 0 to 1 at ``ramp_days``, averaged over each 30-day month.

    Examples
    --------
    >>> ramp_curve(90, 5).round(4).tolist()
    [0.1667, 0.5, 0.8333, 1.0, 1.0]
    >>> ramp_curve(0, 2).tolist()
    [1.0, 1.0]
    """
    if ramp_days < 0:
        raise CapacityInputError(f"days to full productivity must be ≥ 0, got {ramp_days:g}")
    if ramp_days == 0:
        return np.ones(months)
    start = np.arange(months) * DAYS_PER_MONTH
    end = start + DAYS_PER_MONTH

    def area(d: np.ndarray) -> np.ndarray:  # ∫₀ᵈ min(1, x / ramp) dx
        d = np.asarray(d, dtype=float)
        return np.where(d <= ramp_days, d**2 / (2 * ramp_days), d - ramp_days / 2)

    return (area(end) - area(start)) / DAYS_PER_MONTH


@dataclass(frozen=True)
class HiringTerms:
    """How reps are planned: load per rep, rounding, ramp, attrition and time to hire."""

    leads_per_rep: float = 40.0
    rounding: float = 0.5
    ramp_days: float = 90.0
    attrition: float = 0.02
    time_to_hire_days: float = 45.0
    peak_leads_per_rep: float = 55.0
    rep_monthly_cost: float = 0.0
    """The loaded cost of a rep a month ($), ramping or not."""

    def __post_init__(self) -> None:
        if not 0 <= self.attrition <= 1:
            raise CapacityInputError(f"attrition must be in 0–100 %, got {self.attrition:.1%}")
        if self.time_to_hire_days < 0:
            raise CapacityInputError(f"time to hire must be ≥ 0, got {self.time_to_hire_days:g}")

    @classmethod
    def from_settings(cls, settings: Settings) -> HiringTerms:
        """The terms on the Settings tab."""
        h, c = settings.hiring, settings.capacity
        return cls(
            h.leads_per_rep_optimal,
            h.rep_rounding,
            c.ramp_days,
            h.attrition,
            h.time_to_hire_days,
            c.peak_leads_per_rep,
            h.rep_monthly_cost,
        )

    @property
    def lead_months(self) -> int:
        """Months from opening a requisition to the rep's start."""
        return math.ceil(round(self.time_to_hire_days / DAYS_PER_MONTH, 9))


PLAN_COLUMNS = [
    "month",
    "leads",
    "needed",
    "headcount",
    "productive",
    "hires",
    "requisitions",
    "leavers",
    "cost",
    "status",
]


def hiring_plan(
    leads: Sequence[float] | pd.Series,
    current_reps: int,
    terms: HiringTerms = HiringTerms(),
) -> pd.DataFrame:
    """Month by month: reps needed, expected headcount and productive reps, hires.

    ``leads`` are the monthly leads to work from next month on (a Series keeps its index as
    the month labels; otherwise months are numbered 1, 2, …). ``current_reps`` are fully
    productive today. Columns: ``month, leads, needed, headcount, productive, hires`` (starting
    that month), ``requisitions`` (to open that month), ``leavers`` (expected), ``cost`` (the
    team's: headcount × the loaded cost of a rep a month), ``status``.

    Examples
    --------
    >>> plan = hiring_plan([2_400, 2_400, 2_800, 2_800], 60, HiringTerms(attrition=0.0,
    ...                    time_to_hire_days=0))
    >>> plan[["needed", "hires", "productive", "status"]].values.tolist()
    [[60, 10, 61.66..., 'covered'], [60, 0, 65.0, 'covered'], [70, 0, 68.33..., 'peak: overtime'],
     [70, 0, 70.0, 'covered']]
    """
    months, values = _months(leads)
    n = len(values)
    ramp = ramp_curve(terms.ramp_days, n)
    keep = (1 - terms.attrition) ** np.arange(n + 1)
    needed = np.array([reps_needed(v, terms.leads_per_rep, 1.0, terms.rounding) for v in values])
    hires = np.zeros(n, dtype=int)
    earliest = terms.lead_months  # 0-based index of the first month a new rep can start
    for t in range(n):
        # Heads, not ramped capacity: hires already planned are counted once, however far
        # they are up their ramp, so a slow ramp never triggers a second round of hiring.
        gap = needed[t] - _productive(current_reps, hires, np.ones(n), keep)[t]
        starts = np.arange(earliest, t + 1)
        if gap <= 1e-9 or starts.size == 0:
            continue
        value = keep[t - starts] * ramp[t - starts]
        if value.max() <= 0:
            continue
        best = starts[::-1][np.argmax(value[::-1])]  # ties go to the latest start
        hires[best] += math.ceil(round(gap / keep[t - best], 9))
    productive = _productive(current_reps, hires, ramp, keep)
    headcount = _productive(current_reps, hires, np.ones(n), keep)
    before = np.concatenate([[current_reps], headcount[:-1]])
    requisitions = np.zeros(n, dtype=int)
    for s in np.flatnonzero(hires):
        requisitions[s - terms.lead_months] += hires[s]
    return pd.DataFrame(
        {
            "month": months,
            "leads": values,
            "needed": needed,
            "headcount": headcount,
            "productive": productive,
            "hires": hires,
            "requisitions": requisitions,
            "leavers": before * terms.attrition,
            "cost": headcount * terms.rep_monthly_cost,
            "status": [
                _status(v, need, prod, terms)
                for v, need, prod in zip(values, needed, productive, strict=True)
            ],
        },
        columns=PLAN_COLUMNS,
    )


def _months(leads: Sequence[float] | pd.Series) -> tuple[list, np.ndarray]:
    if isinstance(leads, pd.Series):
        months, values = list(leads.index), leads.to_numpy(dtype=float)
    else:
        values = np.asarray(leads, dtype=float).ravel()
        months = list(range(1, len(values) + 1))
    if values.size == 0:
        raise CapacityInputError("the hiring plan needs at least one month of leads")
    bad = [f"month {m}: {v:g}" for m, v in zip(months, values, strict=True) if not (v >= 0)]
    if bad:
        raise CapacityInputError(f"leads must be ≥ 0 in every month; got {', '.join(bad[:3])}")
    return months, values


def _productive(current: int, hires: np.ndarray, ramp: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Full-rep equivalents at work in each month: today's reps plus ramping hires."""
    n = len(hires)
    out = current * keep[1 : n + 1]
    for s in np.flatnonzero(hires):
        age = np.arange(n - s)
        out[s:] += hires[s] * keep[age] * ramp[age]
    return out


def _status(leads: float, needed: int, productive: float, terms: HiringTerms) -> str:
    if productive >= needed - 1e-9:
        return "covered"
    if productive * terms.peak_leads_per_rep >= leads:
        return "peak: overtime"
    return f"short by {needed - productive:,.1f} reps"


def quarterly_hires(plan: pd.DataFrame) -> pd.DataFrame:
    """Hires, requisitions and (when the plan has it) the team's cost per quarter of the
    plan (``Q1`` = months 1–3 when unlabelled).

    Examples
    --------
    >>> plan = pd.DataFrame({"month": range(1, 7), "hires": [0, 0, 2, 1, 0, 3],
    ...                      "requisitions": [2, 1, 0, 3, 0, 0]})
    >>> quarterly_hires(plan).values.tolist()
    [['Q1', 2, 3], ['Q2', 4, 3]]
    """
    quarter = [_quarter(m, i) for i, m in enumerate(plan["month"])]
    summed = [c for c in ("hires", "requisitions", "cost") if c in plan]
    out = plan.groupby(quarter, sort=False)[summed].sum()
    return out.rename_axis("quarter").reset_index()


def _quarter(month: object, i: int) -> str:
    if isinstance(month, pd.Timestamp | pd.Period):
        return f"{month.year} Q{(month.month - 1) // 3 + 1}"
    return f"Q{i // 3 + 1}"


def sales_capacity(plan: pd.DataFrame, month: object, leads_per_rep: float = 40.0) -> float:
    """Leads the sales team can work in ``month`` of a hiring plan: productive reps × load.

    This is the allocation's sales capacity for a planned month (``allocate(...,
    sales_capacity=sales_capacity(plan, month))``).

    Examples
    --------
    >>> plan = hiring_plan([2_400] * 3, 60, HiringTerms(attrition=0.0))
    >>> sales_capacity(plan, 2)
    2400.0
    >>> sales_capacity(plan, 9)
    Traceback (most recent call last):
    ...
    leadbook.planning.capacity.CapacityInputError: month 9 is not in the hiring plan \
(it covers 1 to 3)
    """
    rows = plan[plan["month"] == month]
    if rows.empty:
        first, last = plan["month"].iloc[0], plan["month"].iloc[-1]
        raise CapacityInputError(
            f"month {_label(month)} is not in the hiring plan (it covers {_label(first)} "
            f"to {_label(last)})"
        )
    return float(rows["productive"].iloc[0] * leads_per_rep)


def _label(month: object) -> str:
    return f"{month:%b %Y}" if isinstance(month, pd.Timestamp) else str(month)


def first_exceeded(values: pd.Series, limit: float) -> object | None:
    """The first index label where ``values`` exceed ``limit``; None if never.

    Examples
    --------
    >>> first_exceeded(pd.Series([100, 190, 150], index=[1, 2, 3]), 180)
    2
    """
    over = values.index[values.to_numpy() > limit + 1e-9]
    if not len(over):
        return None
    return over[0].item() if isinstance(over[0], np.generic) else over[0]
