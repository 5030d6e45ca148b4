"""A vessel's track over a time range, in full or simplified on the server.

The points come out of PostgreSQL as one row of binary arrays parsed straight into numpy columns: a
30-day class A track is about 260,000 points, and building a Python tuple per row would cost more than
the query itself (bench/tracks.py measures both).

Two simplifications:

- `simplify_m`: Douglas–Peucker with a tolerance in metres, on coordinates projected to a local plane
  (GEOS's implementation through shapely; the point index rides along as the Z coordinate, so each
  kept vertex keeps its time, speed and source). Every dropped point lies within the tolerance of the
  simplified line: what a map needs.
- `per_bucket`: the first point of every time bucket of N seconds, and the last point: what a chart
  against time needs.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from psycopg import AsyncConnection
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format
from psycopg.rows import TupleRow

from tracking.geo import local_xy_m

Floats = npt.NDArray[np.float64]
Connection = AsyncConnection[TupleRow]

# Sources are sent as small codes (a text column would make the binary rows variable-length);
# code 0 is any source not listed here.
SOURCES: tuple[str, ...] = ("ais", "jt808", "terminal_json", "tag", "sim")
# The track comes back as one row of eight arrays in binary (psycopg hands their bytes over untouched,
# see `_RawLoader`): COPY would cost a Python round of the driver per row, which at 260,000 rows is most
# of the time. Native types only: extract(epoch …) would return numeric, whose arithmetic costs more
# than the scan itself. timestamptz is 8-byte microseconds since 2000-01-01; real is float4.
TRACK_SQL = (
    "SELECT count(*), array_agg(ts), array_agg(lon), array_agg(lat), array_agg(COALESCE(speed, 'NaN')),"
    " array_agg(COALESCE(course, 'NaN')), array_agg(COALESCE(heading, 'NaN')),"
    " array_agg(COALESCE(array_position(%s::text[], source), 0)::int2), array_agg(drill)"
    " FROM (SELECT * FROM positions WHERE vessel_id = %s AND ts >= %s AND ts < %s ORDER BY ts LIMIT %s) p"
)
_PG_EPOCH_S = 946_684_800.0  # 2000-01-01T00:00:00Z in unix seconds
# Binary array element types, by the array type's OID: timestamptz[], float8[], float4[], int2[], bool[].
_ARRAY_ELEMENTS = {1185: ">i8", 1022: ">f8", 1021: ">f4", 1005: ">i2", 1000: "?"}


class _RawLoader(Loader):
    format = Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def parse_array(data: bytes | None, element: str) -> npt.NDArray[Any]:
    """A one-dimensional PostgreSQL binary array without NULLs as a numpy array."""
    if data is None:
        return np.empty(0, dtype=element)
    ndim, has_null, _ = struct.unpack_from(">iii", data, 0)
    if ndim == 0:
        return np.empty(0, dtype=element)
    if ndim != 1 or has_null:
        raise ValueError("expected a one-dimensional array without NULLs")
    (length,) = struct.unpack_from(">i", data, 12)
    size = np.dtype(element).itemsize
    items = np.frombuffer(data, dtype=[("len", ">i4"), ("v", element)], count=length, offset=20)
    if length and np.any(items["len"] != size):
        raise ValueError("unexpected element size in array")
    return items["v"]


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
    conn: Connection, vessel_id: int, start: datetime, end: datetime, *, max_points: int
) -> Track:
    """All stored points of the vessel in [start, end), oldest first; `TrackTooLarge` past `max_points`."""
    async with conn.cursor(binary=True) as cur:
        for oid in _ARRAY_ELEMENTS:
            cur.adapters.register_loader(oid, _RawLoader)
        await cur.execute(TRACK_SQL, (list(SOURCES), vessel_id, start, end, max_points + 1))
        row = await cur.fetchone()
    if row is None or not row[0]:
        return empty_track(vessel_id)
    if row[0] > max_points:
        raise TrackTooLarge(
            f"the track has more than {max_points} points in that range: ask for a shorter one"
        )
    ts_raw, lon, lat, speed, course, heading, source, drill = (
        parse_array(value, element)
        for value, element in zip(
            row[1:], (">i8", ">f8", ">f8", ">f4", ">f4", ">f4", ">i2", "?"), strict=True
        )
    )
    ts = ts_raw.astype(np.float64) / 1e6 + _PG_EPOCH_S
    # array_agg keeps the subquery's order in practice, but SQL does not promise it: sort (a sorted
    # input costs a few milliseconds).
    order = np.argsort(ts, kind="stable")
    return Track(
        vessel_id,
        ts[order],
        lon.astype(np.float64)[order],
        lat.astype(np.float64)[order],
        speed.astype(np.float64)[order],
        course.astype(np.float64)[order],
        heading.astype(np.float64)[order],
        source.astype(np.int32)[order],
        drill.astype(bool)[order],
    )


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
    index = np.unique(np.r_[0, kept[:, 2].astype(np.intp), len(track) - 1])
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
