"""The ledger's write side on real stores: SQLite files and PostgreSQL."""

from __future__ import annotations

import threading
from uuid import uuid4

import pytest

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from domain.births.commands import CorrectNotification, NotifyBirth, VoidNotification
from domain.births.hospital_intake import MessageOutcome
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.errors import NotificationConflictError
from domain.kernel.service_request import ServiceRequest
from tests.conftest import HOSPITAL, make_facts
from tests.unit.test_projections_support import route

KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="


def head(container: Container) -> int:
    return container.ledger.recorder.max_notification_id() or 0


def test_a_repeated_message_gets_the_same_answer_and_records_nothing(container: Container) -> None:
    first = container.ledger.notify_birth(NotifyBirth("msg-1", make_facts(), b"{}"))
    position = head(container)
    again = container.ledger.notify_birth(NotifyBirth("msg-1", make_facts(), b"{}"))
    assert (again.case_id, again.tracking_code, again.repeated) == (
        first.case_id,
        first.tracking_code,
        True,
    )
    assert head(container) == position == 2  # Notified + the message's Accepted


def test_a_new_message_for_an_existing_record_is_a_conflict(container: Container) -> None:
    container.ledger.notify_birth(NotifyBirth("msg-1", make_facts(), b"{}"))
    with pytest.raises(NotificationConflictError, match="update"):
        container.ledger.notify_birth(NotifyBirth("msg-2", make_facts(), b"{}"))


def test_repeats_keep_their_first_answer_after_the_case_moved_on(container: Container) -> None:
    ledger = container.ledger
    ledger.notify_birth(NotifyBirth("msg-1", make_facts(), b"{}"))
    update = CorrectNotification("msg-2", make_facts(birth_weight_g=3100), b"{}")
    void = VoidNotification("msg-3", HOSPITAL, "MR-0001", raw_message=b"{}")
    first_update, first_void = ledger.correct_notification(update), ledger.void_notification(void)
    position = head(container)
    again = [ledger.correct_notification(update), ledger.void_notification(void)]
    assert [(o.kind, o.repeated, o.accepted_at) for o in again] == [
        ("update", True, first_update.accepted_at),
        ("void", True, first_void.accepted_at),
    ]
    assert head(container) == position  # the voided case refuses changes, yet repeats answer


def test_a_message_id_used_again_for_another_record_gets_its_first_answer(
    container: Container,
) -> None:
    first = container.ledger.notify_birth(NotifyBirth("msg-1", make_facts("MR-A"), b"{}"))
    again = container.ledger.notify_birth(NotifyBirth("msg-1", make_facts("MR-B"), b"{}"))
    assert (again.case_id, again.repeated) == (first.case_id, True)
    assert head(container) == 2


def test_concurrent_copies_of_one_message_open_one_case(settings: Settings) -> None:
    containers = [build(settings), build(settings)]  # two processes' worth of applications
    outcomes: list[MessageOutcome] = []
    barrier = threading.Barrier(2)

    def send(container: Container) -> None:
        barrier.wait()
        outcomes.append(
            container.ledger.notify_birth(NotifyBirth("msg-c", make_facts("MR-C"), b"{}"))
        )

    threads = [threading.Thread(target=send, args=(c,)) for c in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({o.case_id for o in outcomes}) == 1
    assert len({o.tracking_code for o in outcomes}) == 1
    assert sorted(o.repeated for o in outcomes) in ([False, True], [False, False])
    assert head(containers[0]) == 2
    for container in containers:
        container.close()


def test_the_answer_survives_a_restart(settings: Settings) -> None:
    first = build(settings)
    outcome = first.ledger.notify_birth(NotifyBirth("msg-r", make_facts("MR-R"), b"{}"))
    first.close()
    second = build(settings)
    again = second.ledger.notify_birth(NotifyBirth("msg-r", make_facts("MR-R"), b"{}"))
    assert (again.case_id, again.tracking_code, again.repeated) == (
        outcome.case_id,
        outcome.tracking_code,
        True,
    )
    assert second.ledger.get_case(outcome.case_id).facts.mother.name == "王芳"
    second.close()


def stored_states(container: Container) -> list[bytes]:
    return [n.state for n in container.ledger.recorder.select_notifications(start=None, limit=100)]


def another_store(settings: Settings) -> Settings:
    """The same kind of store as `settings`, empty and apart from it."""
    if settings.persistence == "postgres":
        from tests.pg import postgres_settings

        return postgres_settings("ledger_other_store")
    return settings.with_changes(sqlite_dir=settings.sqlite_dir + "-other")


def test_personal_data_is_encrypted_at_rest_when_a_key_is_set(settings: Settings) -> None:
    citizen_id = make_facts().mother.citizen_id
    assert citizen_id is not None
    plain = build(settings.with_changes(compress=False))
    plain.ledger.notify_birth(NotifyBirth("msg-p", make_facts("MR-P"), b"{}"))
    assert any(citizen_id.encode() in state for state in stored_states(plain))  # the control
    plain.close()
    # a store of its own: a store written without a key refuses to open with one
    secret = build(another_store(settings).with_changes(compress=False, cipher_key=KEY))
    outcome = secret.ledger.notify_birth(NotifyBirth("msg-s", make_facts("MR-S"), b"{}"))
    states = stored_states(secret)
    assert states
    assert not any(citizen_id.encode() in state for state in states)
    assert secret.ledger.get_case(outcome.case_id).facts.mother.citizen_id == citizen_id
    secret.close()


def test_long_request_streams_are_snapshotted(container: Container) -> None:
    request = ServiceRequest(
        uuid4(),
        "social-security-card",
        route("social-security-card", "hrss", "420102", "420102"),
    )
    request.dispatch(DispatchPayload())
    for attempt in range(1, 25):
        request.record_delivery(attempt, "timeout", None)
    container.ledger.save(request)
    assert container.ledger.snapshots is not None
    assert list(container.ledger.snapshots.get(request.id))
    assert container.ledger.get_request(request.id).delivery_attempts == 24


def test_actors_authenticate_until_revoked(container: Container) -> None:
    actor, token = container.actors.add("office", "420102", "public-security", "Jiang'an hukou")
    principal = container.actors.authenticate(token)
    assert principal is not None
    assert (principal.role, principal.scope) == ("office", "420102")
    assert container.actors.authenticate(token + "x") is None
    container.actors.revoke(actor.id)
    assert container.actors.authenticate(token) is None
    assert [row["revoked"] for row in container.actors.summary()] == [True]


def test_the_actor_list_reads_the_log_a_page_at_a_time_and_filters_by_role(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("domain.kernel.actors.LIST_PAGE", 2)
    actors = container.actors
    office, _ = actors.add("office", "420102", "public-security", "window 1")
    families = [actors.add("family", str(uuid4()), None, "tracking")[0] for _ in range(3)]
    actors.revoke(office.id)  # a later event of the office: listed once, as revoked
    admin, _ = actors.add("admin", None, None, "ops")
    listed = list(actors.summary())
    assert [row["actor_id"] for row in listed] == [str(a.id) for a in (office, *families, admin)]
    assert [row["revoked"] for row in listed] == [True, False, False, False, False]
    assert [row["actor_id"] for row in actors.summary("family")] == [str(f.id) for f in families]
    assert [row["role"] for row in actors.summary("admin")] == ["admin"]
