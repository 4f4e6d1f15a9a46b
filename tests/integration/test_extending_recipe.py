"""docs/extending.md's recipe "Add a new one thing", followed once: tests/wings/permits is a
tiny 居住证 wing written from the recipe alone. Carried by the same ledger as births, its case
is planned and routed by the kernel, each step lands in the right office's queue with its
time limit, the office sees only the fields the catalog lets it see and the earlier result
carried forward, and the case completes; on SQLite and on PostgreSQL."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest
from domain.wings import registered
from tests.pg import postgres_settings
from tests.wings.permits.case import PermitCase
from tests.wings.permits.services import ApplyForPermit, apply_for_permit
from tests.wings.permits.wing import PERMITS

SHENZHEN_FUTIAN, WUHAN_JIANGAN = "440304", "420102"
APPLICANT = ApplyForPermit(
    name="李雷",
    citizen_id=make_citizen_id(WUHAN_JIANGAN, date(1994, 3, 8), 13),
    hukou_division=WUHAN_JIANGAN,
    residence_division=SHENZHEN_FUTIAN,
)


@pytest.fixture(params=["sqlite", "postgres"])
def carried(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    """A ledger that carries the permits wing besides births, on each production store."""
    if request.param == "sqlite":
        settings = Settings(persistence="sqlite", sqlite_dir=str(tmp_path / "var"))
    else:
        settings = postgres_settings()
    with registered(PERMITS):
        container = build(settings)
        try:
            yield container
        finally:
            container.close()


def queue(client: TestClient, token: str) -> list[dict[str, Any]]:
    path = f"/offices/{SHENZHEN_FUTIAN}/public-security/queue"
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


def step(client: TestClient, token: str, request_id: str, action: str, body: Any) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.post(f"/service-requests/{request_id}/{action}", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


def test_a_new_one_thing_runs_on_the_kernel(carried: Container) -> None:
    case_id = apply_for_permit(carried.ledger, APPLICANT)
    carried.after_command()
    _, office = carried.actors.add("office", SHENZHEN_FUTIAN, "public-security")
    with TestClient(create_app(carried, close_on_shutdown=False)) as client:
        first = [r for r in queue(client, office) if r["case_id"] == str(case_id)]
        assert [(r["kind"], r["service"], r["state"]) for r in first] == [
            ("residence-permit", "residence-registration", "dispatched")
        ]
        registration = carried.ledger.get_request(UUID(first[0]["service_request_id"]))
        assert registration.route.mode == "online"  # same county: the wing's catalog allows it
        assert dict(registration.payload) == {
            "applicant.name": "李雷",
            "applicant.citizen_id": APPLICANT.citizen_id,
            "residence_division": SHENZHEN_FUTIAN,
        }  # not the hukou county: this service's visible fields do not name it
        step(client, office, first[0]["service_request_id"], "receive", {"receipt_number": "R-1"})
        assert carried.ledger.get_request(registration.id).due is not None  # 5 working days
        result = {"residence_registration_number": "SZ-FT-2026-0001"}
        step(client, office, first[0]["service_request_id"], "approve", result)
        carried.after_command()

        permit_id = ServiceRequest.create_id(case_id, "residence-permit")
        permit = carried.ledger.get_request(permit_id)
        assert permit.state == "dispatched"
        assert permit.payload["residence_registration_number"] == "SZ-FT-2026-0001"
        assert permit.payload["hukou_division"] == WUHAN_JIANGAN
        step(client, office, str(permit_id), "receive", {"receipt_number": "R-2"})
        permit_result = {"residence_permit_number": "440304-JZZ-000123"}
        step(client, office, str(permit_id), "approve", permit_result)
    carried.after_command()
    case: object = carried.ledger.repository.get(case_id)
    assert isinstance(case, PermitCase)
    assert case.state == "completed"
    assert case.planned_services == ["residence-registration", "residence-permit"]
    assert all(not parked for parked in carried.parked().values())  # every view took it
    assert carried.projections.case_status_view.by_case_id(case_id) is None  # births' page


def test_a_wing_not_carried_is_not_followed(container: Container) -> None:
    """Without the registry line, the ledger's saga does not plan the wing's cases."""
    case_id = apply_for_permit(container.ledger, APPLICANT)
    container.after_command()
    case: object = container.ledger.repository.get(case_id)
    assert isinstance(case, PermitCase)
    assert case.state == "applied"


def test_the_wing_speaks_only_the_kernel() -> None:
    """The recipe's files import the kernel and their own package: nothing of births, the
    engine, the adapters or the HTTP layer (what a wing needs is the kernel's to give)."""
    package = Path(__file__).parents[1] / "wings" / "permits"
    offences = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
                ours = module.split(".")[0] in ("domain", "engine", "adapters", "api", "tests")
                allowed = module.startswith(("domain.kernel.", "tests.wings.permits."))
                if ours and not allowed:
                    offences.append(f"{path.name} imports {module}")
    assert offences == []


def test_an_applicant_signs_in_and_verifies_the_wing_certificate(carried: Container) -> None:
    """The kernel's applicant seam (domain/kernel/applicants.py): a case the applicant opened
    is found by its tracking code at POST /track, the applicant signs in with the last 6 of
    the citizen ID (a wrong verifier is refused), reads the case's certificates with the
    family token, and the permit's certificate — its kind named by the wing — verifies."""
    case_id = apply_for_permit(carried.ledger, APPLICANT)
    carried.after_command()
    case: object = carried.ledger.repository.get(case_id)
    assert isinstance(case, PermitCase)
    assert case.identity.method == "online"
    _, office = carried.actors.add("office", SHENZHEN_FUTIAN, "public-security")
    with TestClient(create_app(carried, close_on_shutdown=False)) as client:
        for service, result in (
            ("residence-registration", {"residence_registration_number": "SZ-FT-2026-0002"}),
            ("residence-permit", {"residence_permit_number": "440304-JZZ-000124"}),
        ):
            request_id = str(ServiceRequest.create_id(case_id, service))
            step(client, office, request_id, "receive", {"receipt_number": "R-9"})
            step(client, office, request_id, "approve", result)
            carried.after_command()
        code = case.tracking_code
        wrong = client.post("/track", json={"tracking_code": code, "verifier": "000000"})
        assert wrong.status_code == 404, wrong.text
        signed = client.post(
            "/track", json={"tracking_code": code, "verifier": APPLICANT.citizen_id[-6:]}
        )
        assert signed.status_code == 201, signed.text
        assert signed.json()["case_id"] == str(case_id)
        token = signed.json()["token"]
        listed = client.get(
            f"/cases/{case_id}/certificates", headers={"Authorization": f"Bearer {token}"}
        )
        assert listed.status_code == 200, listed.text
        [certificate] = listed.json()["certificates"]  # the registration issues none
        assert certificate["certificate_type"] == "residence-permit"
        assert certificate["claims"]["subject"] == {"name": "李雷"}
        assert certificate["claims"]["result"]["value"] == "440304-JZZ-000124"
        verified = client.post("/verify", json={"certificate": certificate["certificate"]})
        assert verified.status_code == 200, verified.text
        assert verified.json()["status"] == "valid"
