import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import aiomqtt
import pytest
from fastapi import FastAPI, Request, Response

from alerts.delivery import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    MqttAlertPublisher,
    WebhookSender,
    alert_topic,
    sign,
)
from alerts.model import Alert, VesselRef
from api.server import serve_http
from seawatch.bus import MqttAddress
from seawatch.embedded import free_port
from seawatch.settings import DeliverySettings, MqttSettings, WebhookSettings

T0 = datetime(2026, 7, 1, tzinfo=UTC)
SECRET = "a-very-secret-webhook-key"


def alert(seq: int, severity: str = "critical", kind: str = "distress") -> Alert:
    return Alert(
        id=seq,
        seq=seq,
        kind=kind,
        severity=severity,
        state="open",
        key=f"k{seq}",  # type: ignore[arg-type]
        vessel=VesselRef(1, 412000001, "粤汕渔1"),
        position=None,
        opened_at=T0,
        updated_at=T0,
        title="t",
        details={},
        drill=False,
    )


class Receiver:
    """A real HTTP endpoint that fails its first `failures` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.app = FastAPI()
        self.app.post("/hook")(self.hook)

    async def hook(self, request: Request) -> Response:
        self.calls.append((dict(request.headers), await request.body()))
        return Response(status_code=500 if len(self.calls) <= self.failures else 204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    target = Receiver(failures=2)
    port = free_port()
    started = asyncio.Event()
    task = asyncio.create_task(serve_http(target.app, "127.0.0.1", port, started=started))
    await asyncio.wait_for(started.wait(), 10)
    yield target, f"http://127.0.0.1:{port}/hook"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_webhooks_are_signed_and_retried(receiver: tuple[Receiver, str]) -> None:
    target, url = receiver
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    sender = WebhookSender(WebhookSettings(url=url, secret=SECRET), DeliverySettings(), sleep=fake_sleep)
    sender.publish_alert(alert(1, "low"))  # below the target's min_severity (high): not sent
    sender.publish_alert(alert(2))
    task = asyncio.create_task(sender.run())
    async with asyncio.timeout(10):
        while len(target.calls) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    task.cancel()
    assert sleeps == [1.0, 2.0]
    headers, body = target.calls[-1]
    assert json.loads(body)["seq"] == 2
    expected = hmac.new(
        SECRET.encode(), headers[TIMESTAMP_HEADER.lower()].encode() + b"." + body, hashlib.sha256
    )
    assert headers[SIGNATURE_HEADER.lower()] == f"sha256={expected.hexdigest()}"
    assert headers[SIGNATURE_HEADER.lower()] == sign(SECRET, headers[TIMESTAMP_HEADER.lower()], body)


async def test_a_dead_webhook_gives_up_on_a_change_and_goes_on() -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    dead = f"http://127.0.0.1:{free_port()}/hook"
    sender = WebhookSender(
        WebhookSettings(url=dead, secret=SECRET), DeliverySettings(webhook_max_attempts=3), sleep=no_sleep
    )
    for seq in (1, 2):
        sender.publish_alert(alert(seq))
    task = asyncio.create_task(sender.run())
    async with asyncio.timeout(10):
        while sender.items or sender.inflight:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    task.cancel()


def test_drill_alerts_go_only_to_drill_targets() -> None:
    real = WebhookSender(WebhookSettings(url="http://real", secret=SECRET), DeliverySettings())
    drill = WebhookSender(WebhookSettings(url="http://drill", secret=SECRET, drill=True), DeliverySettings())
    exercise = replace(alert(1), drill=True)
    for sender in (real, drill):
        sender.publish_alert(exercise)
        sender.publish_alert(alert(2))
    assert [a.seq for a in real.items] == [2]
    assert [a.seq for a in drill.items] == [1]
    assert alert_topic("sw", exercise) == "sw/drill/alerts/critical/distress"
    assert alert_topic("sw", alert(2)) == "sw/alerts/critical/distress"


def test_a_full_outbox_drops_the_oldest_change() -> None:
    sender = WebhookSender(WebhookSettings(url="http://x", secret=SECRET), DeliverySettings(queue_max=2))
    for seq in (1, 2, 3):
        sender.publish_alert(alert(seq))
    assert [a.seq for a in sender.items] == [2, 3]


async def test_alerts_are_published_on_mqtt_by_severity_and_kind(
    mqtt_address: MqttAddress, topic_prefix: str
) -> None:
    mqtt = MqttSettings(topic_prefix=topic_prefix, client_id=f"t-{topic_prefix[-8:]}")
    publisher = MqttAlertPublisher(mqtt_address, mqtt, DeliverySettings())
    async with aiomqtt.Client(mqtt_address.host, mqtt_address.port) as watcher:
        await watcher.subscribe(f"{topic_prefix}/alerts/#", qos=1)
        task = asyncio.create_task(publisher.run())
        publisher.publish_alert(alert(7, "critical", "distress"))
        async with asyncio.timeout(10):
            async for message in watcher.messages:
                assert str(message.topic) == f"{topic_prefix}/alerts/critical/distress"
                assert json.loads(message.payload)["alert"]["vessel"]["mmsi"] == 412000001  # type: ignore[arg-type]
                break
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
