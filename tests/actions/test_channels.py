"""Typed "/intent" commands are ordinary text on customer channels."""

from __future__ import annotations

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.training_data.message import Message

from shop_channels import neutralize, neutralizing


def test_command_text_no_longer_parses_as_an_intent() -> None:
    for text in ("/affirm", ' /inform{"order_id":"4521"}', "/restart", "/session_start", "/EXTERNAL_x"):
        parsed = YAMLStoryReader.unpack_regex_message(Message({"text": neutralize(text)}))
        assert parsed.get("intent") is None, text


def test_ordinary_text_is_untouched() -> None:
    assert neutralize("yes please") == "yes please"
    assert neutralize("") == ""
    assert neutralize(None) is None


async def test_the_channel_wrapper_neutralizes_before_rasa_sees_the_message(monkeypatch, tmp_path) -> None:
    from actions.config import get_settings

    monkeypatch.setenv("ACTION_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    get_settings.cache_clear()
    seen = []

    async def on_new_message(message: UserMessage) -> None:
        seen.append(message.text)

    await neutralizing(on_new_message)(UserMessage(text="/affirm", sender_id="x"))
    get_settings.cache_clear()
    assert seen[0] != "/affirm" and seen[0].endswith("/affirm")


# -- who may speak in a conversation (shop_channels.identity) ------------------------------------

def test_session_ids_are_issued_and_signed_by_the_server(monkeypatch) -> None:
    from shop_channels.identity import issue_session_id, session_id_if_signed

    monkeypatch.setenv("SESSION_SIGNING_SECRET", "test-session-signing-secret-0123")
    issued = issue_session_id()
    assert session_id_if_signed(issued) == issued
    value, _, signature = issued.partition(".")
    for forged in (value, f"{value}.{'0' * len(signature)}", f"{'a' * len(value)}.{signature}",
                   "customer-1234", None, 42, issued + "x"):
        assert session_id_if_signed(forged) is None, forged
    monkeypatch.setenv("SESSION_SIGNING_SECRET", "another-servers-secret-0123456")
    assert session_id_if_signed(issued) is None


def test_the_token_is_replaced_by_the_verified_login_and_claims_of_the_client_are_dropped(monkeypatch) -> None:
    import time

    import jwt

    from actions.config import get_settings
    from shop_channels.identity import conversation_id, customer_metadata

    monkeypatch.setenv("CUSTOMER_TOKEN_SECRET", "channel-test-secret-0123456789")
    get_settings.cache_clear()
    try:
        token = jwt.encode({"sub": "cus_jane_doe", "exp": int(time.time()) + 60},
                           "channel-test-secret-0123456789", algorithm="HS256")
        metadata = customer_metadata({"customer_token": token, "login": {"customer_id": "cus_sam_lee"},
                                      "client_key": "forged", "page": "/shop"}, client="web:10.0.0.1")
        assert "customer_token" not in metadata and token not in str(metadata)
        assert metadata["login"]["customer_id"] == "cus_jane_doe" and metadata["page"] == "/shop"
        assert metadata["client_key"] != "forged" and "10.0.0.1" not in metadata["client_key"]
        anonymous = customer_metadata({"login": {"customer_id": "cus_sam_lee", "expires_at": 4e9}}, client="web:x")
        assert "login" not in anonymous
        # Logged in and logged out: two conversations of one session, never sharing verification.
        ids = {conversation_id("session-1", metadata), conversation_id("session-1", anonymous),
               conversation_id("session-1", customer_metadata({}, client="web:x"))}
        assert len(ids) == 2 and "session-1" in ids
    finally:
        get_settings.cache_clear()


def test_conversation_ids_are_hashed_for_logs() -> None:
    from actions.common import mask_conversation_id

    masked = mask_conversation_id("secret-session-id")
    assert "secret" not in masked and masked == mask_conversation_id("secret-session-id")
    assert masked != mask_conversation_id("another-session-id")
