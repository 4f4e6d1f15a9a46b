"""The ID card's record as the hukou place's approval carries it (domain/kernel/results.py):
the holder's citizen ID and the validity 居民身份证法 Art. 5 gives the holder's age."""

from __future__ import annotations

from datetime import date

import pytest

from domain.kernel.errors import InvalidIdentifierError
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.results import id_card_record

ADULT = make_citizen_id("420102", date(1994, 3, 8), 13)  # 32 on 2026-03-16
CHILD = make_citizen_id("420102", date(2014, 5, 1), 21)  # 11
YOUNG = make_citizen_id("420102", date(2005, 1, 1), 22)  # 21
SENIOR = make_citizen_id("420102", date(1970, 1, 1), 23)  # 56
WRONG_CHECK = "1" if ADULT[-1] != "1" else "2"


@pytest.mark.parametrize(
    ("holder", "validity"),
    [
        (CHILD, "20260316-20310316"),
        (YOUNG, "20260316-20360316"),
        (ADULT, "20260316-20460316"),
        (SENIOR, "20260316-长期"),
    ],
)
def test_the_validity_follows_the_holders_age(holder: str, validity: str) -> None:
    assert id_card_record(f"{holder}/{validity}", holder) == f"{holder}/{validity}"


@pytest.mark.parametrize(
    ("value", "holder", "why"),
    [
        (f"{ADULT}/20260316-20360316", ADULT, "20 years"),
        (f"{SENIOR}/20260316-20460316", SENIOR, "长期"),
        (f"{CHILD}/20260316-长期", CHILD, "5 years"),
        (f"{ADULT}/20260316-20460316", YOUNG, "not the applicant's"),
        (f"{ADULT}/20260230-20460230", ADULT, "not a calendar date"),
        (f"{ADULT[:-1]}{WRONG_CHECK}/20260316-20460316", None, "check character"),
        ("SN-000123", ADULT, "validity"),
    ],
)
def test_a_record_that_breaks_a_rule_is_refused(value: str, holder: str | None, why: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=why):
        id_card_record(value, holder)


def test_a_card_started_on_29_february_ends_on_28_february_or_1_march() -> None:
    holder = make_citizen_id("420102", date(2008, 1, 1), 31)  # 20 in 2028: 10 years
    assert id_card_record(f"{holder}/20280229-20380301", holder).endswith("20380301")
    assert id_card_record(f"{holder}/20280229-20380228", holder).endswith("20380228")
