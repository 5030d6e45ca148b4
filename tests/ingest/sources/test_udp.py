"""The UDP source with real datagrams on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from sources_support import (
    FIXED_TIME,
    RecordingSleep,
    bounded,
    connected,
    dropped,
    eventually,
    feed,
    fixed_clock,
    ingest_settings,
    lines_in,
    take,
    too_long,
)

from ingest.sources.udp import UdpSource

SENTENCES = [
    b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23",
    b"!AIVDM,1,1,,A,133sVfPP00PD>hRMDH@jNOvN20S8,0*7F",
    b"!AIVDM,1,1,,B,100h00PP0@PHFV`Mg5gTH?vNPUIp,0*3B",
]


@pytest.fixture
def sender() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


def listening(source: UdpSource) -> tuple[str, int]:
    assert source.address is not None
    return source.address


@bounded
async def test_a_datagram_with_several_lines(sender: socket.socket) -> None:
    config = feed("udp", "127.0.0.1:0")
    async with UdpSource(config, ingest_settings(), clock=fixed_clock) as source:
        assert connected(config.name) == 1
        sender.sendto(b"\r\n".join(SENTENCES), listening(source))  # the last line has no newline
        sender.sendto(b"fourth\n", listening(source))
        lines = await take(source, 4)
    peer = f"127.0.0.1:{sender.getsockname()[1]}"
    assert [line.data for line in lines] == [*SENTENCES, b"fourth"]
    assert {(line.feed, line.peer, line.received_at) for line in lines} == {(config.name, peer, FIXED_TIME)}
    assert lines_in(config.name) == 4
    assert connected(config.name) == 0


@bounded
async def test_an_over_long_line_costs_that_line_only(sender: socket.socket) -> None:
    config = feed("udp", "127.0.0.1:0")
    async with UdpSource(config, ingest_settings()) as source:
        # A datagram cannot hold a megabyte; 60 kB is far over the cap all the same.
        sender.sendto(SENTENCES[0] + b"\n" + b"x" * 60_000 + b"\n" + SENTENCES[1], listening(source))
        lines = await take(source, 2)
    assert [line.data for line in lines] == SENTENCES[:2]
    assert too_long(config.name) == 1


@bounded
async def test_lines_are_dropped_and_counted_when_the_consumer_falls_behind(sender: socket.socket) -> None:
    config = feed("udp", "127.0.0.1:0")
    async with UdpSource(config, ingest_settings(), queue_lines=5) as source:
        for number in range(3):
            sender.sendto(b"".join(b"d%d,%d\n" % (number, i) for i in range(4)), listening(source))
        await eventually(lambda: lines_in(config.name) == 12, "all three datagrams read")
        assert dropped(config.name) == 7
        lines = await take(source, 5)
        assert [line.data for line in lines] == [b"d0,0", b"d0,1", b"d0,2", b"d0,3", b"d1,0"]
        # Nothing else was kept: the next line is one sent after the queue drained.
        sender.sendto(b"later\n", listening(source))
        assert (await anext(source)).data == b"later"


@bounded
async def test_an_address_in_use_is_retried_until_it_is_free(sender: socket.socket) -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    port = blocker.getsockname()[1]
    config = feed("udp", f"127.0.0.1:{port}")

    async def on_sleep(count: int) -> None:
        if count == 2:
            blocker.close()

    sleep = RecordingSleep(on_sleep)
    try:
        async with UdpSource(config, ingest_settings(), sleep=sleep) as source:
            assert source.address is None
            assert connected(config.name) == 0
            await eventually(lambda: source.address is not None, "bound once the port was free")
            assert connected(config.name) == 1
            sender.sendto(SENTENCES[0] + b"\n", ("127.0.0.1", port))
            assert (await anext(source)).data == SENTENCES[0]
    finally:
        blocker.close()
    assert sleep.delays == [0.5, 1.0]
    assert connected(config.name) == 0
