"""Small pieces of English for the allocation's sentences."""

from __future__ import annotations


def possessive(name: str) -> str:
    """``name``'s, or ``name``' for a name ending in s (a plural: "Partner webinars'").

    Examples
    --------
    >>> possessive("Organic search"), possessive("Partner webinars"), possessive("Webinar series")
    ("Organic search's", "Partner webinars'", "Webinar series'")
    """
    return f"{name}'" if name.endswith(("s", "S")) else f"{name}'s"


def money(amount: float) -> str:
    """Dollars as the workbook shows them.

    Examples
    --------
    >>> money(1234.5), money(-80.0)
    ('$1,234', '−$80')
    """
    text = f"${abs(amount):,.0f}"
    return f"−{text}" if amount < -0.5 else text


def pct(share: float, digits: int = 0) -> str:
    """A share as a percentage with a thin space, as the chapter writes them."""
    return f"{share * 100:.{digits}f} %"
