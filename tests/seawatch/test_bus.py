import asyncio

import aiomqtt
import pytest

from seawatch.bus import BusStatus, MqttAddress, broker_reachable, presence_topic, run_presence
from seawatch.embedded import free_port
from seawatch.settings import MqttSettings


def test_parse_mqtt_urls() -> None:
    assert MqttAddress.parse("mqtt://broker.example:1884") == MqttAddress("broker.example", 1884)
    assert MqttAddress.parse("mqtt://u%40x:p%3Aw@h") == MqttAddress("h", 1883, "u@x", "p:w")
    assert MqttAddress.parse("10.0.0.5") == MqttAddress("10.0.0.5", 1883)
    with pytest.raises(ValueError, match="scheme"):
        MqttAddress.parse("http://h:80")


async def test_reachable_broker_and_unreachable_port(mqtt_address: MqttAddress) -> None:
    assert await broker_reachable(mqtt_address)
    assert not await broker_reachable(MqttAddress("127.0.0.1", free_port()), wait_s=1.0)


async def test_presence_announces_online_and_offline(mqtt_address: MqttAddress, topic_prefix: str) -> None:
    settings = MqttSettings(topic_prefix=topic_prefix, client_id=f"t-{topic_prefix[-6:]}")
    status = BusStatus()
    topic = presence_topic(settings, "node1")
    async with aiomqtt.Client(mqtt_address.host, mqtt_address.port) as watcher:
        await watcher.subscribe(topic, qos=1)
        task = asyncio.create_task(run_presence(mqtt_address, settings, status, "node1"))
        payloads = []
        async with asyncio.timeout(10):
            async for message in watcher.messages:
                payloads.append(message.payload)
                if status.connected:
                    break
        assert payloads == [b"online"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not status.connected
        async with asyncio.timeout(10):
            async for message in watcher.messages:
                payloads.append(message.payload)
                break
        assert payloads == [b"online", b"offline"]
        await watcher.publish(topic, b"", qos=1, retain=True)  # clear the retained message


async def test_presence_raises_when_the_broker_is_not_there() -> None:
    settings = MqttSettings()
    status = BusStatus()
    with pytest.raises(aiomqtt.MqttError):
        await run_presence(MqttAddress("127.0.0.1", free_port()), settings, status, "lonely")
    assert not status.connected
