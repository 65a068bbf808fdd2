"""Small helpers shared by the action modules."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Dict, Optional, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

T = TypeVar("T")

ORDER_ID_PATTERN = re.compile(r"^#?\s*(\d{3,12})$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")
# Rasa parses a message such as "/affirm" into that intent at full confidence.
# Customer channels prefix such text with this invisible mark so it is read as
# ordinary words (see shop_channels); the gate refuses marked confirmations.
NEUTRALIZED_COMMAND_MARK = "\u2060"


async def blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a blocking call (HTTP, database) off the action server's event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


def parse_order_id(value: Any) -> Optional[str]:
    """'#4521', ' 4521 ' → '4521'; anything else → None."""
    if value is None:
        return None
    match = ORDER_ID_PATTERN.match(str(value).strip())
    return match.group(1) if match else None


def looks_like_email(value: Any) -> bool:
    return isinstance(value, str) and bool(EMAIL_PATTERN.match(value.strip()))


def mask_email(email: str) -> str:
    """jane.doe@example.com → j***@example.com (for logs and the audit trail)."""
    local, _, domain = (email or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_conversation_id(sender_id: str) -> str:
    """Conversation ids as logs and traces show them: some channels use the email as sender id."""
    return mask_email(sender_id) if "@" in sender_id else sender_id


def text_slot(tracker: Tracker, name: str) -> Optional[str]:
    """A slot that must hold text; anything else (a forged list, a number) reads as unset."""
    value = tracker.get_slot(name)
    return value if isinstance(value, str) and value else None


def verified_orders(tracker: Tracker) -> Dict[str, str]:
    """Orders this conversation is verified for, mapped to the customer id."""
    value = tracker.get_slot("verified_orders")
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def verified_customer(tracker: Tracker, order_id: Any) -> Optional[str]:
    return verified_orders(tracker).get(order_id) if isinstance(order_id, str) else None


def mask_text(text: Any) -> str:
    """'48 Elm Street' → '4* E** S*****': keeps the shape, not the content."""
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in str(text or "").split())


def masked_address(address: Dict[str, Any]) -> Dict[str, Any]:
    """An address as the audit trail keeps it: street masked, postal code shortened."""
    postal = str(address.get("postal_code") or "")
    return {
        "name": mask_text(address.get("name")),
        "street": mask_text(address.get("street")),
        "city": address.get("city"),
        "postal_code": postal[:2] + "*" * max(len(postal) - 2, 0),
        "country": address.get("country"),
    }


def money(amount: Any, currency: str = "USD") -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


def payment_label(payment: Optional[Dict[str, Any]]) -> str:
    """{'brand': 'Visa', 'last4': '4242'} → 'Visa ending 4242'; PayPal → 'PayPal'."""
    if not payment:
        return "your original payment method"
    brand = payment.get("brand") or payment.get("method") or "card"
    last4 = payment.get("last4")
    return f"{brand} ending {last4}" if last4 else str(brand)


def item_label(item: Dict[str, Any]) -> str:
    """'Blue Denim Jacket (Size M)'."""
    size = item.get("size")
    return f"{item['name']} (Size {size})" if size else str(item["name"])


def friendly_date(value: Optional[str]) -> str:
    """'2026-11-26' or an ISO timestamp → 'Thursday, November 26'."""
    if not value:
        return "soon"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value[:10]), datetime.min.time())
        except ValueError:
            return value
    return f"{parsed:%A, %B} {parsed.day}"


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def is_neutralized_command(tracker: Tracker) -> bool:
    return latest_text(tracker).lstrip().startswith(NEUTRALIZED_COMMAND_MARK)


def say(dispatcher: CollectingDispatcher, text: str, **kwargs: Any) -> None:
    dispatcher.utter_message(text=text, **kwargs)
