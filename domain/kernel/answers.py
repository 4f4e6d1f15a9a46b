"""Idempotent office answers: a step sent with an Idempotency-Key is recorded once, and its
first answer is what a retry gets back (the same body) or a refusal (another body)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate, event

from domain.kernel.errors import DomainError
from domain.kernel.topics import stored_as

MAX_KEY = 200


class IdempotencyKeyReusedError(DomainError):
    code = "idempotency-key-reused"


@dataclass(frozen=True)
class AnswerKey:
    """The caller's Idempotency-Key, and the SHA-256 of what it sent with it (the step, the
    request and the body), so that the same key with another request is told apart."""

    actor_id: UUID
    key: str
    body_sha256: str

    @property
    def answer_id(self) -> UUID:
        return Answer.create_id(self.actor_id, self.key)


@stored_as("domain.kernel.answers")
class Answer(Aggregate):
    """The first answer to an idempotent step: saved in the same `save()` as the request it
    changed, so a step is never recorded without its answer nor an answer without its step;
    two concurrent sends of one key conflict on its id, and one of them is recorded."""

    class Recorded(Aggregate.Created):
        actor_id: UUID
        key: str
        body_sha256: str
        service_request_id: UUID
        request_version: int

    @staticmethod
    def create_id(actor_id: UUID, key: str) -> UUID:
        return uuid5(actor_id, key)

    @event(Recorded)
    def __init__(
        self,
        actor_id: UUID,
        key: str,
        body_sha256: str,
        service_request_id: UUID,
        request_version: int,
    ) -> None:
        self.actor_id, self.key, self.body_sha256 = actor_id, key, body_sha256
        self.service_request_id, self.request_version = service_request_id, request_version

    def check(self, key: AnswerKey) -> None:
        """Raise IdempotencyKeyReusedError when `key` came with another body than the first."""
        if key.body_sha256 != self.body_sha256:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was used with another request; use a new key",
                idempotency_key=self.key,
            )


def answer_for(request: Aggregate, key: AnswerKey | None) -> list[Answer]:
    """The answer to record with `request` as a step left it ([] for a step sent without a
    key): the request's id and version, to replay it as it was."""
    if key is None:
        return []
    return [Answer(key.actor_id, key.key, key.body_sha256, request.id, request.version)]


def first_answer(repository: Repository[UUID], key: AnswerKey) -> Answer | None:
    """The answer recorded under `key` (None: none yet); IdempotencyKeyReusedError when it
    was recorded for another body."""
    try:
        answer: object = repository.get(key.answer_id)
    except AggregateNotFoundError:
        return None
    if not isinstance(answer, Answer):
        return None
    answer.check(key)
    return answer
