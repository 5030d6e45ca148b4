"""Packed BCD as JT/T 808 uses it: terminal numbers and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from ingest.jt808.errors import Jt808Error

# The standard fixes device time to GMT+8 (Beijing time), whatever the terminal's location.
CHINA_TZ = timezone(timedelta(hours=8))


def bcd_digits(data: bytes) -> str | None:
    """The digits of packed BCD ``data``, or None when a nibble is not a decimal digit."""
    text = data.hex()
    return text if text.isdigit() else None


def bcd_pack(digits: str, size: int) -> bytes:
    """Pack a digit string into ``size`` bytes, left-padded with zeros as the standard does."""
    if not digits.isdigit() or len(digits) > size * 2:
        raise Jt808Error("encode", f"{digits!r} is not at most {size * 2} decimal digits")
    return bytes.fromhex(digits.rjust(size * 2, "0"))


def bcd_time(digits: str, *, utc: bool = False) -> datetime | None:
    """Turn YYMMDDhhmmss into an aware UTC datetime; None when absent or impossible.

    Terminals send zeros (or garbage) before their first fix, so an impossible date is "unknown",
    not an error: the rest of the report can still be useful.
    """
    if len(digits) != 12 or not digits.isdigit():
        return None
    year, month, day, hour, minute, second = (int(digits[i : i + 2]) for i in range(0, 12, 2))
    try:
        local = datetime(2000 + year, month, day, hour, minute, second, tzinfo=UTC if utc else CHINA_TZ)
    except ValueError:
        return None
    return local.astimezone(UTC)


def luhn_digit(digits: str) -> str:
    """The Luhn check digit of ``digits`` (used to rebuild an IMEI from its 14 leading digits)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)
