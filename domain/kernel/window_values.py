"""The values of a remote virtual window session (domain/kernel/remote_window.py): its
offices and its slot, stored in its events through transcodings (domain/kernel/transcodings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from domain.kernel.errors import InvalidSessionError

CST = timezone(timedelta(hours=8), "CST")
MAX_SLOT = timedelta(hours=4)  # a window session, not a working day's booking
MAX_AHEAD = timedelta(days=90)  # booked within the request's time limits, not a season ahead


@dataclass(frozen=True)
class WindowOffice:
    """One office of a session: a county-level locality and an authority."""

    locality: str
    authority: str

    def to_dict(self) -> dict[str, str]:
        return {"locality": self.locality, "authority": self.authority}

    @classmethod
    def from_dict(cls, data: Any) -> WindowOffice:
        return cls(str(data["locality"]), str(data["authority"]))

    @property
    def key(self) -> str:
        return f"{self.locality}:{self.authority}"


@dataclass(frozen=True)
class Slot:
    """When the session is booked for: ISO 8601 times in China Standard Time (+08:00)."""

    starts_at: str
    ends_at: str

    def to_dict(self) -> dict[str, str]:
        return {"starts_at": self.starts_at, "ends_at": self.ends_at}

    @classmethod
    def from_dict(cls, data: Any) -> Slot:
        return cls(str(data["starts_at"]), str(data["ends_at"]))

    @classmethod
    def checked(cls, starts_at: str, ends_at: str, now: datetime) -> Slot:
        """A slot from two ISO times with an offset (a time without one is read as China
        time), both after `now`, at most MAX_SLOT long and MAX_AHEAD ahead; stored in CST."""
        start, end = _moment(starts_at, "starts_at"), _moment(ends_at, "ends_at")
        if start <= now:
            raise InvalidSessionError("The slot starts in the past", field="starts_at")
        if end <= start:
            raise InvalidSessionError("The slot ends before it starts", field="ends_at")
        if end - start > MAX_SLOT:
            raise InvalidSessionError("A slot is at most 4 hours long", field="ends_at")
        if start - now > MAX_AHEAD:
            raise InvalidSessionError(
                "A slot starts within 90 days of its booking", field="starts_at"
            )
        return cls(start.isoformat(timespec="minutes"), end.isoformat(timespec="minutes"))


def _moment(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidSessionError(
            f"'{name}' is an ISO 8601 date-time, e.g. 2026-11-23T10:00:00+08:00", field=name
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=CST)).astimezone(CST)
