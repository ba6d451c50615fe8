"""Small and random allocation models: for doctests, property tests and the benchmark.

:func:`tiny_model` is a two-source portfolio whose optimum can be worked out by hand;
:func:`random_model` generates seeded portfolios of any size with price tiers, classes,
bands, change limits, entrants and test sources, feasible by construction (today's spend
meets every rule, so the policy can at least stand still).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from leadbook.allocation.model import (
    BandLimit,
    Blocks,
    Limits,
    Model,
    Portfolio,
    Regime,
)

CLASS_LABELS = {
    "tier": ("Tier 1", "Tier 2", "Tier 3"),
    "lead_type": ("Premium", "Standard", "Value"),
    "risk": ("Low", "Medium", "High"),
}
GROUP_OF = {"tier": "Tier", "lead_type": "Lead type", "risk": "Risk"}


@dataclass(frozen=True)
class SourceSpec:
    """One source for :func:`make_portfolio`: blocks as ``(leads, cpl)`` pairs."""

    name: str
    current: float
    conversion: float
    blocks: Sequence[tuple[float, float]]
    revenue: float = 3_000.0
    regime: Regime = Regime.CHANGE
    pin: float = float("nan")
    cap: float = float("nan")
    test: tuple[float, float] = (float("nan"), float("nan"))
    tier: str = "Tier 1"
    lead_type: str = "Premium"
    risk: str = "Low"
    vendor: str = ""
    third_party: bool = True


def make_portfolio(specs: Sequence[SourceSpec]) -> Portfolio:
    """A :class:`Portfolio` from per-source specs (today's leads from the current spend).

    Examples
    --------
    >>> pf = make_portfolio([SourceSpec("A", 1_000, 0.02, [(100, 10), (100, 20)])])
    >>> pf.max_spend.tolist(), pf.today_leads.tolist()
    ([3000.0], [100.0])
    """
    src, rank, leads, cpl = [], [], [], []
    today = []
    for i, s in enumerate(specs):
        for k, (size, price) in enumerate(s.blocks):
            src.append(i)
            rank.append(k)
            leads.append(float(size))
            cpl.append(float(price))
        today.append(_leads_for(s.current, s.blocks))
    regime = np.array([s.regime for s in specs], dtype=np.int8)
    testing = regime == Regime.TESTING
    tier = np.array([s.tier for s in specs], dtype=object)
    conversion = np.array([s.conversion for s in specs], dtype=float)
    return Portfolio(
        names=tuple(s.name for s in specs),
        current=np.array([s.current for s in specs], dtype=float),
        conversion=conversion,
        revenue=np.array([s.revenue for s in specs], dtype=float),
        regime=regime,
        pin=np.array([s.pin for s in specs], dtype=float),
        cap=np.array([s.cap for s in specs], dtype=float),
        test_min=np.where(testing, [s.test[0] for s in specs], np.nan),
        test_max=np.where(testing, [s.test[1] for s in specs], np.nan),
        test_phase=np.where(testing, 1.0, np.nan),
        classes={
            "tier": tier,
            "lead_type": np.array([s.lead_type for s in specs], dtype=object),
            "risk": np.array([s.risk for s in specs], dtype=object),
        },
        experimental=(tier == "Tier 3") | testing,
        vendor=np.array([s.vendor or s.name for s in specs], dtype=object),
        third_party=np.array([s.third_party for s in specs], dtype=bool),
        blocks=Blocks(
            np.array(src, dtype=np.int64),
            np.array(rank, dtype=np.int64),
            np.array(leads),
            np.array(cpl),
        ),
        today_leads=np.array(today),
        today_customers=np.array(today) * conversion,
    )


def _leads_for(spend: float, blocks: Sequence[tuple[float, float]]) -> float:
    """Leads that ``spend`` buys filling the blocks cheapest first."""
    leads = 0.0
    for size, price in blocks:
        take = min(spend, size * price)
        leads += take / price
        spend -= take
    return leads


def open_limits(budget: float, **changes: object) -> Limits:
    """Limits that bind nothing but the budget, changed by ``changes``."""
    base = {
        "budget": budget,
        "exact": False,
        "max_share": 1.0,
        "experimental_floor": 0.0,
        "increase": 10.0,
        "increase_rule": "weekly increase",
        "decrease": 0.5,
        "decrease_rule": "weekly decrease",
        "min_spend": 0.0,
        "min_active": 0,
        "bands": (),
        "sales_leads": 1e9,
        "ops_leads": 1e9,
        "support_customers": 1e9,
    }
    base.update(changes)
    return Limits(**base)  # type: ignore[arg-type]


def tiny_model() -> Model:
    """Two sources and a $3,000 budget, worked by hand.

    A sells 100 leads at $10 then 100 at $20 and converts 2 %; B sells 200 leads at $15
    and converts 3 %. Both spend $1,000 today and may halve or grow tenfold. A's first
    block and B both buy a customer per $500, A's second per $1,000, so the optimum spends
    the $3,000 on A's first block and B: 6 customers. Among those optima the smallest move
    from today keeps A at $1,000 and moves B to $2,000.
    """
    pf = make_portfolio(
        [
            SourceSpec("A", 1_000.0, 0.02, [(100, 10.0), (100, 20.0)]),
            SourceSpec("B", 1_000.0, 0.03, [(200, 15.0)]),
        ]
    )
    return Model(pf, open_limits(3_000.0))


def random_model(
    n: int,
    *,
    weeks: int = 1,
    seed: int = 0,
    entrants: float = 0.05,
    testing: float = 0.03,
    exact: bool = False,
) -> Model:
    """A seeded random portfolio of ``n`` sources under a policy today's spend meets.

    Each source has one to three price blocks (CPL rising 5–25 % per block), conversion
    2–25 %, and a tier, lead type and risk class; Tier 3 counts as experimental. About
    ``entrants`` of the sources have no spend today (they may enter at the minimum), about
    ``testing`` are in a $5,000–$10,000 test phase. Bands sit 5 points either side of
    today's class shares, the max share 40 % (or above today's largest share), sales
    capacity 3 % above today's leads, at least 5 active sources, minimum spend $5,000.

    Examples
    --------
    >>> m = random_model(50, seed=1)
    >>> len(m.portfolio), len(m.limits.bands), m.limits.min_active
    (50, 9, 5)
    """
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(n):
        k = int(rng.integers(1, 4))
        base = float(rng.uniform(20, 200))
        prices = base * np.cumprod(np.r_[1.0, rng.uniform(1.05, 1.25, k - 1)])
        sizes = rng.uniform(50, 600, k).round()
        full = float((sizes * prices).sum())
        kind = rng.random()
        if kind < entrants:
            regime, current, test = Regime.ENTRANT, 0.0, (np.nan, np.nan)
        elif kind < entrants + testing:
            regime, current, test = Regime.TESTING, 7_500.0, (5_000.0, 10_000.0)
        else:
            regime, test = Regime.CHANGE, (np.nan, np.nan)
            current = float(max(5_000.0, rng.uniform(0.3, 0.8) * full))
        if current > full:
            sizes = sizes * (current / full) * 1.5
        tier = CLASS_LABELS["tier"][int(rng.choice(3, p=[0.6, 0.25, 0.15]))]
        specs.append(
            SourceSpec(
                name=f"S{i:05d}",
                current=current,
                conversion=float(rng.uniform(0.02, 0.25)),
                blocks=list(zip(sizes.tolist(), prices.tolist(), strict=True)),
                revenue=float(rng.uniform(1_500, 4_500)),
                regime=regime,
                test=test,
                tier="Tier 3" if regime is Regime.TESTING else tier,
                lead_type=CLASS_LABELS["lead_type"][int(rng.choice(3, p=[0.45, 0.4, 0.15]))],
                risk=CLASS_LABELS["risk"][int(rng.choice(3, p=[0.55, 0.3, 0.15]))],
                vendor=f"V{int(rng.integers(0, max(2, n // 3))):05d}",
                third_party=bool(rng.random() < 0.7),
            )
        )
    pf = make_portfolio(specs)
    total = float(pf.current.sum())
    bands = []
    for column, labels in CLASS_LABELS.items():
        for label in labels:
            share = float(pf.current[pf.classes[column] == label].sum()) / total
            bands.append(
                BandLimit(
                    GROUP_OF[column],
                    column,
                    label,
                    max(0.0, share - 0.05),
                    min(1.0, share + 0.05),
                    f"Band{label.replace(' ', '')}",
                )
            )
    share = float(pf.current.max()) / total
    experimental = float(pf.current[pf.experimental].sum()) / total
    limits = open_limits(
        total,
        exact=exact,
        max_share=max(0.40, share + 0.01),
        experimental_floor=max(0.0, experimental - 0.02),
        increase=0.20,
        increase_rule="weekly guardrail",
        decrease=0.15,
        decrease_rule="weekly decrease",
        min_spend=5_000.0,
        min_active=5,
        bands=tuple(bands),
        sales_leads=float(pf.today_leads.sum()) * 1.03,
        ops_leads=float(pf.today_leads.sum()) * 1.5,
        support_customers=float(pf.today_customers.sum()) * 1.2,
    )
    return Model(pf, limits, weeks=weeks)


def hard_model(n: int, *, seed: int = 0) -> Model:
    """A seeded portfolio whose optimum needs integer variables: :func:`random_model` under
    a policy where every source may stop (no weekly decrease limit) but spends at least
    $15,000 if it runs, may double, the budget must be spent exactly and sales capacity is
    10 % below today's leads.

    Capacity binds while the exact budget makes dollars worth more than leads, so the
    continuous relaxation buys dear price tiers before cheap ones and runs sources below
    the minimum: the exact solve must add fill-order binaries and semi-continuous spends
    (about one source in ten and every multi-tier source at 175 sources).

    Examples
    --------
    >>> m = hard_model(30, seed=2)
    >>> m.limits.exact, m.limits.decrease, m.limits.min_spend
    (True, 1.0, 15000.0)
    """
    model = random_model(n, seed=seed)
    lim = model.limits
    return replace(
        model,
        limits=replace(
            lim,
            exact=True,
            decrease=1.0,
            increase=1.0,
            min_spend=15_000.0,
            sales_leads=lim.sales_leads * 0.9,
        ),
    )


INFEASIBLE_KINDS = ("budget", "capacity", "pin", "minimum")
"""The ways :func:`infeasible_model` breaks a policy (see there)."""


def infeasible_model(n: int, kind: str, *, seed: int = 0) -> Model:
    """A seeded portfolio under a policy no allocation meets, broken the way ``kind`` says.

    - ``budget``: the budget must be spent exactly but is 30 % above today's spend, more
      than the weekly increase limit (+20 %) and the entrants' entry amounts allow;
    - ``capacity``: sales capacity is 40 % below today's leads, while no source may cut
      more than 15 % a week;
    - ``pin``: the largest source is pinned at 60 % of the budget, above the 40 % max share;
    - ``minimum``: every source (the test sources too) may stop but spends at least
      $15,000 if it runs, the largest share is 30 % (so at least four sources run) and the
      budget, spent exactly, is $40,000: four runners need $60,000. The
      continuous relaxation (spends between 0 and $15,000 allowed) meets every rule, so
      only the integer programme shows it infeasible.

    Examples
    --------
    >>> m = infeasible_model(20, "pin")
    >>> pinned = m.portfolio.regime == Regime.PINNED
    >>> int(pinned.sum()), round(float(m.portfolio.pin[pinned][0] / m.limits.budget), 6)
    (1, 0.6)
    """
    model = random_model(n, seed=seed)
    lim, pf = model.limits, model.portfolio
    if kind == "budget":
        return replace(model, limits=replace(lim, exact=True, budget=lim.budget * 1.3))
    if kind == "capacity":
        return replace(model, limits=replace(lim, sales_leads=lim.sales_leads * 0.6))
    if kind == "pin":
        largest = int(np.argmax(pf.current))
        regime, pin = pf.regime.copy(), pf.pin.copy()
        regime[largest], pin[largest] = Regime.PINNED, 0.6 * lim.budget
        return replace(model, portfolio=replace(pf, regime=regime, pin=pin))
    if kind == "minimum":
        regime = np.where(pf.regime == Regime.TESTING, Regime.CHANGE, pf.regime).astype(np.int8)
        return replace(
            model,
            portfolio=replace(pf, regime=regime),
            limits=replace(
                lim,
                exact=True,
                budget=40_000.0,
                decrease=1.0,
                increase=10.0,
                min_spend=15_000.0,
                min_active=0,
                max_share=0.3,
                bands=(),
                experimental_floor=0.0,
            ),
        )
    raise ValueError(f"unknown kind {kind!r}: one of {', '.join(INFEASIBLE_KINDS)}")
