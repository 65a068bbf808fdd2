"""Facebook Messenger: Rasa's connector, hardened for a shop's Page.

Differences from `rasa.core.channels.facebook.FacebookInput`:

* typed "/intent" text is neutralized like on every customer channel;
* every POST must carry `X-Hub-Signature-256` (HMAC-SHA256 of the body with the
  app secret); a missing or forged one is refused with 403 before anything is
  parsed (stock Rasa checks the SHA-1 header and answers 200 "not validated");
* the subscription handshake (GET) answers 403 to a wrong verify token;
* with no app secret, verify token or page token configured (the `make run`
  default, `not-configured`) every request is refused with 403;
* every `messaging` item of a delivery is handled (stock Rasa stops at the first),
  and a redelivered message (same `mid`) is processed once;
* buttons are sent as quick replies (up to 13, titles shortened to Messenger's
  20 characters; tapping one sends its plain-words payload), not as a button
  template that only takes 3;
* Graph API calls run off the event loop, with a timeout, against
  `MESSENGER_GRAPH_URL` (tests point it at a local stand-in).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from http import HTTPStatus
from typing import Any, Dict, List, Optional, Text

from fbmessenger import DEFAULT_API_VERSION, MessengerClient
from fbmessenger.sender_actions import SenderAction
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput as _FacebookInput
from rasa.core.channels.facebook import Messenger as _Messenger
from rasa.core.channels.facebook import MessengerBot as _MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from shop_channels import OnNewMessage, is_configured, neutralizing
from shop_channels.dedup import SeenIds

logger = logging.getLogger(__name__)

DEFAULT_GRAPH_URL = f"https://graph.facebook.com/v{DEFAULT_API_VERSION}"
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_LIMIT = 20
TEXT_LIMIT = 2000
GRAPH_TIMEOUT_SECONDS = 10


def graph_url() -> str:
    return (os.environ.get("MESSENGER_GRAPH_URL") or DEFAULT_GRAPH_URL).rstrip("/")


def short_title(title: str) -> str:
    return title if len(title) <= QUICK_REPLY_TITLE_LIMIT else title[: QUICK_REPLY_TITLE_LIMIT - 1] + "…"


class GraphClient(MessengerClient):
    """fbmessenger's client against `graph_url`, with a timeout and logged API errors."""

    def __init__(self, page_access_token: str, base_url: Optional[str] = None,
                 app_secret: Optional[str] = None) -> None:
        super().__init__(page_access_token, app_secret=app_secret)
        self.graph_url = (base_url or graph_url()).rstrip("/")

    @staticmethod
    def _checked(result: Any) -> Any:
        if isinstance(result, dict) and result.get("error"):
            logger.error("Messenger Send API refused a message: %s", result["error"])
        return result

    def send(self, payload: Any, recipient_id: Any, messaging_type: str = "RESPONSE",  # type: ignore[override]
             notification_type: str = "REGULAR", timeout: Optional[float] = None, tag: Optional[str] = None) -> Any:
        return self._checked(super().send(payload, recipient_id, messaging_type, notification_type,
                                          timeout or GRAPH_TIMEOUT_SECONDS, tag))

    def send_action(self, sender_action: Any, recipient_id: Any, timeout: Optional[float] = None) -> Any:
        return self._checked(super().send_action(sender_action, recipient_id, timeout or GRAPH_TIMEOUT_SECONDS))


class MessengerBot(_MessengerBot):
    """Sends replies through the Send API; buttons become quick replies."""

    async def _deliver(self, recipient_id: Text, message: Dict[str, Any]) -> None:
        await asyncio.to_thread(self.messenger_client.send, message, recipient_id, "RESPONSE")

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            await self._deliver(recipient_id, {"text": part[:TEXT_LIMIT]})

    async def send_action(self, recipient_id: Text, sender_action: Text) -> None:
        await asyncio.to_thread(self.messenger_client.send_action, SenderAction(sender_action).to_dict(), recipient_id)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        if len(buttons) > MAX_QUICK_REPLIES:
            logger.warning("Messenger shows at most %d quick replies; %d were dropped.",
                           MAX_QUICK_REPLIES, len(buttons) - MAX_QUICK_REPLIES)
        quick_replies = [
            {"content_type": "text", "title": short_title(button["title"]), "payload": button["payload"]}
            for button in buttons[:MAX_QUICK_REPLIES]
        ]
        await self._deliver(recipient_id, {"text": text.strip()[:TEXT_LIMIT], "quick_replies": quick_replies})

    async def send_quick_replies(self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]],
                                 **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)


class Messenger(_Messenger):
    """Handles one webhook delivery: every messaging item, each `mid` once."""

    def __init__(self, client: GraphClient, on_new_message: OnNewMessage, seen: SeenIds) -> None:
        self.client = client
        self.on_new_message = on_new_message
        self.seen = seen
        self.last_message: Dict[Text, Any] = {}

    async def handle(self, payload: Dict, metadata: Optional[Dict[Text, Any]]) -> None:
        for entry in payload.get("entry") or []:
            for item in entry.get("messaging") or []:
                event = item.get("message") or item.get("postback") or {}
                mid = event.get("mid")
                if not self.seen.first_time(f"mid:{mid}" if mid else None):
                    logger.info("Ignored a redelivered Messenger message %s.", mid)
                    continue
                self.last_message = item
                if item.get("message"):
                    await self.message(item, metadata)
                elif item.get("postback"):
                    await self.postback(item, metadata)

    async def _handle_user_message(self, text: Text, sender_id: Text, metadata: Optional[Dict[Text, Any]]) -> None:
        out_channel = MessengerBot(self.client)
        await out_channel.send_action(sender_id, sender_action="mark_seen")
        await out_channel.send_action(sender_id, sender_action="typing_on")
        user_msg = UserMessage(text, out_channel, sender_id, input_channel=self.name(), metadata=metadata)
        try:
            await self.on_new_message(user_msg)
        except Exception:
            logger.exception("Exception when handling a Messenger message.")
        finally:
            await out_channel.send_action(sender_id, sender_action="typing_off")


class FacebookInput(_FacebookInput):
    """Messenger webhook at `/webhooks/facebook/webhook` for one Page."""

    def __init__(self, fb_verify: Text, fb_secret: Text, fb_access_token: Text) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self.graph_url = graph_url()
        self.seen = SeenIds()
        if not self.enabled:
            logger.warning(
                "Messenger is not configured (MESSENGER_VERIFY_TOKEN / MESSENGER_APP_SECRET / "
                "MESSENGER_PAGE_ACCESS_TOKEN); /webhooks/facebook/webhook refuses every request."
            )

    @property
    def enabled(self) -> bool:
        return all(is_configured(v) for v in (self.fb_verify, self.fb_secret, self.fb_access_token))

    def client(self) -> GraphClient:
        return GraphClient(self.fb_access_token, self.graph_url, app_secret=self.fb_secret)

    def get_output_channel(self) -> OutputChannel:
        return MessengerBot(self.client())

    @staticmethod
    def valid_sha256_signature(app_secret: str, body: bytes, header: str) -> bool:
        """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`."""
        scheme, _, signature = (header or "").partition("=")
        if scheme != "sha256" or not signature:
            return False
        expected = hmac.new(app_secret.encode("utf-8"), body or b"", hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.strip().lower())

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:  # type: ignore[override]
        fb_webhook = Blueprint("messenger_webhook", __name__)
        handle = neutralizing(on_new_message)

        @fb_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @fb_webhook.route("/webhook", methods=["GET"])
        async def token_verification(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            if (self.enabled and request.args.get("hub.mode") == "subscribe"
                    and hmac.compare_digest(token.encode(), self.fb_verify.encode())):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("Refused a Messenger subscription request with a wrong verify token.")
            return response.text("invalid verify token", status=HTTPStatus.FORBIDDEN)

        @fb_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.enabled:
                return response.text("Messenger is not configured on this server.", status=HTTPStatus.FORBIDDEN)
            signature = request.headers.get("X-Hub-Signature-256", "")
            if not self.valid_sha256_signature(self.fb_secret, request.body, signature):
                logger.warning("Refused a Messenger request with a missing or forged X-Hub-Signature-256.")
                return response.text("invalid X-Hub-Signature-256", status=HTTPStatus.FORBIDDEN)
            try:
                payload = request.json
            except Exception:
                payload = None
            if not isinstance(payload, dict) or payload.get("object") != "page":
                return response.text("not a page event", status=HTTPStatus.BAD_REQUEST)
            messenger = Messenger(self.client(), handle, self.seen)
            await messenger.handle(payload, self.get_metadata(request))
            return response.text("EVENT_RECEIVED")

        return fb_webhook
