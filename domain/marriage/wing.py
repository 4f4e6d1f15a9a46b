"""The marriage wing as the kernel sees it: 婚姻登记“跨省通办”, opened by the applicants."""

from __future__ import annotations

from domain.kernel.saga import CaseClosed, CaseNotified, Fact
from domain.kernel.wing import Wing
from domain.marriage.case import MarriageCase, PartyAsDict
from domain.marriage.catalog import load_catalog
from domain.marriage.planning import MarriageInputs, MarriageInputsAsDict, MarriagePlanning


def applied(event: MarriageCase.Applied) -> Fact[MarriageInputs]:
    part = MarriageInputs(
        event.registration_division,
        event.party_a.hukou_division,
        event.party_b.hukou_division,
    )
    return CaseNotified(event.originator_id, part)


def closed(event: MarriageCase.Closed) -> Fact[MarriageInputs]:
    return CaseClosed(f"the case was closed ({event.by})")


MARRIAGE: Wing[MarriageInputs, MarriageInputs] = Wing(
    kind="marriage",
    catalog=load_catalog,
    planning=MarriagePlanning(),
    inputs=MarriageInputs,
    case=MarriageCase,
    facts={MarriageCase.Applied: applied, MarriageCase.Closed: closed},
    transcodings=(PartyAsDict(), MarriageInputsAsDict()),
)
