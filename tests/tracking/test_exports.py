"""Every export format parses back with its own reader and agrees with the stored points."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import defusedxml.ElementTree as ET
import gpxpy
import numpy as np
import pytest

from tests.tracking.sim_tracks import T0, add_vessel, day_trip, store_marked, store_track
from tracking.db import Pool
from tracking.exports import TrackInfo, render_track, stream_positions
from tracking.tracks import Track, fetch_track, simplify_m

KML = "{http://www.opengis.net/kml/2.2}"
GX = "{http://www.google.com/kml/ext/2.2}"


@pytest.fixture
async def stored(pool: Pool) -> Track:
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        await store_track(conn, vessel, day_trip(every_s=30))
        full = await fetch_track(conn, vessel, T0, T0 + timedelta(days=1), max_points=100_000)
    return simplify_m(full, 10.0)  # a few hundred points keeps the test quick; the formats are the same


def info(track: Track) -> TrackInfo:
    return TrackInfo(track.vessel_id, "YUE SHAN WEI YU 12345", T0, T0 + timedelta(days=1))


def times(track: Track) -> list[datetime]:
    return [track.time(i) for i in range(len(track))]


def test_gpx_parses_back_with_gpxpy(stored: Track) -> None:
    gpx = gpxpy.parse(render_track(stored, info(stored), "gpx").decode())
    points = gpx.tracks[0].segments[0].points
    assert len(points) == len(stored)
    assert np.allclose([p.longitude for p in points], stored.lon)
    assert np.allclose([p.latitude for p in points], stored.lat)
    assert [p.time.astimezone(UTC) for p in points] == times(stored)
    assert gpx.tracks[0].name == "YUE SHAN WEI YU 12345"


def test_kml_parses_back_with_a_plain_xml_reader(stored: Track) -> None:
    root = ET.fromstring(render_track(stored, info(stored), "kml"))
    track = root.find(f".//{GX}Track")
    assert track is not None
    whens = [datetime.fromisoformat(w.text) for w in track.findall(f"{KML}when")]
    coords = [[float(v) for v in c.text.split()] for c in track.findall(f"{GX}coord")]
    assert whens == times(stored)
    assert np.allclose([c[0] for c in coords], stored.lon) and np.allclose([c[1] for c in coords], stored.lat)
    line = root.find(f".//{KML}LineString/{KML}coordinates")
    assert line is not None
    pairs = [[float(v) for v in item.split(",")[:2]] for item in line.text.split()]
    assert np.allclose(pairs, np.column_stack([stored.lon, stored.lat]))


def test_csv_parses_back(stored: Track) -> None:
    rows = list(csv.DictReader(io.StringIO(render_track(stored, info(stored), "csv").decode())))
    assert len(rows) == len(stored)
    assert [datetime.fromisoformat(r["ts"]) for r in rows] == times(stored)
    assert np.allclose([float(r["lon"]) for r in rows], stored.lon)
    assert np.allclose([float(r["speed"]) for r in rows], stored.speed, atol=0.01)
    assert {r["source"] for r in rows} == {"ais"}


def test_json_and_geojson_parse_back(stored: Track) -> None:
    document = json.loads(render_track(stored, info(stored), "json"))
    assert document["count"] == len(stored) == len(document["points"])
    assert [datetime.fromisoformat(p["ts"]) for p in document["points"]] == times(stored)
    collection = json.loads(render_track(stored, info(stored), "geojson"))
    (feature,) = collection["features"]
    assert feature["geometry"]["type"] == "LineString"
    assert np.allclose(feature["geometry"]["coordinates"], np.column_stack([stored.lon, stored.lat]))
    assert [datetime.fromisoformat(t) for t in feature["properties"]["coordTimes"]] == times(stored)


async def collect(pool: Pool, fmt: str, **kw: object) -> bytes:
    args: dict[str, object] = {"max_rows": 1_000_000, **kw}
    chunks = [
        chunk
        async for chunk in stream_positions(
            pool,
            (115.0, 22.0, 116.0, 23.0),
            T0,
            T0 + timedelta(days=1),
            fmt,
            **args,  # type: ignore[arg-type]
        )
    ]
    return b"".join(chunks)


async def test_fleet_exports_stream_every_row_in_the_box(pool: Pool) -> None:
    track = day_trip(every_s=2)
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        await store_track(conn, vessel, track)
        far = await add_vessel(conn, "FAR AWAY 00001", 412_000_003)
        await conn.execute(
            "INSERT INTO positions (ts, vessel_id, source, lon, lat) VALUES (%s, %s, 'ais', 10.0, 55.0)",
            (T0 + timedelta(hours=1), far),
        )
    assert len(track) > 10_000  # more than two cursor batches
    rows = list(csv.DictReader(io.StringIO((await collect(pool, "csv")).decode())))
    assert len(rows) == len(track)
    assert {r["vessel_id"] for r in rows} == {str(vessel)}
    assert [datetime.fromisoformat(r["ts"]) for r in rows[:3]] == [p.ts for p in track[:3]]
    assert rows[0]["vessel_name"] == "YUE SHAN WEI YU 12345"
    collection = json.loads(await collect(pool, "geojson"))
    assert len(collection["features"]) == len(track)
    assert collection["features"][-1]["geometry"]["coordinates"] == pytest.approx(
        [track[-1].lon, track[-1].lat]
    )
    limited = list(csv.DictReader(io.StringIO((await collect(pool, "csv", max_rows=7)).decode())))
    assert len(limited) == 7
    empty = json.loads(await collect(pool, "geojson", max_rows=0))
    assert empty == {"type": "FeatureCollection", "features": []}


# Points 0, 2, 4 real; 1 and 3 heard on a drill feed (the ingest sink marks them `drill: true`).
DRILL_AT = [False, True, False, True, False]


@pytest.fixture
async def mixed(pool: Pool, tmp_path: Path) -> Track:
    """A track with drill points, stored through the record store as ingest stores it."""
    vessel = await store_marked(pool, tmp_path, DRILL_AT)
    async with pool.connection() as conn:
        return await fetch_track(conn, vessel, T0, T0 + timedelta(days=1), max_points=1000)


@pytest.mark.usefixtures("timescaledb")
async def test_every_format_says_which_points_are_drill(mixed: Track) -> None:
    assert mixed.drill.tolist() == DRILL_AT
    document = json.loads(render_track(mixed, info(mixed), "json"))
    assert [p["drill"] for p in document["points"]] == DRILL_AT
    (feature,) = json.loads(render_track(mixed, info(mixed), "geojson"))["features"]
    assert feature["properties"]["coordDrill"] == DRILL_AT and feature["properties"]["drill"] is True
    rows = list(csv.DictReader(io.StringIO(render_track(mixed, info(mixed), "csv").decode())))
    assert [r["drill"] for r in rows] == ["true" if d else "false" for d in DRILL_AT]
    gpx = gpxpy.parse(render_track(mixed, info(mixed), "gpx").decode())
    assert [p.type == "drill" for p in gpx.tracks[0].segments[0].points] == DRILL_AT
    root = ET.fromstring(render_track(mixed, info(mixed), "kml"))
    values = root.findall(f".//{GX}Track/{KML}ExtendedData/{KML}SchemaData/{GX}SimpleArrayData/{GX}value")
    assert [v.text == "1" for v in values] == DRILL_AT


@pytest.mark.usefixtures("timescaledb", "mixed")
async def test_fleet_exports_say_which_points_are_drill(pool: Pool) -> None:
    rows = list(csv.DictReader(io.StringIO((await collect(pool, "csv")).decode())))
    assert [r["drill"] for r in rows] == ["true" if d else "false" for d in DRILL_AT]
    collection = json.loads(await collect(pool, "geojson"))
    assert [f["properties"]["drill"] for f in collection["features"]] == DRILL_AT


async def test_a_real_track_has_no_drill_points(stored: Track) -> None:
    assert len(stored) > 2 and not stored.drill.any()
    (feature,) = json.loads(render_track(stored, info(stored), "geojson"))["features"]
    assert feature["properties"]["drill"] is False
    assert not any(p["drill"] for p in json.loads(render_track(stored, info(stored), "json"))["points"])
