"""Pure return-policy rules, including the inclusive deadline day."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from commerce_api.policy import evaluate_return

DELIVERED = datetime(2024, 3, 1, 18, 30)


def _check(today: date, **kw):
    args = {
        "order_status": "delivered",
        "delivered_at": DELIVERED,
        "final_sale": False,
        "already_returned": False,
        "today": today,
        "window_days": 30,
    }
    args.update(kw)
    return evaluate_return(**args)


def test_deadline_day_is_inclusive() -> None:
    on_deadline = _check(date(2024, 3, 31))
    assert on_deadline.eligible and on_deadline.deadline == date(2024, 3, 31)
    after = _check(date(2024, 4, 1))
    assert (after.eligible, after.reason) == (False, "outside_return_window")
    assert after.refund_methods == ()


def test_window_is_configurable() -> None:
    assert _check(date(2024, 3, 9), window_days=7).reason == "outside_return_window"
    assert _check(date(2024, 3, 8), window_days=7).eligible


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"order_status": "cancelled", "delivered_at": None}, "order_cancelled"),
        ({"already_returned": True}, "already_returned"),
        ({"final_sale": True}, "final_sale"),
        ({"order_status": "shipped", "delivered_at": None}, "not_delivered"),
        ({"order_status": "processing", "delivered_at": None}, "not_delivered"),
    ],
)
def test_reasons(kw: dict, reason: str) -> None:
    verdict = _check(date(2024, 3, 2), **kw)
    assert (verdict.eligible, verdict.reason) == (False, reason)
    assert verdict.message


def test_eligible_offers_both_refund_methods() -> None:
    assert _check(date(2024, 3, 2)).refund_methods == ("original_payment", "store_credit")
