"""Reading and checking a new shipping address (countries from pycountry, postal rules from i18n address data)."""

from __future__ import annotations

from actions.capabilities.address import ValidateAddressForm
from actions.shop.addresses import (
    needs_state,
    normalize_country,
    normalize_state,
    one_line,
    postal_code_valid,
    split_one_line,
)
from tests.actions.test_flows import slot_values, turn

JANE = {"customer_id": "cus_jane_doe", "verified_via": "email"}


def test_a_one_line_address_is_split_into_its_parts() -> None:
    assert split_one_line("48 Elm Street, Austin, TX 78701, US") == {
        "address_street": "48 Elm Street", "address_city": "Austin", "address_state": "TX",
        "address_postal_code": "78701", "address_country": "US",
    }
    assert split_one_line("10 Downing Street, London SW1A 2AA, United Kingdom") == {
        "address_street": "10 Downing Street", "address_city": "London",
        "address_postal_code": "SW1A 2AA", "address_country": "GB",
    }
    assert split_one_line("48 Elm Street") == {}


def test_countries_states_and_postal_codes_are_checked_per_country() -> None:
    assert normalize_country(" united states ") == "US" and normalize_country("UK") == "GB"
    assert normalize_country("Deutschland") == "DE"
    assert normalize_country("Narnia") is None and normalize_country("Brazil") is None  # not served
    assert postal_code_valid("78701", "US") and not postal_code_valid("7870", "US")
    assert postal_code_valid("1012 AB", "NL") and not postal_code_valid("78701", "NL")
    assert needs_state("US") and not needs_state("DE")
    assert normalize_state("texas", "US") == "TX" and normalize_state("Narnia", "US") is None


def test_the_one_line_form_is_what_the_customer_reads() -> None:
    address = {"street": "48 Elm Street", "city": "Austin", "postal_code": "78701", "country": "US"}
    assert one_line(address) == "48 Elm Street, Austin 78701, US"
    assert one_line({**address, "state": "TX"}) == "48 Elm Street, Austin, TX 78701, US"


async def test_a_one_line_answer_fills_every_valid_part(configured, dispatcher) -> None:
    events = await ValidateAddressForm().run(dispatcher, turn(
        {**JANE, "order_id": "4522"}, "48 Elm Street, Austin, TX 7870, US", form="address_form",
        requested="address_street"), {})
    slots = slot_values(events)
    assert (slots["address_street"], slots["address_city"], slots["address_state"], slots["address_country"]) == (
        "48 Elm Street", "Austin", "TX", "US")
    assert slots["requested_slot"] == "address_postal_code"
    assert dispatcher.messages[0]["response"] == "utter_invalid_postal_code"


async def test_a_postal_code_that_does_not_fit_the_new_country_is_asked_again(configured, dispatcher) -> None:
    events = await ValidateAddressForm().run(dispatcher, turn(
        {**JANE, "order_id": "4522", "address_street": "1 Dam", "address_city": "Amsterdam",
         "address_postal_code": "78701"}, "Netherlands", form="address_form", requested="address_country"), {})
    slots = slot_values(events)
    assert slots["address_country"] == "NL" and slots["address_postal_code"] is None


async def test_a_country_the_shop_does_not_serve_is_refused(configured, dispatcher) -> None:
    events = await ValidateAddressForm().run(dispatcher, turn(
        {**JANE, "order_id": "4522", "address_street": "1 Rua", "address_city": "Rio"}, "Brazil",
        form="address_form", requested="address_country"), {})
    assert slot_values(events)["requested_slot"] == "address_country"
    assert dispatcher.messages[0]["response"] == "utter_unsupported_country"


async def test_a_number_typed_for_the_address_is_not_a_new_order(configured, dispatcher) -> None:
    events = await ValidateAddressForm().run(dispatcher, turn(
        {**JANE, "order_id": "4522", "address_street": "1 Main St", "address_city": "Portland",
         "address_country": "US", "address_state": "OR"}, "97201", form="address_form",
        requested="address_postal_code"), {})
    slots = slot_values(events)
    assert slots["order_id"] == "4522" and slots["address_postal_code"] == "97201"


async def test_a_shipped_order_cannot_be_re_addressed(configured, dispatcher) -> None:
    events = await ValidateAddressForm().run(dispatcher, turn(
        JANE, "order 4523", form="address_form", requested="order_id"), {})
    assert slot_values(events)["form_halted"] is True
    assert "already shipped with UPS" in dispatcher.messages[0]["text"]
