"""Money on lead scores: expected ROI, actions, prices, packages and deal choice.

The chapter's "5 Ps of lead monetisation" as pure functions over conversion probabilities:

- **Planning actions** — expected ROI = p × value ÷ cost against the Settings threshold;
  work first (ranked by expected ROI), nurture (Medium or High band below the threshold),
  sell to a partner (Low band, resale allowed), drop (Low band, resale not allowed). Beside
  the Settings threshold, :func:`profit_threshold` finds the one that maximises expected profit
  (p × value − the cost of working the lead, summed over the leads worked).
- **Pricing** — the chapter's expected profit ``p·(R_high − C_high) + (1 − p)·(R_low − C_low)``
  (:func:`expected_profit`) and the price reaching a target margin on the expected cost
  ``(p·C_high + (1 − p)·C_low) ÷ (1 − margin)`` (:func:`lead_price`).
- **Packaging** — :func:`build_packages` assigns leads to buyers' packages with an assignment
  MILP (HiGHS via :func:`scipy.optimize.milp`): each package has its size, a minimum average
  probability and per-source or per-lead-type limits; the objective is the package value.
  A spec that cannot be met raises :class:`~leadbook.errors.InfeasiblePolicyError` naming
  each part that must give, found by an elastic re-solve.
- **Deal choice** — two deals whose profit is linear in the share p of high-quality leads:
  the break-even p* (:func:`breakeven_p`) and which deal wins at the forecast p.
- **Per-source quality back into the allocation** — :func:`with_predicted_conversion`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from leadbook.enums import ConversionSource, LeadAction, ScoreBand
from leadbook.errors import Conflict, InfeasiblePolicyError
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import LeadRules, Settings

if TYPE_CHECKING:
    from scipy.optimize import LinearConstraint

# scipy's solver is imported by the package builder that uses it: the prices, ROIs and
# actions behind the UDFs and Score leads do without it.

log = logging.getLogger(__name__)


# --- Planning actions -------------------------------------------------------------------


def expected_roi(p: float, value: float, cost: float) -> float:
    """Expected return on a lead: conversion probability × value ÷ cost.

    Examples
    --------
    >>> expected_roi(0.2, 3_000, 150)
    4.0
    >>> expected_roi(0.2, 3_000, 0)
    Traceback (most recent call last):
    ...
    ValueError: cost must be > 0 to compute an expected ROI, got 0
    """
    _check_probability(p)
    if not cost > 0:
        raise ValueError(f"cost must be > 0 to compute an expected ROI, got {cost:g}")
    if value < 0:
        raise ValueError(f"value must be ≥ 0, got {value:g}")
    return float(p) * float(value) / float(cost)


def score_bands(p: Sequence[float] | np.ndarray, rules: LeadRules) -> list[ScoreBand]:
    """The band of each probability: High from ``band_high``, Medium from ``band_medium``.

    Examples
    --------
    >>> [b.value for b in score_bands([0.45, 0.30, 0.12, 0.02], LeadRules())]
    ['High', 'High', 'Medium', 'Low']
    """
    return [
        ScoreBand.HIGH
        if x >= rules.band_high
        else ScoreBand.MEDIUM
        if x >= rules.band_medium
        else ScoreBand.LOW
        for x in np.asarray(p, dtype=float)
    ]


def lead_actions(leads: pd.DataFrame, rules: LeadRules) -> pd.DataFrame:
    """Band, expected ROI, action, priority, price and the expected result of a sale of
    each scored lead.

    ``leads`` has ``probability``, ``value`` (if converted), ``cost`` and ``resale`` (False
    when the lead may not be sold; blank means allowed). Priority ranks the work-first leads
    by expected ROI (1 first); other actions have no priority. The price reaches the target
    margin on the chapter's expected cost (:func:`lead_price`) and never falls below the
    lead's own cost at that margin. ``sale_profit`` is what selling the lead at the
    partner prices (``p·R_high + (1 − p)·R_low``) brings against its cost: a lead to sell at
    an expected loss says so (:func:`sale_loss_note`).

    Examples
    --------
    >>> leads = pd.DataFrame({"probability": [0.4, 0.15, 0.05, 0.05],
    ...                       "value": [3000.0] * 4, "cost": [150.0] * 4,
    ...                       "resale": [True, True, True, False]})
    >>> out = lead_actions(leads, LeadRules())
    >>> [str(a) for a in out["action"]], out["expected_roi"].tolist()
    (['work first', 'work first', 'sell to partner', 'drop'], [8.0, 3.0, 1.0, 1.0])
    >>> [str(b) for b in out["band"]], out["priority"].tolist()[:2]
    (['High', 'Medium', 'Low', 'Low'], [1.0, 2.0])
    >>> out["price"].round(2).tolist()[2], out["sale_profit"].round(2).tolist()[2]
    (200.0, -114.0)
    """
    p = leads["probability"].to_numpy(dtype=float)
    roi = p * leads["value"].to_numpy(dtype=float) / leads["cost"].to_numpy(dtype=float)
    bands = score_bands(p, rules)
    resale = leads["resale"].map(lambda v: v is not False).to_numpy()
    actions = [_action(r, b, s, rules) for r, b, s in zip(roi, bands, resale, strict=True)]
    work = pd.Series(np.where([a == LeadAction.WORK_FIRST for a in actions], roi, np.nan))
    cost = leads["cost"].to_numpy(dtype=float)
    chapter = lead_price(p, rules.cost_high, rules.cost_low, rules.target_margin)
    own = np.where(cost > 0, cost / (1 - rules.target_margin), np.nan)
    return pd.DataFrame(
        {
            "band": bands,
            "expected_roi": roi,
            "action": actions,
            "priority": work.rank(ascending=False, method="first").to_numpy(),
            "price": np.fmax(chapter, own),
            "sale_profit": p * rules.price_high + (1 - p) * rules.price_low - cost,
        },
        index=leads.index,
    )


def sale_loss_note(actions: pd.DataFrame) -> str:
    """What the leads to sell bring on average when each sells at the partner prices, when
    that is a loss; "" otherwise. A sale still beats dropping a lead bought already (it
    recovers part of its cost), so the action stands, and says so.

    Examples
    --------
    >>> out = pd.DataFrame({"action": [LeadAction.SELL, LeadAction.SELL, LeadAction.WORK_FIRST],
    ...                     "sale_profit": [-40.0, -36.0, 50.0]})
    >>> sale_loss_note(out)[:58]
    '2 leads to sell lose $38.00 each on average at the partner'
    """
    sell = actions.loc[[a == LeadAction.SELL for a in actions["action"]], "sale_profit"]
    if sell.empty or not sell.mean() < 0:
        return ""
    n = len(sell)
    return (
        f"{n} lead{'s' if n != 1 else ''} to sell lose ${-sell.mean():,.2f} each on average at "
        "the partner prices (a sale recovers part of their cost; dropping them recovers none)"
    )


def _action(roi: float, band: ScoreBand, resale: bool, rules: LeadRules) -> LeadAction:
    if roi >= rules.roi_threshold - 1e-12:
        return LeadAction.WORK_FIRST
    if band != ScoreBand.LOW:
        return LeadAction.NURTURE
    return LeadAction.SELL if resale else LeadAction.DROP


@dataclass(frozen=True)
class ThresholdChoice:
    """The Settings ROI threshold beside the one that maximises expected profit."""

    settings_threshold: float
    settings_profit: float
    settings_worked: int
    best_threshold: float
    best_profit: float
    best_worked: int


def profit_threshold(
    p: Sequence[float] | np.ndarray,
    value: Sequence[float] | np.ndarray,
    cost: Sequence[float] | np.ndarray,
    *,
    work_cost: float,
    settings_threshold: float,
) -> ThresholdChoice:
    """The ROI threshold maximising expected profit of the leads worked, and the Settings one.

    Working a lead earns p × value − ``work_cost`` on average (what was paid for the lead is
    spent either way); the leads worked are those whose expected ROI reaches the threshold.
    Every distinct ROI is a candidate; the best threshold is the highest of the ties.

    Examples
    --------
    >>> c = profit_threshold([0.5, 0.2, 0.01], [1000, 1000, 1000], [100, 100, 100],
    ...                      work_cost=50, settings_threshold=3.0)
    >>> c.best_threshold, c.best_profit, c.best_worked
    (2.0, 600.0, 2)
    >>> c.settings_profit, c.settings_worked
    (450.0, 1)
    """
    p, value, cost = (np.asarray(a, dtype=float) for a in (p, value, cost))
    roi = p * value / cost
    gain = p * value - work_cost
    order = np.argsort(-roi, kind="stable")
    cumulative = np.cumsum(gain[order])
    sorted_roi = roi[order]
    # A threshold at a run of equal ROIs works the whole run: take the last index of each.
    last = np.r_[sorted_roi[1:] != sorted_roi[:-1], True] if len(roi) else np.array([], bool)
    candidates = np.flatnonzero(last)
    at_settings = roi >= settings_threshold - 1e-12
    settings_profit = float(gain[at_settings].sum())
    if len(candidates) == 0 or cumulative[candidates].max() <= 0:
        return ThresholdChoice(
            settings_threshold, settings_profit, int(at_settings.sum()), math.inf, 0.0, 0
        )
    best = candidates[np.argmax(cumulative[candidates])]
    return ThresholdChoice(
        settings_threshold=settings_threshold,
        settings_profit=settings_profit,
        settings_worked=int(at_settings.sum()),
        best_threshold=float(sorted_roi[best]),
        best_profit=float(cumulative[best]),
        best_worked=int(best + 1),
    )


# --- Pricing ----------------------------------------------------------------------------


def expected_profit(p: float, r_high: float, c_high: float, r_low: float, c_low: float) -> float:
    """The chapter's expected profit per lead: p·(R_high − C_high) + (1 − p)·(R_low − C_low).

    ``p`` is the share of leads predicted high-quality (for one lead, its probability).

    Examples
    --------
    >>> expected_profit(0.3, r_high=150, c_high=140, r_low=30, c_low=70)
    -25.0
    """
    _check_probability(p)
    return float(p * (r_high - c_high) + (1 - p) * (r_low - c_low))


def lead_price(
    p: float | np.ndarray, c_high: float, c_low: float, margin: float
) -> float | np.ndarray:
    """The price reaching ``margin`` on a lead's expected cost: (p·C_high + (1−p)·C_low) ÷ (1−m).

    Examples
    --------
    >>> round(lead_price(0.3, c_high=140, c_low=70, margin=0.25), 2)
    121.33
    >>> lead_price(0.3, 140, 70, margin=1.0)
    Traceback (most recent call last):
    ...
    ValueError: target margin must be below 100 %, got 100.0%
    """
    if not margin < 1:
        raise ValueError(f"target margin must be below 100 %, got {margin:.1%}")
    p_arr = np.asarray(p, dtype=float)
    if np.any((p_arr < 0) | (p_arr > 1)):
        raise ValueError("probabilities must lie in 0–1")
    price = (p_arr * c_high + (1 - p_arr) * c_low) / (1 - margin)
    return float(price) if np.ndim(price) == 0 else price


def _check_probability(p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in 0–1, got {p:g}")


# --- Deal choice --------------------------------------------------------------------------


@dataclass(frozen=True)
class Deal:
    """A deal whose expected profit is linear in the share p of high-quality leads.

    ``low`` is its profit when no lead is high-quality (p = 0), ``high`` when all are (p = 1):
    profit(p) = (1 − p)·low + p·high.
    """

    name: str
    low: float
    high: float

    def profit(self, p: float) -> float:
        """Expected profit at share ``p``."""
        return (1 - p) * self.low + p * self.high


@dataclass(frozen=True)
class DealChoice:
    """The break-even share between two deals and the winner at the forecast share."""

    breakeven: float | None
    winner: str
    profits: dict[str, float]
    explanation: str


def breakeven_p(low1: float, high1: float, low2: float, high2: float) -> float | None:
    """The share p* at which two linear deals earn the same; None if they never cross.

    Examples
    --------
    >>> breakeven_p(low1=-50_000, high1=250_000, low2=20_000, high2=120_000)
    0.35
    >>> breakeven_p(0, 100, 10, 110) is None
    True
    """
    slope = (high1 - low1) - (high2 - low2)
    if abs(slope) < 1e-12:
        return None
    return float((low2 - low1) / slope)


def choose_deal(first: Deal, second: Deal, p: float) -> DealChoice:
    """Which of two deals earns more at the forecast share ``p``, and where they break even.

    Examples
    --------
    >>> choice = choose_deal(Deal("Deal 1", -50_000, 250_000), Deal("Deal 2", 20_000, 120_000),
    ...                      p=0.42)
    >>> choice.winner, round(choice.breakeven, 2)
    ('Deal 1', 0.35)
    >>> print(choice.explanation)  # doctest: +NORMALIZE_WHITESPACE
    At p = 42.0% Deal 1 earns $76,000 and Deal 2 $62,000;
    they break even at p* = 35.0%, above which Deal 1 wins.
    """
    _check_probability(p)
    star = breakeven_p(first.low, first.high, second.low, second.high)
    profits = {first.name: first.profit(p), second.name: second.profit(p)}
    winner = first if profits[first.name] >= profits[second.name] else second
    at = (
        f"At p = {p:.1%} {first.name} earns ${profits[first.name]:,.0f} and "
        f"{second.name} ${profits[second.name]:,.0f}"
    )
    if star is None or not 0 <= star <= 1:
        always = first if first.profit(0.5) >= second.profit(0.5) else second
        return DealChoice(star, winner.name, profits, f"{at}; {always.name} wins at every p.")
    steeper = first if first.high - first.low > second.high - second.low else second
    return DealChoice(
        star,
        winner.name,
        profits,
        f"{at}; they break even at p* = {star:.1%}, above which {steeper.name} wins.",
    )


# --- Packaging ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageSpec:
    """What a buyer asks for: how many leads, their minimum average probability, and limits.

    ``source_limits`` and ``type_limits`` cap the share of the package from one source or one
    lead type (0.5 = at most half); a source or type not named is unlimited.
    """

    buyer: str
    size: int
    min_quality: float = 0.0
    source_limits: Mapping[str, float] = field(default_factory=dict)
    type_limits: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Packages:
    """Which lead goes to which buyer, and each package's size, quality and value."""

    assignment: pd.Series
    summary: pd.DataFrame


_PART_WEIGHT = {"size": 1_000.0, "quality": 100.0, "limit": 1.0}


def build_packages(leads: pd.DataFrame, specs: Sequence[PackageSpec]) -> Packages:
    """Assign leads to buyers' packages, maximising the packages' total value.

    ``leads`` is indexed by lead id with ``probability``, ``value`` (what the lead is worth in
    a package, e.g. its price), ``source`` and optionally ``lead_type``. Each lead goes to at
    most one package; each package has exactly its size, at least its average probability,
    and keeps within its limits. Raises :class:`~leadbook.errors.InfeasiblePolicyError`
    naming every part of the specs that must give, and by how much.

    Examples
    --------
    >>> leads = pd.DataFrame({"probability": [0.5, 0.4, 0.1, 0.05],
    ...                       "value": [120.0, 110.0, 80.0, 75.0],
    ...                       "source": ["A", "B", "A", "B"]}, index=["L1", "L2", "L3", "L4"])
    >>> out = build_packages(leads, [PackageSpec("Acme", size=2, min_quality=0.3,
    ...                                          source_limits={"A": 0.5})])
    >>> sorted(out.assignment[out.assignment == "Acme"].index)
    ['L1', 'L2']
    >>> build_packages(leads, [PackageSpec("Acme", size=3, min_quality=0.4)])
    Traceback (most recent call last):
    ...
    leadbook.errors.InfeasiblePolicyError: The package specs cannot be met.
      - Acme: the average probability must drop from 40.0% to 33.3% (the best 3 leads average 33.3%)
    """
    from scipy.optimize import Bounds, milp

    _check_specs(leads, specs)
    problem = _PackageProblem(leads, specs)
    result = milp(
        problem.objective(),
        constraints=problem.constraints(),
        integrality=np.ones(problem.n_x),
        bounds=Bounds(0, 1),
    )
    if result.status != 0 or result.x is None:
        raise InfeasiblePolicyError(_conflicts(leads, specs), "The package specs cannot be met.")
    return problem.packages(result.x)


def _check_specs(leads: pd.DataFrame, specs: Sequence[PackageSpec]) -> None:
    names = [s.buyer for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"buyer names must be unique, got {names}")
    for s in specs:
        if s.size < 1:
            raise ValueError(f"{s.buyer}: package size must be at least 1, got {s.size}")
        if not 0 <= s.min_quality <= 1:
            raise ValueError(f"{s.buyer}: minimum quality must lie in 0–1, got {s.min_quality}")
        for kind, limits, column in (
            ("source", s.source_limits, "source"),
            ("lead type", s.type_limits, "lead_type"),
        ):
            known = set(leads[column]) if column in leads else set()
            for name, share in limits.items():
                if name not in known:
                    raise ValueError(
                        f"{s.buyer}: no lead has {kind} {name!r}; known: {sorted(map(str, known))}"
                    )
                if not 0 <= share <= 1:
                    raise ValueError(f"{s.buyer}: the limit on {name!r} must lie in 0–1")


class _PackageProblem:
    """x[i, b] = 1 when lead i goes to buyer b; row builders per kind of constraint."""

    def __init__(self, leads: pd.DataFrame, specs: Sequence[PackageSpec]):
        self.leads, self.specs = leads, list(specs)
        self.n_leads, self.n_buyers = len(leads), len(specs)
        self.n_x = self.n_leads * self.n_buyers
        self.p = leads["probability"].to_numpy(dtype=float)

    def col(self, i: int, b: int) -> int:
        return b * self.n_leads + i

    def objective(self) -> np.ndarray:
        return -np.tile(self.leads["value"].to_numpy(dtype=float), self.n_buyers)

    def constraints(self) -> list[LinearConstraint]:
        from scipy.optimize import LinearConstraint
        from scipy.sparse import lil_matrix

        rows: list[tuple[dict[int, float], float, float]] = []
        rows += self.one_package_rows()
        for b, spec in enumerate(self.specs):
            rows += self.size_rows(b, spec) + self.quality_rows(b, spec) + self.limit_rows(b, spec)
        a = lil_matrix((len(rows), self.n_x))
        for r, (coefs, _, _) in enumerate(rows):
            for c, v in coefs.items():
                a[r, c] = v
        return [LinearConstraint(a.tocsr(), [lo for _, lo, _ in rows], [hi for _, _, hi in rows])]

    def one_package_rows(self) -> list[tuple[dict[int, float], float, float]]:
        return [
            ({self.col(i, b): 1.0 for b in range(self.n_buyers)}, 0.0, 1.0)
            for i in range(self.n_leads)
        ]

    def size_rows(self, b: int, spec: PackageSpec) -> list[tuple[dict[int, float], float, float]]:
        coefs = {self.col(i, b): 1.0 for i in range(self.n_leads)}
        return [(coefs, spec.size, spec.size)]

    def quality_rows(self, b: int, spec: PackageSpec) -> list:
        coefs = {self.col(i, b): self.p[i] for i in range(self.n_leads)}
        return [(coefs, spec.min_quality * spec.size, np.inf)]

    def limit_rows(self, b: int, spec: PackageSpec) -> list:
        rows = []
        for column, limits in (("source", spec.source_limits), ("lead_type", spec.type_limits)):
            for name, share in limits.items():
                members = np.flatnonzero(self.leads[column].to_numpy() == name)
                coefs = {self.col(int(i), b): 1.0 for i in members}
                rows.append((coefs, 0.0, math.floor(share * spec.size + 1e-9)))
        return rows

    def packages(self, x: np.ndarray) -> Packages:
        chosen = np.round(x).reshape(self.n_buyers, self.n_leads) > 0.5
        assignment = pd.Series(None, index=self.leads.index, dtype=object, name="buyer")
        rows = []
        for b, spec in enumerate(self.specs):
            picked = self.leads[chosen[b]]
            assignment[picked.index] = spec.buyer
            rows.append(
                {
                    "buyer": spec.buyer,
                    "leads": len(picked),
                    "avg_probability": float(picked["probability"].mean()),
                    "value": float(picked["value"].sum()),
                }
            )
        return Packages(assignment, pd.DataFrame(rows).set_index("buyer"))


def _conflicts(leads: pd.DataFrame, specs: Sequence[PackageSpec]) -> tuple[Conflict, ...]:
    """Name the parts that must give: checks per buyer first, then an elastic re-solve."""
    conflicts = [c for s in specs for c in _single_spec_conflicts(leads, s)]
    if conflicts:
        return tuple(conflicts)
    return _elastic_conflicts(leads, specs)


def _single_spec_conflicts(leads: pd.DataFrame, spec: PackageSpec) -> list[Conflict]:
    n = len(leads)
    if spec.size > n:
        return [
            Conflict(
                f"{spec.buyer}.size",
                f"{spec.buyer}: the package needs {spec.size} leads but only {n} are available",
                spec.size - n,
            )
        ]
    admitted = _admitted_by_limits(leads, spec)
    if admitted < spec.size:
        return [
            Conflict(
                f"{spec.buyer}.limits",
                f"{spec.buyer}: the source and lead-type limits admit at most {admitted} of "
                f"the {spec.size} leads asked for",
                spec.size - admitted,
            )
        ]
    best = float(np.sort(leads["probability"].to_numpy(dtype=float))[::-1][: spec.size].mean())
    if best < spec.min_quality - 1e-9:
        return [
            Conflict(
                f"{spec.buyer}.quality",
                f"{spec.buyer}: the average probability must drop from "
                f"{spec.min_quality:.1%} to {best:.1%} (the best {spec.size} leads average "
                f"{best:.1%})",
                spec.min_quality - best,
            )
        ]
    return []


def _admitted_by_limits(leads: pd.DataFrame, spec: PackageSpec) -> int:
    """Most leads the limits let in, each limit alone (a bound, exact for one kind of limit)."""
    admitted = len(leads)
    for column, limits in (("source", spec.source_limits), ("lead_type", spec.type_limits)):
        if not limits:
            continue
        counts = leads[column].value_counts()
        total = sum(
            min(count, math.floor(limits[name] * spec.size + 1e-9)) if name in limits else count
            for name, count in counts.items()
        )
        admitted = min(admitted, total)
    return admitted


def _elastic_conflicts(leads: pd.DataFrame, specs: Sequence[PackageSpec]) -> tuple[Conflict, ...]:
    """Re-solve with a penalised slack on each size, quality and limit row; name those used."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    problem = _PackageProblem(leads, specs)
    base = problem.constraints()[0]
    a = base.A.tolil()
    names = _row_names(problem)
    kinds = [name[0] for name in names]
    slack_rows = [r for r, kind in enumerate(kinds) if kind in _PART_WEIGHT]
    n_s = len(slack_rows)
    full = lil_matrix((a.shape[0], problem.n_x + n_s))
    full[:, : problem.n_x] = a
    for j, r in enumerate(slack_rows):
        # Size rows may fall short; quality rows may drop; limit rows may rise.
        full[r, problem.n_x + j] = -1.0 if kinds[r] == "limit" else 1.0
    cost = np.r_[np.zeros(problem.n_x), [_PART_WEIGHT[kinds[r]] for r in slack_rows]]
    result = milp(
        cost,
        constraints=[LinearConstraint(full.tocsr(), base.lb, base.ub)],
        integrality=np.r_[np.ones(problem.n_x), np.zeros(n_s)],
        bounds=Bounds(0, np.inf),
    )
    if result.x is None:
        return (Conflict("packages", "the packages cannot be built even with every rule relaxed"),)
    conflicts = []
    for j, r in enumerate(slack_rows):
        amount = float(result.x[problem.n_x + j])
        if amount > 1e-6:
            conflicts.append(_describe_slack(names[r], amount, specs))
    return tuple(conflicts)


def _row_names(problem: _PackageProblem) -> list[tuple[str, str, str]]:
    names = [("one package", "", "")] * problem.n_leads
    for spec in problem.specs:
        names.append(("size", spec.buyer, ""))
        names.append(("quality", spec.buyer, ""))
        for limits in (spec.source_limits, spec.type_limits):
            names += [("limit", spec.buyer, name) for name in limits]
    return names


def _describe_slack(name: tuple[str, str, str], amount: float, specs: Sequence[PackageSpec]):
    kind, buyer, what = name
    spec = next(s for s in specs if s.buyer == buyer)
    if kind == "size":
        text = f"{buyer}: the package must shrink by {amount:.0f} leads (other packages need them)"
    elif kind == "quality":
        text = (
            f"{buyer}: the average probability must drop by {amount / spec.size:.1%} "
            f"(from {spec.min_quality:.1%}), given the leads other packages take"
        )
    else:
        text = f"{buyer}: the limit on {what!r} must admit {amount:.0f} more leads"
    return Conflict(f"{buyer}.{kind}{'.' + what if what else ''}", text, amount)


# --- Per-source quality back into the allocation ---------------------------------------


def predicted_conversion(
    scored: pd.DataFrame, inventory: Inventory, *, min_leads: int = 30
) -> pd.DataFrame:
    """Each source's conversion in Sources beside the mean predicted probability of its leads.

    ``scored`` has ``source`` and ``probability`` (the open leads just scored). A source is
    ``replaced`` only when it has at least ``min_leads`` scored leads; ``reason`` says why not.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> inv = demo_inventory()
    >>> scored = pd.DataFrame({"source": ["Organic search"] * 40, "probability": [0.25] * 40})
    >>> table = predicted_conversion(scored, inv)
    >>> row = table.loc["Organic search"]
    >>> float(row["history"]), float(row["predicted"]), int(row["leads"]), bool(row["replaced"])
    (0.189, 0.25, 40, True)
    >>> table.loc["Referral programme", "reason"]
    'no scored leads'
    """
    grouped = scored.groupby("source")["probability"].agg(["mean", "size"])
    rows = []
    for source in inventory.names:
        n = int(grouped["size"].get(source, 0))
        mean = float(grouped["mean"].get(source, np.nan))
        enough = n >= min_leads
        reason = (
            "model"
            if enough
            else "no scored leads"
            if n == 0
            else f"only {n} scored leads (needs {min_leads})"
        )
        rows.append(
            {
                "source": source,
                "history": float(inventory.sources.at[source, "conversion"]),
                "predicted": mean,
                "leads": n,
                "replaced": enough,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows).set_index("source").rename_axis(None)


def with_predicted_conversion(
    inventory: Inventory, scored: pd.DataFrame, settings: Settings, *, min_leads: int = 30
) -> tuple[Inventory, pd.DataFrame]:
    """The inventory Rebalance should use, and the record of which conversions were replaced.

    With ``leads.conversion_source`` = model, each source with at least ``min_leads`` scored
    leads gets the mean predicted probability as its conversion; otherwise nothing changes
    (the record then shows ``replaced`` False everywhere, reason "Settings: history").

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> inv = demo_inventory()
    >>> scored = pd.DataFrame({"source": ["Organic search"] * 40, "probability": [0.25] * 40})
    >>> model = Settings().replace({"leads.conversion_source": "model"})
    >>> new, record = with_predicted_conversion(inv, scored, model)
    >>> float(new.sources.at["Organic search", "conversion"])
    0.25
    >>> float(inv.sources.at["Organic search", "conversion"])
    0.189
    >>> new, record = with_predicted_conversion(inv, scored, Settings())
    >>> float(new.sources.at["Organic search", "conversion"]), bool(record["replaced"].any())
    (0.189, False)
    """
    record = predicted_conversion(scored, inventory, min_leads=min_leads)
    if settings.leads.conversion_source != ConversionSource.MODEL:
        return inventory, record.assign(replaced=False, reason="Settings: history")
    sources = inventory.sources.copy()
    replaced = record.index[record["replaced"]]
    sources.loc[replaced, "conversion"] = record.loc[replaced, "predicted"]
    for source in replaced:
        log.info(
            "%s: conversion %.1f%% (history) replaced by %.1f%% (lead model)",
            source,
            100 * record.at[source, "history"],
            100 * record.at[source, "predicted"],
        )
    return dataclasses.replace(inventory, sources=sources), record
