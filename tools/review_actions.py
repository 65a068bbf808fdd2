"""Confirmed actions a person must look at: `make review`.

A customer confirmed them, but they could not be finished within the confirmation's lifetime
(the action server died, the commerce API never answered). The recovery sweep (`make prune`)
never executes such a row late: it reads the commerce API to learn whether the first attempt
took effect, closes the row as succeeded or failed, tells the customer on their next turn, and
lists it here for the support team.

    python -m tools.review_actions [--ledger-url URL]
"""

from __future__ import annotations

import argparse
import os

from tools import configure_environment, quiet_libraries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ledger-url", default=None)
    args = parser.parse_args()
    configure_environment()
    quiet_libraries()
    from actions.gate import Gate

    gate = Gate(ttl_minutes=15, ledger_url=args.ledger_url or os.environ.get("ACTION_LEDGER_URL"))
    rows = gate.for_review()
    if not rows:
        print("Nothing to review.")
        return
    for row in rows:
        subject = f"order {row.order_id}" if row.order_id else f"customer {row.customer_id}"
        print(f"{row.updated_at:%Y-%m-%d %H:%M} UTC  {row.status:<9} {row.action_name:<24} {subject}  "
              f"row {row.id}\n    {row.error}\n    " + row.audit_summary.replace("\n", "\n    "))


if __name__ == "__main__":
    main()
