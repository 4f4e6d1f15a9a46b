"""Deliveries as an office, an admin and an operator see them, on SQLite and PostgreSQL:
GET /service-requests/{id}/deliveries (scoped like every route), the queue's warning, the
metric, the OpenAPI document, and `newborn-ledger deliveries list|replay`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from adapters.deliveries import Deliveries
from adapters.settings import Settings
from api.app import create_app
from entry.cli import main
from tests.delivery_fakes import FakeFeed, FakeSystems
from tests.e2e.test_rejection_flow import Journey
from tests.receiver import Receiver

HANDLING = ("420102", "public-security")  # the hukou request's handling office
RECEIVING = ("430602", "public-security")


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    with Receiver() as ok, Receiver(status=410) as gone:
        yield ok, gone


def deliver(container: Container) -> None:
    container.deliveries.run_once()
    container.deliveries.dispatcher.drain(10)


def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    if settings.persistence == "postgres":
        from tests.pg import ledger_env

        for name, value in ledger_env(settings).items():
            monkeypatch.setenv(name, value)
    else:
        monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "sqlite")
        monkeypatch.setenv("NEWBORN_LEDGER_SQLITE_DIR", settings.sqlite_dir)


def test_deliveries_of_a_request_its_queue_warning_metric_and_cli(
    client: TestClient,
    container: Container,
    receivers: tuple[Receiver, Receiver],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ok, gone = receivers
    journey = Journey(client, container, "MR-D")
    request_id = UUID(journey.services()["household-registration"]["service_request_id"])
    feed, systems = FakeFeed(), FakeSystems()
    (message,) = feed.add(1, office=HANDLING)
    feed.items[0] = message = replace(message, service_request_id=request_id)
    hukou = systems.add(ok.url, office=HANDLING)
    broken = systems.add(gone.url, office=HANDLING)
    store = container.deliveries.store
    container.deliveries = Deliveries(container.settings, feed, systems, store)
    deliver(container)

    path = f"/service-requests/{request_id}/deliveries"
    handling = journey.offices.header(*HANDLING)
    answer = client.get(path, headers=handling).json()
    assert answer["service_request_id"] == str(request_id)
    shown = {s["system_id"]: s["deliveries"] for s in answer["systems"]}
    assert set(shown) == {str(hukou.system_id), str(broken.system_id)}
    (sent,) = shown[str(hukou.system_id)]
    assert (sent["state"], sent["attempts"], sent["message_id"]) == (
        "delivered",
        1,
        message.message_id,
    )
    assert sent["delivered_at"] is not None
    assert shown[str(broken.system_id)][0]["state"] == "dead"
    admin = client.get(path, headers=journey.admin).json()
    assert len(admin["systems"]) == 2
    assert client.get(path, headers=journey.offices.header(*RECEIVING)).json()["systems"] == []
    for outside in (("430602", "medical-insurance"), ("420102", "hrss")):
        refused = client.get(path, headers=journey.offices.header(*outside))
        assert refused.status_code == 404  # out of scope looks missing
    unknown = "/service-requests/00000000-0000-4000-8000-000000000000/deliveries"
    assert client.get(unknown, headers=journey.admin).status_code == 404
    assert client.get(path, headers=journey.family).status_code == 404
    assert client.get(path).status_code == 401

    queue = client.get("/offices/420102/public-security/queue", headers=handling).json()
    assert queue["delivery_warnings"] == [
        {
            "system_id": str(broken.system_id),
            "label": broken.label,
            "dead_letters": 1,
            "circuit": "closed",
        }
    ]
    receiving = journey.offices.header(*RECEIVING)
    other = client.get("/offices/430602/public-security/queue", headers=receiving).json()
    assert other["delivery_warnings"] == []
    metrics = client.get("/metrics").text
    assert 'newborn_ledger_deliveries{state="pending"} 0.0' in metrics
    assert 'newborn_ledger_deliveries{state="dead"} 1.0' in metrics
    assert 'state="delivered"' not in metrics  # never counted: the table's bulk
    assert "newborn_ledger_delivery_open_circuits 0.0" in metrics
    operations = client.get("/openapi.json").json()["paths"]
    assert "get" in operations["/service-requests/{service_request_id}/deliveries"]

    cli_env(container.settings, monkeypatch)
    capsys.readouterr()
    assert main(["deliveries", "list", "--dead"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert f'"system_id":"{broken.system_id}"' in line
    assert main(["deliveries", "list", "--system", str(hukou.system_id)]) == 0
    assert '"state":"delivered"' in capsys.readouterr().out
    dead_id = shown[str(broken.system_id)][0]["delivery_id"]
    assert main(["deliveries", "replay", dead_id]) == 0
    assert main(["deliveries", "replay", dead_id]) == 2  # no longer a dead letter
    assert "is not a dead letter" in capsys.readouterr().err
    gone.status = 204
    deliver(container)
    assert container.deliveries.store.counts() == {"delivered": 2}
    assert main(["deliveries", "replay", "--endpoint", str(broken.system_id)]) == 0
    assert "0 dead letters" in capsys.readouterr().out
    assert main(["deliveries", "replay", "not-an-id"]) == 2
