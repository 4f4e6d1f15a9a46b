"""The family's one application: rules from the domain reference, checked before recording."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.births.commands import ApplyAsFamily
from domain.births.facts import HOUSEHOLD_CHOICES, BirthFacts
from domain.kernel.errors import DomainError, InvalidApplicationError, InvalidIdentifierError
from domain.kernel.identifiers import division_code

# Han characters (incl. extension A), plus the middle dot used in transcribed minority names.
_NAME = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\u00b7]{2,15}$")
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "令狐",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "轩辕",
        "呼延",
        "闻人",
        "澹台",
        "公冶",
        "宗政",
        "濮阳",
        "淳于",
        "单于",
        "太叔",
        "申屠",
        "钟离",
        "赫连",
        "百里",
    }
)


@dataclass(frozen=True)
class FamilyApplication:
    """The family's checked application: the child's name and the family's choices."""

    child_name: str
    household: str
    residence_division: str
    insured_division: str | None
    consent: bool
    contact_phone: str | None = None
    mother_insured_division: str | None = None
    mother_insured: bool = False

    def to_dict(self) -> dict[str, Any]:
        values = {
            "child_name": self.child_name,
            "household": self.household,
            "residence_division": self.residence_division,
            "insured_division": self.insured_division,
            "consent": self.consent,
            "contact_phone": self.contact_phone,
        }
        if self.mother_insured_division is not None:  # stored as before when not given
            values["mother_insured_division"] = self.mother_insured_division
            values["mother_insured"] = self.mother_insured
        return values

    @property
    def mother_insured_place(self) -> str | None:
        """The county where the mother is insured, when the family says she is."""
        return self.mother_insured_division if self.mother_insured else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FamilyApplication:
        return cls(**data)


CHOICES = frozenset(  # the application's fields an office may be shown
    {"child_name", "household", "residence_division", "insured_division", "contact_phone"}
)


def surname(full_name: str) -> str:
    """A Chinese surname: two characters for the known compound surnames, else one."""
    return full_name[:2] if full_name[:2] in COMPOUND_SURNAMES else full_name[:1]


def check_application(cmd: ApplyAsFamily, facts: BirthFacts) -> FamilyApplication:
    """The normalised application, or one error naming every field that breaks a rule (each
    in its `errors`; a single one is raised as itself, e.g. InvalidIdentifierError)."""
    found: list[DomainError] = []
    checked = {
        name: _attempt(check, found) for name, check in _checks(cmd, facts, frozenset()).items()
    }
    if found:
        raise all_at_once(found)
    return FamilyApplication(
        child_name=checked["child_name"],
        household=cmd.household,
        residence_division=checked["residence_division"],
        insured_division=checked["insured_division"],
        consent=True,
        contact_phone=cmd.contact_phone,
        **checked["mother_insured_division"],
    )


def application_problems(
    cmd: ApplyAsFamily, facts: BirthFacts, skip: frozenset[str]
) -> list[DomainError]:
    """Every rule the application breaks, leaving out the fields in `skip` (already refused
    for their form, e.g. missing: their values here are placeholders)."""
    found: list[DomainError] = []
    for check in _checks(cmd, facts, skip).values():
        _attempt(check, found)
    return found


def _checks(cmd: ApplyAsFamily, facts: BirthFacts, skip: frozenset[str]) -> dict[str, Any]:
    """Each field's check, in the form's order; a skipped field's check returns None."""
    checks: dict[str, Any] = {
        "child_name": lambda: _check_name(cmd.child_name.strip(), facts),
        "household": lambda: _check_household(cmd, facts),
        "residence_division": lambda: division_code(
            cmd.residence_division, field="residence_division"
        ),
        "insured_division": lambda: (
            division_code(cmd.insured_division, field="insured_division")
            if cmd.insured_division
            else None
        ),
        "mother_insured_division": lambda: _mother_insurance(cmd),
        "consent": lambda: _check_consent(cmd),
    }
    return {name: (lambda: None) if name in skip else check for name, check in checks.items()}


def _attempt(check: Any, found: list[DomainError]) -> Any:
    try:
        return check()
    except (InvalidApplicationError, InvalidIdentifierError) as error:
        found.append(error)
        return None


def problem_item(error: DomainError) -> dict[str, Any]:
    """One broken rule as an item of a problem's `errors` (RFC 9457): a JSON pointer to the
    field, the error's code and detail, and what else it names (the rule, the surnames)."""
    where = str(error.context.get("field", ""))
    item = {"pointer": "/" + where.replace(".", "/"), "code": error.code, "detail": error.detail}
    return item | {k: v for k, v in error.context.items() if k != "errors"}


def all_at_once(found: list[DomainError]) -> DomainError:
    """One error for all: a single one as itself, several as an InvalidApplicationError; the
    items of each in `errors`."""
    items = [problem_item(error) for error in found]
    if len(found) == 1:
        found[0].context["errors"] = items
        return found[0]
    return InvalidApplicationError(
        f"{len(found)} problems in the application: " + "; ".join(e.detail for e in found),
        field=found[0].context.get("field"),
        errors=items,
    )


def _check_consent(cmd: ApplyAsFamily) -> None:
    if cmd.consent is not True:
        raise InvalidApplicationError(
            "The guardian's consent is needed to share the data with each office", field="consent"
        )


def _check_household(cmd: ApplyAsFamily, facts: BirthFacts) -> None:
    if cmd.household not in HOUSEHOLD_CHOICES:
        raise InvalidApplicationError("household is 'mother' or 'father'", field="household")
    parent = facts.parent(cmd.household)
    if parent is None or not parent.hukou_division:
        raise InvalidApplicationError(
            f"The birth record has no hukou address for the {cmd.household}; the hospital must "
            "send an update with it before the child can join that household",
            field="household",
            rule="household-hukou",
        )


def _mother_insurance(cmd: ApplyAsFamily) -> dict[str, Any]:
    """The mother's insured place (maternity benefits are paid there, domain ref §1.1 S6),
    and whether she is insured there; saying she is needs the place."""
    if cmd.mother_insured and not cmd.mother_insured_division:
        raise InvalidApplicationError(
            "Name the county where the mother is insured", field="mother_insured_division"
        )
    if not cmd.mother_insured_division:
        return {}
    division = division_code(cmd.mother_insured_division, field="mother_insured_division")
    return {"mother_insured_division": division, "mother_insured": cmd.mother_insured}


def _check_name(name: str, facts: BirthFacts) -> str:
    if not _NAME.match(name):
        raise InvalidApplicationError(
            "The child's name is 2 to 15 Chinese characters (a middle dot allowed)",
            field="child_name",
            rule="child-name-format",
        )
    parents = (facts.mother, facts.father)
    surnames = {surname(p.name) for p in parents if p is not None and p.name}
    if surnames and not any(name.startswith(s) and len(name) > len(s) for s in surnames):
        raise InvalidApplicationError(
            "The child's surname must be the father's or the mother's (Civil Code Art. 1015); "
            f"the parents' surnames are {', '.join(sorted(surnames))}",
            field="child_name",
            rule="child-surname",
            surnames="、".join(sorted(surnames)),
        )
    return name
