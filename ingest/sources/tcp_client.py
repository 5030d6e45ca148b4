"""NMEA over TCP, connecting out: to a receiver or an aggregator that serves lines on `host:port`.

Pull-based: the socket is read only when the consumer asks for the next line, so a slow consumer
slows the sender through TCP flow control and nothing piles up here. A lost or refused connection
is logged, counted, and retried with a doubling delay; iteration never ends except by cancellation.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from types import TracebackType
from typing import Self

from ingest.lines import RawLine
from ingest.sources.common import (
    CHUNK_BYTES,
    Backoff,
    Clock,
    FeedMetrics,
    LineSplitter,
    Sleep,
    close_writer,
    parse_host_port,
    utc_now,
)
from seawatch.settings import FeedSettings, IngestSettings

log = logging.getLogger(__name__)


class TcpClientSource:
    def __init__(
        self,
        feed: FeedSettings,
        settings: IngestSettings,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.feed = feed.name
        self.host, self.port = parse_host_port(feed.address)
        self.peer = f"{self.host}:{self.port}"
        self._max_line = settings.max_line_bytes
        self._backoff = Backoff(settings.reconnect_initial_s, settings.reconnect_max_s)
        self._clock = clock
        self._sleep = sleep
        self._connect_timeout_s = connect_timeout_s
        self._metrics = FeedMetrics(feed.name)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._splitter = self._new_splitter()
        self._ready: deque[bytes] = deque()
        self._first_attempt = True  # only the very first connect goes without a wait

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
            reader = self._reader or await self._connect()
            try:
                chunk = await reader.read(CHUNK_BYTES)
            except OSError as err:
                log.warning("feed %s: connection to %s failed: %s", self.feed, self.peer, err)
                await self._lose()
                continue
            if not chunk:
                log.warning("feed %s: %s closed the connection", self.feed, self.peer)
                self._ready.extend(self._splitter.flush())
                await self._lose()
                continue
            # Data flowed, so the link is healthy: a later loss starts again from the shortest delay.
            self._backoff.reset()
            self._ready.extend(self._splitter.feed(chunk))
        received_at = self._clock()
        self._metrics.line(received_at)
        return RawLine(self._ready.popleft(), received_at, self.feed, self.peer)

    async def _connect(self) -> asyncio.StreamReader:
        while True:
            if not self._first_attempt:
                await self._sleep(self._backoff.next_delay())
            self._first_attempt = False
            try:
                async with asyncio.timeout(self._connect_timeout_s):
                    reader, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError) as err:
                log.warning("feed %s: cannot connect to %s: %s", self.feed, self.peer, err or "timed out")
                continue
            _keep_alive(writer)
            self._reader, self._writer = reader, writer
            self._metrics.up()
            log.info("feed %s: connected to %s", self.feed, self.peer)
            return reader

    async def _lose(self) -> None:
        await self._disconnect()
        # A line cut off by the drop must not be glued onto the first line of the next connection.
        self._splitter = self._new_splitter()

    async def _disconnect(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        self._metrics.down()
        if writer is not None:
            await close_writer(writer)

    def _new_splitter(self) -> LineSplitter:
        return LineSplitter(self._max_line, self._metrics.too_long)


def _keep_alive(writer: asyncio.StreamWriter) -> None:
    """Let the kernel notice a receiver that vanished without closing (power cut, radio link down)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):  # Linux names; other platforms keep their defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
