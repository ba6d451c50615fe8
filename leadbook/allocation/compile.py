"""Rules to matrices, in one place: the model's rows stacked into one sparse programme.

:func:`compile_model` is the only function that turns the rule builders' labelled rows
(:mod:`leadbook.allocation.rules`) into the solver's arrays; it keeps, for every row, the
rule, source, week and class it came from, so solutions and conflicts can be explained.
:class:`Program` is an immutable linear programme that later steps extend with columns and
rows of their own (an objective's helper variables, the tie-break, the elastic slacks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from leadbook.allocation.model import MONEY, Model
from leadbook.allocation.rules import (
    HARD,
    RELAX_WEIGHT,
    Discrete,
    Layout,
    Rows,
    Rule,
    discrete_rules,
    policy_rows,
    variable_bounds,
)

BUDGET_SCALED = frozenset(
    {
        Rule.DEFINITION,
        Rule.BUDGET,
        Rule.MAX_SHARE,
        Rule.EXPERIMENTAL,
        Rule.BAND_MIN,
        Rule.BAND_MAX,
    }
)
"""Rules whose rows are scaled by the budget (their natural size is the budget)."""


@dataclass(frozen=True)
class Program:
    """``min c·v`` subject to ``lo ≤ A·v ≤ hi`` and ``lb ≤ v ≤ ub``, with integrality
    (0 continuous, 1 integer, 2 semi-continuous, as :func:`scipy.optimize.milp`)."""

    c: np.ndarray
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_rows(self) -> int:
        return len(self.lo)

    def extend(
        self,
        *,
        lb: np.ndarray | None = None,
        ub: np.ndarray | None = None,
        c: np.ndarray | None = None,
        integrality: np.ndarray | None = None,
        coef: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        lo: np.ndarray | None = None,
        hi: np.ndarray | None = None,
    ) -> Program:
        """A copy with new columns (bounds ``lb``/``ub``, costs ``c``) and new rows.

        ``coef`` puts new columns into existing rows as ``(row, new column, value)``, new
        columns counted from 0; ``rows`` are new rows as ``(row, column, value)`` over all
        columns (old and new), rows counted from 0, with bounds ``lo``/``hi``.
        """
        k = 0 if lb is None else len(lb)
        n, m = self.n_cols, self.n_rows
        r_new = 0 if lo is None else len(lo)
        blocks = [self.A.tocoo()]
        r, col, val = [blocks[0].row], [blocks[0].col], [blocks[0].data]
        if coef is not None:
            r.append(np.asarray(coef[0]))
            col.append(n + np.asarray(coef[1]))
            val.append(np.asarray(coef[2], dtype=float))
        if rows is not None:
            r.append(m + np.asarray(rows[0]))
            col.append(np.asarray(rows[1]))
            val.append(np.asarray(rows[2], dtype=float))
        matrix = sp.csr_matrix(
            (np.concatenate(val), (np.concatenate(r), np.concatenate(col))),
            shape=(m + r_new, n + k),
        )
        return Program(
            c=np.r_[self.c, np.zeros(k) if c is None else c],
            A=matrix,
            lo=np.r_[self.lo, [] if lo is None else lo],
            hi=np.r_[self.hi, [] if hi is None else hi],
            lb=np.r_[self.lb, [] if lb is None else lb],
            ub=np.r_[self.ub, [] if ub is None else ub],
            integrality=np.r_[
                self.integrality, np.zeros(k, np.int8) if integrality is None else integrality
            ].astype(np.int8),
        )

    def with_objective(self, c: np.ndarray) -> Program:
        """The same programme with costs ``c`` (padded with zeros)."""
        return replace(self, c=np.r_[c, np.zeros(self.n_cols - len(c))])

    def with_bounds(self, lb: np.ndarray, ub: np.ndarray) -> Program:
        return replace(self, lb=lb, ub=ub)


@dataclass(frozen=True)
class RowInfo:
    """Where each row of a compiled model came from (one entry per row); ``spend`` is the
    spend floor ($1,000s) a row on leads stands for, NaN for other rows."""

    rule: np.ndarray
    source: np.ndarray
    week: np.ndarray
    scale: np.ndarray
    klass: np.ndarray
    unit: np.ndarray
    spend: np.ndarray


@dataclass(frozen=True)
class Compiled:
    """A model compiled: its programme (no objective yet), row origins, discrete rules."""

    model: Model
    layout: Layout
    program: Program
    rows: RowInfo
    discrete: Discrete


def compile_model(model: Model, *, prune: bool = True) -> Compiled:
    """Stack every rule's rows into one programme over the model's variables.

    ``prune`` drops rows that cannot bind given the sources' own limits (the elastic
    re-solve compiles without it, since it may relax those limits).

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> compiled = compile_model(tiny_model())  # 2 sources, 3 price blocks, 1 total
    >>> compiled.program.n_cols
    6
    >>> sorted({str(r) for r in compiled.rows.rule})  # doctest: +NORMALIZE_WHITESPACE
    ['budget', 'definition', 'operations capacity', 'sales capacity',
     'support capacity', 'weekly decrease', 'weekly increase']
    """
    pf = model.portfolio
    lay = Layout(len(pf), len(pf.blocks), model.weeks, prune)
    return compile_rows(model, lay, policy_rows(model, lay))


def compile_rows(model: Model, lay: Layout, blocks: Sequence[Rows]) -> Compiled:
    """The programme of the given row blocks (see :func:`compile_model`)."""
    offsets = np.cumsum([0] + [len(b) for b in blocks])
    m = int(offsets[-1])
    matrix = sp.csr_matrix(
        (
            np.concatenate([b.val for b in blocks]),
            (
                np.concatenate([b.row + o for b, o in zip(blocks, offsets, strict=False)]),
                np.concatenate([b.col for b in blocks]),
            ),
        ),
        shape=(m, lay.size),
    )
    lb, ub = variable_bounds(model, lay)
    program = Program(
        c=np.zeros(lay.size),
        A=matrix,
        lo=np.concatenate([b.lo for b in blocks]),
        hi=np.concatenate([b.hi for b in blocks]),
        lb=lb,
        ub=ub,
        integrality=np.zeros(lay.size, np.int8),
    )
    info = RowInfo(
        rule=_objects([r for b in blocks for r in [b.rule] * len(b)]),
        source=np.concatenate([b.source for b in blocks]),
        week=np.concatenate([b.week for b in blocks]),
        scale=np.concatenate([b.scale for b in blocks]),
        klass=np.concatenate([np.full(len(b), b.klass, dtype=object) for b in blocks]),
        unit=np.concatenate([np.full(len(b), b.unit, dtype=object) for b in blocks]),
        spend=np.concatenate(
            [b.spend if b.spend is not None else np.full(len(b), np.nan) for b in blocks]
        ),
    )
    return Compiled(model, lay, program, info, discrete_rules(model, lay))


def retarget(compiled: Compiled, budget: float) -> Compiled:
    """``compiled`` with the budget set to ``budget`` ($ a month): the budget rows' bounds
    and the scale of every row sized by the budget change; nothing is recompiled.

    Rows pruned at the compiled budget stay pruned: a row that cannot bind at a lower
    budget cannot bind at a higher one, so compile at the lowest budget of a curve.

    Examples
    --------
    >>> from leadbook.allocation.examples import tiny_model
    >>> c = retarget(compile_model(tiny_model()), 1_500.0)
    >>> c.model.limits.budget, float(c.program.hi[is_rule(c.rows, Rule.BUDGET)][0])
    (1500.0, 1.5)
    """
    model = compiled.model
    limits = dataclasses.replace(model.limits, budget=float(budget))
    info, prog = compiled.rows, compiled.program
    rows = is_rule(info, Rule.BUDGET)
    lo, hi = prog.lo.copy(), prog.hi.copy()
    hi[rows] = budget / MONEY
    if limits.exact:
        lo[rows] = budget / MONEY
    scaled = is_rule(info, *BUDGET_SCALED)
    scale = info.scale.copy()
    scale[scaled] = max(budget / MONEY, 1.0)
    return dataclasses.replace(
        compiled,
        model=dataclasses.replace(model, limits=limits),
        program=dataclasses.replace(prog, lo=lo, hi=hi),
        rows=dataclasses.replace(info, scale=scale),
    )


@dataclass(frozen=True)
class Elastic:
    """The elastic programme: every relaxable row gets a slack on each finite side.

    Slack ``j`` loosens row ``row[j]`` on side ``side[j]`` (−1 its minimum, +1 its maximum)
    and costs its rule's :data:`~leadbook.allocation.rules.RELAX_WEIGHT` per unit of the
    row's natural size, so the re-solve finds the smallest relative relaxation.
    """

    program: Program
    first_slack: int
    row: np.ndarray
    side: np.ndarray


def elastic_program(compiled: Compiled) -> Elastic:
    """The compiled model with slacks on every rule that may give (not definitions, not the
    vendors' volume caps), minimising the weighted relaxation."""
    info, prog = compiled.rows, compiled.program
    soft = np.array([r not in HARD for r in info.rule], dtype=bool)
    low = np.flatnonzero(soft & np.isfinite(prog.lo))
    high = np.flatnonzero(soft & np.isfinite(prog.hi))
    row = np.r_[low, high]
    side = np.r_[-np.ones(len(low)), np.ones(len(high))].astype(np.int8)
    weight = np.array([RELAX_WEIGHT.get(r, 1.0) for r in info.rule[row]]) / info.scale[row]
    k = len(row)
    program = prog.with_objective(np.zeros(prog.n_cols)).extend(
        lb=np.zeros(k),
        ub=np.full(k, np.inf),
        c=weight,
        coef=(row, np.arange(k), -side.astype(float)),
    )
    return Elastic(program, prog.n_cols, row, side)


def _objects(items: list) -> np.ndarray:
    """An object array holding ``items`` themselves (``np.full`` would turn enums to str)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def is_rule(info: RowInfo, *rules: Rule) -> np.ndarray:
    """Which rows belong to any of ``rules``."""
    return np.isin(info.rule.astype(str), [str(r) for r in rules])
