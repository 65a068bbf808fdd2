"""The questions every task asks: who are you, and which of your orders? (listed only for the verified customer).

`AskAboutOrder` is the base of a task's own questions about the verified order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.commerce import CommerceClient, get_commerce_client
from actions.api.errors import CommerceError
from actions.common import blocking
from actions.dialogue.conversation import verified_order
from actions.dialogue.finding import order_buttons
from actions.dialogue.tasks import task_for_form
from actions.identity.verification import current_customer


class ActionAskOrderId(Action):
    """Asks which order, with the verified customer's recent orders as buttons (newest first)."""

    def name(self) -> Text:
        return "action_ask_order_id"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        customer = current_customer(tracker)
        if customer is None:
            return []  # nothing about any order before verification
        try:
            orders = await blocking(get_commerce_client().customer_orders, customer)
        except CommerceError:
            dispatcher.utter_message(response="utter_commerce_unavailable")
            return []
        choices = tracker.get_slot("order_choices")
        if isinstance(choices, list) and choices:
            orders = [order for order in orders if order["order_id"] in choices] or orders
        dispatcher.utter_message(response="utter_ask_order_id", buttons=order_buttons(orders))
        return []


class ActionAskCustomerEmail(Action):
    """Asks who the customer is, unless they just said so and only the order system failed.

    A form whose commerce API call failed after verifying the customer keeps asking the question it
    was on (so "try again" re-reads that message); asking for the email again would be wrong. The
    question says what it is for: the task's `verification_prompt` ("to look up your orders", "to
    change your saved address").
    """

    def name(self) -> Text:
        return "action_ask_customer_email"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        if current_customer(tracker) is None:
            task = task_for_form(tracker.active_loop_name)
            dispatcher.utter_message(response=task.verification_prompt if task else "utter_ask_customer_email")
        return []


class AskAboutOrder(Action, ABC):
    """An ask action that needs the verified order (and says so when the API is down)."""

    @abstractmethod
    def name(self) -> Text:
        """Abstract, so the SDK does not register the base class."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        client = get_commerce_client()
        try:
            order, customer_id = await blocking(verified_order, tracker, client)
            if order is not None:
                await self.ask(dispatcher, tracker, client, order, customer_id)
        except CommerceError:
            dispatcher.utter_message(response="utter_commerce_unavailable")
        return []

    @abstractmethod
    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, client: CommerceClient,
                  order: Dict[str, Any], customer_id: str) -> None:
        """Asks the question about the verified `order`."""
