"""The errors leadbook raises.

Every error a user can cause is a :class:`LeadbookError` whose message can be shown as it
is: in a terminal, in an Excel cell, in a task pane. Input problems are collected, never
raised one at a time, and each names its place in Excel terms (``Sources!E7``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    """How serious an input problem is: errors stop a run, warnings are reported."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One input problem, located in Excel terms.

    Examples
    --------
    >>> str(Problem("Sources!E7", "cpl must be > 0, got -3"))
    'Sources!E7: cpl must be > 0, got -3'
    """

    where: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class LeadbookError(Exception):
    """Base of every error leadbook raises on purpose; its message is for the user."""


class InputError(LeadbookError, ValueError):
    """One or more problems in the inputs, all reported at once.

    Examples
    --------
    >>> err = InputError([Problem("Sources!E7", "cpl must be > 0, got -3"),
    ...                   Problem("Sources!A9", "source is empty")])
    >>> print(err)
    2 input problems:
      Sources!E7: cpl must be > 0, got -3
      Sources!A9: source is empty
    """

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(_describe(self.problems))


def _describe(problems: tuple[Problem, ...]) -> str:
    if len(problems) == 1:
        return str(problems[0])
    lines = [f"{len(problems)} input problems:"]
    lines += [f"  {p}" for p in problems]
    return "\n".join(lines)


def raise_errors(problems: Iterable[Problem]) -> None:
    """Raise :class:`InputError` if any of ``problems`` is an error; warnings pass."""
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise InputError(errors)


class WorkbookFileError(LeadbookError, ValueError):
    """The file cannot be used as a leadbook workbook (corrupt, hostile, open, missing)."""


@dataclass(frozen=True)
class Fix:
    """A change to one workbook input that makes an infeasible policy feasible (checked by
    re-solving with it applied): a setting by its defined name, or with ``source`` a cell of
    the Sources table by its column header.

    Examples
    --------
    >>> Fix("Budget", 316_032.52, "cut the budget to $316,032.52 (Budget)").json()
    {'name': 'Budget', 'value': 316032.52}
    >>> Fix("Pin spend", 110_000.0, "pin A at $110,000", "A").json()
    {'name': 'Pin spend', 'value': 110000.0, 'table': 'Sources', 'source': 'A'}
    """

    name: str
    value: float | str
    text: str
    source: str | None = None

    def json(self) -> dict[str, object]:
        """The fix as ``--json`` prints it."""
        out: dict[str, object] = {"name": self.name, "value": self.value}
        if self.source is not None:
            out |= {"table": "Sources", "source": self.source}
        return out


@dataclass(frozen=True)
class Conflict:
    """A rule that must give for a policy to become feasible, and by how much.

    ``fixes`` are verified changes tied to this rule: each alone makes the policy feasible,
    or, when :attr:`InfeasiblePolicyError.together`, this rule's part of a combination.
    """

    rule: str
    message: str
    shortfall: float = 0.0
    per_source: bool = False
    """A rule on one source (its limits, pin, cap, test budget); else a portfolio rule
    (budget, capacity, a band, the experimental floor), of which there are few."""
    fixes: tuple[Fix, ...] = ()

    @property
    def fix(self) -> Fix | None:
        """The first of ``fixes``, or None."""
        return self.fixes[0] if self.fixes else None

    def __str__(self) -> str:
        return self.message


SHOWN_CONFLICTS = 8
"""Conflicts the message lists; the rest are counted (``conflicts`` keeps every one)."""


@dataclass
class InfeasiblePolicyError(LeadbookError, ValueError):
    """The allocation policy cannot be met; ``conflicts`` names each rule that must give.

    The message lists the portfolio rules, then the source rules with the largest
    shortfall, up to :data:`SHOWN_CONFLICTS`, and counts the rest: thousands of sources can
    make thousands of rules give, and a wall of them hides the few that matter.

    Examples
    --------
    >>> many = [Conflict(f"cap (S{i})", f"S{i} short ${i}", i, True) for i in range(20)]
    >>> print(InfeasiblePolicyError((*many, Conflict("budget", "The budget ..."))))
    The policy cannot be met.
      - The budget ...
      - S19 short $19
      - S18 short $18
      - S17 short $17
      - S16 short $16
      - S15 short $15
      - S14 short $14
      - S13 short $13
      … and 13 more source rules must give ($78 of shortfall in all, at most $12 each); \
leadbook rebalance BOOK --json lists every one
    """

    conflicts: tuple[Conflict, ...] = field(default_factory=tuple)
    summary: str = "The policy cannot be met."
    together: bool = False
    """The conflicts' fixes must all be applied together (no single one suffices)."""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        shown, rest = self.leading()
        lines = [self.summary] + [f"  - {c}" for c in shown]
        if rest:
            total = sum(c.shortfall for c in rest)
            largest = max(c.shortfall for c in rest)
            kind = "source rules" if all(c.per_source for c in rest) else "rules"
            lines.append(
                f"  … and {len(rest):,} more {kind} must give (${total:,.0f} of shortfall in "
                f"all, at most ${largest:,.0f} each); leadbook rebalance BOOK --json lists "
                "every one"
            )
        return "\n".join(lines)

    def leading(self) -> tuple[list[Conflict], list[Conflict]]:
        """The conflicts whose relaxation matters most, and the rest: all of them when
        there are few; else those with a verified fix first (the fixes are the answer),
        then portfolio rules, then by shortfall, largest first."""
        if len(self.conflicts) <= SHOWN_CONFLICTS + 1:
            return list(self.conflicts), []
        ranked = sorted(self.conflicts, key=lambda c: (not c.fixes, c.per_source, -c.shortfall))
        return ranked[:SHOWN_CONFLICTS], ranked[SHOWN_CONFLICTS:]

    @property
    def fixes(self) -> tuple[Fix, ...]:
        """Every verified fix, in conflict order."""
        return tuple(f for c in self.conflicts for f in c.fixes)
