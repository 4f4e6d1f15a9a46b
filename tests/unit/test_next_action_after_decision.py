"""The family's next action once offices are asked again: each names who acts and by when."""

from __future__ import annotations

from dataclasses import replace

from projections.case_status_model import CaseRow, ServiceRow, next_action

CASE = CaseRow(
    case_id="c",
    facility_uscc="h",
    hospital_ref="r",
    tracking_code="t",
    state="in-progress",
    birth_division="430602",
    mother_hukou="420102",
    father_hukou=None,
    household="mother",
    child_named=True,
    applied=True,
    rated=False,
    notified_at="2026-11-20T10:00:00+08:00",
    updated_at="2026-11-20T10:00:00+08:00",
)


def row(service: str, authority: str, state: str, due: str | None = None) -> ServiceRow:
    return ServiceRow(
        service_request_id=service,
        case_id="c",
        service=service,
        planned_position=1,
        state=state,
        authority=authority,
        handling_locality="420102",
        receiving_locality="430602",
        mode="off-site",
        manual_routing=False,
        due=due,
        due_provisional=False,
        overdue=False,
        awaiting=(),
        updated_at="2026-11-20T10:00:00+08:00",
    )


def test_a_correction_names_the_deciding_office_and_its_due_date() -> None:
    services = [
        row("household-registration", "public-security", "correction-requested", "2026-12-14"),
        row("medical-insurance", "medical-insurance", "dispatched"),
    ]
    assert next_action(CASE, services) == (
        "nothing: waiting for office public-security 420102 by 2026-12-14 to decide on the "
        "correction; and for office medical-insurance 430602"
    )
    completed = replace(CASE, state="completed")
    assert next_action(completed, services[:1]) == (
        "nothing: waiting for office public-security 420102 by 2026-12-14 to decide on the "
        "correction"
    )
    assert next_action(completed, [row("x", "health", "approved")]) == "rate: the service"


def test_the_family_s_own_step_comes_before_an_office_s_correction() -> None:
    asked = row("household-registration", "public-security", "correction-requested", "2026-12-14")
    supplement = replace(row("vaccination", "cdc", "supplement-requested"), awaiting=("户口簿",))
    assert next_action(CASE, [asked, supplement]) == "supplement: 户口簿"


def test_a_voiding_case_names_each_office_to_revoke_and_by_when() -> None:
    voiding = replace(CASE, state="voiding")
    services = [
        row("birth-certificate", "health", "revocation-requested", "2026-12-14"),
        row("household-registration", "public-security", "revoked"),
        row("vaccination", "cdc", "withdrawn"),
    ]
    assert next_action(voiding, services) == (
        "nothing: voided; waiting for office health 420102 by 2026-12-14 to revoke their results"
    )
    assert next_action(replace(CASE, state="voided"), services) == "nothing: the case was voided"
