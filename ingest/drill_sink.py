"""Drill traffic on the ingest path: the one place that marks records `drill: true`.

NMEA and JT/T 808 have no drill flag, so a drill is recognised by who is talking: the identities a drill
uses (the simulator's reserved MMSI, terminal and tag ranges, `DrillSettings`) or the feed it comes in
on. The ingest service puts this sink outermost, so the store, the identity-anomaly detector and the
alert engine all see the flag: anomalies inherit it from their trigger, vessel states from their
records (`tracking.fleet.fold`), alerts from the vessel state (`alerts.engine`). A record already marked
(a terminal JSON gateway replaying a drill) keeps its mark; nothing here ever unmarks one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ingest.pipeline import RecordSink
from seawatch.settings import DrillSettings

Record = dict[str, Any]


class DrillMatcher:
    """Whether a record belongs to a drill, by feed or by identity prefix."""

    def __init__(self, settings: DrillSettings) -> None:
        self.feeds = frozenset(settings.feeds)
        self.mmsi = tuple(p.strip() for p in settings.mmsi_prefixes if p.strip())
        self.terminal = tuple(p.strip() for p in settings.terminal_prefixes if p.strip())
        # Tag ids are compared upper-cased, as `ingest.devices` and the registry store them.
        self.tag = tuple(p.strip().upper() for p in settings.tag_prefixes if p.strip())

    @property
    def active(self) -> bool:
        return bool(self.feeds or self.mmsi or self.terminal or self.tag)

    def is_drill(self, record: Record) -> bool:
        if record.get("feed") in self.feeds:
            return True
        mmsi = record.get("mmsi")
        if self.mmsi and mmsi is not None and str(mmsi).startswith(self.mmsi):
            return True
        terminal = record.get("terminal")
        if self.terminal and terminal and str(terminal).startswith(self.terminal):
            return True
        tag = record.get("tag_id") or record.get("tag")
        return bool(self.tag and tag and str(tag).upper().startswith(self.tag))


class DrillMarkingSink:
    """A `RecordSink` that sets `drill: true` on drill records, then hands every record on."""

    def __init__(self, sink: RecordSink, settings: DrillSettings) -> None:
        self.sink = sink
        self.matcher = DrillMatcher(settings)

    async def put(self, record: Record) -> asyncio.Future[None]:
        if self.matcher.active and not record.get("drill") and self.matcher.is_drill(record):
            record["drill"] = True
        return await self.sink.put(record)
