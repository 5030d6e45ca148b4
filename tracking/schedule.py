"""When a time-limited zone is in force: seasonal closures, part-time restricted areas.

A schedule is the JSON object a zone carries in `properties.schedule`:

    {
      "timezone": "Asia/Shanghai",                                   # IANA name; UTC when absent
      "yearly": [{"from": "05-01T12:00", "to": "08-16T12:00"}],      # MM-DDTHH:MM
      "weekly": [{"days": ["sat", "sun"], "from": "06:00", "to": "18:00"}],
      "daily":  [{"from": "22:00", "to": "06:00"}]                   # HH:MM
    }

Rules of reading, chosen so that an official notice can be copied in as written:

- Times are wall-clock times in `timezone`: a notice says "12:00 on 1 May, Beijing time", and a
  window in a daylight-saving zone follows the local clock (09:00–17:00 in London is 08:00–16:00 UTC
  in summer). On the spring-forward day a window that starts in the skipped hour starts at the first
  wall time after it; on the fall-back day the repeated hour is in a window twice.
- Every window is half-open, [from, to): the summer moratorium above is in force from 12:00:00 on
  1 May and over at 12:00:00 on 16 August, so two back-to-back windows never overlap.
- A window whose `to` comes before its `from` wraps: yearly ones across the new year, weekly and daily
  ones across midnight. A wrapping weekly window belongs to the day it starts: `{"days": ["fri"],
  "from": "22:00", "to": "02:00"}` runs from Friday 22:00 to Saturday 02:00.
- Within one key any window will do; keys narrow each other (`yearly` and `daily` together: in season
  and within the daily hours).
- No schedule (None, `{}`, or only a `timezone`) means always in force.
- Anything else is refused with `ScheduleError`, never guessed: an unknown key (a typo such as
  `yeraly` would otherwise silently mean "always"), an empty list, `from` equal to `to` (empty or
  the whole period — ambiguous), an impossible date or time, an unknown time zone. `02-29` is
  accepted and simply never occurs in a common year.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

KEYS = frozenset({"timezone", "yearly", "weekly", "daily"})
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NUMBERS = {name: i for names in (DAYS, _FULL_DAYS) for i, name in enumerate(names)}
# Days per month in a leap year: the widest any MM-DD can be.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# Wall-clock instants as comparable tuples: yearly (month, day, hour, minute), daily (hour, minute).
# Minutes suffice because every bound is written to the minute: 11:59:59 compares as 11:59 < 12:00.
Stamp = tuple[int, ...]


class ScheduleError(ValueError):
    """A schedule that cannot be read; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class Window:
    start: Stamp
    end: Stamp

    @property
    def wraps(self) -> bool:
        return self.end < self.start

    def holds(self, stamp: Stamp) -> bool:
        if self.wraps:
            return stamp >= self.start or stamp < self.end
        return self.start <= stamp < self.end


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    days: frozenset[int]  # weekday numbers, Monday 0
    window: Window  # (hour, minute) stamps

    def holds(self, weekday: int, stamp: Stamp) -> bool:
        start, end = self.window.start, self.window.end
        if not self.window.wraps:
            return weekday in self.days and start <= stamp < end
        # Before `to` on the morning after a listed day, or after `from` on a listed day.
        return (weekday in self.days and stamp >= start) or ((weekday - 1) % 7 in self.days and stamp < end)


@dataclass(frozen=True, slots=True)
class Schedule:
    timezone: ZoneInfo
    yearly: tuple[Window, ...] = ()
    weekly: tuple[WeeklyWindow, ...] = ()
    daily: tuple[Window, ...] = ()

    def is_active(self, when: datetime) -> bool:
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("a schedule needs a time-zone-aware time, not a naive one")
        local = when.astimezone(self.timezone)
        day_stamp = (local.hour, local.minute)
        if self.yearly and not any(w.holds((local.month, local.day, *day_stamp)) for w in self.yearly):
            return False
        if self.weekly and not any(w.holds(local.weekday(), day_stamp) for w in self.weekly):
            return False
        return not self.daily or any(w.holds(day_stamp) for w in self.daily)


def parse_schedule(raw: Mapping[str, Any] | None) -> Schedule | None:
    """The schedule as an object (None when there is no schedule); raises `ScheduleError`."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ScheduleError(f"a schedule must be an object, not {type(raw).__name__}")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ScheduleError(f"unknown schedule key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
    if not (KEYS - {"timezone"}) & set(raw):
        return None
    zone = _timezone(raw.get("timezone", "UTC"))
    return Schedule(
        timezone=zone,
        yearly=tuple(_window(item, f"yearly[{i}]", _month_day_time) for i, item in _entries(raw, "yearly")),
        weekly=tuple(_weekly(item, f"weekly[{i}]") for i, item in _entries(raw, "weekly")),
        daily=tuple(_window(item, f"daily[{i}]", _time_of_day) for i, item in _entries(raw, "daily")),
    )


def validate_schedule(raw: Mapping[str, Any] | None) -> None:
    """Raise `ScheduleError` if `raw` is not a schedule this module can read (for zone validation)."""
    parse_schedule(raw)


def is_active(schedule: Mapping[str, Any] | None, when: datetime) -> bool:
    """Whether a zone with this schedule is in force at `when` (aware). No schedule: always."""
    parsed = parse_schedule(schedule)
    return parsed is None or parsed.is_active(when)


# --- reading the parts -------------------------------------------------------------------------------


def _timezone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ScheduleError(f"timezone must be an IANA name such as 'Asia/Shanghai', not {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown timezone {name!r}") from None


def _entries(raw: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    if key not in raw:
        return []
    items = raw[key]
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise ScheduleError(f"{key} must be a non-empty list of windows (leave it out for no limit)")
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ScheduleError(f"{key}[{i}] must be an object with 'from' and 'to'")
    return list(enumerate(items))


def _window(item: Mapping[str, Any], where: str, read: Callable[[object, str], Stamp]) -> Window:
    extra = sorted(set(item) - {"from", "to"})
    if extra:
        raise ScheduleError(f"{where}: unknown key(s) {', '.join(extra)}")
    start, end = read(item.get("from"), f"{where}.from"), read(item.get("to"), f"{where}.to")
    if start == end:
        raise ScheduleError(f"{where}: 'from' and 'to' are equal, so the window is empty or endless")
    return Window(start, end)


def _weekly(item: Mapping[str, Any], where: str) -> WeeklyWindow:
    days = item.get("days")
    if not isinstance(days, Sequence) or isinstance(days, str) or not days:
        raise ScheduleError(f"{where}.days must be a non-empty list such as ['mon', 'tue']")
    numbers = set()
    for day in days:
        number = _DAY_NUMBERS.get(day.strip().lower()) if isinstance(day, str) else None
        if number is None:
            raise ScheduleError(f"{where}.days: {day!r} is not a day name (mon … sun or monday … sunday)")
        numbers.add(number)
    window = _window({k: v for k, v in item.items() if k != "days"}, where, _time_of_day)
    return WeeklyWindow(frozenset(numbers), window)


def _time_of_day(text: object, where: str) -> Stamp:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise ScheduleError(f"{where}: {text!r} is not a time HH:MM")
    hour, minute = _digits(text[:2], where), _digits(text[3:], where)
    if hour > 23 or minute > 59:
        raise ScheduleError(f"{where}: {text!r} is not a time of day (00:00 to 23:59)")
    return (hour, minute)


def _month_day_time(text: object, where: str) -> Stamp:
    if not isinstance(text, str) or len(text) != 11 or text[2] != "-" or text[5] != "T":
        raise ScheduleError(f"{where}: {text!r} is not a yearly time MM-DDTHH:MM")
    month, day = _digits(text[:2], where), _digits(text[3:5], where)
    if not 1 <= month <= 12 or not 1 <= day <= _MONTH_DAYS[month - 1]:
        raise ScheduleError(f"{where}: {text!r} is not a date in the year")
    return (month, day, *_time_of_day(text[6:], where))


def _digits(text: str, where: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ScheduleError(f"{where}: {text!r} is not a number")
    return int(text)
