"""The shop profile: the one file a shop edits to describe itself (`shops/<shop>/profile.yml`).

It holds what differs between shops and is not the commerce API's to say: how order numbers
look and are written back, currency and locale, support hours and contacts, the return reasons
offered, the countries served, and fallbacks for the policy figures the API may not publish
(the return window and refund timings are read from the API's `GET /policy` where it has one,
so the bot and the API cannot disagree). The file is validated when the action server starts;
a mistake stops it with a message naming the file and the field.

    SHOP=tau-retail           → shops/tau-retail/profile.yml
    SHOP_PROFILE=/path.yml    → that file
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Pattern, Tuple

import pycountry
import yaml
from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name
from pydantic import BaseModel, Field, ValidationError, validator

ROOT = Path(__file__).resolve().parents[2]
SHOPS_DIR = ROOT / "shops"
DEFAULT_SHOP = "demo"


class ProfileError(RuntimeError):
    """The shop profile is missing or invalid; the message says where."""


class OrderNumbers(BaseModel):
    """How customers write order numbers and how the commerce API names them."""

    #: regexes matched case-insensitively against what a customer types; each has a named
    #: group `number`, the part that identifies the order ("W2378156" in "#W2378156")
    patterns: List[str] = Field(..., min_items=1)
    #: the commerce API's order id built from `number` ("#{number}" → "#W2378156")
    api_id: str = "{number}"
    #: how the assistant writes an order number to the customer ("#{number}")
    display: str = "#{number}"
    #: an example for the "what's your order number" question
    example: str

    @validator("patterns", each_item=True)
    def _has_number_group(cls, pattern: str) -> str:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise ValueError(f"{pattern!r} is not a valid regex: {error}") from None
        if "number" not in compiled.groupindex:
            raise ValueError(f"{pattern!r} needs a named group (?P<number>...)")
        return pattern

    @validator("api_id", "display")
    def _uses_number(cls, template: str) -> str:
        if "{number}" not in template:
            raise ValueError("must contain {number}")
        return template


class ReturnReason(BaseModel):
    code: str = Field(..., regex=r"^[a-z_]{1,32}$")
    label: str
    #: words that mean this reason in a customer's message (lower case, substrings)
    keywords: List[str] = []
    #: the button's text, sent back as the customer's answer
    button: Optional[str] = None


class Support(BaseModel):
    email: str
    phone: str
    #: how the hours are said to customers ("8am–8pm Pacific time, Monday to Saturday")
    hours_text: str
    #: the same hours for deciding whether someone is there now: weekday (mon..sun) → "HH:MM-HH:MM"
    hours: Dict[str, str]
    timezone: str = "UTC"

    @validator("hours")
    def _hours_shape(cls, hours: Dict[str, str]) -> Dict[str, str]:
        for day, span in hours.items():
            if day not in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
                raise ValueError(f"unknown weekday {day!r} (use mon..sun)")
            if not re.fullmatch(r"\d{2}:\d{2}-\d{2}:\d{2}", span):
                raise ValueError(f"{day}: {span!r} is not HH:MM-HH:MM")
        return hours


class PolicyFallback(BaseModel):
    """Used only when the commerce API has no `GET /policy`."""

    return_window_days: int = Field(30, ge=0, le=3650)
    refund_days_min: int = Field(5, ge=0)
    refund_days_max: int = Field(10, ge=0)
    cancel_refund_days_min: int = Field(3, ge=0)
    cancel_refund_days_max: int = Field(5, ge=0)
    refund_methods: List[str] = ["original_payment", "store_credit"]


class ShopProfile(BaseModel):
    name: str
    locale: str = "en_US"
    currency: str = Field("USD", regex=r"^[A-Z]{3}$")
    order_numbers: OrderNumbers
    support: Support
    return_reasons: List[ReturnReason] = Field(..., min_items=1)
    #: ISO 3166 alpha-2 codes of the countries the shop delivers to
    countries: List[str] = Field(..., min_items=1)
    policy: PolicyFallback = PolicyFallback()
    #: where the shop's answers to general questions live (relative to the profile)
    faq_file: str = "faq.yml"

    @validator("locale")
    def _known_locale(cls, locale: str) -> str:
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError):
            raise ValueError(f"{locale!r} is not a locale Babel knows (e.g. en_US, en_GB, de_DE)") from None
        return locale

    @validator("currency")
    def _known_currency(cls, currency: str) -> str:
        if get_currency_name(currency, locale="en") == currency:
            raise ValueError(f"{currency!r} is not an ISO 4217 currency code")
        return currency

    @validator("countries", each_item=True)
    def _known_country(cls, code: str) -> str:
        if pycountry.countries.get(alpha_2=code.upper()) is None:
            raise ValueError(f"{code!r} is not an ISO 3166 alpha-2 country code")
        return code.upper()

    @validator("return_reasons")
    def _has_other(cls, reasons: List[ReturnReason]) -> List[ReturnReason]:
        codes = [reason.code for reason in reasons]
        if len(set(codes)) != len(codes):
            raise ValueError("return reason codes must be unique")
        if "other" not in codes:
            raise ValueError("needs a reason with code 'other' (for answers that match no reason)")
        return reasons

    # -- order numbers -------------------------------------------------------------------

    @property
    def order_patterns(self) -> Tuple[Pattern[str], ...]:
        return _compiled(tuple(self.order_numbers.patterns))

    def display_order(self, api_id: str) -> str:
        """The API's order id as the customer sees it ("4521" → "#4521", "#W2378156" → "#W2378156")."""
        number = self.number_of(api_id)
        return self.order_numbers.display.format(number=number) if number else api_id

    def number_of(self, api_id: str) -> Optional[str]:
        """The `number` part of an API order id, None if the id is not this shop's shape."""
        prefix, _, suffix = self.order_numbers.api_id.partition("{number}")
        if api_id.startswith(prefix) and api_id.endswith(suffix):
            return api_id[len(prefix):len(api_id) - len(suffix)] or None
        return None

    def api_order_id(self, number: str) -> str:
        return self.order_numbers.api_id.format(number=number)

    # -- other lookups -------------------------------------------------------------------

    def reason(self, code: Optional[str]) -> Optional[ReturnReason]:
        return next((r for r in self.return_reasons if r.code == code), None)

    def reason_label(self, code: Optional[str]) -> str:
        reason = self.reason(code)
        return reason.label if reason else str(code or "")

    def country_names(self) -> str:
        """'the US, Canada and the United Kingdom' for the countries served."""
        names = [_country_name(code) for code in self.countries]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    def placeholders(self) -> Dict[str, str]:
        """Values the shop's texts (FAQ answers) may use in braces."""
        return {
            "shop_name": self.name,
            "business_hours": self.support.hours_text,
            "support_email": self.support.email,
            "support_phone": self.support.phone,
            "return_window_days": str(self.policy.return_window_days),
            "countries": self.country_names(),
        }


# Names as customers say them; pycountry's official names are long ("United Kingdom of Great Britain...").
SHORT_COUNTRY_NAMES = {"US": "the US", "GB": "the UK", "NL": "the Netherlands", "KR": "South Korea"}


def _country_name(code: str) -> str:
    if code in SHORT_COUNTRY_NAMES:
        return SHORT_COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or country.name


@lru_cache(maxsize=None)
def _compiled(patterns: Tuple[str, ...]) -> Tuple[Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


def profile_path(environ: Optional[Dict[str, str]] = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("SHOP_PROFILE"):
        return Path(env["SHOP_PROFILE"])
    shop = env.get("SHOP") or DEFAULT_SHOP
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", shop):
        raise ProfileError(f"SHOP={shop!r} is not a shop name (lower-case letters, digits, - and _)")
    return SHOPS_DIR / shop / "profile.yml"


def load_profile(path: Path) -> ShopProfile:
    """Reads and validates a profile; ProfileError names the file and every bad field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"shop profile {path} does not exist (set SHOP or SHOP_PROFILE)") from None
    except yaml.YAMLError as error:
        raise ProfileError(f"shop profile {path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ProfileError(f"shop profile {path} must be a mapping of settings")
    try:
        return ShopProfile(**raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        raise ProfileError(f"shop profile {path} is invalid: {problems}") from None


@lru_cache(maxsize=1)
def get_profile() -> ShopProfile:
    """The configured shop's profile (read on first use, not at import)."""
    return load_profile(profile_path())
