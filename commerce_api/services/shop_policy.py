"""The seeded shop's policy, read from the `shop_policy` table (the demo policy when nothing was seeded)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce_api import schemas
from commerce_api.models import ShopPolicyRow
from commerce_api.policy import DEMO_POLICY, RefundDays, ShopPolicy
from commerce_api.views import policy_view


def policy_row(policy: ShopPolicy) -> ShopPolicyRow:
    return ShopPolicyRow(
        shop=policy.shop,
        currency=policy.currency,
        refund_methods=list(policy.refund_methods),
        refund_days={m: {"min": d.min, "max": d.max} for m, d in policy.refund_days.items()},
        cancellable_statuses=list(policy.cancellable_statuses),
        address_change_statuses=list(policy.address_change_statuses),
        item_change_statuses=list(policy.item_change_statuses),
    )


def load_policy(*, session: Session) -> ShopPolicy:
    row = session.scalars(select(ShopPolicyRow).order_by(ShopPolicyRow.shop).limit(1)).first()
    if row is None:
        return DEMO_POLICY
    return ShopPolicy(
        shop=row.shop,
        currency=row.currency,
        refund_methods=tuple(row.refund_methods),
        refund_days={m: RefundDays(int(d["min"]), int(d["max"])) for m, d in row.refund_days.items()},
        cancellable_statuses=tuple(row.cancellable_statuses),
        address_change_statuses=tuple(row.address_change_statuses),
        # A row seeded before revision 0003 has none: the default (processing orders only).
        item_change_statuses=tuple(row.item_change_statuses)
        if row.item_change_statuses is not None
        else ShopPolicy.item_change_statuses,
    )


def get_policy(*, session: Session, return_window_days: int) -> schemas.PolicyOut:
    return policy_view(load_policy(session=session), return_window_days=return_window_days)
