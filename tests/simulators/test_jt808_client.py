"""A simulated terminal against the real JT/T 808 server, store and database: it registers,
authenticates, reports in GMT+8 BCD time and sends heartbeats; what it stored out of coverage goes up
as a 0x0704 blind-area batch, stored in order; a lost server costs messages, and the terminal
reconnects with a fresh handshake, also after the server hung up on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.jt808_server import Jt808Server
from ingest.terminal_auth import TerminalAuthStore
from seawatch.settings import Jt808Settings, StoreSettings
from simulators.jt808_client import Jt808Terminal, bcd_time, location_report
from tests.simulators.support import eventually
from tracking.db import Pool
from tracking.store import RecordStore

TERMINAL = "014129900042"
WHEN = datetime(2026, 11, 2, 1, 0, 7, tzinfo=UTC)


class Recorder:
    """The real store, and a copy of every record for the test to look at."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self.records: list[dict[str, Any]] = []

    async def put(self, record: dict[str, Any]) -> asyncio.Future[None]:
        self.records.append(record)
        return await self.store.put(record)


@pytest.fixture
def idle_timeout_s() -> float:
    return 600.0


@pytest.fixture
async def server(
    pool: Pool, tmp_path: Path, idle_timeout_s: float
) -> AsyncIterator[tuple[Jt808Server, Recorder]]:
    store = RecordStore(pool, StoreSettings(flush_interval_ms=20), tmp_path / "spool")
    recorder = Recorder(store)
    settings = Jt808Settings(host="127.0.0.1", port=0, registration="required", idle_timeout_s=idle_timeout_s)
    jt808 = Jt808Server(settings, recorder, TerminalAuthStore(pool))
    tasks = [asyncio.create_task(store.run()), asyncio.create_task(jt808.run())]
    await asyncio.wait_for(jt808.listening.wait(), 10)
    yield jt808, recorder
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=10)


def test_bcd_time_is_beijing_time() -> None:
    assert bcd_time(WHEN) == "261102090007"
    report = location_report(lon=115.45, lat=22.56, knots=3.5, course=92.6, when=WHEN, alarm_bits=1)
    assert (report.lon_e6, report.lat_e6, report.speed_dkmh, report.course) == (
        115_450_000,
        22_560_000,
        65,
        93,
    )
    assert report.alarm_bits == 1 and report.status_bits & 0b10  # positioned


async def test_register_authenticate_report_and_heartbeat(server: tuple[Jt808Server, Recorder]) -> None:
    jt808, recorder = server
    assert jt808.port is not None
    terminal = Jt808Terminal("127.0.0.1", jt808.port, TERMINAL)
    async with asyncio.timeout(20):
        await terminal.report(location_report(lon=115.45, lat=22.56, knots=3.5, course=90, when=WHEN))
        await terminal.heartbeat()
        await terminal.report(
            location_report(lon=115.46, lat=22.56, knots=3.5, course=90, when=WHEN, alarm_bits=1)
        )
        await eventually(lambda: terminal.acked == 2, "both reports acknowledged")
        await terminal.close()
    kinds = [r["kind"] for r in recorder.records]
    assert kinds[:2] == ["register", "auth"]  # registration "required": reports only after the handshake
    positions = [r for r in recorder.records if r["kind"] == "position"]
    assert [p["terminal"] for p in positions] == [TERMINAL, TERMINAL]
    assert positions[0]["ts"] == WHEN and not positions[0].get("unauthenticated")
    assert positions[1]["alarms"] == ["emergency"]
    assert (terminal.sent, terminal.lost, terminal.sessions) == (3, 0, 1)


async def test_a_blind_area_batch_is_stored_in_order_and_acknowledged(
    server: tuple[Jt808Server, Recorder], pool: Pool
) -> None:
    jt808, recorder = server
    assert jt808.port is not None
    terminal = Jt808Terminal("127.0.0.1", jt808.port, TERMINAL)
    stored = [WHEN + timedelta(minutes=n) for n in range(3)]
    live = WHEN + timedelta(minutes=5)
    async with asyncio.timeout(20):
        await terminal.batch(
            [
                location_report(lon=115.45 + n / 100, lat=22.56, knots=3.5, course=90, when=when)
                for n, when in enumerate(stored)
            ]
        )
        await terminal.report(location_report(lon=115.5, lat=22.56, knots=3.5, course=90, when=live))
        await eventually(lambda: (terminal.batches_acked, terminal.acked) == (1, 1), "batch and report acked")
        await terminal.close()
        positions = [r for r in recorder.records if r["kind"] == "position"]
        assert [(p["ts"], p.get("batch_type")) for p in positions] == [(t, 1) for t in stored] + [
            (live, None)
        ]
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT p.ts FROM positions p JOIN vessel_identities i ON i.vessel_id = p.vessel_id"
                " WHERE i.kind = 'terminal' AND i.value = %s ORDER BY p.ts",
                (TERMINAL,),
            )
            assert [r[0] for r in await cur.fetchall()] == [*stored, live]  # durable, once each


@pytest.mark.parametrize("idle_timeout_s", [0.5])
async def test_after_the_server_hung_up_the_next_message_opens_a_new_session(
    server: tuple[Jt808Server, Recorder],
) -> None:
    jt808, _ = server
    assert jt808.port is not None
    terminal = Jt808Terminal("127.0.0.1", jt808.port, TERMINAL)
    async with asyncio.timeout(20):
        await terminal.report(location_report(lon=115.45, lat=22.56, knots=3.5, course=90, when=WHEN))
        await eventually(lambda: terminal.acked == 1, "the first report acknowledged")
        await eventually(lambda: terminal._writer is None or terminal._writer.is_closing(), "hung up on")
        await terminal.report(location_report(lon=115.46, lat=22.56, knots=3.5, course=90, when=WHEN))
        await eventually(lambda: terminal.acked == 2, "the second report acknowledged")
        await terminal.close()
    assert (terminal.sessions, terminal.lost) == (2, 0)


async def test_a_lost_server_costs_messages_and_the_terminal_comes_back_with_a_new_session(
    pool: Pool, tmp_path: Path
) -> None:
    async with asyncio.timeout(30):
        terminal = Jt808Terminal("127.0.0.1", 9, TERMINAL)  # nothing listens
        await terminal.heartbeat()
        assert (terminal.sent, terminal.lost) == (0, 1)
        store = RecordStore(pool, StoreSettings(flush_interval_ms=20), tmp_path / "spool")
        jt808 = Jt808Server(Jt808Settings(host="127.0.0.1", port=0), store, TerminalAuthStore(pool))
        tasks = [asyncio.create_task(store.run()), asyncio.create_task(jt808.run())]
        await jt808.listening.wait()
        assert jt808.port is not None
        terminal.port = jt808.port
        await terminal.heartbeat()
        await terminal.close()
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=10)
    assert (terminal.sent, terminal.lost, terminal.sessions) == (1, 1, 1)
