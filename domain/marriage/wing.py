"""The marriage wing as the kernel sees it: 婚姻登记“跨省通办”, opened by the applicants."""

from __future__ import annotations

from collections.abc import Mapping

from domain.kernel.applicants import Opening
from domain.kernel.certificates import CertificateKind
from domain.kernel.saga import CaseClosed, CaseNotified, Fact
from domain.kernel.wing import Wing
from domain.marriage.case import MarriageCase, PartyAsDict
from domain.marriage.catalog import load_catalog, load_materials
from domain.marriage.planning import MarriageInputs, MarriageInputsAsDict, MarriagePlanning


def applied(event: MarriageCase.Applied) -> Fact[MarriageInputs]:
    part = MarriageInputs(
        event.registration_division,
        event.party_a.hukou_division,
        event.party_b.hukou_division,
        event.registration_place,
    )
    return CaseNotified(event.originator_id, part)


def closed(event: MarriageCase.Closed) -> Fact[MarriageInputs]:
    return CaseClosed(f"the case was closed ({event.by})")


def opening(event: MarriageCase.Applied) -> Opening:
    return Opening(
        event.originator_id, event.tracking_code, "marriage", event.registration_division
    )


def couple(payload: Mapping[str, object]) -> dict[str, str]:
    """The couple as a verifier matches them: the two names (never an ID number). The
    registration date is the certificate's `iat`: registered on the spot, the decision's
    day (the kernel's subject reads the dispatched payload, which has no decision date)."""
    names = {"party_a": payload.get("party_a.name"), "party_b": payload.get("party_b.name")}
    return {who: name for who, name in names.items() if isinstance(name, str) and name}


MARRIAGE: Wing[MarriageInputs, MarriageInputs] = Wing(
    kind="marriage",
    catalog=load_catalog,
    planning=MarriagePlanning(),
    inputs=MarriageInputs,
    case=MarriageCase,
    facts={MarriageCase.Applied: applied, MarriageCase.Closed: closed},
    transcodings=(PartyAsDict(), MarriageInputsAsDict()),
    certificates={"marriage-registration": CertificateKind("marriage-certificate", couple)},
    opened={MarriageCase.Applied: opening},
    materials=load_materials,
    name_zh="跨省婚姻登记",
    name_en="Marriage registration across provinces",
)
