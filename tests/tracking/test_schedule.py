"""Zone schedules: the moratorium's exact edges in China time, wrapping windows, daylight saving, and
every way a schedule can be refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tracking.schedule import ScheduleError, is_active, parse_schedule, validate_schedule
from tracking.zones import demo_zone_features

CHINA = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def moratorium_schedule() -> dict[str, Any]:
    """The schedule exactly as the demo zones carry it."""
    (zone,) = [f for f in demo_zone_features() if f["properties"]["kind"] == "moratorium"]
    schedule: dict[str, Any] = zone["properties"]["schedule"]
    return schedule


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 5, 1, 11, 59, tzinfo=CHINA), False),
        (datetime(2026, 5, 1, 11, 59, 59, 999_999, tzinfo=CHINA), False),
        (datetime(2026, 5, 1, 12, 0, tzinfo=CHINA), True),
        (datetime(2026, 7, 1, 0, 0, tzinfo=CHINA), True),
        (datetime(2026, 8, 16, 11, 59, tzinfo=CHINA), True),
        (datetime(2026, 8, 16, 11, 59, 59, tzinfo=CHINA), True),
        (datetime(2026, 8, 16, 12, 0, tzinfo=CHINA), False),
        (datetime(2026, 12, 25, 12, 0, tzinfo=CHINA), False),
        (datetime(2027, 5, 1, 12, 0, tzinfo=CHINA), True),  # every year
    ],
)
def test_the_moratorium_edges_in_china_time(local: datetime, expected: bool) -> None:
    assert is_active(moratorium_schedule(), local) is expected
    assert is_active(moratorium_schedule(), local.astimezone(UTC)) is expected  # the same instant


def test_the_moratorium_edges_as_the_rules_see_them_in_utc() -> None:
    # China time is UTC+8 all year: 12:00 local is 04:00 UTC, so UTC's calendar day is the same.
    assert not is_active(moratorium_schedule(), datetime(2026, 5, 1, 3, 59, tzinfo=UTC))
    assert is_active(moratorium_schedule(), datetime(2026, 5, 1, 4, 0, tzinfo=UTC))
    assert is_active(moratorium_schedule(), datetime(2026, 8, 16, 3, 59, tzinfo=UTC))
    assert not is_active(moratorium_schedule(), datetime(2026, 8, 16, 4, 0, tzinfo=UTC))


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_active(moratorium_schedule(), datetime(2026, 5, 1, 12, 0))


def test_no_schedule_means_always() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert is_active(None, when)
    assert is_active({}, when)
    assert is_active({"timezone": "Asia/Shanghai"}, when)
    assert parse_schedule(None) is None


def test_a_yearly_window_wraps_the_new_year() -> None:
    winter = {"timezone": "Asia/Shanghai", "yearly": [{"from": "12-15T00:00", "to": "01-15T00:00"}]}
    assert not is_active(winter, datetime(2026, 12, 14, 23, 59, tzinfo=CHINA))
    assert is_active(winter, datetime(2026, 12, 15, 0, 0, tzinfo=CHINA))
    assert is_active(winter, datetime(2026, 12, 31, 23, 59, tzinfo=CHINA))
    assert is_active(winter, datetime(2027, 1, 1, 0, 0, tzinfo=CHINA))
    assert is_active(winter, datetime(2027, 1, 14, 23, 59, tzinfo=CHINA))
    assert not is_active(winter, datetime(2027, 1, 15, 0, 0, tzinfo=CHINA))
    # 16:30 UTC on 14 December is already 00:30 on the 15th in China.
    assert is_active(winter, datetime(2026, 12, 14, 16, 30, tzinfo=UTC))


def test_several_yearly_windows_any_will_do() -> None:
    two = {
        "yearly": [{"from": "01-01T00:00", "to": "02-01T00:00"}, {"from": "06-01T00:00", "to": "07-01T00:00"}]
    }
    assert is_active(two, datetime(2026, 1, 10, tzinfo=UTC))
    assert is_active(two, datetime(2026, 6, 10, tzinfo=UTC))
    assert not is_active(two, datetime(2026, 3, 10, tzinfo=UTC))


def test_the_leap_day_is_a_valid_bound() -> None:
    leap = {"yearly": [{"from": "02-29T00:00", "to": "03-01T00:00"}]}
    assert is_active(leap, datetime(2028, 2, 29, 12, tzinfo=UTC))
    assert not is_active(leap, datetime(2027, 2, 28, 12, tzinfo=UTC))  # it never occurs in 2027


def test_a_daily_window_follows_the_local_clock_through_daylight_saving() -> None:
    office = {"timezone": "Europe/London", "daily": [{"from": "09:00", "to": "17:00"}]}
    # Winter: London is on UTC, so 08:30 UTC is 08:30 there, before opening.
    assert not is_active(office, datetime(2026, 3, 28, 8, 30, tzinfo=UTC))
    # Summer (the clocks went forward on 29 March 2026): 08:30 UTC is 09:30 BST, open.
    assert is_active(office, datetime(2026, 3, 30, 8, 30, tzinfo=UTC))
    assert not is_active(office, datetime(2026, 3, 30, 16, 0, tzinfo=UTC))  # 17:00 BST
    assert is_active(office, datetime(2026, 3, 30, 15, 59, tzinfo=UTC))


def test_the_skipped_and_repeated_hours() -> None:
    night = {"timezone": "America/New_York", "daily": [{"from": "01:00", "to": "02:00"}]}
    # Fall back, 1 November 2026: 01:00-02:00 local happens twice, first EDT (UTC-4) then EST (UTC-5).
    assert is_active(night, datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 01:30 EDT
    assert is_active(night, datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # 01:30 EST
    assert not is_active(night, datetime(2026, 11, 1, 7, 0, tzinfo=UTC))  # 02:00 EST
    skipped = {"timezone": "America/New_York", "daily": [{"from": "02:00", "to": "03:00"}]}
    # Spring forward, 8 March 2026: the wall clock goes 01:59 EST → 03:00 EDT, never showing 02:xx.
    start = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST
    assert not any(is_active(skipped, start + timedelta(minutes=m)) for m in range(0, 180, 5))
    # A yearly window that starts inside the skipped hour starts at the first wall time after it.
    season = {"timezone": "Europe/Berlin", "yearly": [{"from": "03-29T02:30", "to": "04-01T00:00"}]}
    assert not is_active(season, datetime(2026, 3, 29, 0, 59, tzinfo=UTC))  # 01:59 CET
    assert is_active(season, datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 03:00 CEST
    assert is_active(season, datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN))


def test_a_daily_window_can_cross_midnight() -> None:
    nights = {"timezone": "Asia/Shanghai", "daily": [{"from": "22:00", "to": "06:00"}]}
    assert is_active(nights, datetime(2026, 7, 1, 23, 0, tzinfo=CHINA))
    assert is_active(nights, datetime(2026, 7, 2, 5, 59, tzinfo=CHINA))
    assert not is_active(nights, datetime(2026, 7, 2, 6, 0, tzinfo=CHINA))
    assert not is_active(nights, datetime(2026, 7, 2, 21, 59, tzinfo=CHINA))


def test_a_weekly_window_belongs_to_the_day_it_starts() -> None:
    friday_night = {
        "timezone": "Asia/Shanghai",
        "weekly": [{"days": ["fri"], "from": "22:00", "to": "02:00"}],
    }
    friday = datetime(2026, 7, 3, tzinfo=CHINA)  # a Friday
    assert friday.weekday() == 4
    assert not is_active(friday_night, friday.replace(hour=1))  # Friday 01:00 is Thursday's night
    assert is_active(friday_night, friday.replace(hour=22))
    assert is_active(friday_night, friday.replace(hour=1) + timedelta(days=1))  # Saturday 01:00
    assert not is_active(friday_night, friday.replace(hour=2) + timedelta(days=1))
    # Sunday's night ends on Monday morning: the week wraps too.
    sunday_night = {"weekly": [{"days": ["Sunday"], "from": "23:00", "to": "01:00"}]}
    assert is_active(sunday_night, datetime(2026, 7, 6, 0, 30, tzinfo=UTC))  # a Monday


def test_a_weekly_window_on_listed_days() -> None:
    weekends = {
        "timezone": "Asia/Shanghai",
        "weekly": [{"days": ["sat", "sun"], "from": "06:00", "to": "18:00"}],
    }
    saturday = datetime(2026, 7, 4, 12, 0, tzinfo=CHINA)
    assert is_active(weekends, saturday)
    assert is_active(weekends, saturday + timedelta(days=1))
    assert not is_active(weekends, saturday + timedelta(days=2))
    assert not is_active(weekends, saturday.replace(hour=18))


def test_keys_narrow_each_other() -> None:
    season_days = {
        "timezone": "Asia/Shanghai",
        "yearly": [{"from": "05-01T00:00", "to": "09-01T00:00"}],
        "daily": [{"from": "06:00", "to": "18:00"}],
    }
    assert is_active(season_days, datetime(2026, 6, 1, 12, tzinfo=CHINA))
    assert not is_active(season_days, datetime(2026, 6, 1, 20, tzinfo=CHINA))  # in season, at night
    assert not is_active(season_days, datetime(2026, 10, 1, 12, tzinfo=CHINA))  # daytime, out of season


def test_a_fixed_offset_time_is_converted_before_comparing() -> None:
    at_sea = timezone(timedelta(hours=10))
    # 14:00 at UTC+10 is 12:00 in China: the moratorium's first minute.
    assert is_active(moratorium_schedule(), datetime(2026, 5, 1, 14, 0, tzinfo=at_sea))


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"yeraly": [{"from": "05-01T12:00", "to": "08-16T12:00"}]}, "unknown schedule key"),
        ({"timezone": "Asia/Nowhere", "daily": [{"from": "01:00", "to": "02:00"}]}, "unknown timezone"),
        ({"timezone": "../etc/passwd", "daily": [{"from": "01:00", "to": "02:00"}]}, "unknown timezone"),
        ({"timezone": 8, "daily": [{"from": "01:00", "to": "02:00"}]}, "IANA"),
        ({"yearly": []}, "non-empty list"),
        ({"yearly": "05-01T12:00"}, "non-empty list"),
        ({"yearly": ["05-01T12:00"]}, "object"),
        ({"yearly": [{"from": "05-01T12:00"}]}, "MM-DDTHH:MM"),
        ({"yearly": [{"from": "05-01 12:00", "to": "08-16T12:00"}]}, "MM-DDTHH:MM"),
        ({"yearly": [{"from": "13-01T12:00", "to": "08-16T12:00"}]}, "not a date"),
        ({"yearly": [{"from": "04-31T12:00", "to": "08-16T12:00"}]}, "not a date"),
        ({"yearly": [{"from": "05-01T24:00", "to": "08-16T12:00"}]}, "time of day"),
        ({"yearly": [{"from": "05-01T12:00", "to": "05-01T12:00"}]}, "equal"),
        ({"yearly": [{"from": "05-01T12:00", "to": "08-16T12:00", "until": "x"}]}, "unknown key"),
        ({"daily": [{"from": "1:00", "to": "02:00"}]}, "HH:MM"),
        ({"daily": [{"from": "0a:00", "to": "02:00"}]}, "not a number"),
        ({"weekly": [{"from": "01:00", "to": "02:00"}]}, "days"),
        ({"weekly": [{"days": ["funday"], "from": "01:00", "to": "02:00"}]}, "not a day name"),
        ({"weekly": [{"days": "mon", "from": "01:00", "to": "02:00"}]}, "days"),
        (["05-01T12:00"], "object"),
    ],
)
def test_invalid_schedules_are_refused_with_a_reason(schedule: Any, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        validate_schedule(schedule)
    with pytest.raises(ScheduleError, match=message):
        is_active(schedule, datetime(2026, 5, 1, tzinfo=UTC))


def test_every_demo_zone_schedule_is_valid() -> None:
    for feature in demo_zone_features():
        validate_schedule(feature["properties"].get("schedule"))
