"""Fan-out to websocket clients: alerts in order, never dropped; positions coalesced per vessel.

Publishing never waits for a client. Each subscriber has a bounded queue of alerts; one that cannot
keep up is marked `overflowed` and its connection is closed — it reconnects with `since_seq` and gets
every alert it missed from the database. Positions are kept as the latest delta per vessel, so a slow
client skips intermediate positions instead of slowing anyone (the Signal K way).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge

from alerts.model import Alert

log = logging.getLogger(__name__)

STREAMS = frozenset({"alerts", "positions", "vessels"})
ALERT_QUEUE = 1000

SUBSCRIBERS = Gauge("seawatch_ws_subscribers", "Websocket clients subscribed")
OVERFLOWS = Counter(
    "seawatch_ws_overflows", "Clients disconnected because they could not keep up with alerts"
)

BBox = tuple[float, float, float, float]


@dataclass(eq=False)
class Subscriber:
    streams: frozenset[str]
    bbox: BBox | None = None
    alerts: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(ALERT_QUEUE))
    positions: dict[int, dict[str, Any]] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False
    # While a client replays history, live alerts wait here (bounded too) so none slips between the two.
    held: list[dict[str, Any]] | None = None

    def wants_position(self, lon: float, lat: float) -> bool:
        if "positions" not in self.streams:
            return False
        if self.bbox is None:
            return True
        lon1, lat1, lon2, lat2 = self.bbox
        return min(lon1, lon2) <= lon <= max(lon1, lon2) and min(lat1, lat2) <= lat <= max(lat1, lat2)

    def take_positions(self) -> list[dict[str, Any]]:
        taken = list(self.positions.values())
        self.positions.clear()
        return taken


class Hub:
    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()

    def subscribe(
        self, streams: Iterable[str], bbox: BBox | None = None, *, hold: bool = False
    ) -> Subscriber:
        subscriber = Subscriber(streams=frozenset(streams) & STREAMS, bbox=bbox, held=[] if hold else None)
        self.subscribers.add(subscriber)
        SUBSCRIBERS.set(len(self.subscribers))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        SUBSCRIBERS.set(len(self.subscribers))

    def release(self, subscriber: Subscriber, after_seq: int) -> None:
        """End a replay: queue the live alerts held meanwhile that the replay did not already send."""
        held, subscriber.held = subscriber.held or [], None
        for message in held:
            if message["seq"] > after_seq:
                self._queue(subscriber, message)

    def publish_alert(self, alert: Alert) -> None:
        self.publish_alert_json(alert.seq, alert.to_json())

    def publish_alert_json(self, seq: int, alert: dict[str, Any]) -> None:
        """The same, for an alert that arrived as JSON (from another process, over MQTT)."""
        message = {"stream": "alerts", "seq": seq, "alert": alert}
        for subscriber in list(self.subscribers):
            if "alerts" not in subscriber.streams:
                continue
            if subscriber.held is not None:
                if len(subscriber.held) >= ALERT_QUEUE:
                    self._overflow(subscriber)
                else:
                    subscriber.held.append(message)
                continue
            self._queue(subscriber, message)

    def publish_event(self, message: dict[str, Any]) -> None:
        """A vessel event (arrival, departure) to the `vessels` stream: queued like alerts, never dropped."""
        for subscriber in list(self.subscribers):
            if "vessels" in subscriber.streams:
                self._queue(subscriber, message)

    def publish_position(self, vessel_id: int, delta: dict[str, Any]) -> None:
        lon, lat = delta.get("lon"), delta.get("lat")
        if lon is None or lat is None:
            return
        for subscriber in self.subscribers:
            if subscriber.wants_position(float(lon), float(lat)):
                subscriber.positions[vessel_id] = delta  # the newest replaces what the client has not taken
                subscriber.wake.set()

    def _queue(self, subscriber: Subscriber, message: dict[str, Any]) -> None:
        try:
            subscriber.alerts.put_nowait(message)
        except asyncio.QueueFull:
            self._overflow(subscriber)
            return
        subscriber.wake.set()

    def _overflow(self, subscriber: Subscriber) -> None:
        if not subscriber.overflowed:
            subscriber.overflowed = True
            OVERFLOWS.inc()
            log.warning(
                "websocket client cannot keep up with alerts; disconnecting it to resume with since_seq"
            )
        subscriber.wake.set()
