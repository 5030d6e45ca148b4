import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.dedup import Deduplicator
from ingest.lines import RawLine
from ingest.pipeline import NamedStep, NmeaFeedHandler, Pipeline, ais_steps
from seawatch.settings import IngestSettings
from tests.sinks import PendingSink
from tracking.rows import RejectedRecord

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
POSITION = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30"
BASE_STATION = b"!AIVDM,1,1,,A,403Ovl@000Htt<tSF0l4Q@100`Pq,0*28"


def test_a_failing_step_is_skipped_and_the_record_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    def broken(record: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("enrichment bug")

    def mark(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "marked": True}

    pipeline = Pipeline([NamedStep("broken", broken), NamedStep("mark", mark)])
    assert pipeline({"kind": "position"}) == {"kind": "position", "marked": True}
    assert "pipeline step broken failed" in caplog.text


def test_a_step_returning_none_drops_the_record() -> None:
    assert (
        Pipeline([NamedStep("drop", lambda r: None), NamedStep("never", lambda r: 1 / 0)])({"a": 1}) is None
    )


def handler(sink: PendingSink, window: float = 5.0) -> NmeaFeedHandler:
    dedup = Deduplicator(window)
    return NmeaFeedHandler("rx", IngestSettings(), Pipeline(ais_steps(dedup, "rx")), sink)


async def test_lines_become_stamped_records_and_bad_lines_cost_only_themselves() -> None:
    sink = PendingSink()
    feed = handler(sink)
    for data in (POSITION, b"garbage", BASE_STATION):
        await feed.handle(RawLine(data, NOW, "rx"))
    assert [r["msg_type"] for r in sink.records] == [1, 4]
    assert all(r["feed"] == "rx" and r["received_at"] == NOW for r in sink.records)


async def test_a_copy_from_another_receiver_counts_as_a_receiver() -> None:
    sink = PendingSink()
    feed = handler(sink)
    await feed.handle(RawLine(POSITION, NOW, "rx", peer="10.0.0.1:5000"))
    await feed.handle(RawLine(POSITION, NOW, "rx", peer="10.0.0.2:5000"))
    assert len(sink.records) == 1
    assert sink.records[0]["receivers"] == 2


async def test_an_acknowledgement_waits_until_the_records_are_durable() -> None:
    sink = PendingSink()
    feed = handler(sink)
    acked = asyncio.Event()

    async def ack() -> None:
        acked.set()

    await feed.handle(RawLine(POSITION, NOW, "rx", ack=ack))
    await feed.handle(RawLine(BASE_STATION, NOW, "rx"))  # reading goes on meanwhile
    await asyncio.sleep(0.01)
    assert not acked.is_set()
    for future in sink.futures:
        future.set_result(None)
    await asyncio.wait_for(acked.wait(), 1)


async def test_a_record_refused_for_good_does_not_block_the_acknowledgement() -> None:
    sink = PendingSink()
    feed = handler(sink)
    acked = asyncio.Event()

    async def ack() -> None:
        acked.set()

    await feed.handle(RawLine(POSITION, NOW, "rx", peer="topic", ack=ack))
    sink.futures[0].set_exception(RejectedRecord("no_identity", "nothing to file it under"))
    await asyncio.wait_for(acked.wait(), 1)


async def test_one_ack_covers_every_line_of_its_message() -> None:
    sink = PendingSink()
    feed = handler(sink)
    acked = asyncio.Event()

    async def ack() -> None:
        acked.set()

    # An MQTT message of two lines: the first line's record, then a last line that decodes to nothing.
    await feed.handle(RawLine(POSITION, NOW, "rx", peer="topic"))
    await feed.handle(RawLine(b"not nmea", NOW, "rx", peer="topic", ack=ack))
    await asyncio.sleep(0.01)
    assert not acked.is_set()
    sink.futures[0].set_result(None)
    await asyncio.wait_for(acked.wait(), 1)


async def test_a_failed_store_leaves_the_message_unacknowledged() -> None:
    sink = PendingSink()
    feed = handler(sink)
    acked = asyncio.Event()

    async def ack() -> None:
        acked.set()

    await feed.handle(RawLine(POSITION, NOW, "rx", ack=ack))
    sink.futures[0].set_exception(RuntimeError("cannot store"))
    await feed.drain()
    assert not acked.is_set()
