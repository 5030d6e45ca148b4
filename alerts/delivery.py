"""Delivery to consumers that are not websocket clients: MQTT topics and signed webhooks.

Each consumer has its own bounded queue and task, so a dead webhook never holds up MQTT, the websocket
hub or the engine. When a queue is full the oldest change is dropped and counted: the database holds
every alert, and consumers can read what they missed from the API.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

import httpx
import orjson
from prometheus_client import Counter

from alerts.model import SEVERITY_RANK, Alert
from seawatch.bus import MqttAddress, client
from seawatch.settings import DeliverySettings, MqttSettings, WebhookSettings

log = logging.getLogger(__name__)

DELIVERED = Counter("seawatch_alert_deliveries", "Alert changes delivered", ["consumer"])
FAILED = Counter("seawatch_alert_delivery_failures", "Failed delivery attempts", ["consumer"])
DROPPED = Counter("seawatch_alert_delivery_dropped", "Alert changes dropped from a full queue", ["consumer"])

SIGNATURE_HEADER = "X-Seawatch-Signature"
TIMESTAMP_HEADER = "X-Seawatch-Timestamp"
Sleep = Callable[[float], Awaitable[None]]


def alert_topic(prefix: str, alert: Alert) -> str:
    """Real alerts on `{prefix}/alerts/…`; drill alerts on `{prefix}/drill/alerts/…`, where no real
    responder's subscription (`{prefix}/alerts/#`) can see them."""
    root = f"{prefix}/drill/alerts" if alert.drill else f"{prefix}/alerts"
    return f"{root}/{alert.severity}/{alert.kind}"


def alert_payload(alert: Alert) -> bytes:
    return orjson.dumps({"seq": alert.seq, "alert": alert.to_json()})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` HMAC of `timestamp.body`: the timestamp is signed too, so a capture cannot be replayed."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Outbox:
    """A bounded queue of alert changes for one consumer; `publish_alert` never waits."""

    def __init__(self, name: str, queue_max: int) -> None:
        self.name = name
        self.items: deque[Alert] = deque()
        self.queue_max = queue_max
        self.ready = asyncio.Event()
        self.inflight: Alert | None = None  # taken, not yet delivered: retried after a reconnect

    def publish_alert(self, alert: Alert) -> None:
        if len(self.items) >= self.queue_max:
            self.items.popleft()
            DROPPED.labels(self.name).inc()
        self.items.append(alert)
        self.ready.set()

    async def next(self) -> Alert:
        if self.inflight is None:
            while not self.items:
                self.ready.clear()
                await self.ready.wait()
            self.inflight = self.items.popleft()
        return self.inflight

    def done(self) -> None:
        self.inflight = None
        DELIVERED.labels(self.name).inc()


class MqttAlertPublisher(Outbox):
    """Publishes to `{prefix}/alerts/{severity}/{kind}` at QoS 1; the supervisor reconnects it."""

    def __init__(self, address: MqttAddress, mqtt: MqttSettings, settings: DeliverySettings) -> None:
        super().__init__("mqtt", settings.queue_max)
        self.address = address
        self.mqtt = mqtt

    async def run(self) -> None:
        async with client(self.address, self.mqtt, "alerts-out") as link:
            while True:
                alert = await self.next()
                await link.publish(alert_topic(self.mqtt.topic_prefix, alert), alert_payload(alert), qos=1)
                self.done()


class WebhookSender(Outbox):
    """POSTs each alert change, signed, retrying with doubling delays; then gives up on that change."""

    def __init__(
        self,
        target: WebhookSettings,
        settings: DeliverySettings,
        *,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(f"webhook:{target.url}", settings.queue_max)
        self.target = target
        self.settings = settings
        self.sleep = sleep
        self.transport = transport

    def publish_alert(self, alert: Alert) -> None:
        # A drill webhook gets drill alerts only; a real one never does.
        if (
            alert.drill == self.target.drill
            and SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[self.target.min_severity]
        ):
            super().publish_alert(alert)

    async def run(self) -> None:
        async with httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_s, transport=self.transport
        ) as http:
            while True:
                alert = await self.next()
                await self._deliver(http, alert)
                self.done()

    async def _deliver(self, http: httpx.AsyncClient, alert: Alert) -> bool:
        body = alert_payload(alert)
        delay = 1.0
        for attempt in range(1, self.settings.webhook_max_attempts + 1):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(self.target.secret, timestamp, body),
            }
            try:
                response = await http.post(self.target.url, content=body, headers=headers)
                if response.status_code < 300:
                    return True
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            FAILED.labels(self.name).inc()
            log.warning(
                "webhook %s: alert %d attempt %d failed (%s)", self.target.url, alert.id, attempt, problem
            )
            if attempt < self.settings.webhook_max_attempts:
                await self.sleep(delay)
                delay = min(delay * 2, 300.0)
        log.error("webhook %s: gave up on alert %d seq %d", self.target.url, alert.id, alert.seq)
        return False
