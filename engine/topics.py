"""Stored topics are a contract: an engine class that moved keeps the topic it was stored under.

The same rule as the domain's (domain/kernel/topics.py), kept here because the engine imports
nothing of ours outside itself. The library names an event by `module:qualname` unless the
class sets `TOPIC`; `stored_as` sets it on an aggregate and each of its event classes and
registers it, so moving a module changes no stored topic, topic filter or snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventsourcing.utils import register_topic

T = TypeVar("T", bound=type)


def stored_as(module: str) -> Callable[[T], T]:
    """Give `cls` and the classes nested in it the topics they had in `module`."""

    def keep(cls: T) -> T:
        _keep(cls, module, cls.__qualname__)
        return cls

    return keep


def _keep(cls: type, module: str, qualname: str) -> None:
    topic = f"{module}:{qualname}"
    cls.TOPIC = topic  # type: ignore[attr-defined]
    register_topic(topic, cls)
    for name, value in vars(cls).items():
        if isinstance(value, type) and value.__qualname__ == f"{cls.__qualname__}.{name}":
            _keep(value, module, f"{qualname}.{name}")
