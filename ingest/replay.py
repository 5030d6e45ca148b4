"""Replay a recorded NMEA feed to a live input: the logic behind `seawatch replay FILE --to URL`.

Targets: `tcp://host:port` (we connect, as a receiver would to seawatch's `tcp_server` feed),
`udp://host:port` (datagrams of up to ~1400 bytes, several lines each when lines are due together)
and `mqtt://[user:pass@]host:port/topic` (one QoS 1 message per line).

Pacing follows the recording's own clock where it has one: the NMEA 4.0 tag block time
(`\\c:1234567890*hh\\!AIVDM...`, seconds or milliseconds) or a Gatehouse `$PGHP,1,yyyy,mm,dd,hh,mm,
ss,ms,...` line, whose time belongs to the line after it (both are sent). A line without a time of
its own goes out with the line before it; lines before the first stamp (or in a file without any)
go at `rate` lines a second. Aggregated feeds are not strictly ordered: a stamp earlier than the
latest one seen is sent at once, and only one more than `max_gap_s` earlier starts a new stretch of
recording (files joined together). Silences longer than `max_gap_s` are shortened to it. `speed`
divides every pause; `"max"` sends without pausing. Blank lines and `#` comments are not sent.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from ingest.nmea import unix_time
from ingest.sources.common import Sleep, parse_host_port
from ingest.sources.file import FileSource
from seawatch.bus import MqttAddress, client
from seawatch.settings import FeedSettings, IngestSettings, MqttSettings

Speed = float | Literal["max"]
Send = Callable[[Sequence[bytes]], Awaitable[None]]

#: Pace of lines that carry no time, in lines per second of recording.
DEFAULT_RATE = 10.0
#: Longest silence replayed as it was, in recording seconds.
DEFAULT_MAX_GAP_S = 300.0
#: Lines sent together at most, when they are due at the same time.
BATCH_LINES = 64
#: UDP payload size that fits one Ethernet frame with any IP options.
MAX_DATAGRAM_BYTES = 1400


@dataclass(frozen=True, slots=True)
class ReplayStats:
    lines: int  # lines sent
    recording_s: float  # recording time the sent lines' stamps span (0 for a file without stamps)
    slept_s: float  # time spent pausing


def parse_speed(text: str) -> Speed:
    """`--speed` value: a positive factor, or `max`."""
    if text == "max":
        return "max"
    factor = float(text)
    if not factor > 0 or factor == float("inf"):
        raise ValueError(f"speed must be a positive number or 'max', not {text!r}")
    return factor


# --- the recording's clock --------------------------------------------------------------------------------


def tag_block_time(line: bytes) -> float | None:
    """Unix time of an NMEA 4.0 tag block's `c:` field, if the line starts with one."""
    if not line.startswith(b"\\"):
        return None
    end = line.find(b"\\", 1)
    if end < 0:
        return None
    fields = line[1:end].split(b"*", 1)[0]
    for field in fields.split(b","):
        if field.startswith(b"c:"):
            ts = unix_time(field[2:].decode("ascii", "replace"))
            return ts.timestamp() if ts is not None else None
    return None


def pghp_time(line: bytes) -> float | None:
    """Unix time of a Gatehouse `$PGHP,1,...` line (the time of the line that follows it)."""
    if not line.startswith(b"$PGHP,1,"):
        return None
    parts = line.split(b"*", 1)[0].split(b",")[2:9]
    if len(parts) != 7 or not all(p.isdigit() for p in parts):
        return None
    year, month, day, hour, minute, second, millis = (int(p) for p in parts)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    return calendar.timegm((year, month, day, hour, minute, second)) + millis / 1000


def line_time(line: bytes, pending_pghp: float | None) -> float | None:
    """Recording time of `line`: its tag block `c:`, its own `$PGHP` stamp, else the `$PGHP` before it."""
    own = tag_block_time(line)
    if own is None:
        own = pghp_time(line)
    return own if own is not None else pending_pghp


class Pacer:
    """Turns each line into its offset, in recording seconds, from the start of the replay."""

    def __init__(self, *, rate: float = DEFAULT_RATE, max_gap_s: float = DEFAULT_MAX_GAP_S) -> None:
        self.interval = 1 / rate
        self.max_gap_s = max_gap_s
        self.offset = 0.0
        self.recording_s = 0.0
        self._latest: float | None = None  # the latest stamp of the current stretch
        self._pending_pghp: float | None = None
        self._first = True

    def place(self, line: bytes) -> float:
        ts = line_time(line, self._pending_pghp)
        self._pending_pghp = pghp_time(line)
        if ts is None:
            if self._latest is None and not self._first:
                self.offset += self.interval
        elif self._latest is None or self._latest - ts > self.max_gap_s:
            self._latest = ts
        elif ts > self._latest:
            self.offset += min(ts - self._latest, self.max_gap_s)
            self.recording_s += ts - self._latest
            self._latest = ts
        self._first = False
        return self.offset


# --- senders ------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def open_sender(target_url: str, mqtt_settings: MqttSettings | None = None) -> AsyncIterator[Send]:
    """A function that sends lines to `tcp://`, `udp://` or `mqtt://...topic`, open while in the block."""
    parts = urlsplit(target_url)
    if parts.scheme in ("tcp", "udp"):
        host, port = parse_host_port(parts.netloc)
        opener = _tcp_sender if parts.scheme == "tcp" else _udp_sender
        async with opener(host, port) as send:
            yield send
    elif parts.scheme == "mqtt":
        topic = unquote(parts.path.lstrip("/"))
        if not topic:
            raise ValueError(f"no topic in {target_url!r}; use mqtt://host:port/topic")
        async with _mqtt_sender(MqttAddress.parse(target_url), topic, mqtt_settings) as send:
            yield send
    else:
        raise ValueError(f"unsupported target {target_url!r}; use tcp://, udp:// or mqtt://")


@contextlib.asynccontextmanager
async def _tcp_sender(host: str, port: int) -> AsyncIterator[Send]:
    _, writer = await asyncio.open_connection(host, port)

    async def send(lines: Sequence[bytes]) -> None:
        writer.write(b"".join(line + b"\r\n" for line in lines))
        await writer.drain()  # the receiver's pace is ours: never buffer a whole recording

    try:
        yield send
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def _udp_sender(host: str, port: int) -> AsyncIterator[Send]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=(host, port))

    async def send(lines: Sequence[bytes]) -> None:
        for datagram in pack_datagrams(lines):
            transport.sendto(datagram)
        # Let a receiver in this process (tests, the demo) read before the next batch fills its buffer.
        await asyncio.sleep(0)

    try:
        yield send
    finally:
        transport.close()


def pack_datagrams(lines: Sequence[bytes], limit: int = MAX_DATAGRAM_BYTES) -> list[bytes]:
    """Lines joined into datagrams of at most `limit` bytes (a longer line gets one of its own)."""
    datagrams: list[bytes] = []
    current = b""
    for line in lines:
        if current and len(current) + len(line) + 2 > limit:
            datagrams.append(current)
            current = b""
        current += line + b"\r\n"
    if current:
        datagrams.append(current)
    return datagrams


@contextlib.asynccontextmanager
async def _mqtt_sender(
    address: MqttAddress, topic: str, settings: MqttSettings | None
) -> AsyncIterator[Send]:
    # A fresh id: two replays at once must not push each other off the broker.
    async with client(address, settings or MqttSettings(), f"replay-{uuid.uuid4().hex[:8]}") as link:

        async def send(lines: Sequence[bytes]) -> None:
            for line in lines:
                await link.publish(topic, line, qos=1)

        yield send


# --- the replay ---------------------------------------------------------------------------------------


async def replay(
    path: str | Path,
    target_url: str,
    speed: Speed = 1.0,
    *,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rate: float = DEFAULT_RATE,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    mqtt_settings: MqttSettings | None = None,
) -> ReplayStats:
    """Send the lines of the recording at `path` to `target_url`, paced as the module describes.

    Raises ValueError for a bad target or speed, OSError when the file cannot be read or the target
    cannot be reached or goes away (a replay is a one-off command: it reports, it does not retry).
    """
    if speed != "max" and not 0 < speed < float("inf"):
        raise ValueError(f"speed must be a positive number or 'max', not {speed!r}")
    pacer = Pacer(rate=rate, max_gap_s=max_gap_s)
    # Pauses are measured from one start, not line to line, so time spent sending never adds up.
    lines = 0
    slept = 0.0
    batch: list[bytes] = []
    async with open_sender(target_url, mqtt_settings) as send, _recording(path) as recording:
        start = clock()
        async for line in recording:
            if line.startswith(b"#"):
                continue
            offset = pacer.place(line)
            delay = 0.0 if speed == "max" else start + offset / speed - clock()
            if delay > 0:
                if batch:  # what is due now goes out before the pause, not after it
                    await send(batch)
                    batch = []
                await sleep(delay)
                slept += delay
            batch.append(line)
            lines += 1
            if len(batch) >= BATCH_LINES:
                await send(batch)
                batch = []
        if batch:
            await send(batch)
    return ReplayStats(lines=lines, recording_s=pacer.recording_s, slept_s=slept)


@contextlib.asynccontextmanager
async def _recording(path: str | Path) -> AsyncIterator[AsyncIterator[bytes]]:
    # The file source reads in a worker thread and in chunks, so a day's recording never sits in memory.
    # (Its line counts land in this process's metrics under the feed name "replay".)
    feed = FeedSettings(name="replay", kind="file", address=str(path))
    async with FileSource(feed, IngestSettings(max_line_bytes=65536)) as source:
        yield (raw.data async for raw in source)
