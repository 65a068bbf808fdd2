"""Reading the customer's latest message: what they said, and whether it answers the question asked.

A task form only takes a message that answers it. Another request (a different task, a question,
"never mind", "a person please") is left to the rules, which switch task or answer and come back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker

from actions.common import NEUTRALIZED_COMMAND_MARK

ANSWER_INTENTS = frozenset({"inform", "affirm", "deny", "nlu_fallback", "try_again"})
LEAVE_INTENTS = frozenset({"nevermind", "human_handoff", "goodbye"})
# Questions answered on the spot (and the form asked again).
QUESTION_INTENTS = frozenset({
    "faq", "return_policy", "bot_challenge", "product_question", "out_of_scope", "greet", "thank",
})
# Below this confidence a non-answer intent is not trusted to interrupt a free-text question.
CONFIDENT = 0.85
# Questions about the shop, which NLU also finds in a lone place or product name ("Canada"); social
# turns and requests ("thanks", "exchange it") interrupt a question however short they are.
SHOP_QUESTION_INTENTS = frozenset({"faq", "return_policy", "product_question"})
# How a message that asks something begins; a short message without one and without "?" is an answer.
QUESTION_OPENINGS = frozenset({
    "how", "what", "whats", "what's", "when", "where", "wheres", "where's", "why", "which", "who", "do",
    "does", "did", "can", "could", "is", "are", "will", "would", "should", "may", "tell", "i", "i'm", "im",
    "please", "pls", "any",
})
SHORT_ANSWER_WORDS = 3

ASKING_FOR_MONEY_BACK = re.compile(r"\b(refund|money back|reimburs|my money)", re.IGNORECASE)
ASKING_TO_RETURN = re.compile(
    r"\b(return|send (it |them |this |these |that )?back|ship (it |them )?back|sending back|rma|label|"
    r"doesn'?t fit|too (small|big|large|tight)|broken|damaged|defective|faulty)",
    re.IGNORECASE,
)
ASKING_ABOUT_REFUND_STATUS = re.compile(
    r"\b(where|status|when|still|yet|haven'?t|hasn'?t|not received|didn'?t (get|receive)|waiting|track)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Turn:
    """The customer's latest message as NLU read it."""

    text: str
    intent: str
    confidence: float
    entities: Tuple[Dict[str, Any], ...] = ()
    metadata: Dict[str, Any] = field(default_factory=dict)
    #: the retrieval intent's full key for faq questions ("faq/delivery_times")
    response_key: Optional[str] = None
    #: NLU's best intent other than nlu_fallback, when it was not sure enough to say it
    best_guess: Optional[str] = None

    @property
    def neutralized(self) -> bool:
        """Typed "/intent" text the channel neutralised: never an answer to the gate."""
        return self.text.lstrip().startswith(NEUTRALIZED_COMMAND_MARK)

    @property
    def intents(self) -> Tuple[str, ...]:
        """'cancel_order+request_return' → both; one intent → itself."""
        return tuple(self.intent.split("+"))

    @property
    def guessed_intents(self) -> Tuple[str, ...]:
        """The intents NLU ranked first under its fallback (empty when it did not fall back)."""
        if self.intent != "nlu_fallback" or not self.best_guess:
            return ()
        return tuple(self.best_guess.split("+"))

    def entity_values(self, name: str) -> List[str]:
        return [str(e.get("value")) for e in self.entities if e.get("entity") == name and e.get("value") is not None]

    def confident(self, threshold: float = CONFIDENT) -> bool:
        return self.confidence >= threshold


def asks_something(text: str) -> bool:
    """Whether a message is put as a question or request, not as a bare answer ("Canada", "UK", "Springfield").

    NLU reads a lone place or product name as the FAQ it is most like (international shipping for
    "Canada"); inside a free-text question (an address part, a reason) such a message is the answer.
    """
    words = re.findall(r"[\w']+", str(text or "").lower())
    return "?" in str(text or "") or len(words) > SHORT_ANSWER_WORDS or bool(words and words[0] in QUESTION_OPENINGS)


def read_turn(tracker: Tracker, *, text: Optional[str] = None) -> Turn:
    """The latest message (or `text` in its place, for "try again" and queued requests)."""
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    selector = (message.get("response_selector") or {}).get("faq") or {}
    response_key = ((selector.get("response") or {}).get("intent_response_key"))
    entities = tuple(e for e in (message.get("entities") or []) if isinstance(e, dict))
    metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
    ranking = [r.get("name") for r in (message.get("intent_ranking") or []) if isinstance(r, dict)]
    best_guess = next((name for name in ranking if name and name != "nlu_fallback"), None)
    return Turn(
        text=str(text if text is not None else message.get("text") or ""),
        intent=str(intent.get("name") or "nlu_fallback"),
        confidence=float(intent.get("confidence") or 0.0),
        entities=entities if text is None else (),
        metadata=metadata,
        response_key=response_key if isinstance(response_key, str) else None,
        best_guess=best_guess,
    )


def wants_refund_but_unclear(turn: Turn) -> bool:
    """ "I want a refund": money back, but neither a return nor a refund already on its way is said."""
    return bool(
        ASKING_FOR_MONEY_BACK.search(turn.text)
        and not ASKING_TO_RETURN.search(turn.text)
        and not ASKING_ABOUT_REFUND_STATUS.search(turn.text)
        and not turn.entity_values("item")
    )


def is_fresh_user_turn(tracker: Tracker) -> bool:
    """Whether the form runs on a message just received (not on its way back from a digression).

    After the customer's message only slot extraction has run when the form takes the message; a
    form that runs again after another action (a question answered in between) must not read the
    same message as an answer.
    """
    events = tracker.events
    latest_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    if latest_user < 0:
        return False
    after = [e.get("name") for e in events[latest_user + 1:] if e.get("event") == "action"]
    # Rasa's own bookkeeping, and the form's run itself (the last one), are not "another action".
    others = [name for name in after[:-1] if name not in ("action_extract_slots", "action_listen")]
    return not others


def unread_message(tracker: Tracker, form: str) -> Optional[str]:
    """The customer's message before the latest, if the form never read it (the action server was down).

    Rasa keeps the message but drops the events of the form run that failed, so "try again" can
    give the form the answer it missed.
    """
    events = tracker.events
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if len(users) < 2:
        return None
    previous, latest = users[-2], users[-1]
    between = events[previous + 1:latest]
    # Rasa logs the form's action even when its run failed, with no events after it; a run that
    # read the message always sets slots (requested_slot at least) before the next action.
    read = any(e.get("event") == "action" and e.get("name") == form
               and _sets_slots_before_next_action(between[i + 1:]) for i, e in enumerate(between))
    answered = any(e.get("event") == "bot" for e in between)  # a digression was answered, not missed
    return None if read or answered else str(events[previous].get("text") or "") or None


def _sets_slots_before_next_action(events: List[Dict[str, Any]]) -> bool:
    for event in events:
        if event.get("event") == "action":
            return False
        if event.get("event") in ("slot", "active_loop"):
            return True
    return False
