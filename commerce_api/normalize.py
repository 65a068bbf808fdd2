"""How customer details are normalized before they are compared (verification) or indexed (look-up keys)."""

from __future__ import annotations


def email_key(value: str) -> str:
    """Trimmed and case-folded: " Jane.Doe@Example.COM " and "jane.doe@example.com" are one address."""
    return value.strip().casefold()


def name_key(value: str) -> str:
    """Case-folded with runs of whitespace collapsed: "  jane   DOE" is "jane doe"."""
    return " ".join(value.split()).casefold()


def postal_code_key(value: str) -> str:
    """Without any whitespace, case-folded: "sw1a 2aa" is "SW1A2AA"."""
    return "".join(value.split()).casefold()
