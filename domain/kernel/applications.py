"""What every application of ours shares (the CaseLedger, the Orchestrator, the actor
directory, the registry systems, the staff accounts): configuration from the env we pass
only, and the repository the composition root chooses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.utils import Environment, EnvType, resolve_topic


class ExplicitEnvMixin:
    """Configure from the env we pass only: the library would also merge os.environ."""

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        values = dict(type(self).env)  # type: ignore[attr-defined]
        if type(self).snapshotting_intervals:  # type: ignore[attr-defined]
            values["IS_SNAPSHOTTING_ENABLED"] = "y"
        values.update(env or {})
        return Environment(name, values)

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository, or the one REPOSITORY_TOPIC names: a function of the
        application that returns one (the composition root chooses it for the store)."""
        topic = self.env.get("REPOSITORY_TOPIC")  # type: ignore[attr-defined]
        if not topic:
            return super().construct_repository()  # type: ignore[misc,no-any-return]
        construct: Callable[[Any], Repository[UUID]] = resolve_topic(topic)
        return construct(self)
