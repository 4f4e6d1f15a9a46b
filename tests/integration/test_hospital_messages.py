"""The hospital-message inbox on both stores: a message id means one message for ever. Messages
recorded before content digests were kept (HospitalMessage.Accepted v1) still answer resends."""

from __future__ import annotations

from uuid import UUID

import eventsourcing.utils
import orjson
import pytest

from adapters.bootstrap import Container, build
from domain.births.commands import CorrectNotification, NotifyBirth, VoidNotification
from domain.births.hospital_message import HospitalMessage
from domain.kernel.errors import MessageIdReusedError
from tests.conftest import make_facts
from tests.pg import postgres_settings
from tests.stored import revived_as_v1

RAW = b'{"resourceType": "Bundle"}'


def raw(record_ref: str) -> bytes:
    """A stand-in for the message text, which differs whenever the content does."""
    return orjson.dumps({"resourceType": "Bundle", "record": record_ref})


def test_a_reused_id_is_refused_for_notify_update_and_void(container: Container) -> None:
    ledger = container.ledger
    first = ledger.notify_birth(NotifyBirth("m-1", make_facts("MR-A"), raw("MR-A")))
    head = ledger.recorder.max_notification_id()
    with pytest.raises(MessageIdReusedError) as refused:
        ledger.notify_birth(NotifyBirth("m-1", make_facts("MR-B"), raw("MR-B")))
    assert refused.value.context == {"message_id": "m-1"}
    with pytest.raises(MessageIdReusedError):
        ledger.correct_notification(
            CorrectNotification("m-1", make_facts("MR-A", birth_weight_g=3001), raw("MR-A2"))
        )
    with pytest.raises(MessageIdReusedError):
        ledger.void_notification(VoidNotification("m-1", first_facility(), "MR-A"))
    assert ledger.recorder.max_notification_id() == head  # nothing recorded
    again = ledger.notify_birth(NotifyBirth("m-1", make_facts("MR-A"), b"other bytes"))
    assert (again.case_id, again.repeated) == (first.case_id, True)  # same meaning: a resend


def first_facility() -> str:
    return make_facts().facility_uscc


def _as_v1(container: Container, message_key: UUID) -> HospitalMessage.Accepted:
    """The message's Accepted event as main stored it before digests."""
    (accepted,) = container.ledger.events.get(message_key)
    revived = revived_as_v1(container.ledger.mapper, accepted, "content_digest")
    assert isinstance(revived, HospitalMessage.Accepted)
    return revived


def test_a_message_recorded_before_digests_answers_only_its_own_text(
    container: Container,
) -> None:
    container.ledger.notify_birth(NotifyBirth("m-old", make_facts("MR-OLD"), RAW))
    key = HospitalMessage.create_id(first_facility(), "m-old")
    revived = _as_v1(container, key)
    assert revived.content_digest == ""
    message = revived.mutate(None)
    assert isinstance(message, HospitalMessage)
    assert message.is_same_message("any digest", RAW.decode())
    assert not message.is_same_message("any digest", '{"resourceType": "Bundle", "x": 1}')


@pytest.mark.postgres
def test_a_repeated_message_is_answered_without_a_retry_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL a refused insert could surface as 'pipeline aborted', which the
    library's retry took for a lost connection: 0.2 s asleep before trying again, and a
    resend took 200-420 ms. The refusal is answered at once now."""
    pauses: list[float] = []
    monkeypatch.setattr(eventsourcing.utils, "sleep", pauses.append)
    container = build(postgres_settings().with_changes(embedded_worker=False))
    try:
        for n in range(20):
            cmd = NotifyBirth(f"m-{n}", make_facts(f"MR-{n}"), raw(f"MR-{n}"))
            first = container.ledger.notify_birth(cmd)
            again = container.ledger.notify_birth(cmd)
            assert (again.case_id, again.repeated) == (first.case_id, True)
    finally:
        container.close()
    assert pauses == []
