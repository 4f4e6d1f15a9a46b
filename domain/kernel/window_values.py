"""The values of a remote virtual window session (domain/kernel/remote_window.py): its
offices and its slot, stored in its events through transcodings (domain/kernel/transcodings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from domain.kernel.calendar import WorkingCalendar
from domain.kernel.errors import InvalidSessionError

CST = timezone(timedelta(hours=8), "CST")
MAX_SLOT = timedelta(hours=4)  # a window session, not a working day's booking
MAX_AHEAD = timedelta(days=90)  # booked within the request's time limits, not a season ahead
MIN_AHEAD = timedelta(minutes=5)  # the other office has a moment to see the booking
# Office hours of a window (China time), the same for every office: a slot lies within them on
# one working day of the national calendar (domain/kernel/calendar.py); docs/api.md says so.
OFFICE_OPENS, OFFICE_CLOSES = time(8, 30), time(17, 30)


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

    @property
    def day(self) -> date:
        """The slot's day in China time."""
        return datetime.fromisoformat(self.starts_at).astimezone(CST).date()

    @property
    def lapses_at(self) -> datetime:
        """A session booked for the slot and not started lapses at the end of the slot's day
        (China time): the same working day is its grace, then the offices book another."""
        end = datetime.fromisoformat(self.ends_at).astimezone(CST)
        midnight = datetime.combine(self.day + timedelta(days=1), time(), CST)
        return max(end, midnight)

    def overlaps(self, starts_at: str, ends_at: str) -> bool:
        """True when [starts_at, ends_at) meets this slot (times with offsets)."""
        start, end = datetime.fromisoformat(starts_at), datetime.fromisoformat(ends_at)
        mine = datetime.fromisoformat(self.starts_at), datetime.fromisoformat(self.ends_at)
        return start < mine[1] and mine[0] < end

    def to_dict(self) -> dict[str, str]:
        return {"starts_at": self.starts_at, "ends_at": self.ends_at}

    @classmethod
    def from_dict(cls, data: Any) -> Slot:
        return cls(str(data["starts_at"]), str(data["ends_at"]))

    @classmethod
    def checked(cls, starts_at: str, ends_at: str, now: datetime) -> Slot:
        """A slot from two ISO times with an offset (a time without one is read as China
        time), stored in CST to the minute (seconds are cut off first): starting at least
        MIN_AHEAD after `now` and within MAX_AHEAD, at most MAX_SLOT long, within office hours
        (OFFICE_OPENS to OFFICE_CLOSES) on one working day."""
        start = _moment(starts_at, "starts_at").replace(second=0, microsecond=0)
        end = _moment(ends_at, "ends_at").replace(second=0, microsecond=0)
        if start < now + MIN_AHEAD:
            raise InvalidSessionError(
                "The slot starts in the past or less than 5 minutes from now", field="starts_at"
            )
        if end <= start:
            raise InvalidSessionError("The slot ends before it starts", field="ends_at")
        if end - start > MAX_SLOT:
            raise InvalidSessionError("A slot is at most 4 hours long", field="ends_at")
        if start - now > MAX_AHEAD:
            raise InvalidSessionError(
                "A slot starts within 90 days of its booking", field="starts_at"
            )
        if not WorkingCalendar().is_working_day(start.date()):
            raise InvalidSessionError(
                "A slot is on a working day (the national calendar)", field="starts_at"
            )
        if start.time() < OFFICE_OPENS or end.date() != start.date() or end.time() > OFFICE_CLOSES:
            raise InvalidSessionError(
                "A slot lies within office hours, 08:30 to 17:30 China time", field="starts_at"
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
