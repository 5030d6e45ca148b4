"""The tracker component: port calls, voyages and `vessel_latest`, fed from the database.

Every `poll_interval_s` it reads the positions and gate reads committed since its cursor (less
`lookback_s`, for batches committed a little out of order), runs them through the port-call detector in
time order, and commits, in one transaction, the port calls, voyages and contradictions found, each
touched vessel's `vessel_latest` row (position, in port or at sea, zones, detector state) and the cursor.

Why poll the database rather than sit in the ingest sink chain: it works whatever the process layout
(`run`, `--only ingest` on several workers, a replayed spool), it sees exactly what was stored, and a
restart resumes from the cursor and the persisted detector state with nothing lost or counted twice
(fixes and gate reads no newer than a vessel's last are skipped). The cost is a few seconds of delay,
which port calls and the vessel list can afford: the live map has the websocket.

Only one tracker may write: it holds a PostgreSQL advisory lock on its own connection, and a second
one (another `--only ingest` process) waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from seawatch.settings import TrackingSettings
from tracking.db import Pool
from tracking.gap_watch import GapWatch
from tracking.portcall_store import Connection, save_events, save_open_voyage, store_effort
from tracking.portcalls import (
    Config,
    Event,
    Fix,
    GateContradicted,
    GateRead,
    PortCallDetector,
    track_from_json,
    track_to_json,
)
from tracking.rebuild import Rebuilt
from tracking.rebuild_requests import TRACKER_LOCK_ID, run_requests
from tracking.zones import ZoneIndex, load_zone_index

log = logging.getLogger(__name__)

PAGE_ROWS = 50_000
ZONES_RELOAD_S = 60.0
MAX_FUTURE = timedelta(minutes=10)  # device clocks ahead of this are not trusted to move the cursor
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Clock = Callable[[], datetime]


@dataclass(slots=True)
class _Latest:
    ts: datetime
    source: str
    lon: float
    lat: float
    speed: float | None
    course: float | None
    heading: float | None
    status: int | None


def _now() -> datetime:
    return datetime.now(UTC)


class Tracker:
    def __init__(self, pool: Pool, settings: TrackingSettings, *, clock: Clock = _now) -> None:
        self.pool = pool
        self.settings = settings
        self.clock = clock
        self.detector = PortCallDetector(ZoneIndex(), Config.from_settings(settings))
        self.cursor = EPOCH
        self.read_cursor = EPOCH
        self._behind = False  # the last page was full: read on from the cursor, without the lookback
        self._zones_loaded_at: datetime | None = None
        self._zones_key: Any = None
        self.gaps = GapWatch(settings.max_gap_s)

    # --- the component ----------------------------------------------------------------------------

    async def run(self) -> None:
        # A connection of its own: a session lock taken on a pooled connection would stay with the pool.
        conninfo = self.pool.conninfo
        assert isinstance(conninfo, str)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as lock:
            waiting = False
            while True:
                cur = await lock.execute("SELECT pg_try_advisory_lock(%s)", (TRACKER_LOCK_ID,))
                row = await cur.fetchone()
                if row and row[0]:
                    break
                if not waiting:
                    log.info("another tracker holds the lock; this one waits")
                    waiting = True
                await asyncio.sleep(self.settings.poll_interval_s)
            await self.load()
            while True:
                while await self.poll_once() >= PAGE_ROWS:
                    pass  # behind: read the next page at once
                if self.gaps.due(self.clock()):
                    async with self.pool.connection() as conn:
                        await self.gaps.check(conn, self.clock())
                await self.rebuild_requested()
                await asyncio.sleep(self.settings.poll_interval_s)

    async def load(self) -> None:
        """The detector's state, cursors and zones as the last poll committed them (after a crash, what
        the failed poll had folded in memory is forgotten and read again)."""
        self.detector.vessels.clear()
        self._behind = False
        async with self.pool.connection() as conn:
            await self._reload_zones(conn, force=True)
            cur = await conn.execute("SELECT vessel_id, detector FROM vessel_latest WHERE detector <> '{}'")
            for vessel_id, state in await cur.fetchall():
                self.detector.vessels[int(vessel_id)] = track_from_json(int(vessel_id), state)
            cur = await conn.execute("SELECT name, ts FROM tracker_cursor")
            cursors: dict[str, datetime] = {str(r[0]): r[1] for r in await cur.fetchall()}
        self.cursor = cursors.get("positions", EPOCH)
        self.read_cursor = cursors.get("tag_reads", EPOCH)
        log.info(
            "tracker: %d vessels' state loaded, reading from %s", len(self.detector.vessels), self.cursor
        )

    async def poll_once(self) -> int:
        """Read one page of new rows, detect, commit. Returns how many positions were read."""
        now = self.clock()
        lookback = timedelta(seconds=self.settings.lookback_s)
        async with self.pool.connection() as conn:
            await self._reload_zones(conn)
            after = self.cursor if self._behind else self.cursor - lookback
            fixes = await _read_positions(conn, after, now + MAX_FUTURE)
            reads = await _read_gates(conn, self.read_cursor - lookback, now + MAX_FUTURE)
        # A page can hold tens of thousands of positions: detecting them on the event loop would stall
        # everything else in the process (a distress alert among it) for the whole page. Only this
        # component touches the detector, so a worker thread is safe.
        events, touched, latest = await asyncio.to_thread(self._detect, fixes, reads, now)
        self._behind = len(fixes) >= PAGE_ROWS
        if fixes:
            self.cursor = max(self.cursor, fixes[-1][1])
        if reads:
            self.read_cursor = max(self.read_cursor, reads[-1].ts)
        async with self.pool.connection() as conn, conn.transaction():
            closed = await save_events(conn, events)
            await self._save_vessels(conn, touched, latest)
            for vessel_id in touched:
                voyage = self.detector.track(vessel_id).voyage
                if voyage is not None:
                    await save_open_voyage(conn, vessel_id, voyage)
            await _save_cursor(conn, "positions", self.cursor)
            await _save_cursor(conn, "tag_reads", self.read_cursor)
        for voyage_id in closed:
            await self._store_effort(voyage_id)
        return len(fixes)

    async def rebuild_requested(self) -> list[Rebuilt]:
        """Carry out the queued rebuilds (`tracking.rebuild_requests`): between two polls, so nothing
        else writes the vessels' rows meanwhile; a rebuilt live state replaces the one in memory."""
        done = await run_requests(self.pool, self.detector.zones, self.settings, self.clock())
        for result in done:
            if result.state is not None:
                self.detector.vessels[result.vessel_id] = result.state
        return done

    # --- detection --------------------------------------------------------------------------------

    def _detect(
        self, fixes: list[tuple[int, datetime, _Latest]], reads: list[GateRead], now: datetime
    ) -> tuple[list[Event], set[int], dict[int, _Latest]]:
        events: list[Event] = []
        touched: set[int] = set()
        latest: dict[int, _Latest] = {}
        inputs: list[tuple[datetime, int, Any]] = [(ts, 0, (v, row)) for v, ts, row in fixes]
        inputs += [(r.ts, 1, r) for r in reads]
        inputs.sort(key=lambda item: (item[0], item[1]))  # one time order across both tables
        for _, which, item in inputs:
            if which == 1:
                events += self.detector.gate_read(item)
                touched.add(item.vessel_id)
                continue
            vessel_id, row = item
            last = self.detector.track(vessel_id).last
            if last is not None and row.ts > last.ts:
                self.gaps.note(vessel_id, last.ts, row.ts)
            found = self.detector.position(Fix(vessel_id, row.ts, row.lon, row.lat, row.speed))
            events += found
            if self.detector.track(vessel_id).last is not None:
                touched.add(vessel_id)
            known = latest.get(vessel_id)
            if known is None or row.ts >= known.ts:
                latest[vessel_id] = row
        ticked = self.detector.tick(now)
        events += ticked
        touched |= {_vessel_of(e) for e in ticked}
        return events, touched, latest

    # --- persistence ------------------------------------------------------------------------------

    async def _save_vessels(self, conn: Connection, touched: set[int], latest: dict[int, _Latest]) -> None:
        if not touched:
            return
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS tracker_rows (vessel_id bigint, ts timestamptz, source text,"
            " lon float8, lat float8, speed real, course real, heading real, status smallint,"
            " in_port boolean, port_zone_id text, zone_ids text[], detector jsonb) ON COMMIT DELETE ROWS"
        )
        async with conn.cursor() as cur, cur.copy("COPY tracker_rows FROM STDIN") as copy:
            for vessel_id in touched:
                track = self.detector.track(vessel_id)
                row = latest.get(vessel_id)
                zones = (
                    [z.id for z in self.detector.zones.containing(row.lon, row.lat)]
                    if row is not None
                    else []
                )
                position: tuple[Any, ...] = (
                    (row.ts, row.source, row.lon, row.lat, row.speed, row.course, row.heading, row.status)
                    if row is not None
                    else (None,) * 8
                )
                await copy.write_row(
                    (
                        vessel_id,
                        *position,
                        track.port is not None,
                        track.port,
                        zones,
                        Jsonb(track_to_json(track)),
                    )
                )
        await conn.execute(
            "INSERT INTO vessel_latest (vessel_id, ts, source, lon, lat, speed, course, heading, status,"
            " in_port, port_zone_id, zone_ids, detector)"
            " SELECT r.vessel_id, r.ts, r.source, r.lon, r.lat, r.speed, r.course, r.heading, r.status,"
            " r.in_port, r.port_zone_id, r.zone_ids, r.detector"
            " FROM tracker_rows r JOIN vessels v ON v.id = r.vessel_id"
            " ON CONFLICT (vessel_id) DO UPDATE SET in_port = EXCLUDED.in_port,"
            " port_zone_id = EXCLUDED.port_zone_id, detector = EXCLUDED.detector, updated_at = now()"
        )
        # The position only moves forward in time, and only when this poll brought one.
        await conn.execute(
            "UPDATE vessel_latest l SET ts = r.ts, source = r.source, lon = r.lon, lat = r.lat,"
            " speed = r.speed, course = r.course, heading = r.heading, status = r.status,"
            " zone_ids = r.zone_ids"
            " FROM tracker_rows r WHERE r.vessel_id = l.vessel_id AND r.ts IS NOT NULL"
            " AND (l.ts IS NULL OR r.ts > l.ts)"
        )

    async def _store_effort(self, voyage_id: int) -> None:
        async with self.pool.connection() as conn:
            await store_effort(conn, voyage_id, self.settings)

    async def _reload_zones(self, conn: Connection, *, force: bool = False) -> None:
        now = self.clock()
        due = self._zones_loaded_at is None or (now - self._zones_loaded_at).total_seconds() >= ZONES_RELOAD_S
        if not (force or due):
            return
        self._zones_loaded_at = now
        cur = await conn.execute("SELECT count(*), max(updated_at) FROM zones")
        key = await cur.fetchone()
        if force or key != self._zones_key:
            self._zones_key = key
            self.detector.set_zones(await load_zone_index(conn))


def _vessel_of(event: Event) -> int:
    return event.read.vessel_id if isinstance(event, GateContradicted) else event.vessel_id


async def _read_positions(
    conn: Connection, after: datetime, until: datetime
) -> list[tuple[int, datetime, _Latest]]:
    cur = await conn.execute(
        "SELECT vessel_id, ts, source, lon, lat, speed, course, heading, status FROM positions"
        " WHERE ts > %s AND ts <= %s ORDER BY ts LIMIT %s",
        (after, until, PAGE_ROWS),
    )
    return [
        (int(r[0]), r[1], _Latest(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]))
        for r in await cur.fetchall()
    ]


async def _read_gates(conn: Connection, after: datetime, until: datetime) -> list[GateRead]:
    cur = await conn.execute(
        "SELECT vessel_id, ts, data->>'direction', data->>'zone', data->>'reader' FROM events"
        " WHERE kind = 'tag_read' AND vessel_id IS NOT NULL AND ts > %s AND ts <= %s"
        " AND data->>'direction' IN ('in', 'out') ORDER BY ts LIMIT %s",
        (after, until, PAGE_ROWS),
    )
    return [GateRead(int(r[0]), r[1], r[2], r[3], r[4]) for r in await cur.fetchall()]


async def _save_cursor(conn: Connection, name: str, ts: datetime) -> None:
    await conn.execute(
        "INSERT INTO tracker_cursor (name, ts) VALUES (%s, %s)"
        " ON CONFLICT (name) DO UPDATE SET ts = GREATEST(tracker_cursor.ts, EXCLUDED.ts)",
        (name, ts),
    )
