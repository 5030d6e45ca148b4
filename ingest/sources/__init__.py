"""Where raw lines come from: one module per transport, all async context managers and async iterators.

```python
async with open_source(feed, settings.ingest, mqtt=address) as lines:
    async for line in lines:  # RawLine
        ...
```

Network sources reconnect (or re-bind) by themselves with a delay doubling from
`reconnect_initial_s` to `reconnect_max_s`, log and count what goes wrong, and never end except by
cancellation; the file source ends at the end of the file. Lines longer than `max_line_bytes` are
dropped one by one (`seawatch_ingest_invalid_total{reason="too_long"}`), never the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from ingest.lines import RawLine
from ingest.sources.common import Clock, Sleep, utc_now
from ingest.sources.file import FileSource
from ingest.sources.mqtt import MqttSource
from ingest.sources.tcp_client import TcpClientSource
from ingest.sources.tcp_server import TcpServerSource
from ingest.sources.udp import UdpSource
from seawatch.bus import MqttAddress
from seawatch.settings import FeedSettings, IngestSettings, MqttSettings

__all__ = [
    "FileSource",
    "MqttSource",
    "TcpClientSource",
    "TcpServerSource",
    "UdpSource",
    "open_source",
]

Source = FileSource | MqttSource | TcpClientSource | TcpServerSource | UdpSource


def open_source(
    feed: FeedSettings,
    settings: IngestSettings,
    *,
    mqtt: MqttAddress | None = None,
    mqtt_settings: MqttSettings | None = None,
    clock: Clock = utc_now,
    sleep: Sleep = asyncio.sleep,
) -> AbstractAsyncContextManager[AsyncIterator[RawLine]]:
    """The source for `feed.kind`; `mqtt` (the broker) is required for `mqtt` feeds."""
    source: Source
    match feed.kind:
        case "tcp_client":
            source = TcpClientSource(feed, settings, clock=clock, sleep=sleep)
        case "tcp_server":
            source = TcpServerSource(feed, settings, clock=clock, sleep=sleep)
        case "udp":
            source = UdpSource(feed, settings, clock=clock, sleep=sleep)
        case "mqtt":
            if mqtt is None:
                raise ValueError(f"feed {feed.name}: an mqtt feed needs the broker address")
            source = MqttSource(
                feed, settings, mqtt, mqtt_settings=mqtt_settings, clock=clock, sleep=sleep, shared=True
            )
        case "file":
            source = FileSource(feed, settings, clock=clock)
    return source
