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
