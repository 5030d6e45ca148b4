"""Device JSON out over MQTT: one connection for the simulated gate readers and terminal gateways, one
QoS 1 message (retain off) per document, as `docs/schemas/README.md` asks of real devices."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

import aiomqtt
import orjson

from seawatch.bus import MqttAddress, client
from seawatch.settings import MqttSettings

log = logging.getLogger(__name__)


class DevicePublisher:
    """`publish` sends one document. Failures are logged and counted, never raised: a device that cannot
    reach the broker loses the message, the fleet sails on."""

    def __init__(
        self, address: MqttAddress, settings: MqttSettings, *, name: str = "simulator-devices"
    ) -> None:
        self.address = address
        self.settings = settings
        self.name = name
        self.sent = 0
        self.failed = 0
        self._client: aiomqtt.Client | None = None

    @property
    def prefix(self) -> str:
        return self.settings.topic_prefix

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

    async def publish(self, topic: str, document: dict[str, Any]) -> None:
        if self._client is None:
            self.failed += 1
            return
        try:
            await self._client.publish(topic, orjson.dumps(document), qos=1)
            self.sent += 1
        except aiomqtt.MqttError as exc:
            self.failed += 1
            log.warning("%s not published: %s", topic, exc)
