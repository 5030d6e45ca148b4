"""The device feed: gate tag reads and terminal JSON over a real broker into a real database.

The restart test runs its own Mosquitto with persistence, stops it in the middle of a stream and starts
it again, and checks that every message a device was told was received is stored exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
import psycopg
import pytest
from prometheus_client import REGISTRY

from ingest.device_feed import DeviceFeed, DeviceMessageHandler, device_streams
from ingest.lines import RawLine
from seawatch.bus import MqttAddress
from seawatch.embedded import free_port
from seawatch.settings import DevicesSettings, IngestSettings, MqttSettings, StoreSettings
from tests.sinks import PendingSink
from tracking.db import Pool
from tracking.rows import RejectedRecord
from tracking.store import RecordStore

T0 = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
IN_CI = os.environ.get("CI", "").lower() == "true"


# --- helpers -------------------------------------------------------------------------------------------


def tag_read(reader: str, n: int, **changes: Any) -> bytes:
    payload = {
        "reader": reader,
        "tag": f"E2000000000000000000{n:04X}",
        "time": (T0 + timedelta(seconds=n)).isoformat(),
        "direction": "out" if n % 2 else "in",
        "rssi": -60.0,
        "lon": 115.3621,
        "lat": 22.7745,
    }
    payload.update(changes)
    return json.dumps(payload).encode()


def terminal_report(terminal: str, n: int, **changes: Any) -> bytes:
    payload = {
        "terminal": terminal,
        "time": (T0 + timedelta(seconds=n)).isoformat(),
        "lat": 22.6 + n * 1e-4,
        "lon": 115.4,
        "speed_kmh": 11.1,
        "alarms": {"sos": n == 3},
    }
    payload.update(changes)
    return json.dumps(payload, indent=2).encode()  # pretty-printed: newlines inside one message


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def invalid(feed: str, reason: str) -> float:
    return metric("seawatch_ingest_invalid_total", feed=feed, reason=reason)


def reconnects(feed: str) -> float:
    return metric("seawatch_ingest_feed_reconnects_total", feed=feed)


def connected(feed: str) -> float:
    return metric("seawatch_ingest_feed_connected", feed=feed)


def query(dsn: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement).fetchall()  # type: ignore[arg-type]


def stored(dsn: str) -> dict[str, int]:
    [(events, positions)] = query(
        dsn, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM positions)"
    )
    return {"events": int(events), "positions": int(positions)}


async def eventually(condition: Callable[[], bool], what: str, within_s: float = 15.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.05)


def mqtt_settings(topic_prefix: str) -> MqttSettings:
    # A client id of its own, so no other test (or earlier run) shares the persistent sessions.
    return MqttSettings(topic_prefix=topic_prefix, client_id=f"seawatch-test-{uuid.uuid4().hex[:8]}")


async def forget_sessions(address: MqttAddress, mqtt: MqttSettings) -> None:
    for stream in device_streams(mqtt):
        identifier = f"{mqtt.client_id}-feed-{stream.feed}"
        async with aiomqtt.Client(address.host, address.port, identifier=identifier, clean_session=True):
            pass


@asynccontextmanager
async def running(
    pool: Pool, tmp_path: Path, address: MqttAddress, mqtt: MqttSettings
) -> AsyncIterator[None]:
    """The record store and the device feed, until the block ends."""
    store = RecordStore(pool, StoreSettings(batch_max_rows=50, flush_interval_ms=20), tmp_path / "spool")
    feed = DeviceFeed(
        address,
        store,
        devices=DevicesSettings(max_payload_bytes=4096),
        ingest=IngestSettings(reconnect_initial_s=0.1, reconnect_max_s=0.5),
        mqtt=mqtt,
    )
    tasks = [asyncio.create_task(store.run()), asyncio.create_task(feed.run())]
    try:
        await eventually(
            lambda: all(connected(s.feed) == 1 for s in feed.streams), "both streams subscribed", 10
        )
        yield
    finally:
        for task in reversed(tasks):
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def publish(address: MqttAddress, *messages: tuple[str, bytes]) -> None:
    async with aiomqtt.Client(address.host, address.port) as publisher:
        for topic, payload in messages:
            await publisher.publish(topic, payload, qos=1)


# --- against the shared broker -------------------------------------------------------------------------


async def test_tag_reads_and_terminal_reports_become_rows_and_bad_payloads_cost_only_themselves(
    pool: Pool, database_url: str, mqtt_address: MqttAddress, topic_prefix: str, tmp_path: Path
) -> None:
    mqtt = mqtt_settings(topic_prefix)
    tags, terminals = f"{topic_prefix}/tags/gate-1", f"{topic_prefix}/terminals/013912345678"
    before = {
        "bad_json": invalid("devices-tags", "bad_json"),
        "schema": invalid("devices-terminals", "schema"),
        "topic_mismatch": invalid("devices-tags", "topic_mismatch"),
        "too_long": invalid("devices-terminals", "too_long"),
    }
    try:
        async with asyncio.timeout(30), running(pool, tmp_path, mqtt_address, mqtt):
            await publish(
                mqtt_address,
                (tags, tag_read("gate-1", 1)),
                (tags, b"{not json"),
                (tags, tag_read("gate-2", 2)),  # the topic names another reader
                (tags, tag_read("gate-1", 3)),
                (terminals, terminal_report("013912345678", 3)),
                (terminals, terminal_report("013912345678", 4, lat=123.0)),
                (terminals, b"{" + b" " * 5000 + b"}"),  # over max_payload_bytes
                (terminals, terminal_report("013912345678", 5)),
            )
            await eventually(lambda: stored(database_url) == {"events": 2, "positions": 2}, "rows stored")
        assert invalid("devices-tags", "bad_json") - before["bad_json"] == 1
        assert invalid("devices-tags", "topic_mismatch") - before["topic_mismatch"] == 1
        assert invalid("devices-terminals", "schema") - before["schema"] == 1
        assert invalid("devices-terminals", "too_long") - before["too_long"] == 1

        rows = query(database_url, "SELECT kind, source, data FROM events ORDER BY ts")
        assert [(kind, source, data["tag_id"], data["direction"]) for kind, source, data in rows] == [
            ("tag_read", "tag", "E20000000000000000000001", "out"),
            ("tag_read", "tag", "E20000000000000000000003", "out"),
        ]
        positions = query(
            database_url, "SELECT source, round(speed::numeric, 2)::float8 FROM positions ORDER BY ts"
        )
        assert positions == [("terminal_json", 5.99), ("terminal_json", 5.99)]  # 11.1 km/h in knots

        # Everything was acknowledged, the bad payloads too: a new session start redelivers nothing.
        async with asyncio.timeout(30), running(pool, tmp_path, mqtt_address, mqtt):
            await publish(mqtt_address, (tags, tag_read("gate-1", 7)))
            await eventually(lambda: stored(database_url)["events"] == 3, "the new read stored")
            await asyncio.sleep(0.3)
        assert stored(database_url) == {"events": 3, "positions": 2}
        assert invalid("devices-tags", "bad_json") - before["bad_json"] == 1
    finally:
        await forget_sessions(mqtt_address, mqtt)


async def test_an_sos_over_json_is_stored_as_the_jt808_emergency_alarm(
    pool: Pool, database_url: str, mqtt_address: MqttAddress, topic_prefix: str, tmp_path: Path
) -> None:
    mqtt = mqtt_settings(topic_prefix)
    try:
        async with asyncio.timeout(30), running(pool, tmp_path, mqtt_address, mqtt):
            # The SOS without a fix still arrives (as an event); the one with a fix is a position.
            no_fix = terminal_report("013900000001", 3, lat=None, lon=None)
            await publish(
                mqtt_address,
                (f"{topic_prefix}/terminals/013900000001", no_fix),
                (f"{topic_prefix}/terminals/013900000001", terminal_report("013900000001", 3)),
            )
            await eventually(lambda: stored(database_url) == {"events": 1, "positions": 1}, "both stored")
        [(kind, data)] = query(database_url, "SELECT kind, data FROM events")
        assert kind == "position"
        assert data["alarms"] == ["emergency"]
        assert data["alarm_bits"] & 1
    finally:
        await forget_sessions(mqtt_address, mqtt)


# --- the handler on its own: acknowledgements and redelivered copies ---------------------------------------


class Acks:
    def __init__(self) -> None:
        self.done: list[int] = []

    def for_message(self, number: int) -> Callable[[], Any]:
        async def ack() -> None:
            self.done.append(number)

        return ack


def line(payload: bytes, ack: Callable[[], Any] | None, topic: str = "p/tags/gate-1") -> RawLine:
    return RawLine(payload, T0 + timedelta(minutes=1), "devices-tags", topic, ack)


def handler(sink: PendingSink) -> DeviceMessageHandler:
    return DeviceMessageHandler(
        device_streams(MqttSettings(topic_prefix="p"))[0], sink, max_payload_bytes=4096
    )


async def test_a_redelivered_copy_is_acknowledged_without_being_stored_again() -> None:
    sink, acks = PendingSink(), Acks()
    feed = handler(sink)
    await feed.handle(line(tag_read("gate-1", 1), acks.for_message(1)))
    await feed.handle(line(tag_read("gate-1", 1), acks.for_message(2)))  # the broker sends it again
    assert len(sink.records) == 1
    await asyncio.sleep(0.01)
    assert acks.done == []  # neither before the record is durable
    sink.futures[0].set_result(None)
    await feed.drain()
    assert sorted(acks.done) == [1, 2]
    await feed.handle(line(tag_read("gate-1", 1), acks.for_message(3)))  # and once more, after
    await feed.drain()
    assert len(sink.records) == 1
    assert sorted(acks.done) == [1, 2, 3]


async def test_a_copy_of_a_message_whose_store_failed_is_stored_again() -> None:
    sink, acks = PendingSink(), Acks()
    feed = handler(sink)
    await feed.handle(line(tag_read("gate-1", 1), acks.for_message(1)))
    sink.futures[0].set_exception(RuntimeError("the database is away and the spool too"))
    await feed.drain()
    assert acks.done == []  # left for the broker to deliver again
    await feed.handle(line(tag_read("gate-1", 1), acks.for_message(2)))
    assert len(sink.records) == 2
    sink.futures[1].set_result(None)
    await feed.drain()
    assert acks.done == [2]


async def test_a_record_refused_by_the_store_is_acknowledged_and_a_bad_payload_at_once() -> None:
    sink, acks = PendingSink(), Acks()
    feed = handler(sink)
    await feed.handle(line(tag_read("gate-1", 1), acks.for_message(1)))
    await feed.handle(line(b"[]", acks.for_message(2)))
    assert acks.done == [2]
    sink.futures[0].set_exception(RejectedRecord("bad_field", "refused for good"))
    await feed.drain()
    assert acks.done == [2, 1]


async def test_different_reads_of_one_tag_are_different_messages() -> None:
    sink = PendingSink()
    feed = handler(sink)
    await feed.handle(line(tag_read("gate-1", 1), None))
    await feed.handle(line(tag_read("gate-1", 1, direction="in"), None))
    await feed.handle(line(tag_read("gate-1", 1, time=(T0 + timedelta(seconds=9)).isoformat()), None))
    assert len(sink.records) == 3


# --- a broker restart in the middle of a stream ----------------------------------------------------------


class PrivateMosquitto:
    """Mosquitto on a free port with persistence in a folder, which survives `restart`."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            message = "mosquitto is not installed"
            if IN_CI:
                pytest.fail(message + " (CI=true: .ci/run installs it)")
            pytest.skip(message)
        self.binary = binary
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        # Started as root, Mosquitto drops to the `mosquitto` user, which cannot write in pytest's private
        # temporary folders: its persistence would silently fail, and the restart lose everything.
        user = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n{user}"
            f"persistence true\npersistence_location {folder}/\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def address(self) -> MqttAddress:
        return MqttAddress("127.0.0.1", self.port)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        # SIGTERM: Mosquitto writes its persistence file (sessions, queued and in-flight messages) and exits.
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    broker = PrivateMosquitto(folder)
    try:
        yield broker
    finally:
        broker.stop()


class Gateway:
    """A device-side publisher: paho with a persistent session, resending unacknowledged messages itself
    after a reconnect, as gate readers and terminal gateways do."""

    def __init__(self, address: MqttAddress) -> None:
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"gateway-{uuid.uuid4().hex[:8]}", clean_session=False
        )
        self.client.reconnect_delay_set(0.1, 0.5)
        # PUBACKs by message id (is_published() raises for a message queued while disconnected).
        self.acknowledged: set[int] = set()
        self.client.on_publish = lambda client, userdata, mid, reason, properties: self.acknowledged.add(mid)
        self.client.connect(address.host, address.port, keepalive=5)
        self.client.loop_start()
        self.sent: list[paho.MQTTMessageInfo] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent.append(self.client.publish(topic, payload, qos=1))

    def all_acknowledged(self) -> bool:
        return {info.mid for info in self.sent} <= self.acknowledged

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def test_a_broker_restart_mid_stream_loses_nothing_and_stores_nothing_twice(
    pool: Pool, database_url: str, private_broker: PrivateMosquitto, tmp_path: Path
) -> None:
    prefix = f"seawatch-test/{uuid.uuid4().hex[:8]}"
    mqtt = mqtt_settings(prefix)
    count = 120  # per stream
    halfway = threading.Event()
    gateway = Gateway(private_broker.address)

    def stream() -> None:
        for n in range(count):
            gateway.publish(f"{prefix}/tags/gate-1", tag_read("gate-1", n))
            gateway.publish(f"{prefix}/terminals/013912345678", terminal_report("013912345678", n))
            if n == count // 2:
                halfway.set()
            time.sleep(0.01)

    reconnects_before = [reconnects(s.feed) for s in device_streams(mqtt)]
    try:
        async with asyncio.timeout(90), running(pool, tmp_path, private_broker.address, mqtt):
            publishing = asyncio.create_task(asyncio.to_thread(stream))
            await asyncio.to_thread(halfway.wait, 10)
            await asyncio.to_thread(private_broker.restart)
            await publishing
            await eventually(gateway.all_acknowledged, "every message acknowledged to the gateway", 30)
            expected = {"events": count, "positions": count}
            await eventually(lambda: stored(database_url) == expected, "every message stored", 30)
            await asyncio.sleep(1.0)  # time for any late redelivered copy to arrive
    finally:
        await asyncio.to_thread(gateway.close)
    # The restart cut both streams' links in the middle. The broker then redelivers what it had sent
    # but not seen acknowledged, and the gateway resends what the broker had not acknowledged to it:
    # such copies (typically a handful per run) are recognised, and acknowledged without a second row.
    assert [reconnects(s.feed) for s in device_streams(mqtt)] == [n + 1 for n in reconnects_before]
    assert stored(database_url) == expected
    tags = query(database_url, "SELECT data->>'tag_id', count(*) FROM events GROUP BY 1 HAVING count(*) > 1")
    assert tags == []
    fixes = query(database_url, "SELECT ts, count(*) FROM positions GROUP BY 1 HAVING count(*) > 1")
    assert fixes == []
