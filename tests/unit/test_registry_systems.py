"""Registry systems (domain/kernel/systems.py) in memory: registration with a token of kind
"system" and a Standard Webhooks secret, rotation with the old secret valid for a while,
disabling (its token revoked), and the Actor.Added upcast to class version 3."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from eventsourcing.persistence import StoredEvent
from standardwebhooks import Webhook, WebhookVerificationError

from adapters.bootstrap import Container
from domain.kernel.actors import Actor, InvalidActorError, Principal, new_token, token_hash
from domain.kernel.errors import InvalidIdentifierError
from domain.kernel.systems import (
    InvalidSystemError,
    Registration,
    RegistrySystem,
    RegistrySystems,
    SystemDisabledError,
    SystemNotFoundError,
    endpoint_url,
    new_secret,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
URL = "https://hukou.example.cn/newborn-ledger/hooks"
OFFICE = ("420102", "public-security")


def registered(
    container: Container, url: str | None = URL, label: str = "hukou"
) -> tuple[RegistrySystems, Registration]:
    systems = container.systems
    systems.clock = lambda: NOW
    found = systems.register(container.actors, *OFFICE, url, label)
    return systems, found


def test_a_secret_is_a_standard_webhooks_secret_the_library_signs_with() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    hook = Webhook(secret)
    now = datetime.now(UTC)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp()))}
    headers["webhook-signature"] = hook.sign("msg_1", now, b'{"a": 1}')
    assert hook.verify(b'{"a": 1}', headers) == {"a": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(b'{"a": 1}', headers)
    assert new_secret() != secret


def test_registering_adds_an_office_token_of_kind_system(memory_container: Container) -> None:
    systems, found = registered(memory_container)
    info = found.system
    assert (info.locality, info.authority, info.url, info.label) == (*OFFICE, URL, "hukou")
    assert info.secrets == (found.secret,)
    assert not info.disabled
    assert info.system_id == RegistrySystem.create_id(info.actor_id)
    principal = memory_container.actors.authenticate(found.token)
    assert principal == Principal(info.actor_id, "office", *OFFICE, kind="system")
    assert principal.officer == f"system:{info.actor_id}"
    assert systems.get_system(info.system_id) == info
    assert systems.systems(NOW) == [info]
    assert systems.for_office(*OFFICE, NOW) == [info]
    assert systems.for_office("420102", "health", NOW) == []
    listed = {row["actor_id"]: row["kind"] for row in memory_container.actors.summary()}
    assert listed == {str(info.actor_id): "system"}


def test_a_clerk_is_recorded_as_the_office_a_system_as_itself(memory_container: Container) -> None:
    actor, token = memory_container.actors.add("office", *OFFICE)
    principal = memory_container.actors.authenticate(token)
    assert principal is not None
    assert principal.kind == "person"
    assert principal.officer == f"office:{actor.id}"


def test_a_feed_only_system_has_no_url(memory_container: Container) -> None:
    _, found = registered(memory_container, url=None)
    assert found.system.url is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hukou.example.cn/",
        "https://",
        "hukou.example.cn/hooks",
        "https://user:secret@hukou.example.cn/",
        "https://hukou.example.cn/#part",
        "https://hukou.example.cn:port/",
        "https://hukou.example.cn/a b",
        "javascript:alert(1)",
        "https://x.cn/" + "a" * 2000,
    ],
)
def test_a_url_is_http_or_https_with_a_host(url: str) -> None:
    with pytest.raises(InvalidSystemError):
        endpoint_url(url)


def test_a_url_may_name_a_port_and_a_query() -> None:
    assert endpoint_url(" http://127.0.0.1:8080/hooks?x=1 ") == "http://127.0.0.1:8080/hooks?x=1"


def test_a_system_belongs_to_a_known_office(memory_container: Container) -> None:
    with pytest.raises(InvalidActorError):
        memory_container.systems.register(memory_container.actors, "420102", "police", URL)
    with pytest.raises(InvalidIdentifierError):
        memory_container.systems.register(memory_container.actors, "42", "cdc", URL)
    assert list(memory_container.actors.summary()) == []  # no token was added


def test_a_rotated_out_secret_stays_valid_for_24_hours(memory_container: Container) -> None:
    systems, found = registered(memory_container)
    system_id = found.system.system_id
    new = systems.rotate_secret(system_id)
    assert new != found.secret
    assert new.startswith("whsec_")
    assert systems.systems(NOW + timedelta(hours=23))[0].secrets == (new, found.secret)
    assert systems.systems(NOW + timedelta(hours=24))[0].secrets == (new,)
    newest = systems.rotate_secret(system_id, keep_old=timedelta(0))
    assert systems.get_system(system_id).secrets == (newest,)  # the previous one at once gone


def test_a_rotation_keeps_only_the_last_previous_secret(memory_container: Container) -> None:
    systems, found = registered(memory_container)
    system_id = found.system.system_id
    second = systems.rotate_secret(system_id, keep_old=timedelta(hours=2))
    third = systems.rotate_secret(system_id, keep_old=timedelta(hours=2))
    assert systems.get_system(system_id).secrets == (third, second)
    with pytest.raises(InvalidSystemError):
        systems.rotate_secret(system_id, keep_old=timedelta(hours=-1))


def test_disabling_revokes_the_token_and_stops_deliveries(memory_container: Container) -> None:
    systems, found = registered(memory_container)
    other = systems.register(memory_container.actors, *OFFICE, URL, "second")
    disabled = systems.disable(found.system.system_id, memory_container.actors)
    assert disabled.disabled
    assert disabled.secrets == ()
    assert memory_container.actors.authenticate(found.token) is None
    assert memory_container.actors.authenticate(other.token) is not None
    assert [s.system_id for s in systems.for_office(*OFFICE, NOW)] == [other.system.system_id]
    assert [s.disabled for s in systems.systems(NOW)] == [True, False]
    with pytest.raises(SystemDisabledError):
        systems.rotate_secret(found.system.system_id)
    version: int = systems.repository.get(found.system.system_id).version
    systems.disable(found.system.system_id, memory_container.actors)  # again: nothing new
    assert systems.repository.get(found.system.system_id).version == version


def test_an_unknown_system_is_not_found(memory_container: Container) -> None:
    systems = memory_container.systems
    actor, _ = memory_container.actors.add("office", *OFFICE)
    with pytest.raises(SystemNotFoundError):
        systems.get_system(RegistrySystem.create_id(actor.id))
    with pytest.raises(SystemNotFoundError):
        systems.disable(actor.id, memory_container.actors)  # an actor is no system


def test_the_list_follows_the_log(memory_container: Container) -> None:
    systems, first = registered(memory_container)
    assert len(systems.systems(NOW)) == 1
    second = systems.register(memory_container.actors, "430602", "cdc", None, "cdc")
    listed = [s.system_id for s in systems.systems(NOW)]
    assert listed == [first.system.system_id, second.system.system_id]
    systems.rotate_secret(second.system.system_id)
    assert len(systems.systems(NOW)[1].secrets) == 2


def test_a_version_2_actor_is_read_as_a_person(memory_container: Container) -> None:
    directory = memory_container.actors
    token = new_token("office")
    (added,) = Actor(token_hash(token), "office", "420102", "cdc", "v2").collect_events()
    stored = directory.mapper.to_stored_event(added)
    compressor = directory.mapper.compressor
    state = orjson.loads(compressor.decompress(stored.state) if compressor else stored.state)
    assert state.pop("class_version") == 3
    del state["kind"]
    state["class_version"] = 2
    old = orjson.dumps(state)
    old = compressor.compress(old) if compressor else old
    directory.recorder.insert_events(
        [StoredEvent(stored.originator_id, stored.originator_version, stored.topic, old)]
    )
    principal = directory.authenticate(token)
    assert principal is not None
    assert principal.kind == "person"
    assert principal.officer.startswith("office:")


def test_no_repr_shows_a_secret_or_a_token(memory_container: Container) -> None:
    """A system, its registration and its aggregate printed (in a traceback, a debugger, a
    log line someone adds later) never show what signs deliveries or authenticates it."""
    systems, found = registered(memory_container)
    aggregate: object = systems.repository.get(found.system.system_id)
    for shown in (repr(found), repr(found.system), repr(aggregate)):
        assert "whsec_" not in shown
        assert found.token not in shown
    assert str(found.system.system_id) in repr(aggregate)
