"""`/api/weather`: CAP documents in over HTTP, the warnings in force (with their areas) out."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alerts.engine import AlertEngine
from alerts.rules.registry import default_rules
from alerts.weather import WeatherService
from api.app import ApiServices, create_app
from seawatch.bus import BusStatus
from seawatch.settings import Settings
from tests.conftest import MakeToken
from tracking.db import Pool

# CAP writes polygons as "lat,lon" pairs; GeoJSON wants [lon, lat].
POLYGON = "22.3,115.0 22.3,116.0 22.9,116.0 22.9,115.0 22.3,115.0"


def gale_warning(identifier: str, now: datetime, *, msg_type: str = "Alert", references: str = "") -> bytes:
    expires = (now + timedelta(hours=12)).isoformat(timespec="seconds")
    sent = now.isoformat(timespec="seconds")
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
<identifier>{identifier}</identifier><sender>test@seawatch</sender><sent>{sent}</sent>
<status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
<info><category>Met</category><event>Gale</event><urgency>Expected</urgency>
<severity>Severe</severity><certainty>Likely</certainty><expires>{expires}</expires>
<headline>Gale warning, Shanwei coastal waters</headline>
<area><areaDesc>Shanwei coastal waters</areaDesc><polygon>{POLYGON}</polygon></area></info>
</alert>""".encode()


@pytest.fixture
async def client(pool: Pool, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url)
    ruleset = default_rules()
    bus = BusStatus()
    bus.connected = True
    services = ApiServices(
        settings=settings,
        pool=pool,
        bus=bus,
        engine=AlertEngine(pool, settings.rules, ruleset.rules),
        weather=WeatherService(pool, ruleset.weather),
    )
    transport = httpx.ASGITransport(app=create_app(services), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seawatch.test") as http:
        yield http


async def test_a_warning_posted_is_listed_with_its_area_in_geojson_order(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    operator = {"Authorization": f"Bearer {await make_token('operator')}"}
    viewer = {"Authorization": f"Bearer {await make_token('viewer')}"}
    identifier = f"gale-{datetime.now(UTC).timestamp()}"
    posted = await client.post(
        "/api/weather/cap", content=gale_warning(identifier, datetime.now(UTC)), headers=operator
    )
    assert posted.status_code == 201, posted.text

    listed = await client.get("/api/weather", headers=viewer)
    assert listed.status_code == 200
    ours = [w["warning"] for w in listed.json()["warnings"] if w["warning"]["identifier"] == identifier]
    assert len(ours) == 1
    area = ours[0]["area"]
    assert area["type"] == "MultiPolygon"
    ring = area["coordinates"][0][0]
    corners = {(round(lon, 6), round(lat, 6)) for lon, lat in ring}
    assert corners == {(115.0, 22.3), (116.0, 22.3), (116.0, 22.9), (115.0, 22.9)}


async def test_a_cancelled_warning_is_no_longer_listed(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    operator = {"Authorization": f"Bearer {await make_token('operator')}"}
    now = datetime.now(UTC)
    identifier = f"gale-{now.timestamp()}"
    assert (
        await client.post("/api/weather/cap", content=gale_warning(identifier, now), headers=operator)
    ).status_code == 201
    cancel = gale_warning(
        identifier + "-cancel",
        now + timedelta(seconds=1),
        msg_type="Cancel",
        references=f"test@seawatch,{identifier},{now.isoformat(timespec='seconds')}",
    )
    assert (await client.post("/api/weather/cap", content=cancel, headers=operator)).status_code == 201
    listed = (await client.get("/api/weather", headers=operator)).json()["warnings"]
    assert identifier not in {w["warning"]["identifier"] for w in listed}


async def test_a_document_that_is_not_cap_gets_the_error_shape(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    operator = {"Authorization": f"Bearer {await make_token('operator')}"}
    response = await client.post("/api/weather/cap", content=b"<alert>no namespace</alert>", headers=operator)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"].startswith("cap_")
