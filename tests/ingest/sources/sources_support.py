"""Helpers for the source tests: feeds with unique names, metric reads, a recording sleep, a TCP proxy."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, ParamSpec

from prometheus_client import REGISTRY

from ingest.lines import RawLine
from ingest.sources.common import close_writer
from seawatch.settings import FeedKind, FeedSettings, IngestSettings

#: No test may take longer than this; the sources must never make one hang.
TEST_TIMEOUT_S = 20

FIXED_TIME = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)

P = ParamSpec("P")


def bounded(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, Coroutine[Any, Any, None]]:
    """Fail the test, instead of hanging the suite, if it runs longer than `TEST_TIMEOUT_S`."""

    @functools.wraps(test)
    async def run(*args: P.args, **kwargs: P.kwargs) -> None:
        async with asyncio.timeout(TEST_TIMEOUT_S):
            await test(*args, **kwargs)

    return run


def fixed_clock() -> datetime:
    return FIXED_TIME


def feed(kind: FeedKind, address: str) -> FeedSettings:
    """A feed with a name no other test uses, so its metrics start from zero."""
    return FeedSettings(name=f"test-{kind}-{uuid.uuid4().hex[:10]}", kind=kind, address=address)


def ingest_settings(**overrides: object) -> IngestSettings:
    return IngestSettings.model_validate({"reconnect_initial_s": 0.5, "reconnect_max_s": 1.5, **overrides})


def metric(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def lines_in(feed_name: str) -> float:
    return metric("seawatch_ingest_messages_total", feed=feed_name)


def too_long(feed_name: str) -> float:
    return metric("seawatch_ingest_invalid_total", feed=feed_name, reason="too_long")


def dropped(feed_name: str) -> float:
    return metric("seawatch_ingest_invalid_total", feed=feed_name, reason="queue_full")


def connected(feed_name: str) -> float:
    return metric("seawatch_ingest_feed_connected", feed=feed_name)


def reconnects(feed_name: str) -> float:
    return metric("seawatch_ingest_feed_reconnects_total", feed=feed_name)


async def take(lines: AsyncIterator[RawLine], count: int) -> list[RawLine]:
    return [await anext(lines) for _ in range(count)]


async def eventually(condition: Callable[[], bool], what: str, within_s: float = 5.0) -> None:
    """Wait until `condition()` holds (for effects of network I/O that has no event to await)."""
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - metrics and socket state have no event to wait on
            await asyncio.sleep(0.01)
    assert condition(), what


class RecordingSleep:
    """Stands in for asyncio.sleep: records each delay, waits only a moment, and can run a hook."""

    def __init__(self, on_sleep: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.delays: list[float] = []
        self._on_sleep = on_sleep

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self._on_sleep is not None:
            await self._on_sleep(len(self.delays))
        await asyncio.sleep(0.01)


class TcpProxy:
    """Forwards 127.0.0.1:port to a target; `stop` cuts every connection, `start` serves again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers.update((writer, up_writer))
        pumps = {
            asyncio.create_task(_pump(reader, up_writer)),
            asyncio.create_task(_pump(up_reader, writer)),
        }
        self._tasks |= pumps
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
                self._tasks.discard(task)
            for each in (writer, up_writer):
                self._writers.discard(each)
                each.transport.abort()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


@contextlib.asynccontextmanager
async def tcp_peer(host: str, port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        yield reader, writer
    finally:
        await close_writer(writer)
