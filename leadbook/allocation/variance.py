"""An accepted plan against what History later holds: planned against actual, and the
customer variance split into the effects of spend, price and conversion.

Customers are spend × leads per dollar × conversion (leads per dollar is 1 / CPL, conversion
is customers / leads). The variance of a source's customers from plan is decomposed as a
chain, in this order — **volume first, then price (CPL), then conversion** — each effect
changing one factor from plan to actual with the factors before it already at actual:

- volume     = (S₁ − S₀) · e₀ · r₀       (the planned rates on the spend not planned)
- price      = S₁ · (e₁ − e₀) · r₀       (actual spend, leads per dollar moved, planned conversion)
- conversion = S₁ · e₁ · (r₁ − r₀) = L₁ · (r₁ − r₀)

where S is spend, e leads per dollar, r conversion, 0 the plan and 1 the actual. The three
add up to C₁ − C₀ exactly (a telescoping sum; in floating point the conversion effect is
taken as the remainder of the first two, so the sum is the variance to the last bit). A
source the chain cannot follow — nothing planned (a new source), nothing spent (a stopped
one), or no leads on one side — has its effects that are defined computed as above and the
rest of its variance in the named effect **New or stopped**: nothing is dropped. With no
actual leads and no actual customers nothing is left: volume (and price, if it spent) explain
the whole variance, the last taken as the remainder, so no rounding residue shows as −0.00.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

TOTAL = "Total"
"""The source name of each month's total row."""

COLUMNS = (
    "month",
    "source",
    "rec_id",
    "plan_spend",
    "spend",
    "plan_leads",
    "leads",
    "plan_customers",
    "customers",
    "plan_cpa",
    "cpa",
    "variance",
    "volume",
    "price",
    "conversion",
    "other",
)


@dataclass(frozen=True)
class Bridge:
    """The customer variance of one source split into effects (they sum to ``variance``)."""

    variance: float
    volume: float
    price: float
    conversion: float
    other: float

    @property
    def parts(self) -> tuple[float, float, float, float]:
        return (self.volume, self.price, self.conversion, self.other)


def customer_bridge(plan: tuple[float, float, float], actual: tuple[float, float, float]) -> Bridge:
    """Split ``actual`` − ``plan`` customers into volume, price and conversion effects.

    ``plan`` and ``actual`` are ``(spend, leads, customers)``. See the module doc for the
    order and for sources the chain cannot follow.

    Examples
    --------
    Planned $10,000 at $100 a lead and 10 % conversion (100 leads, 10 customers); spent
    $12,000 at $120 a lead (100 leads) converting 12 %:

    >>> b = customer_bridge((10_000, 100, 10), (12_000, 100, 12))
    >>> round(b.volume, 6), round(b.price, 6), round(b.conversion, 6), b.other
    (2.0, -2.0, 2.0, 0.0)
    >>> sum(b.parts) == b.variance == 2
    True

    A new source (nothing planned) is all "new or stopped":

    >>> customer_bridge((0, 0, 0), (5_000, 40, 4)).other
    4.0
    """
    s0, l0, c0 = (float(v) for v in plan)
    s1, l1, c1 = (float(v) for v in actual)
    variance = c1 - c0
    e0 = l0 / s0 if s0 > 0 else None
    e1 = l1 / s1 if s1 > 0 else None
    r0 = c0 / l0 if l0 > 0 else None
    r1 = c1 / l1 if l1 > 0 else None
    if e0 is not None and e1 is not None and r0 is not None and r1 is not None:
        volume = (s1 - s0) * e0 * r0
        price = s1 * (e1 - e0) * r0
        return Bridge(variance, volume, price, variance - volume - price, 0.0)
    if e0 is not None and r0 is not None and l1 == 0 and c1 == 0:
        # no leads (stopped, or spent for none): volume and price are the whole chain (the
        # conversion effect, actual leads × …, is 0), the last one taken as the remainder
        if e1 is None:
            return Bridge(variance, variance, 0.0, 0.0, 0.0)
        volume = (s1 - s0) * e0 * r0
        return Bridge(variance, volume, variance - volume, 0.0, 0.0)
    volume = (s1 - s0) * e0 * r0 if e0 is not None and r0 is not None else 0.0
    price = s1 * (e1 - e0) * r0 if e0 is not None and e1 is not None and r0 is not None else 0.0
    conversion = l1 * (r1 - r0) if r0 is not None and r1 is not None else 0.0
    other = variance - volume - price - conversion
    return Bridge(variance, volume, price, conversion, other)


def covering_plans(plans: pd.DataFrame) -> list[tuple[str, pd.Timestamp]]:
    """The accepted plans in force, as ``(rec_id, first month)`` in time order: each covers
    its first month and every month until the next one's first month (a plan accepted later
    for the same or an earlier month replaces it from that month on).

    ``plans``: the Accepted rows, in the order they were appended, with ``rec_id`` and
    ``plan_from``.

    Examples
    --------
    >>> rows = pd.DataFrame({"rec_id": ["R0001", "R0003"],
    ...                      "plan_from": pd.to_datetime(["2026-11-01", "2027-01-01"])})
    >>> [(r, f"{m:%Y-%m}") for r, m in covering_plans(rows)]
    [('R0001', '2026-11'), ('R0003', '2027-01')]
    """
    out: list[tuple[str, pd.Timestamp]] = []
    for rec_id, start in plans.drop_duplicates("rec_id", keep="last")[
        ["rec_id", "plan_from"]
    ].itertuples(index=False):
        month = pd.Timestamp(start).to_period("M").to_timestamp()
        out = [(r, m) for r, m in out if m < month]  # a later acceptance takes over
        out.append((str(rec_id), month))
    return out


def plan_vs_actual(plans: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Each History month an accepted plan covered: per source and in total (source
    :data:`TOTAL`), planned against actual spend, leads, customers and CPA, and the
    customer variance's effects (:func:`customer_bridge`; the total's are the sums).

    ``plans``: the Accepted rows of the Recommendations table (``rec_id, plan_from, source,
    spend, leads, customers``, in the order they were appended); ``history``: History's
    rows (``month, source, spend, leads, customers``). The plan's monthly figures are its
    monthly run-rates (Rebalance recommends a monthly spend), used as they are for each
    month it covers. Columns: :data:`COLUMNS`.

    Examples
    --------
    >>> plans = pd.DataFrame({"rec_id": ["R0001"], "plan_from": [pd.Timestamp("2026-11-01")],
    ...                       "source": ["A"], "spend": [10_000.0], "leads": [100.0],
    ...                       "customers": [10.0]})
    >>> history = pd.DataFrame({"month": pd.to_datetime(["2026-10-01", "2026-11-01"]),
    ...                         "source": ["A", "A"], "spend": [9_000.0, 12_000.0],
    ...                         "leads": [90.0, 100.0], "customers": [9.0, 12.0]})
    >>> t = plan_vs_actual(plans, history)
    >>> t[["source", "plan_customers", "customers", "variance"]].to_dict("records")[-1]
    {'source': 'Total', 'plan_customers': 10.0, 'customers': 12.0, 'variance': 2.0}
    """
    if plans.empty or history.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    spans = covering_plans(plans)
    hist = history.assign(
        month=pd.to_datetime(history["month"]).dt.to_period("M").dt.to_timestamp()
    )
    rows: list[dict] = []
    for month in sorted(hist["month"].unique()):
        month = pd.Timestamp(month)
        live = [r for r, start in spans if start <= month]
        if not live:
            continue
        rec_id = live[-1]
        plan = plans[plans["rec_id"] == rec_id].drop_duplicates("source", keep="last")
        planned = {
            str(r.source): (float(r.spend or 0), float(r.leads or 0), float(r.customers or 0))
            for r in plan.itertuples(index=False)
        }
        got = (
            hist[hist["month"] == month]
            .groupby("source", sort=False)[["spend", "leads", "customers"]]
            .sum()
        )
        actual = {str(s): tuple(float(v) for v in row) for s, row in got.iterrows()}
        month_rows = []
        for source in list(planned) + [s for s in actual if s not in planned]:
            p = planned.get(source, (0.0, 0.0, 0.0))
            a = actual.get(source, (0.0, 0.0, 0.0))
            if source not in actual and not any(p):
                continue  # planned nothing, spent nothing
            month_rows.append(_row(month, source, rec_id, p, a))
        if not month_rows:
            continue
        rows += month_rows
        rows.append(_total(month, rec_id, month_rows))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _cpa(spend: float, customers: float) -> float:
    return spend / customers if customers > 0 else math.nan


def _row(
    month: pd.Timestamp,
    source: str,
    rec_id: str,
    plan: tuple[float, float, float],
    actual: tuple[float, float, float],
) -> dict:
    b = customer_bridge(plan, actual)
    return {
        "month": month,
        "source": source,
        "rec_id": rec_id,
        "plan_spend": plan[0],
        "spend": actual[0],
        "plan_leads": plan[1],
        "leads": actual[1],
        "plan_customers": plan[2],
        "customers": actual[2],
        "plan_cpa": _cpa(plan[0], plan[2]),
        "cpa": _cpa(actual[0], actual[2]),
        "variance": b.variance,
        "volume": b.volume,
        "price": b.price,
        "conversion": b.conversion,
        "other": b.other,
    }


def _total(month: pd.Timestamp, rec_id: str, rows: list[dict]) -> dict:
    out = {"month": month, "source": TOTAL, "rec_id": rec_id}
    for key in ("plan_spend", "spend", "plan_leads", "leads", "plan_customers", "customers"):
        out[key] = math.fsum(r[key] for r in rows)
    for key in ("volume", "price", "conversion", "other"):
        out[key] = math.fsum(r[key] for r in rows)
    out["variance"] = out["customers"] - out["plan_customers"]
    out["plan_cpa"] = _cpa(out["plan_spend"], out["plan_customers"])
    out["cpa"] = _cpa(out["spend"], out["customers"])
    return out
