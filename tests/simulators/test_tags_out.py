"""Gate tag reads from the simulator through a real broker into the real device feed, schema-valid."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson

from ingest.device_feed import DeviceFeed
from ingest.devices import decode_tag_read
from seawatch.bus import MqttAddress
from seawatch.settings import DevicesSettings, IngestSettings, MqttSettings
from simulators.tags_out import TagPublisher, tag_read, tag_topic
from tests.simulators.support import eventually

WHEN = datetime(2026, 11, 2, 1, 0, 7, 125000, tzinfo=UTC)


class Collect:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def put(self, record: dict[str, Any]) -> asyncio.Future[None]:
        self.records.append(record)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_a_read_is_what_the_published_schema_asks_for() -> None:
    read = tag_read(
        reader="gate-zhelang-port",
        tag="E2801299000000000000002A",
        when=WHEN,
        direction="out",
        lon=115.55,
        lat=22.65,
        zone="zhelang-port",
    )
    record = decode_tag_read(tag_topic("p", "gate-zhelang-port"), orjson.dumps(read), now=WHEN)
    assert (record["tag_id"], record["direction"], record["zone"], record["ts"]) == (
        "E2801299000000000000002A",
        "out",
        "zhelang-port",
        WHEN,
    )


async def test_reads_reach_the_real_device_feed(mqtt_address: MqttAddress, topic_prefix: str) -> None:
    settings = MqttSettings(topic_prefix=topic_prefix, client_id=f"tags-{topic_prefix[-12:]}")
    sink = Collect()
    feed = DeviceFeed(mqtt_address, sink, devices=DevicesSettings(), ingest=IngestSettings(), mqtt=settings)
    task = asyncio.create_task(feed.run())
    try:
        async with asyncio.timeout(20):
            await asyncio.sleep(1.0)  # subscribed
            sim = MqttSettings(topic_prefix=topic_prefix, client_id=f"sim-{topic_prefix[-12:]}")
            async with TagPublisher(mqtt_address, sim) as publisher:
                for n, direction in enumerate(("out", "in")):
                    await publisher.publish(
                        tag_read(
                            reader="gate-shanwei-port",
                            tag=f"E2801299{n:016X}",
                            when=WHEN,
                            direction=direction,
                            lon=115.34,
                            lat=22.76,
                        )
                    )
            await eventually(lambda: len(sink.records) == 2, "both reads stored")
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=10)
    assert [(r["kind"], r["direction"], r["reader"]) for r in sink.records] == [
        ("tag_read", "out", "gate-shanwei-port"),
        ("tag_read", "in", "gate-shanwei-port"),
    ]
    assert publisher.sent == 2 and publisher.failed == 0
