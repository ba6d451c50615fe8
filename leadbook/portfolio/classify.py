"""Tier, lead-type and risk classification, each with a one-line reason.

The criteria are the seed chapter's, with thresholds from :class:`~leadbook.settings.ClassRules`:

- **Tier 1** (core): at least 12 months of history, steady conversion, a healthy vendor;
  **Tier 2** (growth): at least 6 months; **Tier 3** (experimental): less, or in a test phase.
- **Premium**: at most 2 buyers per lead and at most 24 h old; **Standard**: at most 5 buyers
  and 72 h; **Value**: aged or widely shared.
- **High** risk: unproven (testing, or under 6 months), non-compliant, a weak vendor (health
  below 3) or volatile volume (above 40 %); **Low**: 12+ months, compliant, vendor health 4+,
  volume variation at most 20 %; **Medium**: the rest.
"""

from __future__ import annotations

import math

import pandas as pd

from leadbook.enums import Compliance, LeadType, RiskClass, Status, Tier
from leadbook.portfolio.history import variation
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import ClassRules, Settings

CLASS_COLUMNS = ["tier", "tier_reason", "lead_type", "lead_type_reason", "risk", "risk_reason"]


def tier_of(
    months: float, status: Status, conversion_cv: float, health: float, rules: ClassRules
) -> tuple[Tier, str]:
    """The tier of a source and why.

    Examples
    --------
    >>> rules = ClassRules()
    >>> tier_of(8, Status.ACTIVE, 0.1, 4.5, rules)
    (<Tier.T2: 'Tier 2'>, 'Tier 2: 8 months of history (needs 12 for Tier 1)')
    >>> tier_of(30, Status.ACTIVE, 0.32, 4.5, rules)[1]
    'Tier 2: 30 months of history, but conversion varies 32% month to month (Tier 1 needs ≤ 25%)'
    """
    months = int(months)
    if status == Status.TESTING:
        return Tier.T3, "Tier 3: in a test phase (new source under evaluation)"
    if months < rules.tier2_months:
        return Tier.T3, (
            f"Tier 3: {_months(months)} of history (needs {rules.tier2_months} for Tier 2)"
        )
    if months < rules.tier1_months:
        return Tier.T2, (
            f"Tier 2: {_months(months)} of history (needs {rules.tier1_months} for Tier 1)"
        )
    if not math.isnan(conversion_cv) and conversion_cv > rules.tier1_max_conversion_cv:
        return Tier.T2, (
            f"Tier 2: {_months(months)} of history, but conversion varies "
            f"{conversion_cv:.0%} month to month "
            f"(Tier 1 needs ≤ {rules.tier1_max_conversion_cv:.0%})"
        )
    if health < rules.tier1_min_health:
        return Tier.T2, (
            f"Tier 2: {_months(months)} of history, but vendor health {health:.1f} "
            f"(Tier 1 needs ≥ {rules.tier1_min_health:.1f})"
        )
    steady = (
        "consistency not checked: under 3 months in History"
        if math.isnan(conversion_cv)
        else f"conversion steady (varies {conversion_cv:.0%})"
    )
    return Tier.T1, f"Tier 1: {_months(months)} of history, {steady}, vendor health {health:.1f}"


def lead_type_of(buyers: float, age_hours: float, rules: ClassRules) -> tuple[LeadType, str]:
    """The lead-type class of a source and why.

    Examples
    --------
    >>> lead_type_of(1, 2, ClassRules())[1]
    'Premium: 1 buyer per lead, 2 h old'
    >>> lead_type_of(6, 720, ClassRules())[1]
    'Value: 6 buyers per lead, 720 h old (Standard needs ≤ 5 buyers and ≤ 72 h)'
    """
    what = f"{buyers:.0f} buyer{'s' if buyers != 1 else ''} per lead, {age_hours:g} h old"
    if buyers <= rules.premium_max_buyers and age_hours <= rules.premium_max_age_hours:
        return LeadType.PREMIUM, f"Premium: {what}"
    if buyers <= rules.standard_max_buyers and age_hours <= rules.standard_max_age_hours:
        return LeadType.STANDARD, (
            f"Standard: {what} (Premium needs ≤ {rules.premium_max_buyers}"
            f" buyers and ≤ {rules.premium_max_age_hours:g} h)"
        )
    return LeadType.VALUE, (
        f"Value: {what} (Standard needs ≤ {rules.standard_max_buyers} "
        f"buyers and ≤ {rules.standard_max_age_hours:g} h)"
    )


def risk_of(
    months: float,
    status: Status,
    compliance: Compliance,
    health: float,
    volatility: float,
    rules: ClassRules,
) -> tuple[RiskClass, str]:
    """The risk class of a source and why (every reason that applies).

    Examples
    --------
    >>> risk_of(30, Status.ACTIVE, Compliance.COMPLIANT, 4.6, 0.08, ClassRules())[1]
    'Low: 30 months of history, compliant, vendor health 4.6, volume varies 8%'
    >>> risk_of(2, Status.TESTING, Compliance.REVIEW, 3.6, float("nan"), ClassRules())[1]
    'High: in a test phase'
    """
    months = int(months)
    high = []
    if status == Status.TESTING:
        high.append("in a test phase")
    elif months < rules.tier2_months:
        high.append(f"only {_months(months)} of history")
    if compliance == Compliance.NONCOMPLIANT:
        high.append("non-compliant")
    if health < rules.high_risk_max_health:
        high.append(f"vendor health {health:.1f} (below {rules.high_risk_max_health:.1f})")
    if not math.isnan(volatility) and volatility > rules.high_risk_volatility:
        high.append(f"volume varies {volatility:.0%} (above {rules.high_risk_volatility:.0%})")
    if high:
        return RiskClass.HIGH, "High: " + "; ".join(high)
    short = []
    if months < rules.low_risk_months:
        short.append(f"{_months(months)} of history (Low needs {rules.low_risk_months})")
    if compliance != Compliance.COMPLIANT:
        short.append(f"compliance {compliance}")
    if health < rules.low_risk_min_health:
        short.append(f"vendor health {health:.1f} (Low needs {rules.low_risk_min_health:.1f})")
    if math.isnan(volatility):
        short.append("volume variation unknown (under 3 months in History)")
    elif volatility > rules.low_risk_max_volatility:
        short.append(
            f"volume varies {volatility:.0%} (Low needs ≤ {rules.low_risk_max_volatility:.0%})"
        )
    if short:
        return RiskClass.MEDIUM, "Medium: " + "; ".join(short)
    return RiskClass.LOW, (
        f"Low: {_months(months)} of history, compliant, vendor health "
        f"{health:.1f}, volume varies {volatility:.0%}"
    )


def classify(inventory: Inventory, settings: Settings | None = None) -> pd.DataFrame:
    """Tier, lead type and risk class, with reasons, for every source.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> classes = classify(demo_inventory())
    >>> row = classes.loc["Insurance aggregators", ["tier", "lead_type", "risk"]].tolist()
    >>> row == [Tier.T2, LeadType.STANDARD, RiskClass.MEDIUM]  # enums equal their text
    True
    """
    rules = (settings or Settings()).classify
    src = inventory.sources
    stats = variation(inventory.history).reindex(src.index)
    columns = ("history_months", "status", "health", "buyers", "age_hours", "compliance")
    rows = {}
    for name, months, status, health, buyers, age, compliance, conversion_cv, leads_cv in zip(
        src.index,
        *(src[c].tolist() for c in columns),
        stats["conversion_cv"].tolist(),
        stats["leads_cv"].tolist(),
        strict=True,
    ):  # column by column: a row Series a source cost a second at 10,000 sources
        tier = tier_of(months, status, conversion_cv, health, rules)
        kind = lead_type_of(buyers, age, rules)
        risk = risk_of(months, status, compliance, health, leads_cv, rules)
        rows[name] = (*tier, *kind, *risk)
    return pd.DataFrame.from_dict(rows, orient="index", columns=CLASS_COLUMNS)


def _months(n: int) -> str:
    return f"{n} month{'s' if n != 1 else ''}"


BAND_GROUPS: tuple[tuple[str, str, tuple[tuple[object, str], ...]], ...] = (
    ("Tier", "tier", ((Tier.T1, "tier1"), (Tier.T2, "tier2"), (Tier.T3, "tier3"))),
    (
        "Lead type",
        "lead_type",
        ((LeadType.PREMIUM, "premium"), (LeadType.STANDARD, "standard"), (LeadType.VALUE, "value")),
    ),
    (
        "Risk",
        "risk",
        (
            (RiskClass.LOW, "low_risk"),
            (RiskClass.MEDIUM, "medium_risk"),
            (RiskClass.HIGH, "high_risk"),
        ),
    ),
)
"""Each banded group: its label, its column in :func:`classify`, and (class, Bands field)."""


def band_status(share: float, low: float, high: float, tol: float = 1e-9) -> str:
    """'below', 'within' or 'above' a band, with a tolerance for rounding."""
    if share < low - tol:
        return "below"
    if share > high + tol:
        return "above"
    return "within"


def band_usage(
    spend: pd.Series, classes: pd.DataFrame, settings: Settings | None = None
) -> pd.DataFrame:
    """Spend and share of spend by tier, lead type and risk class, against the bands.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> inv = demo_inventory()
    >>> usage = band_usage(inv.sources["spend"], classify(inv))
    >>> usage.loc[usage["klass"] == "Tier 2", ["share", "band_min", "band_max", "status"]]
    ...     # doctest: +NORMALIZE_WHITESPACE
          share  band_min  band_max status
    1  0.309010       0.2      0.25  above
    """
    bands = (settings or Settings()).bands
    total = float(spend.sum())
    rows = []
    for group, column, members in BAND_GROUPS:
        for klass, attr in members:
            amount = float(spend[classes[column] == klass].sum())
            share = amount / total if total > 0 else 0.0
            band = getattr(bands, attr)
            rows.append(
                {
                    "group": group,
                    "klass": klass.value,
                    "spend": amount,
                    "share": share,
                    "band_min": band.min,
                    "band_max": band.max,
                    "status": band_status(share, band.min, band.max),
                }
            )
    return pd.DataFrame(rows)
