"""The unit that answers for a rating (domain/kernel/rating.py): a value of its own module,
so the kernel's transcodings (domain/kernel/transcodings.py) can store it without importing
the rating rules, which import the service requests, which import the transcodings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RatedUnit:
    """The office that answers for a rating, and the service it decided (a value in a rated
    case's state: snapshots store it as this dict, domain/kernel/transcodings.py)."""

    service: str
    authority: str
    locality: str

    def to_dict(self) -> dict[str, str]:
        return {"service": self.service, "authority": self.authority, "locality": self.locality}

    @classmethod
    def from_dict(cls, data: Any) -> RatedUnit:
        return cls(data["service"], data["authority"], data["locality"])
