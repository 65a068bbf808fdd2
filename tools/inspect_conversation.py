"""What did the assistant do in one conversation? Its turns beside the ledger's rows.

    python -m tools.inspect_conversation <conversation_id> [--endpoints endpoints.yml] [--json]
    make inspect CONVERSATION=<conversation_id>

The conversation is read through Rasa's own tracker store API from whichever store
`endpoints.yml` configures (SQL, Redis, Mongo, DynamoDB...); the ledger from
ACTION_LEDGER_URL. Personal data stays out of the output: emails in what the customer
typed are masked, an address typed while the address form asks for it is masked, entity
values other than order numbers are masked, and ledger rows show their audit summary
(an address is masked there). Order numbers are shown: they are what support looks up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from tools import ROOT, configure_environment, mask_emails, quiet_libraries

HIDDEN_ACTIONS = {"action_listen"}


def _time(timestamp: Optional[float]) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _personal(entity: Optional[str]) -> bool:
    return any(word in (entity or "") for word in ("email", "address", "street", "city", "postal"))


def _ledger_time(value: Optional[datetime]) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


async def load_tracker(conversation_id: str, endpoints: str):
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import read_endpoint_config

    domain = Domain.load(str(ROOT / "domain"))
    store = TrackerStore.create(read_endpoint_config(endpoints, "tracker_store"), domain=domain)
    if not await store.exists(conversation_id):
        return None
    return await store.retrieve_full_tracker(conversation_id)


def timeline(tracker: Any) -> List[Dict[str, Any]]:
    """The conversation as rows of (time, who, what), personal data masked."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered

    rows: List[Dict[str, Any]] = []
    requested_slot: Optional[str] = None
    for event in tracker.events:
        when = _time(event.timestamp)
        if isinstance(event, SlotSet) and event.key == "requested_slot":
            requested_slot = event.value
        elif isinstance(event, UserUttered):
            from actions.common import mask_text

            text = event.text or ""
            # a new address typed while the address form asks for it is personal data
            text = mask_text(text) if (requested_slot or "").startswith("address_") else mask_emails(text)
            intent = event.intent or {}
            entities = [
                {"entity": e.get("entity"),
                 "value": "***" if _personal(e.get("entity")) else e.get("value")}
                for e in event.entities or []
            ]
            rows.append({"time": when, "who": "customer", "text": text, "intent": intent.get("name"),
                         "confidence": round(float(intent.get("confidence") or 0.0), 3), "entities": entities})
        elif isinstance(event, BotUttered):
            buttons = [b.get("title") for b in (event.data or {}).get("buttons") or []]
            rows.append({"time": when, "who": "bot", "text": mask_emails(event.text or ""), "buttons": buttons})
        elif isinstance(event, ActionExecuted) and event.action_name not in HIDDEN_ACTIONS:
            rows.append({"time": when, "who": "action", "action": event.action_name})
        elif isinstance(event, ActiveLoop) and event.name is None and rows and rows[-1].get("who") == "action":
            rows[-1]["ended_form"] = True
        elif isinstance(event, SessionStarted):
            rows.append({"time": when, "who": "session", "text": "new session started"})
    return rows


def ledger_rows(conversation_id: str, ledger_url: Optional[str]) -> Dict[str, List[Dict[str, Any]]]:
    from sqlalchemy import select

    from actions.ledger import HandoffRequest, StagedAction, get_sessionmaker

    sessions = get_sessionmaker(ledger_url)
    with sessions() as session:
        staged = session.scalars(
            select(StagedAction).where(StagedAction.conversation_id == conversation_id)
            .order_by(StagedAction.created_at)
        ).all()
        handoffs = session.scalars(
            select(HandoffRequest).where(HandoffRequest.conversation_id == conversation_id)
            .order_by(HandoffRequest.created_at)
        ).all()
    return {
        "staged_actions": [
            {"created_at": _ledger_time(r.created_at), "updated_at": _ledger_time(r.updated_at),
             "action": r.action_name, "order_id": r.order_id, "status": r.status,
             # the audit summary is the masked one (equal to the summary when nothing is personal)
             "summary": r.audit_summary, "result": r.result, "error": r.error, "id": r.id}
            for r in staged
        ],
        "handoff_requests": [
            {"created_at": _ledger_time(h.created_at), "reason": h.reason, "order_id": h.order_id,
             "reference": h.id[:8].upper()}
            for h in handoffs
        ],
    }


def render(conversation_id: str, rows: List[Dict[str, Any]], ledger: Dict[str, List[Dict[str, Any]]]) -> str:
    out = [f"Conversation {conversation_id}", "", "time (UTC)           who       what"]
    for row in rows:
        prefix = f"{row['time']:<20} {row['who']:<9} "
        if row["who"] == "customer":
            entities = ", ".join(f"{e['entity']}={e['value']}" for e in row["entities"])
            out.append(f"{prefix}\"{row['text']}\"")
            out.append(" " * 31 + f"intent {row['intent']} ({row['confidence']:.2f})"
                       + (f"; entities {entities}" if entities else ""))
        elif row["who"] == "bot":
            lines = row["text"].splitlines() or [""]
            out.append(prefix + lines[0])
            out.extend(" " * 31 + line for line in lines[1:])
            if row["buttons"]:
                out.append(" " * 31 + "buttons: " + " | ".join(row["buttons"]))
        elif row["who"] == "action":
            out.append(prefix + row["action"] + ("  (form ended)" if row.get("ended_form") else ""))
        else:
            out.append(prefix + row["text"])
    out += ["", "Action ledger (staged_actions)"]
    if not ledger["staged_actions"]:
        out.append("  (none: nothing was staged or changed in this conversation)")
    for item in ledger["staged_actions"]:
        # An account's action (the saved address) has no order.
        subject = f"order #{item['order_id']}" if item["order_id"] else "the customer's account"
        out.append(f"  {item['created_at']}  {item['action']}  {subject}  {item['status']}"
                   f"  (updated {item['updated_at']})")
        out.extend("    " + line for line in item["summary"].splitlines())
        if item["result"]:
            out.append("    result: " + json.dumps(item["result"], sort_keys=True))
        if item["error"]:
            out.append("    error: " + item["error"])
    out += ["", "Handoff requests"]
    if not ledger["handoff_requests"]:
        out.append("  (none)")
    for item in ledger["handoff_requests"]:
        order = f"  order #{item['order_id']}" if item["order_id"] else ""
        out.append(f"  {item['created_at']}  reference {item['reference']}  {item['reason']}{order}")
    return "\n".join(out)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("conversation_id")
    parser.add_argument("--endpoints", default=str(ROOT / "endpoints.yml"))
    parser.add_argument("--ledger-url", help="default: ACTION_LEDGER_URL")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    quiet_libraries()
    configure_environment()

    tracker = asyncio.run(load_tracker(args.conversation_id, args.endpoints))
    rows = timeline(tracker) if tracker is not None else []
    ledger = ledger_rows(args.conversation_id, args.ledger_url)
    if tracker is None and not any(ledger.values()):
        print(f"No conversation {args.conversation_id!r} in the tracker store or the ledger.", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"conversation_id": args.conversation_id, "found_in_tracker_store": tracker is not None,
                          "timeline": rows, **ledger}, indent=2, default=str))
    else:
        print(render(args.conversation_id, rows, ledger))
    return 0


if __name__ == "__main__":
    sys.exit(main())
