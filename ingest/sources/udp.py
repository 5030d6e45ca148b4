"""NMEA over UDP: receivers send datagrams to `host:port`, each holding one or more lines.

UDP cannot be slowed down, so when the bounded queue is full a line is dropped and counted
(`seawatch_ingest_invalid_total{reason="queue_full"}`) rather than letting memory grow. There is no
link to lose: `FEED_CONNECTED` is 1 while the socket is bound; if binding fails it is retried with
the doubling delay, and a socket error (rare: the OS reports ICMP errors here) only gets logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Self

from ingest.lines import RawLine
from ingest.sources.common import (
    DEFAULT_QUEUE_LINES,
    Backoff,
    Clock,
    FeedMetrics,
    Sleep,
    format_peer,
    parse_host_port,
    split_datagram,
    utc_now,
)
from seawatch.settings import FeedSettings, IngestSettings

log = logging.getLogger(__name__)


class UdpSource(asyncio.DatagramProtocol):
    def __init__(
        self,
        feed: FeedSettings,
        settings: IngestSettings,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        queue_lines: int = DEFAULT_QUEUE_LINES,
    ) -> None:
        self.feed = feed.name
        self.host, self.port = parse_host_port(feed.address)
        self._max_line = settings.max_line_bytes
        self._backoff = Backoff(settings.reconnect_initial_s, settings.reconnect_max_s)
        self._clock = clock
        self._sleep = sleep
        self._metrics = FeedMetrics(feed.name)
        self._queue: asyncio.Queue[RawLine] = asyncio.Queue(queue_lines)
        self._transport: asyncio.DatagramTransport | None = None
        self._binder: asyncio.Task[None] | None = None
        self._dropping = False

    @property
    def address(self) -> tuple[str, int] | None:
        """Where the source listens (with the real port when bound to port 0); None until bound."""
        if self._transport is None:
            return None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def __aenter__(self) -> Self:
        try:
            await self._bind()
        except OSError as err:
            log.error("feed %s: cannot bind %s:%s: %s; retrying", self.feed, self.host, self.port, err)
            self._binder = asyncio.create_task(self._bind_later())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._binder is not None:
            self._binder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._binder
        if self._transport is not None:
            self._transport.close()
        self._metrics.down()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RawLine:
        return await self._queue.get()

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.host, self.port)
        )
        log.info("feed %s: listening for datagrams on %s", self.feed, self.address)

    async def _bind_later(self) -> None:
        while True:
            await self._sleep(self._backoff.next_delay())
            try:
                await self._bind()
                return
            except OSError as err:
                log.warning("feed %s: cannot bind %s:%s: %s", self.feed, self.host, self.port, err)

    # asyncio.DatagramProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._metrics.up()

    def connection_lost(self, exc: Exception | None) -> None:
        self._metrics.down()

    def error_received(self, exc: Exception) -> None:
        log.warning("feed %s: socket error: %s", self.feed, exc)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        peer = format_peer(addr)
        received_at = self._clock()
        for line in split_datagram(data, self._max_line, self._metrics.too_long):
            self._metrics.line(received_at)
            try:
                self._queue.put_nowait(RawLine(line, received_at, self.feed, peer))
                self._dropping = False
            except asyncio.QueueFull:
                self._metrics.dropped()
                if not self._dropping:  # once per overflow, not once per line
                    log.warning("feed %s: consumer too slow, dropping lines", self.feed)
                self._dropping = True
