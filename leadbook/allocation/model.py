"""What the allocation model is built from: the portfolio as arrays, and the policy's numbers.

Amounts are **monthly run-rates**: spend in $/month, leads and customers per month. The
weekly change rules bound how much a source's run-rate may move from one week to the next;
a rebalance (one week) is next week's run-rate from today's (the Sources tab's "Current
spend"), and a glide path of N weeks chains N such moves.

Every source falls under exactly one :class:`Regime`, which decides the rules on its own
spend (the portfolio rules — budget, shares, bands, capacity — apply to every source):

- ``OFF``: paused or excluded; spends nothing.
- ``PINNED``: a person fixed its spend (a pin overrides the source's own rules, not the
  portfolio's).
- ``TESTING``: a new source in a test phase gets its phase's test budget
  (``policy.test_phase1``/``test_phase2``) every week of the horizon.
- ``CHANGE``: active with spend today; each week it moves within the weekly change rules
  and, being active, stays at or above the minimum active spend. One below the minimum
  today stops or glides up to it by the full weekly increase
  (:func:`leadbook.allocation.minimum.glide_floors`).
- ``ENTRANT``: active but with no spend today; it may enter at exactly the minimum active
  spend (or stay out). Over a glide path it enters in week 1 or not at all, and then moves
  by the weekly change rules like any other source. With no minimum active spend set
  (0), an entrant stays out: pin it or give it a test phase to start it.

A spend cap applies on top of any regime.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadbook.enums import BudgetMode, Party, Status, Tier
from leadbook.errors import InputError, Problem
from leadbook.portfolio.classify import BAND_GROUPS, classify
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import ObjectiveWeights, Settings, spec_for

MONEY = 1_000.0
"""The model's money unit: spend variables are in thousands of dollars (better scaled)."""


class Regime(enum.IntEnum):
    """Which rules govern a source's own spend (see the module docstring)."""

    CHANGE = 0
    ENTRANT = 1
    TESTING = 2
    PINNED = 3
    OFF = 4


@dataclass(frozen=True)
class Blocks:
    """The price blocks sources buy volume in: one entry per block, grouped by source.

    ``leads`` is the block's size (leads/month) and ``cpl`` its price; within a source,
    blocks come in order of ``rank`` and CPL never falls, the last ending at the volume cap.
    """

    source: np.ndarray
    rank: np.ndarray
    leads: np.ndarray
    cpl: np.ndarray

    def __len__(self) -> int:
        return len(self.source)

    @property
    def spend(self) -> np.ndarray:
        """Dollars a month that fill each block."""
        return self.leads * self.cpl


@dataclass(frozen=True)
class Portfolio:
    """One entry per source, in Sources order; dollars are $/month.

    ``classes`` maps a classification column (``tier``, ``lead_type``, ``risk``) to the
    label of each source; ``pin``, ``cap``, ``test_min``/``test_max`` are NaN where unset.
    ``current`` is the spend the weekly change rules move from (today's, or in a glide path
    the week before's); ``today_*`` stay today's figures.
    """

    names: tuple[str, ...]
    current: np.ndarray
    conversion: np.ndarray
    revenue: np.ndarray
    regime: np.ndarray
    pin: np.ndarray
    cap: np.ndarray
    test_min: np.ndarray
    test_max: np.ndarray
    test_phase: np.ndarray
    classes: Mapping[str, np.ndarray]
    experimental: np.ndarray
    vendor: np.ndarray
    third_party: np.ndarray
    blocks: Blocks
    today_leads: np.ndarray
    today_customers: np.ndarray
    today_spend: np.ndarray | None = None
    test_gate: np.ndarray | None = None
    """Testing sources at a phase gate this week (a plan's week 5 for a phase-1 test): each
    goes on at its new phase's test budget, or its test stops (None: none is)."""

    def __len__(self) -> int:
        return len(self.names)

    @property
    def spend_today(self) -> np.ndarray:
        """Today's spend, even in a later week of a glide path (where ``current`` is the
        week before's)."""
        return self.current if self.today_spend is None else self.today_spend

    @property
    def volume_cap(self) -> np.ndarray:
        """Most leads a month each source can supply (the end of its last block)."""
        return np.bincount(self.blocks.source, self.blocks.leads, minlength=len(self))

    @property
    def max_spend(self) -> np.ndarray:
        """Dollars a month that buy each source's whole volume cap."""
        return np.bincount(self.blocks.source, self.blocks.spend, minlength=len(self))


@dataclass(frozen=True)
class BandLimit:
    """A share-of-spend band on one class of sources (a tier, lead type or risk class)."""

    group: str
    column: str
    klass: str
    min: float
    max: float
    setting: str

    @property
    def label(self) -> str:
        return f"{self.klass} band" if self.group != "Risk" else f"{self.klass}-risk band"


@dataclass(frozen=True)
class Limits:
    """The policy's numbers, in $/month, leads/month and customers/month.

    Shares (max per source, experimental floor, bands) are shares of the **total
    recommended spend**, which equals the budget when ``exact``. ``increase`` and
    ``decrease`` are the effective weekly change limits — the tighter of the chapter's
    +25 %/−15 % and the 20 % guardrail — and ``increase_rule``/``decrease_rule`` name
    which rule gives each, so an explanation names the right one.
    """

    budget: float
    exact: bool
    max_share: float
    experimental_floor: float
    increase: float
    increase_rule: str
    decrease: float
    decrease_rule: str
    min_spend: float
    min_active: int
    bands: tuple[BandLimit, ...]
    sales_leads: float
    ops_leads: float
    support_customers: float
    sales_note: str = ""
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    sales: SalesCapacity | None = None
    """Where the sales capacity comes from (None: a bare figure passed by the caller)."""
    settings: Settings | None = None
    """The Settings the limits were read from (None: limits built by hand), so a fix for an
    infeasible policy can name and change the setting behind a limit."""

    @property
    def active_threshold(self) -> float:
        """Spend at which a source counts as active: the minimum active spend, or $1."""
        return self.min_spend if self.min_spend > 0 else 1.0


@dataclass(frozen=True)
class SalesCapacity:
    """Leads a month the sales team can work, how the figure is made, and where it is from.

    Examples
    --------
    >>> SalesCapacity.from_settings(Settings()).text
    '2,037 leads/month from Settings (51 reps × 47 leads × 85%)'
    >>> SalesCapacity(2_740.57, "68.6 productive reps in Nov 2026 × 47 leads × 85%",
    ...               "the hiring plan").text
    '2,741 leads/month from the hiring plan (68.6 productive reps in Nov 2026 × 47 leads × 85%)'
    """

    leads: float
    basis: str
    origin: str = "Settings"
    reps: float | None = None
    """The productive reps behind the figure, when it is made from reps."""

    @property
    def text(self) -> str:
        """The figure, where it is from and how it is made, in one phrase."""
        return f"{self.leads:,.0f} leads/month from {self.origin} ({self.basis})"

    @classmethod
    def from_settings(cls, settings: Settings) -> SalesCapacity:
        """Settings' figure: sales reps × leads per rep × utilisation."""
        cap = settings.capacity
        basis = f"{cap.sales_reps} reps × {cap.leads_per_rep:g} leads × {cap.utilisation:.0%}"
        return cls(cap.sales_leads, basis, reps=cap.sales_reps)


@dataclass(frozen=True)
class Model:
    """Everything one allocation solve needs: the portfolio, the limits, the horizon."""

    portfolio: Portfolio
    limits: Limits
    weeks: int = 1

    def __post_init__(self) -> None:
        check_weeks(self.weeks)


MAX_WEEKS = 52


def check_weeks(weeks: object) -> None:
    """Refuse a horizon that is not a whole number of weeks from 1 to 52."""
    if not isinstance(weeks, int | np.integer) or isinstance(weeks, bool):
        raise TypeError(f"weeks must be a whole number, got {weeks!r}")
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be between 1 and {MAX_WEEKS}, got {weeks}")


def limits_from_settings(
    settings: Settings,
    current_total: float,
    *,
    budget: float | None = None,
    sales_capacity: float | SalesCapacity | None = None,
) -> Limits:
    """The policy's numbers from Settings, with an optional budget and sales capacity.

    The budget is ``budget``, else ``policy.budget``, else today's total spend. The sales
    capacity is ``sales_capacity`` (a :class:`SalesCapacity` says where it is from, e.g.
    the hiring plan's productive reps; a bare number is "as planned"), else reps × leads
    per rep × utilisation. Operations can handle ``ops_leads × ops_utilisation`` leads
    (the chapter's 3,500 at its optimal 85 %).

    Examples
    --------
    >>> lim = limits_from_settings(Settings(), 291_408.0)
    >>> lim.budget, lim.increase, lim.increase_rule, lim.decrease, lim.decrease_rule
    (291408.0, 0.2, 'weekly guardrail', 0.15, 'weekly decrease')
    >>> round(lim.sales_leads, 1), lim.ops_leads
    (2037.5, 2975.0)
    """
    p, cap = settings.policy, settings.capacity
    chosen = budget if budget is not None else p.budget
    if chosen is not None and (not np.isfinite(chosen) or chosen < 0):
        raise ValueError(f"budget must be a non-negative number of dollars, got {chosen!r}")
    given = sales_capacity.leads if isinstance(sales_capacity, SalesCapacity) else sales_capacity
    if given is not None and (not np.isfinite(given) or given < 0):
        raise ValueError(f"sales capacity must be ≥ 0 leads a month, got {given!r}")
    up_rule = "weekly increase" if p.weekly_increase <= p.weekly_guardrail else "weekly guardrail"
    down_rule = "weekly decrease" if p.weekly_decrease <= p.weekly_guardrail else "weekly guardrail"
    known = _sales_capacity(settings, sales_capacity)
    sales = cap.sales_leads if given is None else float(given)
    if known is None:
        note = "as planned"
    elif known.origin == "Settings":
        note = known.basis
    else:
        note = f"{known.basis}, from {known.origin}"
    return Limits(
        budget=float(current_total if chosen is None else chosen),
        exact=p.budget_mode is BudgetMode.EXACT,
        max_share=p.max_source_share,
        experimental_floor=p.experimental_floor,
        increase=min(p.weekly_increase, p.weekly_guardrail),
        increase_rule=up_rule,
        decrease=min(p.weekly_decrease, p.weekly_guardrail),
        decrease_rule=down_rule,
        min_spend=p.min_active_spend,
        min_active=p.min_active_sources,
        bands=band_limits(settings),
        sales_leads=sales,
        ops_leads=cap.ops_leads * cap.ops_utilisation,
        support_customers=cap.support_customers,
        sales_note=note,
        weights=settings.objective_weights,
        sales=known,
        settings=settings,
    )


def _sales_capacity(
    settings: Settings, given: float | SalesCapacity | None
) -> SalesCapacity | None:
    if given is None:
        return SalesCapacity.from_settings(settings)
    return given if isinstance(given, SalesCapacity) else None


def band_limits(settings: Settings) -> tuple[BandLimit, ...]:
    """Every tier, lead-type and risk band of ``settings``, in Settings order."""
    out = []
    for group, column, members in BAND_GROUPS:
        for klass, attr in members:
            band = getattr(settings.bands, attr)
            name = spec_for(f"bands.{attr}.min").name.removesuffix("Min")
            out.append(BandLimit(group, column, klass.value, band.min, band.max, name))
    return tuple(out)


def portfolio_from_inventory(
    inventory: Inventory, settings: Settings, classes: pd.DataFrame | None = None
) -> Portfolio:
    """The portfolio's arrays from a validated inventory and its classification.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory, demo_settings
    >>> pf = portfolio_from_inventory(demo_inventory(), demo_settings())
    >>> [Regime(r).name for r in pf.regime[[0, 6, 10]]]
    ['CHANGE', 'TESTING', 'OFF']
    >>> float(pf.max_spend[0])  # 900 leads at $156, 100 at $168, 100 at $182
    175400.0
    """
    src = inventory.sources
    if src.empty:
        raise InputError([Problem("Sources", "the Sources table has no sources to allocate")])
    classes = classify(inventory, settings) if classes is None else classes
    names = tuple(src.index)
    regime = np.array(
        [
            _regime(*row)
            for row in zip(
                *(src[c].tolist() for c in ("status", "exclude", "pin", "spend")), strict=True
            )
        ],
        dtype=np.int8,
    )
    phase = _numbers(src["test_phase"])
    bands = {1.0: settings.policy.test_phase1, 2.0: settings.policy.test_phase2}
    test_min = np.array([bands[p].min if p in bands else np.nan for p in phase])
    test_max = np.array([bands[p].max if p in bands else np.nan for p in phase])
    testing = regime == Regime.TESTING
    test_min[~testing], test_max[~testing] = np.nan, np.nan
    tier = classes["tier"].reindex(src.index).to_numpy(dtype=object)
    leads = _numbers(src["leads"])
    conversion = _numbers(src["conversion"])
    return Portfolio(
        names=names,
        current=_numbers(src["spend"]),
        conversion=conversion,
        revenue=_numbers(src["revenue_per_customer"]),
        regime=regime,
        pin=np.where(regime == Regime.PINNED, _numbers(src["pin"]), np.nan),
        cap=_numbers(src["cap"]),
        test_min=test_min,
        test_max=test_max,
        test_phase=np.where(testing, phase, np.nan),
        classes={
            column: np.array([_label(v) for v in classes[column].reindex(src.index)], dtype=object)
            for _, column, _ in BAND_GROUPS
        },
        experimental=np.array([t == Tier.T3 for t in tier]) | testing,
        vendor=src["vendor"].astype(str).to_numpy(dtype=object),
        third_party=(src["party"] == Party.THIRD).to_numpy(),
        blocks=_blocks(inventory, names),
        today_leads=leads,
        today_customers=leads * conversion,
    )


TEST_WEEKS = {1.0: (1, 4), 2.0: (5, 12)}
"""The test weeks of each phase (the chapter's phase 1 in weeks 1–4, phase 2 in weeks 5–12;
after week 12 the source joins the portfolio)."""


def phase_in_week(phase: np.ndarray, week: int) -> np.ndarray:
    """Each testing source's phase in week ``week`` of a plan (1 = next week): 1 or 2, 0 once
    its test is over, NaN for a source not testing. The Sources table says which phase a
    source is in, not how far into it, so next week is taken as the phase's first.

    Examples
    --------
    >>> [phase_in_week(np.array([1.0, 2.0, np.nan]), w).tolist() for w in (1, 5, 9, 13)]
    [[1.0, 2.0, nan], [2.0, 2.0, nan], [2.0, 0.0, nan], [0.0, 0.0, nan]]
    """
    first = np.where(phase == 2.0, TEST_WEEKS[2.0][0], TEST_WEEKS[1.0][0])
    test_week = first + week - 1
    now = np.where(test_week <= TEST_WEEKS[1.0][1], 1.0, 2.0)
    now = np.where(test_week > TEST_WEEKS[2.0][1], 0.0, now)
    return np.where(np.isnan(phase), np.nan, now)


def in_week(model: Model, week: int) -> Model:
    """``model`` with each testing source in its phase of week ``week`` of a plan
    (:func:`phase_in_week`): the test budget of phase 1 or 2, and once its test is over a
    source like any other (active from the spend it ends its test on). A model built by hand
    (no Settings behind its limits) keeps its phases."""
    pf, settings = model.portfolio, model.limits.settings
    testing = pf.regime == Regime.TESTING
    if settings is None or week == 1 or not testing.any():
        return model
    phase = np.where(testing, phase_in_week(pf.test_phase, week), np.nan)
    bands = {1.0: settings.policy.test_phase1, 2.0: settings.policy.test_phase2}
    test_min = np.array([bands[p].min if p in bands else np.nan for p in phase])
    test_max = np.array([bands[p].max if p in bands else np.nan for p in phase])
    regime = np.where(testing & (phase == 0.0), Regime.CHANGE, pf.regime).astype(np.int8)
    ended = regime != Regime.TESTING
    before = phase_in_week(pf.test_phase, week - 1)
    phased = dataclasses.replace(
        pf,
        regime=regime,
        test_min=np.where(ended, np.nan, test_min),
        test_max=np.where(ended, np.nan, test_max),
        test_phase=np.where(ended, np.nan, phase),
        test_gate=testing & (phase == 2.0) & (before == 1.0),
    )
    return dataclasses.replace(model, portfolio=phased)


def _regime(status: object, exclude: object, pin: object, spend: object) -> Regime:
    if status == Status.PAUSED or bool(exclude):
        return Regime.OFF
    if _known(pin):
        return Regime.PINNED
    if status == Status.TESTING:
        return Regime.TESTING
    return Regime.CHANGE if float(spend) > 0 else Regime.ENTRANT


def _known(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").astype(float).to_numpy()


def _label(value: object) -> str:
    return getattr(value, "value", str(value))


def _blocks(inventory: Inventory, names: tuple[str, ...]) -> Blocks:
    source, rank, leads, cpl = [], [], [], []
    for i, name in enumerate(names):
        for k, (size, price) in enumerate(inventory.tiers(name)):
            source.append(i)
            rank.append(k)
            leads.append(size)
            cpl.append(price)
    return Blocks(
        np.array(source, dtype=np.int64),
        np.array(rank, dtype=np.int64),
        np.array(leads, dtype=float),
        np.array(cpl, dtype=float),
    )


@dataclass(frozen=True)
class Feeds:
    """What the allocation is fed besides Settings.

    ``inventory`` carries the conversion rates to solve with; ``conversion`` says, per
    source, the rate (``conversion``) and where it is from (``origin``: "history", "model
    (N open leads)" or "history: why not the model").
    """

    inventory: Inventory
    sales_capacity: SalesCapacity
    conversion: pd.DataFrame

    @property
    def conversion_note(self) -> str:
        """One sentence on where the conversion rates come from."""
        from_model = int(self.conversion["origin"].str.startswith("model").sum())
        if not from_model:
            return "Conversion: each source's history (Sources tab)."
        rest = len(self.conversion) - from_model
        return (
            f"Conversion: the recorded lead model's prediction for {from_model} source(s), "
            f"history for {rest} (column Conversion from)."
        )
