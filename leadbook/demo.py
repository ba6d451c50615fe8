"""The built-in demo: the seed chapter's TechFlow portfolio with 24 months of history.

The six sources of the chapter keep its figures exactly (2,400 leads a month; shares, CPL
and conversion as printed), so the workbook's blended figures show the chapter's own
inconsistency ($121.42 and 15.52 % against the stated $127 and 14.2 %). Four more sources
exercise the other classes: new test sources (Tier 3, High risk; a Standard source in test
phase 2, a Value source), whose tests ran to September and are on hold for review (History
records October without buying, as Sources' $0 today says), and a paused Standard source
with a weak vendor, stopped in August. History is
generated from a seeded generator, so the demo is the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadbook.portfolio.inventory import SEED_MONTHLY_LEADS, SEED_SOURCES, StatedTotals

AS_OF = pd.Timestamp("2026-11-01")
"""The demo's 'today': the first month after its history."""

HISTORY_MONTHS = 24
SEED = 20261101

# name: (buyers, age hours, months of history, volume cap, revenue/customer, health,
#        compliance, status, test phase)
_SEED_DETAILS = {
    "Premium comparison sites": (1, 2, 30, 1_100, 3_150, 4.6, "compliant", "active", None),
    "Insurance aggregators": (3, 12, 9, 900, 2_800, 4.0, "compliant", "active", None),
    "Mortgage broker referrals": (6, 720, 20, 600, 2_650, 4.2, "compliant", "active", None),
    "Organic search": (1, 0, 36, 420, 3_300, 5.0, "compliant", "active", None),
    "Content downloads": (2, 48, 14, 260, 2_900, 4.8, "compliant", "active", None),
    "Referral programme": (1, 4, 26, 160, 3_600, 4.9, "compliant", "active", None),
}

# Sources the chapter does not list: new tests and a paused network.
# name, vendor, party, channel, buyers, age h, months, cap, CPL, conversion, revenue/customer,
# health, compliance, status, test phase, months of history ending this many months ago
_EXTRA_SOURCES = (
    (
        "Social lead ads",
        "SocialReach",
        "third-party",
        "Social",
        1,
        1,
        2,
        260,
        118.0,
        0.120,
        2_900,
        3.6,
        "under review",
        "testing",
        1,
        1,
    ),
    (
        "Partner webinars",
        "PartnerCast",
        "third-party",
        "Webinar",
        3,
        24,
        3,
        180,
        140.0,
        0.160,
        3_200,
        4.0,
        "compliant",
        "testing",
        2,
        1,
    ),
    (
        "Aged lead marketplace",
        "LeadVault Exchange",
        "third-party",
        "Marketplace",
        8,
        1_440,
        4,
        900,
        28.0,
        0.045,
        2_400,
        2.8,
        "compliant",
        "testing",
        1,
        1,
    ),
    (
        "Webinar series",
        "In-house",
        "first-party",
        "Events",
        1,
        12,
        1,
        150,
        95.0,
        0.170,
        3_100,
        4.5,
        "compliant",
        "testing",
        1,
        1,
    ),
    (
        "Regional insurance network",
        "Midland Leads",
        "third-party",
        "Aggregator",
        3,
        48,
        14,
        500,
        121.0,
        0.118,
        2_500,
        2.6,
        "under review",
        "paused",
        None,
        2,
    ),
)

# Volume price tiers: (up to leads, CPL). The first tier's price is today's CPL.
_PRICE_TIERS = {
    "Premium comparison sites": ((900, 156.0), (1_000, 168.0), (1_100, 182.0)),
    "Insurance aggregators": ((750, 134.0), (900, 149.0)),
    "Organic search": ((320, 67.0), (420, 85.0)),
    "Content downloads": ((180, 89.0), (260, 104.0)),
    "Referral programme": ((110, 45.0), (160, 60.0)),
}

DEMO_SETTINGS = {
    "policy.budget": 320_000.0,
    "capacity.sales_reps": 70,
    "capacity.support_customers": 450.0,
    "capacity.sales_capacity_source": "hiring plan",
}
"""Where the demo departs from the chapter's defaults, and why (see the Start tab):
the budget grows 10 % on today's $291,408; TechFlow has hired to 70 reps since the chapter's
51 (enough to work the leads the seed policy needs next week — with 66, Rebalance reports the
Tier 2 band and Insurance aggregators' −15 % weekly limit as a conflict); and support is sized
for today's ~373 customers a month (the chapter's 180 is not). Rebalance takes its sales
capacity from the hiring plan, so the demo shows the wiring: 2 % monthly attrition leaves
68.6 productive reps in the plan's first month (no hire can start before month 3)."""

DEMO_NOTES = (
    "Demo: TechFlow's portfolio from the chapter (six sources, 2,400 leads a month) plus four "
    "new test sources and a paused network; 24 months of generated history.",
    "Demo settings that differ from the chapter: budget $320,000 (today's $291,408 + 10 %), "
    "70 sales reps (51 + 19 hired), support for 450 new customers a month (the chapter's 180 "
    "cannot serve the ~373 its own table implies); Rebalance takes sales capacity from the "
    "hiring plan (the Hiring tab's productive reps next month).",
)

DEMO_SCENARIOS = pd.DataFrame(
    {
        "scenario": ["Lean $300k", "As budgeted $320k", "Stretch $350k"],
        "budget": [300_000.0, 320_000.0, 350_000.0],
    }
)
"""The What-if tab's starting scenarios: three budgets around the demo's $320,000."""

DEMO_STATED = StatedTotals(leads=2_400, blended_cpl=127.0, blended_conversion=0.142)


@dataclass(frozen=True)
class DemoTables:
    """Raw demo tables, keyed as in the workbook contract."""

    sources: pd.DataFrame
    price_tiers: pd.DataFrame
    history: pd.DataFrame
    settings: dict[str, float] = field(default_factory=lambda: dict(DEMO_SETTINGS))
    stated: StatedTotals = DEMO_STATED


def demo_tables() -> DemoTables:
    """The demo portfolio's Sources, PriceTiers and History tables.

    Examples
    --------
    >>> t = demo_tables()
    >>> len(t.sources), int(t.sources["leads"].sum()), t.history["month"].max().date()
    (11, 2400, datetime.date(2026, 10, 1))
    """
    rng = np.random.default_rng(SEED)
    sources = pd.DataFrame(_seed_rows() + _extra_rows())
    tiers = pd.DataFrame(
        [
            {"source": name, "up_to": up, "cpl": cpl}
            for name, blocks in _PRICE_TIERS.items()
            for up, cpl in blocks
        ]
    )
    history = pd.concat(
        [_history(row, rng) for row in sources.itertuples(index=False)], ignore_index=True
    )
    return DemoTables(sources, tiers, history)


def _seed_rows() -> list[dict]:
    rows = []
    for name, vendor, party, channel, share, cpl, conversion in SEED_SOURCES:
        buyers, age, months, cap, revenue, health, compliance, status, phase = _SEED_DETAILS[name]
        leads = round(share * SEED_MONTHLY_LEADS)
        rows.append(
            _row(
                name,
                vendor,
                party.value,
                channel,
                buyers,
                age,
                months,
                leads,
                cap,
                float(cpl),
                conversion,
                revenue,
                health,
                compliance,
                status,
                phase,
                spend=leads * float(cpl),
            )
        )
    return rows


def _extra_rows() -> list[dict]:
    return [
        _row(
            name,
            vendor,
            party,
            channel,
            buyers,
            age,
            months,
            0,
            cap,
            cpl,
            conversion,
            revenue,
            health,
            compliance,
            status,
            phase,
            spend=0.0,
        )
        for (
            name,
            vendor,
            party,
            channel,
            buyers,
            age,
            months,
            cap,
            cpl,
            conversion,
            revenue,
            health,
            compliance,
            status,
            phase,
            _,
        ) in _EXTRA_SOURCES
    ]


def _row(
    name,
    vendor,
    party,
    channel,
    buyers,
    age,
    months,
    leads,
    cap,
    cpl,
    conversion,
    revenue,
    health,
    compliance,
    status,
    phase,
    *,
    spend,
) -> dict:
    return {
        "source": name,
        "vendor": vendor,
        "party": party,
        "channel": channel,
        "buyers": buyers,
        "age_hours": age,
        "history_months": months,
        "leads": leads,
        "volume_cap": cap,
        "cpl": cpl,
        "conversion": conversion,
        "revenue_per_customer": revenue,
        "health": health,
        "compliance": compliance,
        "spend": spend,
        "status": status,
        "test_phase": phase,
        "pin": None,
        "cap": None,
        "exclude": None,
    }


def _history(row, rng: np.random.Generator) -> pd.DataFrame:
    """Monthly actuals: seasonal volume with noise, binomial customers, drifting prices."""
    ended = {name: ago for name, *_, ago in _EXTRA_SOURCES}.get(row.source, 0)
    months = min(row.history_months, HISTORY_MONTHS)
    if months == 0:
        return pd.DataFrame(columns=["month", "source", "spend", "leads", "customers", "revenue"])
    end = AS_OF - pd.DateOffset(months=1 + ended)
    index = pd.date_range(end=end, periods=months, freq="MS")
    base = row.leads if row.leads > 0 else _test_volume(row)
    # Insurance and mortgage demand peaks in Q1 and dips in late summer.
    season = 1 + 0.12 * np.cos(2 * np.pi * (index.month.to_numpy() - 2) / 12)
    trend = np.linspace(0.86, 1.0, months) if months > 6 else np.ones(months)
    noise = rng.normal(1.0, 0.05 if row.history_months >= 12 else 0.12, months)
    leads = np.maximum(1, np.round(base * season * trend * noise)).astype(int)
    conversion = np.clip(row.conversion * rng.normal(1.0, 0.06, months), 0.001, 0.95)
    customers = rng.binomial(leads, conversion)
    cpl = row.cpl * rng.normal(1.0, 0.03, months) * np.linspace(0.96, 1.0, months)
    revenue = customers * row.revenue_per_customer * rng.normal(1.0, 0.08, months)
    bought = pd.DataFrame(
        {
            "month": index,
            "source": row.source,
            "spend": np.round(leads * cpl, 2),
            "leads": leads,
            "customers": customers,
            "revenue": np.round(np.maximum(revenue, 0), 2),
        }
    )
    if row.status != "testing" or not ended:
        return bought
    # A test on hold records its months without buying, as Sources' $0 today says.
    idle = pd.date_range(end=AS_OF - pd.DateOffset(months=1), periods=ended, freq="MS")
    zeros = {"spend": 0.0, "leads": 0, "customers": 0, "revenue": 0.0}
    return pd.concat([bought, pd.DataFrame({"month": idle, "source": row.source, **zeros})])


def _test_volume(row) -> float:
    """Leads a month a test source has been buying: its phase-1 budget at its CPL."""
    return 7_500.0 / row.cpl if row.status == "testing" else 0.25 * row.volume_cap


def demo_settings():
    """The chapter's default settings with the demo's departures (:data:`DEMO_SETTINGS`)."""
    from leadbook.settings import Settings

    return Settings().replace(DEMO_SETTINGS)


def demo_inventory():
    """The demo portfolio as a validated :class:`~leadbook.portfolio.inventory.Inventory`."""
    from leadbook.portfolio.inventory import build_inventory

    tables = demo_tables()
    inventory, _ = build_inventory(tables.sources, tables.price_tiers, tables.history)
    return inventory


# --- Leads (qualification) ---------------------------------------------------------------

LEAD_SEED = 20261102
DEMO_CLOSED_LEADS = 300
DEMO_OPEN_LEADS = 60
_LEAD_SOURCES = (
    "Premium comparison sites",
    "Insurance aggregators",
    "Mortgage broker referrals",
    "Organic search",
    "Content downloads",
    "Referral programme",
    "Social lead ads",
    "Partner webinars",
)
_COMPANY_SIZES = {"1–10": -0.5, "11–50": 0.0, "51–200": 0.35, "200+": 0.6}


def demo_leads() -> pd.DataFrame:
    """A seeded synthetic lead table: 300 closed and 60 open leads across the demo sources.

    Each lead's true log-odds is its source's conversion moved by its features (form
    completeness, pages viewed, a confirmed budget and company size help; slow first contact
    hurts; a quarter of first-contact delays are blank), so a model has something to learn.
    Fixed columns are keyed as in the contract, features by their headers.

    Examples
    --------
    >>> leads = demo_leads()
    >>> len(leads), int(leads["outcome"].isna().sum()), leads["lead_id"].iloc[0]
    (360, 60, 'L0001')
    >>> round(float((leads["outcome"] == "yes").sum() / leads["outcome"].notna().sum()), 3)
    0.197
    """
    rng = np.random.default_rng(LEAD_SEED)
    tables = demo_tables()
    src = tables.sources.set_index("source").loc[list(_LEAD_SOURCES)]
    n = DEMO_CLOSED_LEADS + DEMO_OPEN_LEADS
    weights = np.maximum(src["leads"].to_numpy(float), 60.0)
    source = rng.choice(src.index.to_numpy(), size=n, p=weights / weights.sum())
    days = np.sort(rng.integers(0, 184, size=n))
    created = pd.Timestamp("2026-05-01") + pd.to_timedelta(days, unit="D")
    completeness = np.round(rng.beta(4, 2.5, size=n), 2)
    pages = rng.poisson(5, size=n)
    budget = rng.random(n) < 0.4
    size = rng.choice(list(_COMPANY_SIZES), size=n, p=[0.3, 0.35, 0.2, 0.15])
    contact = np.round(rng.gamma(2.0, 1.5, size=n), 1)
    contact_known = rng.random(n) > 0.25
    conv = src.loc[source, "conversion"].to_numpy(float)
    logit = (
        np.log(conv / (1 - conv))
        + 4.0 * (completeness - 0.6)
        + 0.25 * (pages - 5)
        + 1.4 * budget
        - 0.8
        + 1.5 * np.array([_COMPANY_SIZES[s] for s in size])
        - 0.35 * (np.where(contact_known, contact, 3.0) - 3.0)
    )
    converted = rng.random(n) < 1 / (1 + np.exp(-logit))
    is_open = np.arange(n) >= DEMO_CLOSED_LEADS
    revenue = src.loc[source, "revenue_per_customer"].to_numpy(float)
    value = np.where(converted & ~is_open, np.round(revenue * rng.lognormal(0, 0.2, n), -1), np.nan)
    quoted = is_open & (rng.random(n) < 0.3)
    value = np.where(quoted, np.round(revenue * rng.lognormal(0, 0.3, n), -1), value)
    return pd.DataFrame(
        {
            "lead_id": [f"L{i + 1:04d}" for i in range(n)],
            "source": source,
            "created": created,
            "Form completeness": completeness,
            "Pages viewed": pages.astype(float),
            "Budget confirmed": np.where(budget, "yes", "no"),
            "Company size": size,
            "Days to first contact": np.where(contact_known, contact, np.nan),
            "cost": np.round(src.loc[source, "cpl"].to_numpy(float) * rng.normal(1, 0.05, n), 2),
            "resale": np.where(rng.random(n) < 0.1, "no", "yes"),
            "outcome": np.where(is_open, None, np.where(converted, "yes", "no")),
            "value": value,
        }
    )
