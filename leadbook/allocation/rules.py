"""The policy's rules, each a small builder of labelled rows over the model's variables.

Variables, week by week (week ``w`` = 0 is next week): the spend of each source ``x[i, w]``,
the spend in each of its price blocks ``s[b, w]`` and the total spend ``T[w]``, all in
thousands of dollars a month (:data:`~leadbook.allocation.model.MONEY`). A block's leads are
its spend ÷ CPL, its customers those leads × the source's conversion.

Each builder returns one :class:`Rows`: the coefficients of its rows (sparse, by column), the
row bounds, and for each row the source and week it concerns, so an explanation or a
conflict can name it. :func:`leadbook.allocation.compile.compile_model` stacks them into the
solver's matrices — the only place rules become matrices. Rules that cannot be rows (a
source's spend is 0 or at least the minimum; a price block is bought only after the cheaper
ones; at least five sources are active) are described by :class:`Discrete` and enforced by
the solver only where the continuous relaxation breaks them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from leadbook.allocation.minimum import glide_floors, may_stop
from leadbook.allocation.model import MONEY, BandLimit, Blocks, Model, Regime

INF = np.inf


class Rule(enum.StrEnum):
    """Every kind of row in the model; the value is how explanations name it."""

    DEFINITION = "definition"
    BUDGET = "budget"
    MAX_SHARE = "max share per source"
    EXPERIMENTAL = "experimental floor"
    BAND_MIN = "band minimum"
    BAND_MAX = "band maximum"
    WEEKLY_INCREASE = "weekly increase"
    WEEKLY_DECREASE = "weekly decrease"
    GUARDRAIL = "weekly guardrail"
    ENTRY = "entry at the minimum spend"
    MIN_SPEND = "minimum active spend"
    MIN_ACTIVE = "minimum active sources"
    SALES = "sales capacity"
    OPERATIONS = "operations capacity"
    SUPPORT = "support capacity"
    PIN = "pin"
    CAP = "spend cap"
    TEST_BUDGET = "test budget"
    VOLUME_CAP = "volume cap"


RELAX_WEIGHT: dict[Rule, float] = {
    Rule.BUDGET: 4.0,
    Rule.PIN: 8.0,
    Rule.CAP: 8.0,
    Rule.SALES: 2.0,
    Rule.OPERATIONS: 2.0,
    Rule.SUPPORT: 2.0,
}
"""How much more it costs the elastic re-solve to relax a rule, per unit of relative
relaxation, than a policy rule (weight 1): a person's pins and caps give last, then the
budget, then capacity; bands, shares and change limits give first. Definitions and the
vendors' volume caps never give."""

HARD = frozenset({Rule.DEFINITION, Rule.VOLUME_CAP})


@dataclass(frozen=True)
class Layout:
    """Where each variable sits: per week, ``n`` source spends, ``nb`` block spends, a total.

    ``prune`` drops rows that cannot bind given the sources' own limits (see
    :func:`max_share_rows`); the elastic re-solve, which may relax those limits, keeps them.
    """

    n: int
    nb: int
    weeks: int
    prune: bool = True

    @property
    def per_week(self) -> int:
        return self.n + self.nb + 1

    @property
    def size(self) -> int:
        return self.per_week * self.weeks

    def x(self, w: int | np.ndarray, i: np.ndarray | int | None = None) -> np.ndarray:
        """Columns of source spends in week(s) ``w`` (all sources, or sources ``i``)."""
        i = np.arange(self.n) if i is None else np.asarray(i)
        return np.asarray(w) * self.per_week + i

    def s(self, w: int, b: np.ndarray | None = None) -> np.ndarray:
        """Columns of block spends in week ``w``."""
        b = np.arange(self.nb) if b is None else np.asarray(b)
        return w * self.per_week + self.n + b

    def total(self, w: int | np.ndarray) -> np.ndarray:
        """Column(s) of the total spend in week(s) ``w``."""
        return np.asarray(w) * self.per_week + self.n + self.nb


@dataclass(frozen=True)
class Rows:
    """Labelled linear rows ``lo ≤ A·v ≤ hi`` of one rule.

    ``row``/``col``/``val`` are the nonzeros (``row`` counts from 0 within this block);
    ``source`` (−1 for portfolio rows), ``week`` and ``scale`` (the row's natural size, for
    relative tolerances and relaxations) have one entry per row; ``klass`` names the class
    of band rows; ``unit`` is ``$`` (thousands in the model), ``leads`` or ``customers``.
    """

    rule: Rule
    row: np.ndarray
    col: np.ndarray
    val: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    source: np.ndarray
    week: np.ndarray
    scale: np.ndarray
    unit: str = "$"
    klass: str = ""
    spend: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.lo)


@dataclass(frozen=True)
class Discrete:
    """The rules that are not rows, described for the solver to enforce lazily.

    - ``semi``: columns that must be 0 or at least ``threshold`` (the minimum active spend),
      or at least ``semi_floor`` (one per ``semi`` column) where set — a source below the
      minimum today, on its glide-in (:func:`glide_floors`),
    - ``pairs``: consecutive price blocks ``(first[j], then[j])`` of one source and week
      (chain ``chain[j]``): the second is bought only once the first is full
      (``first_full[j]``, ``then_full[j]`` in $k),
    - ``count``: per week, the source-spend columns of which at least ``min_active`` must
      reach ``threshold`` (``candidates[w]``); with ``count_cost`` set (the elastic
      re-solve), the count may fall short at that cost per missing source.
    """

    threshold: float
    semi: np.ndarray
    first: np.ndarray
    then: np.ndarray
    first_full: np.ndarray
    then_full: np.ndarray
    chain: np.ndarray
    min_active: int
    candidates: tuple[np.ndarray, ...]
    blocks: BlockColumns | None = None
    count_cost: float | None = None
    semi_floor: np.ndarray | None = None

    def floor(self, cols: np.ndarray) -> np.ndarray:
        """The least nonzero value of each semi-continuous column in ``cols`` ($1,000s)."""
        cols = np.asarray(cols, dtype=np.int64)
        if self.semi_floor is None or not len(cols):
            return np.full(len(cols), self.threshold)
        order = np.argsort(self.semi, kind="stable")
        return self.semi_floor[order][np.searchsorted(self.semi[order], cols)]


@dataclass(frozen=True)
class BlockColumns:
    """Where each week's blocks and spends sit, to refill a source's blocks in order.

    ``cols[w, b]`` is block ``b``'s column in week ``w``; ``x[w, i]`` source ``i``'s spend
    column and ``total[w]`` the week's total; ``source``, ``cpl``, ``size`` (leads) and
    ``before`` (leads in the source's cheaper blocks) describe the blocks.
    """

    cols: np.ndarray
    x: np.ndarray
    total: np.ndarray
    source: np.ndarray
    cpl: np.ndarray
    size: np.ndarray
    before: np.ndarray


def _per_source(
    rule: Rule,
    model: Model,
    lay: Layout,
    sources: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    weeks: Sequence[int] | None = None,
    scale: np.ndarray | float | None = None,
) -> Rows:
    """``lo[i] ≤ x[i, w] ≤ hi[i]`` for the given sources and weeks (bounds as rows)."""
    weeks = range(model.weeks) if weeks is None else weeks
    sources = np.asarray(sources, dtype=np.int64)
    w = np.repeat(np.asarray(weeks, dtype=np.int64), len(sources))
    i = np.tile(sources, len(weeks))
    k = len(i)
    size = np.maximum(np.abs(np.where(np.isfinite(hi), hi, lo)), 1.0)
    return Rows(
        rule,
        np.arange(k),
        lay.x(w, i),
        np.ones(k),
        np.tile(lo, len(weeks)),
        np.tile(hi, len(weeks)),
        i,
        w,
        np.tile(size if scale is None else np.broadcast_to(scale, len(sources)), len(weeks)),
    )


def _empty(rule: Rule) -> Rows:
    e = np.zeros(0)
    z = np.zeros(0, dtype=np.int64)
    return Rows(rule, z, z, e, e, e, z, z, e)


def _budget_k(model: Model) -> float:
    return max(model.limits.budget / MONEY, 1.0)


# --- Definitions ------------------------------------------------------------------------


def definition_rows(model: Model, lay: Layout) -> Rows:
    """``x[i] = Σ s[b]`` over the source's blocks, and ``T = Σ x``, every week."""
    pf, w_count = model.portfolio, model.weeks
    n, nb = lay.n, lay.nb
    r, c, v = [], [], []
    for w in range(w_count):
        base = w * (n + 1)
        r += [base + np.arange(n), base + pf.blocks.source, np.full(n, base + n), [base + n]]
        c += [lay.x(w), lay.s(w), lay.x(w), lay.total(w)[None]]
        v += [np.ones(n), -np.ones(nb), -np.ones(n), [1.0]]
    rows = w_count * (n + 1)
    return Rows(
        Rule.DEFINITION,
        np.concatenate(r).astype(np.int64),
        np.concatenate(c).astype(np.int64),
        np.concatenate(v),
        np.zeros(rows),
        np.zeros(rows),
        np.tile(np.r_[np.arange(n), -1], w_count),
        np.repeat(np.arange(w_count), n + 1),
        np.full(rows, _budget_k(model)),
    )


# --- Portfolio rules --------------------------------------------------------------------


def budget_rows(model: Model, lay: Layout) -> Rows:
    """Total spend equals the budget (``exact``) or stays within it (``at most``)."""
    lim, weeks = model.limits, model.weeks
    budget = lim.budget / MONEY
    return Rows(
        Rule.BUDGET,
        np.arange(weeks),
        lay.total(np.arange(weeks)),
        np.ones(weeks),
        np.full(weeks, budget if lim.exact else -INF),
        np.full(weeks, budget),
        np.full(weeks, -1),
        np.arange(weeks),
        np.full(weeks, _budget_k(model)),
    )


def _share_rows(
    rule: Rule,
    model: Model,
    lay: Layout,
    members: Sequence[np.ndarray],
    share: float,
    upper: bool,
    klass: str = "",
    weeks: Sequence[int] | None = None,
) -> Rows:
    """For each member set and week: ``Σ x[members] − share·T`` ≤ 0 (``upper``) or ≥ 0.

    A row names its source when the rule is per source (no ``klass``), else it is a group row.
    """
    r, c, v, at = [], [], [], []
    row = 0
    weeks = range(model.weeks) if weeks is None else weeks
    for w in weeks:
        for m in members:
            r += [np.full(len(m), row), [row]]
            c += [lay.x(w, m), lay.total(w)[None]]
            v += [np.ones(len(m)), [-share]]
            at.append(w)
            row += 1
    subject = [-1 if klass else int(m[0]) for m in members]
    return Rows(
        rule,
        np.concatenate(r).astype(np.int64) if r else np.zeros(0, np.int64),
        np.concatenate(c).astype(np.int64) if c else np.zeros(0, np.int64),
        np.concatenate(v).astype(float) if v else np.zeros(0),
        np.full(row, -INF if upper else 0.0),
        np.full(row, 0.0 if upper else INF),
        np.tile(np.asarray(subject, dtype=np.int64), len(weeks)),
        np.asarray(at, dtype=np.int64),
        np.full(row, _budget_k(model)),
        klass=klass,
    )


def max_share_rows(model: Model, lay: Layout) -> Rows:
    """No source takes more than ``max_share`` of total spend (rows ``x[i] − σ·T ≤ 0``).

    Written against the total-spend variable rather than ``Σ x``, so each row has two
    nonzeros instead of one per source (10,000 sources would otherwise give 10⁸). With
    ``lay.prune``, a source whose own limits keep it below ``σ × Σ`` (every source's own
    floor) gets no row: it cannot reach the share.
    """
    pf, lim = model.portfolio, model.limits
    share = lim.max_share
    if share >= 1.0:
        return _empty(Rule.MAX_SHARE)
    can_spend = (pf.regime != Regime.OFF) & (pf.max_spend > 0)
    low, high = own_spend_bounds(model)
    total_low = np.maximum(low.sum(axis=1), lim.budget if lim.exact else 0.0)
    reach = can_spend & (~lay.prune | (high > share * total_low[:, None] * (1 - 1e-9)))
    w, i = np.nonzero(reach)
    k = len(i)
    return Rows(
        Rule.MAX_SHARE,
        np.repeat(np.arange(k), 2),
        np.column_stack([lay.x(w, i), lay.total(w)]).ravel(),
        np.tile([1.0, -share], k),
        np.full(k, -INF),
        np.zeros(k),
        i.astype(np.int64),
        w.astype(np.int64),
        np.full(k, _budget_k(model)),
    )


def own_spend_bounds(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Each source's spend floor and ceiling ($ a month) week by week from its own rules
    alone (regime, change limits compounded, volume cap, spend cap); arrays weeks × sources.
    """
    pf, lim = model.portfolio, model.limits
    weeks = np.arange(1, model.weeks + 1)[:, None]
    cap = np.fmin(pf.max_spend, np.where(np.isnan(pf.cap), np.inf, pf.cap))
    up = (1.0 + lim.increase) ** weeks
    down = max(1.0 - lim.decrease, 0.0) ** weeks
    regime = pf.regime
    floor = np.where(may_stop(model), 0.0, lim.min_spend if lim.decrease < 1.0 else 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        entry = lim.min_spend * up / (1.0 + lim.increase)
        high = np.select(
            [
                regime == Regime.CHANGE,
                regime == Regime.ENTRANT,
                regime == Regime.TESTING,
                regime == Regime.PINNED,
            ],
            [pf.current * up, np.nan_to_num(entry, nan=np.inf), pf.test_max, pf.pin],
            0.0,
        )
        low = np.select(
            [regime == Regime.CHANGE, regime == Regime.TESTING, regime == Regime.PINNED],
            [np.maximum(pf.current * down, floor), pf.test_min, pf.pin],
            0.0,
        )
    high = np.where(regime == Regime.PINNED, high, np.fmin(high, cap))
    return np.nan_to_num(low), np.nan_to_num(high, nan=np.inf)


def _stack(rule: Rule, parts: Sequence[Rows]) -> Rows:
    """One block of the rows of ``parts`` (all of rule ``rule``, same unit and class)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty(rule)
    offsets = np.cumsum([0] + [len(p) for p in parts[:-1]])
    return Rows(
        rule,
        np.concatenate([p.row + o for p, o in zip(parts, offsets, strict=True)]),
        np.concatenate([p.col for p in parts]),
        np.concatenate([p.val for p in parts]),
        np.concatenate([p.lo for p in parts]),
        np.concatenate([p.hi for p in parts]),
        np.concatenate([p.source for p in parts]),
        np.concatenate([p.week for p in parts]),
        np.concatenate([p.scale for p in parts]),
        parts[0].unit,
        parts[0].klass,
    )


def experimental_rows(model: Model, lay: Layout) -> Rows:
    """Experimental sources (Tier 3 or testing) take at least the experimental floor."""
    pf, floor = model.portfolio, model.limits.experimental_floor
    if floor <= 0:
        return _empty(Rule.EXPERIMENTAL)
    members = np.flatnonzero(pf.experimental & (pf.regime != Regime.OFF))
    return _share_rows(Rule.EXPERIMENTAL, model, lay, [members], floor, False, "experimental")


def band_rows(model: Model, lay: Layout, band: BandLimit, upper: bool) -> Rows:
    """One class's share of total spend stays at or above its band's min (or at or below
    its max); a band of 0–100 % gives no row."""
    pf = model.portfolio
    members = np.flatnonzero((pf.classes[band.column] == band.klass) & (pf.regime != Regime.OFF))
    share = band.max if upper else band.min
    if (upper and share >= 1.0) or (not upper and share <= 0.0):
        return _empty(Rule.BAND_MAX if upper else Rule.BAND_MIN)
    rule = Rule.BAND_MAX if upper else Rule.BAND_MIN
    return _share_rows(rule, model, lay, [members], share, upper, band.klass)


def all_band_rows(model: Model, lay: Layout) -> list[Rows]:
    """The min and max rows of every tier, lead-type and risk band."""
    return [band_rows(model, lay, b, upper) for b in model.limits.bands for upper in (False, True)]


def _capacity_rows(rule: Rule, model: Model, lay: Layout, limit: float, per_k: np.ndarray) -> Rows:
    nb, weeks = lay.nb, model.weeks
    return Rows(
        rule,
        np.repeat(np.arange(weeks), nb),
        np.concatenate([lay.s(w) for w in range(weeks)]) if nb else np.zeros(0, np.int64),
        np.tile(per_k, weeks),
        np.full(weeks, -INF),
        np.full(weeks, limit),
        np.full(weeks, -1),
        np.arange(weeks),
        np.full(weeks, max(limit, 1.0)),
        unit="customers" if rule is Rule.SUPPORT else "leads",
    )


def leads_per_k(model: Model) -> np.ndarray:
    """Leads each block buys per $1,000 of spend."""
    return MONEY / model.portfolio.blocks.cpl


def customers_per_k(model: Model) -> np.ndarray:
    """Expected customers each block buys per $1,000 of spend."""
    pf = model.portfolio
    return leads_per_k(model) * pf.conversion[pf.blocks.source]


def capacity_rows(model: Model, lay: Layout) -> list[Rows]:
    """Leads within sales and operations capacity, customers within support capacity."""
    lim = model.limits
    leads = leads_per_k(model)
    return [
        _capacity_rows(Rule.SALES, model, lay, lim.sales_leads, leads),
        _capacity_rows(Rule.OPERATIONS, model, lay, lim.ops_leads, leads),
        _capacity_rows(Rule.SUPPORT, model, lay, lim.support_customers, customers_per_k(model)),
    ]


# --- A source's own rules ---------------------------------------------------------------


def _sources(model: Model, *regimes: Regime) -> np.ndarray:
    return np.flatnonzero(np.isin(model.portfolio.regime, regimes))


def block_spends(model: Model, spend: np.ndarray) -> np.ndarray:
    """What ``spend`` ($ a month, one per source) pays in each price block, cheapest block
    first; spend past a source's volume cap is not in any block.

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> block_spends(tiny_model(), np.array([1_500.0, 1_500.0])).tolist()
    [1000.0, 500.0, 1500.0]
    """
    b = model.portfolio.blocks
    size = b.spend
    before = np.cumsum(size) - size
    first = np.zeros(len(model.portfolio), dtype=np.int64)
    if len(b):
        starts = np.r_[0, np.flatnonzero(np.diff(b.source)) + 1]
        first[b.source[starts]] = starts
    within = before - before[first[b.source]]
    return np.clip(spend[b.source] - within, 0.0, size)


def leads_for_spend(model: Model, spend: np.ndarray) -> np.ndarray:
    """Leads each source buys for ``spend`` ($ a month, one per source), cheapest block
    first — the inverse of the source's cost curve. Spend past the volume cap counts at the
    last block's price (so a floor beyond the cap stays infeasible, by the right amount).

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> leads_for_spend(tiny_model(), np.array([1_500.0, 1_500.0])).tolist()
    [125.0, 100.0]
    """
    pf = model.portfolio
    b = pf.blocks
    bought = block_spends(model, spend) / b.cpl
    leads = np.bincount(b.source, bought, minlength=len(pf))
    last = np.full(len(pf), np.nan)
    last[b.source] = b.cpl
    beyond = np.maximum(spend - pf.max_spend, 0.0)
    return leads + np.where(beyond > 0, beyond / np.where(np.isnan(last), 1.0, last), 0.0)


def _lead_floor_rows(
    rule: Rule,
    model: Model,
    lay: Layout,
    sources: np.ndarray,
    floor: np.ndarray,
    weeks: Sequence[int],
) -> Rows:
    """A spend floor ``x[i] ≥ floor[i]`` written exactly as a floor on the source's leads.

    Spend buys leads cheapest block first, so "spend at least F" is "at least the leads F
    buys". On leads, the continuous relaxation gains nothing by buying a dearer block
    before a cheaper one to reach a spend floor with fewer leads — the reason fill order
    would otherwise need binaries. ``floor`` is in $1,000s; each row remembers it.
    """
    pf = model.portfolio
    b = pf.blocks
    sources = np.asarray(sources, dtype=np.int64)
    if len(sources) == 0 or not weeks:
        return _empty(rule)
    target = np.zeros(len(pf))
    target[sources] = floor * MONEY
    leads = leads_for_spend(model, target)[sources]
    slot = np.full(len(pf), -1)
    slot[sources] = np.arange(len(sources))
    mine = np.flatnonzero(slot[b.source] >= 0)
    k = len(sources)
    weeks = list(weeks)
    row = np.concatenate([j * k + slot[b.source[mine]] for j in range(len(weeks))])
    col = np.concatenate([lay.s(w, mine) for w in weeks])
    val = np.tile(MONEY / b.cpl[mine], len(weeks))
    return Rows(
        rule,
        row.astype(np.int64),
        col.astype(np.int64),
        val,
        np.tile(leads, len(weeks)),
        np.full(k * len(weeks), INF),
        np.tile(sources, len(weeks)),
        np.repeat(np.asarray(weeks, dtype=np.int64), k),
        np.tile(np.maximum(leads, 1.0), len(weeks)),
        unit="leads",
        spend=np.tile(np.asarray(floor, dtype=float), len(weeks)),
    )


def change_rows(model: Model, lay: Layout, upper: bool) -> list[Rows]:
    """Weekly change limits: a source's run-rate moves by at most the effective increase
    (or decrease) from one week to the next; week 1 moves from today's spend.

    Each row carries the name of the tighter rule (the chapter's +25 %/−15 %, or the 20 %
    guardrail). Sources with spend today move from week 1 on; entrants (no spend today)
    from week 2 on, from where they entered. Next week's floor is the higher of the
    decrease limit and the minimum active spend, labelled with whichever gives it — except
    for a source below the minimum today, which may stop instead: its week-1 floor is a
    semi-continuous one (:func:`glide_floors`), not a row.
    """
    lim, pf = model.limits, model.portfolio
    rate = 1.0 + lim.increase if upper else 1.0 - lim.decrease
    rule = Rule(lim.increase_rule if upper else lim.decrease_rule)
    if (not upper and rate <= 0.0) or not np.isfinite(rate):
        return []
    moving = _sources(model, Regime.CHANGE)
    first = rate * pf.current[moving] / MONEY
    chained = _chained_rows(
        rule, model, lay, _sources(model, Regime.CHANGE, Regime.ENTRANT), rate, upper
    )
    if upper:
        cap = np.full(len(first), -INF)
        return [_per_source(rule, model, lay, moving, cap, first, weeks=[0]), chained]
    minimum = lim.min_spend / MONEY
    below = may_stop(model)[moving]
    by_change = (first >= minimum) & ~below
    held = (first < minimum) & ~below
    return [
        _lead_floor_rows(rule, model, lay, moving[by_change], first[by_change], [0]),
        _lead_floor_rows(
            Rule.MIN_SPEND,
            model,
            lay,
            moving[held],
            np.full(held.sum(), minimum),
            [0],
        ),
        chained,
    ]


def _chained_rows(
    rule: Rule, model: Model, lay: Layout, sources: np.ndarray, rate: float, upper: bool
) -> Rows:
    """``x[i, w] − rate·x[i, w−1]`` ≤ 0 (``upper``) or ≥ 0, for weeks 2 onward."""
    pf = model.portfolio
    if model.weeks < 2 or len(sources) == 0:
        return _empty(rule)
    w = np.repeat(np.arange(1, model.weeks), len(sources))
    i = np.tile(sources, model.weeks - 1)
    k = len(i)
    scale = np.maximum(pf.current[i] / MONEY, model.limits.active_threshold / MONEY)
    return Rows(
        rule,
        np.repeat(np.arange(k), 2),
        np.column_stack([lay.x(w, i), lay.x(w - 1, i)]).ravel(),
        np.tile([1.0, -rate], k),
        np.full(k, -INF if upper else 0.0),
        np.full(k, 0.0 if upper else INF),
        i,
        w,
        scale,
    )


def entry_rows(model: Model, lay: Layout) -> Rows:
    """An entrant (active, no spend today) enters next week at most at the minimum active
    spend; being semi-continuous, that means exactly the minimum, or not at all."""
    entrants = _sources(model, Regime.ENTRANT)
    cap = np.full(len(entrants), model.limits.min_spend / MONEY)
    scale = max(model.limits.active_threshold / MONEY, 1.0)
    return _per_source(
        Rule.ENTRY, model, lay, entrants, np.full(len(entrants), -INF), cap, weeks=[0], scale=scale
    )


def min_spend_rows(model: Model, lay: Layout) -> Rows:
    """From week 2 on, sources that cannot stop (spend today, decrease limit under 100 %)
    stay at or above the minimum active spend (week 1: see :func:`change_rows`; a source
    below the minimum today has semi-continuous floors instead: :func:`glide_floors`)."""
    lim = model.limits
    if lim.min_spend <= 0 or lim.decrease >= 1.0 or model.weeks < 2:
        return _empty(Rule.MIN_SPEND)
    staying = np.setdiff1d(_sources(model, Regime.CHANGE), np.flatnonzero(may_stop(model)))
    floor = np.full(len(staying), lim.min_spend / MONEY)
    return _lead_floor_rows(Rule.MIN_SPEND, model, lay, staying, floor, range(1, model.weeks))


def pin_rows(model: Model, lay: Layout) -> list[Rows]:
    """A pinned source spends exactly its pin, every week (a spend ceiling and the leads
    the pin buys as a floor, which together fix the spend)."""
    pinned = _sources(model, Regime.PINNED)
    amount = model.portfolio.pin[pinned] / MONEY
    weeks = range(model.weeks)
    return [
        _per_source(Rule.PIN, model, lay, pinned, np.full(len(pinned), -INF), amount),
        _lead_floor_rows(Rule.PIN, model, lay, pinned, amount, weeks),
    ]


def cap_rows(model: Model, lay: Layout) -> Rows:
    """A capped source spends at most its cap (sources that are off need no row)."""
    pf = model.portfolio
    capped = np.flatnonzero(np.isfinite(pf.cap) & (pf.regime != Regime.OFF))
    amount = pf.cap[capped] / MONEY
    return _per_source(Rule.CAP, model, lay, capped, np.full(len(capped), -INF), amount)


def phase_budget_rows(model: Model, lay: Layout) -> list[Rows]:
    """A testing source spends within its phase's test budget, every week."""
    pf = model.portfolio
    testing = _sources(model, Regime.TESTING)
    high = pf.test_max[testing] / MONEY
    # a test at its phase gate may stop instead: its minimum is a semi-continuous floor
    held = np.setdiff1d(testing, at_test_gate(model))
    low = pf.test_min[held] / MONEY
    return [
        _per_source(Rule.TEST_BUDGET, model, lay, testing, np.full(len(testing), -INF), high),
        _lead_floor_rows(Rule.TEST_BUDGET, model, lay, held, low, range(model.weeks)),
    ]


def at_test_gate(model: Model) -> np.ndarray:
    """The testing sources at a phase gate (:attr:`Portfolio.test_gate`): each spends 0 (its
    test stops) or its new phase's test budget."""
    gate = model.portfolio.test_gate
    if gate is None:
        return np.zeros(0, np.int64)
    return np.flatnonzero(gate & (model.portfolio.regime == Regime.TESTING))


RULE_BUILDERS: tuple[Callable[[Model, Layout], Rows | list[Rows]], ...] = (
    definition_rows,
    budget_rows,
    max_share_rows,
    experimental_rows,
    all_band_rows,
    lambda m, lay: change_rows(m, lay, upper=True),
    lambda m, lay: change_rows(m, lay, upper=False),
    entry_rows,
    min_spend_rows,
    capacity_rows,
    pin_rows,
    cap_rows,
    phase_budget_rows,
)
"""Every row builder, in the order the model stacks them."""


def policy_rows(model: Model, lay: Layout) -> list[Rows]:
    """The rows of every rule (and the definitions), in :data:`RULE_BUILDERS` order."""
    out: list[Rows] = []
    for build in RULE_BUILDERS:
        built = build(model, lay)
        out += built if isinstance(built, list) else [built]
    return [r for r in out if len(r)]


# --- Bounds and discrete rules ----------------------------------------------------------


def variable_bounds(model: Model, lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Physical bounds: spends ≥ 0, a block holds at most its volume, sources that are off
    (paused, excluded, or entrants whose whole volume costs less than the minimum active
    spend) hold nothing."""
    pf, lim = model.portfolio, model.limits
    lb = np.zeros(lay.size)
    ub = np.empty(lay.size)
    # an entrant that cannot buy the minimum active spend cannot enter
    short = (pf.regime == Regime.ENTRANT) & (pf.max_spend < lim.active_threshold)
    off = (pf.regime == Regime.OFF) | short
    x_ub = np.where(off, 0.0, pf.max_spend / MONEY)
    s_ub = np.where(off[pf.blocks.source], 0.0, pf.blocks.spend / MONEY)
    for w in range(model.weeks):
        ub[lay.x(w)] = x_ub
        ub[lay.s(w)] = s_ub
        ub[lay.total(w)] = x_ub.sum()
    return lb, ub


def discrete_rules(model: Model, lay: Layout) -> Discrete:
    """The semi-continuous spends, block-order pairs and active-source count of ``model``."""
    pf, lim = model.portfolio, model.limits
    weeks = range(model.weeks)
    stoppable = Regime.ENTRANT, *((Regime.CHANGE,) if lim.decrease >= 1.0 else ())
    semi_sources = _sources(model, *stoppable) if lim.min_spend > 0 else np.zeros(0, np.int64)
    gliding = np.flatnonzero(may_stop(model))
    gate = at_test_gate(model)
    semi_sources = np.union1d(np.union1d(semi_sources, gliding), gate).astype(np.int64)
    semi = np.concatenate([lay.x(w, semi_sources) for w in weeks]).astype(np.int64)
    floors = glide_floors(model)
    floors[:, gate] = pf.test_min[gate]
    floors = floors[:, semi_sources] / MONEY
    b = pf.blocks
    follows = np.flatnonzero((b.rank[1:] > 0) & (b.source[1:] == b.source[:-1])) + 1
    follows = follows[pf.regime[b.source[follows]] != Regime.OFF]
    first = np.concatenate([lay.s(w, follows - 1) for w in weeks]).astype(np.int64)
    then = np.concatenate([lay.s(w, follows) for w in weeks]).astype(np.int64)
    chain = np.concatenate([w * lay.n + b.source[follows] for w in weeks]).astype(np.int64)
    reach = np.fmin(pf.max_spend, np.where(pf.regime == Regime.PINNED, np.inf, pf.cap))
    can = np.flatnonzero((pf.regime != Regime.OFF) & (reach >= lim.active_threshold))
    return Discrete(
        threshold=lim.active_threshold / MONEY,
        semi=semi,
        first=first,
        then=then,
        first_full=np.tile(b.spend[follows - 1] / MONEY, model.weeks),
        then_full=np.tile(b.spend[follows] / MONEY, model.weeks),
        chain=chain,
        min_active=lim.min_active,
        candidates=tuple(lay.x(w, can) for w in weeks),
        semi_floor=floors.ravel() if len(gliding) or len(gate) else None,
        blocks=BlockColumns(
            cols=np.array([lay.s(w) for w in weeks], dtype=np.int64).reshape(model.weeks, -1),
            x=np.array([lay.x(w) for w in weeks], dtype=np.int64).reshape(model.weeks, -1),
            total=lay.total(np.arange(model.weeks)),
            source=b.source,
            cpl=b.cpl,
            size=b.leads,
            before=leads_before(pf.blocks),
        ),
    )


def leads_before(blocks: Blocks) -> np.ndarray:
    """For each block, the leads in the cheaper blocks of the same source."""
    before = np.cumsum(blocks.leads) - blocks.leads
    if not len(blocks):
        return before
    starts = np.r_[0, np.flatnonzero(np.diff(blocks.source)) + 1]
    first = np.zeros(int(blocks.source.max()) + 1, dtype=np.int64)
    first[blocks.source[starts]] = starts
    return before - before[first[blocks.source]]
