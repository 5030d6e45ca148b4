"""Rebuild requests: `seawatch tracks rebuild` queues them, the tracker carries them out.

Port calls, voyages and the detector state in `vessel_latest` have one writer, the tracker (it holds
an advisory lock for its life). A rebuild that reaches a vessel's present replaces that state, so it
must happen inside the tracker, between two of its polls: the command queues a request in
`tracker_rebuilds` and waits for the tracker to take it. With no tracker running, the command takes the
tracker's lock itself and does the work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from seawatch.settings import DatabaseSettings, Settings, TrackingSettings
from tracking.db import Pool, open_pool
from tracking.portcall_store import Connection
from tracking.rebuild import Rebuilt, rebuild_vessel
from tracking.zones import ZoneIndex, load_zone_index

log = logging.getLogger(__name__)

TRACKER_LOCK_ID = 0x5EA_7A7D  # the tracker holds it while it runs


class RebuildError(ValueError):
    """A request that cannot be carried out: one line for the user."""


async def vessels_in_window(conn: Connection, start: datetime, end: datetime) -> list[int]:
    """Every vessel with positions, gate reads, port calls or voyages in [start, end)."""
    cur = await conn.execute(
        "SELECT vessel_id FROM positions WHERE ts >= %(s)s AND ts < %(e)s"
        " UNION SELECT vessel_id FROM events WHERE kind = 'tag_read' AND vessel_id IS NOT NULL"
        " AND ts >= %(s)s AND ts < %(e)s"
        " UNION SELECT vessel_id FROM port_calls WHERE arrived_at < %(e)s"
        " AND (departed_at IS NULL OR departed_at >= %(s)s)"
        " UNION SELECT vessel_id FROM voyages WHERE departed_at < %(e)s"
        " AND (arrived_at IS NULL OR arrived_at >= %(s)s)",
        {"s": start, "e": end},
    )
    return sorted(int(r[0]) for r in await cur.fetchall())


async def request_rebuild(conn: Connection, vessel_ids: list[int], start: datetime, end: datetime) -> None:
    if end <= start:
        raise RebuildError("the window must end after it starts")
    cur = await conn.execute("SELECT id FROM vessels WHERE id = ANY(%s)", (vessel_ids,))
    unknown = set(vessel_ids) - {int(r[0]) for r in await cur.fetchall()}
    if unknown:
        raise RebuildError(f"no such vessel: {', '.join(map(str, sorted(unknown)))}")
    await conn.execute(
        "INSERT INTO tracker_rebuilds (vessel_id, from_ts, to_ts) SELECT unnest(%s::bigint[]), %s, %s",
        (vessel_ids, start, end),
    )


async def run_requests(
    pool: Pool, zones: ZoneIndex, settings: TrackingSettings, now: datetime
) -> list[Rebuilt]:
    """Carry out every queued request, a vessel a transaction (its requests merged into one window).
    Only the tracker, or whoever holds its lock, may call this."""
    done: list[Rebuilt] = []
    while True:
        async with pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT vessel_id FROM tracker_rebuilds ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
            )
            row = await cur.fetchone()
            if row is None:
                return done
            vessel_id = int(row[0])
            cur = await conn.execute(
                "DELETE FROM tracker_rebuilds WHERE vessel_id = %s RETURNING from_ts, to_ts", (vessel_id,)
            )
            spans = await cur.fetchall()
            start, end = min(s[0] for s in spans), max(s[1] for s in spans)
            result = await rebuild_vessel(conn, vessel_id, start, end, zones, settings, now)
            log.info(
                "vessel %s rebuilt from %s to %s: %d port calls, %d voyages, %d rows changed",
                vessel_id,
                result.start,
                result.end or "its newest data",
                result.port_calls,
                result.voyages,
                result.changed,
            )
            done.append(result)


async def rebuild_command(
    dsn: str,
    settings: Settings,
    vessel_ids: list[int] | None,
    start: datetime,
    end: datetime,
    wait_s: float,
    say: Callable[[str], None] = print,
) -> list[int]:
    """`seawatch tracks rebuild`: queue, then do it (no tracker running) or wait for the tracker."""
    pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=2))
    try:
        async with pool.connection() as conn:
            vessels = vessel_ids if vessel_ids is not None else await vessels_in_window(conn, start, end)
            await request_rebuild(conn, vessels, start, end)
        if not vessels:
            say("no vessel has anything in that window")
            return vessels
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as lock:
            cur = await lock.execute("SELECT pg_try_advisory_lock(%s)", (TRACKER_LOCK_ID,))
            row = await cur.fetchone()
            if row and row[0]:
                async with pool.connection() as conn:
                    zones = await load_zone_index(conn)
                for r in await run_requests(pool, zones, settings.tracking, datetime.now(UTC)):
                    until = r.end.isoformat() if r.end else "its newest data"
                    say(
                        f"vessel {r.vessel_id}: {r.start.isoformat()} to {until}: {r.port_calls} port"
                        f" call(s), {r.voyages} voyage(s), {r.changed} row(s) changed"
                    )
                return vessels
        say(f"a tracker is running: {len(vessels)} vessel(s) queued for it, waiting…")
        await _wait_for_tracker(pool, vessels, wait_s)
        say("done by the tracker")
        return vessels
    finally:
        await pool.close()


async def _wait_for_tracker(pool: Pool, vessels: list[int], wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM tracker_rebuilds WHERE vessel_id = ANY(%s)", (vessels,)
            )
            row = await cur.fetchone()
        if not row or not row[0]:
            return
        if time.monotonic() > deadline:
            raise RebuildError(f"still queued after {wait_s:g} s; the running tracker will take it")
        await asyncio.sleep(0.5)
