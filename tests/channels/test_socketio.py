"""Rasa's Socket.IO protocol as the web chat speaks it, with python-socketio's client (no browser)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import socketio

from tests.channels.conftest import ChannelStack

JANE = "jane.doe@example.com"


class SocketChat:
    """One browser tab's worth of protocol: session_request/confirm, user_uttered, bot_uttered."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()
        self.session_id: Optional[str] = None
        self._confirmed = asyncio.Event()
        self.client.on("bot_uttered", self.inbox.put_nowait)
        self.client.on("session_confirm", self._on_confirm)

    async def _on_confirm(self, session_id: str) -> None:
        self.session_id = session_id
        self._confirmed.set()

    async def connect(self, session_id: Optional[str] = None) -> str:
        # long-polling: engineio's websocket transport needs aiohttp>=3.10 and Rasa 3.6 pins 3.9
        # (the browser test covers websockets)
        await self.client.connect(self.url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(self._confirmed.wait(), 10)
        return self.session_id

    async def say(self, text: str, until: str, metadata: Optional[Dict[str, Any]] = None,
                  timeout: float = 60) -> List[Dict[str, Any]]:
        """Sends one message; returns the bot messages up to one containing `until` (plus any right after)."""
        data: Dict[str, Any] = {"message": text, "session_id": self.session_id}
        if metadata:
            data["metadata"] = metadata
        await self.client.emit("user_uttered", data)
        got: List[Dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(until in m.get("text", "") for m in got):
            left = deadline - asyncio.get_running_loop().time()
            try:
                got.append(await asyncio.wait_for(self.inbox.get(), max(left, 0.01)))
            except asyncio.TimeoutError:
                raise AssertionError(f"no reply containing {until!r} to {text!r} in {timeout}s; got {got}") from None
        while True:  # the rest of the turn arrives right after
            try:
                got.append(await asyncio.wait_for(self.inbox.get(), 1.0))
            except asyncio.TimeoutError:
                return got

    async def close(self) -> None:
        """Closes like a tab does; without waiting ~25 s for the pending long-poll to return."""
        eio = self.client.eio
        await eio.disconnect(abort=True)
        for task in (eio.read_loop_task, eio.write_loop_task):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(*(t for t in (eio.read_loop_task, eio.write_loop_task) if t), return_exceptions=True)


def quick_replies(messages: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [reply for m in messages for reply in m.get("quick_replies", [])]


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


async def test_a_return_over_socketio_with_buttons_and_the_gate(shop: ChannelStack) -> None:
    chat = SocketChat(shop.rasa_url)
    session = await chat.connect()
    try:
        asked = await chat.say("I want to return the blue jacket from order #4521", until="email")
        assert "email" in texts(asked)
        reasons = await chat.say(JANE, until="reason")
        replies = quick_replies(reasons)
        assert {"content_type": "text", "title": "Wrong size", "payload": "Wrong size"} in replies
        assert all(not r["payload"].startswith("/") for r in replies)  # plain words, never "/intent"
        refund = await chat.say("Wrong size", until="refund")
        assert "Store credit" in [r["title"] for r in quick_replies(refund)]
        prompt = await chat.say("Store credit", until="Shall I create this return?")
        for detail in ("#4521", "Blue Denim Jacket (Size M)", "$89.00"):
            assert detail in texts(prompt)
        assert quick_replies(prompt) == [
            {"content_type": "text", "title": "Yes", "payload": "Yes"},
            {"content_type": "text", "title": "No", "payload": "No"},
        ]
        done = await chat.say("Yes", until="RMA-")
        assert "RMA-" in texts(done)
    finally:
        await chat.close()
    assert len(shop.returns("4521")) == 1
    assert [m["text"] for m in shop.user_messages(session)][:2] == [
        "I want to return the blue jacket from order #4521", JANE]


async def test_reconnecting_with_the_session_id_continues_the_conversation(shop: ChannelStack) -> None:
    first = SocketChat(shop.rasa_url)
    session = await first.connect()
    await first.say("I want to return the blue jacket from order #4521", until="email")
    await first.say(JANE, until="reason")
    await first.close()

    again = SocketChat(shop.rasa_url)  # a reload: new socket, same stored session id
    assert await again.connect(session_id=session) == session
    try:
        refund = await again.say("Wrong size", until="refund")  # the form remembered order, email and item
        assert "Store credit" in [r["title"] for r in quick_replies(refund)]
        prompt = await again.say("Store credit", until="Shall I create this return?")
        assert "Blue Denim Jacket (Size M)" in texts(prompt)
        assert "RMA-" in texts(await again.say("Yes", until="RMA-"))
    finally:
        await again.close()

    fresh = SocketChat(shop.rasa_url)  # without the id: a new conversation
    assert await fresh.connect() != session
    await fresh.close()


async def test_a_login_token_is_checked_by_the_channel_and_never_stored(shop: ChannelStack) -> None:
    from tests.security.conftest import customer_token

    token = customer_token("cus_jane_doe")
    chat = SocketChat(shop.rasa_url)
    session = await chat.connect()
    try:
        said = await chat.say("where is my order 4523?", until="UPS", metadata={"customer_token": token})
        assert "email address on your account" not in texts(said)  # verified by the login, nothing asked
        asked = await chat.say("where is my order 4523?", until="email")  # logged out: a fresh conversation
        assert "UPS" not in texts(asked)
    finally:
        await chat.close()
    stored = shop.user_messages(session) + shop.user_messages_like(f"{session}~")
    assert stored and not any(token in str(m) or "customer_token" in str(m.get("metadata")) for m in stored)
    assert any((m.get("metadata") or {}).get("login", {}).get("customer_id") == "cus_jane_doe" for m in stored)


async def test_a_client_cannot_pick_or_forge_a_session_id(shop: ChannelStack) -> None:
    first = SocketChat(shop.rasa_url)
    session = await first.connect()
    await first.say("I want to return the blue jacket from order #4521", until="email")
    await first.say(JANE, until="reason")
    await first.close()
    value, _, signature = session.partition(".")
    for guess in (value, f"{value}.{'0' * len(signature)}", "customer-0001-0002-0003", f"x{session}"):
        other = SocketChat(shop.rasa_url)
        try:
            assert await other.connect(session_id=guess) != session
            said = await other.say("yes", until="")
            assert "Shall I create" not in texts(said) and "Blue Denim" not in texts(said)
        finally:
            await other.close()


async def test_a_typed_slash_command_over_socketio_cannot_confirm(shop: ChannelStack) -> None:
    chat = SocketChat(shop.rasa_url)
    session = await chat.connect()
    try:
        await chat.say("I want to return the blue jacket from order #4521", until="email")
        await chat.say(JANE, until="reason")
        await chat.say("Wrong size", until="refund")
        await chat.say("Store credit", until="Shall I create this return?")
        await chat.client.emit("user_uttered", {"message": "/affirm", "session_id": session})
        await asyncio.sleep(3)
    finally:
        await chat.close()
    assert shop.returns("4521") == []
