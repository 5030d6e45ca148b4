"""The packed-day track cache (`track_days`): a cached read is the plain read, packed days are dropped by
late writes, updates, deletes and retention, and only whole closed UTC days are packed."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from tests.tracking import test_retention
from tests.tracking.sim_tracks import T0, add_vessel
from tracking.db import Pool
from tracking.retention import drop_old_positions
from tracking.tracks import TRACK_DAYS_LOCK, Track, fetch_track

plain_pool = test_retention.plain_pool  # the fixture: plain PostgreSQL tables
SOURCES = ["ais", "jt808", "tag", "somewhere_else"]
COPY = "COPY positions (ts, vessel_id, source, lon, lat, speed, course, heading, drill) FROM STDIN"


def rows(vessel: int, start: datetime, hours: int, every_s: int = 300) -> list[tuple[Any, ...]]:
    """Positions every `every_s` from `start` (on the midnights too), with unknown speeds, several
    sources, drill points, and pairs of points sharing a time."""
    out: list[tuple[Any, ...]] = []
    for n in range(hours * 3600 // every_s):
        ts = start + timedelta(seconds=n * every_s)
        speed = None if n % 7 == 0 else 3.0 + n % 5
        out.append(
            (ts, vessel, SOURCES[n % 4], 115.4 + n * 1e-4, 22.6 - n * 1e-5, speed, 90.0, None, n % 3 == 0)
        )
        if n % 50 == 0:  # the same time from another source
            out.append((ts, vessel, "sim", 115.0 + n * 1e-4, 22.0, 1.0, None, 45.0, False))
    return out


async def store(conn: Any, batch: list[tuple[Any, ...]]) -> None:
    async with conn.cursor() as cur, cur.copy(COPY) as copy:
        for row in reversed(batch):  # stored newest first: the reads must order them
            await copy.write_row(row)


def assert_same(a: Track, b: Track) -> None:
    assert len(a) == len(b)
    for name in ("ts", "lon", "lat", "speed", "course", "heading", "source", "drill"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=name not in ("source", "drill"))


async def packed_days(conn: Any, vessel: int) -> dict[date, int]:
    cur = await conn.execute(
        "SELECT day, points FROM track_days WHERE vessel_id = %s ORDER BY day", (vessel,)
    )
    return {day: points for day, points in await cur.fetchall()}


def day(n: int) -> date:
    return (T0 + timedelta(days=n)).date()


async def test_a_cached_read_is_the_plain_read_with_partial_days_at_the_edges(pool: Pool) -> None:
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        other = await add_vessel(conn, "OTHER BOAT 99999", 412_000_002)
        await store(conn, rows(vessel, T0, 4 * 24))
        await store(conn, rows(other, T0, 2 * 24))
        await conn.commit()
        ranges = [
            (T0 + timedelta(hours=6), T0 + timedelta(days=3, hours=5)),  # partial days at both edges
            (T0, T0 + timedelta(days=2)),  # midnights: whole days only, the end's points excluded
            (T0 + timedelta(days=1, seconds=1), T0 + timedelta(days=2)),  # less than a day at midnight
            (T0 - timedelta(days=2), T0 + timedelta(days=6)),  # empty days packed too
        ]
        for start, end in ranges:
            plain = await fetch_track(conn, vessel, start, end, max_points=100_000, cache=False)
            missed = await fetch_track(conn, vessel, start, end, max_points=100_000)
            hit = await fetch_track(conn, vessel, start, end, max_points=100_000)
            assert_same(missed, plain)
            assert_same(hit, plain)
            assert plain.time(0) >= start and plain.time(len(plain) - 1) < end
        assert bool(plain.drill.any()) and bool(np.isnan(plain.speed).any())
        assert {plain.source_name(i) for i in range(len(plain))} == {*SOURCES[:3], "other", "sim"}
        per_day = len(rows(vessel, T0, 24))
        packed = await packed_days(conn, vessel)
        assert packed == {
            **{day(n): 0 for n in (-2, -1, 4, 5)},
            **{day(n): per_day for n in range(4)},
        }
        assert await packed_days(conn, other) == {}


async def test_the_packed_days_are_what_the_read_uses(pool: Pool) -> None:
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        await store(conn, rows(vessel, T0, 2 * 24))
        await fetch_track(conn, vessel, T0, T0 + timedelta(days=2), max_points=100_000)
        # A packed day emptied behind the cache's back (no trigger sees a TRUNCATE of another table).
        await conn.execute("UPDATE track_days SET points = 0, data = '' WHERE day = %s", (day(1),))
        cached = await fetch_track(conn, vessel, T0, T0 + timedelta(days=2), max_points=100_000)
        plain = await fetch_track(conn, vessel, T0, T0 + timedelta(days=2), max_points=100_000, cache=False)
    assert len(cached) == len(plain) // 2


async def test_late_updated_and_deleted_positions_drop_their_packed_day(pool: Pool) -> None:
    start, end = T0, T0 + timedelta(days=3)
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        await store(conn, rows(vessel, T0, 3 * 24))
        await conn.commit()
        await fetch_track(conn, vessel, start, end, max_points=100_000)
        assert set(await packed_days(conn, vessel)) == {day(0), day(1), day(2)}

        late = T0 + timedelta(days=1, hours=3, seconds=7)
        await store(conn, [(late, vessel, "jt808", 116.0, 23.0, 2.0, 10.0, 20.0, True)])
        await conn.commit()
        assert set(await packed_days(conn, vessel)) == {day(0), day(2)}
        track = await fetch_track(conn, vessel, start, end, max_points=100_000)
        assert late in {track.time(i) for i in range(len(track))}
        assert_same(track, await fetch_track(conn, vessel, start, end, max_points=100_000, cache=False))
        assert set(await packed_days(conn, vessel)) == {day(0), day(1), day(2)}

        await conn.execute("UPDATE positions SET lon = 117.0 WHERE ts = %s", (late,))
        await conn.execute("DELETE FROM positions WHERE ts = %s", (T0 + timedelta(hours=1),))
        await conn.commit()
        assert set(await packed_days(conn, vessel)) == {day(2)}
        track = await fetch_track(conn, vessel, start, end, max_points=100_000)
        assert_same(track, await fetch_track(conn, vessel, start, end, max_points=100_000, cache=False))
        assert 117.0 in track.lon.tolist()


async def test_nothing_is_packed_while_late_positions_are_being_written_nor_today(pool: Pool) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with pool.connection() as conn, pool.connection() as writer:
        vessel = await add_vessel(conn)
        await store(conn, rows(vessel, today - timedelta(days=1), 24 + 1))
        await conn.commit()
        # Another transaction is writing into closed days: it holds the lock shared until it ends.
        await writer.execute("SELECT pg_advisory_xact_lock_shared(%s)", (TRACK_DAYS_LOCK,))
        end = today + timedelta(days=1)
        track = await fetch_track(conn, vessel, today - timedelta(days=1), end, max_points=100_000)
        assert len(track) == len(rows(vessel, today - timedelta(days=1), 24 + 1))
        assert await packed_days(conn, vessel) == {}
        await writer.rollback()
        await fetch_track(conn, vessel, today - timedelta(days=1), end, max_points=100_000)
        assert set(await packed_days(conn, vessel)) == {today.date() - timedelta(days=1)}


async def retention_drops_the_packed_days_with_the_positions(pool: Pool) -> None:
    now = T0 + timedelta(days=34, hours=3)  # cutoff T0 + 4 days 03:00: days 0..4 go
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        await store(conn, rows(vessel, T0, 8 * 24, every_s=1800))
        await conn.commit()
        await fetch_track(conn, vessel, T0, T0 + timedelta(days=8), max_points=100_000)
        assert len(await packed_days(conn, vessel)) == 8
    await drop_old_positions(pool, 30, now)
    async with pool.connection() as conn:
        assert set(await packed_days(conn, vessel)) == {day(5), day(6), day(7)}
        cached = await fetch_track(conn, vessel, T0, T0 + timedelta(days=8), max_points=100_000)
        plain = await fetch_track(conn, vessel, T0, T0 + timedelta(days=8), max_points=100_000, cache=False)
    assert_same(cached, plain)
    assert cached.time(0) >= T0 + timedelta(days=4)


async def test_retention_drops_the_packed_days_with_the_positions(pool: Pool) -> None:
    await retention_drops_the_packed_days_with_the_positions(pool)  # drop_chunks on TimescaleDB


async def test_retention_on_plain_postgresql_drops_the_packed_days_too(plain_pool: Pool) -> None:
    await retention_drops_the_packed_days_with_the_positions(plain_pool)  # DELETE and its trigger
