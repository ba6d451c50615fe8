"""Rebalance: the constrained allocation engine that explains itself.

``allocate(inventory, settings)`` returns the recommended monthly spend per source under
every rule of the portfolio policy — budget, max share per source, experimental floor,
tier / lead-type / risk bands, weekly change limits and guardrail, minimum active spend
and at least five active sources, vendor volume caps with price tiers, sales, operations
and support capacity, pins, caps, exclusions and test budgets — solved exactly as a
mixed-integer programme on HiGHS, with the binding rules, the marginal value of budget
and each source's marginal CPA. An infeasible policy raises
:class:`~leadbook.errors.InfeasiblePolicyError` naming each rule that must give.

Modules: :mod:`~leadbook.allocation.model` (inputs), :mod:`~leadbook.allocation.rules`
(one builder per rule), :mod:`~leadbook.allocation.compile` (rules to matrices),
:mod:`~leadbook.allocation.solve` (exact lazy MILP), :mod:`~leadbook.allocation.objectives`,
:mod:`~leadbook.allocation.engine`, :mod:`~leadbook.allocation.explain`,
:mod:`~leadbook.allocation.allocate` (the public result).
"""

from leadbook.allocation.allocate import Allocation, Totals, allocate, build_model
from leadbook.allocation.model import Model, Regime, SalesCapacity

__all__ = [
    "Allocation",
    "Model",
    "Regime",
    "SalesCapacity",
    "Totals",
    "allocate",
    "build_model",
]
