"""A family's token is a sign-in: refused once its time has passed, on both stores; tokens
added by operators never expire; actors added before tokens could expire keep working."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from eventsourcing.persistence import StoredEvent
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from adapters.facade import case_by_tracking_code
from api.app import create_app
from api.tracking import token_for
from domain.births.commands import NotifyBirth
from domain.kernel.actors import Actor, new_token, token_hash
from tests.conftest import make_facts
from tests.stored import revived_as_v1

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
PHONE = make_facts().mother.phone or ""


def test_a_family_token_is_refused_after_its_hours(container: Container) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-ft", make_facts("MR-FT"), b"{}"))
    container.after_command()
    case = container.ledger.get_case(outcome.case_id)
    actors = container.actors
    actors.clock = lambda: NOW
    case_id = case_by_tracking_code(container, case.tracking_code)
    assert case_id == str(outcome.case_id)
    issued = token_for(container, case_id, PHONE)
    assert issued is not None
    hours = container.settings.family_token_hours
    assert datetime.fromisoformat(issued["expires_at"]) == NOW + timedelta(hours=hours)
    principal = actors.authenticate(issued["token"])
    assert principal is not None
    assert (principal.role, principal.scope) == ("family", str(outcome.case_id))
    actors.clock = lambda: NOW + timedelta(hours=hours, seconds=-1)
    assert actors.authenticate(issued["token"]) is not None
    actors.clock = lambda: NOW + timedelta(hours=hours)
    assert actors.authenticate(issued["token"]) is None  # signed out by the clock
    _, office = actors.add("office", "420102", "public-security", "window")
    actors.clock = lambda: NOW + timedelta(days=3650)
    assert actors.authenticate(office) is not None  # operators' tokens are revoked, not timed
    listed = {row["role"]: row["expires_at"] for row in actors.summary()}
    assert listed == {"family": issued["expires_at"], "office": None}


def test_an_actor_added_before_tokens_could_expire_never_expires(container: Container) -> None:
    """Its Added event has no expiry and no class version: the upcast gives it none."""
    actors = container.actors
    actor, _ = actors.add("monitor", "43", None, "old")
    (added,) = actors.events.get(actor.id)
    revived = revived_as_v1(actors.mapper, added, "expires_at")
    assert isinstance(revived, Actor.Added)
    assert revived.expires_at is None
    old_actor = revived.mutate(None)
    assert isinstance(old_actor, Actor)
    assert old_actor.valid_at(NOW + timedelta(days=3650))


def test_a_family_signs_out_and_its_token_is_refused(container: Container) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-so", make_facts("MR-SO"), b"{}"))
    container.after_command()
    code = container.ledger.get_case(outcome.case_id).tracking_code
    _, office = container.actors.add("office", "420102", "public-security", "window")
    with TestClient(create_app(container, close_on_shutdown=False)) as client:
        signed_in = client.post("/track", json={"tracking_code": code, "verifier": PHONE})
        assert signed_in.status_code == 201
        family = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        case_url = f"/cases/{outcome.case_id}"
        assert client.get(case_url, headers=family).status_code == 200  # and now cached
        refused = client.delete("/track", headers={"Authorization": f"Bearer {office}"})
        assert refused.status_code == 404  # only a family signs out here
        assert client.delete("/track").status_code == 401
        assert client.delete("/track", headers=family).status_code == 204
        assert client.get(case_url, headers=family).status_code == 401  # at once, cache too
        assert client.delete("/track", headers=family).status_code == 401
        again = client.post("/track", json={"tracking_code": code, "verifier": PHONE})
        assert again.status_code == 201  # the same code and verifier sign in again


def test_guesses_sent_at_once_are_refused_after_the_limit(container: Container) -> None:
    """Twenty wrong verifiers sent together: five are answered 404, the others 429, although
    none of the answers was known when the others were checked."""
    outcome = container.ledger.notify_birth(NotifyBirth("m-bg", make_facts("MR-BG"), b"{}"))
    container.after_command()
    code = container.ledger.get_case(outcome.case_id).tracking_code
    app = create_app(container, close_on_shutdown=False)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            guesses = [
                client.post("/track", json={"tracking_code": code, "verifier": f"{n:06d}"})
                for n in range(20)
            ]
            return [r.status_code for r in await asyncio.gather(*guesses)]

    statuses = asyncio.run(burst())
    assert sorted(statuses) == [404] * 5 + [429] * 15


def test_an_expired_family_token_is_401_and_the_cache_does_not_outlive_it(
    container: Container,
) -> None:
    """The principal cache keeps a family's principal no longer than its sign-in lasts."""
    outcome = container.ledger.notify_birth(NotifyBirth("m-ex", make_facts("MR-EX"), b"{}"))
    container.after_command()
    code = container.ledger.get_case(outcome.case_id).tracking_code
    hours = container.settings.family_token_hours
    signed_in_at = datetime.now(UTC) - timedelta(hours=hours, minutes=1)  # ended a minute ago
    container.actors.clock = lambda: signed_in_at
    with TestClient(create_app(container, close_on_shutdown=False)) as client:
        issued = client.post("/track", json={"tracking_code": code, "verifier": PHONE}).json()
        family = {"Authorization": f"Bearer {issued['token']}"}
        case_url = f"/cases/{outcome.case_id}"
        assert client.get(case_url, headers=family).status_code == 200  # by the actors' clock
        container.actors.clock = lambda: datetime.now(UTC)
        expired = client.get(case_url, headers=family)  # not served from the cache
        assert expired.status_code == 401
        assert expired.json()["type"] == "/problems/unauthenticated"


def test_a_family_sign_in_made_before_tokens_expired_ends_after_eight_hours(
    container: Container,
) -> None:
    """A family actor recorded by the earlier version (its Added event at class version 1,
    without expires_at) is read with an expiry 8 hours after it was added; an operator's
    recorded then keeps none."""
    actors = container.actors
    actors.clock = lambda: NOW
    for role, scope in (("family", "5f0c3a52-0c1d-4f5e-9a1b-7d2f8c4e6a10"), ("monitor", "43")):
        token = new_token(role)
        pending = Actor(token_hash(token), role, scope, None, "v1", None)
        (added,) = pending.collect_events()
        stored = actors.mapper.to_stored_event(added)
        compressor = actors.mapper.compressor
        state = orjson.loads(compressor.decompress(stored.state) if compressor else stored.state)
        del state["class_version"], state["expires_at"]
        state["timestamp"]["_data_"] = (NOW - timedelta(hours=2)).isoformat()
        old = orjson.dumps(state)
        actors.recorder.insert_events(
            [
                StoredEvent(
                    stored.originator_id,
                    stored.originator_version,
                    stored.topic,
                    compressor.compress(old) if compressor else old,
                )
            ]
        )
        actors.clock = lambda: NOW
        assert actors.authenticate(token) is not None
        actors.clock = lambda: NOW + timedelta(hours=6, seconds=1)  # 8 h after it was added
        assert (actors.authenticate(token) is None) is (role == "family")
