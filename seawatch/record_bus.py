"""The record bus: `seawatch run --only ingest` hands every record it would show the alert engine to
`--only rules` over MQTT, on `{topic_prefix}/records` at QoS 1.

One topic, not one per kind: MQTT keeps the order of one publisher's messages on one topic, and the
rules want a vessel's static report, positions and anomalies in the order ingest saw them.

A message is compact JSON, `{"v": 1, "records": [entry, …]}`; an entry is `{"r": record}` plus, when
the record holds datetimes (anywhere, e.g. `ts`, `received_at`, an anomaly's `evidence.read_at`),
`"t": [path, …]`, the path (keys and list indices) of each, written as ISO 8601. `decode_records`
rebuilds the record the in-process path gives the engine: the same JSON values (`None`, bools, ints,
floats, text, lists, objects), datetimes as datetimes. Tuples arrive as lists; bytes (as hex), sets
(sorted lists) and other values (text) the way the store writes them to jsonb — no decoder makes them.

`RecordBusPublisher.publish` is the ingest side's `observe`: it encodes the record at once (what the
store and the rules see is the record as it was when observed) and never waits. A distress record
(`urgent`) goes out in the next message, alone with any other distress waiting; routine records wait
for a batch of `record_bus.batch_max` or for `record_bus.flush_interval_ms`. While the broker is away,
at most `record_bus.queue_max` routine records are held: beyond that the oldest is dropped and counted
(`seawatch_record_bus_dropped_total{reason="queue_full"}`); distress records are never dropped. The
store never waits on the bus: storing is the same with the broker gone.

`take_records` is the rules side: a subscription (not shared: one rules process sees every record)
through `ingest.sources.mqtt.MqttSource`, each message acknowledged once all its records are in the
engine's queue. With `mqtt.client_id` set the session is persistent (client id
`<client_id>-records-in`), and what is published while the rules process restarts is delivered when it
is back; without it, the session ends with the process and that is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

import aiomqtt
import orjson
from prometheus_client import Counter, Gauge

from ingest.sources.mqtt import MqttSource
from seawatch.bus import MqttAddress, client
from seawatch.settings import FeedSettings, IngestSettings, MqttSettings, RecordBusSettings

log = logging.getLogger(__name__)

Record = dict[str, Any]
Path = list[str | int]

FORMAT_VERSION = 1
#: A message larger than this is refused by the subscriber (counted as too long by its feed metrics).
MESSAGE_MAX_BYTES = 64 << 20
# How long a stopping publisher keeps sending what waits (the supervisor's drain allows more).
DRAIN_S = 5.0

PUBLISHED = Counter("seawatch_record_bus_published", "Records published on the record bus")
DROPPED = Counter("seawatch_record_bus_dropped", "Records not published on the record bus", ["reason"])
WAITING = Gauge("seawatch_record_bus_waiting", "Records waiting to be published on the record bus")
RECEIVED = Counter("seawatch_record_bus_received", "Records taken from the record bus")
MALFORMED = Counter("seawatch_record_bus_malformed", "Record bus messages that could not be read")


def records_topic(mqtt: MqttSettings) -> str:
    return f"{mqtt.topic_prefix}/records"


# --- the wire format --------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _datetime_paths(value: Any, path: Path, out: list[Path]) -> None:
    items: Iterator[tuple[str | int, Any]]
    if isinstance(value, dict):
        items = iter(value.items())
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        if isinstance(item, datetime):
            out.append([*path, key])
        elif isinstance(item, dict | list | tuple):
            _datetime_paths(item, [*path, key], out)


#: Types that need no look inside (the fast path: nearly every value of a record).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def encode_record(record: Record) -> bytes:
    """One entry of a message (see the module's docstring)."""
    paths: list[Path] = []
    for key, value in record.items():
        if type(value) in _PLAIN:
            continue
        if isinstance(value, datetime):
            paths.append([key])
        else:
            _datetime_paths(value, [key], paths)
    entry = {"r": record, "t": paths} if paths else {"r": record}
    return orjson.dumps(entry, default=_json_default)


def pack(entries: list[bytes]) -> bytes:
    """A message from encoded entries."""
    return b'{"v":%d,"records":[' % FORMAT_VERSION + b",".join(entries) + b"]}"


def decode_records(payload: bytes) -> list[Record]:
    """The records of a message; raises ValueError if it is not one."""
    body = orjson.loads(payload)
    if not isinstance(body, dict) or body.get("v") != FORMAT_VERSION:
        raise ValueError(f"not a record bus message of version {FORMAT_VERSION}")
    records: list[Record] = []
    for entry in body["records"]:
        record = entry["r"]
        for path in entry.get("t", ()):
            holder: Any = record
            for key in path[:-1]:
                holder = holder[key]
            holder[path[-1]] = datetime.fromisoformat(holder[path[-1]])
        records.append(record)
    return records


# --- ingest: the publisher ------------------------------------------------------------------------


class RecordBusPublisher:
    """Batches records to `{prefix}/records` at QoS 1; the supervisor reconnects it."""

    def __init__(
        self,
        address: MqttAddress,
        mqtt: MqttSettings,
        settings: RecordBusSettings,
        *,
        urgent: Callable[[Record], bool],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.mqtt = mqtt
        self.settings = settings
        self.urgent = urgent
        self.monotonic = monotonic
        self.topic = records_topic(mqtt)
        self.urgent_waiting: deque[bytes] = deque()
        self.routine_waiting: deque[tuple[float, bytes]] = deque()  # (when it arrived, entry)
        # Taken, not yet acknowledged by the broker: sent first on the next link.
        self.inflight: tuple[bytes, int] | None = None
        self._wake = asyncio.Event()

    async def publish(self, record: Record) -> None:
        """Never waits (an `Observer` of `IngestService`)."""
        entry = encode_record(record)
        if self.urgent(record):
            self.urgent_waiting.append(entry)
            self._wake.set()
        else:
            routine = self.routine_waiting
            if len(routine) >= self.settings.queue_max:
                routine.popleft()
                DROPPED.labels("queue_full").inc()
            routine.append((self.monotonic(), entry))
            if len(routine) == 1 or len(routine) >= self.settings.batch_max:
                self._wake.set()  # start the flush timer, or a full batch is ready
        WAITING.set(self.waiting())

    def waiting(self) -> int:
        return len(self.urgent_waiting) + len(self.routine_waiting)

    def take(self, *, now: bool = False) -> tuple[bytes, int] | None:
        """The next message to publish (distress first), or None when nothing is due yet; with `now`,
        whatever waits is due."""
        batch_max = self.settings.batch_max
        if self.urgent_waiting:
            queue = self.urgent_waiting
            entries = [queue.popleft() for _ in range(min(batch_max, len(queue)))]
            return pack(entries), len(entries)
        routine = self.routine_waiting
        if not routine or (len(routine) < batch_max and self.due_in() > 0 and not now):
            return None
        entries = [routine.popleft()[1] for _ in range(min(batch_max, len(routine)))]
        return pack(entries), len(entries)

    def due_in(self) -> float:
        """Seconds until the oldest routine record must go out (None waiting: a long time)."""
        if not self.routine_waiting:
            return float("inf")
        oldest = self.routine_waiting[0][0]
        return oldest + self.settings.flush_interval_ms / 1000 - self.monotonic()

    async def run(self) -> None:
        async with client(self.address, self.mqtt, "records-out") as link:
            try:
                while True:
                    if self.inflight is None:
                        self.inflight = self.take()
                    if self.inflight is None:
                        await self._sleep()
                        continue
                    await self._send(link)
            except asyncio.CancelledError:
                # Stopping (SIGTERM drains the process): what ingest has stored meanwhile still goes
                # to the rules, within a bound, rather than being lost with the process.
                with contextlib.suppress(TimeoutError, aiomqtt.MqttError):
                    async with asyncio.timeout(DRAIN_S):
                        while True:
                            if self.inflight is None:
                                self.inflight = self.take(now=True)
                            if self.inflight is None:
                                break
                            await self._send(link)
                raise

    async def _send(self, link: aiomqtt.Client) -> None:
        assert self.inflight is not None
        payload, count = self.inflight
        await link.publish(self.topic, payload, qos=1)
        self.inflight = None
        PUBLISHED.inc(count)
        WAITING.set(self.waiting())

    async def _sleep(self) -> None:
        self._wake.clear()
        due = self.due_in()
        if due == float("inf"):
            await self._wake.wait()
            return
        try:
            async with asyncio.timeout(max(due, 0.0)):
                await self._wake.wait()
        except TimeoutError:
            pass


# --- rules: the subscriber ------------------------------------------------------------------------


class _RecordsSource(MqttSource):
    @property
    def component(self) -> str:
        return "records-in"


Submit = Callable[[Record], Awaitable[None]]


async def take_records(
    address: MqttAddress, mqtt: MqttSettings, ingest: IngestSettings, submit: Submit
) -> None:
    """Every record on the bus to `submit` (the engine's), until cancelled."""
    feed = FeedSettings(name="record-bus", kind="mqtt", address=records_topic(mqtt))
    async with _RecordsSource(
        feed, ingest, address, mqtt_settings=mqtt, whole_payload_max_bytes=MESSAGE_MAX_BYTES
    ) as messages:
        async for message in messages:
            try:
                records = decode_records(message.data)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                MALFORMED.inc()
                log.warning("record bus: ignoring a malformed message: %s", exc)
                records = []
            for record in records:
                await submit(record)
            RECEIVED.inc(len(records))
            if message.ack is not None:
                await message.ack()
