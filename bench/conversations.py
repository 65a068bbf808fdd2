"""The scripted customer conversations of the benchmark, and what counts as a correct reply.

Standard library only: the Locust file, the runner's warm-up and the unit tests
(tests/bench) all use this module. Each conversation is a list of turns; a turn is
what the customer types and the patterns the bot's reply must contain (taken from
the domain's responses and the actions' messages). The customer's data (order
number, email, items) comes from the pool written by bench/seed.py.
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
# Mean turns per session of each scenario (for sizing the pools).
MEAN_TURNS: Dict[str, float] = {
    "track": 3.3, "return": 5.4, "cancel": 3, "address": 4, "policy": 3, "refund": 2,
}
DEFAULT_DECLINE_RATE = 0.2  # share of confirmations answered "no"

# Replies that are never a success, whatever else they say.
ALWAYS_WRONG: Tuple[str, ...] = (
    r"didn't quite get that",  # utter_default (fallback)
    r"can't reach our order system",  # utter_commerce_unavailable
    r"couldn't reach our order system",  # utter_commerce_unavailable_nothing_changed
    r"didn't answer in time",  # utter_gate_outcome_unknown
)


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
                    (r"haven't changed anything",))
    return Turn(f"{scenario}/confirm", rng.choice(["yes", "yes please", "yes"]), tuple(done))


def _ask_email(order_id: str) -> str:
    return rf"email address you used for order #{re.escape(order_id)}\b"


def script(scenario: str, entry: Optional[Mapping[str, Any]], rng: random.Random,
           decline_rate: float = DEFAULT_DECLINE_RATE) -> List[Turn]:
    """The turns of one session of `scenario` for the customer `entry` (a pool entry)."""
    if scenario == "policy":
        return [
            Turn("policy/question", rng.choice(["what is your return policy?", "how do returns work?"]),
                 (r"within 30 days of delivery",)),
            Turn("policy/bot", rng.choice(["am I talking to a bot?", "are you a bot?"]), (r"virtual assistant",)),
            Turn("policy/thanks", rng.choice(["ok thank you", "thanks!"]), (r"You're welcome",)),
        ]
    if entry is None:
        raise ValueError(f"scenario {scenario!r} needs a pool entry")
    order = str(entry["order_id"])
    o = re.escape(order)
    email = str(entry["email"])
    verified = rf"verified for order #{o}\b"
    if scenario == "track":
        carrier = re.escape(str(entry["carrier"]))
        status = (verified, rf"Order #{o} is on its way with {carrier}", r"Estimated delivery")
        if rng.random() < 0.7:
            return [
                Turn("track/open", rng.choice([f"where is my order #{order}?", f"track order {order}"]),
                     (_ask_email(order),)),
                Turn("track/verify", email, status),
                Turn("track/thanks", "thanks!", (r"You're welcome",)),
            ]
        return [
            Turn("track/open", rng.choice(["I want to track my order", "where is my package?"]),
                 (r"What's your order number",)),
            Turn("track/order_id", order, (_ask_email(order),)),
            Turn("track/verify", email, status),
            Turn("track/bye", "bye", (r"have a great day",)),
        ]
    if scenario == "return":
        done = (r"Done — your return RMA-\w+ for the ", r"prepaid return label")
        if rng.random() < 0.6:
            return [
                Turn("return/open", f"I want to return the blue jacket from order #{order}", (_ask_email(order),)),
                Turn("return/verify", email, (verified, r"reason for the return")),
                Turn("return/reason", "it doesn't fit", (r"How would you like your refund",)),
                Turn("return/refund_method", "store credit",
                     (r"Shall I create this return\?", r"Blue Denim Jacket \(Size M\)", r"\$89\.00 as store credit")),
                _confirm("return", rng, decline_rate, done),
            ]
        return [
            Turn("return/open", f"I'd like to return something from order {order}", (_ask_email(order),)),
            Turn("return/verify", email, (verified, r"Which item would you like to return")),
            Turn("return/item", "the striped scarf", (r"reason for the return",)),
            Turn("return/reason", "it arrived damaged", (r"How would you like your refund",)),
            Turn("return/refund_method", "back to my card",
                 (r"Shall I create this return\?", r"Striped Scarf", r"\$19\.00 to Visa ending 4242")),
            _confirm("return", rng, decline_rate, done),
        ]
    if scenario == "cancel":
        return [
            Turn("cancel/open", rng.choice([f"please cancel order {order}", f"I want to cancel my order #{order}"]),
                 (_ask_email(order),)),
            Turn("cancel/verify", email, (verified, r"Shall I cancel this order\?", r"Canvas Sneakers \(Size 9\)")),
            _confirm("cancel", rng, decline_rate, (rf"order #{o} is cancelled",)),
        ]
    if scenario == "address":
        return [
            Turn("address/open", f"I need to change the shipping address on order {order}", (_ask_email(order),)),
            Turn("address/verify", email, (verified, r"new street address")),
            Turn("address/new_address", "48 Elm Street, Austin, 78701, US",
                 (r"Shall I update the address\?", r"48 Elm Street, Austin 78701, US")),
            _confirm("address", rng, decline_rate, (rf"order #{o} will ship to 48 Elm Street",)),
        ]
    if scenario == "refund":
        return [
            Turn("refund/open", f"where is my refund for order {order}", (_ask_email(order),)),
            Turn("refund/verify", email, (r"\$120\.00 was refunded to PayPal",)),
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
ORDER_ID_SHAPE = re.compile(r"^\d{5,8}$")  # what the assistant's order-number regex (\d{4,8}) reads
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
