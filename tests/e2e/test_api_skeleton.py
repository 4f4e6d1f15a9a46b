"""The API skeleton: health, readiness, OpenAPI, authentication and problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import orjson
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import NotifyBirth
from tests.conftest import HOSPITAL, OTHER_HOSPITAL, make_facts


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_and_readiness_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_case_view_is_401_problem_without_a_token_and_200_with_one(
    client: TestClient, container: Container
) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    _, token = container.actors.add("hospital", HOSPITAL)
    anonymous = client.get(f"/cases/{outcome.case_id}")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["type"] == "/problems/unauthenticated"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert client.get(f"/cases/{outcome.case_id}", headers=bearer("nl_bad")).status_code == 401
    ok = client.get(f"/cases/{outcome.case_id}", headers=bearer(token))
    assert ok.status_code == 200
    assert ok.json() == {
        "case_id": str(outcome.case_id),
        "state": "notified",
        "services": [],
        "tracking_code": outcome.tracking_code,
        "hospital_ref": "MR-0001",
    }


def test_another_facility_gets_404_not_403(client: TestClient, container: Container) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    _, other = container.actors.add("hospital", OTHER_HOSPITAL)
    _, monitor = container.actors.add("monitor", "43")
    for token in (other, monitor):
        response = client.get(f"/cases/{outcome.case_id}", headers=bearer(token))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_unknown_route_and_bad_id_are_problem_json(client: TestClient) -> None:
    for path in ("/nowhere", "/cases/not-a-uuid"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["status"] == 404
    wrong_method = client.delete("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "/problems/method-not-allowed"


def test_every_route_is_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    app = client.app
    assert hasattr(app, "routes")
    for route in app.routes:
        assert isinstance(route, Route)
        path = route.path.replace(":uuid", "")
        assert path in document["paths"], path
        for method in route.methods or ():
            if method != "HEAD":
                assert method.lower() in document["paths"][path], (method, path)


def test_metrics_show_projection_lag_and_requests_without_ids(
    client: TestClient, container: Container
) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    client.get(f"/cases/{outcome.case_id}")
    text = client.get("/metrics").text
    assert 'newborn_ledger_projection_lag_events{projection="case_status"}' in text
    assert 'route="/cases/{case_id:uuid}"' in text
    assert str(outcome.case_id) not in text


def test_metrics_count_each_request_once_per_method_route_and_status(
    client: TestClient, container: Container
) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    _, token = container.actors.add("hospital", HOSPITAL)
    for _ in range(3):
        assert client.get(f"/cases/{outcome.case_id}", headers=bearer(token)).status_code == 200
    for _ in range(2):
        assert client.get(f"/cases/{outcome.case_id}").status_code == 401
    assert client.get("/healthz").status_code == 200
    text = client.get("/metrics").text
    route = 'route="/cases/{case_id:uuid}"'
    assert f'newborn_ledger_http_requests_total{{method="GET",{route},status="200"}} 3.0' in text
    assert f'newborn_ledger_http_requests_total{{method="GET",{route},status="401"}} 2.0' in text
    healthz = 'method="GET",route="/healthz",status="200"'
    assert f"newborn_ledger_http_requests_total{{{healthz}}} 1.0" in text
    assert f"newborn_ledger_http_request_seconds_count{{{route}}} 5.0" in text


def test_as_of_accepts_an_unencoded_plus_in_the_offset(
    client: TestClient, container: Container
) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    _, admin = container.actors.add("admin", None)
    for raw in ("2030-11-21T09:00:00+08:00", "2030-11-21T09:00:00%2B08:00", "2030-11-21T01:00:00Z"):
        response = client.get(f"/cases/{outcome.case_id}?as_of={raw}", headers=bearer(admin))
        assert response.status_code == 200, raw
        assert response.json()["state"] == "notified"
    early = client.get(
        f"/cases/{outcome.case_id}?as_of=2000-01-01T00:00:00Z", headers=bearer(admin)
    )
    assert early.status_code == 404
    bad = client.get(f"/cases/{outcome.case_id}?as_of=yesterday", headers=bearer(admin))
    assert (bad.status_code, bad.json()["parameter"]) == (422, "as_of")


def test_refusals_from_the_routes_and_from_the_root_read_the_same(
    client: TestClient, container: Container
) -> None:
    """A 404 raised by a route (api/auth.out_of_scope) and one a read of the root refuses
    (OutOfScopeError, CaseNotYetError) are the same problem document, byte for byte."""
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    _, other = container.actors.add("hospital", OTHER_HOSPITAL)
    _, family = container.actors.add("family", str(uuid4()))
    _, admin = container.actors.add("admin", None)
    url = f"/cases/{outcome.case_id}"

    def body(detail: str, path: str = url) -> bytes:
        problem = {"type": "/problems/not-found", "title": "Not found", "status": 404}
        return orjson.dumps(problem | {"detail": detail, "instance": path})

    by_route = client.get(url, headers=bearer(family))  # the family's own-case check
    by_root = client.get(url, headers=bearer(other))  # the root's scoped read
    history = client.get(f"{url}/history", headers=bearer(other))
    not_yet = client.get(url, params={"as_of": "2000-01-01T00:00:00Z"}, headers=bearer(admin))
    assert by_route.content == by_root.content == body("No such resource for this caller")
    assert history.content == body("No such resource for this caller", f"{url}/history")
    assert not_yet.content == body("The case did not exist yet at that time")
    for response in (by_route, by_root, history, not_yet):
        assert (response.status_code, response.headers["content-type"]) == (
            404,
            "application/problem+json",
        )
