"""The shop's catalogue for product questions: the products a phrase may name, and what each offers.

Read from the commerce API at every question (stock changes by the minute), and never invented:
what the catalogue does not hold is "not found", not guessed. The caller picks the candidate the
customer means with the word matcher that finds items in orders (actions.dialogue.finding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from actions.api.commerce import CommerceClient
from actions.shop.formatting import cents, money

Product = Dict[str, Any]
Variant = Dict[str, Any]

# Words of a question that name no product: searching the catalogue for them finds noise.
QUESTION_WORDS = {
    "the", "and", "for", "you", "your", "have", "has", "any", "does", "did", "this", "that", "these", "those",
    "what", "which", "when", "where", "how", "much", "many", "price", "cost", "costs", "sell", "stock",
    "available", "come", "comes", "size", "sizes", "colour", "colours", "color", "colors", "back", "still",
    "there", "are", "can", "get", "buy", "with", "also", "one", "ones", "them", "its", "it's", "please",
}
MAX_SEARCHES = 4  # the longest words of the phrase, each one search: a bounded cost per question
MAX_LISTED = 8


def _words(text: Any) -> List[str]:
    return re.findall(r"[\w'-]+", str(text).lower())


def candidates(client: CommerceClient, phrase: str) -> List[Product]:
    """Catalogue products whose name shares a word (or its singular) with `phrase`."""
    words = {w for w in _words(phrase) if len(w) >= 3 and w not in QUESTION_WORDS}
    stems = {w[:-1] if len(w) > 4 and w.endswith("s") else w for w in words}  # "boots" finds "Boot"
    found: Dict[str, Product] = {}
    for query in sorted(stems, key=lambda w: (-len(w), w))[:MAX_SEARCHES]:
        for product in client.search_products(query):
            found.setdefault(str(product.get("product_id")), product)
    return list(found.values())


def as_item(product: Product) -> Dict[str, Any]:
    """A product in the shape the item matcher reads (an id and a name)."""
    return {"item_id": str(product.get("product_id")), "name": str(product.get("name") or "")}


def options_text(variant: Variant) -> str:
    """{'size': '10', 'color': 'black'} → 'size 10, black'."""
    options = variant.get("options") or {}
    return ", ".join(f"size {value}" if key == "size" else str(value) for key, value in options.items())


def variants_asked(text: str, product: Product) -> List[Variant]:
    """The variants whose option values the customer names ("in blue", "size 10"), best first."""
    words = set(_words(text))

    def hits(variant: Variant) -> int:
        values = (variant.get("options") or {}).values()
        return sum(1 for value in values if set(_words(value)) <= words)

    scored = [(hits(v), v) for v in product.get("variants") or []]
    top = max((score for score, _ in scored), default=0)
    return [variant for score, variant in scored if top and score == top]


def priced(variants: Sequence[Variant]) -> str:
    """'size S; size M at $89.00', or each with its own price when the prices differ."""
    prices = {str(v.get("price")) for v in variants}
    if len(prices) == 1:
        return "; ".join(options_text(v) for v in variants) + f" at {money(variants[0].get('price'))}"
    return "; ".join(f"{options_text(v)} at {money(v.get('price'))}" for v in variants)


def closest_first(variants: Sequence[Variant], wanted: Variant) -> List[Variant]:
    """Variants sharing the most option values with `wanted` first: blue in another size before red."""
    values = set((wanted.get("options") or {}).items())
    return sorted(variants, key=lambda v: -len(values & set((v.get("options") or {}).items())))


def describe(product: Product, text: str) -> str:
    """What the catalogue says about `product`, narrowed to the variants `text` asks about."""
    name = product.get("name") or "that product"
    variants: Sequence[Variant] = product.get("variants") or []
    if not variants:
        return f"I found the {name} in our catalogue, but it has no variants on sale right now."
    asked = variants_asked(text, product)
    if asked:
        in_stock = [v for v in asked if v.get("available")]
        if in_stock:
            return f"Yes, the {name} is in stock in {priced(in_stock[:MAX_LISTED])}."
        others = closest_first([v for v in variants if v.get("available") and v not in asked], asked[0])
        sold_out = f"The {name} in {options_text(asked[0])} is sold out right now."
        if others:
            return f"{sold_out} In stock: {priced(others[:MAX_LISTED])}."
        return sold_out + " It is sold out in every variant."
    if len(variants) == 1 and not variants[0].get("options"):
        state = "in stock" if variants[0].get("available") else "sold out right now"
        return f"The {name} costs {money(variants[0].get('price'))} and is {state}."
    lines = [f"- {options_text(v)}: {money(v.get('price'))}, {'in stock' if v.get('available') else 'sold out'}"
             for v in variants[:MAX_LISTED]]
    more = len(variants) - MAX_LISTED
    tail = [f"…and {more} more; ask me about a size or colour."] if more > 0 else []
    return "\n".join([f"The {name} comes in:", *lines, *tail])


# -- choosing the variant a customer wants instead of the one they have ------------------------

SIZE_UP = re.compile(r"\b(bigger|larger|size up|one size up|up a size|a size up|next size up|longer|wider)\b", re.I)
SIZE_DOWN = re.compile(r"\b(smaller|size down|one size down|down a size|a size down|next size down|tighter|shorter)\b",
                       re.I)
CHEAPEST = re.compile(r"\b(cheapest|cheaper|least expensive|lowest price|less expensive|lower price)\b", re.I)


@dataclass(frozen=True)
class VariantChoice:
    """What a customer's words choose among a product's other variants."""

    #: the one variant they mean, in stock
    chosen: Optional[Variant] = None
    #: several in-stock variants fit the words ("in blue" in three sizes): they pick among these
    narrowed: Tuple[Variant, ...] = ()
    #: the variants the words name, all sold out
    sold_out: Tuple[Variant, ...] = ()


def alternatives(product: Product, current_variant_id: Any) -> List[Variant]:
    """The product's variants other than the one the customer has, in the catalogue's order."""
    return [v for v in product.get("variants") or [] if str(v.get("variant_id")) != str(current_variant_id)]


def choose_variant(text: str, product: Product, current_variant_id: Any) -> VariantChoice:
    """The variant `text` asks for instead of `current_variant_id`: named options ("size 10", "in
    blue"), a relative size ("a bigger size"), or the cheapest; nothing if the words choose none."""
    others = alternatives(product, current_variant_id)
    current = next((v for v in product.get("variants") or [] if str(v.get("variant_id")) == str(current_variant_id)),
                   None)
    named = variants_asked(text, {"variants": others})
    if current is not None and named:
        mine = set((current.get("options") or {}).items())
        words = set(_words(text))
        if all(value in mine for value in _named_values(named[0], words)):
            named = []  # "size M" from someone who has size M asks for no change
        else:
            # what they did not name stays as it is: "size L" of a blue M shirt is the blue L
            def kept(variant: Variant) -> int:
                return len(mine & set((variant.get("options") or {}).items()))
            closest = max(kept(v) for v in named)
            named = [v for v in named if kept(v) == closest]
    relative = _next_size(text, product, current) if current is not None and not named else None
    if relative is not None:
        named = [relative]
    pool = named or (others if CHEAPEST.search(text or "") else [])
    in_stock = [v for v in pool if v.get("available")]
    if CHEAPEST.search(text or "") and in_stock:
        low = min(cents(v.get("price")) for v in in_stock)
        in_stock = [v for v in in_stock if cents(v.get("price")) == low]
    if len(in_stock) == 1:
        return VariantChoice(chosen=in_stock[0])
    if in_stock:
        return VariantChoice(narrowed=tuple(in_stock))
    return VariantChoice(sold_out=tuple(pool))


def _named_values(variant: Variant, words: set) -> List[Tuple[str, Any]]:
    """The options of `variant` whose values the words name."""
    return [(key, value) for key, value in (variant.get("options") or {}).items() if set(_words(value)) <= words]


def _next_size(text: str, product: Product, current: Variant) -> Optional[Variant]:
    """The next size up or down with the same other options ("a bigger size" of a size-M blue shirt)."""
    step = 1 if SIZE_UP.search(text or "") else (-1 if SIZE_DOWN.search(text or "") else 0)
    options = current.get("options") or {}
    if not step or "size" not in options:
        return None
    rest = {k: v for k, v in options.items() if k != "size"}
    line = [v for v in product.get("variants") or []
            if {k: x for k, x in (v.get("options") or {}).items() if k != "size"} == rest
            and "size" in (v.get("options") or {})]
    position = next((n for n, v in enumerate(line) if v is current or v.get("variant_id") == current.get("variant_id")),
                    None)
    if position is None or not 0 <= position + step < len(line):
        return None
    return line[position + step]
