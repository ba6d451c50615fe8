"""The enumerations of the domain: what a source is, and the classes it falls into.

Each member's value is the text a user sees and types in the workbook; parsing is
case- and space-insensitive, and an unknown text is an error that lists what is allowed.
"""

from __future__ import annotations

import enum
from typing import Self


class Choice(enum.StrEnum):
    """A string enum parsed leniently from workbook text (case, spaces, dashes)."""

    @classmethod
    def parse(cls, text: object) -> Self:
        """Return the member whose label matches ``text``.

        Examples
        --------
        >>> Status.parse(" Active ")
        <Status.ACTIVE: 'active'>
        >>> Party.parse("third party")
        <Party.THIRD: 'third-party'>
        >>> Status.parse("on hold")
        Traceback (most recent call last):
        ...
        ValueError: 'on hold' is not one of: active, testing, paused
        """
        key = _normalise(text)
        for member in cls:
            if key in (_normalise(member.value), _normalise(member.name)):
                return member
        raise ValueError(f"{text!r} is not one of: {cls.choices()}")

    @classmethod
    def choices(cls) -> str:
        """The allowed labels, comma-separated, as a drop-down shows them."""
        return ", ".join(m.value for m in cls)


def _normalise(text: object) -> str:
    return str(text).strip().lower().replace("-", " ").replace("_", " ")


class Party(Choice):
    """Who generates the lead: the company itself, or a vendor."""

    FIRST = "first-party"
    THIRD = "third-party"


class Status(Choice):
    """Whether a source is bought from now, under test, or paused."""

    ACTIVE = "active"
    TESTING = "testing"
    PAUSED = "paused"


class Compliance(Choice):
    """The compliance standing of a source (consent, TCPA/GDPR, contract)."""

    COMPLIANT = "compliant"
    REVIEW = "under review"
    NONCOMPLIANT = "non-compliant"


class Tier(Choice):
    """Portfolio tier: core (1), growth (2), experimental (3)."""

    T1 = "Tier 1"
    T2 = "Tier 2"
    T3 = "Tier 3"


class LeadType(Choice):
    """Lead-type class from exclusivity and freshness."""

    PREMIUM = "Premium"
    STANDARD = "Standard"
    VALUE = "Value"


class RiskClass(Choice):
    """Risk class from track record, compliance, vendor health and volatility."""

    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"


class Objective(Choice):
    """What Rebalance maximises."""

    CUSTOMERS = "customers"
    MARGIN = "margin"
    WEIGHTED = "weighted"


class BudgetMode(Choice):
    """Whether Rebalance must spend the whole budget or may spend less."""

    EXACT = "exact"
    AT_MOST = "at most"


class ScoreBand(Choice):
    """Band of a lead's conversion probability, by the cut-offs on Settings."""

    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


class LeadAction(Choice):
    """What to do with an open lead (the chapter's "planning actions")."""

    WORK_FIRST = "work first"
    SELL = "sell to partner"
    NURTURE = "nurture"
    DROP = "drop"


class ConversionSource(Choice):
    """Which conversion rate of a source Rebalance uses: its history, or the lead model's."""

    HISTORY = "history"
    MODEL = "model"


class CapacitySource(Choice):
    """Where Rebalance takes its sales capacity from: Settings' reps, or the hiring plan's."""

    SETTINGS = "settings"
    HIRING_PLAN = "hiring plan"


class Switch(Choice):
    """A setting that is on or off."""

    YES = "yes"
    NO = "no"


class Answer(Choice):
    """An answer to a maturity checklist item (the Maturity tab's Answer column)."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"
