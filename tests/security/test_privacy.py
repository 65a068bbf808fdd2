"""Logs and the ledger's audit trail keep no full email, address or payment data."""

from __future__ import annotations

from tests.stack import Conversation

SECRETS = ("jane.doe@example.com", "48 Elm Street", "Elm Street", "12 Harbour Lane")


def test_the_audit_trail_keeps_addresses_and_emails_masked(customer: Conversation, stack) -> None:
    customer.say("I need to change the shipping address on order 4522")
    customer.say("jane.doe@example.com")
    customer.say("48 Elm Street, Austin, TX 78701, US")
    assert "will ship to 48 Elm Street" in customer.say("yes")
    [row] = customer.ledger()
    audit = f"{row.summary} {row.arguments} {row.audit_summary} {row.redacted_arguments} {row.result}"
    assert not any(secret in audit for secret in SECRETS), audit
    assert "Austin" in row.summary  # still useful to support staff


def test_the_saved_addresses_audit_trail_is_masked(customer: Conversation, stack) -> None:
    customer.say("change my default address")
    customer.say("jane.doe@example.com")
    customer.say("48 Elm Street, Austin, TX 78701, US")
    assert "saved on your account is now 48 Elm Street" in customer.say("yes")
    [row] = customer.ledger()
    audit = f"{row.summary} {row.arguments} {row.audit_summary} {row.redacted_arguments} {row.result}"
    assert not any(secret in audit for secret in SECRETS), audit
    assert "Austin" in row.summary and "Portland" in row.summary


def test_logs_hold_no_email_or_address(customer: Conversation, stack, logs_dir) -> None:
    customer.say("I need to change the shipping address on order 4522")
    customer.say("jane.doe@example.com")
    customer.say("48 Elm Street, Austin, TX 78701, US")
    customer.say("yes")
    for log in logs_dir.glob("*.log"):
        content = log.read_text(errors="replace")
        assert not any(secret in content for secret in SECRETS), log.name
