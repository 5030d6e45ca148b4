"""What the sources that listen (TCP server, UDP) share: binding, retried in the background, and a queue.

A listening source must not fail its feed because the port is still held after a restart: entering
tries to bind once, and if that fails a task retries with the doubling delay while the rest of the
service runs. Lines from every sender go into one bounded queue, which is what iterating yields.
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
    parse_host_port,
    utc_now,
)
from seawatch.settings import FeedSettings, IngestSettings

log = logging.getLogger(__name__)


class ListeningSource:
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
        self._binder: asyncio.Task[None] | None = None

    async def _bind(self) -> None:
        """Start listening; OSError when the address cannot be had."""
        raise NotImplementedError

    async def _unbind(self) -> None:
        """Stop listening and drop every sender."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        try:
            await self._bind()
        except OSError as err:
            log.error("feed %s: cannot listen on %s:%s: %s; retrying", self.feed, self.host, self.port, err)
            self._binder = asyncio.create_task(self._bind_later())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._binder is not None:
            self._binder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._binder
        await self._unbind()
        self._metrics.down()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RawLine:
        return await self._queue.get()

    async def _bind_later(self) -> None:
        while True:
            await self._sleep(self._backoff.next_delay())
            try:
                await self._bind()
                return
            except OSError as err:
                log.warning("feed %s: cannot listen on %s:%s: %s", self.feed, self.host, self.port, err)
