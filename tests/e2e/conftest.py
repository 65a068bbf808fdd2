"""End-to-end tests use the `stack` and `customer` fixtures of tests/conftest.py."""

from tests.stack import MODEL, Conversation, Stack  # noqa: F401  (imported by other test packages)
