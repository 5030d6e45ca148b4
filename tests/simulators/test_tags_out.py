"""Gate tag reads from the simulator through a real broker into the real device feed, schema-valid."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from ingest.devices import decode_tag_read
from seawatch.bus import MqttAddress
from seawatch.settings import MqttSettings
from simulators.mqtt_out import DevicePublisher
from simulators.tags_out import tag_read, tag_topic
from tests.simulators.support import device_feed_running, eventually

WHEN = datetime(2026, 11, 2, 1, 0, 7, 125000, tzinfo=UTC)


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
    async with device_feed_running(mqtt_address, topic_prefix) as sink:
        sim = MqttSettings(topic_prefix=topic_prefix, client_id=f"sim-{topic_prefix[-12:]}")
        async with DevicePublisher(mqtt_address, sim) as publisher:
            for n, direction in enumerate(("out", "in")):
                await publisher.publish(
                    tag_topic(topic_prefix, "gate-shanwei-port"),
                    tag_read(
                        reader="gate-shanwei-port",
                        tag=f"E2801299{n:016X}",
                        when=WHEN,
                        direction=direction,
                        lon=115.34,
                        lat=22.76,
                    ),
                )
        await eventually(lambda: len(sink.records) == 2, "both reads stored")
    assert [(r["kind"], r["direction"], r["reader"]) for r in sink.records] == [
        ("tag_read", "out", "gate-shanwei-port"),
        ("tag_read", "in", "gate-shanwei-port"),
    ]
    assert publisher.sent == 2 and publisher.failed == 0
