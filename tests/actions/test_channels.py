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


async def test_the_channel_wrapper_neutralizes_before_rasa_sees_the_message() -> None:
    seen = []

    async def on_new_message(message: UserMessage) -> None:
        seen.append(message.text)

    await neutralizing(on_new_message)(UserMessage(text="/affirm", sender_id="x"))
    assert seen[0] != "/affirm" and seen[0].endswith("/affirm")
