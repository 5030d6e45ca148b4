"""Simulated tracks on the Shanwei demo zones, for the port-call, track and report tests.

Shanwei Port's demo polygon is the box 115.345–115.395 E, 22.755–22.79 N; its south edge is the mouth
the boats leave and return by. `MOUTH` is a mooring on that edge: GPS scatter there crosses the
polygon's boundary all the time, which is what the hysteresis has to survive.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from seawatch.settings import StoreSettings
from tests.tracking.records import ais_position
from tracking.db import Pool
from tracking.geo import EARTH_RADIUS_M, KNOT_MS, local_xy_m
from tracking.store import RecordStore

T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)  # outside the summer moratorium
BERTH = (115.37, 22.77)  # well inside Shanwei Port
MOUTH = (115.37, 22.7551)  # ~10 m inside the south edge
SEA = (115.37, 22.70)  # 6 km south of the mouth
MPA = (115.43, 22.665)  # inside the islets protected area (prohibited)


@dataclass(frozen=True)
class Point:
    ts: datetime
    lon: float
    lat: float
    speed: float
    course: float


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lon + dlon, lat + dlat


def moored(
    at: tuple[float, float],
    start: datetime,
    hours: float,
    *,
    every_s: float = 10,
    jitter_m: float = 0,
    seed: int = 1,
) -> list[Point]:
    rng = random.Random(seed)
    out = []
    for i in range(int(hours * 3600 / every_s)):
        lon, lat = offset(*at, rng.gauss(0, jitter_m), rng.gauss(0, jitter_m)) if jitter_m else at
        out.append(
            Point(start + timedelta(seconds=i * every_s), lon, lat, round(rng.uniform(0, 0.3), 1), 0.0)
        )
    return out


def steam(
    a: tuple[float, float], b: tuple[float, float], start: datetime, knots: float, *, every_s: float = 10
) -> list[Point]:
    """From a to b in a straight line at `knots` (the last point is b)."""
    east, north = local_xy_m(b[0], b[1], a[0], a[1])
    metres = math.hypot(east, north)
    seconds = metres / (knots * KNOT_MS)
    course = math.degrees(math.atan2(east, north)) % 360
    steps = max(1, int(seconds / every_s))
    out = []
    for i in range(1, steps + 1):
        f = i / steps
        lon, lat = offset(a[0], a[1], east * f, north * f)
        out.append(Point(start + timedelta(seconds=seconds * f), lon, lat, knots, course))
    return out


def trawl(
    around: tuple[float, float], start: datetime, hours: float, *, knots: float = 3.0, every_s: float = 10
) -> list[Point]:
    """Zig-zag tows: 20-minute legs alternating 30° either side of east."""
    out = []
    lon, lat = around
    leg_s, t = 1200.0, 0.0
    while t < hours * 3600:
        course = 60.0 if int(t // leg_s) % 2 == 0 else 120.0
        step = knots * KNOT_MS * every_s
        lon, lat = offset(
            lon, lat, step * math.sin(math.radians(course)), step * math.cos(math.radians(course))
        )
        t += every_s
        out.append(Point(start + timedelta(seconds=t), lon, lat, knots, course))
    return out


def then(points: list[Point]) -> datetime:
    return points[-1].ts


def day_trip(start: datetime = T0, *, every_s: float = 10, jitter_m: float = 25.0) -> list[Point]:
    """Moored at the mouth, out to sea, trawling, into the protected area, back to the mouth."""
    track = moored(MOUTH, start, 1, every_s=every_s, jitter_m=jitter_m)
    track += steam(MOUTH, SEA, then(track), 8, every_s=every_s)
    track += trawl(SEA, then(track), 2, every_s=every_s)
    track += steam((track[-1].lon, track[-1].lat), MPA, then(track), 8, every_s=every_s)
    track += moored(MPA, then(track) + timedelta(seconds=every_s), 0.5, every_s=every_s, jitter_m=5, seed=2)
    track += steam(MPA, MOUTH, then(track), 7, every_s=every_s)
    track += moored(
        MOUTH, then(track) + timedelta(seconds=every_s), 2, every_s=every_s, jitter_m=jitter_m, seed=3
    )
    return track


async def add_vessel(conn: Any, name: str = "YUE SHAN WEI YU 12345", mmsi: int | None = 412_000_001) -> int:
    cur = await conn.execute(
        "INSERT INTO vessels (name, hull_number, is_fishing, vessel_type) VALUES (%s, %s, true, 'trawler')"
        " RETURNING id",
        (name, f"粤汕尾渔{name[-5:]}"),
    )
    vessel_id = int((await cur.fetchone())[0])
    if mmsi is not None:
        await conn.execute(
            "INSERT INTO vessel_identities (vessel_id, kind, value) VALUES (%s, 'mmsi', %s)",
            (vessel_id, str(mmsi)),
        )
    return vessel_id


async def store_track(conn: Any, vessel_id: int, points: list[Point], source: str = "ais") -> None:
    async with (
        conn.cursor() as cur,
        cur.copy(
            "COPY positions (ts, vessel_id, source, lon, lat, speed, course, received_at) FROM STDIN"
        ) as copy,
    ):
        for p in points:
            await copy.write_row((p.ts, vessel_id, source, p.lon, p.lat, p.speed, p.course, p.ts))


async def store_marked(pool: Pool, spool_dir: Path, drill: list[bool]) -> int:
    """AIS positions 10 s apart from T0, `drill` as given, written by the record store as ingest writes
    them (the ingest sink marks drill traffic `drill: true`). Returns the vessel's id."""
    store = RecordStore(pool, StoreSettings(flush_interval_ms=10), spool_dir)
    task = asyncio.create_task(store.run())
    try:
        async with asyncio.timeout(30):
            for n, mark in enumerate(drill):
                ts = T0 + timedelta(seconds=10 * n)
                await (await store.put(ais_position(n=n, drill=mark, ts=ts, received_at=ts)))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT DISTINCT vessel_id FROM positions")
        [(vessel,)] = await cur.fetchall()
    return int(vessel)


async def store_gate_read(
    conn: Any, vessel_id: int, ts: datetime, direction: str, zone: str = "shanwei-port"
) -> None:
    data = {"tag_id": "E2001", "reader": "gate-1", "direction": direction, "zone": zone}
    await conn.execute(
        "INSERT INTO events (ts, vessel_id, source, kind, data) VALUES (%s, %s, 'tag', 'tag_read', %s)",
        (ts, vessel_id, Jsonb(data)),
    )
