"""In-memory stand-ins for the dispatcher's sources (the office feed, the registry systems)
and a clock the tests move."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import orjson

OFFICE = ("420102", "public-security")


@dataclass(frozen=True)
class FakeMessage:
    locality: str
    authority: str
    sequence: int
    message_id: str
    type: str
    service_request_id: UUID
    body: bytes


@dataclass
class FakeFeed:
    items: list[FakeMessage] = field(default_factory=list)
    reads: int = 0

    def add(self, count: int, office: tuple[str, str] = OFFICE) -> list[FakeMessage]:
        added = []
        for _ in range(count):
            sequence = (max((m.sequence for m in self.items), default=0) // 4 + 1) * 4
            message_id = f"msg_{uuid4()}"
            request = uuid4()
            body = orjson.dumps(
                {"specversion": "1.0", "id": message_id, "type": "dispatched",
                 "subject": str(request), "sequence": str(sequence)}
            )  # fmt: skip
            added.append(FakeMessage(*office, sequence, message_id, "dispatched", request, body))
        self.items += added
        return added

    def messages(self, locality: str, authority: str, after: int, limit: int) -> list[FakeMessage]:
        self.reads += 1
        mine = [m for m in self.items if (m.locality, m.authority) == (locality, authority)]
        return [m for m in mine if m.sequence > after][:limit]

    def message(self, message_id: str) -> FakeMessage | None:
        return next((m for m in self.items if m.message_id == message_id), None)

    def open_body(self, message: FakeMessage) -> bytes:
        return message.body


def new_secret() -> str:
    return "whsec_" + base64.b64encode(uuid4().bytes + uuid4().bytes).decode()


@dataclass(frozen=True)
class FakeSystem:
    system_id: UUID
    url: str | None
    secrets: tuple[str, ...]
    locality: str = OFFICE[0]
    authority: str = OFFICE[1]
    label: str = "hukou system"
    disabled: bool = False
    starts_after: int = 0


@dataclass
class FakeSystems:
    items: list[FakeSystem] = field(default_factory=list)

    def add(self, url: str | None, *secrets: str, office: tuple[str, str] = OFFICE) -> FakeSystem:
        system = FakeSystem(uuid4(), url, secrets or (new_secret(),), *office)
        self.items.append(system)
        return system

    def systems(self, now: datetime) -> Sequence[FakeSystem]:
        return list(self.items)

    def for_office(self, locality: str, authority: str, now: datetime) -> Sequence[FakeSystem]:
        office = (locality, authority)
        return [s for s in self.items if (s.locality, s.authority) == office and not s.disabled]


@dataclass
class FakeClock:
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
