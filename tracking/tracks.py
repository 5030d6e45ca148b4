"""A vessel's track over a time range, in full or simplified on the server.

The points come out of PostgreSQL as one bytea of fixed-size binary records read straight into numpy
columns: a 30-day class A track is about 260,000 points, and building a Python tuple per row would cost
more than the query itself (bench/tracks.py measures both).

Two simplifications:

- `simplify_m`: Douglas–Peucker with a tolerance in metres, on coordinates projected to a local plane
  (GEOS's implementation through shapely; the point index rides along as the Z coordinate, so each
  kept vertex keeps its time, speed and source). Every dropped point lies within the tolerance of the
  simplified line: what a map needs.
- `per_bucket`: the first point of every time bucket of N seconds, and the last point: what a chart
  against time needs.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import shapely
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from tracking.db import Pool
from tracking.geo import local_xy_m

Floats = npt.NDArray[np.float64]
Connection = AsyncConnection[TupleRow]

# Sources are sent as small codes (a text column would make the binary rows variable-length);
# code 0 is any source not listed here.
SOURCES: tuple[str, ...] = ("ais", "jt808", "terminal_json", "tag", "sim")
# A CASE over constants: a per-row array_position() over a parameter array costs the server more.
_SOURCE_CODE = (
    "CASE source "
    + " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(SOURCES, 1))
    + " ELSE 0 END::int2"
)
# The track comes back as one bytea of fixed-size binary records, one per point, in the layout of
# `_RECORD`, which numpy reads in place. Measured against the alternatives (bench/tracks.py, README):
# - one array per column: array_send calls the element's send function per element at output, and
#   every element carries a 4-byte length: a fifth slower, twice the bytes;
# - COPY: psycopg hands COPY data over one row a message, a Python round per row;
# - extract(epoch …) returns numeric, whose arithmetic costs more than the scan: timestamptz goes out
#   as its native 8-byte microseconds since 2000-01-01, real as float4.
# No column may be NULL (string_agg would skip the row): hence the COALESCEs and the CASE's ELSE.
# No ORDER BY: the index scans hand each chunk's rows newest first, and numpy puts those runs in order
# for less than the server's ordered scan costs. The LIMIT only bounds how much a too-long range reads
# before it is refused.
RECORD_SQL = (
    "string_agg(timestamptz_send(ts) || float8send(lon) || float8send(lat)"
    " || float4send(COALESCE(speed, 'NaN')) || float4send(COALESCE(course, 'NaN'))"
    f" || float4send(COALESCE(heading, 'NaN')) || int2send({_SOURCE_CODE}) || boolsend(drill), '')"
)
TRACK_SQL = (
    f"SELECT count(*), {RECORD_SQL}"
    " FROM (SELECT ts, lon, lat, speed, course, heading, source, drill FROM positions"
    " WHERE vessel_id = %s AND ts >= %s AND ts < %s LIMIT %s) p"
)
# The packed-day cache (migration 0008, README "Tracking"): closed UTC days of a vessel's track as the
# bytes TRACK_SQL gives for the day. A read takes the days packed, reads the rest from positions and packs
# the closed days it missed. Packing takes TRACK_DAYS_LOCK exclusively, trying: a transaction writing
# positions into closed days holds it shared (the positions triggers), and the pack, read from a snapshot
# without that transaction's rows, would outlive the trigger's invalidation. Busy, the read packs nothing.
TRACK_DAYS_LOCK = 0x74616573  # the key in track_days_forget() (tracking/migrations/0008_track_days.sql)
CACHED_SQL = "SELECT day, points, data FROM track_days WHERE vessel_id = %s AND day >= %s AND day < %s"
PACK_SQL = (
    "INSERT INTO track_days (vessel_id, day, points, data)"
    " SELECT %(vessel)s, d.day, p.n, COALESCE(p.data, '') FROM unnest(%(days)s::date[]) AS d (day)"
    f" CROSS JOIN LATERAL (SELECT count(*) AS n, {RECORD_SQL} AS data FROM positions"
    " WHERE vessel_id = %(vessel)s AND ts >= d.day::timestamp AT TIME ZONE 'UTC'"
    " AND ts < (d.day + 1)::timestamp AT TIME ZONE 'UTC') p"
    # The database's clock decides what is closed: the triggers' invalidation goes by it too.
    " WHERE d.day < (now() AT TIME ZONE 'UTC')::date"
    " ON CONFLICT (vessel_id, day) DO UPDATE SET points = excluded.points, data = excluded.data"
    " RETURNING day, points, data"
)
_RECORD = np.dtype(
    [
        ("ts", ">i8"),
        ("lon", ">f8"),
        ("lat", ">f8"),
        ("speed", ">f4"),
        ("course", ">f4"),
        ("heading", ">f4"),
        ("source", ">i2"),
        ("drill", "?"),
    ]
)
_PG_EPOCH_S = 946_684_800.0  # 2000-01-01T00:00:00Z in unix seconds


def parse_records(data: bytes, count: int) -> npt.NDArray[np.void]:
    """The query's bytea as `count` records of `_RECORD`."""
    if len(data) != count * _RECORD.itemsize:
        raise ValueError(f"expected {count} track records, got {len(data)} bytes")
    return np.frombuffer(data, dtype=_RECORD, count=count)


class TrackTooLarge(ValueError):
    """More points than the query may read: ask for a shorter range."""


@dataclass(frozen=True)
class Track:
    vessel_id: int
    ts: Floats  # unix seconds
    lon: Floats
    lat: Floats
    speed: Floats  # knots, NaN unknown
    course: Floats  # degrees, NaN unknown
    heading: Floats
    source: npt.NDArray[np.int32]  # index into SOURCES + 1; 0 other
    drill: npt.NDArray[np.bool_]  # the point came from drill traffic

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, index: npt.NDArray[np.intp]) -> Track:
        return Track(
            self.vessel_id,
            self.ts[index],
            self.lon[index],
            self.lat[index],
            self.speed[index],
            self.course[index],
            self.heading[index],
            self.source[index],
            self.drill[index],
        )

    def source_name(self, i: int) -> str:
        code = int(self.source[i])
        return SOURCES[code - 1] if 0 < code <= len(SOURCES) else "other"

    def time(self, i: int) -> datetime:
        return datetime.fromtimestamp(float(self.ts[i]), UTC)

    def points(self) -> Iterator[dict[str, Any]]:
        """One JSON-ready object per point (unknown values as None)."""
        speed, course, heading = (_nullable(a) for a in (self.speed, self.course, self.heading))
        drill = self.drill.tolist()
        for i in range(len(self)):
            yield {
                "ts": self.time(i).isoformat().replace("+00:00", "Z"),
                "lon": float(self.lon[i]),
                "lat": float(self.lat[i]),
                "speed": speed[i],
                "course": course[i],
                "heading": heading[i],
                "source": self.source_name(i),
                "drill": drill[i],
            }

    def distance_m(self) -> float:
        if len(self) < 2:
            return 0.0
        x, y = local_xy_m(self.lon, self.lat, float(self.lon[0]), float(self.lat[0]))
        return float(np.hypot(np.diff(x), np.diff(y)).sum())


def _nullable(values: Floats) -> list[float | None]:
    return [None if v != v else round(v, 2) for v in values.tolist()]


def empty_track(vessel_id: int) -> Track:
    nothing = np.empty(0, dtype=np.float64)
    n = nothing
    return Track(vessel_id, n, n, n, n, n, n, np.empty(0, np.int32), np.empty(0, bool))


async def fetch_track(
    conn: Connection,
    vessel_id: int,
    start: datetime,
    end: datetime,
    *,
    max_points: int,
    cache: bool = True,
) -> Track:
    """All stored points of the vessel in [start, end), oldest first; `TrackTooLarge` past `max_points`.
    With `cache`, whole closed UTC days come from `track_days` (packed there when missing), the rest from
    `positions`: the same track as without. Packing writes: a read-only transaction reads without."""
    if cache:
        records = await _read_cached(conn, vessel_id, start, end, max_points)
    else:
        records = await _read_records(conn, vessel_id, start, end, max_points)
    _check_size(len(records), max_points)
    return _to_track(vessel_id, records)


async def fetch_track_parallel(
    pool: Pool,
    vessel_id: int,
    start: datetime,
    end: datetime,
    *,
    max_points: int,
    parts: int = 2,
) -> Track:
    """`fetch_track` with the range cut into `parts` equal time slices read at once on as many pooled
    connections. PostgreSQL 15 cannot aggregate a string_agg in parallel workers (16 can), so a long
    track is one backend's work on one core; two slices on two backends take about two thirds of the
    time on two cores (bench/tracks.py). It costs a connection more per request: worth it for the
    rare long track, not for a day's. Never call it holding a connection of the same pool: with the
    pool exhausted, the slices would wait for that connection forever."""

    async def part(a: datetime, b: datetime) -> npt.NDArray[np.void]:
        async with pool.connection() as conn:
            return await _read_records(conn, vessel_id, a, b, max_points)

    bounds = [start + (end - start) * i / parts for i in range(parts)] + [end]
    slices = await asyncio.gather(*(part(a, b) for a, b in itertools.pairwise(bounds)))
    _check_size(sum(len(s) for s in slices), max_points)
    return _to_track(vessel_id, np.concatenate(slices))


async def _read_cached(
    conn: Connection, vessel_id: int, start: datetime, end: datetime, max_points: int
) -> npt.NDArray[np.void]:
    first, last = _utc_day(start, up=True), _utc_day(end, up=False)  # the whole days: [first, last)
    if first >= last:
        return await _read_records(conn, vessel_id, start, end, max_points)
    days: dict[date, npt.NDArray[np.void]] = {}
    async with conn.cursor(binary=True) as cur:
        await cur.execute(CACHED_SQL, (vessel_id, first, last))
        for day, points, data in await cur.fetchall():
            days[day] = parse_records(data, points)
    count = sum(len(r) for r in days.values())
    _check_size(count, max_points)
    today = datetime.now(UTC).date()
    missed = [d for d in _days(first, min(last, today)) if d not in days]
    if missed:
        days.update(await _pack(conn, vessel_id, missed))
        count = sum(len(r) for r in days.values())
        _check_size(count, max_points)
    parts = [(_midnight(d), records) for d, records in days.items()]
    for a, b in _uncovered(start, end, sorted(days)):
        records = await _read_records(conn, vessel_id, a, b, max_points - count)
        count += len(records)
        _check_size(count, max_points)
        parts.append((a, records))
    parts.sort(key=lambda part: part[0])  # in time order, numpy has only each part's runs to sort
    return np.concatenate([records for _, records in parts])


async def _pack(conn: Connection, vessel_id: int, days: list[date]) -> dict[date, npt.NDArray[np.void]]:
    """Pack the vessel's `days` into track_days and return their records; nothing when the lock is
    busy (positions are being written into closed days) or the transaction may not write."""
    packed: dict[date, npt.NDArray[np.void]] = {}
    try:
        async with conn.transaction(), conn.cursor(binary=True) as cur:
            if not await may_pack(conn):
                return packed
            await cur.execute(PACK_SQL, {"vessel": vessel_id, "days": days})
            for day, points, data in await cur.fetchall():
                packed[day] = parse_records(data, points)
    except psycopg.errors.ReadOnlySqlTransaction:
        packed.clear()
    return packed


async def may_pack(conn: Connection) -> bool:
    """Take the track-days lock exclusively for this transaction, trying; False when a writer of
    positions into closed days holds it (see TRACK_DAYS_LOCK)."""
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (TRACK_DAYS_LOCK,))
    row = await cur.fetchone()
    return bool(row and row[0])


def _utc_day(moment: datetime, *, up: bool) -> date:
    """The UTC day `moment` falls in; with `up`, the next one unless `moment` is its midnight."""
    day = moment.astimezone(UTC).date()
    return day + timedelta(days=1) if up and moment > _midnight(day) else day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days)]


def _uncovered(start: datetime, end: datetime, days: list[date]) -> list[tuple[datetime, datetime]]:
    """[start, end) less the whole UTC `days` (sorted), as the fewest intervals."""
    gaps: list[tuple[datetime, datetime]] = []
    at = start
    for day in days:
        midnight = _midnight(day)
        if midnight > at:
            gaps.append((at, midnight))
        at = max(at, midnight + timedelta(days=1))
    if at < end:
        gaps.append((at, end))
    return gaps


async def _read_records(
    conn: Connection, vessel_id: int, start: datetime, end: datetime, max_points: int
) -> npt.NDArray[np.void]:
    async with conn.cursor(binary=True) as cur:
        await cur.execute(TRACK_SQL, (vessel_id, start, end, max_points + 1))
        row = await cur.fetchone()
    if row is None or not row[0]:
        return np.empty(0, dtype=_RECORD)
    return parse_records(row[1], row[0])


def _check_size(count: int, max_points: int) -> None:
    if count > max_points:
        raise TrackTooLarge(
            f"the track has more than {max_points} points in that range: ask for a shorter one"
        )


def _to_track(vessel_id: int, records: npt.NDArray[np.void]) -> Track:
    ts = records["ts"].astype(np.float64) / 1e6 + _PG_EPOCH_S
    track = Track(
        vessel_id,
        ts,
        records["lon"].astype(np.float64),
        records["lat"].astype(np.float64),
        records["speed"].astype(np.float64),
        records["course"].astype(np.float64),
        records["heading"].astype(np.float64),
        records["source"].astype(np.int32),
        records["drill"].astype(bool),
    )
    if len(ts) > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        # Stable: a sort of a few descending runs (one per chunk) is close to linear.
        track = track.take(np.argsort(ts, kind="stable"))
    if len(ts) > 1 and bool(np.any(track.ts[1:] == track.ts[:-1])):
        # Points sharing a time come in whatever order the server's plan read them (a packed day and a
        # plain read may differ): every field breaks the tie, so a track reads the same either way.
        keys = (track.drill, track.source, track.heading, track.course, track.speed, track.lat, track.lon)
        track = track.take(np.lexsort((*keys, track.ts)))
    return track


def simplify_m(track: Track, tolerance_m: float) -> Track:
    """Douglas–Peucker in metres (see the module docstring). The first and last points are kept."""
    if len(track) < 3 or tolerance_m <= 0:
        return track
    lon0, lat0 = float(np.mean(track.lon)), float(np.mean(track.lat))
    x, y = local_xy_m(track.lon, track.lat, lon0, lat0)
    line = shapely.linestrings(x, y, np.arange(len(track), dtype=np.float64))
    kept = shapely.get_coordinates(
        shapely.simplify(line, tolerance_m, preserve_topology=False), include_z=True
    )
    index = kept[:, 2].astype(np.intp)
    # GEOS keeps the vertices in order, the first and the last among them: a sort (np.unique) is only
    # needed should it not.
    last = len(track) - 1
    if len(index) < 2 or index[0] != 0 or index[-1] != last or bool(np.any(np.diff(index) <= 0)):
        index = np.unique(np.r_[0, index, last])
    return track.take(index)


def per_bucket(track: Track, seconds: float) -> Track:
    """The first point of each `seconds`-long bucket (aligned to the epoch), and the last point."""
    if len(track) < 2 or seconds <= 0:
        return track
    bucket = np.floor(track.ts / seconds)
    index = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    return track.take(np.unique(np.r_[index, len(track) - 1]))


def check_range(start: datetime, end: datetime, max_days: int) -> None:
    """Refuse an empty, reversed or too long range (ValueError with the reason)."""
    if end <= start:
        raise ValueError("the range must end after it starts")
    if end - start > timedelta(days=max_days):
        raise ValueError(f"the range may cover at most {max_days} days")
