"""Shipping-address validation: a pure function that normalizes an address or reports per-field problems."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Postal-code formats per supported ISO-3166 alpha-2 country. ASCII classes on purpose: Python's \d would
# also accept e.g. Arabic-Indic digits. Patterns are matched with fullmatch after upper-casing.
POSTAL_CODE_PATTERNS: dict[str, re.Pattern[str]] = {
    "US": re.compile(r"[0-9]{5}(-[0-9]{4})?"),
    "CA": re.compile(r"[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]"),
    "GB": re.compile(r"(GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})"),
    "DE": re.compile(r"[0-9]{5}"),
    "FR": re.compile(r"[0-9]{5}"),
    "ES": re.compile(r"[0-9]{5}"),
    "IT": re.compile(r"[0-9]{5}"),
    "NL": re.compile(r"[0-9]{4} ?[A-Z]{2}"),
    "IE": re.compile(r"([AC-FHKNPRTV-Y][0-9]{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}"),
    "AU": re.compile(r"[0-9]{4}"),
}
SUPPORTED_COUNTRIES = tuple(sorted(POSTAL_CODE_PATTERNS))

STREET_MIN, STREET_MAX = 3, 120
ADDRESS2_MAX = 120
CITY_MIN, CITY_MAX = 2, 80
STATE_MAX = 80
NAME_MIN, NAME_MAX = 1, 120


@dataclass(frozen=True)
class Address:
    name: str
    street: str
    city: str
    postal_code: str
    country: str
    address2: str | None = None
    state: str | None = None


class AddressValidationError(ValueError):
    """Raised with a {field: problem} mapping describing every invalid field."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def _has_control_chars(value: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in value)


def _clean(value: str) -> str:
    return " ".join(value.split())  # trim and collapse runs of whitespace


def _optional(value: str | None) -> str | None:
    cleaned = _clean(value) if value is not None else ""
    return cleaned or None


def validate_address(
    *,
    name: str,
    street: str,
    city: str,
    postal_code: str,
    country: str,
    address2: str | None = None,
    state: str | None = None,
) -> Address:
    """Return the normalized address or raise AddressValidationError listing each bad field.

    address2 and state are optional: blank means none. A state of up to three letters is a code ("or",
    "NSW") and is upper-cased.
    """
    problems: dict[str, str] = {}
    raw = {"name": name, "street": street, "city": city, "postal_code": postal_code, "country": country}
    raw.update({k: v for k, v in (("address2", address2), ("state", state)) if v is not None})
    for field, value in raw.items():
        if _has_control_chars(value):
            problems[field] = "must not contain control characters"
    name, street, city = _clean(name), _clean(street), _clean(city)
    address2 = _optional(address2)
    state = _optional(state)
    if state is not None and len(state) <= 3 and state.isascii() and state.isalpha():
        state = state.upper()
    country = country.strip().upper()
    postal_code = _clean(postal_code).upper()

    if "name" not in problems and not NAME_MIN <= len(name) <= NAME_MAX:
        problems["name"] = f"must be {NAME_MIN}-{NAME_MAX} characters"
    if "street" not in problems:
        if not STREET_MIN <= len(street) <= STREET_MAX:
            problems["street"] = f"must be {STREET_MIN}-{STREET_MAX} characters"
        elif not any(ch.isalpha() for ch in street):
            problems["street"] = "must contain a street name"
    if "city" not in problems and not CITY_MIN <= len(city) <= CITY_MAX:
        problems["city"] = f"must be {CITY_MIN}-{CITY_MAX} characters"
    if "address2" not in problems and address2 is not None and len(address2) > ADDRESS2_MAX:
        problems["address2"] = f"must be at most {ADDRESS2_MAX} characters"
    if "state" not in problems and state is not None and len(state) > STATE_MAX:
        problems["state"] = f"must be at most {STATE_MAX} characters"
    if "country" not in problems and country not in POSTAL_CODE_PATTERNS:
        problems["country"] = f"must be one of {', '.join(SUPPORTED_COUNTRIES)}"
    if "postal_code" not in problems:
        pattern = POSTAL_CODE_PATTERNS.get(country)
        if not postal_code:
            problems["postal_code"] = "is required"
        elif pattern is not None and not pattern.fullmatch(postal_code):
            problems["postal_code"] = f"is not a valid postal code for {country}"
    if problems:
        raise AddressValidationError(problems)
    return Address(
        name=name,
        street=street,
        city=city,
        postal_code=postal_code,
        country=country,
        address2=address2,
        state=state,
    )
