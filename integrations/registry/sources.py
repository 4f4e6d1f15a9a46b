"""What the dispatcher reads: the office feed (messages to deliver) and the subscriptions
(registry systems). Ports only; the composition root hands in the real ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID


class Message(Protocol):
    """One message of an office's feed (projections/office_feed.py: FeedMessage)."""

    @property
    def locality(self) -> str: ...
    @property
    def authority(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def message_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def service_request_id(self) -> object: ...


M = TypeVar("M", bound=Message)


class FeedSource(Protocol[M]):
    """The office feed's reads (OfficeFeedView): messages in sequence order after a cursor."""

    def messages(self, locality: str, authority: str, after: int, limit: int) -> Sequence[M]: ...
    def message(self, message_id: str) -> M | None: ...
    def open_body(self, message: M) -> bytes: ...


class System(Protocol):
    """A registry system as the dispatcher needs it (domain/kernel/systems.py: SystemInfo)."""

    @property
    def system_id(self) -> UUID: ...
    @property
    def locality(self) -> str: ...
    @property
    def authority(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def label(self) -> str: ...
    @property
    def disabled(self) -> bool: ...
    @property
    def secrets(self) -> tuple[str, ...]: ...
    @property
    def starts_after(self) -> int:
        """Its office's feed is delivered after this sequence (0: from the start)."""
        ...


class Subscriptions(Protocol):
    """The registry systems (RegistrySystems): all of them, or an office's enabled ones."""

    def systems(self, now: datetime) -> Sequence[System]: ...
    def for_office(self, locality: str, authority: str, now: datetime) -> Sequence[System]: ...


def pushed(systems: Sequence[System]) -> list[System]:
    """The systems that take pushes: enabled, with a URL and a secret to sign with."""
    return [s for s in systems if not s.disabled and s.url and s.secrets]
