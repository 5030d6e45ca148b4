import copy
from typing import Any

import psycopg
import pytest

from tracking.db import Pool
from tracking.zones import ZoneError, check_feature, demo_zone_features, load_demo_zones, upsert_zone

SQUARE: dict[str, Any] = {
    "type": "Feature",
    "properties": {"id": "test-box", "name": "Test box", "kind": "prohibited"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[115, 22], [115.1, 22], [115.1, 22.1], [115, 22.1], [115, 22]]],
    },
}


def test_demo_zones_are_all_valid_and_cover_the_kinds_rules_need() -> None:
    features = demo_zone_features()
    kinds = {check_feature(f)["kind"] for f in features}
    assert {"harbour", "shelter", "prohibited", "fishing_area", "shipping_lane", "moratorium"} <= kinds


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f["properties"].update(kind="lake"), "kind"),
        (lambda f: f["properties"].update(name=" "), "name"),
        (lambda f: f.update(geometry={"type": "Point", "coordinates": [115, 22]}), "Polygon"),
        (
            lambda f: f["geometry"].update(
                coordinates=[[[115, 22], [115.1, 22.1], [115.1, 22], [115, 22.1], [115, 22]]]
            ),
            "not a valid polygon",
        ),
        (
            lambda f: f["geometry"].update(coordinates=[[[215, 22], [215.1, 22], [215.1, 22.1], [215, 22]]]),
            "degrees",
        ),
        (lambda f: f.update(type="FeatureCollection"), "Feature"),
    ],
)
def test_bad_zones_are_refused_with_a_reason(change: Any, message: str) -> None:
    feature = copy.deepcopy(SQUARE)
    change(feature)
    with pytest.raises(ZoneError, match=message):
        check_feature(feature)


async def test_loading_demo_zones_twice_keeps_one_copy(pool: Pool) -> None:
    async with pool.connection() as conn:
        first = await load_demo_zones(conn)
        second = await load_demo_zones(conn)
        cur = await conn.execute("SELECT count(*), count(DISTINCT kind) FROM zones")
        count = await cur.fetchone()
    assert first == second
    assert count is not None and count[0] == len(demo_zone_features())


async def test_upsert_replaces_by_id_and_keeps_extra_properties(pool: Pool) -> None:
    feature = copy.deepcopy(SQUARE)
    feature["properties"]["schedule"] = {"timezone": "Asia/Shanghai"}
    async with pool.connection() as conn:
        assert await upsert_zone(conn, feature) == "test-box"
        feature["properties"]["name"] = "Renamed"
        await upsert_zone(conn, feature)
        cur = await conn.execute("SELECT name, properties FROM zones WHERE id = 'test-box'")
        row = await cur.fetchone()
    assert row == ("Renamed", {"schedule": {"timezone": "Asia/Shanghai"}})


async def test_a_zone_without_id_gets_one(database_url: str) -> None:
    feature = copy.deepcopy(SQUARE)
    del feature["properties"]["id"]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        zone_id = await upsert_zone(conn, feature)
    assert len(zone_id) == 36
