"""The office feed pushed, on SQLite and PostgreSQL: the worker's deliveries carry the same
messages, in the same order, as the office's pull feed, each body signed (Standard Webhooks)
and exactly the envelope the feed shows; sealed at rest with a key, opened to send."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace

import orjson
import pytest
from standardwebhooks import Webhook
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.deliveries import Deliveries
from adapters.settings import Settings
from api.app import create_app
from integrations.registry.policy import DeliveryPolicy
from tests.delivery_fakes import FakeSystems, new_secret
from tests.e2e.test_rejection_flow import Journey
from tests.receiver import Receiver

KEY = base64.b64encode(bytes(range(32))).decode()
HANDLING = ("420102", "public-security")
RECEIVING = ("430602", "public-security")


@pytest.fixture
def keyed(settings: Settings) -> Iterator[Container]:
    built = build(settings.with_changes(cipher_key=KEY))
    yield built
    built.close()


def test_push_and_pull_give_the_same_messages_in_order(keyed: Container) -> None:
    container = keyed
    secret = new_secret()
    with (
        TestClient(create_app(container, close_on_shutdown=False)) as client,
        Receiver(secret=secret) as handling,
        Receiver(secret=secret) as receiving,
    ):
        systems = FakeSystems()
        systems.add(handling.url, secret, office=HANDLING)
        systems.add(receiving.url, secret, office=RECEIVING)
        # one at a time per endpoint: the order of arrival is the feed's
        policy = replace(DeliveryPolicy(), in_flight=1)
        feed = container.projections.office_feed_view
        store = container.deliveries.store
        settings = container.settings.with_changes(deliveries=policy)
        container.deliveries = Deliveries(settings, feed, systems, store)
        journey = Journey(client, container, "MR-PUSH-1")
        journey.decide("birth-certificate")
        journey.step("household-registration", "receive", {"receipt_number": "R-1"})
        container.tick()
        container.deliveries.run_once()
        container.deliveries.dispatcher.drain(10)
        sent = 0
        for receiver, office in ((handling, HANDLING), (receiving, RECEIVING)):
            pulled = client.get(
                "/offices/{}/{}/feed".format(*office), headers=journey.offices.header(*office)
            ).json()["messages"]
            assert pulled, office
            pushed = [orjson.loads(m.body) for m in receiver.received]
            assert pushed == pulled  # same envelopes, same order
            sent += len(pushed)
            for message in receiver.received:
                headers = {
                    "webhook-id": message.message_id,
                    "webhook-timestamp": message.timestamp,
                    "webhook-signature": " ".join(message.signatures),
                }
                assert Webhook(secret).verify(message.body, headers)["id"] == message.message_id
        assert container.deliveries.store.counts() == {"delivered": sent}
