"""The births wing as the kernel sees it: 出生一件事, opened by a hospital's birth notification."""

from __future__ import annotations

from collections.abc import Mapping

from domain.births.birth_case import BirthCase, family_correction
from domain.births.catalog import load_catalog, load_materials
from domain.births.planning import (
    PLANNING_TRANSCODINGS,
    BirthPart,
    BirthPlanInputs,
    BirthPlanning,
    family_choices,
    notified_places,
)
from domain.births.transcodings import BIRTHS_TRANSCODINGS
from domain.kernel.certificates import CertificateKind, china_date
from domain.kernel.saga import (
    CaseApplied,
    CaseClosed,
    CaseCorrected,
    CaseNotified,
    CaseVoided,
    Fact,
)
from domain.kernel.wing import Wing

VOIDED = "the hospital voided the birth notification"


def notified(event: BirthCase.Notified) -> Fact[BirthPart]:
    return CaseNotified(event.originator_id, notified_places(event.facts))


def corrected(event: BirthCase.NotificationCorrected) -> Fact[BirthPart]:
    part, changed = notified_places(event.facts), tuple(event.changed)
    return CaseCorrected(part, changed, event.message_id, event.originator_version)


def family_corrected(event: BirthCase.FamilyCorrected) -> Fact[BirthPart]:
    version = event.originator_version
    part, changed = family_choices(event.application), tuple(event.changed)
    return CaseCorrected(part, changed, family_correction(version), version)


def applied(event: BirthCase.FamilyApplied) -> Fact[BirthPart]:
    return CaseApplied(family_choices(event.application), event.originator_version)


def voided(event: BirthCase.Voided | BirthCase.VoidRequested) -> Fact[BirthPart]:
    return CaseVoided(VOIDED)


def closed(event: BirthCase.Closed) -> Fact[BirthPart]:
    return CaseClosed(f"the case was closed ({event.by})")


def child(payload: Mapping[str, object]) -> dict[str, str]:
    """The child as a verifier matches it: name (once named) and birth date (in China)."""
    subject: dict[str, str] = {}
    if isinstance(name := payload.get("child_name"), str) and name:
        subject["name"] = name
    if isinstance(born := payload.get("born_at"), str) and born:
        subject["birth_date"] = china_date(born)
    return subject


# one certificate per service that issues one (maternity benefits decide a payment, not a
# document the family shows elsewhere: no certificate)
CERTIFICATES = {
    service: CertificateKind(kind, child)
    for service, kind in (
        ("birth-certificate", "birth-medical-certificate"),
        ("vaccination", "vaccination-record"),
        ("household-registration", "household-registration-record"),
        ("medical-insurance", "insurance-enrolment"),
        ("social-security-card", "social-security-card"),
    )
}

BIRTHS: Wing[BirthPlanInputs, BirthPart] = Wing(
    kind="birth",
    catalog=load_catalog,
    planning=BirthPlanning(),
    inputs=BirthPlanInputs,
    case=BirthCase,
    facts={
        BirthCase.Notified: notified,
        BirthCase.NotificationCorrected: corrected,
        BirthCase.FamilyApplied: applied,
        BirthCase.Voided: voided,
        BirthCase.Closed: closed,
        BirthCase.VoidRequested: voided,
        BirthCase.FamilyCorrected: family_corrected,
    },
    transcodings=(*BIRTHS_TRANSCODINGS, *PLANNING_TRANSCODINGS),
    certificates=CERTIFICATES,
    materials=load_materials,
    name_zh="出生一件事",
    name_en="Newborn one thing",
)
