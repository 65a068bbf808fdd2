"""The confirmation gate's ledger transitions, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from actions import ledger
from actions.gate import Gate, Proposal
from actions.ledger import StagedAction


@pytest.fixture(params=["sqlite", "postgresql"])
def gate(request: pytest.FixtureRequest, tmp_path) -> Gate:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    gate = Gate(ttl_minutes=15, ledger_url=url)
    with gate._sessions.begin() as session:  # the PostgreSQL database is shared by the session
        session.execute(StagedAction.__table__.delete())
    return gate


def proposal(**arguments) -> Proposal:
    return Proposal(
        order_id="4521",
        customer_id="cus_jane_doe",
        arguments={"order_id": "4521", "item_id": "4521-1", "reason": "wrong_size", **arguments},
        summary_lines=["Order #4521", "Item: Blue Denim Jacket (Size M)"],
        question="Shall I create this return?",
    )


def stage(gate: Gate, conversation: str = "conv-1", **arguments) -> StagedAction:
    return gate.stage(conversation_id=conversation, action_name="create_return", proposal=proposal(**arguments))


def expire(gate: Gate, row_id: str) -> None:
    with gate._sessions.begin() as session:
        session.execute(
            update(StagedAction)
            .where(StagedAction.id == row_id)
            .values(expires_at=ledger.utcnow() - timedelta(seconds=1))
        )


def test_staging_writes_an_awaiting_row_with_summary_and_expiry(gate: Gate) -> None:
    row = stage(gate)
    stored = gate.get(row.id)
    assert stored.status == ledger.AWAITING_CONFIRMATION
    assert stored.summary == "Order #4521\nItem: Blue Denim Jacket (Size M)"
    assert stored.arguments["item_id"] == "4521-1"
    assert timedelta(minutes=14) < stored.expires_at - stored.created_at <= timedelta(minutes=15)


def test_restaging_edits_the_open_row_instead_of_adding_one(gate: Gate) -> None:
    first = stage(gate, reason="wrong_size")
    edited = gate.stage(
        conversation_id="conv-1", action_name="create_return",
        proposal=proposal(reason="damaged"), replace_id=first.id,
    )
    assert edited.id == first.id
    assert gate.get(first.id).arguments["reason"] == "damaged"
    assert len(gate.history("conv-1")) == 1


def test_a_row_of_another_conversation_is_not_edited(gate: Gate) -> None:
    theirs = stage(gate, conversation="someone-else")
    mine = gate.stage(conversation_id="conv-1", action_name="create_return", proposal=proposal(),
                      replace_id=theirs.id)
    assert mine.id != theirs.id
    assert gate.get(theirs.id).conversation_id == "someone-else"


def test_claim_succeeds_exactly_once(gate: Gate) -> None:
    row = stage(gate)
    assert gate.claim(row.id, "conv-1") is not None
    assert gate.claim(row.id, "conv-1") is None
    assert gate.get(row.id).status == ledger.EXECUTING


def test_concurrent_claims_have_one_winner(gate: Gate) -> None:
    row = stage(gate)
    winners = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        if gate.claim(row.id, "conv-1") is not None:
            winners.append(1)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert winners == [1]


def test_an_expired_row_cannot_be_claimed_or_reopened(gate: Gate) -> None:
    row = stage(gate)
    expire(gate, row.id)
    assert gate.open_row(row.id, "conv-1") is None
    assert gate.claim(row.id, "conv-1") is None
    assert gate.expire_stale() >= 1
    assert gate.get(row.id).status == ledger.EXPIRED


def test_another_conversation_cannot_claim_or_see_the_row(gate: Gate) -> None:
    row = stage(gate)
    assert gate.open_row(row.id, "attacker") is None
    assert gate.claim(row.id, "attacker") is None
    assert gate.get(row.id).status == ledger.AWAITING_CONFIRMATION


def test_declined_and_abandoned_rows_can_no_longer_execute(gate: Gate) -> None:
    declined, abandoned = stage(gate), stage(gate, conversation="conv-2")
    assert gate.decline(declined.id, "conv-1")
    assert gate.abandon(abandoned.id, "conv-2")
    assert gate.claim(declined.id, "conv-1") is None
    assert gate.claim(abandoned.id, "conv-2") is None
    assert [gate.get(declined.id).status, gate.get(abandoned.id).status] == [ledger.DECLINED, ledger.ABANDONED]


def test_finishing_records_the_outcome(gate: Gate) -> None:
    row = stage(gate)
    gate.claim(row.id, "conv-1")
    gate.finish(row.id, status=ledger.SUCCEEDED, result={"return_id": "RMA-1"})
    stored = gate.get(row.id)
    assert (stored.status, stored.result) == (ledger.SUCCEEDED, {"return_id": "RMA-1"})


def test_final_rows_keep_only_the_redacted_summary_and_arguments(gate: Gate) -> None:
    private = Proposal(
        order_id="4522", customer_id="cus_jane_doe",
        arguments={"order_id": "4522", "address": {"street": "48 Elm Street"}},
        summary_lines=["To: 48 Elm Street, Austin 78701, US"], question="Shall I update the address?",
        audit_lines=["To: 4* E** S*****, Austin 78***, US"],
        redacted_arguments={"order_id": "4522", "address": {"street": "4* E** S*****"}},
    )
    row = gate.stage(conversation_id="conv-1", action_name="change_shipping_address", proposal=private)
    assert "48 Elm Street" in gate.open_row(row.id, "conv-1").summary  # needed while it awaits its "yes"
    gate.claim(row.id, "conv-1")
    gate.finish(row.id, status=ledger.SUCCEEDED, result={})
    final = gate.get(row.id)
    assert "Elm" not in final.summary and "Elm" not in str(final.arguments)


def test_an_unknown_outcome_keeps_its_arguments_for_a_retry_with_the_same_key(gate: Gate) -> None:
    row = stage(gate)
    gate.claim(row.id, "conv-1")
    gate.finish(row.id, status=ledger.UNKNOWN, error="timeout")
    assert gate.get(row.id).arguments["item_id"] == "4521-1"
