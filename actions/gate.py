"""The confirmation gate every destructive action passes through, written once (an order's or the account's).

1. Stage: a capability proposes an action; `stage` writes it to the ledger as
   `awaiting_confirmation` with a human summary and an expiry.
2. Ask: the prompt is rendered from the ledger row (see `actions.dialogue.gate_actions`).
3. Confirm: only affirm/deny while the gate asks can answer (slot mapping conditions).
4. Execute: `claim` is one conditional UPDATE `awaiting_confirmation → executing`,
   so a second "yes", a replayed message or a retried webhook finds nothing to
   claim. The arguments come from the row, and the row id is the idempotency key.
   A claim is a lease: `expires_at` becomes the moment by which the execution must be
   over (every commerce API call is time-bounded). A row still `executing` after it
   was claimed by a process that died; `take_over` lets one caller run it again with
   the same idempotency key (the API acts at most once), as it does for a row whose
   outcome is unknown.
5. Reset: slots are cleared by the caller in the same turn; rows expire.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from sqlalchemy import and_, or_, select, update

from actions import ledger, telemetry
from actions.api.commerce import CommerceClient
from actions.ledger import StagedAction, utcnow


class NotPossible(Exception):
    """The proposal cannot be made (e.g. the item stopped being returnable); the
    message is the customer-facing explanation."""


@dataclass(frozen=True)
class Proposal:
    """What a capability wants to do, before the customer has said yes."""

    #: the order it changes; "" for a change to the customer's account (their saved address)
    order_id: str
    customer_id: str
    arguments: Dict[str, Any]
    summary_lines: List[str]
    question: str
    #: the summary and arguments kept for the audit trail once the row is final;
    #: only needed when the originals hold personal data such as an address
    audit_lines: Optional[List[str]] = None
    redacted_arguments: Optional[Dict[str, Any]] = None

    @property
    def prompt(self) -> str:
        """The whole confirmation prompt as the customer sees it."""
        return "\n".join(self.summary_lines) + "\n\n" + self.question

    @property
    def audit_summary(self) -> str:
        return "\n".join(self.audit_lines if self.audit_lines is not None else self.summary_lines)

    @property
    def audit_arguments(self) -> Dict[str, Any]:
        return self.redacted_arguments if self.redacted_arguments is not None else self.arguments


@dataclass(frozen=True)
class Outcome:
    """What executing a staged action did, in the customer's words."""

    succeeded: bool
    messages: List[str]
    result: Dict[str, Any] = field(default_factory=dict)
    status: str = ledger.SUCCEEDED


class GatedCapability(ABC):
    """A destructive capability: how to propose it and how to execute it."""

    #: name recorded in the ledger, e.g. "create_return"
    action_name: str
    #: the form whose last required slot is the gate's confirmation
    form_name: str
    #: slots of this capability cleared once the gate is resolved
    slots_to_reset: tuple = ()
    #: the capability's slots whose values the staged row holds: a message that changes one of
    #: them at the confirmation is a change, never a "yes" to what was shown
    staged_slots: tuple = ()

    @abstractmethod
    def propose(self, tracker: Any, client: CommerceClient) -> Proposal:
        """Builds the proposal from the conversation (may raise CommerceError)."""

    @abstractmethod
    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        """Runs the action with the arguments stored in `row`."""

    def owner(self, client: CommerceClient, row: StagedAction) -> Optional[str]:
        """The customer `row`'s subject belongs to now, read from the API (may raise CommerceError).

        Checked against the row's customer right before executing. By default the subject is the
        row's order; a capability about the account itself (no order, `order_id` "") overrides it.
        """
        order = client.get_order(row.order_id)
        return (order.get("customer") or {}).get("id")

    def reconcile(self, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
        """Reads the API to learn whether `row`'s write took effect although its answer was lost.

        Returns the succeeded Outcome if the API shows the change, None if it does not (or
        cannot tell); may raise CommerceError.
        """
        return None

    def describe_result(self, row: StagedAction) -> List[str]:
        """What to tell a customer who never heard that `row` (now final, redacted) succeeded."""
        return ["Good news — that went through."]


_CAPABILITIES: Dict[str, GatedCapability] = {}


def register(capability: GatedCapability) -> GatedCapability:
    _CAPABILITIES[capability.form_name] = capability
    return capability


def capability_for_form(form_name: Optional[str]) -> Optional[GatedCapability]:
    return _CAPABILITIES.get(form_name or "")


def capability_for_action(action_name: str) -> Optional[GatedCapability]:
    return next((c for c in _CAPABILITIES.values() if c.action_name == action_name), None)


def gated_forms() -> List[str]:
    return sorted(_CAPABILITIES)


def capabilities() -> List[GatedCapability]:
    return [_CAPABILITIES[name] for name in sorted(_CAPABILITIES)]


# Metric outcome of each final ledger status (assistant_gate_transitions_total).
TRANSITION_OUTCOMES = {ledger.SUCCEEDED: "executed", ledger.FAILED: "failed", ledger.DECLINED: "declined",
                       ledger.ABANDONED: "abandoned", ledger.UNKNOWN: "outcome_unknown"}

# Without settings (tests, scripts): three default retry budgets plus margin, see Settings.
DEFAULT_LEASE_SECONDS = 35.0

# Final states keep only what the audit trail needs (see Proposal.audit_lines).
REDACTED = {"summary": StagedAction.audit_summary, "arguments": StagedAction.redacted_arguments}


class Gate:
    """Ledger operations of the gate; every method is one short transaction."""

    def __init__(self, *, ttl_minutes: float, ledger_url: Optional[str] = None,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.ttl = timedelta(minutes=ttl_minutes)
        self.lease = timedelta(seconds=lease_seconds)
        self._sessions = ledger.get_sessionmaker(ledger_url)

    def stage(
        self,
        *,
        conversation_id: str,
        action_name: str,
        proposal: Proposal,
        replace_id: Optional[str] = None,
    ) -> StagedAction:
        """Stages `proposal`, editing `replace_id` in place when it is still open.

        Editing keeps one row per decision: "actually the reason is X" changes
        the staged return rather than leaving a second one lying around.
        """
        with telemetry.gate_span("stage", action_name=action_name, replaces=replace_id) as span:
            row = self._stage(conversation_id, action_name, proposal, replace_id)
            span.set_attribute("gate.ledger_row_id", row.id)
        telemetry.count_gate(action_name, "staged")
        return row

    def _stage(self, conversation_id: str, action_name: str, proposal: Proposal,
               replace_id: Optional[str]) -> StagedAction:
        now = utcnow()
        summary = "\n".join(proposal.summary_lines)
        with self._sessions.begin() as session:
            if replace_id:
                edited = session.execute(
                    update(StagedAction)
                    .where(
                        StagedAction.id == replace_id,
                        StagedAction.conversation_id == conversation_id,
                        StagedAction.action_name == action_name,
                        StagedAction.status == ledger.AWAITING_CONFIRMATION,
                        StagedAction.expires_at > now,
                    )
                    .values(
                        arguments=proposal.arguments,
                        summary=summary,
                        audit_summary=proposal.audit_summary,
                        redacted_arguments=proposal.audit_arguments,
                        order_id=proposal.order_id,
                        customer_id=proposal.customer_id,
                        updated_at=now,
                        expires_at=now + self.ttl,
                    )
                    .execution_options(synchronize_session=False)
                )
                if edited.rowcount == 1:
                    return session.get(StagedAction, replace_id)
            row = StagedAction(
                id=ledger.new_id(),
                conversation_id=conversation_id,
                customer_id=proposal.customer_id,
                order_id=proposal.order_id,
                action_name=action_name,
                arguments=proposal.arguments,
                summary=summary,
                audit_summary=proposal.audit_summary,
                redacted_arguments=proposal.audit_arguments,
                status=ledger.AWAITING_CONFIRMATION,
                created_at=now,
                updated_at=now,
                expires_at=now + self.ttl,
            )
            session.add(row)
        return row

    def get(self, row_id: str) -> Optional[StagedAction]:
        with self._sessions() as session:
            return session.get(StagedAction, row_id)

    def open_row(self, row_id: Optional[str], conversation_id: str) -> Optional[StagedAction]:
        """The row if it is awaiting confirmation, unexpired and this conversation's."""
        if not row_id:
            return None
        row = self.get(row_id)
        if (
            row is None
            or row.conversation_id != conversation_id
            or row.status != ledger.AWAITING_CONFIRMATION
            or row.expires_at <= utcnow()
        ):
            return None
        return row

    def claim(self, row_id: str, conversation_id: str) -> Optional[StagedAction]:
        """Atomically moves the row to `executing`; None if someone else did or it expired."""
        with telemetry.gate_span("claim", ledger_row_id=row_id) as span:
            row = self._claim(row_id, conversation_id)
            span.set_attribute("gate.claimed", row is not None)
            if row is not None:
                span.set_attribute("gate.action_name", row.action_name)
                telemetry.count_gate(row.action_name, "confirmed")
        return row

    def _claim(self, row_id: str, conversation_id: str) -> Optional[StagedAction]:
        now = utcnow()
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(StagedAction)
                .where(
                    StagedAction.id == row_id,
                    StagedAction.conversation_id == conversation_id,
                    StagedAction.status == ledger.AWAITING_CONFIRMATION,
                    StagedAction.expires_at > now,
                )
                .values(status=ledger.EXECUTING, updated_at=now, confirmed_at=now, expires_at=now + self.lease)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return None
            return session.get(StagedAction, row_id)

    def take_over(self, row_id: str, conversation_id: Optional[str] = None) -> Optional[StagedAction]:
        """Claims a confirmed row nobody is running: `executing` past its lease, or `outcome_unknown`.

        One conditional UPDATE, so of several takers (a restarted server, a replica, the
        recovery sweep) exactly one wins; the winner re-sends with the row id as
        idempotency key, so the API acts at most once whatever the first attempt did.
        """
        now = utcnow()
        conditions = [
            StagedAction.id == row_id,
            or_(
                and_(StagedAction.status == ledger.EXECUTING, StagedAction.expires_at <= now),
                StagedAction.status == ledger.UNKNOWN,
            ),
        ]
        if conversation_id is not None:
            conditions.append(StagedAction.conversation_id == conversation_id)
        with telemetry.gate_span("take_over", ledger_row_id=row_id) as span, self._sessions.begin() as session:
            taken = session.execute(
                update(StagedAction)
                .where(*conditions)
                .values(status=ledger.EXECUTING, updated_at=now, expires_at=now + self.lease)
                .execution_options(synchronize_session=False)
            ).rowcount == 1
            span.set_attribute("gate.taken", taken)
            row = session.get(StagedAction, row_id) if taken else None
        if row is not None:
            telemetry.count_gate(row.action_name, "resumed")
        return row

    def unfinished(self, conversation_id: str, *, since: datetime) -> Optional[StagedAction]:
        """The conversation's latest row confirmed after `since` without a known outcome."""
        with self._sessions() as session:
            return session.scalars(
                select(StagedAction)
                .where(
                    StagedAction.conversation_id == conversation_id,
                    StagedAction.status.in_((ledger.EXECUTING, ledger.UNKNOWN)),
                    StagedAction.confirmed_at > since,
                )
                .order_by(StagedAction.updated_at.desc())
                .limit(1)
            ).first()

    def orphans(self, *, since: datetime) -> List[StagedAction]:
        """Rows updated after `since`, confirmed, without a known outcome and nobody running them."""
        now = utcnow()
        with self._sessions() as session:
            return list(session.scalars(
                select(StagedAction)
                .where(
                    or_(
                        and_(StagedAction.status == ledger.EXECUTING, StagedAction.expires_at <= now),
                        StagedAction.status == ledger.UNKNOWN,
                    ),
                    StagedAction.updated_at > since,
                )
                .order_by(StagedAction.updated_at)
            ))

    def finish(self, row_id: str, *, status: str, result: Optional[Dict[str, Any]] = None,
               error: Optional[str] = None) -> None:
        # An unknown outcome may be retried with the same key: it keeps its arguments.
        self._transition(row_id, {ledger.EXECUTING}, status, redact=status != ledger.UNKNOWN,
                         result=result, error=error)

    def give_up(self, row_id: str, *, status: str, error: str, result: Optional[Dict[str, Any]] = None) -> bool:
        """Closes a confirmed row that ran out of time without executing it, for a person to look at.

        Only from `executing` past its lease or `outcome_unknown` (nobody is running it): the
        recovery sweep's verdict on a confirmation too old to act on.
        """
        now = utcnow()
        with self._sessions.begin() as session:
            changed = session.execute(
                update(StagedAction)
                .where(
                    StagedAction.id == row_id,
                    or_(and_(StagedAction.status == ledger.EXECUTING, StagedAction.expires_at <= now),
                        StagedAction.status == ledger.UNKNOWN),
                )
                .values(status=status, updated_at=now, error=error, result=result, needs_review=True, **REDACTED)
                .execution_options(synchronize_session=False)
            ).rowcount == 1
        if changed:
            action_name = self.get(row_id).action_name
            telemetry.count_gate(action_name, TRANSITION_OUTCOMES.get(status, status))
        return changed

    def for_review(self) -> List[StagedAction]:
        """Rows a person must look at (`make review`), oldest first."""
        with self._sessions() as session:
            return list(session.scalars(
                select(StagedAction).where(StagedAction.needs_review.is_(True)).order_by(StagedAction.updated_at)
            ))

    def decline(self, row_id: str, conversation_id: str) -> bool:
        return self._transition(
            row_id, {ledger.AWAITING_CONFIRMATION}, ledger.DECLINED, conversation_id=conversation_id
        )

    def abandon(self, row_id: str, conversation_id: str) -> bool:
        return self._transition(
            row_id, {ledger.AWAITING_CONFIRMATION}, ledger.ABANDONED, conversation_id=conversation_id
        )

    def expire_stale(self) -> int:
        """Marks every unconfirmed row past its expiry as expired; returns how many."""
        now = utcnow()
        stale = (StagedAction.status == ledger.AWAITING_CONFIRMATION, StagedAction.expires_at <= now)
        with telemetry.gate_span("expire") as span, self._sessions.begin() as session:
            names = list(session.scalars(select(StagedAction.action_name).where(*stale)))
            expired = session.execute(
                update(StagedAction)
                .where(*stale)
                .values(status=ledger.EXPIRED, updated_at=now, **REDACTED)
                .execution_options(synchronize_session=False)
            ).rowcount
            span.set_attribute("gate.expired", expired)
        if expired == len(names):
            for name in set(names):
                telemetry.count_gate(name, "expired", names.count(name))
        else:  # another process expired some of them in between: count without names
            telemetry.count_gate(None, "expired", expired)
        return expired

    def history(self, conversation_id: str) -> List[StagedAction]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(StagedAction)
                    .where(StagedAction.conversation_id == conversation_id)
                    .order_by(StagedAction.created_at)
                )
            )

    def _transition(self, row_id: str, allowed: set, status: str, *, conversation_id: Optional[str] = None,
                    redact: bool = True, **values: Any) -> bool:
        conditions = [StagedAction.id == row_id, StagedAction.status.in_(allowed)]
        if conversation_id is not None:
            conditions.append(StagedAction.conversation_id == conversation_id)
        outcome = TRANSITION_OUTCOMES.get(status, status)
        operation = {ledger.DECLINED: "decline", ledger.ABANDONED: "abandon"}.get(status, "finish")
        with telemetry.gate_span(operation, ledger_row_id=row_id, outcome=outcome) as span, \
                self._sessions.begin() as session:
            changed = session.execute(
                update(StagedAction)
                .where(*conditions)
                .values(status=status, updated_at=utcnow(), **(REDACTED if redact else {}), **values)
                .execution_options(synchronize_session=False)
            ).rowcount == 1
            span.set_attribute("gate.changed", changed)
            if changed:
                action_name = session.scalar(select(StagedAction.action_name).where(StagedAction.id == row_id))
                span.set_attribute("gate.action_name", action_name or "")
        if changed:  # counted once committed
            telemetry.count_gate(action_name, outcome)
        return changed


def get_gate() -> Gate:
    """The gate on the configured ledger."""
    from actions.config import get_settings

    settings = get_settings()
    return Gate(ttl_minutes=settings.gate_ttl_minutes, ledger_url=settings.ledger_url,
                lease_seconds=settings.execution_lease_seconds)
