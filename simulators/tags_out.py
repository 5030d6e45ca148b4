"""Gate tag reads out: the JSON a harbour RFID reader publishes over MQTT (`docs/schemas/tag-read.schema
.json`), one QoS 1 message per read on `{topic_prefix}/tags/{reader}`, as `ingest.device_feed` reads it."""

from __future__ import annotations

import logging
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import aiomqtt
import orjson

from seawatch.bus import MqttAddress, client
from seawatch.settings import MqttSettings

log = logging.getLogger(__name__)


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


class TagPublisher:
    """An MQTT connection for gate readers; `publish` sends one read. Failures are logged and counted,
    never raised: a gate reader that cannot reach the broker loses the read, the fleet sails on."""

    def __init__(self, address: MqttAddress, settings: MqttSettings, *, name: str = "simulator-tags") -> None:
        self.address = address
        self.settings = settings
        self.name = name
        self.sent = 0
        self.failed = 0
        self._client: aiomqtt.Client | None = None

    async def __aenter__(self) -> Self:
        self._client = client(self.address, self.settings, self.name)
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.__aexit__(kind, exc, tb)
            self._client = None

    async def publish(self, read: dict[str, Any]) -> None:
        if self._client is None:
            self.failed += 1
            return
        try:
            await self._client.publish(
                tag_topic(self.settings.topic_prefix, read["reader"]), orjson.dumps(read), qos=1
            )
            self.sent += 1
        except aiomqtt.MqttError as exc:
            self.failed += 1
            log.warning("tag read from %s not published: %s", read["reader"], exc)
