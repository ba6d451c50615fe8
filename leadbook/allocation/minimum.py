"""The minimum active spend as a choice: the sources that may stop instead of spending it.

A source active today must spend at least the minimum active spend next week — unless it
spends less than the minimum today (:func:`below_minimum`: it stops or glides up to it,
:func:`glide_floors`), or its spend cap or volume cap is below the minimum
(:func:`cannot_reach_minimum`: it stops). Stopping is the minimum rule's other branch, so
the weekly decrease limit does not hold such a source back.
"""

from __future__ import annotations

import numpy as np

from leadbook.allocation.model import Model, Regime
from leadbook.allocation.words import money, possessive


def below_minimum(model: Model) -> np.ndarray:
    """Which sources spend below the minimum active spend today (active, spend > 0): each
    either stops or glides up to the minimum (:func:`glide_floors`).

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> import dataclasses
    >>> m = tiny_model()
    >>> lim = dataclasses.replace(m.limits, min_spend=1_100.0)
    >>> below_minimum(dataclasses.replace(m, limits=lim)).tolist()
    [True, True]
    """
    pf, lim = model.portfolio, model.limits
    return (pf.regime == Regime.CHANGE) & (pf.current > 0) & (pf.current < lim.min_spend)


def cannot_reach_minimum(model: Model) -> np.ndarray:
    """Which active sources spend at least the minimum active spend today but cannot reach
    it under their spend cap or volume cap: each can only stop (spend 0).

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> import dataclasses
    >>> m = tiny_model()
    >>> pf = dataclasses.replace(m.portfolio, cap=np.array([900.0, np.nan]))
    >>> lim = dataclasses.replace(m.limits, min_spend=1_000.0)
    >>> cannot_reach_minimum(Model(pf, lim)).tolist()
    [True, False]
    """
    pf, lim = model.portfolio, model.limits
    short = np.fmin(pf.max_spend, pf.cap) < lim.min_spend * (1 - 1e-12)
    return (pf.regime == Regime.CHANGE) & (pf.current >= lim.min_spend) & (pf.current > 0) & short


def may_stop(model: Model) -> np.ndarray:
    """The sources for which the minimum active spend is a choice next week, not a floor:
    below it today (they stop or glide up) or unable to reach it (they stop)."""
    return below_minimum(model) | cannot_reach_minimum(model)


def glide_floors(model: Model) -> np.ndarray:
    """Each source's least nonzero spend week by week ($ a month; weeks × sources): the
    minimum active spend, or for a source below it today the glide-in
    ``min(minimum, today × (1 + increase)^week)`` — it rises by the full weekly increase
    until it reaches the minimum, or stops (spends 0). Stopping is the minimum rule's other
    branch, so the weekly decrease limit does not hold it back; in a plan of several weeks
    solved at once it stops in week 1 or not at all (the weekly decrease then applies). A
    source whose spend cap or volume cap is below the minimum can never reach it: its floor
    is the minimum, so it stops.

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> import dataclasses
    >>> m = tiny_model()
    >>> lim = dataclasses.replace(m.limits, min_spend=1_400.0, increase=0.2)
    >>> glide_floors(dataclasses.replace(m, limits=lim, weeks=3))[:, 0].round(2).tolist()
    [1200.0, 1400.0, 1400.0]
    """
    pf, lim = model.portfolio, model.limits
    up = (1.0 + lim.increase) ** np.arange(1, model.weeks + 1)[:, None]
    with np.errstate(invalid="ignore", over="ignore"):
        glide = np.minimum(lim.min_spend, pf.current[None, :] * up)
    reach = np.fmin(pf.max_spend, pf.cap)
    gliding = below_minimum(model) & ~(reach < lim.min_spend * (1 - 1e-12))
    return np.where(gliding[None, :], glide, lim.active_threshold)


def capped_out(model: Model, members: np.ndarray | None = None, most: int = 3) -> list[int]:
    """The largest ``most`` sources (by spend today; of ``members`` if given) that only their
    spend cap keeps below the minimum active spend: a higher cap would let them spend."""
    pf, lim = model.portfolio, model.limits
    short = (pf.cap < lim.active_threshold) & (pf.max_spend >= lim.active_threshold)
    out = np.flatnonzero(short & ~np.isin(pf.regime, [Regime.OFF, Regime.PINNED]))
    out = out if members is None else np.intersect1d(out, members)
    return out[np.argsort(-pf.current[out], kind="stable")][:most].tolist()


def volume_capped_out(model: Model, members: np.ndarray | None = None, most: int = 3) -> list[int]:
    """The largest ``most`` sources spending today (of ``members`` if given) whose volume cap
    keeps them below the minimum active spend: all their leads cost less than it."""
    pf, lim = model.portfolio, model.limits
    short = (pf.max_spend < lim.active_threshold * (1 - 1e-12)) & (pf.current > 0)
    out = np.flatnonzero(short & ~np.isin(pf.regime, [Regime.OFF, Regime.PINNED]))
    out = out if members is None else np.intersect1d(out, members)
    return out[np.argsort(-pf.current[out], kind="stable")][:most].tolist()


def held_by_caps(model: Model, members: np.ndarray | None = None) -> str:
    """``"; A's spend cap of $X is below the $M minimum …"`` for :func:`capped_out`, or ``""``.

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> import dataclasses
    >>> m = tiny_model()
    >>> pf = dataclasses.replace(m.portfolio, cap=np.array([900.0, np.nan]))
    >>> held_by_caps(Model(pf, dataclasses.replace(m.limits, min_spend=1_000.0)))
    "; A's spend cap of $900 is below the $1,000 minimum for an active source"
    """
    pf = model.portfolio
    caps = [
        f"{possessive(pf.names[i])} spend cap of {money(pf.cap[i])}"
        for i in capped_out(model, members)
    ] + [
        f"{possessive(pf.names[i])} volume cap (all its leads cost {money(pf.max_spend[i])} a "
        "month)"
        for i in volume_capped_out(model, members)
    ]
    if not caps:
        return ""
    verb = "is" if len(caps) == 1 else "are"
    minimum = money(model.limits.active_threshold)
    return f"; {', '.join(caps)} {verb} below the {minimum} minimum for an active source"
