"""Tracks and fleet positions in the formats officials take away: JSON, GeoJSON, CSV, GPX and KML.

GPX is written by gpxpy and KML by simplekml, never by hand: both formats have enough corners
(namespaces, escaping, the time format) that a library which many readers already agree with is worth
more than a template. KML carries the track twice: a `gx:Track` with a time per point, for Google
Earth's time slider, and a plain `LineString` for every other reader.

Every point says whether it came from drill traffic, in the form each format has for per-point data:
`drill` in JSON points, CSV rows and fleet GeoJSON features; `coordDrill` beside `coordTimes` in a track's
GeoJSON (with `drill` true when any point is); `<type>drill</type>` on GPX track points; a `drill`
`gx:SimpleArrayData` in KML. A drill track must never pass for a real vessel's once it leaves seawatch.

Fleet exports (`stream_positions`) read through a server-side cursor and yield bytes as they go: an
export of a month of a busy coast is millions of rows and never sits in memory, in the database
driver or here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import gpxpy.gpx
import orjson
import simplekml

from tracking.db import Pool
from tracking.tracks import Track

TrackFormat = Literal["json", "geojson", "csv", "gpx", "kml"]
FleetFormat = Literal["csv", "geojson"]

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "gpx": "application/gpx+xml",
    "kml": "application/vnd.google-earth.kml+xml",
}
CSV_COLUMNS = ("ts", "lon", "lat", "speed", "course", "heading", "source", "drill")
# A fleet row: who, then the track columns (`source` moved up beside the vessel).
FLEET_CSV_COLUMNS = ("ts", "vessel_id", "vessel_name", "source", *CSV_COLUMNS[1:6], "drill")
DRILL_GPX_TYPE = "drill"  # the GPX `<type>` of a drill point
CURSOR_ROWS = 5000


@dataclass(frozen=True)
class TrackInfo:
    """Who and what the track is, for the file's metadata."""

    vessel_id: int
    name: str | None
    start: datetime
    end: datetime
    simplified: dict[str, Any] | None = None  # {"method": "douglas-peucker", "tolerance_m": 25, "from": n}

    @property
    def title(self) -> str:
        return self.name or f"vessel {self.vessel_id}"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _csv_value(value: Any) -> Any:
    # Lower-case booleans, as JSON spells them; an unknown value is an empty cell.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def track_json(track: Track, info: TrackInfo) -> bytes:
    return orjson.dumps(
        {
            "vessel_id": info.vessel_id,
            "name": info.name,
            "start": _iso(info.start),
            "end": _iso(info.end),
            "count": len(track),
            "simplified": info.simplified,
            "points": list(track.points()),
        }
    )


def track_geojson(track: Track, info: TrackInfo) -> bytes:
    """A FeatureCollection with the track as one LineString (a Point for a single fix); per-point times
    in `coordTimes`, the property name other GPX/KML converters use."""
    coordinates = [[float(x), float(y)] for x, y in zip(track.lon.tolist(), track.lat.tolist(), strict=True)]
    properties = {
        "vessel_id": info.vessel_id,
        "name": info.name,
        "start": _iso(info.start),
        "end": _iso(info.end),
        "count": len(track),
        "simplified": info.simplified,
        "coordTimes": [p["ts"] for p in track.points()],
        "drill": bool(track.drill.any()),
        "coordDrill": track.drill.tolist(),
    }
    features = []
    if len(track) == 1:
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": coordinates[0]}})
    elif len(track) > 1:
        features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coordinates}})
    for feature in features:
        feature["properties"] = properties
    return orjson.dumps({"type": "FeatureCollection", "features": features})


def track_csv(track: Track) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in track.points():
        writer.writerow([_csv_value(p[c]) for c in CSV_COLUMNS])
    return out.getvalue().encode()


def track_gpx(track: Track, info: TrackInfo) -> bytes:
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "seawatch"
    gpx.name = f"{info.title} {_iso(info.start)} – {_iso(info.end)}"
    gpx_track = gpxpy.gpx.GPXTrack(name=info.title)
    segment = gpxpy.gpx.GPXTrackSegment()
    drill = track.drill.tolist()
    for i in range(len(track)):
        point = gpxpy.gpx.GPXTrackPoint(
            latitude=float(track.lat[i]), longitude=float(track.lon[i]), time=track.time(i)
        )
        if drill[i]:
            point.type = DRILL_GPX_TYPE
        segment.points.append(point)
    gpx_track.segments.append(segment)
    gpx.tracks.append(gpx_track)
    return str(gpx.to_xml(version="1.1")).encode()


def track_kml(track: Track, info: TrackInfo) -> bytes:
    kml = simplekml.Kml(name=f"{info.title} {_iso(info.start)} – {_iso(info.end)}")
    coords = list(zip(track.lon.tolist(), track.lat.tolist(), strict=True))
    timed = kml.newgxtrack(name=info.title)
    timed.newwhen([_iso(track.time(i)) for i in range(len(track))])
    timed.newgxcoord([(x, y, 0.0) for x, y in coords])
    schema = kml.newschema(name="seawatch")
    schema.newgxsimplearrayfield(name="drill", type=simplekml.Types.bool, displayname="Drill")
    timed.extendeddata.schemadata.schemaurl = schema.id  # simplekml adds the "#"
    timed.extendeddata.schemadata.newgxsimplearraydata("drill", [int(d) for d in track.drill.tolist()])
    if len(coords) > 1:
        line = kml.newlinestring(name=f"{info.title} (line)", coords=coords)
        line.style.linestyle.width = 2
        line.style.linestyle.color = simplekml.Color.red
    return str(kml.kml()).encode()


def render_track(track: Track, info: TrackInfo, fmt: TrackFormat) -> bytes:
    if fmt == "json":
        return track_json(track, info)
    if fmt == "geojson":
        return track_geojson(track, info)
    if fmt == "csv":
        return track_csv(track)
    if fmt == "gpx":
        return track_gpx(track, info)
    return track_kml(track, info)


# --- fleet exports ---------------------------------------------------------------------------------

FLEET_SQL = (
    "SELECT p.ts, p.vessel_id, v.name, p.source, p.lon, p.lat, p.speed, p.course, p.heading, p.drill"
    " FROM positions p LEFT JOIN vessels v ON v.id = p.vessel_id"
    " WHERE p.ts >= %s AND p.ts < %s AND p.lon BETWEEN %s AND %s AND p.lat BETWEEN %s AND %s"
    " ORDER BY p.ts LIMIT %s"
)


async def stream_positions(
    pool: Pool,
    bbox: tuple[float, float, float, float],
    start: datetime,
    end: datetime,
    fmt: FleetFormat,
    *,
    max_rows: int,
) -> AsyncIterator[bytes]:
    """Every position in the box and window, oldest first, as CSV or a GeoJSON FeatureCollection."""
    lon1, lat1, lon2, lat2 = bbox
    params = (start, end, min(lon1, lon2), max(lon1, lon2), min(lat1, lat2), max(lat1, lat2), max_rows)
    yield _fleet_head(fmt)
    first = True
    # A named cursor lives on the server: rows cross the wire CURSOR_ROWS at a time.
    async with (
        pool.connection() as conn,
        conn.transaction(),
        conn.cursor(name="seawatch_export") as cur,
    ):
        cur.itersize = CURSOR_ROWS
        await cur.execute(FLEET_SQL, params)
        batch: list[tuple[Any, ...]] = []
        async for row in cur:
            batch.append(row)
            if len(batch) >= CURSOR_ROWS:
                yield _fleet_rows(batch, fmt, first)
                first, batch = False, []
        if batch:
            yield _fleet_rows(batch, fmt, first)
    yield b"]}\n" if fmt == "geojson" else b""


def _fleet_head(fmt: FleetFormat) -> bytes:
    if fmt == "geojson":
        return b'{"type":"FeatureCollection","features":['
    return (",".join(FLEET_CSV_COLUMNS) + "\n").encode()


def _fleet_rows(rows: Iterable[tuple[Any, ...]], fmt: FleetFormat, first: bool) -> bytes:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for ts, vessel_id, name, source, lon, lat, speed, course, heading, drill in rows:
            writer.writerow(
                [
                    _iso(ts),
                    vessel_id,
                    name or "",
                    source,
                    lon,
                    lat,
                    *map(_csv_value, (speed, course, heading, drill)),
                ]
            )
        return out.getvalue().encode()
    features = [
        orjson.dumps(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "ts": _iso(ts),
                    "vessel_id": vessel_id,
                    "vessel_name": name,
                    "source": source,
                    "speed": speed,
                    "course": course,
                    "heading": heading,
                    "drill": drill,
                },
            }
        )
        for ts, vessel_id, name, source, lon, lat, speed, course, heading, drill in rows
    ]
    return (b"" if first else b",") + b",".join(features)
