"""Group commit: concurrent saves share one transaction, and so one durable COMMIT.

Without the library's database functions (which we must not enable), every save on PostgreSQL
holds `LOCK TABLE … IN EXCLUSIVE MODE` through its COMMIT, so the ledger's commits run one at
a time: a few hundred per second on an ordinary disk, however many threads are saving. Here
the first thread to arrive leads: it takes every save queued by then (up to a bound) and
inserts their events in one transaction; the others wait and get their own notification ids,
or their own error. While the leader's transaction runs, new saves queue up behind it; when it
is done, the lead passes to the oldest of them. A thread alone commits at once, as before.

Each save stays atomic and keeps its events contiguous, in its own order. If the group's
insert is refused (a unique key: one of the saves conflicts or repeats), nothing of it is
recorded, and each save of the group is then tried alone, so only the conflicting save gets
the IntegrityError. Saves that carry a tracking position (processed events) or a section
never join a group: their position must commit with their own events only.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent

MAX_GROUP_EVENTS = 2000  # events in one group transaction (a save larger than this goes alone)


class _Save:
    """One caller's save, waiting to be committed in a group."""

    __slots__ = ("done", "error", "events", "ids", "lead", "settled")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.done = threading.Event()
        self.lead = False  # set when this waiting save is handed the lead
        self.settled = False  # its ids or its error are known
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None

    def succeeded(self, ids: Sequence[int] | None) -> None:
        self.ids, self.settled = ids, True

    def failed(self, error: BaseException) -> None:
        self.error, self.settled = error, True

    def outcome(self) -> Sequence[int] | None:
        if self.error is not None:
            raise self.error
        return self.ids


def _groupable(stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> bool:
    """Plain saves only: no tracking position, no section, nothing else in the keywords."""
    return bool(stored_events) and all(value is None for value in kwargs.values())


def _own_copy(error: BaseException) -> BaseException:
    """Each waiting thread raises its own exception object (tracebacks are per raise)."""
    try:
        return copy.copy(error)
    except Exception:  # an exception class that cannot be copied: share it
        return error


class GroupCommitMixin:
    """Put before a recorder class whose `insert_events` commits one transaction per call."""

    max_group_events = MAX_GROUP_EVENTS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._group_lock = threading.Lock()
        self._queued: list[_Save] = []
        self._leading = False  # invariant: saves are queued only while someone leads

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not _groupable(stored_events, kwargs) or len(stored_events) > self.max_group_events:
            return self._insert_alone(stored_events, **kwargs)
        save = _Save(stored_events)
        with self._group_lock:
            self._queued.append(save)
            lead = not self._leading
            self._leading = True
        if not lead:
            save.done.wait()
            if not save.lead:
                return save.outcome()
        self._lead()
        return save.outcome()

    def _insert_alone(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)  # type: ignore[misc]
        return ids

    def _lead(self) -> None:
        """Commit the oldest queued saves (the leader's own is first), then pass the lead on."""
        with self._group_lock:
            group: list[_Save] = []
            size = 0
            for save in self._queued:
                if group and size + len(save.events) > self.max_group_events:
                    break
                group.append(save)
                size += len(save.events)
            del self._queued[: len(group)]
        try:
            self._commit(group)
        except BaseException as error:  # interrupted: what happened to the group is unknown
            for save in group:
                if not save.settled:
                    save.failed(_own_copy(error))
            raise
        finally:
            for save in group[1:]:
                save.done.set()
            with self._group_lock:
                if self._queued:
                    successor = self._queued[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._leading = False

    def _commit(self, group: list[_Save]) -> None:
        if len(group) == 1:
            self._commit_alone(group[0])
            return
        try:
            ids = self._insert_alone([event for save in group for event in save.events])
        except IntegrityError:
            for save in group:  # which save was refused? each alone tells
                self._commit_alone(save)
            return
        except Exception as error:
            for save in group:
                save.failed(_own_copy(error))
            return
        start = 0
        for save in group:
            end = start + len(save.events)
            save.succeeded(None if ids is None else ids[start:end])
            start = end

    def _commit_alone(self, save: _Save) -> None:
        try:
            save.succeeded(self._insert_alone(save.events))
        except Exception as error:
            save.failed(error)
