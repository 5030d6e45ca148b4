"""Voyages, port calls and reports over HTTP: history.read only (a viewer gets 403)."""

from datetime import date, datetime, timedelta

import httpx
import pytest

from seawatch.settings import TrackingSettings
from tests.conftest import MakeToken
from tests.tracking.sim_tracks import T0, add_vessel, day_trip, store_gate_read, store_track, then
from tracking.db import Pool
from tracking.tracker import Tracker
from tracking.zones import load_demo_zones

DAY = {"harbour": "shanwei-port", "date": "2025-03-03"}  # 08:00-… in Shanwei: the trip is inside


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def vessel(pool: Pool) -> int:
    trip = day_trip(T0 + timedelta(hours=1))  # 09:00-16:30 China time on 3 March
    async with pool.connection() as conn:
        await load_demo_zones(conn)
        vessel_id = await add_vessel(conn)
        await store_track(conn, vessel_id, trip)
        await store_gate_read(conn, vessel_id, trip[0].ts + timedelta(minutes=61), "out")
    tracker = Tracker(pool, TrackingSettings(), clock=Clock(then(trip) + timedelta(minutes=1)))
    await tracker.load()
    while await tracker.poll_once() and tracker._behind:
        pass
    return vessel_id


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


PATHS = ("/api/voyages", "/api/portcalls", "/api/reports/harbour-daily", "/api/reports/vessel/1")


@pytest.mark.parametrize("path", PATHS)
async def test_a_viewer_may_not_read_history(
    client: httpx.AsyncClient, make_token: MakeToken, path: str
) -> None:
    response = await client.get(path, headers=auth(await make_token("viewer")), params=DAY)
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("history.read needs one of the roles")


async def test_voyages_and_port_calls(client: httpx.AsyncClient, make_token: MakeToken, vessel: int) -> None:
    headers = auth(await make_token("official"))
    voyages = (await client.get("/api/voyages", headers=headers, params={"vessel_id": vessel})).json()
    (voyage,) = voyages["voyages"]
    assert (voyage["from_zone_id"], voyage["to_zone_id"], voyage["open"]) == (
        "shanwei-port",
        "shanwei-port",
        False,
    )
    assert 10 < voyage["distance_nm"] < 25 and voyage["fishing_s"] > 3600
    assert (await client.get("/api/voyages", headers=headers, params={"open": True})).json()["voyages"] == []
    same = (await client.get(f"/api/vessels/{vessel}/voyages", headers=headers)).json()["voyages"]
    assert same == voyages["voyages"]
    calls = (await client.get("/api/portcalls", headers=headers, params={"zone_id": "shanwei-port"})).json()
    assert [c["arrival_method"] for c in calls["port_calls"]] == ["track", "initial"]  # newest first
    assert calls["port_calls"][1]["departure_gate_at"] is not None  # the gate confirmed the departure
    page = (await client.get("/api/portcalls", headers=headers, params={"limit": 1})).json()
    assert len(page["port_calls"]) == 1 and page["next_before"] == calls["port_calls"][0]["arrived_at"]
    older = (
        await client.get("/api/portcalls", headers=headers, params={"before": page["next_before"]})
    ).json()
    assert older["port_calls"] == calls["port_calls"][1:]


async def test_the_harbour_daily_report(
    client: httpx.AsyncClient, make_token: MakeToken, vessel: int
) -> None:
    headers = auth(await make_token("operator"))
    body = (await client.get("/api/reports/harbour-daily", headers=headers, params=DAY)).json()
    assert body["harbour"]["id"] == "shanwei-port" and body["timezone"] == "Asia/Shanghai"
    assert body["from"] == "2025-03-02T16:00:00Z"
    assert [d["vessel_id"] for d in body["departures"]] == [vessel]
    assert body["departures"][0]["gate_at"] is not None and body["departures"][0]["back_at"] is not None
    assert [a["method"] for a in body["arrivals"]] == ["track"]  # the initial sighting is no arrival
    assert body["totals"] == {"departures": 1, "arrivals": 1, "gate_confirmed": 1, "still_out": 0}
    next_day = {**DAY, "date": (date(2025, 3, 4)).isoformat()}
    assert (await client.get("/api/reports/harbour-daily", headers=headers, params=next_day)).json()[
        "totals"
    ]["departures"] == 0
    unknown = await client.get(
        "/api/reports/harbour-daily", headers=headers, params={**DAY, "harbour": "islets-mpa"}
    )
    assert unknown.status_code == 404


async def test_the_vessel_report_as_json_and_pdf(
    client: httpx.AsyncClient, make_token: MakeToken, vessel: int
) -> None:
    headers = auth(await make_token("official"))
    period = {"from": T0.isoformat(), "to": (T0 + timedelta(days=1)).isoformat()}
    body = (await client.get(f"/api/reports/vessel/{vessel}", headers=headers, params=period)).json()
    assert body["totals"]["voyages"] == 1 and body["totals"]["fishing_effort_s"] > 3600
    pdf = await client.get(
        f"/api/reports/vessel/{vessel}", headers=headers, params={**period, "format": "pdf"}
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert (await client.get("/api/reports/vessel/999999", headers=headers, params=period)).status_code == 404
    long = {"from": T0.isoformat(), "to": (T0 + timedelta(days=365)).isoformat()}
    assert (
        await client.get(f"/api/reports/vessel/{vessel}", headers=headers, params=long)
    ).status_code == 422
