"""Paying an order that has not shipped with another of the customer's own payment methods, behind the gate.

"Can I pay order #W123 with my gift card instead": only the verified customer's own methods are
offered, never the one already paying; a gift card must cover the whole order total (its balance
is said when it does not). The prompt names both methods and the amount; the API moves the money.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import gate as gate_module
from actions.api.commerce import CommerceClient, get_commerce_client
from actions.api.errors import Conflict, NotFound, Rejected
from actions.common import blocking, text_slot
from actions.dialogue.asking import AskAboutOrder
from actions.dialogue.conversation import verified_order
from actions.dialogue.payment_questions import PAYMENT_WORDS, covers, method_buttons, method_label, methods_named
from actions.dialogue.task_form import TaskFormValidation, TurnContext
from actions.dialogue.tasks import Task, cues, register_task
from actions.dialogue.turns import Turn
from actions.gate import GatedCapability, NotPossible, Outcome, Proposal
from actions.ledger import FAILED, StagedAction
from actions.shop.formatting import cents, money, payment_label
from actions.shop.profile import get_profile

Order = Dict[str, Any]
Method = Dict[str, Any]

PAYMENT_TASK = register_task(Task(
    form="payment_change_form",
    intents=("change_payment_method",),
    # paying words, not a card's name alone: "back to my card" answers a return's refund question
    cues=cues(r"pay(ment|ing)?\b", "paid", "charg", "billing", "bill (it|me)"),
    changes_orders=True,
    slots=("new_payment_method", "payment_mention"),
))

REFUSALS = {
    "insufficient_balance": "the gift card's balance doesn't cover the order total.",
    "not_customers": "that payment method isn't one of yours.",
    "unchanged": "the order is already paid with it.",
    "already_shipped": "the order has shipped in the meantime.",
    "already_delivered": "the order has been delivered.",
    "already_cancelled": "the order was cancelled.",
}


def explain_payment_fixed(order: Order) -> str:
    shown = get_profile().display_order(order["order_id"])
    if order.get("status") == "cancelled":
        return f"Order {shown} was cancelled, so there's no payment to change."
    return (f"Order {shown} has already shipped, so it was charged to {payment_label(order.get('payment'))} and "
            "its payment can't be changed any more.")


def other_methods(order: Order, methods: List[Method]) -> List[Method]:
    """The customer's methods that are not the one paying for the order now."""
    paying = (order.get("payment") or {}).get("payment_method_id")
    return [m for m in methods if m.get("payment_method_id") != paying]


def total_of(order: Order) -> float:
    return cents(order.get("total")) / 100


class PaymentChangeCapability(GatedCapability):
    action_name = "change_payment_method"
    form_name = "payment_change_form"
    staged_slots = ("new_payment_method",)

    def propose(self, tracker: Tracker, client: CommerceClient) -> Proposal:
        order, customer_id = verified_order(tracker, client)
        if order is None:
            raise NotPossible("I need to verify you before I can change how an order is paid.")
        if order.get("status") != "processing":
            raise NotPossible(explain_payment_fixed(order))
        methods = client.get_customer(customer_id).get("payment_methods") or []
        chosen = text_slot(tracker, "new_payment_method")
        method = next((m for m in other_methods(order, methods) if m.get("payment_method_id") == chosen), None)
        if method is None:
            raise NotPossible("I couldn't find that payment method on your account any more, so I've stopped here.")
        currency = order.get("currency")
        total = money(order.get("total"), currency)
        if not covers(method, total_of(order)):
            raise NotPossible(f"{method_label(method)} doesn't cover the order total of {total}, so I've stopped here.")
        shown = get_profile().display_order(order["order_id"])
        old = payment_label(order.get("payment"))
        new = method_label(method, balance=False)
        return Proposal(
            order_id=order["order_id"],
            customer_id=customer_id,
            arguments={"order_id": order["order_id"], "order_shown": shown, "payment_method_id": chosen,
                       "old_label": old, "new_label": new, "total": total, "total_cents": cents(order.get("total"))},
            summary_lines=[f"I'm about to change how order {shown} is paid:", f"• From: {old}", f"• To: {new}",
                           f"• Amount: {total}, charged to {new}; {old} gets the {total} back"],
            question="Shall I change the payment method?",
        )

    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        args = row.arguments
        if cents(client.get_order(args["order_id"]).get("total")) != args["total_cents"]:
            # the total moved after the prompt was shown: what the customer agreed to is not what would be charged
            done = self.reconcile(client, row)
            if done is not None:
                return done
            return Outcome(False, [f"Order {args['order_shown']}'s total has changed since I showed it, so I haven't "
                                   "changed anything. Ask me again and I'll show the new amount."],
                           {"error_code": "total_changed"}, status=FAILED)
        try:
            client.change_order_payment(order_id=args["order_id"], payment_method_id=args["payment_method_id"],
                                        idempotency_key=row.id)
        except (Conflict, Rejected, NotFound) as refusal:
            why = REFUSALS.get(refusal.reason or "", "our order system refused it.")
            return Outcome(False, [f"I couldn't change how order {args['order_shown']} is paid: {why} "
                                   "Nothing was changed."], {"error_code": refusal.code, "reason": refusal.reason},
                           status=FAILED)
        return self._done(args)

    def reconcile(self, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
        order = client.get_order(row.arguments["order_id"])
        paying = (order.get("payment") or {}).get("payment_method_id")
        return self._done(row.arguments) if paying == row.arguments["payment_method_id"] else None

    def describe_result(self, row: StagedAction) -> List[str]:
        return self._done(row.arguments).messages

    @staticmethod
    def _done(args: Dict[str, Any]) -> Outcome:
        return Outcome(True, [f"Done — order {args['order_shown']} is now paid with {args['new_label']}, and "
                              f"{args['old_label']} gets the {args['total']} back."], {"payment_changed": True})


gate_module.register(PaymentChangeCapability())


class ValidatePaymentChangeForm(TaskFormValidation):
    task = PAYMENT_TASK
    gated = True
    staged_slots = PaymentChangeCapability.staged_slots
    free_text_questions = ("new_payment_method",)  # "my gift card" answers it; it asks nothing about gift cards
    gate_words = PAYMENT_WORDS  # "yes, the gift card" with two, or naming the one already chosen

    def name(self) -> Text:
        return "validate_payment_change_form"

    def takes(self, turn: Turn, requested: Optional[str], tracker: Tracker) -> bool:
        if requested == "new_payment_method" and PAYMENT_WORDS.search(turn.text or ""):
            return True  # "my gift card, it has enough on it" answers the question
        return super().takes(turn, requested, tracker)

    def remember_mentions(self, ctx: TurnContext) -> None:
        if ctx.activating:
            ctx.set("payment_mention", ctx.turn.text)  # "...with my gift card instead", read once verified

    async def check_order(self, order: Order, ctx: TurnContext) -> bool:
        if order.get("status") == "processing":
            return True
        ctx.say(text=explain_payment_fixed(order))
        return False

    async def take_answers(self, order: Order, ctx: TurnContext) -> None:
        customer = await blocking(get_commerce_client().get_customer, ctx.customer)
        candidates = other_methods(order, customer.get("payment_methods") or [])
        total = total_of(order)
        usable = [m for m in candidates if covers(m, total)]
        if not candidates:
            ctx.say("utter_payment_no_other", method=payment_label(order.get("payment")))
            ctx.halt()
            return
        asked = ctx.requested == "new_payment_method"
        mention = text_slot(ctx.tracker, "payment_mention")
        if mention:
            ctx.set("payment_mention", None)
        text = " ".join(filter(None, (mention, ctx.turn.text if ctx.reading else None)))
        if text:
            named = methods_named(text, candidates)
            if not named and methods_named(text, customer.get("payment_methods") or []):
                ctx.say("utter_payment_already", method=payment_label(order.get("payment")))
                ctx.ask("new_payment_method")
                return
            fits = [m for m in named if m in usable]
            if len(fits) == 1:
                if fits[0]["payment_method_id"] != ctx.get("new_payment_method"):
                    ctx.set("new_payment_method", fits[0]["payment_method_id"])
                self.answered(ctx, "new_payment_method")
                return
            if named and not fits:
                ctx.say("utter_payment_too_low", method=method_label(named[0], capital=True),
                        amount=money(order.get("total"), order.get("currency")))
                ctx.set("new_payment_method", None)
                ctx.ask("new_payment_method")
                return
            if named:
                ctx.say("utter_payment_which")
                ctx.ask("new_payment_method")
                return
            if asked and ctx.reading and ctx.turn.intent in ("inform", "nlu_fallback"):
                ctx.say("utter_payment_unclear")
                await self.count_failed_attempt(ctx, "new_payment_method")
                return
        if not usable:
            ctx.say("utter_payment_none_covers", amount=money(order.get("total"), order.get("currency")))
            ctx.halt()
        elif not ctx.get("new_payment_method") and len(candidates) == 1:
            ctx.set("new_payment_method", usable[0]["payment_method_id"])  # the only other one

    def next_question(self, ctx: TurnContext) -> Optional[str]:
        return None if ctx.get("new_payment_method") else "new_payment_method"


class ActionAskNewPaymentMethod(AskAboutOrder):
    """Which method instead: the customer's others, a gift card only if it covers the total."""

    def name(self) -> Text:
        return "action_ask_new_payment_method"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, client: CommerceClient, order: Order,
                  customer_id: str) -> None:
        customer = await blocking(client.get_customer, customer_id)
        usable = [m for m in other_methods(order, customer.get("payment_methods") or []) if covers(m, total_of(order))]
        dispatcher.utter_message(response="utter_ask_new_payment_method",
                                 method=payment_label(order.get("payment")),
                                 total=money(order.get("total"), order.get("currency")),
                                 buttons=method_buttons(usable))
