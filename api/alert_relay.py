"""For an API process without the rules: alerts from the MQTT topics to this process's websocket hub.

The rules process publishes every alert change to `{prefix}/alerts/{severity}/{kind}`; each API node
subscribes and fans out to its own clients. A change missed while this link was down reaches clients
anyway: they resume with `since_seq`, which is answered from the database.
"""

from __future__ import annotations

import logging

import orjson

from alerts.hub import Hub
from seawatch.bus import MqttAddress, client
from seawatch.settings import MqttSettings

log = logging.getLogger(__name__)


async def relay_alerts(address: MqttAddress, mqtt: MqttSettings, hub: Hub, node: str) -> None:
    async with client(address, mqtt, f"alerts-in-{node}") as link:
        await link.subscribe(f"{mqtt.topic_prefix}/alerts/#", qos=1)
        async for message in link.messages:
            try:
                body = orjson.loads(message.payload)
                hub.publish_alert_json(int(body["seq"]), dict(body["alert"]))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("ignoring a malformed alert on %s: %s", message.topic, exc)
