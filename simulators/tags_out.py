"""Gate tag reads out: the JSON a harbour RFID reader publishes over MQTT (`docs/schemas/tag-read.schema
.json`), one QoS 1 message per read on `{topic_prefix}/tags/{reader}`, as `ingest.device_feed` reads
it; `simulators.mqtt_out.DevicePublisher` sends it."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def tag_read(
    *,
    reader: str,
    tag: str,
    when: datetime,
    direction: str,
    lon: float,
    lat: float,
    zone: str | None = None,
    rssi: float = -58.0,
) -> dict[str, Any]:
    """One tag read as the published schema has it (time RFC 3339 with its UTC offset)."""
    read: dict[str, Any] = {
        "reader": reader,
        "tag": tag,
        "time": when.isoformat(timespec="milliseconds"),
        "direction": direction,
        "rssi": rssi,
        "antenna": 1,
        "lon": round(lon, 6),
        "lat": round(lat, 6),
    }
    if zone is not None:
        read["zone"] = zone
    return read


def tag_topic(prefix: str, reader: str) -> str:
    return f"{prefix}/tags/{reader}"
