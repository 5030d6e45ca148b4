"""The daily track packer: the day just closed is packed for every vessel that moved in it, the packed
bytes are what a read would pack, and a busy lock leaves the batch to the reads."""

import asyncio
from datetime import UTC, datetime, timedelta

from tests.tracking.sim_tracks import T0, add_vessel
from tests.tracking.test_track_days import assert_same, packed_days, rows, store
from tracking.db import Pool
from tracking.track_packer import next_pack_time, pack_day
from tracking.tracks import TRACK_DAYS_LOCK, fetch_track


def test_the_next_pack_time_is_twenty_past_midnight_utc() -> None:
    assert next_pack_time(datetime(2026, 12, 5, 0, 10, tzinfo=UTC)) == datetime(
        2026, 12, 5, 0, 20, tzinfo=UTC
    )
    assert next_pack_time(datetime(2026, 12, 5, 0, 20, tzinfo=UTC)) == datetime(
        2026, 12, 6, 0, 20, tzinfo=UTC
    )
    # Local time in, UTC out: 08:30 in Shanwei (UTC+8) is 00:30 UTC, past today's run.
    shanwei = datetime(2026, 12, 5, 8, 30, tzinfo=UTC).astimezone(tz=None)
    assert next_pack_time(shanwei) == datetime(2026, 12, 6, 0, 20, tzinfo=UTC)


async def test_a_closed_day_is_packed_for_every_vessel_that_moved_and_reads_match(pool: Pool) -> None:
    async with pool.connection() as conn:
        vessels = [await add_vessel(conn, f"PACKER {n}", 412_100_000 + n) for n in range(5)]
        idle = await add_vessel(conn, "IDLE", 412_100_099)
        for v in vessels:
            await store(conn, rows(v, T0, 2 * 24))
        await conn.commit()

    packed = await pack_day(pool, T0.date(), batch=2)  # three batches
    assert packed == len(vessels)
    assert await pack_day(pool, T0.date()) == 0  # already packed: nothing to do

    async with pool.connection() as conn:
        per_day = len(rows(vessels[0], T0, 24))
        for v in vessels:
            assert await packed_days(conn, v) == {T0.date(): per_day}
            start, end = T0, T0 + timedelta(days=1)
            plain = await fetch_track(conn, v, start, end, max_points=100_000, cache=False)
            cached = await fetch_track(conn, v, start, end, max_points=100_000)
            assert_same(cached, plain)
        assert await packed_days(conn, idle) == {}


async def test_a_busy_lock_leaves_the_batch_to_the_reads(pool: Pool) -> None:
    async with pool.connection() as conn:
        vessel = await add_vessel(conn, "BUSY", 412_100_100)
        await store(conn, rows(vessel, T0, 24))
        await conn.commit()
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    async with pool.connection() as writer, writer.transaction():
        # What a late upload into a closed day holds until it commits.
        await writer.execute("SELECT pg_advisory_xact_lock_shared(%s)", (TRACK_DAYS_LOCK,))
        assert await pack_day(pool, T0.date(), sleep=no_wait) == 0
    assert len(waits) == 4  # tried five times in all
    async with pool.connection() as conn:
        assert await packed_days(conn, vessel) == {}
    assert await pack_day(pool, T0.date(), sleep=no_wait) == 1


async def test_today_is_never_packed(pool: Pool) -> None:
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    async with pool.connection() as conn:
        vessel = await add_vessel(conn, "TODAY", 412_100_101)
        await store(conn, rows(vessel, midnight, 1))
        await conn.commit()
    assert await pack_day(pool, midnight.date(), sleep=asyncio.sleep) == 0
    async with pool.connection() as conn:
        assert await packed_days(conn, vessel) == {}
