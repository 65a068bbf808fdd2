"""The same thing in another size or colour: exchanges of delivered items, and swaps before shipping.

"Can I exchange my sneakers for a size 10", "the jacket in L instead", "something a size up" —
one task whatever the order's state, because the customer asks the same thing:

- a **delivered** order gets an exchange (`POST /exchanges`): the rules of a return (window, final
  sale, one open request per item), a prepaid label for the old item, the new variant shipped;
- an order that **has not shipped** has its items changed in place (`PATCH /orders/{id}/items`).

Either way the new variant is one of the same product's, in stock, chosen from the catalogue
(named options, "a bigger size", "the cheapest one"; several that fit are listed to pick from);
the price difference is shown at the confirmation and charged to, or refunded to, a payment
method of the customer's own that they choose (a gift card must cover a charge). Behind the gate
like every write; the prompt says which of the two it is.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker

from actions import gate as gate_module
from actions.api.commerce import CommerceClient, get_commerce_client
from actions.api.errors import Conflict, NotFound, Rejected
from actions.common import blocking, text_slot
from actions.dialogue.asking import AskAboutOrder
from actions.dialogue.conversation import verified_order
from actions.dialogue.finding import ambiguous_mentions, items_mentioned
from actions.dialogue.payment_questions import PAYMENT_WORDS, covers, method_buttons, method_label, methods_named
from actions.dialogue.task_form import TaskFormValidation, TurnContext, item_hint
from actions.dialogue.tasks import Task, cues, register_task
from actions.dialogue.turns import Turn
from actions.gate import GatedCapability, NotPossible, Outcome, Proposal
from actions.ledger import FAILED, StagedAction
from actions.shop import catalogue
from actions.shop.eligibility import ineligibility_text
from actions.shop.formatting import cents, friendly_date, item_label, money
from actions.shop.profile import get_profile

Order = Dict[str, Any]
Item = Dict[str, Any]

SWAP_SLOTS = ("swap_items", "swap_item_mention", "swap_variants", "swap_variant_hint", "swap_payment_method",
              "swap_needs_payment")

EXCHANGE_TASK = register_task(Task(
    form="exchange_form",
    intents=("request_exchange", "modify_order_items"),
    # the words of a swap only: "instead", "the other one", "my card" also answer other questions
    cues=cues("exchang", "swap", "replace", "trade", "modif", "bigger", "smaller", "larger", "size (up|down)",
              r"(another|different|other|next|correct|right) (size|colou?r|variant|model|version|style|fit)",
              r"change (the |my |its |their )?(size|colou?r|item|variant|product)", r"in (a |another )?size",
              "edit (my |the )?(order|item)"),
    changes_orders=True,
    slots=SWAP_SLOTS,
))

EXCHANGE = "exchange"
ITEM_CHANGE = "item_change"
# "the scarf too" adds an item; "it's too small" and "plus size" do not
ADDING = re.compile(r"\b(also|as well|and the|plus(?! size)|too(?! (small|big|large|tight|loose|short|long|wide|"
                    r"narrow|much)))\b", re.IGNORECASE)
# the questions whose answers may carry the variant (or the payment method) the customer wants
READS_VARIANT = (None, "swap_items", "swap_variant", "gate_confirmation")
READS_PAYMENT = (None, "swap_payment_method", "gate_confirmation")
# words about a variant: at the confirmation they must change it, or be asked about
VARIANT_WORDS = re.compile(r"\b(size|sizes|bigger|smaller|larger|colou?rs?|cheap\w*|\d+)\b", re.IGNORECASE)
REFUSALS = {
    "already_returned": "there's already a return or an exchange open for one of the items.",
    "outside_return_window": "the return window has closed.",
    "final_sale": "a final-sale item can't be exchanged.",
    "not_delivered": "the order hasn't been delivered yet.",
    "variant_unavailable": "the new variant has just sold out.",
    "other_product": "the new variant isn't one of the same product's.",
    "same_variant": "that's the variant you already have.",
    "unknown_variant": "that variant isn't in our catalogue any more.",
    "insufficient_balance": "the gift card's balance doesn't cover the difference.",
    "not_customers": "that payment method isn't one of yours.",
    "payment_method_required": "the price difference needs a payment method.",
    "already_shipped": "the order has shipped in the meantime.",
    "already_delivered": "the order has been delivered in the meantime.",
    "already_cancelled": "the order was cancelled.",
    "order_cancelled": "the order was cancelled.",
}


def kind_of(order: Order) -> Optional[str]:
    status = order.get("status")
    return EXCHANGE if status == "delivered" else ITEM_CHANGE if status == "processing" else None


def difference_cents(order: Order, swaps: Dict[str, Dict[str, Any]]) -> int:
    """New prices minus old ones, over the chosen swaps ({item id: {"variant_id", "price", ...}})."""
    old = {item["item_id"]: cents(item.get("price")) for item in order.get("items") or []}
    return sum(cents(choice.get("price")) - old.get(item_id, 0) for item_id, choice in swaps.items())


def new_label(item: Item, variant: Dict[str, Any]) -> str:
    options = variant.get("options") or {}
    return item_label({"name": item["name"], "options": options}) if options else str(item["name"])


def difference_said(amount: int, method: Optional[Dict[str, Any]], currency: Optional[str]) -> Optional[str]:
    """'you pay $6.00, charged to Visa ending 4242', 'we refund $5.00 to PayPal'; None when there is none."""
    if amount == 0:
        return None
    said = money(abs(amount) / 100, currency)
    where = method_label(method, balance=False) if method else "your payment method"
    return f"you pay {said}, charged to {where}" if amount > 0 else f"we refund {said} to {where}"


def items_named(text: str, items: List[Item], current: List[str]) -> Tuple[List[Item], List[Item]]:
    """(the items `text` names, the others it could mean): by their names first, since in "the water
    bottle for 1000ml, glass, red" the options are the new variant's, and "glass" must not pick the
    glass bookshelf on the same order."""
    bare = [{"item_id": item["item_id"], "name": item["name"]} for item in items]
    by_name = {item["item_id"] for item in items_mentioned(text, bare, current=current)}
    found = items_mentioned(text, items, current=current)
    unclear = [item for item in ambiguous_mentions(text, items) if item not in found]
    if not by_name:
        return found, unclear
    names = {item["name"] for item in items if item["item_id"] in by_name}
    found = [item for item in found if item["item_id"] in by_name] or [i for i in items if i["item_id"] in by_name]
    return found, [item for item in unclear if item["name"] in names and item not in found]


class ExchangeCapability(GatedCapability):
    action_name = "exchange_items"
    form_name = "exchange_form"
    staged_slots = ("swap_items", "swap_variants", "swap_payment_method")

    def propose(self, tracker: Tracker, client: CommerceClient) -> Proposal:
        order, customer_id = verified_order(tracker, client)
        if order is None:
            raise NotPossible("I need to verify you before I can change or exchange items.")
        kind = kind_of(order)
        if kind is None:
            raise NotPossible(explain_no_swap(order))
        chosen = tracker.get_slot("swap_items") or []
        picked = tracker.get_slot("swap_variants") or {}
        items = [item for item in order["items"] if item["item_id"] in chosen]
        if not items or len(items) != len(chosen) or any(item["item_id"] not in picked for item in items):
            raise NotPossible("I couldn't find those items on the order any more, so I've stopped here.")
        currency = order.get("currency")
        swaps: Dict[str, Dict[str, Any]] = {}
        lines, labels = [], []
        for item in items:
            if kind == EXCHANGE:
                verdict = client.return_eligibility(order["order_id"], item["item_id"])
                if not verdict.get("eligible"):
                    raise NotPossible(ineligibility_text(item, verdict, doing="exchanged"))
            product = client.get_product(str(item.get("product_id")))
            variant = next((v for v in catalogue.alternatives(product, item.get("variant_id"))
                            if v.get("variant_id") == picked[item["item_id"]].get("variant_id")), None)
            if variant is None or not variant.get("available"):
                raise NotPossible(f"The {item['name']} in the variant you chose has just sold out, so I've stopped "
                                  "here. Ask me again and I'll show what's in stock now.")
            swaps[item["item_id"]] = {"variant_id": variant["variant_id"], "price": variant.get("price")}
            lines.append(f"• {item_label(item)} → {new_label(item, variant)}, "
                         f"{money(item.get('price'), currency)} → {money(variant.get('price'), currency)}")
            labels.append(new_label(item, variant))
        amount = difference_cents(order, swaps)
        method_id = text_slot(tracker, "swap_payment_method") if amount else None
        method = None
        if amount:
            methods = client.get_customer(customer_id).get("payment_methods") or []
            method = next((m for m in methods if m.get("payment_method_id") == method_id), None)
            if method is None:
                raise NotPossible("I couldn't find that payment method on your account any more, so I've stopped here.")
            if amount > 0 and not covers(method, amount / 100):
                raise NotPossible(f"{method_label(method)} doesn't cover the {money(amount / 100, currency)} "
                                  "difference, so I've stopped here. Ask me again and pick another payment method.")
        shown = get_profile().display_order(order["order_id"])
        if kind == EXCHANGE:
            heading = [f"Here's the exchange I'm about to create for order {shown}:"]
            tail = ["• We'll email you a prepaid label to send the old item back; the new one ships to "
                    "your delivery address."]
            question = "Shall I create this exchange?"
        else:
            total = money((cents(order.get("total")) + amount) / 100, currency)
            heading = [f"I'm about to change order {shown} before it ships:"]
            tail = [f"• New order total: {total}"]
            question = "Shall I change the order this way?"
        difference = difference_said(amount, method, currency)
        return Proposal(
            order_id=order["order_id"],
            customer_id=customer_id,
            arguments={
                "kind": kind, "order_id": order["order_id"], "order_shown": shown,
                "swaps": {item_id: choice["variant_id"] for item_id, choice in swaps.items()},
                "products": {item["item_id"]: str(item.get("product_id")) for item in items},
                "new_labels": labels, "payment_method_id": method_id, "difference": difference,
                "difference_cents": amount,
            },
            summary_lines=[*heading, *lines, f"• Price difference: {difference or 'none'}", *tail],
            question=question,
        )

    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        args = row.arguments
        if self._difference_now(client, args) != args["difference_cents"]:
            # a price moved after the prompt was shown: what the customer agreed to is not what would be
            # charged — unless this is a retry of a write that already went through (the order's prices moved)
            done = self.reconcile(client, row)
            if done is not None:
                return done
            return Outcome(False, ["A price has changed since I showed you the exchange, so I haven't changed "
                                   "anything. Ask me again and I'll show the new amounts."],
                           {"error_code": "price_changed"}, status=FAILED)
        write = client.create_exchange if args["kind"] == EXCHANGE else client.change_order_items
        try:
            done = write(order_id=args["order_id"], swaps=args["swaps"],
                         payment_method_id=args.get("payment_method_id"), idempotency_key=row.id)
        except (Conflict, Rejected, NotFound) as refusal:
            why = REFUSALS.get(refusal.reason or "", "our order system refused it.")
            what = "create the exchange" if args["kind"] == EXCHANGE else "change the order"
            return Outcome(False, [f"I couldn't {what}: {why} Nothing was changed."],
                           {"error_code": refusal.code, "reason": refusal.reason}, status=FAILED)
        return self._done(args, done)

    @staticmethod
    def _difference_now(client: CommerceClient, args: Dict[str, Any]) -> Optional[int]:
        """The price difference of the staged swaps at today's prices (None: a variant is gone)."""
        order = client.get_order(args["order_id"])
        on_order = {item["item_id"] for item in order.get("items") or []}
        priced: Dict[str, Dict[str, Any]] = {}
        for item_id, variant_id in args["swaps"].items():
            product = client.get_product(args["products"][item_id])
            variant = next((v for v in product.get("variants") or [] if v.get("variant_id") == variant_id), None)
            if variant is None or item_id not in on_order:
                return None
            priced[item_id] = variant
        return difference_cents(order, priced)

    def reconcile(self, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
        """Done if the API shows exactly these swaps: an exchange of them, or the order's items changed."""
        args = row.arguments
        swaps = args["swaps"]
        if args["kind"] == EXCHANGE:
            for existing in client.list_exchanges(args["order_id"]):
                made = {line.get("item_id"): line.get("new_variant_id") for line in existing.get("items") or []}
                if made == swaps:
                    return self._done(args, existing)
            return None
        order = client.get_order(args["order_id"])
        variants = {item["item_id"]: item.get("variant_id") for item in order.get("items") or []}
        if all(variants.get(item_id) == variant_id for item_id, variant_id in swaps.items()):
            return self._done(args, {"total": order.get("total")})
        return None

    def describe_result(self, row: StagedAction) -> List[str]:
        return self._done(row.arguments, row.result or {}).messages

    @staticmethod
    def _done(args: Dict[str, Any], done: Dict[str, Any]) -> Outcome:
        labels = args.get("new_labels") or []
        what = labels[0] if len(labels) == 1 else f"{len(labels)} items"
        money_said = f" Price difference: {args['difference']}." if args.get("difference") else ""
        if args["kind"] == EXCHANGE:
            reference = done.get("label_reference")
            label = f" (label reference {reference})" if reference else ""
            exchange = f"exchange {done['exchange_id']}" if done.get("exchange_id") else "exchange"
            return Outcome(True, [
                f"Done — your {exchange} for the {what} is created.",
                f"We've emailed you a prepaid return label{label} for the old item; the new one ships to your "
                f"delivery address.{money_said}",
            ], {"exchange_id": done.get("exchange_id"), "label_reference": reference})
        total = f" The new total is {money(done['total'])}." if done.get("total") else ""
        return Outcome(True, [f"Done — order {args['order_shown']} now has the {what}.{total}{money_said}"],
                       {"items_changed": True})


gate_module.register(ExchangeCapability())


def explain_no_swap(order: Order) -> str:
    """Why the items of this order can't be swapped now, and what can be done instead."""
    shown = get_profile().display_order(order["order_id"])
    if order.get("status") == "shipped":
        return (f"Order {shown} is on its way (expected {friendly_date(order.get('estimated_delivery'))}), so its "
                "items can't be changed any more. Once it arrives you can exchange them — just ask me then.")
    return f"Order {shown} was cancelled, so there's nothing to exchange."


class ValidateExchangeForm(TaskFormValidation):
    task = EXCHANGE_TASK
    gated = True
    staged_slots = ExchangeCapability.staged_slots
    # "750ml, glass, black" or "gift card" are answers here, not product or shop questions
    free_text_questions = ("swap_variant", "swap_payment_method")
    # "yes, PayPal" without a PayPal account, "yes in size 12", "yes, with the visa" already chosen
    gate_words = re.compile(f"{PAYMENT_WORDS.pattern}|{VARIANT_WORDS.pattern}", re.IGNORECASE)

    def name(self) -> Text:
        return "validate_exchange_form"

    def remember_mentions(self, ctx: TurnContext) -> None:
        if ctx.turn.entity_values("item") or ctx.activating:
            ctx.set("swap_item_mention", ctx.turn.text)

    def takes(self, turn: Turn, requested: Optional[str], tracker: Tracker) -> bool:
        """A payment method at "who pays?" is the answer, whatever else NLU heard in it ("refund the
        difference to my PayPal" is no new return)."""
        if requested == "swap_payment_method" and PAYMENT_WORDS.search(turn.text or ""):
            return True
        return super().takes(turn, requested, tracker)

    def order_hint(self, ctx: TurnContext, text: str, orders: List[Order]) -> Optional[List[Order]]:
        mention = text_slot(ctx.tracker, "swap_item_mention") or ""
        return item_hint(f"{mention}, {text}", orders, statuses=("delivered", "processing"))

    async def check_order(self, order: Order, ctx: TurnContext) -> bool:
        if kind_of(order) is not None:
            return True
        ctx.say(text=explain_no_swap(order))
        return False

    async def take_answers(self, order: Order, ctx: TurnContext) -> None:
        products: Dict[str, Dict[str, Any]] = {}
        first_text = text_slot(ctx.tracker, "swap_item_mention")
        if first_text:
            ctx.set("swap_item_mention", None)
        await self._take_items(order, ctx, first_text, products)
        if ctx.done:
            if first_text and ctx.asked == "swap_items":
                ctx.set("swap_variant_hint", first_text)  # "...for a size 10": kept for the item they pick
            return
        await self._take_variants(order, ctx, first_text, products)
        if ctx.done:
            return
        await self._refresh_prices(order, ctx, products)
        await self._take_payment(order, ctx, first_text)

    def next_question(self, ctx: TurnContext) -> Optional[str]:
        chosen = ctx.get("swap_items") or []
        picked = ctx.get("swap_variants") or {}
        if not chosen:
            return "swap_items"
        if any(item_id not in picked for item_id in chosen):
            return "swap_variant"
        if ctx.get("swap_needs_payment") and not ctx.get("swap_payment_method"):
            return "swap_payment_method"
        return None

    # -- which items ---------------------------------------------------------------------

    async def _take_items(self, order: Order, ctx: TurnContext, first_text: Optional[str],
                          products: Dict[str, Dict[str, Any]]) -> None:
        items = [item for item in order["items"] if item.get("product_id")]
        current = [i for i in (ctx.get("swap_items") or []) if any(it["item_id"] == i for it in items)]
        # the answer to "what instead?" or "who pays?" names options ("black"), not items
        answering = ctx.requested in ("swap_variant", "swap_payment_method")
        texts = ([first_text] if first_text else []) + ([ctx.turn.text] if ctx.reading and not answering else [])
        asked = ctx.requested == "swap_items"
        selected: Optional[List[str]] = None
        for text in texts:
            found, unclear = items_named(text, items, current)
            if found and unclear:
                ctx.say("utter_item_ambiguous")
                ctx.ask("swap_items")
                return
            if found:
                ids = [item["item_id"] for item in found]
                if ctx.requested == "gate_confirmation" and len(current) > 1 and set(ids) <= set(current):
                    continue  # "yes but the sneakers in 11": about a chosen item's variant, not the choice of items
                adding = current and ADDING.search(text)
                selected = sorted(set(current) | set(ids), key=[i["item_id"] for i in items].index) if adding else ids
            elif text == ctx.turn.text and asked and ctx.turn.intent in ("inform", "nlu_fallback"):
                ctx.say("utter_item_ambiguous" if ambiguous_mentions(text, items) else "utter_item_not_on_order",
                        order=get_profile().display_order(order["order_id"]))
                await self.count_failed_attempt(ctx, "swap_items")
                return
        if selected is None and not current and len(items) == 1:
            selected = [items[0]["item_id"]]
        if selected is None or selected == current:
            return
        swappable = await self._swappable(order, selected, ctx, products)
        ctx.set("swap_items", swappable or None)
        picked = ctx.get("swap_variants") or {}
        if any(item_id not in swappable for item_id in picked):
            ctx.set("swap_variants", {k: v for k, v in picked.items() if k in swappable} or None)
        self.answered(ctx, "swap_items")
        if not swappable:
            if len(items) > len(selected):
                ctx.ask("swap_items")
            else:
                ctx.halt()

    async def _swappable(self, order: Order, item_ids: List[str], ctx: TurnContext,
                         products: Dict[str, Dict[str, Any]]) -> List[str]:
        """The chosen items that can be swapped: eligible (for an exchange) and sold in another variant."""
        client = get_commerce_client()
        kept = []
        for item in order["items"]:
            if item["item_id"] not in item_ids:
                continue
            if kind_of(order) == EXCHANGE:
                verdict = await blocking(client.return_eligibility, order["order_id"], item["item_id"])
                if not verdict.get("eligible"):
                    ctx.say(text=ineligibility_text(item, verdict, doing="exchanged"))
                    continue
            product = await self._product(item, products)
            if not [v for v in catalogue.alternatives(product, item.get("variant_id")) if v.get("available")]:
                ctx.say("utter_no_other_variant", item=item_label(item))
                continue
            kept.append(item["item_id"])
        return kept

    @staticmethod
    async def _product(item: Item, products: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
        product_id = str(item.get("product_id"))
        if product_id not in products:
            products[product_id] = await blocking(get_commerce_client().get_product, product_id)
        return products[product_id]

    # -- which variant -------------------------------------------------------------------

    async def _take_variants(self, order: Order, ctx: TurnContext, first_text: Optional[str],
                             products: Dict[str, Dict[str, Any]]) -> None:
        chosen = ctx.get("swap_items") or []
        picked = {k: v for k, v in (ctx.get("swap_variants") or {}).items() if k in chosen}
        by_id = {item["item_id"]: item for item in order["items"]}
        waiting = [item_id for item_id in chosen if item_id not in picked]
        hint = text_slot(ctx.tracker, "swap_variant_hint")
        said = ctx.turn.text if ctx.reading and ctx.requested in READS_VARIANT else None
        words = " ".join(filter(None, (first_text, hint, said)))
        if not words or not chosen:
            return
        if ctx.requested == "swap_variant" and waiting:
            targets = {waiting[0]: words}  # the item the question was about
        elif len(chosen) == 1:
            targets = {chosen[0]: words}  # "exchange my sneakers for a size 10", "make it an L" at the confirmation
        else:
            # several items: each gets the part of the message that names it ("the jacket in L and the sneakers in 10")
            targets = {}
            for part in re.split(r",|;|\band\b|\bbut\b", words):
                named, _ = items_named(part, [by_id[i] for i in chosen], [])
                if len(named) == 1:
                    targets.setdefault(named[0]["item_id"], part)
        asked = ctx.requested == "swap_variant"
        for target, text in targets.items():
            item = by_id[target]
            product = await self._product(item, products)
            choice = catalogue.choose_variant(text, product, item.get("variant_id"))
            if choice.chosen is not None:
                picked[target] = {"variant_id": choice.chosen["variant_id"], "price": choice.chosen.get("price"),
                                  "label": new_label(item, choice.chosen)}
                ctx.set("swap_variant_hint", None)
                self.answered(ctx, "swap_variant")
            elif choice.narrowed:
                ctx.set("swap_variant_hint", text)
                ctx.say("utter_variant_narrowed", item=item["name"],
                        options=catalogue.priced(choice.narrowed[:catalogue.MAX_LISTED]))
                picked.pop(target, None)  # the question that comes next is about this item
            elif choice.sold_out:
                ctx.say("utter_variant_sold_out", item=item["name"],
                        options=catalogue.options_text(choice.sold_out[0]))
                ctx.set("swap_variant_hint", None)
                picked.pop(target, None)
            elif asked and ctx.turn.intent in ("inform", "nlu_fallback"):
                ctx.say("utter_variant_unclear")
                await self.count_failed_attempt(ctx, "swap_variant")
                return
        if picked != (ctx.tracker.get_slot("swap_variants") or {}):
            ctx.set("swap_variants", picked or None)
        if any(target not in picked for target in targets):
            ctx.ask("swap_variant")  # narrowed or sold out: asked again, about the first item without a choice

    async def _refresh_prices(self, order: Order, ctx: TurnContext, products: Dict[str, Dict[str, Any]]) -> None:
        """The prices of the chosen variants as the catalogue has them now (the prompt re-reads them too)."""
        picked = dict(ctx.get("swap_variants") or {})
        by_id = {item["item_id"]: item for item in order["items"]}
        changed = False
        for item_id, choice in picked.items():
            if item_id not in by_id:
                continue
            product = await self._product(by_id[item_id], products)
            now = next((v for v in product.get("variants") or [] if v.get("variant_id") == choice.get("variant_id")),
                       None)
            if now is not None and str(now.get("price")) != str(choice.get("price")):
                picked[item_id] = {**choice, "price": now.get("price")}
                changed = True
        if changed:
            ctx.set("swap_variants", picked)

    # -- who pays the difference ---------------------------------------------------------

    async def _take_payment(self, order: Order, ctx: TurnContext, first_text: Optional[str]) -> None:
        picked = ctx.get("swap_variants") or {}
        chosen = ctx.get("swap_items") or []
        if not chosen or any(item_id not in picked for item_id in chosen):
            return
        amount = difference_cents(order, {k: v for k, v in picked.items() if k in chosen})
        if not amount:
            ctx.set("swap_needs_payment", None)
            if ctx.get("swap_payment_method"):
                ctx.set("swap_payment_method", None)
            return
        ctx.set("swap_needs_payment", True)
        customer = await blocking(get_commerce_client().get_customer, ctx.customer)
        methods = customer.get("payment_methods") or []
        usable = [m for m in methods if amount < 0 or covers(m, amount / 100)]
        current = ctx.get("swap_payment_method")
        if current and not any(m.get("payment_method_id") == current for m in usable):
            ctx.set("swap_payment_method", None)
        asked = ctx.requested == "swap_payment_method"
        said = ctx.turn.text if ctx.reading and ctx.requested in READS_PAYMENT else None
        texts = [text for text in (first_text, said) if text]
        paid_with = (order.get("payment") or {}).get("payment_method_id")
        for text in texts:
            # "the same one" is a payment method only as the answer to that question
            named = methods_named(text, methods, paid_with=paid_with if asked else None)
            if not named:
                continue
            fits = [m for m in named if m in usable]
            if len(fits) == 1:
                if fits[0].get("payment_method_id") != ctx.get("swap_payment_method"):
                    ctx.set("swap_payment_method", fits[0]["payment_method_id"])
                self.answered(ctx, "swap_payment_method")
                return
            if not fits:
                ctx.say("utter_payment_too_low", method=method_label(named[0], capital=True),
                        amount=money(amount / 100, order.get("currency")))
                ctx.set("swap_payment_method", None)
                ctx.ask("swap_payment_method")
                return
            ctx.say("utter_payment_which")
            ctx.ask("swap_payment_method")
            return
        if asked and ctx.reading and ctx.turn.intent in ("inform", "nlu_fallback"):
            ctx.say("utter_payment_unclear")
            await self.count_failed_attempt(ctx, "swap_payment_method")
            return
        if not ctx.get("swap_payment_method") and len(usable) == 1 and len(methods) == 1:
            ctx.set("swap_payment_method", usable[0]["payment_method_id"])  # nothing to choose
        elif not usable:
            ctx.say("utter_payment_none_covers", amount=money(amount / 100, order.get("currency")))
            ctx.halt()


class ActionAskSwapItems(AskAboutOrder):
    """Which items, one button per item that could be swapped."""

    def name(self) -> Text:
        return "action_ask_swap_items"

    async def ask(self, dispatcher, tracker, client, order, customer_id) -> None:
        currency = order.get("currency")
        buttons = [{"title": f"{item_label(item)} — {money(item['price'], currency)}", "payload": item_label(item)}
                   for item in order["items"]
                   if item.get("product_id") and not item.get("return_status") and not item.get("exchange_id")]
        dispatcher.utter_message(response="utter_ask_swap_items", buttons=buttons)


class ActionAskSwapVariant(AskAboutOrder):
    """What instead, for the first chosen item without a choice: the in-stock variants with their prices."""

    def name(self) -> Text:
        return "action_ask_swap_variant"

    async def ask(self, dispatcher, tracker, client, order, customer_id) -> None:
        picked = tracker.get_slot("swap_variants") or {}
        item = next((i for i in order["items"]
                     if i["item_id"] in (tracker.get_slot("swap_items") or []) and i["item_id"] not in picked), None)
        if item is None:
            return
        product = await blocking(client.get_product, str(item.get("product_id")))
        others = catalogue.closest_first(catalogue.alternatives(product, item.get("variant_id")),
                                         {"options": item.get("options") or {}})
        in_stock = [v for v in others if v.get("available")][:catalogue.MAX_LISTED]
        sold_out = [v for v in others if not v.get("available")]
        note = f" Sold out right now: {'; '.join(catalogue.options_text(v) for v in sold_out[:4])}." if sold_out else ""
        currency = order.get("currency")
        buttons = [{"title": f"{catalogue.options_text(v)} — {money(v.get('price'), currency)}",
                    "payload": catalogue.options_text(v)} for v in in_stock]
        dispatcher.utter_message(response="utter_ask_swap_variant", item=item_label(item), sold_out=note,
                                 buttons=buttons)


class ActionAskSwapPaymentMethod(AskAboutOrder):
    """Who pays (or gets back) the difference: the customer's own methods; a gift card only if it covers it."""

    def name(self) -> Text:
        return "action_ask_swap_payment_method"

    async def ask(self, dispatcher, tracker, client, order, customer_id) -> None:
        chosen = tracker.get_slot("swap_items") or []
        picked = {k: v for k, v in (tracker.get_slot("swap_variants") or {}).items() if k in chosen}
        amount = difference_cents(order, picked)
        methods = (await blocking(client.get_customer, customer_id)).get("payment_methods") or []
        usable = [m for m in methods if amount < 0 or covers(m, amount / 100)]
        labels = [str(choice.get("label") or "new choice") for choice in picked.values()]
        response = "utter_ask_swap_payment_method_charge" if amount > 0 else "utter_ask_swap_payment_method_refund"
        dispatcher.utter_message(response=response, amount=money(abs(amount) / 100, order.get("currency")),
                                 choice=" and the ".join(labels), buttons=method_buttons(usable))

