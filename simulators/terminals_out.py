"""Terminal reports out as JSON: what a BeiDou terminal gateway publishes over MQTT
(`docs/schemas/terminal-position.schema.json`), one message per report on
`{topic_prefix}/terminals/{terminal}`, as `ingest.device_feed` reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.jt808.alarms import ALARM_NAMES


def terminal_report(
    *,
    terminal: str,
    when: datetime,
    lon: float,
    lat: float,
    knots: float,
    course: float,
    alarm_bits: int = 0,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "terminal": terminal,
        "time": when.isoformat(timespec="milliseconds"),
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "speed": round(knots, 1),
        "course": round(course, 1) % 360.0,
    }
    if alarm_bits & 1 << ALARM_NAMES.index("emergency"):
        report["alarms"] = {"sos": True}  # the only alarm the simulated fleet raises
    return report


def terminal_topic(prefix: str, terminal: str) -> str:
    return f"{prefix}/terminals/{terminal}"
