"""Gate tag reads and terminal JSON from MQTT into the record store, acknowledged once durable.

Two streams, each an `MqttSource` (QoS 1, persistent session, whole payloads — JSON may span lines):

=====================  ==================================  ========================
feed (metric label)    topic filter                        decoder
=====================  ==================================  ========================
``devices-tags``       ``{topic_prefix}/tags/+``           `decode_tag_read`
``devices-terminals``  ``{topic_prefix}/terminals/+``      `decode_terminal_json`
=====================  ==================================  ========================

A message is acknowledged only after its record is durable, so a broker or seawatch restart loses
nothing a device was told was received. A payload that cannot be decoded is counted
(`seawatch_ingest_invalid_total{feed, reason}`), logged and acknowledged: redelivery could never fix it.
When the store is slow, `put` waits and so does reading; the broker holds the rest (nothing is dropped).

Redelivered copies: after a broker restart or a lost link the broker sends again every message whose
PUBACK it did not get, and a publisher resends what the broker had not acknowledged to it. A record is
recognised by its content (every decoded field but `feed`/`received_at`: the same reader, tag, time,
direction… is the same read), and a copy of one put within the last `RECENT_MESSAGES` messages of the
stream is acknowledged without being stored again — exactly once while this process lives. Across a
crash of seawatch between the commit and the PUBACK (milliseconds) the copy is stored again: at least
once. Devices must publish with retain off; a retained message comes back with every new subscription.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

from ingest.devices import DeviceMessageError, decode_tag_read, decode_terminal_json
from ingest.lines import RawLine
from ingest.metrics import DECODED, DUPLICATES, INVALID
from ingest.pipeline import MAX_PENDING_ACKS, RecordSink
from ingest.sources.common import Clock, Sleep, utc_now
from ingest.sources.mqtt import MqttSource
from seawatch.bus import MqttAddress
from seawatch.settings import DevicesSettings, FeedSettings, IngestSettings, MqttSettings
from tracking.rows import RejectedRecord

log = logging.getLogger(__name__)

Record = dict[str, Any]
#: Recently put records remembered per stream, to recognise redelivered copies. Redeliveries come from
#: the broker's in-flight window and the publishers' (tens of messages), so this is ample.
RECENT_MESSAGES = 10_000
#: Fields that differ between copies of one message.
RECEIPT_FIELDS = frozenset({"feed", "received_at"})


class Decoder(Protocol):
    def __call__(
        self, topic: str, payload: bytes, *, max_payload_bytes: int, now: datetime | None
    ) -> Record: ...


@dataclass(frozen=True)
class DeviceStream:
    feed: str  # the metric label, and the name of the MQTT session
    topic: str  # the topic filter
    decode: Decoder


def device_streams(mqtt: MqttSettings) -> list[DeviceStream]:
    prefix = mqtt.topic_prefix
    return [
        DeviceStream("devices-tags", f"{prefix}/tags/+", decode_tag_read),
        DeviceStream("devices-terminals", f"{prefix}/terminals/+", decode_terminal_json),
    ]


def message_key(record: Record) -> bytes:
    """What makes two copies of one device message the same."""
    content = {key: value for key, value in record.items() if key not in RECEIPT_FIELDS}
    return hashlib.blake2b(orjson.dumps(content, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()


class DeviceMessageHandler:
    """One stream's messages into the sink; each acknowledged when its record is durable."""

    def __init__(
        self, stream: DeviceStream, sink: RecordSink, *, max_payload_bytes: int, recent: int = RECENT_MESSAGES
    ) -> None:
        self.feed = stream.feed
        self.decode = stream.decode
        self.sink = sink
        self.max_payload_bytes = max_payload_bytes
        self.recent = recent
        self._put: OrderedDict[bytes, asyncio.Future[None]] = OrderedDict()
        self._acks: set[asyncio.Task[None]] = set()
        self._ack_slots = asyncio.Semaphore(MAX_PENDING_ACKS)

    async def handle(self, line: RawLine) -> None:
        try:
            # The receive time is "now" for the future-time check: it keeps decoding a pure function.
            record = self.decode(
                line.peer or "", line.data, max_payload_bytes=self.max_payload_bytes, now=line.received_at
            )
        except DeviceMessageError as exc:
            INVALID.labels(self.feed, exc.reason).inc()
            log.warning("feed %s: message on %s refused (%s): %s", self.feed, line.peer, exc.reason, exc)
            if line.ack is not None:
                await line.ack()
            return
        DECODED.labels(self.feed).inc()
        record["feed"] = self.feed
        record["received_at"] = line.received_at
        key = message_key(record)
        durable = self._earlier_copy(key)
        if durable is None:
            durable = await self.sink.put(record)
            self._put[key] = durable
            if len(self._put) > self.recent:
                self._put.popitem(last=False)
        else:
            DUPLICATES.labels(self.feed).inc()
            log.debug("feed %s: a copy of a message already stored, on %s", self.feed, line.peer)
        if line.ack is not None:
            await self._ack_slots.acquire()
            task = asyncio.create_task(self._ack_when_durable(durable, line.ack))
            self._acks.add(task)
            task.add_done_callback(self._acks.discard)

    def _earlier_copy(self, key: bytes) -> asyncio.Future[None] | None:
        """The durability of an earlier copy, unless there is none or storing it failed (then this
        copy is stored: that is what redelivery is for)."""
        durable = self._put.get(key)
        if durable is None:
            return None
        if durable.done() and not _stored_or_refused(durable):
            del self._put[key]
            return None
        self._put.move_to_end(key)
        return durable

    async def _ack_when_durable(
        self, durable: asyncio.Future[None], ack: Callable[[], Awaitable[None]]
    ) -> None:
        try:
            # wait(), not await: cancelling this task must not cancel the store's future.
            await asyncio.wait({durable})
            if not _stored_or_refused(durable):
                log.error("feed %s: record not stored, message left unacknowledged", self.feed)
                return
            await ack()
        except Exception:
            log.exception("feed %s: acknowledging a message failed", self.feed)
        finally:
            self._ack_slots.release()

    async def drain(self) -> None:
        """Wait for the acknowledgements still pending (at shutdown)."""
        if self._acks:
            await asyncio.wait(set(self._acks), timeout=5)


def _stored_or_refused(durable: asyncio.Future[None]) -> bool:
    """Done, and either durable or refused for good (which the store already logged and counted)."""
    if durable.cancelled():
        return False
    exc = durable.exception()
    return exc is None or isinstance(exc, RejectedRecord)


class DeviceFeed:
    """Both device streams, until cancelled; a supervised component."""

    def __init__(
        self,
        address: MqttAddress,
        sink: RecordSink,
        *,
        devices: DevicesSettings,
        ingest: IngestSettings,
        mqtt: MqttSettings,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.address = address
        self.sink = sink
        self.devices = devices
        self.ingest = ingest
        self.mqtt = mqtt
        self.clock = clock
        self.sleep = sleep
        self.streams = device_streams(mqtt)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for stream in self.streams:
                group.create_task(self._read(stream), name=f"feed:{stream.feed}")

    async def _read(self, stream: DeviceStream) -> None:
        handler = DeviceMessageHandler(stream, self.sink, max_payload_bytes=self.devices.max_payload_bytes)
        feed = FeedSettings(name=stream.feed, kind="mqtt", address=stream.topic)
        source = MqttSource(
            feed,
            self.ingest,
            self.address,
            mqtt_settings=self.mqtt,
            clock=self.clock,
            sleep=self.sleep,
            whole_payload_max_bytes=self.devices.max_payload_bytes,
            shared=True,  # several ingest processes split the gate and terminal messages
        )
        try:
            async with source:
                async for line in source:
                    await handler.handle(line)
        finally:
            await handler.drain()
