"""month_of's text is strftime("%Y-%m")'s, in China Standard Time, across month and year ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from projections.events import CST, month_of


def test_month_of_is_strftime_in_china_standard_time() -> None:
    zones = (UTC, CST, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14)))
    starts = [datetime(y, m, 1, tzinfo=UTC) for y in (5, 999, 1000, 2026, 9998) for m in (1, 2, 12)]
    moments = [s + timedelta(minutes=k) for s in starts for k in range(-16 * 60, 17 * 60, 37)]
    seen = set()
    for moment in moments:
        for zone in zones:
            iso = moment.astimezone(zone).isoformat()
            expected = datetime.fromisoformat(iso).astimezone(CST).strftime("%Y-%m")
            assert month_of(iso) == expected
            seen.add(expected)
    assert {"2026-01", "2025-12", "999-12", "1000-01", "9998-12"} <= seen
