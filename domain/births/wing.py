"""The births wing as the kernel sees it: 出生一件事, opened by a hospital's birth notification."""

from __future__ import annotations

from domain.births.birth_case import BirthCase
from domain.births.catalog import load_catalog
from domain.births.planning import (
    PLANNING_TRANSCODINGS,
    BirthPart,
    BirthPlanInputs,
    BirthPlanning,
    family_choices,
    notified_places,
)
from domain.births.transcodings import BIRTHS_TRANSCODINGS
from domain.kernel.saga import CaseApplied, CaseCorrected, CaseNotified, CaseVoided, Fact
from domain.kernel.wing import Wing

VOIDED = "the hospital voided the birth notification"


def saga_fact(event: object) -> Fact[BirthPart] | None:
    """A birth case's event as the fact the saga follows (None: not one it follows)."""
    if isinstance(event, BirthCase.Notified):
        return CaseNotified(event.originator_id, notified_places(event.facts))
    if isinstance(event, BirthCase.NotificationCorrected):
        part, changed = notified_places(event.facts), tuple(event.changed)
        return CaseCorrected(part, changed, event.message_id, event.originator_version)
    if isinstance(event, BirthCase.FamilyApplied):
        return CaseApplied(family_choices(event.application), event.originator_version)
    if isinstance(event, BirthCase.Voided):
        return CaseVoided(VOIDED)
    return None


BIRTHS: Wing[BirthPlanInputs, BirthPart] = Wing(
    kind="birth",
    catalog=load_catalog,
    planning=BirthPlanning(),
    inputs=BirthPlanInputs,
    case=BirthCase,
    followed=(
        BirthCase.Notified,
        BirthCase.NotificationCorrected,
        BirthCase.FamilyApplied,
        BirthCase.Voided,
    ),
    fact_of=saga_fact,
    transcodings=(*BIRTHS_TRANSCODINGS, *PLANNING_TRANSCODINGS),
)
