"""What every source yields: one received line with where and when it came from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawLine:
    data: bytes  # one line, without its line terminator; never longer than the configured cap
    received_at: datetime  # aware UTC, when seawatch read it
    feed: str  # the configured source name, the label of its metrics
    peer: str | None = None  # remote address, where the transport knows it
    # For transports that acknowledge (MQTT QoS 1): call once the records from this line are durable.
    ack: Callable[[], Awaitable[None]] | None = None
