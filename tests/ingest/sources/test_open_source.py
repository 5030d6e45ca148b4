"""`open_source` picks the transport by the feed's kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sources_support import bounded, feed, ingest_settings

from ingest.sources import (
    FileSource,
    MqttSource,
    TcpClientSource,
    TcpServerSource,
    UdpSource,
    open_source,
)
from seawatch.bus import MqttAddress
from seawatch.settings import FeedKind

ADDRESS = MqttAddress("127.0.0.1", 1883)


@bounded
@pytest.mark.parametrize(
    ("kind", "address", "expected"),
    [
        ("tcp_client", "127.0.0.1:10110", TcpClientSource),
        ("tcp_server", "127.0.0.1:0", TcpServerSource),
        ("udp", "127.0.0.1:0", UdpSource),
        ("mqtt", "seawatch/raw/#", MqttSource),
        ("file", "recording.nmea", FileSource),
    ],
)
async def test_the_kind_chooses_the_source(kind: FeedKind, address: str, expected: type) -> None:
    assert isinstance(open_source(feed(kind, address), ingest_settings(), mqtt=ADDRESS), expected)


def test_an_mqtt_feed_needs_the_broker() -> None:
    with pytest.raises(ValueError, match="broker"):
        open_source(feed("mqtt", "seawatch/raw/#"), ingest_settings())


@bounded
async def test_the_source_is_an_async_context_manager_of_lines(shared_data: Path) -> None:
    path = shared_data / "ais" / "recordings" / "pyais-gatehouse.nmea"
    async with open_source(feed("file", str(path)), ingest_settings()) as lines:
        received = [line.data async for line in lines]
    assert received[:2] == [
        b"$PGHP,1,2008,5,9,0,0,0,10,338,2,,1,09*17",
        b"!AIVDM,1,1,,B,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*09",
    ]
