"""Raw NMEA lines from an MQTT topic filter (payload: one or more lines), acknowledged only when durable.

The subscription is QoS 1 on a persistent session (`clean_session=False`, client id
`<mqtt.client_id>-feed-<feed name>`), so the broker keeps what arrives while seawatch is away and
redelivers every message that was not acknowledged. `RawLine.peer` is the message's topic. The session
is persistent only when `mqtt.client_id` is set: the default prefix holds the process id (unique, see
`seawatch.bus.client_prefix`), and a session under an id that never comes back would keep what arrives
for it for good — in a shared group, a share of the feed. Without it, the session lasts as long as the
process (a link lost and found again inside it keeps its session), not across a restart.

With `shared` and `mqtt.share_group` set, the subscription is `$share/<group>/<topic filter>`: the
ingest processes of one group split the messages, each message to one of them (MQTT 5 shared
subscriptions; Mosquitto offers them to MQTT 3.1.1 clients too).

Manual acknowledgement: aiomqtt 2.x has no API for it, but the paho-mqtt client it wraps does
(`manual_ack_set`, `ack`); we reach it through `aiomqtt.Client._client`, the one private attribute used,
stable across aiomqtt 2.x (pinned `<3`). A message's PUBACK waits until the consumer awaits the `ack`
of its **last** line (the other lines of a multi-line payload carry `ack=None`). The consumer must do so
once the records from *all* the message's lines are durable, and also when it rejects them (nothing to
store is durable too). PUBACKs go out in arrival order (see `ingest.sources.acks`). A message none of
whose lines is usable (empty, all too long) is acknowledged at once.

An ack after the link it came on was lost does nothing: the broker redelivers that message on the new
session (at least once; duplicates are for the dedup window downstream). A message left unacknowledged
for `ack_timeout_s` (its records failed to store) would hold every later ack back for good, so the
source then reconnects, and the broker delivers it again. Both need the persistent session, that is a
configured `mqtt.client_id`: on a session that lasts only as long as its connection, what was in flight
when the connection ended (at most the broker's in-flight window) is not delivered again.

With `whole_payload_max_bytes` set, a message is not cut into lines: its whole payload is one
`RawLine` (a JSON document may contain newlines), empty payloads are acknowledged at once, and payloads
larger than that are counted `too_long` and acknowledged at once.

Bounds: QoS 1 messages are never dropped here; what waits is bounded by the broker's in-flight window,
which stops sending while PUBACKs are outstanding (Mosquitto: `max_inflight_messages`, 20 by default;
never set it to 0, unlimited, for this client). Messages published at QoS 0 have no ack (`ack=None`)
and beyond `queue_messages` waiting they are dropped and counted
(`seawatch_ingest_invalid_total{reason="queue_full"}`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from types import TracebackType
from typing import Self

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from ingest.lines import RawLine
from ingest.sources.acks import AckQueue
from ingest.sources.common import (
    DEFAULT_QUEUE_LINES,
    Backoff,
    Clock,
    FeedMetrics,
    Sleep,
    split_datagram,
    utc_now,
)
from seawatch.bus import MqttAddress, client
from seawatch.settings import FeedSettings, IngestSettings, MqttSettings

log = logging.getLogger(__name__)

DEFAULT_ACK_TIMEOUT_S = 60.0


class MqttSource:
    def __init__(
        self,
        feed: FeedSettings,
        settings: IngestSettings,
        address: MqttAddress,
        *,
        mqtt_settings: MqttSettings | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        queue_messages: int = DEFAULT_QUEUE_LINES,
        ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
        whole_payload_max_bytes: int | None = None,
        shared: bool = False,
    ) -> None:
        self.feed = feed.name
        self._mqtt_settings = mqtt_settings or MqttSettings()
        group = self._mqtt_settings.share_group
        self.topic = f"$share/{group}/{feed.address}" if shared and group else feed.address
        self._address = address
        self._max_line = settings.max_line_bytes
        self._backoff = Backoff(settings.reconnect_initial_s, settings.reconnect_max_s)
        self._clock = clock
        self._sleep = sleep
        self._queue_messages = queue_messages
        self._ack_timeout_s = ack_timeout_s
        self._whole_payload_max = whole_payload_max_bytes
        self._metrics = FeedMetrics(feed.name)
        self._link: aiomqtt.Client | None = None
        self._acks: AckQueue | None = None
        # Kept across calls: cancelling a pending receive could lose a message already taken off the queue.
        self._receiving: asyncio.Task[aiomqtt.Message] | None = None
        self._ready: deque[RawLine] = deque()
        self._first_attempt = True

    @property
    def component(self) -> str:
        """Appended to the client id prefix: stable, so the broker finds the session again."""
        return f"feed-{self.feed}"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._disconnect()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RawLine:
        while not self._ready:
            link = self._link or await self._connect()
            try:
                message = await self._receive(link)
            except aiomqtt.MqttError as err:
                log.warning("feed %s: MQTT link lost: %s", self.feed, err)
                await self._disconnect()
                continue
            if self._acks is not None and self._acks.oldest_wait() > self._ack_timeout_s:
                # The message just received, if any, is not taken: it comes back with the others.
                log.error("feed %s: a message was not acknowledged in time; reconnecting", self.feed)
                await self._disconnect()
            elif message is not None:
                await self._take(message)
        return self._ready.popleft()

    async def _receive(self, link: aiomqtt.Client) -> aiomqtt.Message | None:
        """The next message, or None after a while without one (time to check on the acks)."""
        if self._receiving is None:
            self._receiving = asyncio.ensure_future(anext(link.messages))
        done, _ = await asyncio.wait({self._receiving}, timeout=self._ack_timeout_s / 2)
        if not done:
            return None
        task, self._receiving = self._receiving, None
        return task.result()

    async def _take(self, message: aiomqtt.Message) -> None:
        assert self._acks is not None
        received_at = self._clock()
        lines = self._lines_of(message.payload, str(message.topic))
        ack = self._acks.track(message.mid, message.qos) if message.qos > 0 else None
        if not lines:
            if ack is not None:
                await ack()
            return
        for index, line in enumerate(lines):
            self._metrics.line(received_at)
            last = index == len(lines) - 1
            self._ready.append(
                RawLine(line, received_at, self.feed, str(message.topic), ack if last else None)
            )

    def _lines_of(self, payload: bytes, topic: str) -> list[bytes]:
        if self._whole_payload_max is None:
            return split_datagram(payload, self._max_line, self._metrics.too_long)
        if len(payload) > self._whole_payload_max:
            self._metrics.too_long()
            log.warning(
                "feed %s: %d-byte payload on %s is over the limit of %d bytes; dropped",
                self.feed,
                len(payload),
                topic,
                self._whole_payload_max,
            )
            return []
        return [bytes(payload)] if payload else []

    async def _connect(self) -> aiomqtt.Client:
        while True:
            if not self._first_attempt:
                await self._sleep(self._backoff.next_delay())
            self._first_attempt = False
            link = client(
                self._address,
                self._mqtt_settings,
                self.component,
                clean_session=self._mqtt_settings.client_id is None,
                queue_type=_inbox_type(self._metrics, self._queue_messages),
            )
            link._client.manual_ack_set(True)
            try:
                await link.__aenter__()
            except aiomqtt.MqttError as err:
                log.warning("feed %s: cannot connect to %s: %s", self.feed, self._address.url(), err)
                continue
            self._link, self._acks = link, AckQueue(link._client)
            try:
                granted = await link.subscribe(self.topic, qos=1)
            except aiomqtt.MqttError as err:
                log.warning("feed %s: cannot subscribe to %s: %s", self.feed, self.topic, err)
                await self._disconnect()
                continue
            if any(_code(c) >= 0x80 for c in granted):
                log.error("feed %s: the broker refused the subscription to %s", self.feed, self.topic)
                await self._disconnect()
                continue
            self._backoff.reset()
            self._metrics.up()
            log.info("feed %s: subscribed to %s on %s", self.feed, self.topic, self._address.url())
            return link

    async def _disconnect(self) -> None:
        link, self._link = self._link, None
        receiving, self._receiving = self._receiving, None
        if receiving is not None:
            receiving.cancel()
        if self._acks is not None:
            self._acks.close()
            self._acks = None
        self._metrics.down()
        if link is None:
            return
        try:
            await link.__aexit__(None, None, None)
        except aiomqtt.MqttError as err:
            log.debug("feed %s: disconnecting: %s", self.feed, err)
        if receiving is not None:
            # Collect it, so its outcome (often the MqttError of the lost link) is never left unretrieved.
            await asyncio.wait({receiving})
            if not receiving.cancelled():
                receiving.exception()


def _inbox_type(metrics: FeedMetrics, qos0_limit: int) -> type[asyncio.Queue[aiomqtt.Message]]:
    """aiomqtt's incoming queue: QoS 0 messages beyond `qos0_limit` waiting are dropped and counted.

    A QoS 1 message must never be dropped here: it would stay unacknowledged in the broker's in-flight
    window until the next session, and enough of them would stop the feed.
    """

    class Inbox(asyncio.Queue[aiomqtt.Message]):
        def put_nowait(self, item: aiomqtt.Message) -> None:
            if item.qos == 0 and self.qsize() >= qos0_limit:
                metrics.dropped()
                return
            super().put_nowait(item)

    return Inbox


def _code(code: int | ReasonCode) -> int:
    return code.value if isinstance(code, ReasonCode) else code
