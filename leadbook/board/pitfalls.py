"""The chapter's portfolio pitfalls, each judged from the board's inputs with the figures
that show it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from leadbook.board.kpis import BoardInputs, saved_values
from leadbook.board.specs import EPS, PREFERRED_HEADROOM
from leadbook.enums import Party, Tier

# --- Pitfalls -----------------------------------------------------------------------------------


class Shows(enum.StrEnum):
    """Whether the data shows a pitfall's warning sign."""

    WARNING = "warning"
    CLEAR = "clear"
    NA = "not available"


@dataclass(frozen=True)
class Pitfall:
    """One of the chapter's warning signs, whether the data shows it, and the evidence."""

    key: str
    label: str
    shows: Shows
    evidence: str
    advice: str


def _over_diversified(inputs: BoardInputs) -> Pitfall:
    rules = inputs.settings.board
    active = len(inputs.in_use)
    leads = inputs.in_use["leads"].sort_values(ascending=False)
    total = float(leads.sum())
    core = int((leads.cumsum() < 0.8 * total - EPS).sum()) + 1 if total > 0 else 0
    warn = active > rules.max_active_sources or core > rules.core_sources
    return Pitfall(
        "over_diversification",
        "Over-diversification: too many sources to manage",
        Shows.WARNING if warn else Shows.CLEAR,
        f"{active} active sources (warning above {rules.max_active_sources}); {core} carry "
        f"80 % of leads (advised: 5–{rules.core_sources} core sources)",
        "Focus on 5–8 core sources that drive 80 % of volume; prune and consolidate.",
    )


def _over_dependent(inputs: BoardInputs) -> Pitfall:
    spend = inputs.inventory.sources["spend"]
    total = float(spend.sum())
    advice = "Keep minimum allocations for strategic initiatives; cap any one source."
    label = "Over-dependence on a few high-performing sources"
    if total <= 0:
        return Pitfall("over_dependence", label, Shows.NA, "no current spend on Sources", advice)
    shares = spend / total
    effective = 1.0 / float((shares**2).sum())
    policy = inputs.settings.policy
    top = shares.idxmax()
    warn = effective < policy.min_active_sources or shares[top] > policy.max_source_share + EPS
    return Pitfall(
        "over_dependence",
        label,
        Shows.WARNING if warn else Shows.CLEAR,
        f"spend is as concentrated as {effective:.1f} equal sources (policy: at least "
        f"{policy.min_active_sources}); largest {top} {shares[top]:.1%} "
        f"(cap {policy.max_source_share:.0%})",
        advice,
    )


def _no_experiments(inputs: BoardInputs) -> Pitfall:
    spend = inputs.inventory.sources["spend"]
    total = float(spend.sum())
    label = "Lack of experimental budget for new sources"
    advice = "Hold at least the experimental floor for Tier 3 and testing sources."
    if total <= 0:
        return Pitfall("no_experiments", label, Shows.NA, "no current spend on Sources", advice)
    share = float(spend[inputs.experimental].sum()) / total
    floor = inputs.settings.policy.experimental_floor
    return Pitfall(
        "no_experiments",
        label,
        Shows.WARNING if share < floor - EPS else Shows.CLEAR,
        f"experimental sources get {share:.1%} of spend (floor {floor:.0%}); "
        f"{int(inputs.experimental.sum())} Tier 3 or testing sources",
        advice,
    )


def _first_party_declining(inputs: BoardInputs) -> Pitfall:
    label = "Declining investment in first-party lead generation"
    advice = "Year 1: 15 % of budget to first-party development, rising toward a 50/50 mix."
    quarters = [inputs.quarter.shifted(-k) for k in (2, 1, 0)]
    shares = []
    for q in quarters:
        a = inputs.actuals(q)
        shares.append(None if a is None or a.spend <= 0 else a.first_party_spend / a.spend)
    if any(s is None for s in shares):
        missing = ", ".join(q.long for q, s in zip(quarters, shares, strict=True) if s is None)
        return Pitfall(
            "first_party_declining",
            label,
            Shows.NA,
            f"History has no spend for {missing} (needs three quarters)",
            advice,
        )
    falling = shares[0] > shares[1] + EPS and shares[1] > shares[2] + EPS
    path = " → ".join(f"{s:.1%}" for s in shares)
    return Pitfall(
        "first_party_declining",
        label,
        Shows.WARNING if falling else Shows.CLEAR,
        f"first-party share of spend {path} ({quarters[0].long} to {quarters[-1].long})",
        advice,
    )


def _capped_preferred(inputs: BoardInputs) -> Pitfall:
    core = inputs.in_use[inputs.classes.loc[inputs.in_use.index, "tier"] == Tier.T1]
    label = "Preferred sources at their volume caps (no room to scale)"
    advice = "Develop Tier 2 and new sources before the core runs out of volume."
    if core.empty:
        return Pitfall("capped_preferred", label, Shows.NA, "no Tier 1 source in use", advice)
    headroom = 1 - core["leads"] / core["volume_cap"].where(core["volume_cap"] > 0)
    tight = headroom[headroom < PREFERRED_HEADROOM - EPS]
    evidence = (
        "; ".join(f"{n} {h:.0%} headroom" for n, h in tight.items())
        if len(tight)
        else f"Tier 1 sources have {headroom.min():.0%}–{headroom.max():.0%} headroom "
        "below their volume caps"
    )
    return Pitfall(
        "capped_preferred",
        label,
        Shows.WARNING if len(tight) else Shows.CLEAR,
        evidence,
        advice,
    )


def _vendor_neglect(inputs: BoardInputs) -> Pitfall:
    floor = inputs.settings.classify.high_risk_max_health
    third = inputs.in_use[inputs.in_use["party"] == Party.THIRD]
    label = "Vendor relationship neglect"
    advice = "Keep scorecards, regular reviews and partnership plans with every vendor."
    if third.empty:
        return Pitfall("vendor_neglect", label, Shows.NA, "no third-party vendor in use", advice)
    weak = third[third["health"] < floor - EPS]
    now = float(third.groupby("vendor")["health"].mean().mean())
    before = saved_values(inputs.saved, "vendor_health").get(inputs.quarter.shifted(-1).label)
    fell = before is not None and now < before - EPS
    parts = [f"{n} ({r['vendor']}) health {r['health']:.1f}" for n, r in weak.iterrows()]
    if fell:
        parts.append(f"average health fell from {before:.2f} to {now:.2f}")
    return Pitfall(
        "vendor_neglect",
        label,
        Shows.WARNING if parts else Shows.CLEAR,
        "; ".join(parts) if parts else f"every vendor in use scores {floor:.1f} or more",
        advice,
    )


PITFALLS: tuple[Callable[[BoardInputs], Pitfall], ...] = (
    _over_diversified,
    _over_dependent,
    _no_experiments,
    _first_party_declining,
    _capped_preferred,
    _vendor_neglect,
)


def pitfalls(inputs: BoardInputs) -> list[Pitfall]:
    """The chapter's pitfalls whose warning signs the workbook's data can show.

    Examples
    --------
    >>> from leadbook.board.quarters import Quarter
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> found = pitfalls(BoardInputs(Quarter(2026, 4), demo_inventory(), demo_settings()))
    >>> {p.key: p.shows.value for p in found}["no_experiments"]
    'warning'
    """
    return [check(inputs) for check in PITFALLS]
