"""Drill traffic is marked by identity or feed, once, on the way in; everything else passes untouched."""

from typing import Any

from ingest.drill_sink import DrillMarkingSink
from seawatch.settings import DrillSettings
from tests.sinks import DurableSink

DRILL = DrillSettings(
    mmsi_prefixes=["41299", "97099"],
    terminal_prefixes=["0141299"],
    tag_prefixes=["e2801299"],
    feeds=["drill-rx"],
)


async def marked(record: dict[str, Any], settings: DrillSettings = DRILL) -> bool:
    inner = DurableSink()
    await DrillMarkingSink(inner, settings).put(record)
    (seen,) = inner.records
    return bool(seen.get("drill"))


async def test_records_from_drill_identities_are_marked() -> None:
    assert await marked({"kind": "position", "source": "ais", "mmsi": 412990007, "feed": "ais-tcp"})
    assert await marked({"kind": "position", "source": "ais", "mmsi": 970990001, "feed": "ais-tcp"})
    assert await marked({"kind": "position", "source": "jt808", "terminal": "014129900012", "feed": "jt808"})
    assert await marked({"kind": "tag_read", "source": "tag", "tag_id": "E2801299000000000000000A"})


async def test_every_record_of_a_drill_feed_is_marked() -> None:
    assert await marked({"kind": "position", "source": "ais", "mmsi": 412000001, "feed": "drill-rx"})


async def test_real_traffic_is_not_marked() -> None:
    assert not await marked({"kind": "position", "source": "ais", "mmsi": 412000001, "feed": "ais-tcp"})
    assert not await marked({"kind": "position", "source": "jt808", "terminal": "013800138001"})
    assert not await marked({"kind": "tag_read", "source": "tag", "tag_id": "E2800000000000000000000A"})
    # A prefix matches the start of the identity only.
    assert not await marked({"kind": "position", "source": "ais", "mmsi": 241299000})


async def test_without_drill_settings_nothing_is_marked_and_a_mark_is_never_removed() -> None:
    assert not await marked({"kind": "position", "mmsi": 412990007}, DrillSettings())
    assert await marked({"kind": "position", "mmsi": 412000001, "drill": True}, DrillSettings())
