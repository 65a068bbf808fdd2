"""Changing the address saved on the customer's account (their default address), behind the gate.

Not one order's delivery address (`actions.capabilities.address`): the task is about the verified
customer alone, so no order is asked for (`needs_order=False`) and the staged row has no order
(`order_id` ""). The address is collected by the same questions (`AddressQuestions`); the prompt
says that the saved address changes, old → new, and that orders already placed keep theirs. At
execution the account is read again (`owner`) and the write goes to the row's verified customer,
with the row id as idempotency key.
"""

from __future__ import annotations

from typing import List, Optional, Text

from rasa_sdk import Tracker

from actions import gate as gate_module
from actions.api.commerce import CommerceClient
from actions.api.errors import Conflict, NotFound, Rejected
from actions.common import masked_address
from actions.dialogue.address_questions import ADDRESS_SLOTS, AddressQuestions, address_from_slots
from actions.dialogue.task_form import TaskFormValidation
from actions.dialogue.tasks import Task, cues, register_task
from actions.gate import GatedCapability, NotPossible, Outcome, Proposal
from actions.identity.verification import current_customer
from actions.ledger import FAILED, StagedAction
from actions.shop.addresses import one_line, same_address

DEFAULT_ADDRESS_TASK = register_task(Task(
    form="default_address_form",
    intents=("change_default_address",),
    # Longer than the order address's "address" / "moved", so "I moved, update my saved address" is this task.
    cues=cues("saved address", "default address", "account address", "profile address", "home address",
              "main address", "primary address", "address book", "account settings", "saved adress",
              "default adress",
              r"address\w* (saved |associated )?(on|in|of|with) (my|the) (customer )?(account|profile)",
              r"address (on|in) (your|the) (system|file)", "address on file",
              r"address for (all )?(my )?(future|next|new) orders"),
    changes_orders=True,  # a destructive task: never started by a misread message without its words
    needs_order=False,
    slots=ADDRESS_SLOTS,
    verification_prompt="utter_ask_customer_email_account",
))

KEEP_ORDERS = "Orders you've already placed keep the address they have."
UNCHANGED = "That's already the address saved on your account, so there's nothing to change."


def done_message(new_text: str) -> str:
    return (f"Done — the address saved on your account is now {new_text}. {KEEP_ORDERS} To send an order that "
            "hasn't shipped yet to the new address too, ask me to change that order's shipping address.")


class DefaultAddressCapability(GatedCapability):
    action_name = "change_default_address"
    form_name = "default_address_form"
    staged_slots = ADDRESS_SLOTS

    def propose(self, tracker: Tracker, client: CommerceClient) -> Proposal:
        customer_id = current_customer(tracker)
        if not customer_id:
            raise NotPossible("I need to verify you before I can change the address on your account.")
        old = client.get_customer(customer_id).get("default_address")
        new = address_from_slots(tracker)
        if same_address(old, new):
            raise NotPossible(UNCHANGED)
        masked_new = masked_address(new)
        was = one_line(old) if old else "no saved address"
        was_masked = one_line(masked_address(old)) if old else "no saved address"
        heading = "I'm about to change the address saved on your account (your default address for future orders):"
        return Proposal(
            order_id="",
            customer_id=customer_id,
            arguments={"address": new, "new_address_text": one_line(new)},
            summary_lines=[heading, f"• From: {was}", f"• To: {one_line(new)}", KEEP_ORDERS],
            question="Shall I update your saved address?",
            audit_lines=["Change the address saved on the customer's account:", f"• From: {was_masked}",
                         f"• To: {one_line(masked_new)}"],
            redacted_arguments={"address": masked_new, "new_address_text": one_line(masked_new)},
        )

    def owner(self, client: CommerceClient, row: StagedAction) -> Optional[str]:
        """The account is its customer's: read it again, so a customer who no longer exists is refused."""
        return client.get_customer(row.customer_id).get("id")

    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        args = row.arguments
        address = {key: value for key, value in args["address"].items() if value is not None}
        try:
            client.change_default_address(customer_id=row.customer_id, address=address, idempotency_key=row.id)
        except Rejected as refusal:
            fields = ", ".join(sorted(refusal.fields)) or "the address"
            return Outcome(False, [f"Our system didn't accept {fields.replace('_', ' ')}. Nothing was changed — "
                                   "please start again with the corrected address."],
                           {"error_code": refusal.code}, status=FAILED)
        except Conflict as refusal:
            said = UNCHANGED if refusal.reason == "unchanged" else \
                "I couldn't change the address on your account: our system refused it. Nothing was changed."
            return Outcome(False, [said], {"error_code": refusal.code, "reason": refusal.reason}, status=FAILED)
        except NotFound as refusal:
            return Outcome(False, ["I couldn't change the address on your account, so nothing was changed. "
                                   "A member of our team can help if you say \"talk to a human\"."],
                           {"error_code": refusal.code}, status=FAILED)
        return Outcome(True, [done_message(args["new_address_text"])], {"default_address_changed": True})

    def reconcile(self, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
        """Changed if the account's saved address now is the new one."""
        current = client.get_customer(row.customer_id).get("default_address")
        if same_address(current, row.arguments["address"]):
            return Outcome(True, [done_message(row.arguments["new_address_text"])], {"default_address_changed": True})
        return None

    def describe_result(self, row: StagedAction) -> List[str]:
        # The row is final, so its new address is masked: don't quote it.
        return [f"Done — the address saved on your account is changed. {KEEP_ORDERS}"]


gate_module.register(DefaultAddressCapability())


class ValidateDefaultAddressForm(AddressQuestions, TaskFormValidation):
    """Identity, then the address questions (`AddressQuestions`), then the gate; no order."""

    task = DEFAULT_ADDRESS_TASK
    gated = True

    def name(self) -> Text:
        return "validate_default_address_form"
