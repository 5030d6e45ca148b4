"""`seawatch simulate --load`: the rate it is asked for, bounded in count and time, to loopback only."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ingest.nmea_stream import NmeaDecoder
from ingest.sources.tcp_server import TcpServerSource
from seawatch.settings import FeedSettings, IngestSettings
from simulators.load import LoadRefused, check_loopback, run_load, sentences
from tests.seawatch.helpers import run_seawatch


def test_only_loopback_targets_are_accepted() -> None:
    check_loopback("127.0.0.1")
    check_loopback("localhost")
    for host in ("192.0.2.10", "8.8.8.8"):
        with pytest.raises(LoadRefused, match="loopback"):
            check_loopback(host)


async def test_bounds_are_checked_before_anything_is_sent() -> None:
    with pytest.raises(LoadRefused, match="rate"):
        await run_load("tcp://127.0.0.1:9", 0.0, count=10)
    with pytest.raises(LoadRefused, match="count"):
        await run_load("tcp://127.0.0.1:9", 100.0, count=100_000_000)
    with pytest.raises(LoadRefused, match="duration"):
        await run_load("tcp://127.0.0.1:9", 100.0, duration_s=86_400)
    with pytest.raises(LoadRefused, match="loopback"):
        await run_load("udp://192.0.2.10:10110", 100.0, count=10)


def test_the_messages_are_valid_position_reports_of_many_boats() -> None:
    lines = sentences(50, seed=1)
    decoder = NmeaDecoder()
    records = [r for line in lines for r in decoder.feed(line.strip())]
    assert len(records) == len(lines) == 200 and all("error" not in r for r in records)
    assert len({r["mmsi"] for r in records}) == 50
    assert records[0]["mmsi"] != records[1]["mmsi"]  # consecutive lines are different boats


async def test_the_count_and_rate_hold_against_the_real_tcp_source() -> None:
    feed = FeedSettings(name=f"load-{uuid.uuid4().hex[:8]}", kind="tcp_server", address="127.0.0.1:0")
    async with asyncio.timeout(30), TcpServerSource(feed, IngestSettings()) as source:
        assert source.address is not None
        sender = asyncio.create_task(
            run_load(f"tcp://127.0.0.1:{source.address[1]}", 2000.0, count=3000, vessels=100)
        )
        received = [await anext(source) for _ in range(3000)]
        stats = await sender
    assert stats.sent == 3000 and len(received) == 3000
    assert 1.2 <= stats.seconds <= 3.0  # 3,000 messages at 2,000 a second


def test_the_command_refuses_a_remote_target() -> None:
    result = run_seawatch("simulate", "--load", "100", "--ais", "udp://192.0.2.10:10110", "--count", "10")
    assert result.returncode == 1 and b"loopback" in result.stderr
