"""AIS out: vessel reports as NMEA sentences (pyais' encoder), heard by simulated shore receivers, sent
to a feed over TCP or UDP as receivers do.

Radio realism (`Receiver.hears`, `ReceiverNetwork.copies`): each shore receiver hears a transmission
with a probability that falls with distance (sure within `SURE_NM`, gone beyond `range_nm`), so a
message may be lost altogether or heard by several receivers at once; each copy reaches the feed after
its own network delay (jitter), stamped by its receiver in an NMEA 4.0 tag block (`s:` station,
`c:` time in milliseconds) when tag blocks are on. The draws come from a seeded stream, so a seed gives
the same copies every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pyais.encode import encode_dict

from tracking.geo import METRES_PER_NM, haversine_m

log = logging.getLogger(__name__)

SURE_NM = 15.0
MAX_JITTER_S = 0.4  # network delay of a receiver's copy, wall seconds
MAX_DATAGRAM_BYTES = 1400
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Receiver:
    station: str
    lon: float
    lat: float
    range_nm: float = 40.0

    def hear_probability(self, lon: float, lat: float) -> float:
        distance_nm = float(haversine_m(self.lon, self.lat, lon, lat)) / METRES_PER_NM
        if distance_nm <= SURE_NM:
            return 0.97
        if distance_nm >= self.range_nm:
            return 0.0
        return 0.97 * (self.range_nm - distance_nm) / (self.range_nm - SURE_NM) + 0.03


# Shore stations of the demo coast: on the headlands by Shanwei, Zhelang and Maguan.
SHANWEI_RECEIVERS = (
    Receiver("rx-shanwei", 115.37, 22.74, 45.0),
    Receiver("rx-zhelang", 115.565, 22.66, 45.0),
    Receiver("rx-maguan", 115.2, 22.79, 45.0),
)


@dataclass(frozen=True)
class Copy:
    receiver: Receiver
    delay_s: float  # wall seconds after the transmission that it reaches the feed


class ReceiverNetwork:
    """Which receivers hear a transmission, and how late each copy arrives."""

    def __init__(self, receivers: tuple[Receiver, ...], *, seed: int, loss_scale: float = 1.0) -> None:
        self.receivers = receivers
        self.rng = random.Random(f"{seed}:radio")
        self.loss_scale = loss_scale

    def copies(self, lon: float, lat: float) -> list[Copy]:
        out = []
        for receiver in self.receivers:
            p = receiver.hear_probability(lon, lat) ** self.loss_scale
            if self.rng.random() < p:
                out.append(Copy(receiver, self.rng.uniform(0.0, MAX_JITTER_S)))
        return out


def nmea_checksum(text: str) -> str:
    value = 0
    for char in text.encode("ascii"):
        value ^= char
    return f"{value:02X}"


def tag_block(station: str, when: datetime, group: tuple[int, int, int] | None = None) -> str:
    """`\\s:station,c:millis[,g:n-total-id]*hh\\`."""
    fields = [f"s:{station}", f"c:{round(when.timestamp() * 1000)}"]
    if group is not None:
        fields.append(f"g:{group[0]}-{group[1]}-{group[2]}")
    content = ",".join(fields)
    return f"\\{content}*{nmea_checksum(content)}\\"


def encode(fields: dict[str, Any], when: datetime, channel: str = "A", sequence: int = 0) -> list[str]:
    """The sentences of one message; `second` is set from `when` (the UTC second of the report).
    `sequence` (0-9) tells the parts of multi-sentence messages in flight apart."""
    message = dict(fields)
    if message.get("msg_type") in (1, 2, 3, 18, 19):
        message.setdefault("second", when.second)
    return list(_encode_cached(tuple(sorted(message.items())), channel, sequence % 10))


@functools.lru_cache(maxsize=4096)
def _encode_cached(items: tuple[tuple[str, Any], ...], channel: str, sequence: int) -> tuple[str, ...]:
    # Static reports repeat unchanged every six minutes: encoding them once is enough.
    encoded = encode_dict(
        dict(items), talker_id="AI", sentence_type="VDM", radio_channel=channel, seq_id=sequence
    )
    return tuple(encoded)


def lines_for(
    fields: dict[str, Any],
    when: datetime,
    receiver: Receiver,
    *,
    tag_blocks: bool,
    channel: str,
    group_id: int,
) -> list[bytes]:
    """What one receiver sends for one message: its sentences, each with a tag block if asked."""
    sentences = encode(fields, when, channel, group_id)
    if not tag_blocks:
        return [s.encode("ascii") + b"\r\n" for s in sentences]
    total = len(sentences)
    out = []
    for number, sentence in enumerate(sentences, start=1):
        group = (number, total, group_id) if total > 1 else None
        out.append((tag_block(receiver.station, when, group) + sentence).encode("ascii") + b"\r\n")
    return out


# --- transports ------------------------------------------------------------------------------------


def parse_target(url: str) -> tuple[str, str, int]:
    """(`tcp`|`udp`, host, port) from `tcp://host:port` or `udp://host:port`."""
    parts = urlsplit(url)
    if parts.scheme not in ("tcp", "udp") or not parts.hostname or parts.port is None:
        raise ValueError(f"AIS target {url!r}: use tcp://host:port or udp://host:port")
    return parts.scheme, parts.hostname, parts.port


class AisLink:
    """One receiver's connection to the feed. TCP reconnects on the next send after a failure (lines
    in between are lost, as they are from a real receiver); UDP just sends datagrams."""

    def __init__(self, url: str) -> None:
        self.scheme, self.host, self.port = parse_target(url)
        self._writer: asyncio.StreamWriter | None = None
        self._udp: socket.socket | None = None
        self.sent = 0
        self.failed = 0

    async def send(self, lines: list[bytes]) -> None:
        data = b"".join(lines)
        try:
            if self.scheme == "udp":
                self._send_udp(lines)
            else:
                writer = await self._connect()
                writer.write(data)
                await writer.drain()
            self.sent += len(lines)
        except OSError as exc:
            self.failed += len(lines)
            log.warning("AIS %s://%s:%d: %s; lines lost", self.scheme, self.host, self.port, exc)
            await self.close()

    def _send_udp(self, lines: list[bytes]) -> None:
        if self._udp is None:
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._udp.setblocking(False)
        datagram = b""
        for line in lines:
            if datagram and len(datagram) + len(line) > MAX_DATAGRAM_BYTES:
                self._udp.sendto(datagram, (self.host, self.port))
                datagram = b""
            datagram += line
        if datagram:
            self._udp.sendto(datagram, (self.host, self.port))

    async def _connect(self) -> asyncio.StreamWriter:
        if self._writer is not None and not self._writer.is_closing():
            return self._writer
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            _, writer = await asyncio.open_connection(self.host, self.port)
        self._writer = writer
        return writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None


def channel_for(index: int, count: int) -> str:
    """AIS alternates its two channels between reports."""
    return "A" if (index + count) % 2 == 0 else "B"
