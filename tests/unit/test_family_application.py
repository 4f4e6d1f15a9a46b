"""The family application's rules: consent, household, names, divisions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest

from domain.births.commands import ApplyAsFamily
from domain.births.family_application import FamilyApplication, check_application, surname
from domain.kernel.errors import InvalidApplicationError, InvalidIdentifierError
from tests.conftest import make_facts

FACTS = make_facts()  # mother 王芳, hukou 420102; no father


def apply(**changes: Any) -> FamilyApplication:
    values: dict[str, Any] = {
        "case_id": uuid4(),
        "child_name": "王小明",
        "household": "mother",
        "residence_division": "430602",
        "insured_division": None,
        "consent": True,
    }
    return check_application(ApplyAsFamily(**{**values, **changes}), FACTS)


def test_a_valid_application_is_normalised() -> None:
    application = apply(child_name=" 王小明 ", insured_division="420102")
    assert application == FamilyApplication(
        child_name="王小明",
        household="mother",
        residence_division="430602",
        insured_division="420102",
        consent=True,
        contact_phone=None,
    )


def test_consent_is_required() -> None:
    with pytest.raises(InvalidApplicationError, match="consent") as info:
        apply(consent=False)
    assert info.value.context["field"] == "consent"


def test_the_surname_is_a_parents() -> None:
    with pytest.raises(InvalidApplicationError, match=r"Civil Code Art\. 1015"):
        apply(child_name="张小明")


def test_compound_surnames_are_recognised() -> None:
    assert surname("欧阳娜娜") == "欧阳"
    assert surname("王芳") == "王"


def test_a_name_is_chinese_characters() -> None:
    for bad in ("王", "Wang Xiaoming", "王小明123"):
        with pytest.raises(InvalidApplicationError, match="2 to 15"):
            apply(child_name=bad)


def test_minority_names_may_carry_a_middle_dot() -> None:
    facts = replace(FACTS, mother=replace(FACTS.mother, name="阿依古丽·买买提"))
    cmd = ApplyAsFamily(uuid4(), "阿依古丽·热合曼", "mother", "430602", None, True)
    assert check_application(cmd, facts).child_name == "阿依古丽·热合曼"


def test_the_chosen_parent_needs_a_known_hukou() -> None:
    with pytest.raises(InvalidApplicationError, match="no hukou address for the father"):
        apply(household="father")


def test_divisions_are_checked() -> None:
    with pytest.raises(InvalidIdentifierError) as info:
        apply(residence_division="999999")
    assert info.value.context["field"] == "residence_division"
    with pytest.raises(InvalidApplicationError, match="household"):
        apply(household="grandmother")
