"""Which of the customer's own payment methods they mean: for a price difference, or to pay an order.

Only methods on the verified customer's account are ever offered or taken ("my PayPal", "the visa
ending 4242", "gift card 7245904", "the same card as before"); a gift card that cannot cover the
amount is named as such, never silently skipped.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence

from actions.shop.formatting import card_digits, money, payment_label
from actions.shop.order_numbers import find_order_numbers

Method = Dict[str, Any]

GIFT_CARD_WORDS = re.compile(r"\bgift[ -]?cards?\b|\bgiftcards?\b|\bvoucher\b", re.IGNORECASE)
PAYPAL_WORDS = re.compile(r"\bpay ?pal\b", re.IGNORECASE)
CARD_WORDS = re.compile(r"\b(credit|debit|bank)?\s*card\b|\b(visa|master ?card|mastercard|amex|american express|"
                        r"discover|maestro)\b", re.IGNORECASE)
# any words that name a kind of payment method (an answer to "which method?")
PAYMENT_WORDS = re.compile(GIFT_CARD_WORDS.pattern + "|" + PAYPAL_WORDS.pattern + "|" + CARD_WORDS.pattern,
                           re.IGNORECASE)
SAME_WORDS = re.compile(r"\b(same|original|how i paid|what i paid with|the one i paid with|as before)\b", re.IGNORECASE)
NOT_THIS = re.compile(r"\b(not|instead of|rather than|no longer|from)\s+(the |my |your |a )?(gift[ -]?card|giftcard|"
                      r"pay ?pal|visa|master ?card|amex|credit card|debit card|card)( ending)?( \d+)?", re.IGNORECASE)
BRANDS = {"visa": "visa", "master": "mastercard", "mastercard": "mastercard", "amex": "amex",
          "american express": "amex", "discover": "discover", "maestro": "maestro"}


def method_label(method: Method, *, balance: bool = True, capital: bool = False) -> str:
    """'Visa ending 4242', 'PayPal', 'your gift card 7245904 (balance $20.00)' ('Your ...' to start a sentence)."""
    label = payment_label(method)
    if balance and method.get("method") == "gift_card" and method.get("balance") is not None:
        label = f"{label} (balance {money(method['balance'])})"
    return label[0].upper() + label[1:] if capital and label else label


def covers(method: Method, amount: float) -> bool:
    """Whether `method` can be charged `amount` (a gift card only up to its balance)."""
    if method.get("method") != "gift_card" or method.get("balance") is None:
        return True
    try:
        return float(method["balance"]) + 1e-9 >= amount
    except (TypeError, ValueError):
        return False


def methods_named(text: str, methods: Sequence[Method], *, paid_with: Optional[str] = None) -> List[Method]:
    """The methods among `methods` that `text` names; the order's own (`paid_with`) for "the same one"."""
    # "my visa, not the gift card": what is refused names nothing; order numbers are no card digits
    said = NOT_THIS.sub(" ", str(text or ""))
    for number in find_order_numbers(said, expected=False):
        said = said.replace(number, " ")
    lowered = said.lower()
    digits = set(re.findall(r"\b\d{4,}\b", said))
    by_digits = [m for m in methods if any(d in (str(m.get("last4") or ""), card_digits(m.get("payment_method_id")))
                                           or card_digits(m.get("payment_method_id")).endswith(d) for d in digits)]
    if by_digits:
        return by_digits
    if paid_with and SAME_WORDS.search(said):
        same = [m for m in methods if m.get("payment_method_id") == paid_with]
        if same:
            return same
    if GIFT_CARD_WORDS.search(said):
        return [m for m in methods if m.get("method") == "gift_card"]
    if PAYPAL_WORDS.search(said):
        return [m for m in methods if m.get("method") == "paypal"]
    brand = next((value for word, value in BRANDS.items() if word in lowered), None)
    cards = [m for m in methods if m.get("method") == "card"]
    if brand:
        return [m for m in cards if brand in str(m.get("brand") or "").lower().replace(" ", "")]
    if CARD_WORDS.search(said):
        return cards
    return []


def method_buttons(methods: Sequence[Method]) -> List[Dict[str, str]]:
    """One button per method, its payload plain words NLU reads like typed text."""
    return [{"title": method_label(method, capital=True),
             "payload": "Use " + payment_label(method).removeprefix("your ")} for method in methods]
