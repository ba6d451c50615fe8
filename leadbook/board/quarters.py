"""Quarters and what History says about one: :class:`Quarter`, the latest quarter, the
quarter's actuals and the forecast's errors in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadbook.board.specs import FORECAST_PORTFOLIO, BoardInputError
from leadbook.enums import Party
from leadbook.portfolio.inventory import Inventory

# --- Quarters ---------------------------------------------------------------------------

_QUARTER = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Qq]\s*(\d+)\s*$")


_QUARTER_FIRST = re.compile(r"^\s*[Qq]\s*(\d+)\s*[-/ ]?\s*(\d{4})\s*$")


YEARS = (2000, 2100)


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter.

    Examples
    --------
    >>> q = Quarter.parse("2026Q4")
    >>> str(q), q.long, q.shifted(-4).label
    ('2026Q4', 'Q4 2026', '2025Q4')
    >>> [m.strftime("%b") for m in q.months]
    ['Oct', 'Nov', 'Dec']
    >>> Quarter.parse("2026Q5")
    Traceback (most recent call last):
    ...
    leadbook.board.specs.BoardInputError: quarter '2026Q5': a year has quarters 1 to 4
    """

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise BoardInputError(f"quarter {self.year}Q{self.number}: a year has quarters 1 to 4")

    @classmethod
    def parse(cls, text: object) -> Quarter:
        """A quarter from ``2026Q4`` (also ``2026-Q4``, ``Q4 2026``)."""
        raw = str(text)
        match = _QUARTER.match(raw)
        year, number = (match.group(1), match.group(2)) if match else (None, None)
        if match is None and (match := _QUARTER_FIRST.match(raw)):
            number, year = match.group(1), match.group(2)
        if year is None or number is None:
            raise BoardInputError(
                f"quarter {raw!r} is not a quarter; write it as year, Q, number: 2026Q4"
            )
        if not 1 <= int(number) <= 4:
            raise BoardInputError(f"quarter {raw!r}: a year has quarters 1 to 4")
        if not YEARS[0] <= int(year) < YEARS[1]:
            raise BoardInputError(
                f"quarter {raw!r}: the year must lie in {YEARS[0]}–{YEARS[1] - 1}"
            )
        return cls(int(year), int(number))

    @classmethod
    def of(cls, month: object) -> Quarter:
        """The quarter a date falls in."""
        stamp = pd.Timestamp(month)
        return cls(stamp.year, (stamp.month - 1) // 3 + 1)

    @property
    def months(self) -> tuple[pd.Timestamp, ...]:
        """The first day of each of its three months."""
        first = 3 * (self.number - 1) + 1
        return tuple(pd.Timestamp(self.year, first + i, 1) for i in range(3))

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def long(self) -> str:
        return f"Q{self.number} {self.year}"

    def shifted(self, quarters: int) -> Quarter:
        """The quarter ``quarters`` later (earlier when negative)."""
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    def __str__(self) -> str:
        return self.label


def latest_quarter(history: pd.DataFrame) -> Quarter | None:
    """The quarter of the last month in History (None when History is empty).

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> latest_quarter(demo_inventory().history)
    Quarter(year=2026, number=4)
    """
    if history.empty:
        return None
    return Quarter.of(history["month"].max())


@dataclass(frozen=True)
class Actuals:
    """A quarter's totals from History: the months found, spend, leads, customers, revenue."""

    months: tuple[pd.Timestamp, ...]
    spend: float
    leads: float
    customers: float
    revenue: float
    first_party_spend: float

    @property
    def coverage(self) -> str:
        """Which months the figures cover, e.g. 'Oct 2026 (1 of 3 months)'."""
        names = ", ".join(m.strftime("%b %Y") for m in self.months)
        return names if len(self.months) == 3 else f"{names} ({len(self.months)} of 3 months)"


def quarter_actuals(inventory: Inventory, quarter: Quarter) -> Actuals | None:
    """The quarter's totals from History; None when History has no month of it.

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> a = quarter_actuals(demo_inventory(), Quarter(2026, 3))
    >>> a.coverage, a.leads > 0
    ('Jul 2026, Aug 2026, Sep 2026', True)
    >>> quarter_actuals(demo_inventory(), Quarter(2027, 1)) is None
    True
    """
    history = inventory.history
    rows = history[history["month"].isin(quarter.months)]
    if rows.empty:
        return None
    party = inventory.sources["party"].reindex(rows["source"]).to_numpy()
    return Actuals(
        months=tuple(sorted(pd.Timestamp(m) for m in rows["month"].unique())),
        spend=float(rows["spend"].sum()),
        leads=float(rows["leads"].sum()),
        customers=float(rows["customers"].sum()),
        revenue=float(rows["revenue"].sum()),
        first_party_spend=float(rows["spend"].to_numpy()[party == Party.FIRST].sum()),
    )


# --- Forecast accuracy, quality consistency (pure helpers for the later capabilities) --------


@dataclass(frozen=True)
class ForecastErrors:
    """The quarter's portfolio lead-volume forecast errors, and what they compare."""

    quarter: float
    monthly: float
    basis: str


def forecast_errors(log: pd.DataFrame, quarter: Quarter) -> ForecastErrors | None:
    """Errors of the portfolio's lead-volume forecast for ``quarter``, from a forecast log.

    The forecast judged is the latest one made by the quarter's first month (the one the
    board had going into the quarter), for the quarter's months that have actuals. The
    quarter's error is ``|Σ forecast − Σ actual| ÷ Σ actual``; the monthly error is the mean of
    ``|forecast − actual| ÷ actual`` over those months. None when nothing can be compared.

    Examples
    --------
    >>> oct_, nov = pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-01")
    >>> log = pd.DataFrame({"made": [oct_, oct_], "month": [oct_, nov],
    ...     "source": "Portfolio", "measure": "leads",
    ...     "forecast": [2000.0, 2100.0], "actual": [2100.0, 2000.0]})
    >>> e = forecast_errors(log, Quarter(2026, 4))
    >>> round(e.quarter, 4), round(e.monthly, 4)
    (0.0, 0.0488)
    """
    rows = log[
        (log["source"] == FORECAST_PORTFOLIO)
        & (log["measure"] == "leads")
        & pd.to_datetime(log["month"]).isin(quarter.months)
        & (pd.to_datetime(log["made"]) <= quarter.months[0])
        & pd.to_numeric(log["actual"], errors="coerce").gt(0)
    ]
    if rows.empty:
        return None
    made = pd.to_datetime(rows["made"]).max()
    rows = rows[pd.to_datetime(rows["made"]) == made]
    forecast = rows["forecast"].astype(float).to_numpy()
    actual = rows["actual"].astype(float).to_numpy()
    months = ", ".join(pd.to_datetime(rows["month"]).dt.strftime("%b %Y"))
    return ForecastErrors(
        quarter=float(abs(forecast.sum() - actual.sum()) / actual.sum()),
        monthly=float(np.mean(np.abs(forecast - actual) / actual)),
        basis=f"forecast made {made:%b %Y} for {months}",
    )
