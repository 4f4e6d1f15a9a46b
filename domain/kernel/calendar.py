"""Working-day arithmetic on China's official calendar (holidays and swapped working days)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar

_SATURDAY = 5


def calendar_version() -> str:
    """The holiday data the due dates were computed with, e.g. 'chinese-calendar 1.11.0'."""
    return f"chinese-calendar {chinese_calendar.__version__}"


@lru_cache(maxsize=4096)
def _official(day: dt.date) -> bool | None:
    """Whether the official calendar makes `day` a working day; None for a year it does not
    know yet (the next year's schedule is published each November)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def _as_date(day: dt.date) -> dt.date:
    return day.date() if isinstance(day, dt.datetime) else day


@dataclass(frozen=True)
class DueDate:
    """A due date; `provisional` when it counted days the holiday data does not cover yet, so
    only weekends were skipped and the date must be recomputed once that year is published."""

    date: dt.date
    provisional: bool


class WorkingCalendar:
    """China's national working-day calendar (the same in every province, domain ref §4.2)."""

    def is_known(self, day: dt.date) -> bool:
        """True when the holiday data covers `day`'s year."""
        return _official(_as_date(day)) is not None

    def is_working_day(self, day: dt.date) -> bool:
        """Official working day; in an unknown year, Monday to Friday (never raises)."""
        official = _official(_as_date(day))
        return day.weekday() < _SATURDAY if official is None else official

    def add_working_days(self, start: dt.date, days: int) -> DueDate:
        """The `days`-th working day after `start`: counting starts the day after (§4.2), so a
        request received on a Friday with 1 day allowed is due the next working day."""
        if days < 0:
            raise ValueError("days must be zero or more")
        current, counted, provisional = _as_date(start), 0, False
        while counted < days:
            current += dt.timedelta(days=1)
            provisional = provisional or not self.is_known(current)
            counted += self.is_working_day(current)
        return DueDate(current, provisional)

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        """Working days in (a, b] — the count `add_working_days` would use; negative if b < a."""
        start, end = _as_date(a), _as_date(b)
        if end < start:
            return -self.working_days_between(end, start)
        span = (end - start).days
        return sum(self.is_working_day(start + dt.timedelta(days=n)) for n in range(1, span + 1))


def deadline_kind(due: dt.date, today: dt.date, calendar: WorkingCalendar) -> str | None:
    """'overdue' after the due date, 'approaching' on it or the working day before, else None."""
    if today > due:
        return "overdue"
    if calendar.working_days_between(today, due) <= 1:
        return "approaching"
    return None
