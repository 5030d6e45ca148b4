"""The ingest components of a process: the record store, one reader per configured feed, the JT/T 808
server, the device (gate and terminal JSON) feed. Built here so `seawatch run` and `seawatch demo` wire
them the same way. Readers put into a `DrillMarkingSink` (drill traffic marked by identity or feed) around
an `AnomalySink` (which adds identity anomalies) around the store."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ingest.anomaly_sink import AnomalySink, run_overdue_checks
from ingest.dedup import Deduplicator
from ingest.device_feed import DeviceFeed
from ingest.drill_sink import DrillMarkingSink
from ingest.jt808_server import Jt808Server
from ingest.observed_sink import ObservedSink, Observer
from ingest.pipeline import NmeaFeedHandler, Pipeline, RecordSink, ais_steps
from ingest.sources import open_source
from ingest.terminal_auth import TerminalAuthStore
from seawatch.bus import MqttAddress
from seawatch.settings import FeedSettings, Settings
from seawatch.supervisor import Component
from tracking.anomalies import AnomalyDetector
from tracking.db import Pool
from tracking.identity import IdentityRegistry
from tracking.store import RecordStore

log = logging.getLogger(__name__)


#: The longest a busy feed holds the event loop before letting the other tasks run.
YIELD_EVERY_S = 0.002


def spool_dir(settings: Settings) -> Path:
    return settings.store.spool_dir or settings.data_dir / "spool"


async def run_feed(feed: FeedSettings, settings: Settings, sink: RecordSink, dedup: Deduplicator) -> None:
    """Read one feed into the sink until cancelled (a file feed: until its end, then idle)."""
    handler = NmeaFeedHandler(feed.name, settings.ingest, Pipeline(ais_steps(dedup, feed.name)), sink)
    mqtt = MqttAddress.parse(settings.mqtt_url) if feed.kind == "mqtt" else None
    loop = asyncio.get_running_loop()
    try:
        async with open_source(feed, settings.ingest, mqtt=mqtt, mqtt_settings=settings.mqtt) as lines:
            due = loop.time() + YIELD_EVERY_S
            async for line in lines:
                await handler.handle(line)
                # A full source queue hands lines over without suspending: yield so that one busy
                # feed cannot hold the event loop, and the rules and other feeds keep up with it —
                # every few milliseconds, not every line (a turn of the loop costs as much as a line).
                if loop.time() >= due:
                    await asyncio.sleep(0)
                    due = loop.time() + YIELD_EVERY_S
    finally:
        await handler.drain()
    log.info("feed %s: end of input", feed.name)
    # Only a file ends; staying here keeps the supervisor from reading it again.
    await asyncio.Event().wait()


class IngestService:
    def __init__(
        self,
        settings: Settings,
        pool: Pool,
        *,
        observe: Observer | None = None,
        registry: IdentityRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.store = RecordStore(
            pool, settings.store, spool_dir(settings), queue_max=settings.ingest.queue_max, registry=registry
        )
        # One deduplicator for all feeds: overlapping receivers arrive on different feeds.
        self.dedup = Deduplicator(settings.ingest.dedup_window_s)
        # The store's identity registry: one cache, and the same provisional vessels as the store.
        self.anomalies = AnomalyDetector(self.store.registry, settings.identity)
        # Records and the anomalies they reveal reach the store and, when given, the alert engine.
        observed: RecordSink = self.store if observe is None else ObservedSink(self.store, observe)
        # Outermost: the store, the anomaly detector and the alert engine all see a record's drill mark.
        self.sink: RecordSink = DrillMarkingSink(AnomalySink(observed, self.anomalies), settings.drill)
        self.jt808 = (
            Jt808Server(settings.jt808, self.sink, TerminalAuthStore(pool))
            if settings.jt808.enabled
            else None
        )
        self.devices = (
            DeviceFeed(
                MqttAddress.parse(settings.mqtt_url),
                self.sink,
                devices=settings.devices,
                ingest=settings.ingest,
                mqtt=settings.mqtt,
            )
            if settings.devices.enabled
            else None
        )

    def components(self) -> list[Component]:
        components = [Component("store", self.store.run, role="ingest")]
        for feed in self.settings.ingest.feeds:
            components.append(
                Component(
                    f"feed:{feed.name}",
                    lambda feed=feed: run_feed(feed, self.settings, self.sink, self.dedup),  # type: ignore[misc]
                    role="ingest",
                )
            )
        if self.jt808 is not None:
            components.append(Component("jt808", self.jt808.run, role="ingest"))
        if self.devices is not None:
            components.append(Component("devices", self.devices.run, role="ingest"))
        components.append(
            Component(
                "identity-anomalies",
                lambda: run_overdue_checks(self.anomalies.overdue, self.sink),
                role="ingest",
            )
        )
        return components
