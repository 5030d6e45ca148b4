"""What every source shares: line splitting with a length cap, reconnect backoff, and feed metrics.

Kept free of any transport so each piece can be tested on its own; the transports live one per module.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from ingest.metrics import FEED_CONNECTED, FEED_LAST_MESSAGE, FEED_RECONNECTS, INVALID, MESSAGES_IN

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

#: Bytes read from a stream at a time: enough for ~60 sentences, small enough to stay bounded.
CHUNK_BYTES = 4096
#: Lines waiting between a source's network side and its consumer, unless a source is told otherwise.
DEFAULT_QUEUE_LINES = 128


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_host_port(address: str) -> tuple[str, int]:
    """`host:port` or `[v6-address]:port` → (host, port); raises ValueError on anything else."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"expected host:port, got {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


def format_peer(address: object) -> str | None:
    """A socket's peer address as `host:port` (None when the transport does not know it)."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return None


class Backoff:
    """Delays that double from `initial` up to `maximum`; `reset` once the link has proved healthy."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = min(initial, maximum)
        self.maximum = maximum
        self._next = self.initial

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(delay * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


class FeedMetrics:
    """The feed's metric children, bound once (labels() is a dict lookup under a lock)."""

    def __init__(self, feed: str) -> None:
        self.feed = feed
        self._lines = MESSAGES_IN.labels(feed)
        self._last = FEED_LAST_MESSAGE.labels(feed)
        self._too_long = INVALID.labels(feed, "too_long")
        self._dropped = INVALID.labels(feed, "queue_full")
        self._connected = FEED_CONNECTED.labels(feed)
        self._reconnects = FEED_RECONNECTS.labels(feed)
        self._ever_connected = False

    def line(self, received_at: datetime) -> None:
        self._lines.inc()
        self._last.set(received_at.timestamp())

    def too_long(self) -> None:
        # A dropped over-long line was still received: it counts in both, like any other invalid line.
        self._lines.inc()
        self._too_long.inc()

    def dropped(self) -> None:
        self._dropped.inc()

    def up(self) -> None:
        """The link is (re-)established; every time after the first counts as a reconnect."""
        if self._ever_connected:
            self._reconnects.inc()
        self._ever_connected = True
        self._connected.set(1)

    def down(self) -> None:
        self._connected.set(0)


class LineSplitter:
    """Cuts a byte stream into lines at `\\n` (a trailing `\\r` is stripped; blank lines are skipped).

    A line longer than `max_bytes` is dropped and reported once through `on_too_long`; the splitter
    then discards up to the next newline, so the rest of the stream is unaffected and at most
    `max_bytes + 1` bytes are ever buffered.
    """

    def __init__(self, max_bytes: int, on_too_long: Callable[[], None]) -> None:
        self.max_bytes = max_bytes
        self._on_too_long = on_too_long
        self._buffer = bytearray()
        self._discarding = False

    def feed(self, chunk: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while (newline := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start:newline]
            start = newline + 1
            if self._discarding:
                self._discarding = False  # this newline ends the over-long line, already reported
                continue
            if self._buffer:
                self._buffer += piece
                piece = bytes(self._buffer)
                self._buffer.clear()
            self._finish(piece, lines)
        rest = chunk[start:]
        # +1: a line of exactly max_bytes may still be followed by a `\r` before its newline.
        if not self._discarding and len(self._buffer) + len(rest) > self.max_bytes + 1:
            self._buffer.clear()
            self._discarding = True
            self._on_too_long()
        elif not self._discarding:
            self._buffer += rest
        return lines

    def flush(self) -> list[bytes]:
        """End of stream: a last line without a newline is still a line."""
        lines: list[bytes] = []
        if self._buffer and not self._discarding:
            self._finish(bytes(self._buffer), lines)
        self._buffer.clear()
        self._discarding = False
        return lines

    def _finish(self, line: bytes, lines: list[bytes]) -> None:
        line = line.rstrip(b"\r")
        if len(line) > self.max_bytes:
            self._on_too_long()
        elif line:
            lines.append(line)


def split_datagram(payload: bytes, max_bytes: int, on_too_long: Callable[[], None]) -> list[bytes]:
    """Lines of a self-contained payload (a UDP datagram, an MQTT message): its end ends the last line."""
    splitter = LineSplitter(max_bytes, on_too_long)
    return splitter.feed(payload) + splitter.flush()


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a stream without letting a peer that already vanished raise out of cleanup."""
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, asyncio.IncompleteReadError) as err:
        log.debug("closing %s: %s", format_peer(writer.get_extra_info("peername")), err)
