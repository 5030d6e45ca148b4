"""The record bus: what `--only ingest` hands `--only rules` — its wire format on real records, batching
with distress first, the bounded buffer, and the real broker between publisher and subscriber."""

import asyncio
import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiomqtt
import pytest
from prometheus_client import REGISTRY

from alerts.engine import AlertEngine
from ingest.decode_stream import decode_stream
from seawatch.bus import MqttAddress
from seawatch.record_bus import RecordBusPublisher, decode_records, encode_record, pack, take_records
from seawatch.runtime import build_rules, distress_signals
from seawatch.settings import MqttSettings, RecordBusSettings, Settings
from tests.alerts.test_end_to_end import emergency_button, sart
from tests.ingest.sources.sources_support import eventually
from tracking.anomalies import anomaly
from tracking.db import Pool
from tracking.identity import IdentityRegistry

Record = dict[str, Any]
NOW = datetime(2026, 12, 5, 8, 30, 15, 123456, tzinfo=UTC)


def decoded(data: bytes) -> Record:
    (record,) = list(decode_stream(io.BytesIO(data)))
    assert "error" not in record
    return dict(record)


def as_ingest_gives_it(record: Record, feed: str = "rx") -> Record:
    """What the pipeline adds before the engine sees a record."""
    return {**record, "feed": feed, "received_at": NOW, "peer": None}


def ordinary(mmsi: int, ts: datetime = NOW) -> Record:
    position = decoded(sart(mmsi, 115.40, 22.60))
    position.update(status=0, speed=7.5, ts=ts)
    return as_ingest_gives_it(position)


def round_trip(records: list[Record]) -> list[Record]:
    return decode_records(pack([encode_record(r) for r in records]))


def test_real_records_come_back_as_the_engine_would_have_had_them() -> None:
    distress = as_ingest_gives_it(decoded(sart(970012345, 115.42, 22.62)))
    assert distress["ts"] is None and distress["heading"] is None  # None values travel as None
    button = as_ingest_gives_it(decoded(emergency_button("013800138001", 7)), feed="jt808")
    assert isinstance(button["ts"], datetime) and button["alarms"] == ["emergency"]
    drill = {**ordinary(412000001), "drill": True}
    china = {**ordinary(412000002), "ts": NOW.astimezone(timezone(timedelta(hours=8)))}
    found = anomaly(
        {**ordinary(412000003), "drill": True},
        42,
        "dark_departure",
        {"read_at": NOW - timedelta(minutes=5), "reads": [{"at": NOW}, None], "gate": "G1"},
        NOW,
    )
    looks_like_a_time = {**ordinary(412000004), "text": "2026-12-05T08:30:15+00:00"}
    records = [distress, button, drill, china, found, looks_like_a_time]

    back = round_trip(records)

    assert back == records
    assert [type(r["ts"]) for r in back] == [type(None), datetime, datetime, datetime, datetime, datetime]
    assert back[3]["ts"].utcoffset() == timedelta(hours=8)
    assert back[4]["evidence"]["read_at"] == NOW - timedelta(minutes=5)
    assert back[4]["evidence"]["reads"][0]["at"] == NOW and back[4]["drill"] is True
    assert back[2]["drill"] is True
    assert back[5]["text"] == "2026-12-05T08:30:15+00:00"  # text stays text
    assert isinstance(back[1]["speed"], float) and isinstance(back[1]["msg_id"], int)
    assert distress_signals(back[0]) and distress_signals(back[1]) and not distress_signals(back[2])


def test_values_json_lacks_arrive_as_the_store_writes_them() -> None:
    (back,) = round_trip([{"kind": "binary", "raw": b"\x01\xff", "pair": (1, 2), "tags": {"b", "a"}}])
    assert back == {"kind": "binary", "raw": "01ff", "pair": [1, 2], "tags": ["a", "b"]}


def test_a_message_of_another_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        decode_records(b'{"v":2,"records":[]}')


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def publisher(
    *, batch_max: int = 1000, flush_interval_ms: float = 60_000, queue_max: int = 100_000, **kw: Any
) -> RecordBusPublisher:
    return RecordBusPublisher(
        MqttAddress("127.0.0.1", 1883),
        kw.get("mqtt", MqttSettings()),
        RecordBusSettings(batch_max=batch_max, flush_interval_ms=flush_interval_ms, queue_max=queue_max),
        urgent=distress_signals,
        **{k: v for k, v in kw.items() if k != "mqtt"},
    )


async def test_distress_is_the_next_message_whatever_routine_records_wait() -> None:
    bus = publisher()
    for mmsi in range(412000001, 412000011):
        await bus.publish(ordinary(mmsi))
    assert bus.take() is None  # ten of a batch of a thousand, a minute to wait
    distress = as_ingest_gives_it(decoded(sart(970012345, 115.42, 22.62)))
    await bus.publish(distress)
    message = bus.take()
    assert message is not None
    assert decode_records(message[0]) == [distress] and message[1] == 1
    assert bus.take() is None and len(bus.routine_waiting) == 10


async def test_routine_records_go_in_full_batches_or_once_the_oldest_is_due() -> None:
    clock = Clock()
    bus = publisher(batch_max=3, flush_interval_ms=5, monotonic=clock)
    sent = [ordinary(mmsi) for mmsi in range(412000001, 412000008)]
    for record in sent:
        await bus.publish(record)
    first, second = bus.take(), bus.take()
    assert first is not None and second is not None
    assert decode_records(first[0]) == sent[:3] and decode_records(second[0]) == sent[3:6]
    assert bus.take() is None  # one left, not yet due
    clock.now += 0.005
    last = bus.take()
    assert last is not None and decode_records(last[0]) == sent[6:]


def dropped() -> float:
    return REGISTRY.get_sample_value("seawatch_record_bus_dropped_total", {"reason": "queue_full"}) or 0.0


async def test_a_full_buffer_drops_the_oldest_routine_records_never_distress() -> None:
    bus = publisher(queue_max=3)
    before = dropped()
    routine = [ordinary(mmsi) for mmsi in range(412000001, 412000006)]
    distress = [as_ingest_gives_it(decoded(sart(970012300 + n, 115.4, 22.6))) for n in range(5)]
    for record in routine[:3]:
        await bus.publish(record)
    for record in distress:
        await bus.publish(record)
    for record in routine[3:]:
        await bus.publish(record)
    assert dropped() - before == 2
    assert len(bus.urgent_waiting) == 5 and len(bus.routine_waiting) == 3
    urgent = bus.take()
    assert urgent is not None and decode_records(urgent[0]) == distress
    assert [decode_records(pack([entry]))[0] for _, entry in bus.routine_waiting] == routine[2:]


# --- through the broker ---------------------------------------------------------------------------


def feed_connected() -> float:
    return REGISTRY.get_sample_value("seawatch_ingest_feed_connected", {"feed": "record-bus"}) or 0.0


async def subscribed(task: asyncio.Task[None]) -> None:
    await eventually(lambda: feed_connected() == 1.0 or task.done(), "subscribed", within_s=15)
    assert not task.done(), task


async def stopped(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_distress_crosses_the_broker_while_a_batch_is_still_filling(
    mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    mqtt = MqttSettings(topic_prefix=topic_prefix)
    bus = publisher(mqtt=mqtt)
    bus.address = mqtt_address
    taken: list[Record] = []
    arrived = asyncio.Event()

    async def submit(record: Record) -> None:
        taken.append(record)
        arrived.set()

    rules = asyncio.create_task(take_records(mqtt_address, mqtt, Settings().ingest, submit))
    out = asyncio.create_task(bus.run())
    try:
        async with asyncio.timeout(20):
            await subscribed(rules)
            routine = [ordinary(mmsi) for mmsi in range(412000001, 412000006)]
            for record in routine:
                await bus.publish(record)
            distress = as_ingest_gives_it(decoded(emergency_button("013800138001", 3)), feed="jt808")
            await bus.publish(distress)
            await arrived.wait()
        assert taken == [distress]
        assert len(bus.routine_waiting) == 5  # the batch of 1000 is still filling, for a minute
    finally:
        await stopped(rules, out)


async def test_a_stopping_publisher_sends_what_waits_before_it_goes(
    mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    mqtt = MqttSettings(topic_prefix=topic_prefix)
    bus = publisher(mqtt=mqtt, batch_max=3)  # a minute to flush: only the drain can send them now
    bus.address = mqtt_address
    taken: list[Record] = []

    async def submit(record: Record) -> None:
        taken.append(record)

    rules = asyncio.create_task(take_records(mqtt_address, mqtt, Settings().ingest, submit))
    out = asyncio.create_task(bus.run())
    try:
        async with asyncio.timeout(20):
            await subscribed(rules)
            routine = [ordinary(mmsi) for mmsi in range(412000001, 412000006)]
            for record in routine:
                await bus.publish(record)
            await eventually(lambda: len(taken) == 3, "the full batch", within_s=15)
            assert bus.waiting() == 2
            out.cancel()
            await asyncio.gather(out, return_exceptions=True)
            assert bus.waiting() == 0
            await eventually(lambda: len(taken) == 5, "the drained records", within_s=15)
        assert taken == routine
    finally:
        await stopped(rules, out)


async def test_records_published_while_the_rules_are_away_arrive_when_they_return(
    mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    client_id = f"rules-{topic_prefix.rsplit('/', 1)[-1]}"
    mqtt = MqttSettings(topic_prefix=topic_prefix, client_id=client_id)
    taken: list[Record] = []
    arrived = asyncio.Event()

    async def submit(record: Record) -> None:
        taken.append(record)
        arrived.set()

    bus = publisher(mqtt=MqttSettings(topic_prefix=topic_prefix), batch_max=1)
    bus.address = mqtt_address
    try:
        async with asyncio.timeout(20):
            first = asyncio.create_task(take_records(mqtt_address, mqtt, Settings().ingest, submit))
            await subscribed(first)
            await stopped(first)  # the rules process goes away; its session stays

            sent = [ordinary(412000001), as_ingest_gives_it(decoded(sart(970012345, 115.42, 22.62)))]
            for record in sent:
                await bus.publish(record)
            out = asyncio.create_task(bus.run())
            await eventually(lambda: not bus.waiting() and bus.inflight is None, "published", within_s=15)
            await stopped(out)  # both acknowledged by the broker: queued in the rules' session

            back = asyncio.create_task(take_records(mqtt_address, mqtt, Settings().ingest, submit))
            while len(taken) < 2:
                arrived.clear()
                await arrived.wait()
            await stopped(back)
        assert sorted(taken, key=str) == sorted(sent, key=str)
    finally:
        # End the persistent session, so the broker keeps nothing for it.
        async with aiomqtt.Client(
            mqtt_address.host, mqtt_address.port, identifier=f"{client_id}-records-in", clean_session=True
        ):
            pass


async def test_an_ordinary_record_on_the_bus_reaches_the_rules_state(
    pool: Pool, mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    settings = Settings(mqtt=MqttSettings(topic_prefix=topic_prefix))
    rules = build_rules(settings, pool, mqtt_address, IdentityRegistry(pool), None)
    engine: AlertEngine = rules.engine
    bus = publisher(mqtt=settings.mqtt, batch_max=1)
    bus.address = mqtt_address
    now = datetime.now(UTC)
    tasks = [
        asyncio.create_task(engine.run()),
        asyncio.create_task(take_records(mqtt_address, settings.mqtt, settings.ingest, engine.submit)),
        asyncio.create_task(bus.run()),
    ]
    try:
        async with asyncio.timeout(20):
            await engine.ready.wait()
            await subscribed(tasks[1])
            await bus.publish(ordinary(412000777, now))
            await eventually(
                lambda: any(state.mmsi == 412000777 for state in engine.fleet.states()), "state", within_s=15
            )
        (state,) = [s for s in engine.fleet.states() if s.mmsi == 412000777]
        assert state.ts == now and state.speed == 7.5
    finally:
        await stopped(*tasks)
