"""The gate's invariants as properties over random conversations on the real stack.

Customers (and intruders) make random moves over REST against the running Rasa server, action
server, ledger and commerce API: open any task, give or correct an order number, right or wrong
identity, plain and compound yes/no, never mind, digress, switch task, replay a message, send two
turns at once, present another's conversation id without the REST credential, and ask the web chat
(Socket.IO) to resume another's conversation or a forged session id. After every step:

1. **A write happens only for a prompt that was shown and then answered by a plain yes**: every
   change the commerce API shows (to an order, or to an account's saved address) is a ledger row
   of one conversation, shown in that conversation's previous bot turn, with the same arguments,
   and the message just sent there was a plain yes.
2. **Nothing about an order is shown before the customer is verified for it**: no bot message to a
   conversation names an item, price or address of an order of a customer it has not verified as.
3. **One open row per conversation**: switching task or order abandons the one before.

Bounded in `make test` (`DIALOGUE_FUZZ_EXAMPLES`, default 12 conversations of up to 14 steps);
`make fuzz-dialogue` runs many more. Each counterexample found becomes a named test in
tests/security/test_confirmation.py (or, for what was shown, tests/security/test_identity.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from actions import ledger
from actions.ledger import StagedAction
from tests import processes
from tests.channels.test_socketio import SocketChat
from tests.stack import InboxAgent, Stack

EXAMPLES = int(os.environ.get("DIALOGUE_FUZZ_EXAMPLES", "12"))
STEPS = int(os.environ.get("DIALOGUE_FUZZ_STEPS", "14"))
# `make test` replays the same conversations every run; `make fuzz-dialogue` explores new ones.
EXPLORE = os.environ.get("DIALOGUE_FUZZ_EXPLORE") == "1"

CUSTOMERS = {
    "jane": {"id": "cus_jane_doe", "email": "jane.doe@example.com", "name": "Jane Doe", "zip": "97201",
             "orders": ("4521", "4522", "4523")},
    "sam": {"id": "cus_sam_lee", "email": "sam.lee@example.com", "name": "Sam Lee", "zip": "78701",
            "orders": ("4524", "4525", "4526")},
}
# What a bot message may only say to the order's verified customer.
ORDER_DETAILS = {
    "4521": ("Blue Denim Jacket", "Striped Scarf", "$89.00", "$19.00"),
    "4522": ("Canvas Sneakers", "$65.00"),
    "4523": ("Wool Beanie", "1Z999AA10123456784", "$24.00"),
    "4524": ("Leather Belt", "$45.00"),
    "4525": ("Rain Jacket", "$120.00"),
    "4526": ("Linen Shirt", "Chino Shorts", "$55.00", "$48.00"),
}
ADDRESSES = {"jane": "12 Harbour Lane", "sam": "48 Elm Street"}
PLAIN_YES = ("yes", "yes please", "yep, go ahead", "sure, do it", "Yes")
OPENERS = (
    "I want to return the blue jacket from order #4521", "track my order", "where is order 4523?",
    "please cancel order 4522", "I need to change the shipping address on order 4522", "where is my refund",
    "I want a refund", "return the chino shorts", "cancel my order", "I'd like to return something",
    "hi, I'm jane.doe@example.com, I want to return the scarf from order 4521",
    "cancel the pending one and return the scarf from the other",
    # the account's saved address (no order): the write path of issue 17
    "I moved, update my saved address", "please change the default address on my account",
    # exchanges, swaps before shipping, another payment method: the other write paths of issue 17
    "can I exchange the jacket from order 4521 for a size L", "I want to swap my sneakers for a bigger size",
    "can I pay order 4522 with my mastercard instead", "exchange the chino shorts for a 34",
)
CHANGES = (
    "yes, the scarf", "yes but as store credit", "no, order 4522", "yes and also the scarf",
    "no, the other one", "actually the reason is it arrived damaged", "sorry I meant order 4526",
    "yes, order 4521", "no wait, back to my card", "yes but in size S", "no, make it a size 11",
    "yes, with the visa",
)
ANSWERS = (
    "the jacket", "the scarf", "both", "the other one", "it doesn't fit", "it arrived damaged", "store credit",
    "back to my original payment method", "the last one", "the shorts", "221 Baker Street, London, NW1 6XE, GB",
    "10 Main Street, Springfield, IL 62701, US", "the pending one", "order #4522", "4521", "4524",
    "yes, 7 Orchard Row, Springfield, IL 62704, US", "size L", "a size bigger", "use my mastercard", "size 10",
)
# Whole paths to a confirmation prompt (random moves rarely get that far): the moves after them
# answer it with a yes, a no, a change or something else. `{email}` is the customer's.
TO_A_PROMPT = {
    "saved address": ("I moved, update my saved address", "{email}", "7 Orchard Row, Springfield, IL 62704, US"),
    "saved address, yes first": ("please change the default address on my account", "{email}",
                                 "yes, 7 Orchard Row, Springfield, IL 62704, US"),
    "shipping address": ("I need to change the shipping address on order 4522", "{email}",
                         "10 Main Street, Springfield, IL 62701, US"),
    "return": ("I want to return the blue jacket from order #4521", "{email}", "it doesn't fit", "store credit"),
    "exchange": ("can I exchange the jacket from order 4521 for a size L", "{email}", "use my visa"),
    "change before shipping": ("can I change the sneakers in order 4522 to a size 10", "{email}"),
    "payment": ("can I pay order 4522 with my mastercard instead", "{email}"),
}
ELSEWHERE = ("what's your return policy?", "do you ship to canada?", "are you a bot?", "where is my order?",
             "never mind", "talk to a human", "try again", "hello")


@dataclass
class Chat:
    """One conversation as the test sees it."""

    sender: str
    verified_as: Optional[str] = None
    last_user: str = ""
    last_bot: List[str] = field(default_factory=list)
    #: rows of this conversation whose prompt the last bot turn showed: id → (summary, arguments)
    shown: Dict[str, Any] = field(default_factory=dict)


def api_state(stack: Stack) -> Dict[str, Any]:
    """Every order's state by order id, and every account's saved street by "customer:<id>"."""
    state: Dict[str, Any] = {}
    for customer in CUSTOMERS.values():
        saved = stack.customer(customer["id"])["default_address"] or {}
        state[f"customer:{customer['id']}"] = {"street": saved.get("street")}
        for order_id in customer["orders"]:
            order = stack.order(order_id)
            returns = stack.returns(order_id)
            state[order_id] = {
                "status": order["status"],
                "street": order["shipping_address"]["street"],
                "returns": sorted((tuple(sorted(i["item_id"] for i in r.get("items") or [{"item_id": r["item_id"]}])),
                                   r["reason"], r["refund_method"]) for r in returns),
                "exchanges": sorted(tuple(sorted((line["item_id"], line["new_variant_id"]) for line in e["items"]))
                                    for e in stack.exchanges(order_id)),
                "variants": {item["item_id"]: item["variant_id"] for item in order["items"]},
                "payment": order["payment"]["payment_method_id"],
            }
    return state


async def _socketio_session(url: str, claimed: str) -> str:
    chat = SocketChat(url)
    try:
        return await chat.connect(claimed)
    finally:
        await chat.close()


def rows_of(stack: Stack, sender: str) -> List[StagedAction]:
    with stack.gate._sessions() as session:
        return list(session.scalars(select(StagedAction).where(StagedAction.conversation_id == sender)))


class Conversations(RuleBasedStateMachine):
    """Random customers talking to the real stack; the invariants are checked after every step."""

    stack: Stack

    def __init__(self) -> None:
        super().__init__()
        self.chats: List[Chat] = []
        self.before = api_state(self.stack)
        self.writes_ok: Set[str] = set()
        self.inbox: Optional[InboxAgent] = None

    # -- moves -----------------------------------------------------------------------------

    @initialize()
    def first_customer(self) -> None:
        self.chats.append(Chat(sender=f"fuzz-{uuid.uuid4().hex[:12]}"))

    @rule()
    def another_customer(self) -> None:
        if len(self.chats) < 3:
            self.chats.append(Chat(sender=f"fuzz-{uuid.uuid4().hex[:12]}"))

    @rule(which=st.integers(0, 2), text=st.sampled_from(OPENERS))
    def open_a_task(self, which: int, text: str) -> None:
        self._say(which, text)

    @rule(which=st.integers(0, 2), who=st.sampled_from(sorted(CUSTOMERS)), how=st.sampled_from(["email", "name"]),
          right=st.booleans())
    def identify(self, which: int, who: str, how: str, right: bool) -> None:
        customer = CUSTOMERS[who]
        if how == "email":
            text = customer["email"] if right else f"not.{customer['email']}"
        else:
            text = f"{customer['name']} {customer['zip'] if right else '10001'}"
        chat = self._chat(which)
        replies = self._say(which, text)
        if right and any("you're verified" in reply for reply in replies) and chat.verified_as is None:
            chat.verified_as = who

    @rule(which=st.integers(0, 2), who=st.sampled_from(sorted(CUSTOMERS)), path=st.sampled_from(sorted(TO_A_PROMPT)))
    def walk_to_a_confirmation(self, which: int, who: str, path: str) -> None:
        """A customer (for someone else's order: an intruder) goes straight to a prompt, each message checked."""
        for text in TO_A_PROMPT[path]:
            self._say(which, text.format(email=CUSTOMERS[who]["email"]))

    @rule(which=st.integers(0, 2), text=st.sampled_from(ANSWERS))
    def answer(self, which: int, text: str) -> None:
        self._say(which, text)

    @rule(which=st.integers(0, 2), text=st.sampled_from(PLAIN_YES))
    def plain_yes(self, which: int, text: str) -> None:
        self._say(which, text)

    @rule(which=st.integers(0, 2), text=st.sampled_from(("no", "nope", "no thanks")))
    def plain_no(self, which: int, text: str) -> None:
        self._say(which, text)

    @rule(which=st.integers(0, 2), text=st.sampled_from(CHANGES))
    def yes_or_no_with_a_change(self, which: int, text: str) -> None:
        self._say(which, text)

    @rule(which=st.integers(0, 2), text=st.sampled_from(ELSEWHERE))
    def something_else(self, which: int, text: str) -> None:
        self._say(which, text)

    @rule(which=st.integers(0, 2), reply=st.booleans())
    def the_team_answers_and_hands_back(self, which: int, reply: bool) -> None:
        """A person picks up a handed-over conversation in the agent inbox and gives it back to the bot."""
        chat = self._chat(which)
        if self.inbox is None:
            self.inbox = InboxAgent(self.stack)
            assert self.inbox.login.status_code == 200, self.inbox.login.text
        if reply:
            self.inbox.reply(chat.sender, "Hi, someone from the team here.")
        answer = self.inbox.hand_back(chat.sender)
        assert answer.status_code in (200, 409), answer.text  # 409: nobody handed it over
        self._check_writes(chat, "(the team handed back)", dict(chat.shown))

    @rule(which=st.integers(0, 2))
    def replay_the_last_message(self, which: int) -> None:
        chat = self._chat(which)
        if chat.last_user:
            self._say(which, chat.last_user)

    @rule(which=st.integers(0, 2), text=st.sampled_from(PLAIN_YES))
    def two_turns_at_once(self, which: int, text: str) -> None:
        """Two copies of one message sent together: the lock store serialises them."""
        chat = self._chat(which)
        shown_before = dict(chat.shown)
        replies: List[List[Dict[str, Any]]] = []
        threads = [threading.Thread(target=lambda: replies.append(self.stack.send(chat.sender, text)))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        chat.last_user = text
        chat.last_bot = [m.get("text", "") for reply in replies for m in reply]
        self._check_writes(chat, text, shown_before)
        self._remember_prompts(chat)

    @rule(which=st.integers(0, 2), text=st.sampled_from(PLAIN_YES + ("cancel order 4522",)))
    def someone_else_presents_the_conversation_id(self, which: int, text: str) -> None:
        """Without the shop backend's credential the REST channel refuses the message outright."""
        chat = self._chat(which)
        response = requests.post(f"{self.stack.rasa_url}/webhooks/rest/webhook",
                                 json={"sender": chat.sender, "message": text}, timeout=30,
                                 headers={"Authorization": "Bearer not-the-credential"})
        assert response.status_code == 401

    @rule(which=st.integers(0, 2), tamper=st.booleans())
    def someone_resumes_the_conversation_over_the_web_chat(self, which: int, tamper: bool) -> None:
        """A Socket.IO client asking for another's conversation (or a forged signed id) gets a new one."""
        chat = self._chat(which)
        claimed = chat.sender + (".0123456789abcdef012345" if tamper else "")
        granted = asyncio.run(_socketio_session(self.stack.rasa_url, claimed))
        assert granted != claimed and chat.sender not in granted, (claimed, granted)

    # -- the invariants ---------------------------------------------------------------------

    @invariant()
    def at_most_one_open_row_per_conversation(self) -> None:
        for chat in self.chats:
            open_rows = [row for row in rows_of(self.stack, chat.sender)
                         if row.status == ledger.AWAITING_CONFIRMATION and row.expires_at > ledger.utcnow()]
            assert len(open_rows) <= 1, f"{chat.sender} has {len(open_rows)} open rows"

    # -- plumbing ---------------------------------------------------------------------------

    def _chat(self, which: int) -> Chat:
        return self.chats[which % len(self.chats)]

    def _say(self, which: int, text: str) -> List[str]:
        chat = self._chat(which)
        shown_before = dict(chat.shown)
        replies = [m.get("text", "") for m in self.stack.send(chat.sender, text)]
        chat.last_user, chat.last_bot = text, replies
        if chat.verified_as is None and any("you're verified" in reply for reply in replies):
            # Verified by details inside another move ("hi, I'm jane.doe@example.com, ..."): theirs from now on.
            chat.verified_as = identified_in(text)
        self._check_privacy(chat)
        self._check_writes(chat, text, shown_before)
        self._remember_prompts(chat)
        return replies

    def _check_privacy(self, chat: Chat) -> None:
        allowed = set(CUSTOMERS[chat.verified_as]["orders"]) if chat.verified_as else set()
        said = "\n".join(chat.last_bot)
        for order_id, details in ORDER_DETAILS.items():
            if order_id in allowed:
                continue
            leaked = [detail for detail in details if detail in said]
            assert not leaked, f"{chat.sender} (verified as {chat.verified_as}) was told {leaked} of order {order_id}"
        for who, street in ADDRESSES.items():
            if who != chat.verified_as:
                assert street not in said, f"{chat.sender} was told {who}'s address"

    def _remember_prompts(self, chat: Chat) -> None:
        said = "\n".join(chat.last_bot)
        chat.shown = {row.id: (row.summary, dict(row.arguments)) for row in rows_of(self.stack, chat.sender)
                      if row.status == ledger.AWAITING_CONFIRMATION and row.summary in said}

    def _check_writes(self, chat: Chat, text: str, shown_before: Dict[str, Any]) -> None:
        after = api_state(self.stack)
        changed = {order_id: (self.before[order_id], state) for order_id, state in after.items()
                   if state != self.before[order_id]}
        self.before = after
        if not changed:
            return
        assert text in PLAIN_YES, f"{chat.sender} said {text!r} and the API changed: {changed}"
        executed = [row for row in rows_of(self.stack, chat.sender)
                    if row.status == ledger.SUCCEEDED and row.id not in self.writes_ok]
        assert executed, f"the API changed ({changed}) with no succeeded row of {chat.sender}"
        for row in executed:
            assert row.id in shown_before, f"row {row.id} ({row.action_name}) ran but its prompt was not the last shown"
            _summary, arguments = shown_before[row.id]
            old, new = changed.get(subject_of(row), (None, None))
            assert new is not None, f"row {row.id} ran for {subject_of(row)}, but {list(changed)} changed"
            if row.action_name == "create_return":
                created = set(new["returns"]) - set(old["returns"])
                assert created == {(tuple(sorted(arguments["item_ids"])), arguments["reason"],
                                    arguments["refund_method"])}, (created, arguments)
            elif row.action_name == "cancel_order":
                assert (old["status"], new["status"]) == ("processing", "cancelled")
            elif row.action_name in ("change_shipping_address", "change_default_address"):
                assert new["street"] == arguments["address"]["street"]
            elif row.action_name == "exchange_items" and arguments["kind"] == "exchange":
                created = set(new["exchanges"]) - set(old["exchanges"])
                assert created == {tuple(sorted(arguments["swaps"].items()))}, (created, arguments)
            elif row.action_name == "exchange_items":
                assert {item: new["variants"][item] for item in arguments["swaps"]} == arguments["swaps"]
                assert old["status"] == "processing"
            elif row.action_name == "change_payment_method":
                assert old["payment"] != new["payment"] == arguments["payment_method_id"]
            self.writes_ok.add(row.id)
        assert set(changed) <= {subject_of(row) for row in executed}, f"unexplained changes: {changed}"


def identified_in(text: str) -> Optional[str]:
    """The customer whose email, or full name and zip, the message gives (a wrong one names nobody)."""
    for who, customer in CUSTOMERS.items():
        email = re.search(rf"(?<![\w.]){re.escape(customer['email'])}(?!\w)", text, re.IGNORECASE)
        if email or (customer["name"].lower() in text.lower() and re.search(rf"\b{customer['zip']}\b", text)):
            return who
    return None


def subject_of(row: StagedAction) -> str:
    """What a row changes, as `api_state` names it: its order, or (no order) its customer's account."""
    return row.order_id or f"customer:{row.customer_id}"


def test_random_conversations_keep_the_gate_invariants(stack: Stack, reseed) -> None:
    class Machine(Conversations):
        pass

    Machine.stack = stack
    seeded = {"n": 0}
    original_init = Machine.__init__

    def init(self: Conversations) -> None:
        reseed()  # every example starts from the demo data
        seeded["n"] += 1
        original_init(self)

    Machine.__init__ = init  # type: ignore[method-assign]
    Machine.TestCase.settings = settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=not EXPLORE,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    Machine.TestCase().runTest()
    assert seeded["n"] >= 1
    assert processes.REST_CHANNEL_TOKEN  # the moves above spoke with the backend's credential
