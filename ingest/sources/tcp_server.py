"""NMEA over TCP, listening: receivers connect to us on `host:port` and push lines.

Every peer has its own reader task and line splitter; all put into one bounded queue, and a peer
whose put has to wait stops reading, so a slow consumer slows every sender through TCP flow control.
Connections beyond `max_connections` are closed at once. If the address cannot be bound (still in
use after a restart), binding is retried in the background with the doubling delay.

The feed's link is "up" (`FEED_CONNECTED` 1) while at least one receiver is connected; the first
receiver to connect after none were is counted as a reconnect.
"""

from __future__ import annotations

import asyncio
import logging

from ingest.lines import RawLine
from ingest.sources.common import (
    CHUNK_BYTES,
    DEFAULT_QUEUE_LINES,
    Clock,
    LineSplitter,
    Sleep,
    close_writer,
    format_peer,
    utc_now,
)
from ingest.sources.listening import ListeningSource
from seawatch.settings import FeedSettings, IngestSettings

log = logging.getLogger(__name__)

DEFAULT_MAX_CONNECTIONS = 256


class TcpServerSource(ListeningSource):
    def __init__(
        self,
        feed: FeedSettings,
        settings: IngestSettings,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        queue_lines: int = DEFAULT_QUEUE_LINES,
    ) -> None:
        super().__init__(feed, settings, clock=clock, sleep=sleep, queue_lines=queue_lines)
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._peers: dict[asyncio.Task[object], str | None] = {}

    @property
    def address(self) -> tuple[str, int] | None:
        """Where the source listens (with the real port when bound to port 0); None until bound."""
        if self._server is None or not self._server.sockets:
            return None
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def peers(self) -> list[str | None]:
        """Addresses of the receivers connected now."""
        return list(self._peers.values())

    async def _bind(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        log.info("feed %s: listening on %s", self.feed, self.address)

    async def _unbind(self) -> None:
        if self._server is not None:
            self._server.close()
        peers = list(self._peers)
        for task in peers:
            task.cancel()
        await asyncio.gather(*peers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = format_peer(writer.get_extra_info("peername"))
        task = asyncio.current_task()
        if task is None or len(self._peers) >= self.max_connections:
            log.warning("feed %s: refusing %s: %d connections already", self.feed, peer, len(self._peers))
            await close_writer(writer)
            return
        if not self._peers:
            self._metrics.up()
        self._peers[task] = peer
        log.info("feed %s: %s connected", self.feed, peer)
        try:
            await self._read(reader, peer)
        except OSError as err:
            log.warning("feed %s: connection from %s failed: %s", self.feed, peer, err)
        finally:
            del self._peers[task]
            if not self._peers:
                self._metrics.down()
            await close_writer(writer)

    async def _read(self, reader: asyncio.StreamReader, peer: str | None) -> None:
        splitter = LineSplitter(self._max_line, self._metrics.too_long)
        while chunk := await reader.read(CHUNK_BYTES):
            for line in splitter.feed(chunk):
                await self._put(line, peer)
        for line in splitter.flush():
            await self._put(line, peer)
        log.info("feed %s: %s closed the connection", self.feed, peer)

    async def _put(self, line: bytes, peer: str | None) -> None:
        received_at = self._clock()
        self._metrics.line(received_at)
        await self._queue.put(RawLine(line, received_at, self.feed, peer))
