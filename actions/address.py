"""Changing the shipping address: only before the order ships, behind the gate.

Collects street, city, country and postal code (or all of them in one line),
checks them, and confirms old → new.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import gate as gate_module
from actions.addresses import (
    clean_city,
    clean_postal_code,
    clean_street,
    normalize_country,
    one_line,
    postal_code_valid,
    split_one_line,
)
from actions.api.commerce import CommerceClient
from actions.api.errors import Conflict, NotFound, Rejected
from actions.common import masked_address
from actions.gate import GatedCapability, NotPossible, Outcome, Proposal
from actions.gate_actions import GatedFormValidation
from actions.ledger import FAILED, StagedAction

Slots = Dict[Text, Any]

ADDRESS_REFUSALS = {
    "already_shipped": "it has already shipped, so the carrier has the address now.",
    "already_delivered": "it has already been delivered.",
    "already_cancelled": "it was cancelled.",
}


def _explain_not_changeable(order: Dict[str, Any]) -> str:
    order_id = order["order_id"]
    status = order.get("status")
    if status == "shipped":
        carrier = (order.get("shipment") or {}).get("carrier", "the carrier")
        return (
            f"Order #{order_id} has already shipped with {carrier}, so I can't change its address "
            "any more. The carrier can sometimes redirect a parcel — a member of our team can "
            "help with that if you say \"talk to a human\"."
        )
    if status == "delivered":
        return f"Order #{order_id} has already been delivered, so its address can't be changed."
    return f"Order #{order_id} was cancelled, so there's no delivery to redirect."


class AddressCapability(GatedCapability):
    action_name = "change_shipping_address"
    form_name = "address_form"

    def propose(self, tracker: Tracker, client: CommerceClient) -> Proposal:
        order, customer_id = self.verified_order(tracker, client, to="change its address")
        order_id = order["order_id"]
        if order.get("status") != "processing":
            raise NotPossible(_explain_not_changeable(order))
        old = order.get("shipping_address") or {}
        new = {
            "name": old.get("name") or (order.get("customer") or {}).get("name", ""),
            "street": tracker.get_slot("address_street"),
            "city": tracker.get_slot("address_city"),
            "postal_code": tracker.get_slot("address_postal_code"),
            "country": tracker.get_slot("address_country"),
        }
        masked_new = masked_address(new)
        return Proposal(
            order_id=order_id,
            customer_id=customer_id,
            arguments={"order_id": order_id, "address": new, "new_address_text": one_line(new)},
            summary_lines=[
                f"I'm about to change the shipping address of order #{order_id}:",
                f"• From: {one_line(old)}",
                f"• To: {one_line(new)}",
            ],
            question="Shall I update the address?",
            audit_lines=[
                f"Change the shipping address of order #{order_id}:",
                f"• From: {one_line(masked_address(old))}",
                f"• To: {one_line(masked_new)}",
            ],
            redacted_arguments={"order_id": order_id, "address": masked_new,
                                "new_address_text": one_line(masked_new)},
        )

    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        args = row.arguments
        try:
            client.change_shipping_address(
                order_id=args["order_id"], address=args["address"], idempotency_key=row.id
            )
        except Rejected as refusal:
            fields = ", ".join(sorted(refusal.fields)) or "the address"
            return Outcome(False, [f"Our shipping system didn't accept {fields.replace('_', ' ')}. "
                                   "Nothing was changed — please start again with the corrected address."],
                           {"error_code": refusal.code}, status=FAILED)
        except (Conflict, NotFound) as refusal:
            why = ADDRESS_REFUSALS.get(refusal.reason or "", "our order system refused it.")
            return Outcome(False, [f"I couldn't change the address of order #{args['order_id']}: {why}"],
                           {"error_code": refusal.code}, status=FAILED)
        return Outcome(
            True,
            [f"Done — order #{args['order_id']} will ship to {args['new_address_text']}."],
            {"address_changed": True},
        )

    def reconcile(self, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
        """Changed if the order's shipping address now is the new one."""
        args = row.arguments
        current = client.get_order(args["order_id"]).get("shipping_address") or {}
        fields = ("street", "city", "postal_code", "country")
        if all(str(current.get(f) or "").strip().lower() == str(args["address"].get(f) or "").strip().lower()
               for f in fields):
            return Outcome(True, [f"Done — order #{args['order_id']} will ship to {args['new_address_text']}."],
                           {"address_changed": True})
        return None

    def describe_result(self, row: StagedAction) -> List[str]:
        # The row is final, so its new address is masked: don't quote it.
        return [f"Done — the shipping address of order #{row.order_id} is changed."]


gate_module.register(AddressCapability())


class ValidateAddressForm(GatedFormValidation):
    capability_slots = ("address_street", "address_city", "address_country", "address_postal_code")

    def name(self) -> Text:
        return "validate_address_form"

    async def after_verification(
        self, order: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Slots:
        if order.get("status") == "processing":
            return {}
        dispatcher.utter_message(text=_explain_not_changeable(order))
        return {"form_halted": True}

    async def validate_address_street(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        parts = split_one_line(str(value))
        if parts:
            return self._check_parts(parts, dispatcher)
        street = clean_street(value)
        if street is None:
            dispatcher.utter_message(response="utter_invalid_street")
        return {"address_street": street}

    async def validate_address_city(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        city = clean_city(value)
        if city is None:
            dispatcher.utter_message(response="utter_invalid_city")
        return {"address_city": city}

    async def validate_address_country(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        country = normalize_country(value)
        if country is None:
            dispatcher.utter_message(response="utter_unsupported_country")
            return {"address_country": None}
        postal_code = tracker.get_slot("address_postal_code")
        if postal_code and not postal_code_valid(postal_code, country):
            dispatcher.utter_message(response="utter_invalid_postal_code", country=country)
            return {"address_country": country, "address_postal_code": None}
        return {"address_country": country}

    async def validate_address_postal_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        postal_code = clean_postal_code(value)
        country = tracker.get_slot("address_country")
        if postal_code and (not country or postal_code_valid(postal_code, country)):
            return {"address_postal_code": postal_code}
        dispatcher.utter_message(response="utter_invalid_postal_code", country=country or "your country")
        return {"address_postal_code": None}

    def _check_parts(self, parts: Dict[str, str], dispatcher: CollectingDispatcher) -> Slots:
        """Keeps every valid part of a one-line address; the form asks for the rest."""
        country = normalize_country(parts.get("address_country"))
        checked = {
            "address_street": clean_street(parts.get("address_street")),
            "address_city": clean_city(parts.get("address_city")),
            "address_country": country,
            "address_postal_code": clean_postal_code(parts.get("address_postal_code")),
        }
        if checked["address_postal_code"] and country and not postal_code_valid(
            checked["address_postal_code"], country
        ):
            dispatcher.utter_message(response="utter_invalid_postal_code", country=country)
            checked["address_postal_code"] = None
        return checked
