"""Slack: Rasa's Slack connector, hardened for a support team's workspace.

Differences from `rasa.core.channels.slack.SlackInput`:

* typed "/intent" text is neutralized like on every customer channel;
* requests that are not signed with the signing secret, or whose
  `X-Slack-Request-Timestamp` is more than five minutes off, are refused with
  401 before anything is parsed (stock Rasa answers 400);
* with no bot token or signing secret configured (the `make run` default,
  `not-configured`) the channel refuses every request with 403 instead of failing
  to start or, worse, accepting requests signed with a known demo value;
* a redelivered event (same `event_id`) or button click is processed once;
* `url_verification` is answered with `{"challenge": ...}` as Slack documents;
* buttons are Block Kit buttons with plain-words values, in as many `actions`
  blocks as needed (stock Rasa silently drops every button when there are more than 5);
* the Web API base URL comes from `SLACK_API_URL` (tests point it at a local stand-in).
"""

from __future__ import annotations

import json
import logging
import os
from http import HTTPStatus
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import OutputChannel
from rasa.core.channels.slack import SlackBot as _SlackBot
from rasa.core.channels.slack import SlackInput as _SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from slack_sdk.web.async_client import AsyncWebClient

from shop_channels import OnNewMessage, is_configured, neutralizing
from shop_channels.dedup import SeenIds

logger = logging.getLogger(__name__)

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
BUTTONS_PER_BLOCK = 5  # Slack allows 25; rows of 5 stay readable
SECTION_TEXT_LIMIT = 3000  # Block Kit's limit for a section's text


def slack_api_url() -> str:
    return os.environ.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL


class SlackBot(_SlackBot):
    """Posts replies through the Web API at `base_url` (chat.postMessage)."""

    def __init__(self, token: Text, slack_channel: Optional[Text] = None, thread_id: Optional[Text] = None,
                 proxy: Optional[Text] = None, base_url: Optional[str] = None) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, proxy=proxy, base_url=base_url or slack_api_url(), timeout=10)

    async def _post_message(self, channel: Text, **kwargs: Any) -> None:
        # `as_user` is a classic-app parameter; bot tokens of current Slack apps post as the bot.
        kwargs.pop("as_user", None)
        await super()._post_message(channel, **kwargs)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        recipient = self.slack_channel or recipient_id
        blocks: List[Dict[str, Any]] = [
            {"type": "section", "text": {"type": "plain_text", "text": text[:SECTION_TEXT_LIMIT]}}
        ]
        for start in range(0, len(buttons), BUTTONS_PER_BLOCK):
            blocks.append({
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"choice-{index}",
                        "text": {"type": "plain_text", "text": button["title"][:75]},
                        "value": button["payload"],
                    }
                    for index, button in enumerate(buttons[start:start + BUTTONS_PER_BLOCK], start)
                ],
            })
        await self._post_message(channel=recipient, text=text, blocks=blocks)


class SlackInput(_SlackInput):
    """Events API (`/webhooks/slack/webhook`) and interactivity (button clicks) for one Slack app."""

    @classmethod
    def name(cls) -> Text:
        return "slack"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.seen = SeenIds()
        super().__init__(*args, **kwargs)
        self.api_base_url = slack_api_url()

    @property
    def enabled(self) -> bool:
        return is_configured(self.slack_token) and is_configured(self.slack_signing_secret)

    def _validate_credentials(self) -> None:
        if not self.enabled:
            logger.warning(
                "Slack is not configured (SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET); "
                "/webhooks/slack/webhook refuses every request."
            )

    def get_output_channel(self, channel: Optional[Text] = None, thread_id: Optional[Text] = None) -> OutputChannel:
        return SlackBot(self.slack_token, channel or self.slack_channel, thread_id, self.proxy, self.api_base_url)

    def output_channel_for(self, metadata: Dict[Text, Any]) -> OutputChannel:
        """Where a message from outside a turn (the agent inbox) goes: the DM or thread the person last wrote in."""
        return self.get_output_channel(metadata.get("out_channel"), metadata.get("thread_id"))

    @staticmethod
    def delivery_id(request: Request) -> Optional[str]:
        """The id Slack repeats when it redelivers: `event_id`, or the button click's `action_ts`."""
        content_type = request.headers.get("content-type", "")
        try:
            if content_type.startswith("application/json"):
                event_id = (request.json or {}).get("event_id")
                return f"event:{event_id}" if event_id else None
            if content_type.startswith("application/x-www-form-urlencoded"):
                payload = json.loads(request.form["payload"][0])
                action = (payload.get("actions") or [{}])[0]
                user = (payload.get("user") or {}).get("id")
                if action.get("action_ts"):
                    return f"action:{user}:{action['action_ts']}"
                return f"trigger:{payload['trigger_id']}" if payload.get("trigger_id") else None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:  # type: ignore[override]
        slack_webhook = super().blueprint(neutralizing(on_new_message))

        @slack_webhook.middleware("request")
        async def guard(request: Request) -> Optional[response.HTTPResponse]:
            if not request.path.rstrip("/").endswith("/webhook"):
                return None
            if not self.enabled:
                return response.text("Slack is not configured on this server.", status=HTTPStatus.FORBIDDEN)
            if not self.is_request_from_slack_authentic(request):
                logger.warning("Refused a Slack request with a missing, forged or stale signature.")
                return response.text("Invalid or stale X-Slack-Signature.", status=HTTPStatus.UNAUTHORIZED)
            if request.headers.get("content-type", "").startswith("application/json"):
                body = request.json or {}
                if body.get("type") == "url_verification":
                    return response.json({"challenge": body.get("challenge")})
            if not self.seen.first_time(self.delivery_id(request)):
                logger.info("Ignored a redelivered Slack event %s.", self.delivery_id(request))
                return response.text("already processed", headers={"X-Slack-No-Retry": "1"})
            return None

        return slack_webhook
