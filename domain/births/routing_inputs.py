"""What routing needs of a birth case: places and choices, no names or numbers."""

from __future__ import annotations

from typing import Any

from domain.births.facts import BirthFacts
from domain.births.family_application import FamilyApplication


def routing_facts(facts: BirthFacts) -> dict[str, Any]:
    """The few facts routing needs, as the case plan keeps them."""
    father = facts.father
    return {
        "birth_division": facts.birth_division,
        "household": facts.household_choice,
        "mother_hukou": facts.mother.hukou_division,
        "father_hukou": father.hukou_division if father is not None else None,
        "residence": facts.mother.residence_division,
        "child_named": bool(facts.child_name),
    }


def routing_application(application: FamilyApplication) -> dict[str, Any]:
    """The family's choices routing needs, as the case plan keeps them."""
    return {
        "household": application.household,
        "residence": application.residence_division,
        "insured": application.insured_division,
        "child_named": bool(application.child_name),
    }
