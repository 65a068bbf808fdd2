"""Why an item cannot be returned or exchanged, in the customer's words (the API's reason codes).

Returns and exchanges share the rules (window, final sale, one open request per item), so they share
the explanation too.
"""

from __future__ import annotations

from typing import Any, Dict

from actions.shop.formatting import friendly_date, item_label


def ineligibility_text(item: Dict[str, Any], eligibility: Dict[str, Any], *, doing: str = "returned") -> str:
    """Why an item cannot be returned (or, `doing="exchanged"`, exchanged), and what the customer can do instead."""
    name = item_label(item)
    reason = eligibility.get("reason")
    if reason == "outside_return_window":
        return (
            f"The {name} can't be {doing} any more: the return window closed on "
            f"{friendly_date(eligibility.get('deadline'))}. If it's faulty, our team can still look at a "
            "warranty repair — just say \"talk to a human\"."
        )
    if reason == "final_sale":
        refunded = " or refunded" if doing == "returned" else ""
        return f"The {name} was a final-sale item, so it can't be {doing}{refunded}."
    if reason == "already_returned" and item.get("exchange_id"):
        return f"There's already an exchange open for the {name} ({item['exchange_id']}), so it can't be {doing} too."
    if reason == "already_returned":
        if doing == "returned":
            return f"There's already a return open for the {name}. Ask me \"where is my refund\" to follow it."
        return f"There's already a return or an exchange open for the {name}, so it can't be {doing} again."
    if reason == "not_delivered":
        return f"The {name} hasn't been delivered yet, so it can't be {doing} yet."
    if reason == "order_cancelled":
        return "That order was cancelled, so there's nothing to " + ("return." if doing == "returned" else "exchange.")
    return eligibility.get("message") or f"The {name} can't be {doing}."
