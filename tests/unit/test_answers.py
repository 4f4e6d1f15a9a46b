"""Idempotent office steps (domain/kernel/answers.py) in memory: a step sent with a key is
saved with its Answer in one save, the first answer is found again for the same body, another
body is refused, and the Orchestrator and the projections pass the new event by."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from adapters.bootstrap import Container, build
from adapters.facade import carry_out
from adapters.settings import Settings
from domain.births.commands import ApplyAsFamily, NotifyBirth
from domain.kernel.answers import Answer, AnswerKey, IdempotencyKeyReusedError
from domain.kernel.commands import OfficeCommand
from domain.kernel.errors import InvalidTransitionError
from domain.kernel.service_request import ServiceRequest
from tests.conftest import RESULTS, make_facts, office_command

SERVICE = "birth-certificate"
ACTOR = uuid4()
RESULT: dict[str, object] = dict(RESULTS[SERVICE])


@pytest.fixture
def dispatched() -> Iterator[tuple[Container, UUID]]:
    """A case whose birth certificate request is dispatched to its office."""
    container = build(Settings(persistence="memory"))
    ledger = container.ledger
    case_id = ledger.notify_birth(NotifyBirth("m-1", make_facts("MR-A1"), b"{}")).case_id
    container.after_command()
    ledger.apply_as_family(ApplyAsFamily(case_id, "王小明", "mother", "430602", None, True))
    container.after_command()
    yield container, ServiceRequest.create_id(case_id, SERVICE)
    container.close()


def keyed(cmd: OfficeCommand, key: str = "k-1", body: str = "b-1") -> OfficeCommand:
    return replace(cmd, answer=AnswerKey(ACTOR, key, body))


def test_a_keyed_step_is_saved_with_its_answer(dispatched: tuple[Container, UUID]) -> None:
    container, request_id = dispatched
    ledger = container.ledger
    cmd = keyed(office_command(request_id, "receive", "system:x", receipt_number="R-1"))
    received = carry_out(ledger, cmd)
    assert cmd.answer is not None
    answer: object = ledger.repository.get(cmd.answer.answer_id)
    assert isinstance(answer, Answer)
    assert (answer.service_request_id, answer.request_version) == (request_id, received.version)
    head = ledger.recorder.max_notification_id() or 0
    last_two = ledger.recorder.select_notifications(start=head - 1, limit=2)
    topics = [n.topic for n in last_two]
    assert topics == [get_topic(ServiceRequest.Received), get_topic(Answer.Recorded)]
    first = ledger.first_answer(cmd.answer)
    assert first is not None
    assert (first.id, first.version, first.state) == (request_id, received.version, "received")


def test_the_first_answer_is_the_request_as_the_step_left_it(
    dispatched: tuple[Container, UUID],
) -> None:
    container, request_id = dispatched
    ledger = container.ledger
    receive = keyed(office_command(request_id, "receive", "office:x", receipt_number="R-1"))
    carry_out(ledger, receive)
    approve = office_command(request_id, "approve", "office:x", result=RESULT)
    carry_out(ledger, approve)  # later steps do not change the first answer
    assert receive.answer is not None
    first = ledger.first_answer(receive.answer)
    assert first is not None
    assert first.state == "received"
    assert ledger.get_request(request_id).state == "approved"


def test_no_answer_for_an_unused_key(dispatched: tuple[Container, UUID]) -> None:
    container, _ = dispatched
    assert container.ledger.first_answer(AnswerKey(ACTOR, "never", "b")) is None
    assert AnswerKey(ACTOR, "k", "b").answer_id != AnswerKey(uuid4(), "k", "b").answer_id


def test_the_same_key_with_another_body_is_refused(dispatched: tuple[Container, UUID]) -> None:
    container, request_id = dispatched
    ledger = container.ledger
    carry_out(ledger, keyed(office_command(request_id, "receive", "o", receipt_number="R-1")))
    with pytest.raises(IdempotencyKeyReusedError) as refused:
        ledger.first_answer(AnswerKey(ACTOR, "k-1", "b-2"))
    assert refused.value.code == "idempotency-key-reused"


def test_a_step_that_fails_records_no_answer(dispatched: tuple[Container, UUID]) -> None:
    container, request_id = dispatched
    ledger = container.ledger
    approve = keyed(office_command(request_id, "approve", "o", result=RESULT))
    head = ledger.recorder.max_notification_id()
    with pytest.raises(InvalidTransitionError):
        carry_out(ledger, approve)  # not received yet
    assert ledger.recorder.max_notification_id() == head
    assert approve.answer is not None
    assert ledger.first_answer(approve.answer) is None


def test_a_second_save_of_one_key_records_nothing(dispatched: tuple[Container, UUID]) -> None:
    """Two sends of one key that both passed the lookup: the second save conflicts on the
    answer's id, and its step is not recorded either (one save)."""
    container, request_id = dispatched
    ledger = container.ledger
    receive = keyed(office_command(request_id, "receive", "o", receipt_number="R-1"))
    carry_out(ledger, receive)
    supplement = keyed(office_command(request_id, "request-supplement", "o", items=("x",)))
    version = ledger.get_request(request_id).version
    with pytest.raises(IntegrityError):
        carry_out(ledger, supplement)
    assert ledger.get_request(request_id).version == version


def test_a_resubmission_answers_with_the_new_request(dispatched: tuple[Container, UUID]) -> None:
    container, request_id = dispatched
    ledger = container.ledger
    carry_out(ledger, office_command(request_id, "receive", "o", receipt_number="R-1"))
    carry_out(ledger, office_command(request_id, "reject", "o", reason="wrong"))
    resubmit = keyed(office_command(request_id, "resubmit", "o"))
    new = carry_out(ledger, resubmit)
    assert resubmit.answer is not None
    first = ledger.first_answer(resubmit.answer)
    assert first is not None
    assert (first.id, first.version) == (new.id, 1)


def test_the_orchestrator_and_the_views_pass_answers_by(
    dispatched: tuple[Container, UUID],
) -> None:
    container, request_id = dispatched
    ledger = container.ledger
    for action, fields in (
        ("receive", {"receipt_number": "R-1"}),
        ("approve", {"result": RESULT}),
    ):
        carry_out(ledger, keyed(office_command(request_id, action, "o", **fields), key=action))
    container.tick()
    recorded = get_topic(Answer.Recorded)
    assert recorded not in container.orchestrator.topics
    assert all(recorded not in (p.topics or ()) for p in container.projections.all().values())
    assert container.parked_counts() == dict.fromkeys(container.parked_counts(), 0)
    assert container.projections.lags() == dict.fromkeys(container.projections.lags(), 0)
    status = container.projections.case_status_view.by_tracking_code(
        ledger.get_case(ledger.get_request(request_id).case_id).tracking_code
    )
    assert status is not None
    assert {s.state for s in status.services if s.service_request_id == str(request_id)} == {
        "approved"
    }
