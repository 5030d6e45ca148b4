"""The MQTT bus: addresses, a reachability probe, and the presence link every process keeps.

A lost link raises `aiomqtt.MqttError` out of the component; the supervisor restarts it with backoff,
which is the whole reconnect policy (no retry loops hidden in here).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt

from seawatch.settings import MqttSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> MqttAddress:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"unsupported MQTT URL scheme {parts.scheme!r} in {url!r}; use mqtt://host:port")
        if not parts.hostname:
            raise ValueError(f"no host in MQTT URL {url!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or 1883,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def client_prefix(settings: MqttSettings) -> str:
    """The configured client id prefix, else one unique to this process: two seawatch processes of one
    role on one broker must not take over each other's connections."""
    return settings.client_id or f"seawatch-{socket.gethostname()}-{os.getpid()}"


def client(address: MqttAddress, settings: MqttSettings, component: str, **kwargs: object) -> aiomqtt.Client:
    return aiomqtt.Client(
        address.host,
        address.port,
        username=address.username,
        password=address.password,
        identifier=f"{client_prefix(settings)}-{component}",
        keepalive=settings.keepalive_s,
        **kwargs,  # type: ignore[arg-type]
    )


async def broker_reachable(address: MqttAddress, wait_s: float = 2.0) -> bool:
    """True when an MQTT CONNECT to the address succeeds within `wait_s` seconds."""
    try:
        async with (
            asyncio.timeout(wait_s),
            aiomqtt.Client(
                address.host,
                address.port,
                username=address.username,
                password=address.password,
                timeout=wait_s,
            ),
        ):
            return True
    except (aiomqtt.MqttError, OSError, TimeoutError):
        return False


class BusStatus:
    """Whether this process currently holds a working link to the broker (read by /readyz)."""

    def __init__(self) -> None:
        self.connected = False


def presence_topic(settings: MqttSettings, node: str) -> str:
    return f"{settings.topic_prefix}/status/{node}"


async def run_presence(address: MqttAddress, settings: MqttSettings, status: BusStatus, node: str) -> None:
    """Hold a link to the broker, announcing `online` (retained) with an `offline` last will."""
    topic = presence_topic(settings, node)
    will = aiomqtt.Will(topic, b"offline", qos=1, retain=True)
    try:
        async with client(address, settings, f"presence-{node}", will=will) as link:
            await link.publish(topic, b"online", qos=1, retain=True)
            status.connected = True
            log.info("connected to MQTT broker %s", address.url())
            try:
                # aiomqtt raises MqttError from here when the broker goes away.
                async for _ in link.messages:
                    pass
            except asyncio.CancelledError:
                await link.publish(topic, b"offline", qos=1, retain=True)
                raise
    finally:
        status.connected = False
