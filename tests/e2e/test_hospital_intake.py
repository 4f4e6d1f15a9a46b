"""Hospital intake over HTTP on SQLite and PostgreSQL: every example, exact outcomes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import orjson
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from domain.births.birth_case import BirthCase
from tests.unit.test_fhir_intake import FIXTURES, SHARED, SHARED_OUTCOMES, USCC

FHIR = "application/fhir+json"
RECORD = "ZY2026112000123"
BAD_FIXTURES = {
    "notification-bad-check-character.json": [
        ("value", "Bundle.entry[3].resource.identifier[0].value")
    ],
    "notification-impossible-weight.json": [
        ("value", "Bundle.entry[7].resource.valueQuantity.value")
    ],
    "notification-missing-division.json": [
        ("required", "Bundle.entry[3].resource.address[0].extension")
    ],
    "notification-no-birthdate.json": [("required", "Bundle.entry[2].resource.birthDate")],
}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


@pytest.fixture
def hospital(container: Container) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {container.actors.add('hospital', USCC)[1]}",
        "Content-Type": FHIR,
    }


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/fhir/$process-message", content=body, headers=headers)


def head(container: Container) -> int:
    return container.ledger.recorder.max_notification_id() or 0


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ack_parameters(ack: dict[str, Any]) -> dict[str, str]:
    params = next(
        e["resource"] for e in ack["entry"] if e["resource"]["resourceType"] == "Parameters"
    )
    return {p["name"]: p.get("valueString") or p.get("valueUri") for p in params["parameter"]}


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared examples missing: {SHARED}")
def test_every_third_party_example_gets_its_exact_answer_and_records_nothing(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    for name, (status, issues) in sorted(SHARED_OUTCOMES.items()):
        response = post(client, (SHARED / name).read_bytes(), hospital)
        assert response.status_code == status, name
        assert response.headers["content-type"].startswith(FHIR)
        body = response.json()
        assert body["resourceType"] == "OperationOutcome", name
        found = [(i["code"], (i.get("expression") or [None])[0]) for i in body["issue"]]
        assert found == issues, name
        assert all(i["diagnostics"] for i in body["issue"])
    assert head(container) == 0


def test_r5_content_is_accepted_where_the_shape_allows(
    client: TestClient, hospital: dict[str, str]
) -> None:
    from fhir.resources.bundle import Bundle as R5Bundle

    response = post(client, fixture("notification-r5.json"), hospital)
    assert response.status_code == 200, response.json()
    assert ack_parameters(response.json())["tracking_code"]
    ack: Any = R5Bundle.model_validate(response.json())  # an R5 sender gets R5
    assert ack.entry[0].resource.response.identifier.value == "b1f0c2d4-6a8e-4c1b-9f3d-5e7a9c1b3d31"


def test_profile_examples_are_accepted_with_an_acknowledgement(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    for name in (
        "notification-full.json",
        "notification-minimal.json",
        "notification-twin-a.json",
        "notification-twin-b.json",
    ):
        request = orjson.loads(fixture(name))
        response = post(client, fixture(name), hospital)
        assert response.status_code == 200, (name, response.json())
        ack = response.json()
        header = ack["entry"][0]["resource"]
        assert header["response"] == {
            "identifier": request["entry"][0]["resource"]["id"],
            "code": "ok",
        }
        params = ack_parameters(ack)
        assert response.headers["location"] == f"/cases/{params['case_id']}"
        assert len(params["tracking_code"]) == 12


def test_invalid_profile_examples_are_422_with_located_issues(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    for name, expected in BAD_FIXTURES.items():
        response = post(client, fixture(name), hospital)
        assert response.status_code == 422, name
        issues = response.json()["issue"]
        assert [(i["code"], i["expression"][0]) for i in issues] == expected, name
        assert all(i["diagnostics"] for i in issues), name
    assert head(container) == 0


def test_the_same_message_twice_gets_the_same_acknowledgement(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    first = post(client, fixture("notification-full.json"), hospital)
    position = head(container)
    second = post(client, fixture("notification-full.json"), hospital)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert head(container) == position


def test_a_resend_serialised_again_gets_the_first_acknowledgement(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    """Same id, same meaning, other bytes (a new Bundle.timestamp, other spacing)."""
    first = post(client, fixture("notification-full.json"), hospital)
    position = head(container)
    again = orjson.loads(fixture("notification-full.json"))
    again["timestamp"] = "2026-11-21T09:00:00+08:00"
    second = post(client, orjson.dumps(again, option=orjson.OPT_INDENT_2), hospital)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert head(container) == position


def _reused(container: Container, response: Any, position: int, message_id: str) -> None:
    """Refused as a reused id, located at MessageHeader.id, and nothing recorded."""
    assert response.status_code == 409
    (issue,) = response.json()["issue"]
    assert issue["code"] == "duplicate"
    assert issue["expression"] == ["Bundle.entry[0].resource.id"]
    assert message_id in issue["diagnostics"]
    assert head(container) == position


def test_a_reused_message_id_for_another_child_is_refused_not_acknowledged(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    first = orjson.loads(fixture("notification-full.json"))
    assert post(client, orjson.dumps(first), hospital).status_code == 200
    position = head(container)
    other = orjson.loads(fixture("notification-twin-a.json"))
    other["entry"][0]["resource"]["id"] = first["entry"][0]["resource"]["id"]
    response = post(client, orjson.dumps(other), hospital)
    _reused(container, response, position, first["entry"][0]["resource"]["id"])
    other["entry"][0]["resource"]["id"] = "twin-a-own-id"
    accepted = post(client, orjson.dumps(other), hospital)
    assert accepted.status_code == 200  # with its own id the other child is recorded
    assert (
        ack_parameters(accepted.json())["case_id"]
        != ack_parameters(post(client, orjson.dumps(first), hospital).json())["case_id"]
    )


def test_a_reused_message_id_with_changed_facts_is_refused(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    assert post(client, fixture("notification-full.json"), hospital).status_code == 200
    assert post(client, fixture("notification-update.json"), hospital).status_code == 200
    position = head(container)
    changed = orjson.loads(fixture("notification-update.json"))
    update_id = changed["entry"][0]["resource"]["id"]
    weight = next(
        e["resource"]
        for e in changed["entry"]
        if e["resource"].get("valueQuantity", {}).get("code") == "g"
    )
    weight["valueQuantity"]["value"] += 100
    _reused(container, post(client, orjson.dumps(changed), hospital), position, update_id)
    void = orjson.loads(fixture("notification-void.json"))
    void["entry"][0]["resource"]["id"] = update_id  # an update's id reused for a void
    _reused(container, post(client, orjson.dumps(void), hospital), position, update_id)
    assert post(client, fixture("notification-update.json"), hospital).status_code == 200


def test_a_new_message_for_the_same_record_is_a_conflict(
    client: TestClient, hospital: dict[str, str]
) -> None:
    post(client, fixture("notification-full.json"), hospital)
    again = orjson.loads(fixture("notification-full.json"))
    again["entry"][0]["resource"]["id"] = "a-new-message-id"
    response = post(client, orjson.dumps(again), hospital)
    assert response.status_code == 409
    assert response.json()["resourceType"] == "OperationOutcome"


def test_update_records_a_correction_and_void_withdraws(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    accepted = post(client, fixture("notification-full.json"), hospital)
    case_id = ack_parameters(accepted.json())["case_id"]
    updated = post(client, fixture("notification-update.json"), hospital)
    assert updated.status_code == 200
    assert ack_parameters(updated.json())["case_id"] == case_id
    corrected = [
        e
        for e in container.ledger.events.get(UUID(case_id))
        if isinstance(e, BirthCase.NotificationCorrected)
    ]
    assert [e.changed for e in corrected] == [["birth_weight_g"]]
    voided = post(client, fixture("notification-void.json"), hospital)
    assert voided.status_code == 200
    case = container.ledger.get_case(UUID(case_id))
    assert case.state == "voided"


def test_an_update_for_an_unknown_record_is_422(
    client: TestClient, hospital: dict[str, str]
) -> None:
    response = post(client, fixture("notification-update.json"), hospital)
    assert response.status_code == 422
    assert response.json()["issue"][0]["code"] == "not-found"


def test_concurrent_copies_open_one_case(settings: Settings) -> None:
    containers = [build(settings), build(settings)]
    token = containers[0].actors.add("hospital", USCC)[1]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": FHIR}
    answers: list[Any] = []
    barrier = threading.Barrier(2)

    def send(container: Container) -> None:
        with TestClient(create_app(container, close_on_shutdown=False)) as client:
            barrier.wait()
            answers.append(post(client, fixture("notification-full.json"), headers))

    threads = [threading.Thread(target=send, args=(c,)) for c in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    cases = {ack_parameters(a.json())["case_id"] for a in answers}
    assert len(cases) == 1
    for container in containers:
        container.close()


def test_http_level_refusals(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    body = fixture("notification-full.json")
    anonymous = client.post("/fhir/$process-message", content=body, headers={"Content-Type": FHIR})
    assert anonymous.status_code == 401
    assert anonymous.json()["resourceType"] == "OperationOutcome"
    other = container.actors.add("hospital", "11500241009138639G")[1]
    forbidden = post(client, body, {"Authorization": f"Bearer {other}", "Content-Type": FHIR})
    assert forbidden.status_code == 403
    assert post(client, body, {**hospital, "Content-Type": "text/plain"}).status_code == 415
    assert post(client, b"not json", hospital).status_code == 400
    assert post(client, b"{}", hospital).status_code == 400
    assert head(container) == 0


def test_over_the_size_limit_is_413(settings: Settings) -> None:
    container = build(settings.with_changes(max_message_bytes=4096))
    token = container.actors.add("hospital", USCC)[1]
    with TestClient(create_app(container)) as client:
        response = post(
            client,
            fixture("notification-full.json"),
            {"Authorization": f"Bearer {token}", "Content-Type": FHIR},
        )
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-costly"


def test_hospital_finds_its_own_case_by_record_key(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    post(client, fixture("notification-full.json"), hospital)
    mine = client.get(f"/cases?hospital_ref={RECORD}", headers=hospital)
    assert mine.status_code == 200
    assert [c["hospital_ref"] for c in mine.json()["cases"]] == [RECORD]
    other = container.actors.add("hospital", "11500241009138639G")[1]
    theirs = client.get(
        f"/cases?hospital_ref={RECORD}", headers={"Authorization": f"Bearer {other}"}
    )
    assert theirs.json() == {"cases": []}
    assert client.get("/cases", headers=hospital).status_code == 422


def test_twins_are_two_cases_linked_by_their_delivery(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    acks = [post(client, fixture(f"notification-twin-{x}.json"), hospital).json() for x in "ab"]
    ids = [UUID(ack_parameters(ack)["case_id"]) for ack in acks]
    assert ids[0] != ids[1]
    deliveries = {container.ledger.get_case(i).facts.delivery_ref for i in ids}
    assert len(deliveries) == 1
    assert deliveries != {None}


def test_refusals_locate_the_facility_and_the_conflict(
    client: TestClient, container: Container, hospital: dict[str, str]
) -> None:
    body = fixture("notification-full.json")
    other = container.actors.add("hospital", "11500241009138639G")[1]
    forbidden = post(client, body, {"Authorization": f"Bearer {other}", "Content-Type": FHIR})
    assert forbidden.status_code == 403
    assert forbidden.json()["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.identifier[0].value"
    ]
    post(client, body, hospital)
    again = orjson.loads(body)
    again["entry"][0]["resource"]["id"] = "a-new-message-id"
    conflict = post(client, orjson.dumps(again), hospital)
    assert conflict.status_code == 409
    # The conflict is about the record key (a case exists for it): the child's MR identifier.
    assert conflict.json()["issue"][0]["expression"] == [
        "Bundle.entry[2].resource.identifier[0].value"
    ]


@pytest.mark.parametrize("media", ["application/json", "application/json+fhir", "text/plain"])
def test_only_the_fhir_media_type_is_taken(
    client: TestClient, container: Container, hospital: dict[str, str], media: str
) -> None:
    """docs/hospital-integration.md: anything but application/fhir+json is 415."""
    refused = post(client, fixture("notification-full.json"), {**hospital, "Content-Type": media})
    assert refused.status_code == 415
    assert refused.json()["issue"][0]["code"] == "not-supported"
    assert head(container) == 0
    charset = {**hospital, "Content-Type": f"{FHIR}; charset=utf-8"}
    assert post(client, fixture("notification-full.json"), charset).status_code == 200


def test_metadata_is_a_public_r4b_capability_statement(client: TestClient) -> None:
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR)
    statement: Any = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.3.0"
    assert statement.format == ["application/fhir+json"]
    messaging = statement.messaging[0]
    assert messaging.endpoint[0].address.endswith("/$process-message")
    assert [m.definition.rsplit("/", 1)[1] for m in messaging.supportedMessage] == [
        "birth-notification",
        "birth-notification-update",
        "birth-notification-void",
    ]
    assert [op.name for op in statement.rest[0].operation] == ["process-message"]


def test_a_client_disconnecting_mid_upload_is_no_server_error(
    client: TestClient, container: Container, hospital: dict[str, str], caplog: Any
) -> None:
    """Starlette's ClientDisconnect while the body streams in: 499 in the metrics, no 500, no
    traceback in the logs, nothing recorded."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/fhir/$process-message",
        "raw_path": b"/fhir/$process-message",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in hospital.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    part = fixture("notification-full.json")[:100]
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": part, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        await client.app(scope, receive, send)  # type: ignore[arg-type]

    assert client.portal is not None
    with caplog.at_level("INFO"):
        client.portal.call(call)
    assert sent[0]["status"] == 499
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]
    assert "disconnected" in caplog.text
    metrics = client.get("/metrics").text
    assert 'route="/fhir/$process-message",status="499"' in metrics
    assert 'status="500"' not in metrics
    assert head(container) == 0


@pytest.mark.parametrize("key", ["ZY2026\x00112000123", "Z" * 5000])
def test_a_record_key_no_view_could_hold_is_refused_and_nothing_recorded(
    client: TestClient, container: Container, hospital: dict[str, str], key: str
) -> None:
    message = orjson.loads(fixture("notification-full.json"))
    message["entry"][2]["resource"]["identifier"][0]["value"] = key
    refused = post(client, orjson.dumps(message), hospital)
    assert refused.status_code == 422
    assert [i["expression"] for i in refused.json()["issue"]] == [
        ["Bundle.entry[2].resource.identifier[0].value"]
    ]
    assert head(container) == 0
    assert post(client, fixture("notification-full.json"), hospital).status_code == 200


def test_the_acknowledgement_names_the_facts_not_taken(
    client: TestClient, hospital: dict[str, str]
) -> None:
    from tests.unit.test_fhir_intake_warnings import SNOMED_WEIGHT

    message = orjson.loads(fixture("notification-full.json"))
    message["entry"].append({"fullUrl": "urn:uuid:snomed-weight", "resource": SNOMED_WEIGHT})
    accepted = post(client, orjson.dumps(message), hospital)
    assert accepted.status_code == 200
    entries = [e["resource"] for e in accepted.json()["entry"]]
    outcome = next(r for r in entries if r["resourceType"] == "OperationOutcome")
    assert [(i["severity"], i["expression"]) for i in outcome["issue"]] == [
        ("warning", ["Bundle.entry[13].resource.code"])
    ]
    assert entries[0]["response"]["details"]["reference"].endswith(outcome["id"])
    assert ack_parameters(accepted.json())["tracking_code"]
