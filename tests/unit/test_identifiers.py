"""Citizen ID, USCC, division code and certificate number rules."""

from __future__ import annotations

from datetime import date

import pytest

from domain.kernel.errors import InvalidIdentifierError
from domain.kernel.identifiers import (
    certificate_number,
    citizen_id,
    citizen_id_sex,
    current_name,
    division_code,
    division_name,
    full_division_name,
    make_citizen_id,
    uscc_code,
)


def test_standard_examples_validate() -> None:
    assert citizen_id("11010519491231002X") == "11010519491231002X"
    assert citizen_id("11010519491231002x") == "11010519491231002X"
    assert citizen_id("440524188001010014") == "440524188001010014"


def test_worked_newborn_example_is_built_with_its_check_character() -> None:
    assert make_citizen_id("430602", date(2024, 5, 20), 123) == "430602202405201232"
    assert citizen_id_sex("430602202405201232") == "male"


def test_wrong_check_character_is_rejected_naming_the_field() -> None:
    with pytest.raises(InvalidIdentifierError, match="check character") as info:
        citizen_id("430602202405201233", field="mother.citizen_id")
    assert info.value.context == {"field": "mother.citizen_id"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("43060220240520123", "17 digits"),
        ("430602202402301231", "calendar date"),
        ("030602202405201232", "address code"),
    ],
)
def test_malformed_ids_are_rejected(value: str, message: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=message):
        citizen_id(value)


def test_retired_address_code_is_still_valid_for_life() -> None:
    number = make_citizen_id("310230", date(1990, 1, 1), 11)  # Chongming county, now 310151
    assert citizen_id(number) == number


def test_birth_date_must_match_when_given() -> None:
    number = make_citizen_id("420102", date(2026, 11, 20), 28)
    assert citizen_id(number, born_on=date(2026, 11, 20)) == number
    with pytest.raises(InvalidIdentifierError, match="2026-11-20"):
        citizen_id(number, born_on=date(2026, 11, 21))


def test_uscc_examples_from_the_reference() -> None:
    for code in ("11500241009138639G", "12441500196720244T", "11370000MB284651XL"):
        assert uscc_code(code) == code
    with pytest.raises(InvalidIdentifierError, match="social credit code"):
        uscc_code("11500241009138639H")


def test_division_codes_and_names() -> None:
    assert division_code("430602") == "430602"
    assert division_name("430602") == "岳阳楼区"
    assert full_division_name("420102") == "湖北省 江岸区"
    with pytest.raises(InvalidIdentifierError):
        division_code("990000")
    with pytest.raises(InvalidIdentifierError):
        division_code("43060")


def test_current_name_picks_the_open_ended_range() -> None:
    assert current_name("[1984-1995]南区,[1996-]岳阳楼区") == "岳阳楼区"
    assert current_name("岳阳市") == "岳阳市"


def test_certificate_numbers() -> None:
    assert certificate_number("x320101001") == "X320101001"
    with pytest.raises(InvalidIdentifierError, match="one letter and 9 digits"):
        certificate_number("3201010012")


def test_only_ascii_digits_make_a_code() -> None:
    """A full-width digit (U+FF14) is a digit to Python's \\d, not to GB/T 2260 or 11643."""
    with pytest.raises(InvalidIdentifierError):
        division_code("43060\uff12")
    with pytest.raises(InvalidIdentifierError):
        citizen_id("42010219940308012\uff14")
