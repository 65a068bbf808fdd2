"""Finding what the customer means: one of their orders, and items on it, from their own words.

"The last one", "the pending one", "the one with the office chair", "the blue water bottle
order"; "the jacket", "the cleaner, the headphones and the watch", "both", "the other one".
Matching is against the customer's live orders and items, never a fixed catalogue.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

from rapidfuzz import fuzz

from actions.shop.formatting import item_label, short_date
from actions.shop.profile import get_profile

Order = Dict[str, Any]
Item = Dict[str, Any]

ITEM_MATCH_THRESHOLD = 80
ITEM_AMBIGUITY_MARGIN = 5
FILLER_WORDS = {
    "the", "my", "one", "ones", "a", "an", "from", "order", "item", "items", "i", "want", "to", "return",
    "please", "pls", "it", "that", "this", "those", "these", "of", "with", "and", "also", "too", "just",
    "send", "back", "only", "would", "like", "me", "for", "on", "in", "is", "was", "id", "i'd", "can",
    "you", "get", "refund", "exchange", "cancel", "need", "thing", "stuff", "pair", "set",
}
SEPARATORS = re.compile(r",|;|\band\b|&|\+|\bplus\b|\bas well as\b|\balso\b", re.IGNORECASE)
ALL_WORDS = re.compile(r"\b(both|all( of)?( them| it| the items)?|everything|every item|the whole (order|lot))\b",
                       re.IGNORECASE)
OTHER_WORDS = re.compile(r"\b(the )?other\b", re.IGNORECASE)
NEWEST = re.compile(r"\b(last|latest|most recent|newest|recent|just placed|yesterday'?s?)\b", re.IGNORECASE)
OLDEST = re.compile(r"\b(oldest|earliest)\b", re.IGNORECASE)
POSITIONS = {re.compile(r"\b(first|1st|top)\b", re.I): 0, re.compile(r"\b(second|2nd)\b", re.I): 1,
             re.compile(r"\b(third|3rd)\b", re.I): 2, re.compile(r"\b(fourth|4th)\b", re.I): 3}
STATUS_WORDS = {
    "processing": re.compile(r"\b(pending|processing|not (yet )?shipped|hasn'?t shipped|unshipped|not sent)\b", re.I),
    "shipped": re.compile(r"\b(shipped|on (its|the) way|in transit|being delivered|out for delivery)\b", re.I),
    "delivered": re.compile(r"\b(delivered|arrived|received|got it)\b", re.I),
    "cancelled": re.compile(r"\b(cancell?ed)\b", re.I),
}
STATUS_WORDS_SAID = {"processing": "not shipped yet", "shipped": "on its way", "delivered": "delivered",
                     "cancelled": "cancelled"}
MAX_LISTED_ORDERS = 5


# -- orders -------------------------------------------------------------------------------------


def order_summary(order: Order) -> str:
    """'#4521 · Nov 24 · delivered · Blue Denim Jacket, Striped Scarf'."""
    names = [str(item.get("name")) for item in order.get("items") or []]
    items = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
    parts = [get_profile().display_order(order["order_id"]), short_date(order.get("placed_at")),
             STATUS_WORDS_SAID.get(order.get("status"), str(order.get("status"))), items]
    return " · ".join(part for part in parts if part)


def order_buttons(orders: Sequence[Order]) -> List[Dict[str, str]]:
    """One button per recent order; the payload is the order number as the customer would type it."""
    return [{"title": order_summary(order), "payload": get_profile().display_order(order["order_id"])}
            for order in list(orders)[:MAX_LISTED_ORDERS]]


def orders_described(text: str, orders: Sequence[Order], *, exclude: Iterable[str] = ()) -> Optional[List[Order]]:
    """The orders a description fits, newest first; None when the text describes no order at all.

    An empty list means the description fits none of them.
    """
    excluded = set(exclude)
    candidates = [order for order in orders if order["order_id"] not in excluded]
    described = False
    if OTHER_WORDS.search(text or "") and excluded:
        described = True
    for status, pattern in STATUS_WORDS.items():
        if pattern.search(text or ""):
            candidates = [order for order in candidates if order.get("status") == status]
            described = True
            break
    mentioned = _orders_with_items_mentioned(text, candidates)
    if mentioned is not None:
        candidates, described = mentioned, True
    if NEWEST.search(text or ""):
        return candidates[:1]
    if OLDEST.search(text or ""):
        return candidates[-1:]
    for pattern, position in POSITIONS.items():
        if pattern.search(text or ""):
            return candidates[position:position + 1]
    return candidates if described else None


def _orders_with_items_mentioned(text: str, orders: Sequence[Order]) -> Optional[List[Order]]:
    hits = [order for order in orders if items_mentioned(text, order.get("items") or [])]
    return hits if hits else None


# -- items --------------------------------------------------------------------------------------


def items_mentioned(text: str, items: Sequence[Item], *, current: Sequence[str] = ()) -> List[Item]:
    """The items `text` names: "both", "the other one", "the jacket and the scarf", an item id.

    Each part of a list ("the cleaner, the headphones and the watch") must name exactly one item
    clearly, or that part names nothing; ambiguous parts are left out (see `ambiguous_mentions`).
    """
    text = str(text or "")
    if not items or not text.strip():
        return []
    by_id = [item for item in items if item.get("item_id") == text.strip()]
    if by_id:
        return by_id
    if ALL_WORDS.search(text):
        return list(items)
    if OTHER_WORDS.search(text) and current:
        others = [item for item in items if item["item_id"] not in current]
        if len(others) == 1:
            return others
    found: List[Item] = []
    for part in SEPARATORS.split(text):
        matches = _matches(part, items)
        if len(matches) == 1 and matches[0] not in found:
            found.append(matches[0])
    return found


def ambiguous_mentions(text: str, items: Sequence[Item]) -> List[Item]:
    """Items a part of `text` could mean when that part fits several equally well."""
    ambiguous: List[Item] = []
    for part in SEPARATORS.split(str(text or "")):
        matches = _matches(part, items)
        if len(matches) > 1:
            ambiguous += [item for item in matches if item not in ambiguous]
    return ambiguous


def _matches(part: str, items: Sequence[Item]) -> List[Item]:
    words = [w for w in re.findall(r"[\w'-]+", part.lower()) if w not in FILLER_WORDS and len(w) >= 3]
    if not words:
        return []
    scored = sorted(((_score(words, item), item) for item in items), key=lambda pair: pair[0], reverse=True)
    best = [(score, item) for score, item in scored if score >= ITEM_MATCH_THRESHOLD]
    if not best:
        return []
    top = best[0][0]
    matches = [item for score, item in best if top - score < ITEM_AMBIGUITY_MARGIN]
    if len({item_label(item) for item in matches}) == 1:
        return matches[:1]  # the same product bought twice: one of them (the customer can say "both")
    return matches


def _words(value: Any) -> List[str]:
    return re.findall(r"[\w'-]+", str(value or "").lower())


def _score(words: List[str], item: Item) -> float:
    """How well the customer's words name `item`: its name's words first, its options (colour, size) after.

    Word by word, so "yes" never resembles "headphones" the way a substring score would; a word
    inside a longer name word counts ("watch" in "wristwatch"), typos are forgiven ("headphnes").
    """
    name_words = _words(item.get("name"))
    options = item.get("options") if isinstance(item.get("options"), dict) else {}
    option_words = [w for value in options.values() for w in _words(value)]
    if item.get("size"):
        option_words += _words(item.get("size"))

    def best(word: str, candidates: List[str]) -> float:
        scores = [100.0 if len(word) >= 4 and word in c else fuzz.ratio(word, c) for c in candidates]
        return max(scores, default=0.0)

    # The best-named word decides; every further word that names the item, or one of its options
    # ("gold", "size 9"), breaks ties between similar items.
    name_scores = sorted((best(word, name_words) for word in words), reverse=True)
    extra_name_words = sum(1 for score in name_scores[1:] if score >= 80)
    option_hits = sum(1 for word in words if best(word, option_words) >= 90)
    if name_scores and name_scores[0] >= 80:
        return name_scores[0] + 6 * (extra_name_words + option_hits)
    return 85.0 + 6 * (option_hits - 1) if option_hits else (name_scores[0] if name_scores else 0.0)
