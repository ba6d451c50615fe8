"""How long the search for an infeasible policy's fixes may take, and what it says when its
time runs out.

The search (:func:`~leadbook.allocation.fixes.verified_fixes`) re-solves the model once per
candidate value; at 1,000 sources one re-solve of an integer-infeasible policy can take
minutes. Every re-solve is capped (:func:`time_left`) and the explanation says which changes
were checked and which were not reached (:func:`stopped_note`).
"""

from __future__ import annotations

import contextvars
import math
import time
from typing import TYPE_CHECKING

from leadbook.allocation.words import possessive as owner

if TYPE_CHECKING:
    from leadbook.allocation.fixes import Knob, Verified
    from leadbook.allocation.model import Model

SEARCH_SECONDS = 20.0
"""Time the search for fixes may take after the elastic re-solve; knobs not reached by then
are not offered (the policy is still refused, with the fixes found so far, and says so)."""

EXPLAIN_SECONDS = 25.0
"""The most the explanation of an infeasible policy should take in all: the search for fixes
gets what the elastic re-solve leaves of it (:func:`search_seconds`), at most
:data:`SEARCH_SECONDS`."""

RESOLVE_SECONDS = 4.0
"""The most one re-solve of the search may take; one that runs out shows nothing (its value
is not offered, or a bisection takes it as too little). At 1,000 sources HiGHS took minutes
to prove an integer-infeasible 'minimum' policy infeasible at each candidate max share."""

DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar("deadline", default=math.inf)
"""When the current search for fixes must end (:func:`time.perf_counter`): re-solves are
capped to it (and to :data:`RESOLVE_SECONDS`) without passing it through every search."""

RAN_OUT: contextvars.ContextVar[list[int]] = contextvars.ContextVar("ran_out")


def time_left() -> float | None:
    """Seconds the next re-solve of a search for fixes may take (None outside a search)."""
    deadline = DEADLINE.get()
    if not math.isfinite(deadline):
        return None
    return max(min(RESOLVE_SECONDS, deadline - time.perf_counter()), 0.0)


def search_seconds(started: float) -> float:
    """Seconds left for the search for fixes of an explanation begun at ``started``.

    Examples
    --------
    >>> search_seconds(time.perf_counter()) == SEARCH_SECONDS
    True
    """
    return min(SEARCH_SECONDS, max(EXPLAIN_SECONDS - (time.perf_counter() - started), 2.0))


def stopped_note(model: Model, verified: Verified) -> str:
    """What the search for fixes did not get to in time, in words (``""`` if nothing).

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> from leadbook.allocation.fixes import Knob, Verified
    >>> budget, share = Knob("Budget", 1), Knob("MaxSourceShare", 1)
    >>> print(stopped_note(tiny_model(), Verified({}, False, (budget,), (share,))))
    The search for fixes ran out of time: each change shown is checked by re-solving, but \
Budget was not tried, and MaxSourceShare's search was cut short (a change shown for it works \
but may not be the least).
    """
    if not (verified.untried or verified.cut_short):
        return ""
    parts = []
    if verified.untried:
        parts.append(f"{_names(model, verified.untried)} {_was(verified.untried)} not tried")
    if verified.cut_short:
        whose = _names(model, verified.cut_short, possessive=True)
        parts.append(
            f"{whose} search{'es were' if len(verified.cut_short) > 1 else ' was'} cut short "
            "(a change shown for it works but may not be the least)"
        )
    return (
        "The search for fixes ran out of time: each change shown is checked by re-solving, "
        f"but {', and '.join(parts)}."
    )


def _names(model: Model, knobs: tuple[Knob, ...], possessive: bool = False) -> str:
    """``A, B and 3 more``: the knobs by setting name (``Cap spend of S1`` for a source's)."""
    pf = model.portfolio
    names = [k.name if k.source < 0 else f"{k.name} of {pf.names[k.source]}" for k in knobs]
    if possessive:
        names = [owner(n) for n in names]
    if len(names) > 4:
        return f"{', '.join(names[:3])} and {len(names) - 3:,} more"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _was(knobs: tuple[Knob, ...]) -> str:
    return "was" if len(knobs) == 1 else "were"


def fix_note(model: Model, verified: Verified) -> str:
    """How to read the fixes below a refusal, after what the search did not get to in time."""
    stopped = stopped_note(model, verified)
    if not verified.by_conflict and stopped:
        intro = (
            "In that time it found no change to the settings that makes the policy "
            "feasible; loosen these rules:"
        )
    elif not verified.by_conflict:
        intro = (
            "leadbook found no change to its settings, alone or together, that it could "
            "check makes the policy feasible; loosen these rules:"
        )
    elif verified.together:
        intro = (
            "No single change makes it feasible; apply all the changes below together "
            "(checked by re-solving with them applied):"
        )
    else:
        intro = (
            "Any one of the changes below makes it feasible on its own (each checked by "
            "re-solving with it applied):"
        )
    return f"{stopped} {intro}" if stopped else intro
