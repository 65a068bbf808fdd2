"""Customer-facing input channels.

Rasa turns a message such as `/affirm` or `/inform{"order_id":"4521"}` into that
intent and those entities at full confidence, skipping NLU. On channels the
public can type into, that would let anyone answer the confirmation gate or set
slots directly. These channels are the stock ones with one change: text that
starts with "/" is prefixed with an invisible mark, so Rasa's command parser no
longer matches it and NLU reads it as ordinary words. Buttons need no "/"
payloads: the assistant's buttons carry plain words.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as _RestInput
from rasa.core.channels.socketio import SocketIOInput as _SocketIOInput

from actions.common import NEUTRALIZED_COMMAND_MARK

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# Value of a platform secret that was not set (the demo default in scripts/stack.py).
NOT_CONFIGURED = "not-configured"


def is_configured(value: Any) -> bool:
    """True for a real secret; False for None, "" and the `not-configured` placeholder."""
    return isinstance(value, str) and value.strip() not in ("", NOT_CONFIGURED)


def neutralize(text: Any) -> Any:
    """Makes text that looks like a Rasa command ordinary text."""
    if isinstance(text, str) and text.lstrip().startswith("/"):
        return NEUTRALIZED_COMMAND_MARK + text.lstrip()
    return text


def neutralizing(on_new_message: OnNewMessage) -> OnNewMessage:
    async def handler(message: UserMessage) -> Any:
        message.text = neutralize(message.text)
        return await on_new_message(message)

    return handler


class RestInput(_RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`) without command injection."""

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[override]
        return super().blueprint(neutralizing(on_new_message))


class SocketIOInput(_SocketIOInput):
    """Rasa's Socket.IO channel without command injection."""

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[override]
        return super().blueprint(neutralizing(on_new_message))
