"""The TCP server source with real receivers connecting on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket

from sources_support import (
    FIXED_TIME,
    RecordingSleep,
    bounded,
    connected,
    eventually,
    feed,
    fixed_clock,
    ingest_settings,
    lines_in,
    reconnects,
    take,
    tcp_peer,
    too_long,
)

from ingest.sources.tcp_server import TcpServerSource

SENTENCE = b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"


def listening(source: TcpServerSource) -> tuple[str, int]:
    assert source.address is not None
    return source.address


@bounded
async def test_lines_arrive_in_order_with_feed_peer_and_time() -> None:
    config = feed("tcp_server", "127.0.0.1:0")
    async with (
        TcpServerSource(config, ingest_settings(), clock=fixed_clock) as source,
        tcp_peer(*listening(source)) as (_, writer),
    ):
        writer.write(b"one\r\ntwo\nthree\r\n")
        lines = await take(source, 3)
        peer = "127.0.0.1:{}".format(writer.get_extra_info("sockname")[1])
        assert source.peers == [peer]
        assert connected(config.name) == 1
    assert [line.data for line in lines] == [b"one", b"two", b"three"]
    assert {(line.feed, line.peer, line.received_at) for line in lines} == {(config.name, peer, FIXED_TIME)}
    assert lines_in(config.name) == 3
    assert connected(config.name) == 0


@bounded
async def test_many_peers_at_once_each_in_order() -> None:
    config = feed("tcp_server", "127.0.0.1:0")
    peers, per_peer = 40, 25
    async with TcpServerSource(config, ingest_settings()) as source:
        address = listening(source)

        async def receiver(number: int) -> str:
            async with tcp_peer(*address) as (reader, writer):
                for index in range(per_peer):
                    writer.write(b"rx%d,%d\n" % (number, index))
                    await writer.drain()
                sockname = writer.get_extra_info("sockname")
                await reader.read()  # stay connected until the source closes
                return f"127.0.0.1:{sockname[1]}"

        tasks = [asyncio.create_task(receiver(n)) for n in range(peers)]
        lines = await take(source, peers * per_peer)
        assert len(source.peers) == peers
    names = await asyncio.gather(*tasks)
    by_peer: dict[str | None, list[bytes]] = {}
    for line in lines:
        by_peer.setdefault(line.peer, []).append(line.data)
    assert set(by_peer) == set(names)
    for number, name in enumerate(names):
        assert by_peer[name] == [b"rx%d,%d" % (number, i) for i in range(per_peer)]


@bounded
async def test_connections_beyond_the_maximum_are_closed() -> None:
    config = feed("tcp_server", "127.0.0.1:0")
    async with TcpServerSource(config, ingest_settings(), max_connections=2) as source:
        address = listening(source)
        async with tcp_peer(*address) as (_, first), tcp_peer(*address) as (_, second):
            await eventually(lambda: len(source.peers) == 2, "two peers connected")
            async with tcp_peer(*address) as (third_reader, _):
                assert await third_reader.read() == b""  # closed at once
            first.write(b"a\n")
            second.write(b"b\n")
            assert sorted(line.data for line in await take(source, 2)) == [b"a", b"b"]


@bounded
async def test_a_one_megabyte_line_costs_that_line_only() -> None:
    config = feed("tcp_server", "127.0.0.1:0")
    async with (
        TcpServerSource(config, ingest_settings()) as source,
        tcp_peer(*listening(source)) as (_, writer),
    ):
        writer.write(SENTENCE + b"\n" + b"x" * 1_000_000 + b"\n" + SENTENCE + b"\r\n")
        lines = await take(source, 2)
    assert [line.data for line in lines] == [SENTENCE, SENTENCE]
    assert too_long(config.name) == 1


@bounded
async def test_a_receiver_that_comes_back_counts_as_a_reconnect() -> None:
    config = feed("tcp_server", "127.0.0.1:0")
    async with TcpServerSource(config, ingest_settings()) as source:
        for line in (b"first", b"second"):
            async with tcp_peer(*listening(source)) as (_, writer):
                writer.write(line + b"\n")
                assert (await anext(source)).data == line
            await eventually(lambda: connected(config.name) == 0, "link down once the receiver left")
    assert reconnects(config.name) == 1


@bounded
async def test_a_slow_consumer_slows_the_senders() -> None:
    config = feed("tcp_server", "127.0.0.1:0")
    async with (
        TcpServerSource(config, ingest_settings(), queue_lines=10) as source,
        tcp_peer(*listening(source)) as (_, writer),
    ):
        writer.write((SENTENCE + b"\n") * 600_000)  # ~30 MB
        await anext(source)
        await asyncio.sleep(0.2)
        # The queue is full, so the server stopped reading: the rest waits at the sender.
        assert writer.transport.get_write_buffer_size() > 0
        assert lines_in(config.name) < 1000
        writer.transport.abort()


@bounded
async def test_an_address_in_use_is_retried_until_it_is_free() -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    config = feed("tcp_server", f"127.0.0.1:{port}")

    async def on_sleep(count: int) -> None:
        if count == 2:
            blocker.close()

    sleep = RecordingSleep(on_sleep)
    try:
        async with TcpServerSource(config, ingest_settings(), sleep=sleep) as source:
            assert source.address is None
            await eventually(lambda: source.address is not None, "bound once the port was free")
            async with tcp_peer("127.0.0.1", port) as (_, writer):
                writer.write(SENTENCE + b"\n")
                assert (await anext(source)).data == SENTENCE
    finally:
        blocker.close()
    assert sleep.delays == [0.5, 1.0]
