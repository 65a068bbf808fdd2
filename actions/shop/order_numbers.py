"""Finding order numbers in what a customer types, with the shop profile's own patterns.

A number is taken as an order number only where one is expected (the bot just asked for it) or
clearly meant: written with "#", after the word "order", or in a shape no other number has (a
letter prefix such as "W2378156"). Dates, prices, postcodes and phone numbers elsewhere in a
message never replace the order being talked about.
"""

from __future__ import annotations

import re
from typing import List, Optional

from actions.shop.profile import ShopProfile, get_profile

# Words right before a number that say it is an order number.
ORDER_CONTEXT = re.compile(
    r"(?:\border(?:s)?(?:\s+(?:number|num|no\.?|nr\.?|id|#))?|\bord\.?|\bpurchase|\bnumber|\bno\.|\bnr\.?)\s*[:#-]?\s*$",
    re.IGNORECASE,
)
# Words right before a number that say it is something else.
OTHER_CONTEXT = re.compile(
    r"(?:\bzip|\bpost\s*code|\bpostal\s*code|\bphone|\bcall|\btel\.?|\bmobile|\bapt\.?|\bsuite|\bunit|\bsize|"
    r"\bstreet|\bpo\s*box|[$£€¥]|\busd|\beur)\s*(?:code|number|no\.?)?(?:\s+(?:is|was|:))?\s*[:#-]?\s*$",
    re.IGNORECASE,
)
MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
DATE_BEFORE = re.compile(rf"\b{MONTHS}\.?\s*(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s*)?$", re.IGNORECASE)
DATE_AFTER = re.compile(rf"^\s*(?:st|nd|rd|th)?\s*(?:of\s+)?{MONTHS}\b", re.IGNORECASE)
TOKEN_CHARS = re.compile(r"[A-Za-z0-9@._+-]")


def find_order_numbers(text: str, *, expected: bool, profile: Optional[ShopProfile] = None) -> List[str]:
    """The API order ids a message names, in order of appearance (duplicates removed)."""
    profile = profile or get_profile()
    found: List[str] = []
    for pattern in profile.order_patterns:
        for match in pattern.finditer(text or ""):
            written = match.group(0).lstrip()
            start = match.end() - len(written)  # the pattern may have eaten the space before "#"
            if not _stands_alone(text, start, match.end()):
                continue
            before = text[:start]
            after = text[match.end():]
            number = match.group("number").upper()
            if OTHER_CONTEXT.search(before) or DATE_BEFORE.search(before) or DATE_AFTER.search(after):
                continue
            clearly_meant = (
                "#" in written
                or bool(ORDER_CONTEXT.search(before))
                or any(ch.isalpha() for ch in number)
            )
            if (expected or clearly_meant) and not re.match(r"\s*%", after):
                api_id = profile.api_order_id(number)
                if api_id not in found:
                    found.append(api_id)
    return found


def _stands_alone(text: str, start: int, end: int) -> bool:
    """The match is a whole token: not digits inside an email, a longer number or a word."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before != "#" and TOKEN_CHARS.match(before) and not before.isspace():
        return False
    if TOKEN_CHARS.match(after) and after not in ".-" :
        return False
    if after in ".-" and end + 1 < len(text) and text[end + 1].isalnum():
        return False  # "4521.5", "4521-3": part of something longer
    if re.search(r"\d[ -]$", text[:start]) or re.match(r"[ -]\d", text[end:]):
        return False  # one group of a longer number: "503 555 0100", "4111 1111 1111 1111"
    return True
