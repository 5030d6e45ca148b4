"""GET /api/vessels (live picture: every role) and the vessel's history (history.read)."""

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import gpxpy
import httpx
import pytest

from seawatch.settings import TrackingSettings
from tests.conftest import MakeToken
from tests.tracking.sim_tracks import BERTH, T0, add_vessel, day_trip, moored, store_marked, store_track, then
from tracking.db import Pool
from tracking.tracker import Tracker
from tracking.zones import load_demo_zones

RANGE = {"start": T0.isoformat(), "end": (T0 + timedelta(days=1)).isoformat()}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def fleet(pool: Pool) -> dict[str, int]:
    """One boat back in Shanwei Port after a day trip, one moored there all along, one never seen."""
    trip = day_trip()
    async with pool.connection() as conn:
        await load_demo_zones(conn)
        tripper = await add_vessel(conn, "TRIPPER 00001", 412_000_001)
        moored_id = await add_vessel(conn, "MOORED 00002", 412_000_002)
        unseen = await add_vessel(conn, "UNSEEN 00003", None)
        await store_track(conn, tripper, trip)
        await store_track(conn, moored_id, moored(BERTH, T0, 1))
        await conn.execute("UPDATE vessels SET is_fishing = false WHERE id = %s", (moored_id,))
    tracker = Tracker(pool, TrackingSettings(), clock=Clock(then(trip) + timedelta(minutes=1)))
    await tracker.load()
    while await tracker.poll_once() and tracker._behind:
        pass
    return {"tripper": tripper, "moored": moored_id, "unseen": unseen}


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_the_list_filters_and_pages(
    client: httpx.AsyncClient, make_token: MakeToken, fleet: dict[str, int]
) -> None:
    headers = auth(await make_token("viewer"))
    everyone = (await client.get("/api/vessels", headers=headers)).json()
    assert [v["id"] for v in everyone["vessels"]] == sorted(fleet.values())
    tripper = everyone["vessels"][0]
    assert tripper["name"] == "TRIPPER 00001" and tripper["mmsi"] == 412_000_001
    assert tripper["in_port"] is True and tripper["port_zone_id"] == "shanwei-port"
    assert tripper["position"]["source"] == "ais" and tripper["stale"] is True  # a track of 2025
    assert everyone["vessels"][2]["position"] is None

    async def ids(**params: object) -> list[int]:
        response = await client.get("/api/vessels", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [v["id"] for v in response.json()["vessels"]]

    assert await ids(bbox="115.3,22.7,115.4,22.8") == [fleet["tripper"], fleet["moored"]]
    assert await ids(bbox="115.0,21.0,115.1,21.1") == []
    assert await ids(in_port=True) == [fleet["tripper"], fleet["moored"]]
    assert await ids(at_sea=True) == []
    assert await ids(fishing=False) == [fleet["moored"]]
    assert await ids(source="jt808") == []
    assert await ids(stale=False) == []
    page = (await client.get("/api/vessels", headers=headers, params={"limit": 2})).json()
    assert len(page["vessels"]) == 2 and page["next_after_id"] == fleet["moored"]
    assert await ids(after_id=page["next_after_id"]) == [fleet["unseen"]]
    bad = await client.get("/api/vessels", headers=headers, params={"bbox": "1,2,3"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


async def test_detail_has_identities_and_the_open_port_call(
    client: httpx.AsyncClient, make_token: MakeToken, fleet: dict[str, int]
) -> None:
    headers = auth(await make_token("viewer"))
    body = (await client.get(f"/api/vessels/{fleet['tripper']}", headers=headers)).json()
    assert body["identities"] == [
        {"kind": "mmsi", "value": "412000001", "valid_from": None, "valid_to": None}
    ]
    assert body["port_call"]["zone_id"] == "shanwei-port" and body["voyage"] is None
    missing = await client.get("/api/vessels/999999", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404


async def test_a_viewer_sees_the_live_picture_but_not_the_history(
    client: httpx.AsyncClient, make_token: MakeToken, fleet: dict[str, int]
) -> None:
    headers = auth(await make_token("viewer"))
    vessel = fleet["tripper"]
    for path in (f"/api/vessels/{vessel}/track", f"/api/vessels/{vessel}/voyages", "/api/exports/positions"):
        response = await client.get(path, headers=headers, params={**RANGE, "bbox": "115,22,116,23"})
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "forbidden"
    assert (await client.get(f"/api/vessels/{vessel}/track")).status_code == 401


async def test_the_track_in_every_format(
    client: httpx.AsyncClient, make_token: MakeToken, fleet: dict[str, int]
) -> None:
    headers = auth(await make_token("official"))
    url = f"/api/vessels/{fleet['tripper']}/track"
    full = (await client.get(url, headers=headers, params=RANGE)).json()
    assert full["count"] == len(day_trip()) and full["simplified"] is None
    simple = (await client.get(url, headers=headers, params={**RANGE, "simplify": 25})).json()
    assert 2 < simple["count"] < full["count"] / 2  # moored jitter of 25 m keeps some
    assert simple["simplified"] == {"method": "douglas-peucker", "tolerance_m": 25.0, "from": full["count"]}
    hourly = (await client.get(url, headers=headers, params={**RANGE, "bucket": 3600})).json()
    assert 5 <= hourly["count"] <= 10  # about 7.5 h of track, one point an hour and the last
    gpx = await client.get(url, headers=headers, params={**RANGE, "format": "gpx", "simplify": 25})
    assert gpx.headers["content-type"] == "application/gpx+xml"
    assert "attachment" in gpx.headers["content-disposition"]
    assert len(gpxpy.parse(gpx.text).tracks[0].segments[0].points) == simple["count"]
    kml = await client.get(url, headers=headers, params={**RANGE, "format": "kml", "bucket": 600})
    assert kml.headers["content-type"] == "application/vnd.google-earth.kml+xml" and "<kml" in kml.text
    rows = list(
        csv.DictReader(
            io.StringIO((await client.get(url, headers=headers, params={**RANGE, "format": "csv"})).text)
        )
    )
    assert len(rows) == full["count"]
    geojson = await client.get(url, headers=headers, params={**RANGE, "format": "geojson", "simplify": 25})
    assert geojson.json()["features"][0]["geometry"]["type"] == "LineString"
    both = await client.get(url, headers=headers, params={**RANGE, "simplify": 25, "bucket": 60})
    assert both.status_code == 422
    too_long = {"start": T0.isoformat(), "end": (T0 + timedelta(days=400)).isoformat()}
    assert (await client.get(url, headers=headers, params=too_long)).status_code == 422
    assert (await client.get("/api/vessels/999999/track", headers=headers, params=RANGE)).status_code == 404


async def test_fleet_export_streams_csv_and_geojson(
    client: httpx.AsyncClient, make_token: MakeToken, fleet: dict[str, int]
) -> None:
    headers = auth(await make_token("dispatcher"))
    params = {**RANGE, "bbox": "115.3,22.6,115.5,22.8"}
    response = await client.get("/api/exports/positions", headers=headers, params=params)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(day_trip()) + 360
    geo = await client.get("/api/exports/positions", headers=headers, params={**params, "format": "geojson"})
    assert len(geo.json()["features"]) == len(rows)
    wide = {**params, "end": (T0 + timedelta(days=60)).isoformat()}
    assert (await client.get("/api/exports/positions", headers=headers, params=wide)).status_code == 422


@pytest.mark.usefixtures("timescaledb")
async def test_a_drill_record_comes_back_drill_in_the_track(
    client: httpx.AsyncClient, make_token: MakeToken, pool: Pool, tmp_path: Path
) -> None:
    drill = [False, True, False]
    vessel = await store_marked(pool, tmp_path, drill)
    headers = auth(await make_token("official"))
    url = f"/api/vessels/{vessel}/track"
    points = (await client.get(url, headers=headers, params=RANGE)).json()["points"]
    assert [p["drill"] for p in points] == drill
    text = (await client.get(url, headers=headers, params={**RANGE, "format": "csv"})).text
    assert [r["drill"] for r in csv.DictReader(io.StringIO(text))] == ["false", "true", "false"]
    (feature,) = (await client.get(url, headers=headers, params={**RANGE, "format": "geojson"})).json()[
        "features"
    ]
    assert feature["properties"]["coordDrill"] == drill
    report = f"/api/reports/vessel/{vessel}"
    body = (
        await client.get(report, headers=headers, params={"from": RANGE["start"], "to": RANGE["end"]})
    ).json()
    assert body["drill"] == {"included": False, "positions_excluded": 1} and body["totals"]["positions"] == 2
    asked = {"from": RANGE["start"], "to": RANGE["end"], "drill": "true"}
    assert (await client.get(report, headers=headers, params=asked)).json()["totals"]["positions"] == 3
