"""The agent inbox: where a person from the support team picks up a handed-over conversation.

Served by the Rasa server itself as a channel (`shop_channels.inbox.AgentInbox` in credentials.yml,
at /webhooks/inbox/), because what it needs is Rasa's: the conversation's tracker (its transcript
and who the customer is), the lock that serialises a conversation's turns, and the customer's own
input channel to reply through. Staff log in (shop_channels.staff); then:

    GET  /webhooks/inbox/                          the page (inbox_page/)
    GET  /webhooks/inbox/api/conversations         conversations waiting for a person, oldest first
    GET  /webhooks/inbox/api/conversation?id=…     transcript, verified customer and their orders,
                                                   the ledger's rows and handoff requests
    POST /webhooks/inbox/api/reply                 {conversation_id, text}: said to the customer
    POST /webhooks/inbox/api/hand-back             {conversation_id}: the bot answers again

A handoff pauses the conversation (actions/capabilities/handoff.py): Rasa records what the customer
writes and answers nothing. A reply is written into the tracker as a bot message marked with the
agent's name, then delivered through the channel the customer last wrote on: pushed to the web
chat's session room, posted to Slack or Messenger, and for REST (which only answers requests) or
a web chat that is not connected to this server, left as a notice (actions.notices) that the
customer's next message is answered with first. Handing back resumes the conversation
(`ConversationResumed`) and closes its handoff requests.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOOutput
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    SessionStarted,
    UserUttered,
)
from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy import select

from actions import ledger
from actions.api.commerce import get_commerce_client
from actions.api.errors import CommerceError
from actions.common import NEUTRALIZED_COMMAND_MARK, blocking, mask_conversation_id
from actions.handoffs import close_handoffs, conversation_handoffs, waiting_handoffs
from actions.notices import leave_notice
from shop_channels.staff import COOKIE, SESSION_SECONDS, LoginThrottle, check_login, issue_session, staff_of_session

logger = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "inbox_page"
FILES = {
    "index.html": "text/html; charset=utf-8",
    "inbox.js": "text/javascript; charset=utf-8",
    "inbox.css": "text/css; charset=utf-8",
}
# Every state-changing request carries this header: a form or image on another site cannot set it.
CSRF_HEADER = "X-Inbox-Request"
MAX_REPLY_CHARS = 2000
LISTED = 50
BACK_WITH_THE_BOT = "You're back with the assistant. What else can I help you with?"
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'"}

Handler = Callable[..., Awaitable[Any]]


def _json(body: Any, status: int = 200) -> Any:
    return response.json(body, status=status, headers=HEADERS)


def _error(status: int, code: str, message: str) -> Any:
    return _json({"error": code, "message": message}, status)


def _time(timestamp: Optional[float]) -> Optional[float]:
    return round(timestamp, 3) if timestamp is not None else None


def _customer_text(text: Optional[str]) -> str:
    return (text or "").replace(NEUTRALIZED_COMMAND_MARK, "")


def transcript(tracker: Any) -> List[Dict[str, Any]]:
    """The conversation as the agent reads it: who said what, and when the bot was paused."""
    rows: List[Dict[str, Any]] = []
    for event in tracker.events:
        if isinstance(event, UserUttered):
            rows.append({"who": "customer", "text": _customer_text(event.text), "time": _time(event.timestamp),
                         "intent": (event.intent or {}).get("name")})
        elif isinstance(event, BotUttered):
            agent = (event.metadata or {}).get("agent")
            buttons = [b.get("title") for b in (event.data or {}).get("buttons") or []]
            rows.append({"who": "agent" if agent else "bot", "agent": agent, "text": event.text or "",
                         "buttons": buttons, "time": _time(event.timestamp)})
        elif isinstance(event, ConversationPaused):
            rows.append({"who": "system", "text": "Handed over: the bot is paused", "time": _time(event.timestamp)})
        elif isinstance(event, ConversationResumed):
            rows.append({"who": "system", "text": "Handed back to the bot", "time": _time(event.timestamp)})
        elif isinstance(event, SessionStarted):
            rows.append({"who": "system", "text": "New session", "time": _time(event.timestamp)})
    return rows


def ledger_rows(conversation_id: str) -> List[Dict[str, Any]]:
    """What the assistant staged or did in this conversation (the gate's rows), oldest first."""
    with ledger.get_sessionmaker()() as session:
        rows = session.scalars(
            select(ledger.StagedAction).where(ledger.StagedAction.conversation_id == conversation_id)
            .order_by(ledger.StagedAction.created_at)
        ).all()
    return [{"id": row.id, "action": row.action_name, "order_id": row.order_id, "status": row.status,
             "summary": row.summary, "created_at": row.created_at.isoformat() + "Z"} for row in rows]


def customer_and_orders(customer_id: Optional[str]) -> Dict[str, Any]:
    """The verified customer and their recent orders, from the commerce API (its errors said, not raised)."""
    if not customer_id:
        return {"customer": None, "orders": []}
    client = get_commerce_client()
    try:
        customer = client.get_customer(customer_id)
        orders = client.customer_orders(customer_id, limit=10)
    except CommerceError as error:
        return {"customer": {"id": customer_id}, "orders": [], "error": f"commerce API: {error}"}
    return {"customer": customer, "orders": orders}


def _handoff_json(handoff: Any) -> Dict[str, Any]:
    return {"reference": handoff.reference, "conversation_id": handoff.conversation_id, "reason": handoff.reason,
            "order_id": handoff.order_id, "customer_id": handoff.customer_id,
            "created_at": handoff.created_at.isoformat() + "Z",
            "closed_at": handoff.closed_at.isoformat() + "Z" if handoff.closed_at else None,
            "closed_by": handoff.closed_by}


class AgentInbox(InputChannel):
    """The agent inbox's page and API, served by every Rasa replica (state lives in the stores)."""

    def __init__(self) -> None:
        self.throttle = LoginThrottle()

    @classmethod
    def name(cls) -> Text:
        return "inbox"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "AgentInbox":
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        inbox = Blueprint("agent_inbox", __name__)

        def staff_only(handler: Handler) -> Handler:
            async def checked(request: Request, *args: Any, **kwargs: Any) -> Any:
                staff = staff_of_session(request.cookies.get(COOKIE))
                if staff is None:
                    return _error(401, "login_required", "Log in to the agent inbox.")
                if request.method == "POST" and request.headers.get(CSRF_HEADER) != "1":
                    return _error(403, "missing_header", f"State-changing requests need the {CSRF_HEADER} header.")
                return await handler(request, staff, *args, **kwargs)

            checked.__name__ = handler.__name__
            return checked

        @inbox.route("/", methods=["GET"])
        async def page(request: Request) -> Any:
            return await self._file("index.html")

        @inbox.route("/inbox.js", methods=["GET"])
        async def script(request: Request) -> Any:
            return await self._file("inbox.js")

        @inbox.route("/inbox.css", methods=["GET"])
        async def style(request: Request) -> Any:
            return await self._file("inbox.css")

        @inbox.route("/login", methods=["POST"])
        async def login(request: Request) -> Any:
            body = request.json if isinstance(request.json, dict) else {}
            name, password = body.get("name"), body.get("password")
            if request.headers.get(CSRF_HEADER) != "1":
                return _error(403, "missing_header", f"Log in from the inbox page (the {CSRF_HEADER} header).")
            if not isinstance(name, str) or not isinstance(password, str) or len(password) > 1024:
                return _error(400, "bad_request", "Send a JSON object with 'name' and 'password'.")
            if not self.throttle.allowed(name):
                return _error(429, "too_many_attempts", "Too many wrong passwords: try again in a few minutes.")
            if not await blocking(check_login, name, password):
                self.throttle.failed(name)
                return _error(401, "wrong_login", "That name and password do not match a staff account.")
            reply = _json({"staff": name})
            reply.cookies[COOKIE] = issue_session(name)
            cookie = reply.cookies[COOKIE]
            cookie["httponly"] = True
            cookie["samesite"] = "Strict"
            cookie["path"] = "/webhooks/inbox"
            cookie["max-age"] = SESSION_SECONDS
            cookie["secure"] = request.scheme == "https"
            return reply

        @inbox.route("/logout", methods=["POST"])
        async def logout(request: Request) -> Any:
            reply = _json({"staff": None})
            reply.cookies[COOKIE] = ""
            reply.cookies[COOKIE]["path"] = "/webhooks/inbox"
            reply.cookies[COOKIE]["max-age"] = 0
            return reply

        @inbox.route("/api/me", methods=["GET"])
        @staff_only
        async def me(request: Request, staff: str) -> Any:
            return _json({"staff": staff})

        @inbox.route("/api/conversations", methods=["GET"])
        @staff_only
        async def conversations(request: Request, staff: str) -> Any:
            waiting = await blocking(waiting_handoffs, LISTED)
            store = request.app.ctx.agent.tracker_store
            listed = []
            for handoff in waiting:
                tracker = await store.retrieve(handoff.conversation_id)
                said = [row for row in transcript(tracker) if row["who"] == "customer"] if tracker else []
                listed.append({**_handoff_json(handoff),
                               "channel": tracker.get_latest_input_channel() if tracker else None,
                               "last_customer_message": said[-1] if said else None})
            return _json({"waiting": listed})

        @inbox.route("/api/conversation", methods=["GET"])
        @staff_only
        async def conversation(request: Request, staff: str) -> Any:
            conversation_id = request.args.get("id") or ""
            tracker = await request.app.ctx.agent.tracker_store.retrieve(conversation_id) if conversation_id else None
            if tracker is None:
                return _error(404, "not_found", "No such conversation.")
            customer_id = tracker.get_slot("customer_id") if tracker.get_slot("verified_via") else None
            return _json({
                "conversation_id": conversation_id,
                "paused": tracker.is_paused(),
                "channel": tracker.get_latest_input_channel(),
                "verified_via": tracker.get_slot("verified_via"),
                **await blocking(customer_and_orders, customer_id),
                "transcript": transcript(tracker),
                "ledger": await blocking(ledger_rows, conversation_id),
                "handoffs": [_handoff_json(h) for h in await blocking(conversation_handoffs, conversation_id)],
            })

        @inbox.route("/api/reply", methods=["POST"])
        @staff_only
        async def reply(request: Request, staff: str) -> Any:
            body = request.json if isinstance(request.json, dict) else {}
            conversation_id, text = body.get("conversation_id"), body.get("text")
            if not isinstance(conversation_id, str) or not isinstance(text, str) or not text.strip():
                return _error(400, "bad_request", "Send a JSON object with 'conversation_id' and a non-empty 'text'.")
            if len(text) > MAX_REPLY_CHARS:
                return _error(400, "too_long", f"A reply is at most {MAX_REPLY_CHARS} characters.")
            if not any(h.closed_at is None for h in await blocking(conversation_handoffs, conversation_id)):
                return _error(409, "not_handed_over", "This conversation is not waiting for a person.")
            delivered = await self._say(request, conversation_id, text.strip(), staff)
            return _json({"delivered": delivered})

        @inbox.route("/api/hand-back", methods=["POST"])
        @staff_only
        async def hand_back(request: Request, staff: str) -> Any:
            body = request.json if isinstance(request.json, dict) else {}
            conversation_id = body.get("conversation_id")
            if not isinstance(conversation_id, str) or not conversation_id:
                return _error(400, "bad_request", "Send a JSON object with 'conversation_id'.")
            if not await blocking(close_handoffs, conversation_id, staff):
                return _error(409, "not_handed_over", "This conversation is not waiting for a person.")
            delivered = await self._say(request, conversation_id, BACK_WITH_THE_BOT, None, resume=True)
            logger.info("%s handed conversation %s back to the bot", staff, mask_conversation_id(conversation_id))
            return _json({"delivered": delivered})

        return inbox

    @staticmethod
    async def _file(name: str) -> Any:
        return await response.file(PAGE / name, mime_type=FILES[name], headers=HEADERS)

    async def _say(self, request: Request, conversation_id: str, text: str, agent: Optional[str],
                   *, resume: bool = False) -> str:
        """Records the message in the conversation (under its lock), then delivers it; returns how."""
        rasa_agent = request.app.ctx.agent
        async with rasa_agent.lock_store.lock(conversation_id):
            tracker = await rasa_agent.tracker_store.get_or_create_tracker(conversation_id)
            if resume:
                tracker.update(ConversationResumed())
            tracker.update(BotUttered(text, metadata={"agent": agent} if agent else {}))
            if resume:
                # The pause stopped Rasa before it listened; the policies read the next message as
                # what the customer says after the bot listened, as in every other turn.
                tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
            await rasa_agent.tracker_store.save(tracker)
        return await deliver(request.app, tracker, text, agent)


async def deliver(app: Any, tracker: Any, text: str, agent: Optional[str]) -> str:
    """Sends `text` through the channel the customer last wrote on: "pushed", or "notice" for their next turn."""
    sender = tracker.sender_id
    name = tracker.get_latest_input_channel()
    output: Optional[OutputChannel] = None
    said_last = (tracker.latest_message.metadata if tracker.latest_message else None) or {}
    for channel in getattr(app.ctx, "input_channels", None) or []:
        if channel.name() == name and channel.name() != AgentInbox.name():
            # a channel that answers in the place the customer wrote from (Slack's DM or thread) says where
            output_for = getattr(channel, "output_channel_for", None)
            output = output_for(said_last) if output_for else channel.get_output_channel()
    shown = f"{agent} (support team): {text}" if agent else text
    if isinstance(output, SocketIOOutput):
        push = getattr(output, "send_from_person", None)
        if push is not None and await push(sender, text, agent):
            return "pushed"
        output = None
    if output is not None:
        try:
            await output.send_text_message(sender, shown)
            return "pushed"
        except Exception:  # noqa: BLE001 - a platform that refuses it: the notice still reaches the customer
            logger.exception("Could not push a message to conversation %s", mask_conversation_id(sender))
    await blocking(leave_notice, sender, shown)
    return "notice"
