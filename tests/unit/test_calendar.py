"""Working-day calendar: official holidays, swapped working days, unknown years."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from domain.kernel.calendar import DueDate, WorkingCalendar, calendar_version

CAL = WorkingCalendar()
NATIONAL_DAY_2026 = [dt.date(2026, 10, d) for d in range(1, 8)]
# Weekend days that 2026's schedule makes working days around National Day.
SWAPPED_SUNDAY, SWAPPED_SATURDAY = dt.date(2026, 9, 20), dt.date(2026, 10, 10)


def test_the_package_really_swaps_these_weekend_days() -> None:
    workdays = chinese_calendar.get_workdays(
        dt.date(2026, 9, 1), dt.date(2026, 10, 31), include_weekends=True
    )
    weekend_workdays = [d for d in workdays if d.weekday() >= 5]
    assert weekend_workdays == [SWAPPED_SUNDAY, SWAPPED_SATURDAY]


def test_national_day_holiday_is_not_working() -> None:
    assert not any(CAL.is_working_day(d) for d in NATIONAL_DAY_2026)
    assert CAL.is_working_day(dt.date(2026, 10, 8))


def test_swapped_weekend_days_are_working() -> None:
    assert SWAPPED_SUNDAY.weekday() == 6
    assert SWAPPED_SATURDAY.weekday() == 5
    assert CAL.is_working_day(SWAPPED_SUNDAY)
    assert CAL.is_working_day(SWAPPED_SATURDAY)
    assert not CAL.is_working_day(dt.date(2026, 10, 17))  # an ordinary Saturday


def test_counting_starts_the_day_after() -> None:
    monday = dt.date(2026, 11, 16)
    assert CAL.add_working_days(monday, 1) == DueDate(dt.date(2026, 11, 17), provisional=False)
    assert CAL.add_working_days(monday, 0) == DueDate(monday, provisional=False)


def test_adding_across_national_day() -> None:
    due = CAL.add_working_days(dt.date(2026, 9, 30), 1)
    assert due == DueDate(dt.date(2026, 10, 8), provisional=False)
    assert CAL.add_working_days(dt.date(2026, 9, 30), 3).date == SWAPPED_SATURDAY


def test_adding_onto_a_swapped_sunday() -> None:
    friday = dt.date(2026, 9, 18)
    assert CAL.add_working_days(friday, 1).date == SWAPPED_SUNDAY


def test_a_2027_date_is_provisional_and_counts_weekends_only() -> None:
    assert not CAL.is_known(dt.date(2027, 1, 4))
    assert CAL.is_working_day(dt.date(2027, 1, 4))
    assert not CAL.is_working_day(dt.date(2027, 1, 2))
    due = CAL.add_working_days(dt.date(2027, 1, 1), 1)
    assert due == DueDate(dt.date(2027, 1, 4), provisional=True)


def test_a_count_that_crosses_into_an_unknown_year_is_provisional() -> None:
    due = CAL.add_working_days(dt.date(2026, 12, 30), 5)
    assert due == DueDate(dt.date(2027, 1, 6), provisional=True)
    assert not CAL.add_working_days(dt.date(2026, 12, 28), 3).provisional


def test_years_before_the_data_do_not_crash() -> None:
    assert CAL.is_working_day(dt.date(2003, 1, 6))
    assert CAL.add_working_days(dt.date(2003, 1, 3), 1) == DueDate(dt.date(2003, 1, 6), True)


def test_working_days_between_matches_adding() -> None:
    start = dt.date(2026, 9, 30)
    assert CAL.working_days_between(start, dt.date(2026, 10, 8)) == 1
    assert CAL.working_days_between(start, dt.date(2026, 10, 7)) == 0
    assert CAL.working_days_between(dt.date(2026, 10, 8), start) == -1
    for days in (1, 5, 22):
        assert CAL.working_days_between(start, CAL.add_working_days(start, days).date) == days


def test_datetimes_are_treated_as_their_date() -> None:
    received = dt.datetime(2026, 9, 30, 16, 45)
    assert CAL.add_working_days(received, 1).date == dt.date(2026, 10, 8)


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        CAL.add_working_days(dt.date(2026, 1, 5), -1)


def test_calendar_version_names_the_package() -> None:
    assert calendar_version() == "chinese-calendar 1.11.0"
