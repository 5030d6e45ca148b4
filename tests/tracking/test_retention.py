"""Retention drops old raw positions and keeps voyages, port calls and alerts: drop_chunks on
TimescaleDB, DELETE on plain PostgreSQL."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from seawatch.settings import DatabaseSettings
from tests.tracking.sim_tracks import add_vessel
from tracking.db import Pool, open_pool
from tracking.migrate import migrate
from tracking.retention import drop_old_positions, positions_hypertable

NOW = datetime(2025, 9, 1, 3, 0, tzinfo=UTC)


async def fill(pool: Pool) -> int:
    """40 days of hourly positions, a voyage, a port call and an alert from the oldest day."""
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        old = NOW - timedelta(days=40)
        async with (
            conn.cursor() as cur,
            cur.copy("COPY positions (ts, vessel_id, source, lon, lat) FROM STDIN") as copy,
        ):
            for hour in range(40 * 24):
                await copy.write_row((old + timedelta(hours=hour), vessel, "ais", 115.4, 22.6))
        await conn.execute(
            "INSERT INTO port_calls (vessel_id, zone_id, zone_name, zone_kind, arrived_at, arrival_method)"
            " VALUES (%s, 'shanwei-port', 'Shanwei', 'harbour', %s, 'track')",
            (vessel, old),
        )
        await conn.execute(
            "INSERT INTO voyages (vessel_id, from_zone_id, departed_at, arrived_at, distance_m)"
            " VALUES (%s, 'shanwei-port', %s, %s, 1000)",
            (vessel, old, old + timedelta(hours=5)),
        )
        await conn.execute(
            "INSERT INTO alerts (kind, severity, dedup_key, vessel_id, title, opened_at, updated_at)"
            " VALUES ('geofence', 'high', 'k', %s, 't', %s, %s)",
            (vessel, old, old),
        )
    return vessel


async def counts(pool: Pool) -> tuple[int, ...]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM positions), (SELECT count(*) FROM positions WHERE ts < %s),"
            " (SELECT count(*) FROM voyages), (SELECT count(*) FROM port_calls),"
            " (SELECT count(*) FROM alerts)",
            (NOW - timedelta(days=30),),
        )
        row = await cur.fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


@pytest.fixture
async def plain_pool(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Pool]:
    """Plain tables even where the server has TimescaleDB: the demo's embedded server has no extension."""
    monkeypatch.setattr("tracking.migrate.ensure_hypertables", lambda conn: (False, []))
    migrate(empty_database_url)
    pool = await open_pool(empty_database_url, DatabaseSettings(pool_min=1, pool_max=2))
    try:
        assert not await positions_hypertable(pool)
        yield pool
    finally:
        await pool.close()


async def test_plain_postgresql_deletes_old_positions(plain_pool: Pool) -> None:
    pool = plain_pool
    await fill(pool)
    total, old, *_ = await counts(pool)
    result = await drop_old_positions(pool, 30, NOW)
    assert (result.method, result.dropped) == ("delete", old)
    assert await counts(pool) == (total - old, 0, 1, 1, 1)
    again = await drop_old_positions(pool, 30, NOW)
    assert again.dropped == 0
    assert (await drop_old_positions(pool, 0, NOW)).method == "kept"


async def test_timescaledb_drops_whole_chunks(pool: Pool, timescaledb: None) -> None:
    await fill(pool)
    assert await positions_hypertable(pool)
    total, old, *_ = await counts(pool)
    result = await drop_old_positions(pool, 30, NOW)
    assert result.method == "drop_chunks"
    assert 9 <= result.dropped <= 11  # the ten whole day-chunks before the cutoff
    remaining, older, voyages, calls, alerts = await counts(pool)
    # drop_chunks removes chunks that end before the cutoff: the chunk holding the cutoff stays whole.
    assert older < 24 and remaining >= total - old
    assert (voyages, calls, alerts) == (1, 1, 1)
