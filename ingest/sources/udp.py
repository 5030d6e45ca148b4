"""NMEA over UDP: receivers send datagrams to `host:port`, each holding one or more lines.

UDP cannot be slowed down, so when the bounded queue is full a line is dropped and counted
(`seawatch_ingest_invalid_total{reason="queue_full"}`) rather than letting memory grow. There is no
link to lose: `FEED_CONNECTED` is 1 while the socket is bound; if binding fails it is retried with
the doubling delay, and a socket error (rare: the OS reports ICMP errors here) only gets logged.
"""

from __future__ import annotations

import asyncio
import logging

from ingest.lines import RawLine
from ingest.sources.common import (
    DEFAULT_QUEUE_LINES,
    Clock,
    Sleep,
    format_peer,
    split_datagram,
    utc_now,
)
from ingest.sources.listening import ListeningSource
from seawatch.settings import FeedSettings, IngestSettings

log = logging.getLogger(__name__)


class UdpSource(ListeningSource, asyncio.DatagramProtocol):
    def __init__(
        self,
        feed: FeedSettings,
        settings: IngestSettings,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        queue_lines: int = DEFAULT_QUEUE_LINES,
    ) -> None:
        super().__init__(feed, settings, clock=clock, sleep=sleep, queue_lines=queue_lines)
        self._transport: asyncio.DatagramTransport | None = None
        self._dropping = False

    @property
    def address(self) -> tuple[str, int] | None:
        """Where the source listens (with the real port when bound to port 0); None until bound."""
        if self._transport is None:
            return None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.host, self.port)
        )
        log.info("feed %s: listening for datagrams on %s", self.feed, self.address)

    async def _unbind(self) -> None:
        if self._transport is not None:
            self._transport.close()

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
