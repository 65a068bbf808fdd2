"""Stops Rasa from hiding tracker store failures behind an empty in-memory conversation.

Rasa 3.6 wraps every tracker store in `FailSafeTrackerStore`: when the store cannot
be read, the turn continues on a brand-new conversation (no form, no slots, no
verified identity), and when it cannot be written, the turn's events go to the
replica's memory and are lost to every other replica. For a store whose class sets
`fail_closed = True`, `install()` makes the agent use the store as it is: an error
reaches the channel, the turn stops before any action runs, and the customer is
asked to send the message again (shop_channels.neutralizing).

Patched in one place, at import of the store (Rasa imports it before it builds the
agent); Rasa is pinned to 3.6.21, whose `Agent._create_tracker_store` this replaces.
"""

from __future__ import annotations

from typing import Optional

from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain


def _create_tracker_store(store: Optional[TrackerStore], domain: Domain) -> TrackerStore:
    if store is None:
        return FailSafeTrackerStore(InMemoryTrackerStore(domain))
    store.domain = domain
    if getattr(store, "fail_closed", False):
        return store
    return FailSafeTrackerStore(store)


def install() -> None:
    Agent._create_tracker_store = staticmethod(_create_tracker_store)
