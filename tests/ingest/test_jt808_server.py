"""The JT/T 808 server with real sockets, the real record store and a real database."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ingest.jt808 import FrameSplitter, decode_frame, encode_message
from ingest.jt808.messages import Heartbeat, LocationReport, TerminalAuth, TerminalRegister
from ingest.jt808.messages.basic import TerminalLogout
from ingest.jt808_server import Jt808Server
from ingest.terminal_auth import TerminalAuthStore
from seawatch.settings import Jt808Settings, StoreSettings
from tracking.db import Pool
from tracking.store import RecordStore

TERMINAL = "013800138000"
EMERGENCY = 1  # alarm bit 0
POSITIONED = 1 << 1


def location(
    *, alarm: int = 0, lat: float = 22.7, lon: float = 115.35, time: str = "261129101500"
) -> LocationReport:
    return LocationReport(
        alarm_bits=alarm,
        status_bits=POSITIONED,
        lat_e6=round(lat * 1e6),
        lon_e6=round(lon * 1e6),
        altitude=3,
        speed_dkmh=185,
        course=90,
        time=time,
    )


@dataclass
class Terminal:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    serial: int = 0

    async def send(self, message: Any, terminal: str = TERMINAL) -> None:
        self.serial += 1
        self.writer.write(encode_message(message, terminal=terminal, serial=self.serial))
        await self.writer.drain()

    async def answer(self) -> dict[str, Any]:
        splitter = FrameSplitter()
        async with asyncio.timeout(10):
            while True:
                data = await self.reader.read(4096)
                assert data, "the server closed the connection"
                frames = [f for f in splitter.feed(data) if isinstance(f, bytes)]
                if frames:
                    return decode_frame(frames[0])

    async def closed(self) -> bool:
        async with asyncio.timeout(10):
            while await self.reader.read(4096):
                pass
        return True


@dataclass
class Harness:
    server: Jt808Server
    store: RecordStore
    pool: Pool
    terminals: list[Terminal] = field(default_factory=list)

    async def connect(self) -> Terminal:
        assert self.server.port is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        self.terminals.append(Terminal(reader, writer))
        return self.terminals[-1]

    async def close(self) -> None:
        for terminal in self.terminals:
            terminal.writer.close()
            with contextlib.suppress(ConnectionError):
                await terminal.writer.wait_closed()

    async def count(self, sql: str, *params: Any) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def start(pool: Pool, tmp_path: Path, **overrides: Any) -> AsyncIterator[Harness]:
    settings = Jt808Settings(host="127.0.0.1", port=0, **overrides)
    store = RecordStore(pool, StoreSettings(flush_interval_ms=20), tmp_path / "spool")
    server = Jt808Server(settings, store, TerminalAuthStore(pool))
    tasks = [asyncio.create_task(store.run()), asyncio.create_task(server.run())]
    await asyncio.wait_for(server.listening.wait(), 10)
    harness = Harness(server, store, pool)
    try:
        yield harness
    finally:
        await harness.close()
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=10)


@pytest.fixture
async def harness(pool: Pool, tmp_path: Path) -> AsyncIterator[Harness]:
    async for running in start(pool, tmp_path):
        yield running


REGISTER = TerminalRegister(
    province_id=44,
    city_id=1500,
    manufacturer_id="SWBD1",
    terminal_model="BD-SAFE-2",
    terminal_id="A1B2C3D",
    plate_color=0,
    plate="粤汕渔12345",
    layout=2013,
)


async def test_register_authenticate_report_and_logout(harness: Harness) -> None:
    terminal = await harness.connect()
    await terminal.send(REGISTER)
    registered = await terminal.answer()
    assert registered["kind"] == "register_response" and registered["result"] == 0
    code = registered["auth_code"]
    assert len(code) == 16

    await terminal.send(TerminalAuth(auth_code=code, imei="", software_version=""))
    assert (await terminal.answer())["result"] == 0

    await terminal.send(location(alarm=EMERGENCY))
    answer = await terminal.answer()
    assert (answer["kind"], answer["reply_msg_id"], answer["result"]) == ("platform_response", 0x0200, 0)
    # The answer came only after the report was committed.
    assert await harness.count("SELECT count(*) FROM positions WHERE source = 'jt808'") == 1
    async with harness.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT p.lat, p.lon, p.speed, i.value FROM positions p"
            " JOIN vessel_identities i ON i.vessel_id = p.vessel_id AND i.kind = 'terminal'"
        )
        lat, lon, speed, identity = await cur.fetchone()  # type: ignore[misc]
    assert (round(lat, 6), round(lon, 6), identity) == (22.7, 115.35, TERMINAL)
    assert speed == pytest.approx(18.5 / 1.852, abs=0.01)
    async with harness.pool.connection() as conn:
        cur = await conn.execute("SELECT data->'alarms' FROM events WHERE kind = 'alarm'")
        assert await cur.fetchall() == [(["emergency"],)]  # the alarm is in the history too

    await terminal.send(Heartbeat())
    assert (await terminal.answer())["reply_msg_id"] == 0x0002
    await terminal.send(TerminalLogout())
    assert (await terminal.answer())["reply_msg_id"] == 0x0003
    assert await terminal.closed()


async def test_a_wrong_auth_code_is_refused_and_reports_are_flagged(harness: Harness) -> None:
    terminal = await harness.connect()
    await terminal.send(TerminalAuth(auth_code="not-the-code", imei="", software_version=""))
    assert (await terminal.answer())["result"] == 1
    await terminal.send(location())
    assert (await terminal.answer())["result"] == 0  # accepted-and-flagged by default
    async with harness.pool.connection() as conn:
        cur = await conn.execute("SELECT data->>'authenticated' FROM events WHERE kind = 'auth'")
        assert await cur.fetchone() == ("false",)


async def test_registration_required_refuses_unauthenticated_reports(pool: Pool, tmp_path: Path) -> None:
    async for harness in start(pool, tmp_path, registration="required"):
        terminal = await harness.connect()
        await terminal.send(location())
        assert (await terminal.answer())["result"] == 1
        assert await harness.count("SELECT count(*) FROM positions") == 0


async def test_unsupported_messages_are_answered_not_supported(harness: Harness) -> None:
    from ingest.jt808 import build_frame, encode_header

    terminal = await harness.connect()
    head = encode_header(0x0F0F, 2, terminal=TERMINAL, serial=7)
    terminal.writer.write(build_frame(head + b"\x00\x01"))
    answer = await terminal.answer()
    assert (answer["reply_msg_id"], answer["result"]) == (0x0F0F, 3)


async def test_repeated_garbage_closes_that_connection_only(pool: Pool, tmp_path: Path) -> None:
    async for harness in start(pool, tmp_path, max_bad_frames=3):
        good = await harness.connect()
        bad = await harness.connect()
        bad.writer.write(b"\x7e\x01\x02\x03\x7e" * 5)
        await bad.writer.drain()
        assert await bad.closed()
        await good.send(Heartbeat())
        assert (await good.answer())["result"] == 0


async def test_a_batch_upload_stores_every_position(harness: Harness) -> None:
    from ingest.jt808.messages import BatchLocationUpload

    terminal = await harness.connect()
    batch = BatchLocationUpload(
        count=3,
        batch_type=1,
        positions=tuple(location(lat=22.7 + i / 100, time=f"2611291015{i:02d}") for i in range(3)),
    )
    await terminal.send(batch)
    assert (await terminal.answer())["reply_msg_id"] == 0x0704
    assert await harness.count("SELECT count(*) FROM positions") == 3


async def test_an_idle_connection_is_closed(pool: Pool, tmp_path: Path) -> None:
    async for harness in start(pool, tmp_path, idle_timeout_s=0.3):
        terminal = await harness.connect()
        assert await terminal.closed()


async def test_a_truncated_frame_and_one_without_its_closing_flag_cost_only_themselves(
    harness: Harness,
) -> None:
    terminal = await harness.connect()
    whole = encode_message(Heartbeat(), terminal=TERMINAL, serial=1)
    terminal.writer.write(whole[: len(whole) // 2])  # cut short: no closing 0x7e yet
    terminal.writer.write(encode_message(Heartbeat(), terminal=TERMINAL, serial=2))
    await terminal.writer.drain()
    # The half frame runs into the next frame's opening flag: it is reported bad, and the next frame,
    # which follows it, still gets its answer (the splitter resynchronises on the flags).
    answer = await terminal.answer()
    assert (answer["kind"], answer["reply_serial"]) == ("platform_response", 2)
    await terminal.send(location())
    assert (await terminal.answer())["reply_msg_id"] == 0x0200


async def test_a_thousand_idle_connections_do_not_stop_a_working_terminal(pool: Pool, tmp_path: Path) -> None:
    async for harness in start(pool, tmp_path):
        assert harness.server.port is not None
        idle = []
        for _ in range(1000):
            idle.append(await asyncio.open_connection("127.0.0.1", harness.server.port))
        try:
            working = await harness.connect()
            await working.send(location())
            assert (await working.answer())["result"] == 0
            assert len(harness.server.sessions) >= 1000
        finally:
            for _, writer in idle:
                writer.close()
            await asyncio.gather(*(w.wait_closed() for _, w in idle), return_exceptions=True)
