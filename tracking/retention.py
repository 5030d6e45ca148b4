"""Retention: raw positions older than `tracking.retention_days` are dropped, once a day.

On TimescaleDB `drop_chunks` removes whole day-chunks (instant, no bloat, no vacuum); on plain
PostgreSQL — the demo's embedded server — it is a DELETE, in slices so that a first run over a long
history does not hold one huge transaction. Voyages, port calls, alerts and `vessel_latest` are other
tables and are kept: that is why voyages carry their own distance, zone times and fishing effort.
The packed track days (`track_days`) of the dropped days go with them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from seawatch.settings import TrackingSettings
from tracking.db import Pool
from tracking.tracks import TRACK_DAYS_LOCK, Connection

log = logging.getLogger(__name__)

DAY_S = 86_400.0
DELETE_SLICE = timedelta(hours=6)


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    method: str  # "drop_chunks", "delete" or "kept" (retention off)
    dropped: int  # chunks dropped, or rows deleted


async def positions_hypertable(pool: Pool) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        if await cur.fetchone() is None:
            return False
        cur = await conn.execute(
            "SELECT 1 FROM timescaledb_information.hypertables"
            " WHERE hypertable_name = 'positions' AND hypertable_schema = current_schema()"
        )
        return await cur.fetchone() is not None


async def drop_old_positions(pool: Pool, retention_days: int, now: datetime) -> RetentionResult:
    cutoff = now - timedelta(days=retention_days)
    if retention_days <= 0:
        return RetentionResult(cutoff, "kept", 0)
    if await positions_hypertable(pool):
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT drop_chunks('positions', older_than => %s)", (cutoff,))
            dropped = len(await cur.fetchall())
            # No trigger sees a chunk dropped: the packed days go in the same transaction.
            await forget_track_days(conn, cutoff)
        return RetentionResult(cutoff, "drop_chunks", dropped)
    deleted = 0
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT min(ts) FROM positions")
        row = await cur.fetchone()
        oldest = row[0] if row else None
        while oldest is not None and oldest < cutoff:
            upto = min(oldest + DELETE_SLICE, cutoff)
            cur = await conn.execute("DELETE FROM positions WHERE ts < %s", (upto,))
            deleted += cur.rowcount
            await conn.commit()
            oldest = upto
        # The DELETE's trigger dropped the packed days it emptied; this drops the packed empty ones.
        await forget_track_days(conn, cutoff)
    return RetentionResult(cutoff, "delete", deleted)


async def forget_track_days(conn: Connection, cutoff: datetime) -> None:
    """Drop the packed days (`tracking.tracks`) of the day `cutoff` falls in and before: from then on
    their positions are gone or going. The lock, shared, keeps a read from packing them meanwhile."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (TRACK_DAYS_LOCK,))
    await conn.execute(
        "DELETE FROM track_days WHERE day <= (%s::timestamptz AT TIME ZONE 'UTC')::date", (cutoff,)
    )


async def run_retention(
    pool: Pool, settings: TrackingSettings, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """The daily component: once at start, then every 24 hours."""
    while True:
        result = await drop_old_positions(pool, settings.retention_days, clock())
        if result.dropped:
            log.info("retention: %s removed %d before %s", result.method, result.dropped, result.cutoff)
        await asyncio.sleep(DAY_S)
