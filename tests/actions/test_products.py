"""Product questions are answered from the shop's catalogue (the real commerce API), never invented.

No identity is asked: the catalogue is what the shop's website shows anyone.
"""

from __future__ import annotations

from typing import Dict, List

import pytest
from rasa_sdk import Tracker

from actions.api import commerce
from actions.capabilities.answers import ActionAnswerQuestion
from actions.config import get_settings
from tests.actions.conftest import texts
from tests.processes import free_port


def question(text: str, items: List[str] = ()) -> Tracker:
    entities: List[Dict] = [{"entity": "item", "value": item} for item in items]
    return Tracker("product-questions", {}, {"text": text, "intent": {"name": "product_question", "confidence": 0.99},
                                             "entities": entities},
                   [{"event": "user", "text": text}], False, None, {}, "action_listen")


async def ask(dispatcher, text: str, items: List[str] = ()) -> str:
    await ActionAnswerQuestion().run(dispatcher, question(text, items), {})
    return "\n".join(str(t) for t in texts(dispatcher))


async def test_a_variant_in_stock_is_confirmed_with_its_price_and_no_identity_asked(api_calls, dispatcher) -> None:
    said = await ask(dispatcher, "do you have the canvas sneakers in size 10?", ["canvas sneakers"])
    assert "Canvas Sneakers" in said and "size 10" in said and "$65.00" in said and "in stock" in said
    assert api_calls.count("/customers") == 0 and api_calls.count("/orders") == 0


async def test_a_sold_out_variant_is_said_to_be_sold_out_and_the_ones_in_stock_are_offered(api_calls,
                                                                                           dispatcher) -> None:
    said = await ask(dispatcher, "is the blue denim jacket available in XL", ["blue denim jacket"])
    assert "sold out" in said and "size XL" in said.split("In stock")[0]
    assert "size M" in said.split("In stock")[1]


async def test_without_a_variant_named_every_variant_is_listed(api_calls, dispatcher) -> None:
    said = await ask(dispatcher, "what sizes does the chino shorts come in", ["chino shorts"])
    assert all(f"size {size}" in said for size in ("30", "32", "34", "36"))
    assert "size 36: $48.00, sold out" in said


async def test_a_typo_still_finds_the_product(api_calls, dispatcher) -> None:
    said = await ask(dispatcher, "how much is the lether belt", ["lether belt"])
    assert "Leather Belt" in said and "$45.00" in said


async def test_a_word_several_products_share_asks_which_one(api_calls, dispatcher) -> None:
    said = await ask(dispatcher, "do you have the jacket in M", ["jacket"])
    assert said == "utter_which_product"
    titles = {button["title"] for button in dispatcher.messages[0]["buttons"]}
    assert titles == {"Blue Denim Jacket", "Rain Jacket"}


async def test_a_product_the_catalogue_does_not_have_is_not_found_not_guessed(api_calls, dispatcher) -> None:
    said = await ask(dispatcher, "do you sell flamingo floor lamps", ["flamingo floor lamps"])
    assert said == "utter_product_not_found"


async def test_without_an_item_entity_the_message_itself_is_searched(api_calls, dispatcher) -> None:
    said = await ask(dispatcher, "is the striped scarf in stock?")
    assert "Striped Scarf" in said and "$19.00" in said


async def test_odd_text_gets_an_answer_and_a_bounded_number_of_searches(api_calls, dispatcher) -> None:
    text = "do you have \x00\x1b " + " ".join(f"word{n}" for n in range(400)) + " linen shirt"
    said = await ask(dispatcher, text)
    assert said in ("utter_product_not_found", "utter_which_product") or "Linen Shirt" in said
    assert api_calls.count("/products") <= 4


async def test_a_catalogue_that_is_down_gets_an_honest_answer(configured, monkeypatch: pytest.MonkeyPatch,
                                                               dispatcher) -> None:
    monkeypatch.setenv("COMMERCE_API_URL", f"http://127.0.0.1:{free_port()}")
    for cached in (get_settings, commerce.get_commerce_client):
        cached.cache_clear()
    said = await ask(dispatcher, "do you have the linen shirt in L", ["linen shirt"])
    assert said == "utter_product_question"
