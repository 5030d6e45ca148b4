"""The TCP client source against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
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
    too_long,
)

from ingest.sources.common import close_writer
from ingest.sources.tcp_client import TcpClientSource

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

SENTENCES = [
    b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23",
    b"!AIVDM,1,1,,A,133sVfPP00PD>hRMDH@jNOvN20S8,0*7F",
    b"!AIVDM,1,1,,B,100h00PP0@PHFV`Mg5gTH?vNPUIp,0*3B",
]


async def start_server(handler: Handler, port: int = 0) -> asyncio.Server:
    return await asyncio.start_server(handler, "127.0.0.1", port)


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


def sends(payload: bytes, *, then_close: bool = False) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(payload)
            await writer.drain()
            if not then_close:
                await reader.read()  # hold the connection until the client goes
        finally:
            await close_writer(writer)

    return handler


@bounded
async def test_lines_arrive_in_order_with_feed_peer_and_time() -> None:
    server = await start_server(sends(b"\r\n".join(SENTENCES) + b"\r\n"))
    port = port_of(server)
    async with server:
        config = feed("tcp_client", f"127.0.0.1:{port}")
        async with TcpClientSource(config, ingest_settings(), clock=fixed_clock) as source:
            lines = await take(source, 3)
            assert connected(config.name) == 1
        assert connected(config.name) == 0
    assert [line.data for line in lines] == SENTENCES
    assert {(line.feed, line.peer, line.received_at, line.ack) for line in lines} == {
        (config.name, f"127.0.0.1:{port}", FIXED_TIME, None)
    }
    assert lines_in(config.name) == 3


@bounded
async def test_a_one_megabyte_line_costs_that_line_only() -> None:
    payload = SENTENCES[0] + b"\n" + b"x" * 1_000_000 + b"\r\n" + SENTENCES[1] + b"\n"
    server = await start_server(sends(payload))
    async with server:
        config = feed("tcp_client", f"127.0.0.1:{port_of(server)}")
        async with TcpClientSource(config, ingest_settings()) as source:
            lines = await take(source, 2)
    assert [line.data for line in lines] == SENTENCES[:2]
    assert too_long(config.name) == 1
    assert reconnects(config.name) == 0  # the connection survived it


@bounded
async def test_a_dropped_server_comes_back_and_the_client_reconnects() -> None:
    first = await start_server(sends(SENTENCES[0] + b"\n" + b"!AIVDM,cut-off", then_close=True))
    port = port_of(first)
    config = feed("tcp_client", f"127.0.0.1:{port}")
    restarted: list[asyncio.Server] = []

    async def on_sleep(count: int) -> None:
        assert connected(config.name) == 0
        if count == 3:  # two attempts have failed; the server is back for the third
            restarted.append(await start_server(sends(SENTENCES[1] + b"\n" + SENTENCES[2] + b"\n"), port))

    sleep = RecordingSleep(on_sleep)
    async with TcpClientSource(config, ingest_settings(), sleep=sleep) as source:
        assert (await anext(source)).data == SENTENCES[0]
        first.close()
        await first.wait_closed()
        # The half line cut off by the drop is given as it was (the decoder rejects it) and never glued
        # onto the next connection's first line.
        assert (await anext(source)).data == b"!AIVDM,cut-off"
        lines = await take(source, 2)
        assert connected(config.name) == 1
    restarted[0].close()
    assert [line.data for line in lines] == SENTENCES[1:]
    assert sleep.delays == [0.5, 1.0, 1.5]  # doubling, capped at reconnect_max_s
    assert reconnects(config.name) == 1


@bounded
async def test_the_delay_starts_short_again_after_a_healthy_connection() -> None:
    server = await start_server(sends(SENTENCES[0] + b"\n", then_close=True))
    async with server:
        config = feed("tcp_client", f"127.0.0.1:{port_of(server)}")
        sleep = RecordingSleep()
        async with TcpClientSource(config, ingest_settings(), sleep=sleep) as source:
            await take(source, 3)  # each connection delivers one line, then is closed by the server
    assert sleep.delays == [0.5, 0.5]
    assert reconnects(config.name) == 2


@bounded
async def test_a_slow_consumer_slows_the_sender() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        writer.write((SENTENCES[0] + b"\n") * 600_000)  # ~30 MB, more than the kernel buffers hold
        try:
            await reader.read()
        finally:
            writer.transport.abort()

    server = await start_server(flood)
    async with server:
        config = feed("tcp_client", f"127.0.0.1:{port_of(server)}")
        async with TcpClientSource(config, ingest_settings()) as source:
            await anext(source)
            await asyncio.sleep(0.2)
            # The client read only what it needed; the rest waits at the sender, not in our memory.
            assert writers[0].transport.get_write_buffer_size() > 0
            assert lines_in(config.name) < 1000


@bounded
async def test_a_refused_connection_is_retried_without_raising() -> None:
    server = await start_server(sends(b""))
    port = port_of(server)
    server.close()
    await server.wait_closed()
    config = feed("tcp_client", f"127.0.0.1:{port}")
    sleep = RecordingSleep()
    async with TcpClientSource(config, ingest_settings(), sleep=sleep) as source:
        pending = asyncio.create_task(anext(source))
        await eventually(lambda: len(sleep.delays) >= 4, "four reconnect attempts")
        pending.cancel()  # only cancellation ends a source
        with pytest.raises(asyncio.CancelledError):
            await pending
    assert sleep.delays[:4] == [0.5, 1.0, 1.5, 1.5]
    assert connected(config.name) == 0
