"""Customer-facing input channels.

Rasa turns a message such as `/affirm` or `/inform{"order_id":"4521"}` into that
intent and those entities at full confidence, skipping NLU. On channels the
public can type into, that would let anyone answer the confirmation gate or set
slots directly. These channels are the stock ones with these changes: text that
starts with "/" is prefixed with an invisible mark, so Rasa's command parser no
longer matches it and NLU reads it as ordinary words (buttons carry plain words);
a conversation belongs to the client that opened it (signed web chat sessions,
the shop backend's credential on REST) and a login token is verified and never
stored (`shop_channels.identity`); and what the customer is owed from earlier
(`actions.notices`) is said before the bot answers.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as _RestInput
from rasa.core.channels.socketio import SocketIOInput as _SocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from sanic import response
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from actions.common import NEUTRALIZED_COMMAND_MARK, blocking, mask_conversation_id
from actions.notices import take_notices
from shop_channels.identity import (
    conversation_id,
    customer_metadata,
    issue_session_id,
    rest_token_ok,
    session_id_if_signed,
    session_of,
)
from shop_server.patches import close_sessions

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
logger = logging.getLogger(__name__)

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


# Longer messages are answered without being processed: nothing a customer needs
# to say takes this much, and NLU time grows with the length of the text.
MAX_MESSAGE_CHARS = 2000
# Control characters and bidirectional overrides (which can make text display
# differently from what it says); newlines and tabs are kept.
UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
# Sent when a turn could not run at all (e.g. the conversation store is unreachable).
PROCESSING_FAILED_REPLY = (
    "Sorry, I couldn't handle that message just now because of a problem on our side. "
    "Please send it again in a moment."
)
EMPTY_MESSAGE_REPLY = "I didn't get any text there — what can I help you with?"
TOO_LONG_REPLY = (
    f"That message is too long for me (over {MAX_MESSAGE_CHARS:,} characters). "
    "Could you send a shorter one?"
)


def clean(text: Any) -> str:
    """The text without unsafe characters; non-text (e.g. JSON null or a number) becomes text."""
    if text is None:
        return ""
    return UNSAFE_CHARACTERS.sub("", text if isinstance(text, str) else str(text))


def neutralizing(on_new_message: OnNewMessage) -> OnNewMessage:
    """Wraps a channel's message handler with the checks every customer channel needs."""

    async def handler(message: UserMessage) -> Any:
        text = clean(message.text)
        if not text.strip() or len(text) > MAX_MESSAGE_CHARS:
            reply = EMPTY_MESSAGE_REPLY if not text.strip() else TOO_LONG_REPLY
            await message.output_channel.send_text_message(message.sender_id, reply)
            return None
        message.text = neutralize(text)
        try:
            await tell_what_is_owed(message)
            return await on_new_message(message)
        except Exception:  # noqa: BLE001 - whatever failed, the customer hears it and can resend
            # e.g. the lock or tracker store is unreachable: the turn stopped before any action ran
            logger.exception("Could not process a message of conversation %s", mask_conversation_id(message.sender_id))
            await message.output_channel.send_text_message(message.sender_id, PROCESSING_FAILED_REPLY)
            return None

    return handler


async def tell_what_is_owed(message: UserMessage) -> None:
    """Says, before anything else, the outcomes the customer has not heard yet (actions.notices)."""
    try:
        notices = await blocking(take_notices, message.sender_id)
    except Exception:  # noqa: BLE001 - the ledger being down must not stop the conversation
        logger.exception("Could not read the notices of conversation %s", mask_conversation_id(message.sender_id))
        return
    for notice in notices:
        await message.output_channel.send_text_message(message.sender_id, notice)


# The SQL tracker store's sender_id column holds 255 characters; a login adds 13 (shop_channels.identity).
MAX_SENDER_CHARS = 200
UNAUTHORIZED_REST = (
    "The REST channel is for the shop's own backend: send its credential as "
    "'Authorization: Bearer <REST_CHANNEL_TOKEN>' (the demo default is in .env.example). "
    "Customers chat through the web chat."
)


def json_object(request: Request) -> Dict[str, Any]:
    """The request body as a JSON object, or a 400 (Sanic answers malformed JSON with 400 itself)."""
    body = request.json
    if not isinstance(body, dict):
        raise InvalidUsage("The body must be a JSON object with 'sender' and 'message'.")
    return body


class RestInput(_RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`) for the shop's own backend, without command injection.

    Every request needs the backend's credential (`Authorization: Bearer <REST_CHANNEL_TOKEN>`,
    or `?token=` as `rasa shell` sends it): whoever holds a conversation's id must not be able to
    speak in it. Requests are checked before Rasa sees them: a JSON object, a string sender of at
    most 200 characters, object metadata; the input channel is always "rest". The backend may
    name its end user in `metadata.client_id`, which the per-client verification limit follows.
    """

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[override]
        webhook = super().blueprint(neutralizing(on_new_message))
        # every Rasa server serves this channel: the place to close the kept action-server connections
        # (shop_server.patches; nothing to close where the patches are not installed)
        webhook.after_server_stop(lambda app, loop: close_sessions())

        @webhook.middleware("request")
        async def require_backend_credential(request: Request):
            if request.method == "POST" and request.path.endswith("/webhook"):
                header = request.headers.get("Authorization", "")
                given = header[len("Bearer "):] if header.startswith("Bearer ") else request.args.get("token")
                if not rest_token_ok(given):
                    return response.json({"error": "unauthorized", "message": UNAUTHORIZED_REST}, status=401)
            return None

        return webhook

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        sender = json_object(req).get("sender")
        if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARS:
            raise InvalidUsage(f"'sender' must be a string of 1 to {MAX_SENDER_CHARS} characters.")
        return conversation_id(sender, self.get_metadata(req) or {})

    def _extract_message(self, req: Request) -> Optional[Text]:
        return json_object(req).get("message")

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        if "shop_metadata" not in request.ctx.__dict__:
            raw = json_object(request).get("metadata")
            named = raw.get("client_id") if isinstance(raw, dict) else None
            client = named if isinstance(named, str) and named else (request.remote_addr or request.ip)
            request.ctx.shop_metadata = customer_metadata(raw, client=f"rest:{client}")
        return request.ctx.shop_metadata


class SocketIOInput(_SocketIOInput):
    """Rasa's Socket.IO channel without command injection, with working, signed session persistence.

    Rasa 3.6 calls `sio.enter_room()` without `await`; with python-socketio 5.10+ (the lock
    has 5.18) that is a coroutine, so the socket never joins its session's room and, with
    `session_persistence: true`, no reply ever reaches the browser. `session_request` is
    re-registered here to await it. A session id is issued by the server and signed; a client
    resumes one only by presenting it back intact, so it can never pick another's. A socket only
    speaks in the session bound to it, and a login (verified here, never stored) gives the
    session a conversation of its own.
    """

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[override]
        handle = neutralizing(on_new_message)
        webhook = super().blueprint(handle)
        sio = self.sio

        async def session_request(sid: str, data: Optional[Dict[str, Any]]) -> None:
            requested = (data or {}).get("session_id") if isinstance(data, dict) else None
            session_id = session_id_if_signed(requested) or issue_session_id()
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.save_session(sid, {"session_id": session_id}, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        async def user_uttered(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                return
            session_id = (await sio.get_session(sid, namespace=self.namespace)).get("session_id")
            if not session_id:
                logger.warning("Ignored a Socket.IO message sent before `session_request`.")
                return
            raw = data.get(self.metadata_key) or {}
            if isinstance(raw, str):  # some widgets send it JSON-encoded
                try:
                    raw = json.loads(raw)
                except ValueError:
                    raw = {}
            environ = sio.get_environ(sid, namespace=self.namespace) or {}
            metadata = customer_metadata(raw, client=f"web:{environ.get('REMOTE_ADDR', 'unknown')}")
            output = SessionRoomOutput(sio, self.bot_message_evt)
            await handle(UserMessage(str(data.get("message") or ""), output, conversation_id(session_id, metadata),
                                     input_channel=self.name(), metadata=metadata))

        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, user_uttered, namespace=self.namespace)
        return webhook

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        """How the agent inbox reaches a conversation's session room (shop_channels.inbox)."""
        return SessionRoomOutput(self.sio, self.bot_message_evt, self.namespace) if self.sio else None


class SessionRoomOutput(SocketIOOutput):
    """Sends a conversation's replies to its session's room (a logged-in conversation shares the room)."""

    def __init__(self, sio: Any, bot_message_evt: Text, namespace: Optional[Text] = None) -> None:
        super().__init__(sio, bot_message_evt)
        self.namespace = namespace or "/"

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        await super()._send_message(session_of(socket_id), response)

    async def send_from_person(self, conversation: Text, text: Text, agent: Optional[Text]) -> bool:
        """A message from the support team (`agent` names them), if the session is connected here."""
        room = session_of(conversation)
        if not any(True for _ in self.sio.manager.get_participants(self.namespace, room)):
            return False  # closed tab, or connected to another replica: the caller leaves a notice
        await self.sio.emit(self.bot_message_evt, {"text": text, "agent": agent} if agent else {"text": text},
                            room=room, namespace=self.namespace)
        return True
