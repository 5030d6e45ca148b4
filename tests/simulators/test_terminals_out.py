"""Terminal reports as a gateway's JSON from the simulator through a real broker into the real device
feed: schema-valid, an SOS as the emergency alarm, in the order sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from ingest.devices import decode_terminal_json
from seawatch.bus import MqttAddress
from seawatch.settings import MqttSettings
from simulators.mqtt_out import DevicePublisher
from simulators.terminals_out import terminal_report, terminal_topic
from tests.simulators.support import device_feed_running, eventually

WHEN = datetime(2026, 11, 2, 1, 0, 7, 125000, tzinfo=UTC)
TERMINAL = "014129900042"


def test_a_report_is_what_the_published_schema_asks_for() -> None:
    report = terminal_report(
        terminal=TERMINAL, when=WHEN, lon=115.45, lat=22.56, knots=3.46, course=359.96, alarm_bits=1
    )
    record = decode_terminal_json(terminal_topic("p", TERMINAL), orjson.dumps(report), now=WHEN)
    assert (record["source"], record["ts"], record["lon"], record["lat"]) == (
        "terminal_json",
        WHEN,
        115.45,
        22.56,
    )
    assert (record["speed"], record["course"], record["alarms"]) == (3.5, 0.0, ["emergency"])
    quiet = terminal_report(terminal=TERMINAL, when=WHEN, lon=115.45, lat=22.56, knots=0, course=0)
    assert "alarms" not in quiet


async def test_reports_reach_the_real_device_feed_in_order(
    mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    times = [WHEN + timedelta(minutes=n) for n in range(3)]
    async with device_feed_running(mqtt_address, topic_prefix) as sink:
        sim = MqttSettings(topic_prefix=topic_prefix, client_id=f"sim-{topic_prefix[-12:]}")
        async with DevicePublisher(mqtt_address, sim) as publisher:
            for n, when in enumerate(times):
                report = terminal_report(
                    terminal=TERMINAL, when=when, lon=115.45 + n / 100, lat=22.56, knots=8.0, course=90
                )
                await publisher.publish(terminal_topic(topic_prefix, TERMINAL), report)
        await eventually(lambda: len(sink.records) == 3, "the three reports stored")
    assert [(r["kind"], r["terminal"], r["ts"]) for r in sink.records] == [
        ("position", TERMINAL, when) for when in times
    ]
    assert publisher.sent == 3 and publisher.failed == 0
