"""A processing unit for a whole pulled section of notifications, and reads through it.

Policies collect their new events on the processing event they are given. When one unit
spans many notifications (engine/sections.py), a later policy must see what an earlier one
changed. Policies read plain `self.repository.get(id)` / `id in self.repository`; the
application's repository is a `SectionRepository`, which reads through the unit the section
processor is deciding in this thread: first what the unit already collected, then what it
already loaded, and only then the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent, Repository, project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.utils import strtobool

REPOSITORY_TOPIC = "REPOSITORY_TOPIC"  # our env key: a function(application) -> Repository


class Section(ProcessingEvent[UUID]):
    """All new events of one section, recorded in one transaction; aggregates loaded once."""

    def __init__(self) -> None:
        super().__init__(tracking=None)
        self.loaded: dict[UUID, Aggregate] = {}
        self.processed = 0  # notifications whose policies ran into this unit

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        """The library's, in the same order, with a class check for our aggregates first (its
        Protocol isinstance checks cost tens of µs per aggregate)."""
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        if kwargs:
            super().collect_events(**kwargs)


def mutate_all(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's projector without its per-event Protocol assertion (~15 µs per event):
    every stored event and snapshot of ours is an eventsourcing event with `mutate`."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class SectionRepository(Repository[UUID]):
    """The library's repository, reading through the section being decided in this thread
    (`reading_through`), and rebuilding aggregates with `mutate_all` by default."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading = threading.local()

    @contextmanager
    def reading_through(self, unit: Section) -> Iterator[None]:
        """Reads in this thread see `unit` (its own changes included) until the block ends."""
        self._reading.unit = unit
        try:
            yield
        finally:
            self._reading.unit = None

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: Any = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        """The aggregate as the current section sees it; as the library's elsewhere."""
        if projector_func is project_aggregate:
            projector_func = mutate_all
        unit: Section | None = getattr(self._reading, "unit", None)
        if unit is None or version is not None:
            return super().get(
                aggregate_id,
                version=version,
                projector_func=projector_func,
                fastforward_skipping=fastforward_skipping,
                deepcopy_from_cache=deepcopy_from_cache,
            )
        collected = unit.aggregates.get(aggregate_id)
        if collected is not None:
            return collected
        found = unit.loaded.get(aggregate_id)
        if found is None:
            found = unit.loaded[aggregate_id] = super().get(
                aggregate_id,
                projector_func=projector_func,
                fastforward_skipping=fastforward_skipping,
                deepcopy_from_cache=deepcopy_from_cache,
            )
        return found


def repository_settings(app: Application[UUID]) -> dict[str, Any]:
    """The stores and cache settings the library would give `app`'s repository (its env)."""
    env = app.env
    cache_maxsize = env.get(app.AGGREGATE_CACHE_MAXSIZE)
    return {
        "event_store": app.events,
        "snapshot_store": app.snapshots,
        "cache_maxsize": int(cache_maxsize) if cache_maxsize else None,
        "fastforward": strtobool(env.get(app.AGGREGATE_CACHE_FASTFORWARD, "y")),
        "fastforward_skipping": strtobool(env.get(app.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
        "deepcopy_from_cache": strtobool(env.get(app.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
    }


def section_repository(app: Application[UUID]) -> Repository[UUID]:
    """The repository the library would construct for `app`, reading through sections."""
    return SectionRepository(**repository_settings(app))
