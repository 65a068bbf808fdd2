"""Small helpers every layer uses: running blocking calls, reading slots, masking personal data."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
from typing import Any, Callable, Dict, Optional, TypeVar

from rasa_sdk import Tracker

T = TypeVar("T")

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")
# Rasa parses a message such as "/affirm" into that intent at full confidence.
# Customer channels prefix such text with this invisible mark so it is read as
# ordinary words (see shop_channels); the gate refuses marked confirmations.
NEUTRALIZED_COMMAND_MARK = "\u2060"
# Keys the hash that stands for a conversation id in logs and spans (set it per deployment).
DEFAULT_LOG_KEY = "shop-support-assistant"


async def blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a blocking call (HTTP, database) off the action server's event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


def looks_like_email(value: Any) -> bool:
    return isinstance(value, str) and bool(EMAIL_PATTERN.match(value.strip()))


def mask_email(email: str) -> str:
    """jane.doe@example.com → j***@example.com (for logs and the audit trail)."""
    local, _, domain = (email or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_conversation_id(sender_id: str) -> str:
    """A conversation id as logs and traces show it: a keyed hash, never the id.

    Whoever holds a conversation's id could speak in it, so the id is a secret; the hash still
    lets an operator follow one conversation through the logs of every service.
    """
    key = os.environ.get("CONVERSATION_LOG_KEY", DEFAULT_LOG_KEY).encode()
    return "conv-" + hmac.new(key, str(sender_id).encode(), hashlib.sha256).hexdigest()[:16]


def text_slot(tracker: Tracker, name: str) -> Optional[str]:
    """A slot that must hold text; anything else (a forged list, a number) reads as unset."""
    value = tracker.get_slot(name)
    return value if isinstance(value, str) and value else None


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
        "state": address.get("state"),
        "postal_code": postal[:2] + "*" * max(len(postal) - 2, 0),
        "country": address.get("country"),
    }


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def is_neutralized_command(tracker: Tracker) -> bool:
    return latest_text(tracker).lstrip().startswith(NEUTRALIZED_COMMAND_MARK)
