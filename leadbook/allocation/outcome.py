"""What one allocation solve returns: the optimal allocation and what explains it.

The engine (:mod:`leadbook.allocation.engine`) makes an :class:`Outcome`; the explanations
(:mod:`leadbook.allocation.explain`) and the allocation's tables
(:mod:`leadbook.allocation.allocate`) read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from leadbook.allocation.compile import Compiled
from leadbook.allocation.objectives import Goal
from leadbook.allocation.solve import Duals, Marks, Solved


@dataclass(frozen=True)
class Outcome:
    """An optimal allocation and what explains it (all in the model's units).

    ``v`` is the solution over the goal's programme columns; ``value`` the objective;
    ``duals`` those of the LP around ``v`` (None if HiGHS gave none); ``steady`` the
    optimum without weekly change limits (glide paths only); ``timings`` in seconds;
    ``budget_note`` why ``budget_value`` is unknown (None: no duals, or it is known).
    """

    compiled: Compiled
    goal: Goal
    solved: Solved
    v: np.ndarray
    value: float
    duals: Duals | None
    budget_value: float
    steady: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    marks: Marks = field(default_factory=Marks)
    budget_note: str | None = None
