"""The scripted customer conversations of the benchmark, and what counts as a correct reply.

Standard library only: the Locust file, the runner's warm-up and the unit tests
(tests/bench) all use this module. Each conversation is a list of turns; a turn is
what the customer types and the patterns the bot's reply must contain (taken from
the domain's responses and the actions' messages). The customer's data (order
number, email, items) comes from the pool written by bench/seed.py.

The assistant verifies the customer before any order is looked up, once per
conversation and for all of the customer's orders: every order conversation is
its request, the identity question, the email, then the task ("Thanks, you're
verified." opens the reply to the email). Every request carries the shop backend's
REST credential (`rest_headers`) and names its end client (`rest_body`), as a shop's
backend does, so the commerce API's per-client verification limit follows each
simulated customer rather than the one address all of them come from.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

# The realistic mix of support conversations (weights, in percent).
DEFAULT_MIX: Dict[str, float] = {
    "track": 35, "return": 30, "cancel": 15, "address": 10, "policy": 5, "refund": 5,
}
# Which pool each scenario takes its customer from (None: no order needed), and whether
# one pool entry may serve several sessions (read-only conversations change nothing).
SCENARIO_POOLS: Dict[str, Optional[str]] = {
    "track": "track", "return": "return", "cancel": "cancel", "address": "address", "policy": None,
    "refund": "refund",
}
REUSABLE_POOLS = frozenset({"track", "refund"})
# Mean turns per session of each scenario (for sizing the pools): see `script`.
MEAN_TURNS: Dict[str, float] = {
    "track": 3, "return": 5.4, "cancel": 3, "address": 4, "policy": 3, "refund": 2,
}
DEFAULT_DECLINE_RATE = 0.2  # share of confirmations answered "no"

WEBHOOK = "/webhooks/rest/webhook"

# Replies that are never a success, whatever else they say.
ALWAYS_WRONG: Tuple[str, ...] = (
    r"didn't quite get that",  # utter_default (fallback)
    r"can't reach our order system",  # utter_commerce_unavailable
    r"couldn't reach our order system",  # utter_commerce_unavailable_nothing_changed
    r"didn't answer in time",  # utter_gate_outcome_unknown
    # a seeded customer's email always verifies and their order is always on their account
    r"couldn't verify you",  # utter_identity_mismatch, utter_verification_locked
    r"too many verification attempts",  # utter_verification_throttled
    r"couldn't find order",  # utter_order_not_on_account
    r"can't find any orders on your account",  # utter_no_orders
)
# What the domain's responses say at the scripts' steps (tests/bench checks them against domain/).
ASK_IDENTITY = r"email address on your account"  # utter_ask_customer_email
VERIFIED = r"Thanks, you're verified\."  # utter_verified
ASK_ITEMS = r"Which items would you like to return\?"  # utter_ask_return_items
ASK_REASON = r"What's the reason for the return\?"  # utter_ask_return_reason
ASK_REFUND = r"How would you like your refund"  # utter_ask_return_refund_method
ASK_STREET = r"new street address"  # utter_ask_address_street
POLICY = r"within 30 days of delivery"  # utter_return_policy_from_api (the demo shop's 30 days)
BOT = r"virtual assistant"  # utter_iamabot
WELCOME = r"You're welcome"  # utter_you_are_welcome
BYE = r"have a great day"  # utter_goodbye
DECLINED = r"haven't changed anything"  # utter_gate_declined
DOMAIN_REPLIES = (ASK_IDENTITY, VERIFIED, ASK_ITEMS, ASK_REASON, ASK_REFUND, ASK_STREET, POLICY, BOT, WELCOME, BYE,
                  DECLINED)


@dataclass(frozen=True)
class Turn:
    """One customer message and what the reply must (and must not) contain."""

    step: str
    text: str
    expect: Tuple[str, ...]
    reject: Tuple[str, ...] = field(default=ALWAYS_WRONG)


def parse_mix(spec: Optional[str]) -> Dict[str, float]:
    """'track=35,return=30' → {'track': 35.0, 'return': 30.0}; empty → DEFAULT_MIX."""
    if not spec or not spec.strip():
        return dict(DEFAULT_MIX)
    mix: Dict[str, float] = {}
    for part in spec.split(","):
        name, sep, weight = part.strip().partition("=")
        name = name.strip()
        if not sep or name not in SCENARIO_POOLS:
            raise ValueError(f"bad mix entry {part!r}: use scenario=weight with scenario one of "
                             f"{', '.join(SCENARIO_POOLS)}")
        value = float(weight)
        if value < 0:
            raise ValueError(f"negative weight in {part!r}")
        mix[name] = value
    if not any(mix.values()):
        raise ValueError("the mix has no positive weight")
    return mix


def rest_headers(token: str) -> Dict[str, str]:
    """The REST channel's request headers: the shop backend's credential (REST_CHANNEL_TOKEN)."""
    return {"Authorization": f"Bearer {token}"}


def rest_body(sender: str, text: str, client_id: str) -> Dict[str, Any]:
    """One customer message as the shop's backend posts it to the REST channel."""
    return {"sender": sender, "message": text, "metadata": {"client_id": client_id}}


def reply_text(payload: Any) -> str:
    """The REST channel's reply (a JSON list of messages) as one string of its texts."""
    if not isinstance(payload, list):
        return ""
    return "\n".join(str(m.get("text") or "") for m in payload if isinstance(m, dict)).strip()


def check_reply(turn: Turn, payload: Any) -> Optional[str]:
    """None if the reply is what the script expects at this step, else why it is not."""
    if not isinstance(payload, list):
        return f"malformed reply (not a JSON list): {str(payload)[:120]!r}"
    text = reply_text(payload)
    if not text:
        return "empty reply"
    for pattern in turn.reject:
        if re.search(pattern, text, re.IGNORECASE):
            return f"unexpected /{pattern}/ in reply: {_excerpt(text)}"
    for pattern in turn.expect:
        if not re.search(pattern, text):
            return f"expected /{pattern}/, got: {_excerpt(text)}"
    return None


def _excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def _confirm(scenario: str, rng: random.Random, decline_rate: float, done: Sequence[str]) -> Turn:
    if rng.random() < decline_rate:
        return Turn(f"{scenario}/decline", rng.choice(["no", "no, don't", "no thanks"]),
                    (DECLINED,))
    return Turn(f"{scenario}/confirm", rng.choice(["yes", "yes please", "yes"]), tuple(done))


def script(scenario: str, entry: Optional[Mapping[str, Any]], rng: random.Random,
           decline_rate: float = DEFAULT_DECLINE_RATE) -> List[Turn]:
    """The turns of one session of `scenario` for the customer `entry` (a pool entry).

    Each benchmark customer has exactly one order (bench/seed.py), so a request that names
    no order is answered about that one once the customer is verified.
    """
    if scenario == "policy":
        return [
            Turn("policy/question", rng.choice(["what is your return policy?", "how do returns work?"]),
                 (POLICY,)),
            Turn("policy/bot", rng.choice(["am I talking to a bot?", "are you a bot?"]), (BOT,)),
            Turn("policy/thanks", rng.choice(["ok thank you", "thanks!"]), (WELCOME,)),
        ]
    if entry is None:
        raise ValueError(f"scenario {scenario!r} needs a pool entry")
    order = str(entry["order_id"])
    o = re.escape(order)
    email = str(entry["email"])
    if scenario == "track":
        carrier, tracking = re.escape(str(entry["carrier"])), re.escape(str(entry["tracking_number"]))
        status = (VERIFIED, rf"Order #{o} is on its way with {carrier} \(tracking {tracking}\)", r"Estimated delivery")
        if rng.random() < 0.7:
            return [
                Turn("track/open", rng.choice([f"where is my order #{order}?", f"track order {order}"]),
                     (ASK_IDENTITY,)),
                Turn("track/verify", email, status),
                Turn("track/thanks", "thanks!", (WELCOME,)),
            ]
        return [
            Turn("track/open", rng.choice(["I want to track my order", "where is my package?"]), (ASK_IDENTITY,)),
            Turn("track/verify", email, status),
            Turn("track/bye", "bye", (BYE,)),
        ]
    if scenario == "return":
        done = (r"Done — your return RMA-\w+ for the ", r"prepaid return label")
        if rng.random() < 0.6:
            return [
                Turn("return/open", f"I want to return the blue jacket from order #{order}", (ASK_IDENTITY,)),
                Turn("return/verify", email, (VERIFIED, ASK_REASON)),
                Turn("return/reason", "it doesn't fit",
                     (r"How would you like your refund: back to Visa ending 4242 or as store credit\?",)),
                Turn("return/refund_method", "store credit",
                     (r"Shall I create this return\?", rf"Order: #{o}\b", r"Blue Denim Jacket \(Size M\)",
                      r"\$89\.00 as store credit")),
                _confirm("return", rng, decline_rate, done),
            ]
        return [
            Turn("return/open", f"I'd like to return something from order {order}", (ASK_IDENTITY,)),
            Turn("return/verify", email, (VERIFIED, ASK_ITEMS)),
            Turn("return/item", "the striped scarf", (ASK_REASON,)),
            Turn("return/reason", "it arrived damaged", (ASK_REFUND,)),
            Turn("return/refund_method", "back to my card",
                 (r"Shall I create this return\?", rf"Order: #{o}\b", r"Striped Scarf",
                  r"\$19\.00 to Visa ending 4242")),
            _confirm("return", rng, decline_rate, done),
        ]
    if scenario == "cancel":
        return [
            Turn("cancel/open", rng.choice([f"please cancel order {order}", f"I want to cancel my order #{order}"]),
                 (ASK_IDENTITY,)),
            Turn("cancel/verify", email, (VERIFIED, rf"I'm about to cancel order #{o}\b",
                                          r"Canvas Sneakers \(Size 9\)", r"Shall I cancel this order\?")),
            _confirm("cancel", rng, decline_rate, (rf"Done — order #{o} is cancelled",)),
        ]
    if scenario == "address":
        new_address = "48 Elm Street, Austin, TX 78701, US"
        return [
            Turn("address/open", f"I need to change the shipping address on order {order}", (ASK_IDENTITY,)),
            Turn("address/verify", email, (VERIFIED, ASK_STREET)),
            Turn("address/new_address", new_address,
                 (r"Shall I update the address\?", rf"order #{o}\b", re.escape(new_address))),
            _confirm("address", rng, decline_rate, (rf"Done — order #{o} will ship to {re.escape(new_address)}",)),
        ]
    if scenario == "refund":
        return [
            Turn("refund/open", f"where is my refund for order {order}", (ASK_IDENTITY,)),
            Turn("refund/verify", email, (VERIFIED, rf"Order #{o} was cancelled and \$120\.00 was refunded to PayPal")),
        ]
    raise ValueError(f"unknown scenario {scenario!r}")


def pool_sizes(mix: Mapping[str, float], sessions: int) -> Dict[str, int]:
    """How many customers each pool needs for `sessions` sessions of this mix (10% + 50 spare)."""
    total = sum(mix.values())
    sizes: Dict[str, int] = {}
    for scenario, weight in mix.items():
        pool = SCENARIO_POOLS[scenario]
        if pool is None or weight <= 0:
            continue
        wanted = int(sessions * weight / total * 1.1) + 50
        if pool in REUSABLE_POOLS:
            wanted = min(wanted, 2000)  # read-only conversations can share customers
        sizes[pool] = sizes.get(pool, 0) + wanted
    return sizes


def mean_turns_per_session(mix: Mapping[str, float]) -> float:
    total = sum(mix.values())
    return sum(MEAN_TURNS[s] * w for s, w in mix.items()) / total


POOL_FIELDS: Dict[str, Tuple[str, ...]] = {
    "track": ("order_id", "email", "customer_id", "carrier", "tracking_number"),
    "return": ("order_id", "email", "customer_id", "items"),
    "cancel": ("order_id", "email", "customer_id"),
    "address": ("order_id", "email", "customer_id"),
    "refund": ("order_id", "email", "customer_id"),
}
# 5-8 digits: inside what the demo shop's profile reads (shops/demo/profile.yml: 4-8 digits), and
# never one of the demo orders (4521-4526)
ORDER_ID_SHAPE = re.compile(r"^\d{5,8}$")
EMAIL_SHAPE = re.compile(r"^bench-c\d{6}@example\.com$")


def validate_pool(pool: Mapping[str, Any]) -> List[str]:
    """Problems with a pool file's content (an empty list means it is usable)."""
    problems: List[str] = []
    sessions = pool.get("sessions")
    if not isinstance(sessions, dict):
        return ["no 'sessions' object"]
    seen_orders: set = set()
    emails_by_pool: Dict[str, set] = {}
    for name, entries in sessions.items():
        if name not in POOL_FIELDS:
            problems.append(f"unknown pool {name!r}")
            continue
        if not isinstance(entries, list):
            problems.append(f"pool {name!r} is not a list")
            continue
        emails = emails_by_pool.setdefault(name, set())
        for entry in entries:
            missing = [f for f in POOL_FIELDS[name] if f not in entry]
            if missing:
                problems.append(f"{name} entry {entry!r} lacks {missing}")
                continue
            if not ORDER_ID_SHAPE.match(str(entry["order_id"])):
                problems.append(f"{name}: order id {entry['order_id']!r} is not 5-8 digits")
            if not EMAIL_SHAPE.match(str(entry["email"])):
                problems.append(f"{name}: email {entry['email']!r} is not bench-cNNNNNN@example.com")
            if entry["order_id"] in seen_orders:
                problems.append(f"order {entry['order_id']} appears twice")
            seen_orders.add(entry["order_id"])
            if entry["email"] in emails:
                problems.append(f"{name}: customer {entry['email']} appears twice")
            emails.add(entry["email"])
    all_emails = [e for s in emails_by_pool.values() for e in s]
    if len(all_emails) != len(set(all_emails)):
        problems.append("a customer appears in more than one pool")
    return problems
