"""Money and dates in the shop's currency and locale (Babel), for every message the bot writes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Optional

from babel.dates import format_date
from babel.numbers import format_currency

from actions.shop.profile import get_profile


def money(amount: Any, currency: Optional[str] = None) -> str:
    """'89' → '$89.00' in the shop's locale; anything that is not a number is returned as it is."""
    profile = get_profile()
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    return format_currency(value, currency or profile.currency, locale=profile.locale)


def cents(amount: Any) -> int:
    """'89.50' → 8950 (anything that is not a number → 0): sums of money without float drift."""
    try:
        return int((Decimal(str(amount or 0)) * 100).quantize(Decimal(1)))
    except (InvalidOperation, ValueError):
        return 0


def parse_day(value: Optional[str]) -> Optional[date]:
    """An ISO date or timestamp ('2026-11-26', '2026-11-26T10:00:00Z') → its calendar day."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return None


def friendly_date(value: Optional[str]) -> str:
    """'2026-11-26' → 'Thursday, November 26' in the shop's locale."""
    day = parse_day(value)
    if day is None:
        return str(value) if value else "soon"
    return format_date(day, format="EEEE, MMMM d", locale=get_profile().locale)


def short_date(value: Optional[str]) -> str:
    """'2026-11-26' → 'Nov 26' (order lists)."""
    day = parse_day(value)
    return format_date(day, format="MMM d", locale=get_profile().locale) if day else ""


def card_digits(payment_method_id: Any) -> str:
    """The digits that tell a customer's cards apart ('gift_card_1725971' → '1725971')."""
    return "".join(ch for ch in str(payment_method_id or "") if ch.isdigit())


def payment_label(payment: Optional[Dict[str, Any]]) -> str:
    """{'brand': 'Visa', 'last4': '4242'} → 'Visa ending 4242'; PayPal → 'PayPal';
    a gift card → 'your gift card 7245904'."""
    if not payment:
        return "your original payment method"
    if payment.get("method") == "gift_card":
        digits = card_digits(payment.get("payment_method_id"))
        return f"your gift card {digits}" if digits else "your gift card"
    brand = str(payment.get("brand") or payment.get("method") or "card")
    brand = brand if not brand.islower() else brand.title().replace("Paypal", "PayPal")
    last4 = payment.get("last4")
    return f"{brand} ending {last4}" if last4 else brand


def item_label(item: Dict[str, Any]) -> str:
    """'Blue Denim Jacket (Size M)', or 'Water Bottle (1000ml, glass, blue)' from its options."""
    options = item.get("options") or {}
    if isinstance(options, dict) and options:
        described = [str(v) for k, v in options.items() if k != "size"]
        size = options.get("size") or item.get("size")
        parts = ([f"Size {size}"] if size else []) + described
        return f"{item['name']} ({', '.join(parts)})"
    size = item.get("size")
    return f"{item['name']} (Size {size})" if size else str(item["name"])
