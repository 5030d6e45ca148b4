"""The MQTT source against the real broker: QoS 1, a persistent session, and acks only when durable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiomqtt
import pytest
from sources_support import (
    FIXED_TIME,
    RecordingSleep,
    TcpProxy,
    bounded,
    connected,
    dropped,
    eventually,
    feed,
    fixed_clock,
    ingest_settings,
    lines_in,
    reconnects,
    take,
    too_long,
)

from ingest.lines import RawLine
from ingest.sources.mqtt import MqttSource
from seawatch.bus import MqttAddress
from seawatch.settings import FeedSettings, MqttSettings

MQTT_SETTINGS = MqttSettings(client_id="seawatch-test")
SENTENCES = [
    b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23",
    b"!AIVDM,1,1,,A,133sVfPP00PD>hRMDH@jNOvN20S8,0*7F",
    b"!AIVDM,1,1,,B,100h00PP0@PHFV`Mg5gTH?vNPUIp,0*3B",
]


@pytest.fixture
async def config(topic_prefix: str, mqtt_address: MqttAddress) -> AsyncIterator[FeedSettings]:
    """A feed on this test's topics; its persistent session is removed from the broker afterwards."""
    settings = feed("mqtt", f"{topic_prefix}/raw/#")
    yield settings
    identifier = f"{MQTT_SETTINGS.client_id}-feed-{settings.name}"
    async with aiomqtt.Client(
        mqtt_address.host, mqtt_address.port, identifier=identifier, clean_session=True
    ):
        pass


async def publish(address: MqttAddress, topic: str, *payloads: bytes) -> None:
    async with aiomqtt.Client(address.host, address.port) as publisher:
        for payload in payloads:
            await publisher.publish(topic, payload, qos=1)


def source_for(config: FeedSettings, address: MqttAddress, **kwargs: object) -> MqttSource:
    return MqttSource(config, ingest_settings(), address, mqtt_settings=MQTT_SETTINGS, **kwargs)  # type: ignore[arg-type]


async def subscribed(source: MqttSource) -> asyncio.Task[RawLine]:
    """Start waiting for the next line and return once the subscription is in place."""
    pending = asyncio.create_task(anext(source))
    await eventually(lambda: connected(source.feed) == 1 or pending.done(), "subscribed")
    return pending


@bounded
async def test_a_payload_of_several_lines_arrives_in_order_and_only_the_last_acks(
    config: FeedSettings, mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    async with source_for(config, mqtt_address, clock=fixed_clock) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", b"\r\n".join(SENTENCES) + b"\r\n")
        lines = [await pending, *await take(source, 2)]
        assert lines[-1].ack is not None
        await lines[-1].ack()
    assert [line.data for line in lines] == SENTENCES
    assert {(line.feed, line.peer, line.received_at) for line in lines} == {
        (config.name, f"{topic_prefix}/raw/rx1", FIXED_TIME)
    }
    assert [line.ack is None for line in lines] == [True, True, False]
    assert lines_in(config.name) == 3


@bounded
async def test_a_message_is_redelivered_until_its_ack_is_awaited(
    config: FeedSettings, mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    async with source_for(config, mqtt_address) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", SENTENCES[0])
        line = await pending
        # Not acked: the records were never made durable (seawatch stopped, say).

    async with source_for(config, mqtt_address) as source:
        again = await anext(source)  # the persistent session brings it back
        assert again.data == SENTENCES[0]
        assert again.ack is not None
        await again.ack()
    assert line.data == SENTENCES[0]

    async with source_for(config, mqtt_address) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", SENTENCES[1])
        assert (await pending).data == SENTENCES[1]  # the acked message did not come back


@bounded
async def test_acks_are_released_in_arrival_order(
    config: FeedSettings, mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    async with source_for(config, mqtt_address) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", SENTENCES[0], SENTENCES[1])
        first, second = await pending, await anext(source)
        assert second.ack is not None
        await second.ack()  # held back: the first message is not durable yet

    async with source_for(config, mqtt_address) as source:
        redelivered = await take(source, 2)
        assert [line.data for line in redelivered] == SENTENCES[:2]
        for line in redelivered:
            assert line.ack is not None
            await line.ack()
    assert first.data == SENTENCES[0]

    async with source_for(config, mqtt_address) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", SENTENCES[2])
        assert (await pending).data == SENTENCES[2]


@bounded
async def test_a_message_with_nothing_usable_is_acked_at_once(
    config: FeedSettings, mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    async with source_for(config, mqtt_address) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", b"x" * 1_000_000, SENTENCES[0])
        line = await pending  # the megabyte line cost only itself
        assert line.data == SENTENCES[0]
        assert line.ack is not None
        await line.ack()
    assert too_long(config.name) == 1

    async with source_for(config, mqtt_address) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", SENTENCES[1])
        assert (await pending).data == SENTENCES[1]


@bounded
async def test_a_lost_link_is_reestablished_and_unacked_messages_come_back(
    config: FeedSettings, mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    proxy = TcpProxy(mqtt_address.host, mqtt_address.port)
    await proxy.start()

    async def on_sleep(count: int) -> None:
        assert connected(config.name) == 0
        if count == 2:  # one attempt failed while the broker was unreachable; now it is back
            await proxy.start()

    sleep = RecordingSleep(on_sleep)
    via_proxy = MqttAddress("127.0.0.1", proxy.port)
    try:
        async with source_for(config, via_proxy, sleep=sleep) as source:
            pending = await subscribed(source)
            await publish(mqtt_address, f"{topic_prefix}/raw/rx1", SENTENCES[0])
            line = await pending
            await proxy.stop()
            again = await anext(source)
            assert line.ack is not None
            await line.ack()  # on the lost link: does nothing, the redelivered copy is what counts
            assert again.data == SENTENCES[0]
            assert again.ack is not None
            await again.ack()
            await publish(mqtt_address, f"{topic_prefix}/raw/rx1", SENTENCES[1])
            assert (await anext(source)).data == SENTENCES[1]
    finally:
        await proxy.stop()
    assert sleep.delays == [0.5, 1.0]
    assert reconnects(config.name) == 1


@bounded
async def test_a_message_never_acknowledged_makes_the_source_reconnect_for_it(
    config: FeedSettings, mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    sleep = RecordingSleep()
    async with source_for(config, mqtt_address, sleep=sleep, ack_timeout_s=0.4) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", SENTENCES[0], SENTENCES[1])
        failed, stored = await pending, await anext(source)
        assert stored.ack is not None
        await stored.ack()  # the first one's records failed to store: it is never acked
        # Its ack would hold every later one back for good; the source gets it delivered again instead.
        redelivered = await take(source, 2)
        assert [line.data for line in redelivered] == [failed.data, stored.data]
    assert sleep.delays == [0.5]
    assert reconnects(config.name) == 1


@bounded
async def test_qos0_messages_beyond_the_queue_are_dropped_and_counted(
    config: FeedSettings, mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    async with source_for(config, mqtt_address, queue_messages=3) as source:
        pending = await subscribed(source)
        async with aiomqtt.Client(mqtt_address.host, mqtt_address.port) as publisher:
            await publisher.publish(f"{topic_prefix}/raw/rx1", b"first", qos=0)
            first = await pending
            assert first.ack is None  # QoS 0: nothing to acknowledge
            for number in range(5):
                await publisher.publish(f"{topic_prefix}/raw/rx1", b"q%d" % number, qos=0)
            # While nobody reads, three wait and the other two are dropped.
            await eventually(lambda: dropped(config.name) == 2, "two dropped")
            assert [line.data for line in await take(source, 3)] == [b"q0", b"q1", b"q2"]
            await publisher.publish(f"{topic_prefix}/raw/rx1", b"later", qos=0)
            assert (await anext(source)).data == b"later"


@bounded
async def test_an_unreachable_broker_is_retried_until_cancelled(config: FeedSettings) -> None:
    proxy = TcpProxy("127.0.0.1", 9)
    await proxy.start()
    await proxy.stop()  # a port that just closed: connections are refused
    sleep = RecordingSleep()
    async with source_for(config, MqttAddress("127.0.0.1", proxy.port), sleep=sleep) as source:
        pending = asyncio.create_task(anext(source))
        await eventually(lambda: len(sleep.delays) >= 3, "three attempts")
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
    assert sleep.delays[:3] == [0.5, 1.0, 1.5]
    assert connected(config.name) == 0


@bounded
async def test_whole_payloads_arrive_as_one_line_each_and_oversize_ones_are_counted(
    config: FeedSettings, mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    document = b'{\n  "reader": "gate-1"\n}\n'
    async with source_for(config, mqtt_address, whole_payload_max_bytes=64) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", document, b"x" * 65, b"", SENTENCES[0])
        first, second = await pending, await anext(source)
        for line in (first, second):
            assert line.ack is not None
            await line.ack()
    assert [first.data, second.data] == [document, SENTENCES[0]]  # newlines and all; the rest acked
    assert too_long(config.name) == 1

    async with source_for(config, mqtt_address, whole_payload_max_bytes=64) as source:
        pending = await subscribed(source)
        await publish(mqtt_address, f"{topic_prefix}/raw/rx1", SENTENCES[1])
        assert (await pending).data == SENTENCES[1]  # nothing earlier came back
