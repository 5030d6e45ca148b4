"""`/api/zones`: GeoJSON CRUD; everyone reads, only admins write; bad geometry is a 422 that says why."""

import copy
from typing import Any

import httpx

from tests.conftest import MakeToken

BOX: dict[str, Any] = {
    "type": "Feature",
    "properties": {"id": "test-box", "name": "Test box", "kind": "prohibited", "severity": "high"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[115, 22], [115.1, 22], [115.1, 22.1], [115, 22.1], [115, 22]]],
    },
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_admin_creates_reads_replaces_and_deletes_a_zone(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    admin = bearer(await make_token("admin"))
    created = await client.post("/api/zones", json=BOX, headers=admin)
    assert created.status_code == 201, created.text
    feature = created.json()
    assert feature["id"] == "test-box"
    assert feature["properties"]["severity"] == "high"  # rule-specific properties are kept
    assert feature["geometry"] == BOX["geometry"]

    again = await client.post("/api/zones", json=BOX, headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"

    changed = copy.deepcopy(feature)  # what a client GETs, edits and PUTs back
    changed["properties"]["name"] = "Renamed box"
    replaced = await client.put("/api/zones/test-box", json=changed, headers=admin)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["properties"]["name"] == "Renamed box"

    viewer = bearer(await make_token("viewer"))
    listed = await client.get("/api/zones", headers=viewer)
    assert listed.json()["type"] == "FeatureCollection"
    assert [f["properties"]["name"] for f in listed.json()["features"]] == ["Renamed box"]
    assert (await client.get("/api/zones?kind=harbour", headers=viewer)).json()["features"] == []
    one = await client.get("/api/zones/test-box", headers=viewer)
    assert one.json()["properties"]["kind"] == "prohibited"

    assert (await client.delete("/api/zones/test-box", headers=admin)).status_code == 204
    gone = await client.get("/api/zones/test-box", headers=viewer)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"
    assert (await client.delete("/api/zones/test-box", headers=admin)).status_code == 404


async def test_a_zone_without_an_id_gets_one(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    admin = bearer(await make_token("admin"))
    feature = copy.deepcopy(BOX)
    del feature["properties"]["id"]
    created = await client.post("/api/zones", json=feature, headers=admin)
    assert created.status_code == 201
    assert created.json()["id"]


async def test_invalid_zones_are_refused_with_the_reason(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    admin = bearer(await make_token("admin"))
    bowtie = copy.deepcopy(BOX)
    bowtie["geometry"]["coordinates"] = [[[115, 22], [115.1, 22.1], [115.1, 22], [115, 22.1], [115, 22]]]
    response = await client.post("/api/zones", json=bowtie, headers=admin)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_zone"
    assert "not a valid polygon" in response.json()["error"]["message"]

    lake = copy.deepcopy(BOX)
    lake["properties"]["kind"] = "lake"
    response = await client.post("/api/zones", json=lake, headers=admin)
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["where"].startswith("body.properties.kind")

    empty = copy.deepcopy(BOX)
    empty["geometry"]["coordinates"] = []
    assert (await client.post("/api/zones", json=empty, headers=admin)).status_code == 422

    nul = copy.deepcopy(BOX)
    nul["properties"]["note"] = "a\x00b"
    assert (await client.post("/api/zones", json=nul, headers=admin)).status_code == 422

    other = copy.deepcopy(BOX)
    assert (await client.put("/api/zones/another-id", json=other, headers=admin)).status_code == 422
    assert (await client.get("/api/zones/bad%20id", headers=admin)).status_code == 422


async def test_only_admins_write_zones(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    for role in ("viewer", "operator", "dispatcher", "official"):
        response = await client.post("/api/zones", json=BOX, headers=bearer(await make_token(role)))
        assert response.status_code == 403
        assert "admin" in response.json()["error"]["message"]
    assert (await client.post("/api/zones", json=BOX)).status_code == 401
