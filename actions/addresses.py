"""Reading and checking a shipping address the way a customer types it.

The commerce API validates again (it never trusts the assistant); checking here
lets the customer fix a typo before the confirmation instead of after it.
"""

from __future__ import annotations

import re
from typing import Dict, Optional

COUNTRIES: Dict[str, str] = {
    "us": "US", "usa": "US", "united states": "US", "united states of america": "US", "america": "US",
    "ca": "CA", "canada": "CA",
    "gb": "GB", "uk": "GB", "united kingdom": "GB", "great britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB",
    "de": "DE", "germany": "DE", "deutschland": "DE",
    "fr": "FR", "france": "FR",
    "nl": "NL", "netherlands": "NL", "the netherlands": "NL", "holland": "NL",
    "ie": "IE", "ireland": "IE",
    "au": "AU", "australia": "AU",
    "es": "ES", "spain": "ES",
    "it": "IT", "italy": "IT",
}
POSTAL_CODES: Dict[str, re.Pattern] = {
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
    "CA": re.compile(r"^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$"),
    "GB": re.compile(r"^[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}$"),
    "DE": re.compile(r"^\d{5}$"),
    "FR": re.compile(r"^\d{5}$"),
    "ES": re.compile(r"^\d{5}$"),
    "IT": re.compile(r"^\d{5}$"),
    "NL": re.compile(r"^\d{4} ?[A-Za-z]{2}$"),
    "IE": re.compile(r"^[A-Za-z]\d[\dWw] ?[A-Za-z\d]{4}$"),
    "AU": re.compile(r"^\d{4}$"),
}
MAX_STREET = 120
MAX_CITY = 80


def normalize_country(text: Optional[str]) -> Optional[str]:
    """'United Kingdom', 'uk', 'GB' → 'GB'; unsupported → None."""
    return COUNTRIES.get(re.sub(r"\s+", " ", str(text or "")).strip(" .").lower())


def clean_street(text: Optional[str]) -> Optional[str]:
    value = re.sub(r"\s+", " ", str(text or "")).strip(" ,")
    if 3 <= len(value) <= MAX_STREET and re.search(r"[^\W\d_]", value):
        return value
    return None


def clean_city(text: Optional[str]) -> Optional[str]:
    value = re.sub(r"\s+", " ", str(text or "")).strip(" ,")
    if 2 <= len(value) <= MAX_CITY and re.search(r"[^\W\d_]", value) and not re.search(r"\d{3}", value):
        return value
    return None


def postal_code_valid(postal_code: Optional[str], country: Optional[str]) -> bool:
    pattern = POSTAL_CODES.get(country or "")
    return bool(pattern and postal_code and pattern.match(postal_code.strip()))


def clean_postal_code(text: Optional[str]) -> Optional[str]:
    value = re.sub(r"\s+", " ", str(text or "")).strip(" ,").upper()
    if 3 <= len(value) <= 10 and re.fullmatch(r"[A-Z0-9 -]+", value) and re.search(r"\d", value):
        return value
    return None


def split_one_line(text: str) -> Dict[str, str]:
    """'48 Elm Street, Austin, 78701, US' → its parts (street, city, postal code, country).

    Only comma-separated addresses are split; the country part is optional and a
    "City 12345" or "12345 City" part is split into city and postal code.
    """
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    if len(parts) < 3:
        return {}
    address = {"address_street": parts[0]}
    rest = parts[1:]
    if normalize_country(rest[-1]):
        address["address_country"] = normalize_country(rest[-1])
        rest = rest[:-1]
    if len(rest) == 2:
        address["address_city"], address["address_postal_code"] = rest
    elif len(rest) == 1:
        match = re.match(r"^(.*?)[\s]+([A-Za-z0-9]{2,4} ?[A-Za-z0-9]{0,4})$", rest[0])
        if match and re.search(r"\d", match.group(2)):
            address["address_city"], address["address_postal_code"] = match.group(1), match.group(2)
        else:
            address["address_city"] = rest[0]
    return address


def one_line(address: Dict[str, str]) -> str:
    """{'street':..., 'city':..., 'postal_code':..., 'country':...} → '12 Harbour Lane, Portland 97201, US'."""
    return ", ".join(
        part
        for part in (
            address.get("street"),
            " ".join(p for p in (address.get("city"), address.get("postal_code")) if p),
            address.get("country"),
        )
        if part
    )
