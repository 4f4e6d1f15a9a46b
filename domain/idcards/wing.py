"""The ID card wing as the kernel sees it: 居民身份证异地受理, opened by a police window clerk."""

from __future__ import annotations

from domain.idcards.case import IdCardCase
from domain.idcards.catalog import load_catalog
from domain.idcards.planning import IdCardInputs, IdCardInputsAsDict, IdCardPlanning
from domain.kernel.saga import CaseClosed, CaseNotified, Fact
from domain.kernel.wing import Wing


def applied(event: IdCardCase.Applied) -> Fact[IdCardInputs]:
    part = IdCardInputs(event.hukou_division, event.applying_division, event.temporary)
    return CaseNotified(event.originator_id, part)


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
)
