"""`ingest.replay`: the recording's clock, pacing with a fake sleep, and real sends to every source kind."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec

import pytest
from prometheus_client import REGISTRY

from ingest.lines import RawLine
from ingest.replay import (
    line_time,
    pack_datagrams,
    parse_speed,
    pghp_time,
    replay,
    tag_block_time,
)
from ingest.sources import MqttSource, TcpServerSource, UdpSource
from seawatch.bus import MqttAddress
from seawatch.settings import FeedKind, FeedSettings, IngestSettings, MqttSettings

P = ParamSpec("P")
RECORDINGS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ais" / "recordings"


def bounded(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, Coroutine[Any, Any, None]]:
    """No test may hang the suite: each fails after 20 s."""

    @functools.wraps(test)
    async def run(*args: P.args, **kwargs: P.kwargs) -> None:
        async with asyncio.timeout(20):
            await test(*args, **kwargs)

    return run


def at(year: int, month: int, day: int, hour: int, minute: int, second: int, millis: int) -> float:
    return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC).timestamp()


def recording(name: str) -> list[bytes]:
    return (RECORDINGS / name).read_bytes().split(b"\n")


def sent_lines(path: Path) -> list[bytes]:
    """What a replay sends: every line but blank ones and # comments, without its line ending."""
    lines = (line.rstrip(b"\r") for line in path.read_bytes().split(b"\n"))
    return [line for line in lines if line and not line.startswith(b"#")]


def feed(kind: FeedKind, address: str) -> FeedSettings:
    return FeedSettings(name=f"test-replay-{uuid.uuid4().hex[:10]}", kind=kind, address=address)


class FakeTime:
    """A clock that only moves when the replay sleeps, so the sleeps are exactly the computed pauses."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay
        await asyncio.sleep(0)


# --- the recording's clock ------------------------------------------------------------------------------


def test_line_time_of_gatehouse_lines_and_the_sentence_after_them() -> None:
    pghp, sentence = recording("dma-stream_example.txt")[:2]
    stamp = at(2010, 6, 11, 11, 46, 11, 390)
    assert pghp_time(pghp) == stamp
    assert line_time(pghp, None) == stamp
    assert line_time(sentence, stamp) == stamp  # the $PGHP before it gives its time
    assert line_time(sentence, None) is None


def test_line_time_of_tag_blocks_in_seconds_and_milliseconds() -> None:
    orbcomm = recording("libais-orbcomm-tagblock.nmea")
    assert line_time(orbcomm[0], None) == 1418169601.0
    assert line_time(orbcomm[1], None) == 1418172113.0
    # Milliseconds, as some aggregators write them (none of the recordings does):
    assert tag_block_time(orbcomm[0].replace(b"c:1418169601", b"c:1418169601250")) == 1418169601.25
    tagged = recording("pyais-tagblocks.ais")
    # An 11-digit value is still seconds (as ingest.nmea reads it): only 12 digits and more are ms.
    assert tagged[11].startswith(b"\\g:1-2-73874,n:157036,s:r003669945,c:12415440354*A\\")
    assert tag_block_time(tagged[11]) == 12415440354.0
    assert line_time(tagged[12], None) == 1428621738.0
    assert line_time(tagged[13], None) is None  # a tag block without c:
    # A line's own tag block time wins over a pending $PGHP.
    assert line_time(orbcomm[0], at(2010, 6, 11, 0, 0, 0, 0)) == 1418169601.0


def test_lines_without_a_usable_time() -> None:
    assert line_time(b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23", None) is None
    assert pghp_time(b"$PGHP,1,2010,13,11,11,46,11,390,231,45,992190934,1,2B*5B") is None
    assert pghp_time(b"$PGHP,1,2010,6,11*00") is None
    assert tag_block_time(b"\\c:not-a-time*00\\!AIVDM,1,1,,A,1,0*00") is None
    assert tag_block_time(b"\\c:1418169601 and no end") is None


# --- pacing, with a fake clock ------------------------------------------------------------------------------


async def paced(path: Path, speed: float | str, **options: Any) -> tuple[list[float], list[RawLine], Any]:
    """Replay to a real UDP source with fake time; return the sleeps, the lines received and the stats."""
    fake = FakeTime()
    async with UdpSource(feed("udp", "127.0.0.1:0"), IngestSettings()) as source:
        assert source.address is not None
        stats = await replay(
            path,
            f"udp://127.0.0.1:{source.address[1]}",
            parse_speed(str(speed)),
            sleep=fake.sleep,
            clock=fake.clock,
            **options,
        )
        received = [await anext(source) for _ in range(stats.lines)]
    return fake.sleeps, received, stats


@pytest.fixture
def dma_start(tmp_path: Path) -> Path:
    path = tmp_path / "dma-start.txt"
    path.write_bytes(b"\n".join(recording("dma-stream_example.txt")[:14]) + b"\n")
    return path


# The first 14 lines of dma-stream_example.txt, by their $PGHP stamps (seconds after 11:46):
# 11.390, 12.386 (+0.996), 12.451 (+0.065), 12.470 (+0.019), 11.874, 12.422 (earlier than 12.470:
# an aggregated feed's jitter, sent at once), 12.579 (+0.109). Each sentence goes with its $PGHP.
DMA_PAUSES = [0.996, 0.065, 0.019, 0.109]


@bounded
async def test_pauses_follow_the_gatehouse_stamps(dma_start: Path) -> None:
    sleeps, received, stats = await paced(dma_start, 1)
    assert sleeps == pytest.approx(DMA_PAUSES, abs=1e-6)
    assert [line.data for line in received] == sent_lines(dma_start)
    assert stats.lines == 14
    assert stats.recording_s == pytest.approx(12.579 - 11.390)
    assert stats.slept_s == pytest.approx(sum(DMA_PAUSES), abs=1e-6)


@bounded
@pytest.mark.parametrize("speed", [2, 0.5, 10])
async def test_speed_divides_every_pause(dma_start: Path, speed: float) -> None:
    sleeps, _, stats = await paced(dma_start, speed)
    assert sleeps == pytest.approx([pause / speed for pause in DMA_PAUSES], abs=1e-6)
    assert stats.recording_s == pytest.approx(12.579 - 11.390)  # the recording is the same


@bounded
async def test_max_speed_never_pauses(dma_start: Path) -> None:
    sleeps, received, stats = await paced(dma_start, "max")
    assert sleeps == []
    assert len(received) == stats.lines == 14


@bounded
async def test_lines_without_stamps_go_at_the_default_rate(tmp_path: Path) -> None:
    path = tmp_path / "plain.nmea"
    path.write_bytes(b"".join(b"!AIVDM,%d\r\n" % n for n in range(5)))
    assert (await paced(path, 1))[0] == pytest.approx([0.1] * 4, abs=1e-9)  # 10 lines a second
    assert (await paced(path, 4))[0] == pytest.approx([0.025] * 4, abs=1e-9)
    assert (await paced(path, 1, rate=2))[0] == pytest.approx([0.5] * 4, abs=1e-9)


@bounded
async def test_tag_blocks_long_silences_and_a_recording_that_starts_again() -> None:
    path = RECORDINGS / "pyais-tagblocks.ais"
    sleeps, received, stats = await paced(path, 1, max_gap_s=60)
    # Six plain sentences and one invalid line before any stamp: one every 0.1 s. Then tag blocks in
    # 2363 (sic), 2015 (earlier by far: a new stretch of recording, sent at once) and 2025 (a jump
    # shortened to 60 s). Lines without a time go with the line before them, and the 2009 $PGHP is
    # another new stretch.
    assert sleeps == pytest.approx([0.1] * 6 + [60], abs=1e-6)
    assert [line.data for line in received] == sent_lines(path)
    assert stats.recording_s == pytest.approx(1747818025 - 1428621738)


@bounded
async def test_satellite_tag_blocks_out_of_order() -> None:
    # c: 1418169601, 1418172113 (+2512 s: shortened to 300), 1418169601 (2512 s earlier: a new
    # stretch), 1418171722 (+2121: shortened), 1418171561 (161 s earlier: jitter, sent at once).
    sleeps, _, stats = await paced(RECORDINGS / "libais-orbcomm-tagblock.nmea", 1)
    assert sleeps == pytest.approx([300, 300])
    assert stats.recording_s == pytest.approx(2512 + 2121)


def test_speed_parsing() -> None:
    assert parse_speed("max") == "max"
    assert parse_speed("2.5") == 2.5
    for bad in ("0", "-1", "inf", "nan", "fast"):
        with pytest.raises(ValueError):
            parse_speed(bad)


def test_datagrams_hold_several_lines_up_to_the_limit() -> None:
    lines = [b"a" * 30] * 5
    assert pack_datagrams(lines, limit=70) == [b"a" * 30 + b"\r\n" + b"a" * 30 + b"\r\n"] * 2 + [
        b"a" * 30 + b"\r\n"
    ]
    assert pack_datagrams([b"b" * 100], limit=70) == [b"b" * 100 + b"\r\n"]


@bounded
async def test_unsupported_targets_and_speeds_are_refused(dma_start: Path) -> None:
    for target in ("http://127.0.0.1:80", "tcp://127.0.0.1", "mqtt://127.0.0.1:1883"):
        with pytest.raises(ValueError):
            await replay(dma_start, target, "max")
    with pytest.raises(ValueError, match="speed"):
        await replay(dma_start, "udp://127.0.0.1:9", 0)


# --- real sends to each kind of source ----------------------------------------------------------------------


@bounded
async def test_replay_over_tcp_to_the_tcp_server_source() -> None:
    path = RECORDINGS / "dma-stream_example.txt"
    expected = sent_lines(path)
    async with TcpServerSource(feed("tcp_server", "127.0.0.1:0"), IngestSettings(), queue_lines=50) as source:
        assert source.address is not None
        # The source's queue is small: the replay can only finish as fast as lines are taken.
        sending = asyncio.create_task(replay(path, f"tcp://127.0.0.1:{source.address[1]}", "max"))
        received = [await anext(source) for _ in expected]
        stats = await sending
    assert [line.data for line in received] == expected
    assert stats.lines == len(expected) == 8551
    assert stats.recording_s > 0


@bounded
async def test_replay_over_udp_to_the_udp_source() -> None:
    path = RECORDINGS / "pyais-nmea_data_sample.txt"
    expected = sent_lines(path)
    async with UdpSource(feed("udp", "127.0.0.1:0"), IngestSettings(), queue_lines=2000) as source:
        assert source.address is not None
        stats = await replay(path, f"udp://127.0.0.1:{source.address[1]}", "max")
        received = [await anext(source) for _ in expected]
    assert [line.data for line in received] == expected
    assert stats.lines == len(expected)


@bounded
async def test_replay_over_mqtt_to_the_mqtt_source(mqtt_address: MqttAddress, topic_prefix: str) -> None:
    path = RECORDINGS / "libais-uscg-nais.aivdm"
    expected = sent_lines(path)
    config = feed("mqtt", f"{topic_prefix}/raw/#")
    settings = MqttSettings(client_id="seawatch-test")
    received: list[bytes] = []
    async with MqttSource(config, IngestSettings(), mqtt_address, mqtt_settings=settings) as source:
        first = asyncio.create_task(anext(source))
        # Subscribed before anything is published; a metric has no event to wait on, and the test is bounded.
        while REGISTRY.get_sample_value("seawatch_ingest_feed_connected", {"feed": config.name}) != 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        target = f"mqtt://{mqtt_address.host}:{mqtt_address.port}/{topic_prefix}/raw/replay"
        sending = asyncio.create_task(replay(path, target, "max", mqtt_settings=settings))
        line = await first
        while True:
            received.append(line.data)
            assert line.peer == f"{topic_prefix}/raw/replay"
            assert line.ack is not None
            await line.ack()  # without acks the broker would stop at its in-flight window
            if len(received) == len(expected):
                break
            line = await anext(source)
        stats = await sending
    assert received == expected
    assert stats.lines == len(expected)
