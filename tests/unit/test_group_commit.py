"""Group commit: queued saves share one insert, each gets its own ids or its own error."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent, Tracking
from eventsourcing.popo import POPOProcessRecorder

from engine.group_commit import GroupCommitMixin

WAIT_S = 10.0


class GatedRecorder(POPOProcessRecorder):
    """An in-memory recorder that holds its first insert until released; counts inserts."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.inserts: list[int] = []  # events per insert call
        self.fail_next: Exception | None = None

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self.gate.wait(WAIT_S)
        self.inserts.append(len(stored_events))
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return super().insert_events(stored_events, **kwargs)


class Grouped(GroupCommitMixin, GatedRecorder):
    """The mixin over the gated recorder."""


def events(originator: UUID, versions: range) -> list[StoredEvent]:
    return [StoredEvent(originator, v, "topic", f"{originator}:{v}".encode()) for v in versions]


class Saves:
    """Saves on threads: the first holds the lead behind the gate while the rest queue."""

    def __init__(self, recorder: Grouped) -> None:
        self.recorder = recorder
        self.outcomes: dict[int, Sequence[int] | BaseException | None] = {}
        self.threads: list[threading.Thread] = []

    def start(self, n: int, batch: list[StoredEvent], **kwargs: Any) -> None:
        def save() -> None:
            try:
                self.outcomes[n] = self.recorder.insert_events(batch, **kwargs)
            except Exception as error:
                self.outcomes[n] = error

        thread = threading.Thread(target=save)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(WAIT_S)
            assert not thread.is_alive()


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def queue_behind_a_leader(recorder: Grouped, batches: list[list[StoredEvent]]) -> Saves:
    """Save batches[0] (it leads and waits at the gate), queue the others, open the gate."""
    saves = Saves(recorder)
    saves.start(0, batches[0])
    wait_until(lambda: recorder._leading and not recorder._queued)
    for n, batch in enumerate(batches[1:], start=1):
        saves.start(n, batch)
    wait_until(lambda: len(recorder._queued) == len(batches) - 1)
    recorder.gate.set()
    saves.join()
    return saves


def test_queued_saves_commit_in_one_insert_and_each_gets_its_own_ids() -> None:
    recorder = Grouped()
    ids = [uuid4() for _ in range(5)]
    batches = [events(ids[0], range(1, 3))] + [
        events(i, range(1, 1 + n)) for n, i in enumerate(ids[1:], start=1)
    ]
    saves = queue_behind_a_leader(recorder, batches)
    assert recorder.inserts == [2, 1 + 2 + 3 + 4]  # the leader alone, then the queue together
    recorded = recorder.select_notifications(start=None, limit=100)
    by_id = {n.id: (n.originator_id, n.originator_version) for n in recorded}
    for n, batch in enumerate(batches):
        got = saves.outcomes[n]
        assert isinstance(got, list)
        assert [by_id[i] for i in got] == [(e.originator_id, e.originator_version) for e in batch]
        assert got == list(range(got[0], got[0] + len(batch)))  # contiguous, in its order
    assert not recorder._leading
    assert not recorder._queued


def test_a_conflicting_save_in_a_group_fails_alone() -> None:
    recorder = Grouped()
    recorder.gate.set()
    taken = uuid4()
    recorder.insert_events(events(taken, range(1, 2)))
    recorder.gate.clear()
    fresh = [uuid4(), uuid4()]
    batches = [
        events(uuid4(), range(1, 2)),
        events(fresh[0], range(1, 3)),
        events(taken, range(1, 2)),  # version 1 is taken: refused
        events(fresh[1], range(1, 2)),
    ]
    saves = queue_behind_a_leader(recorder, batches)
    assert isinstance(saves.outcomes[2], IntegrityError)
    for n in (0, 1, 3):
        assert isinstance(saves.outcomes[n], list)
    assert len(recorder.select_events(fresh[0])) == 2
    assert len(recorder.select_events(fresh[1])) == 1
    assert len(recorder.select_events(taken)) == 1
    # the group's insert was refused whole, then each of its saves was tried alone
    assert recorder.inserts == [1, 1, 2 + 1 + 1, 2, 1, 1]


@pytest.mark.parametrize("error", [OperationalError("lost"), RuntimeError("bug")])
def test_a_failed_group_fails_each_of_its_saves_with_its_own_error(error: Exception) -> None:
    recorder = Grouped()
    saves = Saves(recorder)
    first = events(uuid4(), range(1, 2))
    saves.start(0, first)
    wait_until(lambda: recorder._leading and not recorder._queued)
    queued = [events(uuid4(), range(1, 2)) for _ in range(3)]
    for n, batch in enumerate(queued, start=1):
        saves.start(n, batch)
    wait_until(lambda: len(recorder._queued) == 3)

    def fail_when_grouped(inner: Callable[..., Any]) -> Callable[..., Any]:
        def insert(stored: Sequence[StoredEvent], **kwargs: Any) -> Any:
            if len(stored) > 1:
                raise error
            return inner(stored, **kwargs)

        return insert

    recorder._insert_alone = fail_when_grouped(recorder._insert_alone)  # type: ignore[method-assign]
    recorder.gate.set()
    saves.join()
    assert isinstance(saves.outcomes[0], list)
    failures = [saves.outcomes[n] for n in (1, 2, 3)]
    assert all(type(f) is type(error) and str(f) == str(error) for f in failures)
    assert len({id(f) for f in failures}) == 3  # each thread raises its own object
    assert recorder.max_notification_id() == 1  # nothing of the group was recorded
    assert not recorder._leading
    assert not recorder._queued


def test_saves_with_a_tracking_position_never_join_a_group() -> None:
    recorder = Grouped()
    recorder.gate.set()
    recorder.insert_events(events(uuid4(), range(1, 2)), tracking=Tracking("upstream", 7))
    recorder.insert_events(events(uuid4(), range(1, 2)), tracking=None)
    assert not recorder._leading
    assert recorder.max_tracking_id("upstream") == 7
    assert recorder.inserts == [1, 1]


def test_a_save_larger_than_the_bound_goes_alone_and_groups_stop_at_the_bound() -> None:
    recorder = Grouped()
    recorder.max_group_events = 4
    recorder.gate.set()
    recorder.insert_events(events(uuid4(), range(1, 6)))  # 5 > 4: alone, not queued
    assert recorder.inserts == [5]
    recorder.gate.clear()
    recorder.inserts.clear()
    batches = [events(uuid4(), range(1, 3)) for _ in range(4)]
    saves = queue_behind_a_leader(recorder, batches)
    assert recorder.inserts == [2, 4, 2]  # the leader, then two groups of at most 4 events
    assert all(isinstance(saves.outcomes[n], list) for n in range(4))
