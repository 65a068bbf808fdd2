"""Reading and checking a new shipping address."""

from __future__ import annotations

from actions.address import ValidateAddressForm
from actions.addresses import normalize_country, one_line, postal_code_valid, split_one_line
from tests.actions.conftest import make_tracker

JANE = {"4522": "cus_jane_doe", "4523": "cus_jane_doe"}


def test_a_one_line_address_is_split_into_its_parts() -> None:
    assert split_one_line("48 Elm Street, Austin, 78701, US") == {
        "address_street": "48 Elm Street", "address_city": "Austin",
        "address_postal_code": "78701", "address_country": "US",
    }
    assert split_one_line("10 Downing Street, London SW1A 2AA, United Kingdom") == {
        "address_street": "10 Downing Street", "address_city": "London",
        "address_postal_code": "SW1A 2AA", "address_country": "GB",
    }
    assert split_one_line("48 Elm Street") == {}


def test_countries_and_postal_codes_are_checked_per_country() -> None:
    assert normalize_country(" united states ") == "US"
    assert normalize_country("Narnia") is None
    assert postal_code_valid("78701", "US") and not postal_code_valid("7870", "US")
    assert postal_code_valid("1012 AB", "NL") and not postal_code_valid("78701", "NL")


def test_the_one_line_form_is_what_the_customer_reads() -> None:
    address = {"street": "48 Elm Street", "city": "Austin", "postal_code": "78701", "country": "US"}
    assert one_line(address) == "48 Elm Street, Austin 78701, US"


async def test_a_one_line_answer_fills_every_valid_part(dispatcher) -> None:
    slots = await ValidateAddressForm().validate_address_street(
        "48 Elm Street, Austin, 7870, US", dispatcher, make_tracker(active_loop="address_form"), {})
    assert slots == {"address_street": "48 Elm Street", "address_city": "Austin",
                     "address_country": "US", "address_postal_code": None}
    assert dispatcher.messages[0]["response"] == "utter_invalid_postal_code"


async def test_a_postal_code_that_does_not_fit_the_new_country_is_asked_again(dispatcher) -> None:
    tracker = make_tracker({"address_postal_code": "78701"}, active_loop="address_form")
    slots = await ValidateAddressForm().validate_address_country("Netherlands", dispatcher, tracker, {})
    assert slots == {"address_country": "NL", "address_postal_code": None}


async def test_an_unsupported_country_is_refused(dispatcher) -> None:
    slots = await ValidateAddressForm().validate_address_country(
        "Narnia", dispatcher, make_tracker(active_loop="address_form"), {})
    assert slots == {"address_country": None}
    assert dispatcher.messages[0]["response"] == "utter_unsupported_country"


async def test_a_number_typed_for_the_address_is_not_a_new_order(configured, dispatcher) -> None:
    events = [
        {"event": "slot", "name": "order_id", "value": "4522"},
        {"event": "user", "text": "97201"},
    ]
    tracker = make_tracker({"order_id": "97201", "verified_orders": JANE, "requested_slot": "address_postal_code"},
                           active_loop="address_form", events=events)
    slots = await ValidateAddressForm().validate_order_id("97201", dispatcher, tracker, {})
    assert slots == {"order_id": "4522"}


async def test_a_shipped_order_cannot_be_re_addressed(configured, dispatcher) -> None:
    tracker = make_tracker({"order_id": "4523", "verified_orders": JANE}, active_loop="address_form")
    slots = await ValidateAddressForm().validate_order_id("4523", dispatcher, tracker, {})
    assert slots["form_halted"] is True
    assert "already shipped with UPS" in dispatcher.messages[0]["text"]
