"""Registered registry systems take deliveries, on SQLite and PostgreSQL: a case's messages
reach the system of each office, signed with its secret (and the old one during a rotation);
a disabled system is sent nothing more; the request's deliveries and the queue name them."""

from __future__ import annotations

from standardwebhooks import Webhook
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from tests.e2e.test_rejection_flow import Journey
from tests.receiver import Received, Receiver

HANDLING = ("420102", "public-security")


def verifies(secret: str, message: Received) -> bool:
    headers = {
        "webhook-id": message.message_id,
        "webhook-timestamp": message.timestamp,
        "webhook-signature": " ".join(message.signatures),
    }
    return bool(Webhook(secret).verify(message.body, headers)["id"] == message.message_id)


def deliver(container: Container) -> None:
    container.tick()
    container.deliveries.run_once()
    container.deliveries.dispatcher.drain(10)


def test_a_registered_system_takes_its_offices_messages(container: Container) -> None:
    with (
        TestClient(create_app(container, close_on_shutdown=False)) as client,
        Receiver() as hukou,
        Receiver() as retired,
    ):
        registered = container.systems.register(container.actors, *HANDLING, hukou.url, "hukou")
        old = container.systems.register(container.actors, *HANDLING, retired.url, "old")
        container.systems.disable(old.system.system_id, container.actors)
        journey = Journey(client, container, "MR-SYS-1")
        journey.decide("birth-certificate")
        deliver(container)
        (dispatched,) = hukou.received
        assert verifies(registered.secret, dispatched)
        new = container.systems.rotate_secret(registered.system.system_id)
        journey.step("household-registration", "receive", {"receipt_number": "R-1"})
        deliver(container)
        assert len(hukou.received) == 2
        assert verifies(registered.secret, hukou.received[1])  # the old secret, still valid
        assert verifies(new, hukou.received[1])
        assert retired.received == []  # disabled before anything was sent
        request = journey.services()["household-registration"]["service_request_id"]
        answer = client.get(
            f"/service-requests/{request}/deliveries", headers=journey.offices.header(*HANDLING)
        ).json()
        (shown,) = answer["systems"]
        assert shown["label"] == "hukou"
        assert [d["state"] for d in shown["deliveries"]] == ["delivered", "delivered"]


def test_a_new_system_starts_at_its_registration_unless_asked_for_the_history(
    container: Container,
) -> None:
    """An office's history is not pushed to a system added later (its requests were worked
    on the page); `registry add --from-start` asks for it (starts_after 0)."""
    with (
        TestClient(create_app(container, close_on_shutdown=False)) as client,
        Receiver() as later,
        Receiver() as history,
    ):
        journey = Journey(client, container, "MR-SYS-2")
        journey.decide("birth-certificate")  # the hukou request is dispatched: one message
        head = container.ledger.recorder.max_notification_id() or 0
        added = container.systems.register(
            container.actors, *HANDLING, later.url, "later", starts_after=head * 4 + 3
        )
        container.systems.register(container.actors, *HANDLING, history.url, "history", 0)
        assert added.system.starts_after == head * 4 + 3
        deliver(container)
        assert later.received == []
        assert [m.message_id for m in history.received]  # the dispatch, from the start
        journey.step("household-registration", "receive", {"receipt_number": "R-2"})
        deliver(container)
        (received,) = later.received  # only what happened after it was added
        assert received.message_id == history.received[-1].message_id
