"""The permits wing as the kernel sees it."""

from __future__ import annotations

from domain.kernel.saga import CaseNotified, Fact
from domain.kernel.wing import Wing
from tests.wings.permits.case import PermitCase
from tests.wings.permits.catalog import load_catalog
from tests.wings.permits.planning import PermitInputs, PermitInputsAsDict, PermitPlanning


def applied(event: PermitCase.Applied) -> Fact[PermitInputs]:
    part = PermitInputs(event.residence_division, event.hukou_division)
    return CaseNotified(event.originator_id, part)


PERMITS: Wing[PermitInputs, PermitInputs] = Wing(
    kind="residence-permit",
    catalog=load_catalog,
    planning=PermitPlanning(),
    inputs=PermitInputs,
    case=PermitCase,
    facts={PermitCase.Applied: applied},
    transcodings=(PermitInputsAsDict(),),
)
