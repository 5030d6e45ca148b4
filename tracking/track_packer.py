"""Packing each closed day's tracks ahead of the reads that would otherwise pack them.

A track read packs the closed UTC days it misses (`tracking.tracks`), so the first read of a month
scans the month's positions. Soon after midnight UTC this packs the day just closed for every vessel
that moved in it, in batches of vessels, each its own short transaction: packing holds the
track-days lock exclusively, and a late upload into a closed day (whose trigger takes it shared) waits
for at most one batch. A batch that finds the lock busy is tried again a little later, then left to
the reads. Days already packed (by a read) are skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta

from tracking.db import Pool
from tracking.tracks import RECORD_SQL, may_pack

log = logging.getLogger(__name__)

# After midnight UTC: late reports of the closing day (receivers' buffers, terminal 0x0704 uploads
# within minutes) have mostly arrived by then; later ones just drop the packed day again.
PACK_AT = time(0, 20)
BATCH_VESSELS = 200
BUSY_RETRIES = 5
BUSY_WAIT_S = 2.0

UNPACKED_SQL = (
    "SELECT DISTINCT vessel_id FROM positions WHERE ts >= %(start)s AND ts < %(end)s"
    " EXCEPT SELECT vessel_id FROM track_days WHERE day = %(day)s ORDER BY 1"
)
PACK_VESSELS_SQL = (
    "INSERT INTO track_days (vessel_id, day, points, data)"
    f" SELECT vessel_id, %(day)s, count(*), {RECORD_SQL} FROM positions"
    " WHERE vessel_id = ANY(%(vessels)s) AND ts >= %(start)s AND ts < %(end)s"
    # The database's clock decides what is closed, as the invalidating triggers' does.
    " AND %(day)s < (now() AT TIME ZONE 'UTC')::date"
    " GROUP BY vessel_id ON CONFLICT (vessel_id, day) DO NOTHING"
)

Sleep = Callable[[float], Awaitable[None]]


def next_pack_time(now: datetime) -> datetime:
    """The next PACK_AT (UTC) strictly after `now`."""
    at = datetime.combine(now.astimezone(UTC).date(), PACK_AT, tzinfo=UTC)
    return at if at > now else at + timedelta(days=1)


async def pack_day(pool: Pool, day: date, *, batch: int = BATCH_VESSELS, sleep: Sleep = asyncio.sleep) -> int:
    """Pack `day` (UTC, closed) for every vessel with positions in it not packed yet; returns how many
    vessel-days were packed. Busy batches are retried, then left to the reads."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    window = {"day": day, "start": start, "end": start + timedelta(days=1)}
    async with pool.connection() as conn:
        cur = await conn.execute(UNPACKED_SQL, window)
        vessels = [int(row[0]) for row in await cur.fetchall()]
    packed = 0
    for i in range(0, len(vessels), batch):
        chunk = vessels[i : i + batch]
        for attempt in range(BUSY_RETRIES):
            done = await _pack_batch(pool, {**window, "vessels": chunk})
            if done is not None:
                packed += done
                break
            if attempt + 1 < BUSY_RETRIES:
                await sleep(BUSY_WAIT_S)
        else:
            log.info(
                "track packer: %s, %d vessels left to the reads (positions being written)", day, len(chunk)
            )
    return packed


async def _pack_batch(pool: Pool, params: dict[str, object]) -> int | None:
    """The vessel-days packed, or None when the lock was busy."""
    async with pool.connection() as conn, conn.transaction():
        if not await may_pack(conn):
            return None
        cur = await conn.execute(PACK_VESSELS_SQL, params)
        return max(cur.rowcount, 0)


async def run_track_packer(
    pool: Pool,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Sleep = asyncio.sleep,
) -> None:
    """The daily component: at start the day just closed (in case the process was down at PACK_AT),
    then every day at PACK_AT."""
    while True:
        day = clock().astimezone(UTC).date() - timedelta(days=1)
        packed = await pack_day(pool, day, sleep=sleep)
        if packed:
            log.info("track packer: %s packed for %d vessels", day, packed)
        now = clock()
        await sleep(max((next_pack_time(now) - now).total_seconds(), 1.0))
