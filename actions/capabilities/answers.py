"""Questions answered on the spot — inside a task too, which then asks its question again.

General shop questions (`faq/...`, Rasa's retrieval intents) are answered from the shop's content
file (`actions.shop.content`); the return policy from the commerce API's own policy, so the bot
and the API cannot disagree; product questions (sizes, colours, stock, price) from the shop's
catalogue (`actions.shop.catalogue`), without asking who the customer is; anything else gets
"I can't do that here, this is who can". None of them asks for an order number.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions import telemetry
from actions.api.commerce import get_commerce_client
from actions.api.errors import CommerceError
from actions.common import blocking
from actions.dialogue.finding import ambiguous_mentions, items_mentioned
from actions.dialogue.gate_actions import form_of
from actions.dialogue.switching import guessed_task_is_asked_for
from actions.dialogue.turns import Turn, read_turn
from actions.shop import catalogue
from actions.shop.content import answer
from actions.shop.policy import get_policy

# Intent → the domain response that answers it (when the shop's file has no answer of its own).
RESPONSES = {
    "greet": "utter_greet",
    "thank": "utter_you_are_welcome",
    "bot_challenge": "utter_iamabot",
    "out_of_scope": "utter_out_of_scope",
}
REFUND_DESTINATIONS = {
    "original_payment": "to your original payment method",
    "store_credit": "as store credit",
    "gift_card": "to one of your gift cards",
}


def refund_destinations(methods) -> str:
    said = [REFUND_DESTINATIONS.get(method, method) for method in methods]
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " or " + said[-1]


class ActionAnswerQuestion(Action):
    """Answers a question or a request it cannot carry out; a task in progress then resumes."""

    def name(self) -> Text:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
                  ) -> List[Dict[Text, Any]]:
        turn = read_turn(tracker)
        if turn.intent == "faq":
            key = (turn.response_key or "faq/").partition("/")[2]
            text = answer(key) if key else None
            if text:
                dispatcher.utter_message(text=text)
            elif key:
                dispatcher.utter_message(response=f"utter_faq/{key}")
            else:
                dispatcher.utter_message(response="utter_out_of_scope")
        elif turn.intent == "return_policy":
            await self._policy(dispatcher)
        elif turn.intent == "product_question":
            await self._product(dispatcher, turn)
        else:
            key = turn.intent
            text = answer(key)
            if text:
                dispatcher.utter_message(text=text)
            else:
                dispatcher.utter_message(response=RESPONSES.get(key, "utter_out_of_scope"))
        form = form_of(tracker)
        return [FollowupAction(form)] if form else []

    @staticmethod
    async def _product(dispatcher: CollectingDispatcher, turn: Turn) -> None:
        """The catalogue's sizes, colours, stock and prices of the product the customer names."""
        phrase = " ".join(turn.entity_values("item")) or turn.text
        try:
            found = await blocking(catalogue.candidates, get_commerce_client(), phrase)
        except CommerceError:
            dispatcher.utter_message(response="utter_product_question")  # where else to look
            return
        products = {str(p.get("product_id")): p for p in found}
        items = [catalogue.as_item(p) for p in found]
        named = items_mentioned(phrase, items)
        if len(named) == 1:
            dispatcher.utter_message(text=catalogue.describe(products[named[0]["item_id"]], turn.text))
        elif choices := (named or ambiguous_mentions(phrase, items))[:catalogue.MAX_LISTED]:
            dispatcher.utter_message(response="utter_which_product", buttons=[
                {"title": item["name"], "payload": f"What sizes and colours does the {item['name']} come in?"}
                for item in choices])
        else:
            dispatcher.utter_message(response="utter_product_not_found")

    @staticmethod
    async def _policy(dispatcher: CollectingDispatcher) -> None:
        try:
            policy = await blocking(get_policy, get_commerce_client())
        except CommerceError:
            dispatcher.utter_message(response="utter_return_policy")  # the shop's general wording
            return
        values = {
            "return_window_days": str(policy.return_window_days),
            "refund_destinations": refund_destinations(policy.refund_methods),
            "refund_timing": policy.refund_timing("original_payment"),
        }
        text = answer("return_policy", **values)
        if text:
            dispatcher.utter_message(text=text)
        else:
            dispatcher.utter_message(response="utter_return_policy_from_api", **values)


class ActionFallback(Action):
    """NLU is unsure: start the task its best guess names if the words say so too, else ask to rephrase.

    "cancel the pending one and return the wireless earbuds from the other" may fall just under the
    fallback threshold; its best guess (cancel_order+request_return) plus the words "cancel" and
    "return" are enough. Anything else is counted (`assistant_fallbacks_total`) and asked again.
    """

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
                  ) -> List[Dict[Text, Any]]:
        if guessed_task_is_asked_for(read_turn(tracker)):
            return [FollowupAction("action_switch_task")]
        telemetry.FALLBACKS.inc()
        dispatcher.utter_message(response="utter_default")
        return []
