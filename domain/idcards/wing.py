"""The ID card wing as the kernel sees it: 居民身份证异地受理, opened by a police window clerk."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from domain.idcards.case import IdCardCase
from domain.idcards.catalog import load_catalog, load_materials
from domain.idcards.planning import IdCardInputs, IdCardInputsAsDict, IdCardPlanning
from domain.kernel.applicants import Opening
from domain.kernel.certificates import CertificateKind
from domain.kernel.saga import CaseClosed, CaseNotified, Fact
from domain.kernel.wing import Wing


def applied(event: IdCardCase.Applied) -> Fact[IdCardInputs]:
    part = IdCardInputs(event.hukou_division, event.applying_division, event.temporary)
    return CaseNotified(event.originator_id, part)


def opening(event: IdCardCase.Applied) -> Opening:
    """The applicant signs in at POST /track with the tracking code the window handed over."""
    return Opening(event.originator_id, event.tracking_code, "id-card", event.applying_division)


def holder(payload: Mapping[str, object]) -> dict[str, str]:
    """The card's holder as a verifier matches the person: the name and the birth date read
    from the citizen ID dispatched to the deciding office (never the number itself)."""
    name, number = payload.get("applicant.name"), payload.get("applicant.citizen_id")
    subject = {"name": name} if isinstance(name, str) else {}
    if isinstance(number, str) and len(number) == 18:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        subject["birth_date"] = born.isoformat()
    return subject


def validity(record: str) -> str:
    """What the card's certificate states: its validity "<start>-<end>" (YYYYMMDD), never the
    citizen ID the record begins with ("<citizen ID>/<start>-<end>", domain/kernel/results)."""
    return record.rpartition("/")[2]


def closed(event: IdCardCase.Closed) -> Fact[IdCardInputs]:
    return CaseClosed(f"the case was closed ({event.by})")


ID_CARDS: Wing[IdCardInputs, IdCardInputs] = Wing(
    kind="id-card",
    catalog=load_catalog,
    planning=IdCardPlanning(),
    inputs=IdCardInputs,
    case=IdCardCase,
    facts={IdCardCase.Applied: applied, IdCardCase.Closed: closed},
    transcodings=(IdCardInputsAsDict(),),
    certificates={"id-card-production": CertificateKind("resident-id-card", holder, validity)},
    opened={IdCardCase.Applied: opening},
    materials=load_materials,
    name_zh="居民身份证异地办理",
    name_en="ID cards issued off-site",
)
