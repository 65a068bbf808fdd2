"""Pure address validation: per-country postal codes, field lengths and normalization."""

from __future__ import annotations

import pytest

from commerce_api.addresses import SUPPORTED_COUNTRIES, AddressValidationError, validate_address


def _v(**kw):
    args = {
        "name": "Jane Doe",
        "street": "12 Harbour Lane",
        "city": "Portland",
        "postal_code": "97201",
        "country": "US",
    }
    args.update(kw)
    return validate_address(**args)


@pytest.mark.parametrize(
    ("country", "postal_code"),
    [
        ("US", "97201"),
        ("US", "97201-1234"),
        ("CA", "K1A 0B1"),
        ("CA", "k1a0b1"),
        ("GB", "SW1A 1AA"),
        ("GB", "M1 1AE"),
        ("GB", "B33 8TH"),
        ("GB", "CR2 6XH"),
        ("GB", "DN55 1PT"),
        ("GB", "W1A 0AX"),
        ("DE", "10115"),
        ("FR", "75008"),
        ("ES", "28013"),
        ("IT", "00184"),
        ("NL", "1012 AB"),
        ("NL", "1012ab"),
        ("IE", "D02 X285"),
        ("IE", "A65F4E2"),
        ("IE", "D6W 1234"),
        ("AU", "2000"),
    ],
)
def test_valid_postal_codes(country: str, postal_code: str) -> None:
    address = _v(country=country.lower(), postal_code=postal_code)
    assert address.country == country
    assert address.postal_code == postal_code.upper()


@pytest.mark.parametrize(
    ("country", "postal_code"),
    [
        ("US", "9720"),
        ("US", "972011"),
        ("US", "97201-12"),
        ("US", "97201\n"),
        ("US", "\u0669\u0667\u0662\u0660\u0661"),  # Arabic-Indic digits are not US ZIP digits
        ("CA", "K1A 0B"),
        ("CA", "123 456"),
        ("GB", "SW1A"),
        ("GB", "12345"),
        ("DE", "1011"),
        ("FR", "7500A"),
        ("NL", "1012"),
        ("NL", "1012 A1"),
        ("IE", "B02 X285"),
        ("IE", "D02X28"),
        ("AU", "20000"),
        ("US", ""),
    ],
)
def test_invalid_postal_codes(country: str, postal_code: str) -> None:
    with pytest.raises(AddressValidationError) as info:
        _v(country=country, postal_code=postal_code)
    assert set(info.value.fields) == {"postal_code"}


def test_supported_countries() -> None:
    assert {"US", "CA", "GB", "DE", "FR", "NL", "IE", "AU", "ES", "IT"} <= set(SUPPORTED_COUNTRIES)


@pytest.mark.parametrize("country", ["XX", "USA", "", "U", "🇺🇸"])
def test_unsupported_country(country: str) -> None:
    with pytest.raises(AddressValidationError) as info:
        _v(country=country)
    assert "country" in info.value.fields


def test_street_rules() -> None:
    assert _v(street="  5   Rue   de Rivoli ").street == "5 Rue de Rivoli"
    assert _v(street="Abc").street == "Abc"
    for bad in ["ab", "12345", "a" * 121, "", "   "]:
        with pytest.raises(AddressValidationError) as info:
            _v(street=bad)
        assert "street" in info.value.fields
    assert _v(street="a" * 120).street == "a" * 120
    assert _v(street="שדרות רוטשילד 1").street == "שדרות רוטשילד 1"  # RTL script is a real street


def test_city_rules() -> None:
    assert _v(city="Ky").city == "Ky"
    for bad in ["K", "", "x" * 81]:
        with pytest.raises(AddressValidationError):
            _v(city=bad)


def test_reports_every_bad_field_and_rejects_control_chars() -> None:
    with pytest.raises(AddressValidationError) as info:
        _v(street="1", city="", postal_code="x", name="a\u0000b")
    assert set(info.value.fields) == {"street", "city", "postal_code", "name"}
