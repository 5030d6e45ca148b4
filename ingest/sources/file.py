"""Lines of a recorded file, as fast as the consumer takes them; the one source that ends (at EOF).

For `seawatch run` with a `file` feed and for tests. Reads a chunk at a time in a worker thread, so a
large recording neither blocks the event loop nor sits in memory. Lines go through the same splitter
as the network sources: an over-long line is counted and skipped, a last line without a newline kept.
A missing or unreadable file is a configuration error and raises `OSError` from `__aenter__`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from ingest.lines import RawLine
from ingest.sources.common import CHUNK_BYTES, Clock, FeedMetrics, LineSplitter, utc_now
from seawatch.settings import FeedSettings, IngestSettings

log = logging.getLogger(__name__)

#: A file is local: bigger reads than a socket's mean fewer thread hops.
FILE_CHUNK_BYTES = 16 * CHUNK_BYTES


class FileSource:
    def __init__(self, feed: FeedSettings, settings: IngestSettings, *, clock: Clock = utc_now) -> None:
        self.feed = feed.name
        self.path = Path(feed.address)
        self._clock = clock
        self._metrics = FeedMetrics(feed.name)
        self._splitter = LineSplitter(settings.max_line_bytes, self._metrics.too_long)
        self._file: BinaryIO | None = None
        self._ready: deque[bytes] = deque()
        self._at_end = False

    async def __aenter__(self) -> Self:
        self._file = await asyncio.to_thread(self.path.open, "rb")
        self._metrics.up()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._metrics.down()
        if self._file is not None:
            self._file.close()
            self._file = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RawLine:
        while not self._ready:
            if self._at_end or self._file is None:
                raise StopAsyncIteration
            chunk = await asyncio.to_thread(self._file.read, FILE_CHUNK_BYTES)
            if chunk:
                self._ready.extend(self._splitter.feed(chunk))
            else:
                self._ready.extend(self._splitter.flush())
                self._at_end = True
                self._metrics.down()
                log.info("feed %s: end of %s", self.feed, self.path)
        received_at = self._clock()
        self._metrics.line(received_at)
        return RawLine(self._ready.popleft(), received_at, self.feed)
