"""Returns: pick the items, the reason and where the refund goes, check eligibility, gate it.

"I want to return the blue jacket from order #4521" fills the order, the item and (if given)
the reason in one go; "return the cleaner, the headphones and the watch" is one return of three
items. Items are matched against the order's own items ("the jacket", "both", "the other one");
when unclear the customer picks from buttons. Eligibility (window, final sale, one return per
item) is the commerce API's; refunds go back to the original payment method or, where the
shop's policy allows, to store credit or one of the customer's own gift cards.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import gate as gate_module
from actions.api.commerce import CommerceClient, get_commerce_client
from actions.api.errors import CommerceError, Conflict, NotFound, Rejected
from actions.common import blocking, text_slot
from actions.dialogue.conversation import verified_order
from actions.dialogue.finding import ambiguous_mentions, items_mentioned
from actions.dialogue.task_form import TaskFormValidation, TurnContext, item_hint
from actions.dialogue.tasks import Task, cues, register_task
from actions.gate import GatedCapability, NotPossible, Outcome, Proposal
from actions.ledger import FAILED, StagedAction
from actions.shop.eligibility import ineligibility_text
from actions.shop.formatting import card_digits, friendly_date, item_label, money, payment_label
from actions.shop.policy import Policy, get_policy
from actions.shop.profile import get_profile

Order = Dict[str, Any]
Slots = Dict[Text, Any]

RETURN_TASK = register_task(Task(
    form="return_form",
    intents=("request_return",),
    cues=cues("return", "send (it |them |this |these )?back", "ship (it |them )?back", "refund", "money back",
              "rma", "label", "reimburs"),
    changes_orders=True,
    slots=("return_items", "return_item_mention", "return_reason", "return_refund_method"),
))

ORIGINAL = "original_payment"
STORE_CREDIT = "store_credit"
GIFT_CARD = "gift_card"
STORE_CREDIT_WORDS = ("store credit", "credit", "voucher", "shop credit", "account credit")
GIFT_CARD_WORDS = ("gift card", "giftcard", "gift-card")
ORIGINAL_WORDS = ("original", "card", "visa", "master", "amex", "paypal", "back to", "same", "bank",
                  "money back", "how i paid", "payment method")
ADDING_WORDS = ("also", "too", "as well", "and the", "plus", "add")


def reason_from_text(text: Any) -> Optional[str]:
    """A reason in the customer's words (or a reason code) → the shop's reason code."""
    value = str(text or "").strip().lower()
    if not value:
        return None
    profile = get_profile()
    if profile.reason(value):
        return value
    for reason in profile.return_reasons:
        if value in (reason.label.lower(), (reason.button or "").lower()) or any(k in value for k in reason.keywords):
            return reason.code
    return None


def refund_method_from_text(text: Any, allowed: Tuple[str, ...]) -> Optional[str]:
    """'store credit', 'back to my visa', 'gift card' → a refund method the shop allows, or None."""
    value = str(text or "").strip().lower()
    if value in allowed:
        return value
    if any(word in value for word in GIFT_CARD_WORDS):
        return GIFT_CARD if GIFT_CARD in allowed else (STORE_CREDIT if STORE_CREDIT in allowed else None)
    if any(word in value for word in STORE_CREDIT_WORDS):
        return STORE_CREDIT if STORE_CREDIT in allowed else (GIFT_CARD if GIFT_CARD in allowed else None)
    if any(word in value for word in ORIGINAL_WORDS):
        return ORIGINAL
    return None


def refund_choices(policy: Policy, customer: Dict[str, Any], order: Order) -> List[Tuple[str, str]]:
    """(refund method value, how it is said) for every destination the shop allows this customer."""
    choices = []
    for method in policy.refund_methods:
        if method == ORIGINAL:
            choices.append((ORIGINAL, f"back to {payment_label(order.get('payment'))}"))
        elif method == STORE_CREDIT:
            choices.append((STORE_CREDIT, "as store credit"))
        elif method == GIFT_CARD:
            paid_with = _paid_with_gift_card(order) if ORIGINAL in policy.refund_methods else None
            for card in customer.get("payment_methods") or []:
                # the card the order was paid with is already offered as "back to your gift card ..."
                if card.get("method") == GIFT_CARD and f"{GIFT_CARD}:{card.get('payment_method_id')}" != paid_with:
                    value = f"{GIFT_CARD}:{card['payment_method_id']}"
                    balance = f", balance {money(card['balance'])}" if card.get("balance") is not None else ""
                    choices.append((value, f"to your gift card {card_number(value)}{balance}"))
    return choices


def _paid_with_gift_card(order: Order) -> Optional[str]:
    """'gift_card:<id>' when the order was paid with one of the customer's gift cards."""
    payment = order.get("payment") or {}
    return f"{GIFT_CARD}:{payment['payment_method_id']}" if (
        payment.get("method") == GIFT_CARD and payment.get("payment_method_id")) else None


def destination_text(method: str, order: Order) -> str:
    if method == STORE_CREDIT:
        return "as store credit"
    if method.startswith(GIFT_CARD):
        return f"to your gift card {card_number(method)}"
    return f"to {payment_label(order.get('payment'))}"


class ReturnCapability(GatedCapability):
    action_name = "create_return"
    form_name = "return_form"
    staged_slots = ("return_items", "return_reason", "return_refund_method")

    def propose(self, tracker: Tracker, client: CommerceClient) -> Proposal:
        order, customer_id = verified_order(tracker, client)
        if order is None:
            raise NotPossible("I need to verify you before I can set up a return.")
        order_id = order["order_id"]
        chosen = tracker.get_slot("return_items") or []
        items = [item for item in order["items"] if item["item_id"] in chosen]
        if not items or len(items) != len(chosen):
            raise NotPossible("I couldn't find those items on the order any more, so I've stopped here.")
        total = 0.0
        for item in items:
            eligibility = client.return_eligibility(order_id, item["item_id"])
            if not eligibility.get("eligible"):
                raise NotPossible(ineligibility_text(item, eligibility))
            total += float(eligibility.get("refund_amount", item["price"]))
        reason = tracker.get_slot("return_reason")
        method_choice = str(tracker.get_slot("return_refund_method") or ORIGINAL)
        method, _, gift_card_id = method_choice.partition(":")
        currency = order.get("currency")
        amount = money(total, currency)
        destination = destination_text(method_choice, order)
        profile = get_profile()
        if len(items) == 1:
            item_lines = [f"• Item: {item_label(items[0])}"]
        else:
            item_lines = ["• Items:"] + [f"   – {item_label(item)}, {money(item['price'], currency)}" for item in items]
        return Proposal(
            order_id=order_id,
            customer_id=customer_id,
            arguments={
                "order_id": order_id,
                "item_ids": [item["item_id"] for item in items],
                "item_labels": [item_label(item) for item in items],
                "reason": reason,
                "refund_method": method,
                "gift_card_id": gift_card_id or None,
                "refund_amount": amount,
                "refund_destination": destination,
                "refund_timing": get_policy(client).refund_timing(method),
            },
            summary_lines=[
                "Here's the return I'm about to create:",
                f"• Order: {profile.display_order(order_id)}",
                *item_lines,
                f"• Reason: {profile.reason_label(reason)}",
                f"• Refund: {amount} {destination}",
            ],
            question="Shall I create this return?",
        )

    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        args = row.arguments
        try:
            created = client.create_return(
                order_id=args["order_id"], item_ids=args["item_ids"], reason=args["reason"],
                refund_method=args["refund_method"], gift_card_id=args.get("gift_card_id"), idempotency_key=row.id,
            )
        except (Conflict, Rejected, NotFound) as refusal:
            message = f"I couldn't create the return: {_refusal_text(refusal)} Nothing was changed."
            return Outcome(False, [message], {"error_code": refusal.code}, status=FAILED)
        return self._created(args, created)

    def reconcile(self, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
        """The order's return for exactly these items, reason and refund method, if the API has it."""
        args = row.arguments
        for existing in client.list_returns(args["order_id"]):
            item_ids = sorted(i.get("item_id") for i in existing.get("items") or [{"item_id": existing.get("item_id")}])
            if (item_ids, existing.get("reason"), existing.get("refund_method")) == (
                sorted(args["item_ids"]), args["reason"], args["refund_method"]
            ):
                return self._created(args, existing)
        return None

    def describe_result(self, row: StagedAction) -> List[str]:
        return self._created(row.arguments, row.result or {}).messages

    @staticmethod
    def _created(args: Dict[str, Any], created: Dict[str, Any]) -> Outcome:
        labels = args.get("item_labels") or []
        what = labels[0] if len(labels) == 1 else f"{len(labels)} items"
        return Outcome(
            True,
            [
                f"Done — your return {created.get('return_id')} for the {what} is created.",
                (
                    f"We've emailed you a prepaid return label (reference {created.get('label_reference')}). "
                    f"Once the parcel reaches our warehouse we'll refund {args['refund_amount']} "
                    f"{args['refund_destination']}, usually within {args.get('refund_timing') or '5–10 business days'}."
                ),
            ],
            {"return_id": created.get("return_id"), "label_reference": created.get("label_reference")},
        )


def _refusal_text(refusal: CommerceError) -> str:
    reasons = {
        "already_returned": "there's already a return for one of the items.",
        "outside_return_window": "the return window has closed.",
        "final_sale": "a final-sale item can't be returned.",
        "not_delivered": "it hasn't been delivered yet.",
        "order_cancelled": "the order was cancelled.",
        "gift_card_not_customers": "that gift card isn't one of yours.",
        "refund_method_not_allowed": "that refund method isn't available.",
    }
    return reasons.get(refusal.reason or "", "our order system refused it.")


gate_module.register(ReturnCapability())


class ValidateReturnForm(TaskFormValidation):
    task = RETURN_TASK
    gated = True
    free_text_questions = ("return_reason",)
    staged_slots = ReturnCapability.staged_slots

    def name(self) -> Text:
        return "validate_return_form"

    def remember_mentions(self, ctx: TurnContext) -> None:
        if ctx.turn.entity_values("item") or ctx.activating:
            ctx.set("return_item_mention", ctx.turn.text)
        self._take_reason(ctx)

    def order_hint(self, ctx: TurnContext, text: str, orders: List[Order]) -> Optional[List[Order]]:
        mention = text_slot(ctx.tracker, "return_item_mention") or ""
        return item_hint(f"{mention}, {text}", orders, statuses=("delivered",))

    async def check_order(self, order: Order, ctx: TurnContext) -> bool:
        status = order.get("status")
        shown = get_profile().display_order(order["order_id"])
        if status == "processing":
            ctx.say("utter_return_not_shipped", order=shown, order_number=shown)
            return False
        if status == "shipped":
            ctx.say("utter_return_in_transit", order=shown, eta=friendly_date(order.get("estimated_delivery")))
            return False
        if status == "cancelled":
            ctx.say("utter_return_order_cancelled", order=shown)
            return False
        return True

    async def take_answers(self, order: Order, ctx: TurnContext) -> None:
        await self._take_items(order, ctx)
        if ctx.done:
            return
        self._take_reason(ctx)
        await self._take_refund_method(order, ctx)

    def next_question(self, ctx: TurnContext) -> Optional[str]:
        for slot in ("return_items", "return_reason", "return_refund_method"):
            if not ctx.get(slot):
                return slot
        return None

    # -- items ---------------------------------------------------------------------------

    async def _take_items(self, order: Order, ctx: TurnContext) -> None:
        items = order["items"]
        current = [i for i in (ctx.get("return_items") or []) if any(it["item_id"] == i for it in items)]
        mention = text_slot(ctx.tracker, "return_item_mention")
        if mention:
            ctx.set("return_item_mention", None)
        texts = ([mention] if mention else []) + ([ctx.turn.text] if ctx.reading else [])
        asked = ctx.requested == "return_items"
        selected: Optional[List[str]] = None
        for text in texts:
            found = items_mentioned(text, items, current=current)
            if found and [item for item in ambiguous_mentions(text, items) if item not in found]:
                # "the bookshelf and the earbuds" with three different earbuds: never drop a part
                # silently; the list comes next and the customer picks (nothing is selected yet)
                ctx.say("utter_item_ambiguous")
                ctx.ask("return_items")
                return
            if found:
                ids = [item["item_id"] for item in found]
                adding = current and any(word in text.lower() for word in ADDING_WORDS)
                selected = sorted(set(current) | set(ids), key=[i["item_id"] for i in items].index) if adding else ids
            elif text is ctx.turn.text and asked and ctx.turn.intent in ("inform", "nlu_fallback"):
                if ambiguous_mentions(text, items):
                    ctx.say("utter_item_ambiguous")
                else:
                    ctx.say("utter_item_not_on_order", order=get_profile().display_order(order["order_id"]))
                await self.count_failed_attempt(ctx, "return_items")
                return
        if selected is None and not current and len(items) == 1:
            selected = [items[0]["item_id"]]
        if selected is None or selected == current:
            return
        eligible = await self._eligible(order, selected, ctx)
        if eligible is None:
            return
        ctx.set("return_items", eligible or None)
        self.answered(ctx, "return_items")
        if not eligible:
            returnable = await self._any_other_returnable(order, selected)
            if returnable:
                ctx.ask("return_items")
            else:
                ctx.halt()

    async def _eligible(self, order: Order, item_ids: List[str], ctx: TurnContext) -> Optional[List[str]]:
        client = get_commerce_client()
        eligible = []
        for item in order["items"]:
            if item["item_id"] not in item_ids:
                continue
            verdict = await blocking(client.return_eligibility, order["order_id"], item["item_id"])
            if verdict.get("eligible"):
                eligible.append(item["item_id"])
            else:
                ctx.say(text=ineligibility_text(item, verdict))
        return eligible

    async def _any_other_returnable(self, order: Order, refused: List[str]) -> bool:
        client = get_commerce_client()
        for item in order["items"]:
            if item["item_id"] in refused or item.get("return_status") or item.get("exchange_id"):
                continue
            verdict = await blocking(client.return_eligibility, order["order_id"], item["item_id"])
            if verdict.get("eligible"):
                return True
        return False

    # -- reason and refund ---------------------------------------------------------------

    def _take_reason(self, ctx: TurnContext) -> None:
        if not ctx.reading:
            return
        asked = ctx.requested == "return_reason"
        values = ctx.turn.entity_values("return_reason")
        reason = next((code for code in (reason_from_text(v) for v in values) if code), None)
        if reason is None and asked:
            reason = reason_from_text(ctx.turn.text) or "other"
        elif reason is None and ctx.requested in (None, "return_items", "gate_confirmation") and values:
            reason = "other"
        if reason and reason != ctx.get("return_reason"):
            ctx.set("return_reason", reason)
            self.answered(ctx, "return_reason")

    async def _take_refund_method(self, order: Order, ctx: TurnContext) -> None:
        client = get_commerce_client()
        policy = await blocking(get_policy, client)
        allowed = policy.refund_methods
        choices = None
        if ctx.reading:
            asked = ctx.requested == "return_refund_method"
            values = ctx.turn.entity_values("refund_method") + ([ctx.turn.text] if asked else [])
            for value in values:
                method = refund_method_from_text(value, allowed)
                if method is None:
                    continue
                if method == GIFT_CARD:
                    choices = choices or await self._choices(policy, order, ctx)
                    cards = [choice for choice, _ in choices if choice.startswith(GIFT_CARD)]
                    named = [card for card in cards if card_number(card) in value]
                    paid_with = _paid_with_gift_card(order)
                    if paid_with and ORIGINAL in allowed and (not cards or card_number(paid_with) in value):
                        method = ORIGINAL  # the card the order was paid with: "back to your gift card ..."
                    elif len(cards) == 1 or len(named) == 1:
                        method = (named or cards)[0]
                    else:
                        ctx.say("utter_gift_card_choice" if cards else "utter_no_gift_card")
                        ctx.ask("return_refund_method")
                        return
                if method != ctx.get("return_refund_method"):
                    ctx.set("return_refund_method", method)
                    self.answered(ctx, "return_refund_method")
                break
            else:
                if asked and ctx.turn.intent in ("inform", "nlu_fallback"):
                    ctx.say("utter_refund_method_unclear")
                    await self.count_failed_attempt(ctx, "return_refund_method")
                    return
        if not ctx.get("return_refund_method") and allowed == (ORIGINAL,):
            ctx.set("return_refund_method", ORIGINAL)  # nothing to choose

    async def _choices(self, policy: Policy, order: Order, ctx: TurnContext) -> List[Tuple[str, str]]:
        customer = await blocking(get_commerce_client().get_customer, ctx.customer)
        return refund_choices(policy, customer, order)


class ActionAskReturnItems(Action):
    """Asks which items, with one button per item on the (verified) order."""

    def name(self) -> Text:
        return "action_ask_return_items"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        try:
            order, _ = await blocking(verified_order, tracker, get_commerce_client())
        except CommerceError:
            dispatcher.utter_message(response="utter_commerce_unavailable")
            return []
        if order is None:
            return []
        currency = order.get("currency")
        buttons = [{"title": f"{item_label(item)} — {money(item['price'], currency)}", "payload": item_label(item)}
                   for item in order["items"] if not item.get("return_status") and not item.get("exchange_id")]
        if len(buttons) > 1:
            buttons.append({"title": "All of them", "payload": "All of them"})
        dispatcher.utter_message(response="utter_ask_return_items", buttons=buttons)
        return []


class ActionAskReturnReason(Action):
    """Asks why, with the shop's own return reasons as buttons."""

    def name(self) -> Text:
        return "action_ask_return_reason"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        buttons = [{"title": reason.label, "payload": reason.button or reason.label}
                   for reason in get_profile().return_reasons]
        dispatcher.utter_message(response="utter_ask_return_reason", buttons=buttons)
        return []


class ActionAskReturnRefundMethod(Action):
    """Asks where the refund should go, naming the customer's own payment method and gift cards."""

    def name(self) -> Text:
        return "action_ask_return_refund_method"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        client = get_commerce_client()
        try:
            order, customer_id = await blocking(verified_order, tracker, client)
            if order is None:
                return []
            policy = await blocking(get_policy, client)
            customer = await blocking(client.get_customer, customer_id)
        except CommerceError:
            dispatcher.utter_message(response="utter_commerce_unavailable")
            return []
        choices = refund_choices(policy, customer, order)
        buttons = [{"title": _title(value, said), "payload": _payload(value, said)} for value, said in choices]
        dispatcher.utter_message(response="utter_ask_return_refund_method",
                                 options=" or ".join(said for _, said in choices), buttons=buttons)
        return []


def _title(value: str, said: str) -> str:
    """The button: 'Back to Visa ending 4242', 'Store credit', 'Gift card 1725971, balance $20.00'."""
    if value == STORE_CREDIT:
        return "Store credit"
    if value.startswith(GIFT_CARD):
        return said.removeprefix("to your g").join(("G", ""))
    return said[0].upper() + said[1:]


def _payload(value: str, said: str) -> str:
    """Plain words NLU reads like typed text (no "/intent" payloads)."""
    if value == ORIGINAL:
        return "Back to my original payment method"
    if value == STORE_CREDIT:
        return "Store credit"
    return f"To my gift card {card_number(value)}"


def card_number(choice: str) -> str:
    """The digits that tell a customer's gift cards apart ('gift_card:gift_card_1725971' → '1725971')."""
    return card_digits(choice.partition(":")[2]) or choice
