"""The console's own endpoints: its settings and the offline coast layer."""

import httpx
from shapely.geometry import Point, shape

from tests.conftest import MakeToken


async def test_the_offline_coast_is_the_full_resolution_shanwei_land(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    headers = {"Authorization": f"Bearer {await make_token('viewer')}"}
    response = await client.get("/api/console/coast.geojson", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    land = [shape(f["geometry"]) for f in response.json()["features"]]
    # Harbour scale: the town of Shanwei is land, and so is a quay 25 m inside the coast; the water
    # 88 m off the shore in Shanwei port is not (points measured in tests/tracking/test_coast.py).
    assert any(p.contains(Point(115.355, 22.785)) for p in land)
    assert any(p.contains(Point(115.366, 22.7776)) for p in land)
    assert not any(p.contains(Point(115.37, 22.772)) for p in land)
    cached = await client.get(
        "/api/console/coast.geojson", headers={**headers, "If-None-Match": response.headers["etag"]}
    )
    assert cached.status_code == 304


async def test_the_config_says_offline_by_default(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    headers = {"Authorization": f"Bearer {await make_token('viewer')}"}
    config = (await client.get("/api/console/config", headers=headers)).json()
    assert config["tile_url"] is None
    assert config["region"] == [114.5, 22.2, 116.0, 23.2]
    assert config["drill_mode"] is False
