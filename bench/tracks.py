"""Track and live-picture queries: the two figures of the tracking issue, each beside a reference.

- A class A vessel reporting every 10 s for 30 days (259,200 points) among 100,000 other vessels'
  positions: its track read and simplified (target under 200 ms), from `positions` and from the packed
  days of `track_days` (every day a miss, then all hits), beside the same rows fetched as
  Python tuples (the obvious way, and the floor for anything built per row, COPY included), and the
  same request end to end through the HTTP API.
- The latest positions of 100,000 vessels in a bounding box (target under 50 ms) from `vessel_latest`
  (GiST on `point(lon, lat)`), beside DISTINCT ON and LATERAL over `positions`, the designs it replaced.

Synthetic data, deterministic (fixed seed), written straight into a fresh database with `COPY`; the
tracker's own `vessel_latest` upsert is not what is measured here, so the table is filled from
`positions` with the DISTINCT ON the reference times.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format

from api.app import ApiServices, create_app
from api.users import add_user
from bench.ais_ingest import DEFAULT_SERVER_DSN, fresh_database
from seawatch.bus import BusStatus
from seawatch.settings import DatabaseSettings, Settings
from tracking.db import Pool, open_pool
from tracking.geo import EARTH_RADIUS_M, KNOT_MS
from tracking.migrate import migrate
from tracking.tracks import fetch_track, fetch_track_parallel, per_bucket, simplify_m

DAYS = 30
EVERY_S = 10
FLEET = 100_000
START = datetime(2025, 3, 1, tzinfo=UTC)
SHANWEI_BOX = (114.5, 21.5, 116.5, 23.5)  # about 3 % of the fleet
DELTA_BOX = (112.0, 20.0, 117.0, 23.0)  # about 11 %
RUNS = 9
# The track query tracking/tracks.py used before its single bytea of records: one array per column, the
# rows ordered by the server. Only the query is timed (the arrays are not parsed): its floor.
ARRAYS_SQL = (
    "SELECT count(*), array_agg(ts), array_agg(lon), array_agg(lat), array_agg(COALESCE(speed, 'NaN')),"
    " array_agg(COALESCE(course, 'NaN')), array_agg(COALESCE(heading, 'NaN')),"
    " array_agg(COALESCE(array_position('{ais,jt808,terminal_json,tag,sim}'::text[], source), 0)::int2),"
    " array_agg(drill) FROM (SELECT * FROM positions WHERE vessel_id = 1 AND ts >= %s AND ts < %s"
    " ORDER BY ts) p"
)
ARRAY_OIDS = (1185, 1022, 1021, 1005, 1000)  # timestamptz[], float8[], float4[], int2[], bool[]


class _RawLoader(Loader):
    """The arrays' bytes as they came: what the former query handed to numpy."""

    format = Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


@dataclass
class Row:
    what: str
    times_ms: list[float]
    rows: int
    target_ms: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)


def synthetic_track(seed: int = 7) -> dict[str, np.ndarray[Any, Any]]:
    """30 days of a trawler: hours moored, steaming, and zig-zag tows, as one random but smooth walk."""
    rng = np.random.default_rng(seed)
    n = DAYS * 86_400 // EVERY_S
    phase = (np.arange(n) * EVERY_S // 3600) % 24  # a day: 8 h in port, 2 h out, 12 h towing, 2 h back
    speed = np.where(phase < 8, 0.1, np.where((phase < 10) | (phase >= 22), 8.0, 3.0))
    speed = np.abs(speed + rng.normal(0, 0.2, n))
    turn = np.where(phase < 8, 0.0, rng.normal(0, 1.5, n)) + np.where((phase >= 10) & (phase < 22), 0.3, 0.0)
    course = (np.cumsum(turn) + 180.0) % 360.0
    step = speed * KNOT_MS * EVERY_S
    north = np.cumsum(step * np.cos(np.radians(course)))
    east = np.cumsum(step * np.sin(np.radians(course)))
    lat = 22.6 + np.degrees(north / EARTH_RADIUS_M) + rng.normal(0, 0.00005, n)
    lon = 115.4 + np.degrees(east / (EARTH_RADIUS_M * np.cos(np.radians(22.6)))) + rng.normal(0, 0.00005, n)
    ts = START.timestamp() + np.arange(n, dtype=np.float64) * EVERY_S
    return {"ts": ts, "lon": lon, "lat": lat, "speed": speed, "course": course}


async def fill(pool: Pool) -> int:
    """The tracked vessel (id 1) and FLEET others with three positions each; returns the track's size."""
    track = synthetic_track()
    rng = np.random.default_rng(11)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO vessels (id, name, is_fishing) SELECT g, 'BENCH ' || g, g %% 3 = 0"
            " FROM generate_series(1, %s) g",
            (FLEET + 1,),
        )
        await conn.execute("SELECT setval('vessels_id_seq', %s)", (FLEET + 1,))
        async with conn.cursor() as cur:
            copy_sql = (
                "COPY positions (ts, vessel_id, source, lon, lat, speed, course, received_at) FROM STDIN"
            )
            async with cur.copy(copy_sql) as copy:
                for i in range(len(track["ts"])):
                    ts = datetime.fromtimestamp(float(track["ts"][i]), UTC)
                    row = (ts, 1, "ais", float(track["lon"][i]), float(track["lat"][i]))
                    await copy.write_row((*row, float(track["speed"][i]), float(track["course"][i]), ts))
            async with cur.copy(copy_sql) as copy:
                lon = rng.uniform(108.0, 122.0, FLEET)
                lat = rng.uniform(15.0, 25.0, FLEET)
                for k in range(3):
                    offsets = rng.uniform(0, DAYS * 86_400, FLEET)
                    for v in range(FLEET):
                        ts = START + timedelta(seconds=float(offsets[v]))
                        other = (ts, v + 2, "ais", float(lon[v]) + k * 0.001, float(lat[v]), 5.0, 90.0, ts)
                        await copy.write_row(other)
        await conn.execute(
            "INSERT INTO vessel_latest (vessel_id, ts, source, lon, lat, speed, course, heading, status)"
            " SELECT DISTINCT ON (vessel_id) vessel_id, ts, source, lon, lat, speed, course, heading, status"
            " FROM positions ORDER BY vessel_id, ts DESC"
        )
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        await conn.execute("VACUUM ANALYZE")
    return len(track["ts"])


async def timed(what: str, action: Callable[[], Awaitable[int]], target_ms: float | None = None) -> Row:
    await action()  # warm: caches, prepared plans
    times, rows = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        rows = await action()
        times.append((time.perf_counter() - started) * 1000)
    return Row(what, times, rows, target_ms)


Timed = tuple[str, Callable[[], Awaitable[int]], float | None]


async def timed_in_turn(actions: list[Timed]) -> list[Row]:
    """Like `timed`, the actions taking turns within each run: on a shared machine a burst of someone
    else's work then falls on all of them, and their figures stay comparable."""
    for _, action, _ in actions:
        await action()
    times: list[list[float]] = [[] for _ in actions]
    rows = [0] * len(actions)
    for _ in range(RUNS):
        for i, (_, action, _) in enumerate(actions):
            started = time.perf_counter()
            rows[i] = await action()
            times[i].append((time.perf_counter() - started) * 1000)
    return [Row(what, t, n, target) for (what, _, target), t, n in zip(actions, times, rows, strict=True)]


async def measure(pool: Pool, dsn: str) -> list[Row]:
    end = START + timedelta(days=DAYS)

    async def track_full() -> int:
        async with pool.connection() as conn:
            return len(await fetch_track(conn, 1, START, end, max_points=1_000_000, cache=False))

    async def track_simplified() -> int:
        async with pool.connection() as conn:
            track = await fetch_track(conn, 1, START, end, max_points=1_000_000, cache=False)
            return len(simplify_m(track, 10.0))

    async def track_bucketed() -> int:
        async with pool.connection() as conn:
            track = await fetch_track(conn, 1, START, end, max_points=1_000_000, cache=False)
            return len(per_bucket(track, 60.0))

    async def track_packing() -> int:
        """A miss on every day: the packed days emptied first, then read and packed again."""
        async with pool.connection() as conn:
            await conn.execute("DELETE FROM track_days")
            await conn.commit()
            return len(await fetch_track(conn, 1, START, end, max_points=1_000_000))

    async def track_cached() -> int:
        async with pool.connection() as conn:
            return len(await fetch_track(conn, 1, START, end, max_points=1_000_000))

    async def track_cached_simplified() -> int:
        async with pool.connection() as conn:
            return len(simplify_m(await fetch_track(conn, 1, START, end, max_points=1_000_000), 10.0))

    async def track_split_simplified() -> int:
        track = await fetch_track_parallel(pool, 1, START, end, max_points=1_000_000)
        return len(simplify_m(track, 10.0))

    async def track_as_arrays() -> int:
        async with pool.connection() as conn, conn.cursor(binary=True) as cur:
            for oid in ARRAY_OIDS:
                cur.adapters.register_loader(oid, _RawLoader)
            await cur.execute(ARRAYS_SQL, (START, end))
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def track_as_tuples() -> int:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT ts, lon, lat, speed, course, heading, source FROM positions"
                " WHERE vessel_id = 1 AND ts >= %s AND ts < %s ORDER BY ts",
                (START, end),
            )
            return len(await cur.fetchall())

    async with pool.connection() as conn:
        _, token = await add_user(conn, "bench", "official")
    app = create_app(ApiServices(settings=Settings(database_url=dsn), pool=pool, bus=BusStatus()))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    params = {"start": START.isoformat(), "end": end.isoformat(), "simplify": "10"}

    async def track_http() -> int:
        response = await http.get(
            "/api/vessels/1/track", params=params, headers={"authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        return int(response.json()["count"])

    def bbox_latest(box: tuple[float, float, float, float]) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT vessel_id, ts, source, lon, lat, speed, course FROM vessel_latest"
                    " WHERE point(lon, lat) <@ box(point(%s, %s), point(%s, %s))",
                    box,
                )
                return len(await cur.fetchall())

        return run

    def bbox_distinct_on(box: tuple[float, float, float, float]) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT * FROM (SELECT DISTINCT ON (vessel_id) vessel_id, ts, source, lon, lat, speed,"
                    " course FROM positions ORDER BY vessel_id, ts DESC) l"
                    " WHERE lon BETWEEN %s AND %s AND lat BETWEEN %s AND %s",
                    (box[0], box[2], box[1], box[3]),
                )
                return len(await cur.fetchall())

        return run

    def bbox_lateral(box: tuple[float, float, float, float]) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT v.id, p.* FROM vessels v CROSS JOIN LATERAL (SELECT ts, source, lon, lat, speed,"
                    " course FROM positions WHERE vessel_id = v.id ORDER BY ts DESC LIMIT 1) p"
                    " WHERE p.lon BETWEEN %s AND %s AND p.lat BETWEEN %s AND %s",
                    (box[0], box[2], box[1], box[3]),
                )
                return len(await cur.fetchall())

        return run

    async def api_list() -> int:
        response = await http.get(
            "/api/vessels",
            params={"bbox": ",".join(map(str, SHANWEI_BOX)), "limit": 5000},
            headers={"authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        return len(response.json()["vessels"])

    try:
        return [
            *await timed_in_turn(
                [
                    ("30-day track, read (one bytea of fixed-size records → numpy)", track_full, None),
                    ("30-day track, read + Douglas–Peucker 10 m", track_simplified, 200),
                    ("30-day track, read + one point a minute", track_bucketed, 200),
                    (
                        "30-day track, read in two time slices on two connections + Douglas–Peucker 10 m",
                        track_split_simplified,
                        200,
                    ),
                    (
                        "reference: one binary array per column, ordered in SQL (the former query)",
                        track_as_arrays,
                        None,
                    ),
                ]
            ),
            *await timed_in_turn(
                [
                    ("30-day track, packed days: every day a miss, read and packed", track_packing, None),
                    ("30-day track, packed days: read, all hits", track_cached, None),
                    ("30-day track, packed days: read + Douglas–Peucker 10 m", track_cached_simplified, 200),
                    (
                        "reference (same runs): read from positions + Douglas–Peucker 10 m",
                        track_simplified,
                        200,
                    ),
                ]
            ),
            await timed("reference: the same rows as Python tuples (fetchall)", track_as_tuples),
            await timed("end to end: GET /api/vessels/1/track?simplify=10 (JSON)", track_http),
            await timed(
                "latest of 100,000 vessels in the Shanwei box (vessel_latest)", bbox_latest(SHANWEI_BOX), 50
            ),
            await timed(
                "latest of 100,000 vessels in the Pearl River–Shanwei box", bbox_latest(DELTA_BOX), 50
            ),
            await timed("end to end: GET /api/vessels?bbox=Shanwei box (JSON)", api_list),
            await timed("reference: DISTINCT ON over positions, Shanwei box", bbox_distinct_on(SHANWEI_BOX)),
            await timed(
                "reference: LATERAL per vessel over positions, Shanwei box", bbox_lateral(SHANWEI_BOX)
            ),
        ]
    finally:
        await http.aclose()


def run(server_dsn: str | None = None, log: Callable[[str], None] = print) -> tuple[list[Row], int]:
    server = server_dsn or os.environ.get("SEAWATCH_BENCH_DATABASE_URL", DEFAULT_SERVER_DSN)

    async def main(dsn: str) -> tuple[list[Row], int]:
        pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=4))
        try:
            log("tracks: filling the database…")
            size = await fill(pool)
            log("tracks: measuring…")
            return await measure(pool, dsn), size
        finally:
            await pool.close()

    with fresh_database(server) as dsn:
        report = migrate(dsn)
        rows, size = asyncio.run(main(dsn))
        return rows, size if report.timescaledb else -size


def markdown(rows: list[Row], size: int) -> str:
    storage = "TimescaleDB hypertables" if size > 0 else "plain PostgreSQL tables"
    lines = [
        "### Tracks and the live picture (`bench/tracks.py`)",
        "",
        f"One class A vessel every {EVERY_S} s for {DAYS} days ({abs(size):,} points) among {FLEET:,}"
        f" vessels with three positions each; {storage}; median of {RUNS} runs after one warm-up, in ms."
        " The first five rows take turns within each run, and so do the next four (the packed-day reads,"
        " beside the plain read as their reference), so that load from elsewhere falls on all of them.",
        "",
        "| query | median ms | max ms | rows | target |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        target = (
            ""
            if row.target_ms is None
            else f"< {row.target_ms:.0f} ms " + ("✔" if row.median < row.target_ms else "✘")
        )
        lines.append(f"| {row.what} | {row.median:.1f} | {max(row.times_ms):.1f} | {row.rows:,} | {target} |")
    return "\n".join(lines) + "\n"
