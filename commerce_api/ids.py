"""Identifier formats of the contract, shared by request schemas (OpenAPI patterns) and path checks.

Every id that arrives in a path is checked here first: a malformed one is "not found" before it can reach
SQL, a log line or an error message. The patterns are ASCII-only on purpose (Python's \\w and \\d would
also accept other scripts' letters and digits).
"""

from __future__ import annotations

import re

# Shop-defined order numbers: "4521" (demo), "#W2378156" (τ-bench; clients send '#' as %23 in paths).
ORDER_ID_PATTERN = r"^[A-Za-z0-9#_-]{1,32}$"
# Opaque per-order line ids: "4521-1" (demo), "6469567736" or "6469567736-2" (τ-bench), unique in an order.
ITEM_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# Payment methods (and so gift cards): "pm_jane_visa_4242", "gift_card_4374071".
PAYMENT_METHOD_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
PRODUCT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
# Variants (SKUs) within a product: "denim-jacket-l" (demo), "9612497925" (τ-bench).
VARIANT_ID_PATTERN = PRODUCT_ID_PATTERN
RETURN_ID_PATTERN = r"^RMA-[A-Z0-9]{8}$"
EXCHANGE_ID_PATTERN = r"^EXC-[A-Z0-9]{8}$"
TRACKING_NUMBER_PATTERN = r"^[A-Z0-9]{6,40}$"
# X-Client-Key: printable ASCII without spaces, as the Idempotency-Key.
CLIENT_KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"


def _matcher(pattern: str) -> re.Pattern[str]:
    # fullmatch without the anchors: "$" would also accept a trailing newline.
    return re.compile(pattern.removeprefix("^").removesuffix("$"))


ORDER_ID = _matcher(ORDER_ID_PATTERN)
ITEM_ID = _matcher(ITEM_ID_PATTERN)
CUSTOMER_ID = _matcher(CUSTOMER_ID_PATTERN)
PRODUCT_ID = _matcher(PRODUCT_ID_PATTERN)
RETURN_ID = _matcher(RETURN_ID_PATTERN)
EXCHANGE_ID = _matcher(EXCHANGE_ID_PATTERN)
TRACKING_NUMBER = _matcher(TRACKING_NUMBER_PATTERN)


def is_order_id(value: str) -> bool:
    return ORDER_ID.fullmatch(value) is not None


def is_item_id(value: str) -> bool:
    return ITEM_ID.fullmatch(value) is not None


def is_customer_id(value: str) -> bool:
    return CUSTOMER_ID.fullmatch(value) is not None


def is_product_id(value: str) -> bool:
    return PRODUCT_ID.fullmatch(value) is not None


def is_return_id(value: str) -> bool:
    return RETURN_ID.fullmatch(value) is not None


def is_exchange_id(value: str) -> bool:
    return EXCHANGE_ID.fullmatch(value) is not None


def is_tracking_number(value: str) -> bool:
    return TRACKING_NUMBER.fullmatch(value) is not None
