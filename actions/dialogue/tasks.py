"""The task registry: which intent starts which form, and what a message must say to start it.

Each capability registers its task here when its module is imported, so adding one is one new
module (plus its domain file and data) and nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Pattern, Tuple


@dataclass(frozen=True)
class Task:
    """One thing a customer can ask the assistant to do for an order (or their account)."""

    #: the form that carries it out ("return_form")
    form: str
    #: the intents that ask for it
    intents: Tuple[str, ...]
    #: words a message asking for it contains ("cancel", "stop", "don't want"). They route a
    #: message NLU did not read as a request; and for a task that changes an order, a message
    #: without them (NLU misreading "I meant order 4522" as cancel_order) never starts it: it is
    #: read as a correction of the task at hand instead.
    cues: Pattern[str]
    #: whether the task ends at the confirmation gate (it changes an order, or the customer's account)
    changes_orders: bool = False
    #: whether the task is about one of the customer's orders; False: about the verified customer
    #: alone (their saved address), so no order is asked for or looked up
    needs_order: bool = True
    #: the identity question, worded for what the task needs it for
    verification_prompt: str = "utter_ask_customer_email"
    #: the slots that belong to this task only, cleared when it ends or another starts
    slots: Tuple[str, ...] = ()
    #: what runs when the form is done: the gate's resolution, or the task's report
    finish_action: str = "action_resolve_gate"

    def asked_for_in(self, text: str) -> bool:
        return bool(self.cues.search(text or ""))


_TASKS: Dict[str, Task] = {}


def register_task(task: Task) -> Task:
    _TASKS[task.form] = task
    return task


def task_for_form(form: Optional[str]) -> Optional[Task]:
    return _TASKS.get(form or "")


def task_for_intent(intent: str) -> Optional[Task]:
    return next((task for task in _TASKS.values() if intent in task.intents), None)


def tasks() -> List[Task]:
    return [_TASKS[form] for form in sorted(_TASKS)]


def task_intents() -> List[str]:
    return sorted({intent for task in _TASKS.values() for intent in task.intents})


def all_task_slots() -> Tuple[str, ...]:
    return tuple(sorted({slot for task in _TASKS.values() for slot in task.slots}))


def task_asked_for_in(text: str) -> Optional[Task]:
    """The task a message's words ask for (NLU's backup for routing); the most specific words win.

    "where's my refund" matches tracking's "where" and refunds' "where's my refund": refunds.
    """
    best: Optional[Task] = None
    longest = 0
    for task in _TASKS.values():
        for match in task.cues.finditer(text or ""):
            if len(match.group(0)) > longest:
                best, longest = task, len(match.group(0))
    return best


def cues(*words: str) -> Pattern[str]:
    """A case-insensitive pattern matching any of `words` at a word start."""
    return re.compile(r"\b(?:" + "|".join(words) + r")", re.IGNORECASE)


def load_capabilities(package: str = "actions.capabilities") -> None:
    """Imports every capability module, so each registers its task (and gated action)."""
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        importlib.import_module(f"{package}.{info.name}")
