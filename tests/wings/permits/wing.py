"""The permits wing as the kernel sees it."""

from __future__ import annotations

from collections.abc import Mapping

from domain.kernel.applicants import Opening
from domain.kernel.certificates import CertificateKind
from domain.kernel.saga import CaseNotified, Fact
from domain.kernel.wing import Wing
from tests.wings.permits.case import PermitCase
from tests.wings.permits.catalog import load_catalog
from tests.wings.permits.planning import PermitInputs, PermitInputsAsDict, PermitPlanning


def applied(event: PermitCase.Applied) -> Fact[PermitInputs]:
    part = PermitInputs(event.residence_division, event.hukou_division)
    return CaseNotified(event.originator_id, part)


def opening(event: PermitCase.Applied) -> Opening:
    return Opening(
        event.originator_id, event.tracking_code, "residence-permit", event.residence_division
    )


def holder(payload: Mapping[str, object]) -> dict[str, str]:
    """The permit's holder as a verifier matches the person: the name only."""
    name = payload.get("applicant.name")
    return {"name": name} if isinstance(name, str) else {}


PERMITS: Wing[PermitInputs, PermitInputs] = Wing(
    kind="residence-permit",
    catalog=load_catalog,
    planning=PermitPlanning(),
    inputs=PermitInputs,
    case=PermitCase,
    facts={PermitCase.Applied: applied},
    transcodings=(PermitInputsAsDict(),),
    certificates={"residence-permit": CertificateKind("residence-permit", holder)},
    opened={PermitCase.Applied: opening},
    name_zh="居住证办理",
    name_en="Residence permit",
)
