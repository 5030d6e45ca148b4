"""Shared helpers for the JT/T 808 tests: the reference vectors and small conversions.

Not a test module; imported by the ``test_jt808_*`` modules (pytest puts this directory on sys.path).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ingest.jt808 import escape

# tests/ingest/jt808/ → project root → ../shared/data
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "jt808"
VECTORS: list[dict[str, Any]] = [
    json.loads(line) for line in (DATA / "vectors.jsonl").read_text(encoding="utf-8").splitlines() if line
]
CHINA = timezone(timedelta(hours=8))


def params(source_prefix: str) -> list[Any]:
    """pytest params (index, row) for one source project, with readable ids."""
    out = []
    for index, row in enumerate(VECTORS):
        if row["source"].startswith(source_prefix):
            test = re.sub(r"[^A-Za-z0-9_.:]+", "_", row["test"])[:50]
            out.append(pytest.param(index, row, id=f"{index:03d}-{row['msg_id'] or 'none'}-{test}"))
    return out


def local_to_utc(text: str) -> datetime:
    """A source project's GMT+8 device time ("2018-07-15 10:10:10" or ISO) as aware UTC."""
    return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=CHINA).astimezone(UTC)


def degrees(raw: int, negative: bool, limit: float) -> float | None:
    """What seawatch reports for a raw coordinate: signed millionths, hemisphere bit applied to the
    magnitude, None when impossible."""
    value = raw / 1e6
    if negative:
        value = -abs(value) + 0.0
    return value if abs(value) <= limit else None


def traccar_wire(hex_text: str) -> bytes:
    """The wire frame whose content is exactly the bytes Traccar's decoder test sees.

    Traccar's tests call the protocol decoder directly, after the point where its frame decoder
    removes escapes; so the test hex is frame content taken literally (some samples even contain bare
    0x7e and lone 0x7d bytes). Escaping that content gives the frame a terminal would have sent.
    """
    inner = bytes.fromhex(hex_text)[1:-1]
    return b"\x7e" + escape(inner) + b"\x7e"


Record = dict[str, Any]
Check = Callable[[Record, Any], bool]


def dig(record: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        record = record[step]
    return record


def same(value: Any) -> Any:
    return value


def field(*path: str | int, convert: Callable[[Any], Any] = same) -> Check:
    """Check that the record's value at ``path`` equals the source's value after ``convert``."""

    def check(record: Record, value: Any) -> bool:
        ours, theirs = dig(record, path), convert(value)
        if isinstance(theirs, float):
            return ours is not None and abs(ours - theirs) < 1e-9
        return bool(ours == theirs)

    return check


def coordinate(*path: str | int, status_bit: int, limit: float, status: Callable[[Record], int]) -> Check:
    """A raw coordinate from the source against ours; the hemisphere comes from our status bits,
    which are themselves checked against the source's through another entry."""

    def check(record: Record, value: Any) -> bool:
        base = dig(record, path[:-1])
        expected = degrees(int(value), bool(status(base) >> status_bit & 1), limit)
        ours = dig(record, path)
        return ours == expected if expected is None else ours is not None and abs(ours - expected) < 1e-9

    return check


def location_checks(
    names: dict[str, str], prefix: str = "", path: tuple[str | int, ...] = ()
) -> dict[str, Check]:
    """Checks for a source's raw 0x0200 fields; ``names`` maps seawatch's concept to the source's
    field name (alarm_bits, status_bits, lat, lon, altitude, speed, course, time)."""

    def status(rec: Record) -> int:
        return int(rec["status_bits"])

    checks = {
        "alarm_bits": field(*path, "alarm_bits"),
        "status_bits": field(*path, "status_bits"),
        "lat": coordinate(*path, "lat", status_bit=2, limit=90, status=status),
        "lon": coordinate(*path, "lon", status_bit=3, limit=180, status=status),
        "altitude": field(*path, "altitude"),
        "speed": field(*path, "speed_kmh", convert=lambda v: v / 10),  # source: 1/10 km/h
        "course": field(*path, "course"),
        "time": field(*path, "ts", convert=local_to_utc),  # source: GMT+8 wall time
    }
    return {prefix + names[concept]: check for concept, check in checks.items() if concept in names}
