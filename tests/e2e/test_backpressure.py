"""Back-pressure: while planning lags too far behind, hospital intake is a transient 503."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from adapters.bootstrap import build
from adapters.settings import Settings
from api.app import create_app
from api.backpressure import PlanningLag
from tests.e2e.test_hospital_intake import FHIR, fixture, head, post
from tests.unit.test_fhir_intake import USCC


def second_message() -> bytes:
    """The full example as another message about another child of the same facility."""
    message = orjson.loads(fixture("notification-full.json"))
    message["entry"][0]["resource"]["id"] = "another-message"
    body = orjson.dumps(message).replace(b"ZY2026112000123", b"ZY2026112000999")
    assert body.count(b"ZY2026112000999") >= 1
    return body


def test_intake_is_503_while_planning_lags_and_resumes_once_planned(settings: Settings) -> None:
    container = build(settings.with_changes(embedded_worker=False, max_planning_lag=1))
    headers = {"Authorization": f"Bearer {container.actors.add('hospital', USCC)[1]}"}
    headers["Content-Type"] = FHIR
    app = create_app(container)
    app.state.planning_lag = PlanningLag(container.processing.planning.lag, ttl=0)
    with TestClient(app) as client:
        assert post(client, fixture("notification-full.json"), headers).status_code == 200
        position = head(container)
        busy = post(client, second_message(), headers)
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "10"
        assert busy.json()["resourceType"] == "OperationOutcome"
        assert busy.json()["issue"][0]["code"] == "transient"
        assert head(container) == position  # nothing recorded
        assert "newborn_ledger_planning_lag_events 2.0" in client.get("/metrics").text
        container.tick()  # the worker plans the backlog
        assert container.processing.planning.lag() == 0
        assert post(client, second_message(), headers).status_code == 200


def test_no_limit_means_no_check(settings: Settings) -> None:
    container = build(settings.with_changes(embedded_worker=False, max_planning_lag=0))
    headers = {"Authorization": f"Bearer {container.actors.add('hospital', USCC)[1]}"}
    headers["Content-Type"] = FHIR
    app = create_app(container)
    app.state.planning_lag = PlanningLag(lambda: 10**9, ttl=0)
    with TestClient(app) as client:
        assert post(client, fixture("notification-full.json"), headers).status_code == 200
        assert post(client, second_message(), headers).status_code == 200
