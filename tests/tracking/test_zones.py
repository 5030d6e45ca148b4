import copy
from typing import Any

import psycopg
import pytest
from shapely.geometry import Polygon

from tracking.db import Pool
from tracking.geo import metres_to_degrees_lon
from tracking.zones import (
    Zone,
    ZoneError,
    ZoneIndex,
    check_feature,
    demo_zone_features,
    load_demo_zones,
    load_zone_index,
    upsert_zone,
    zone_from_feature,
)

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


def demo_index() -> ZoneIndex:
    return ZoneIndex(zone_from_feature(f) for f in demo_zone_features())


def test_index_finds_the_zones_holding_a_point() -> None:
    index = demo_index()
    port = index.get("shanwei-port")
    assert port is not None
    inside = port.geometry.representative_point()
    kinds = {z.kind for z in index.containing(inside.x, inside.y)}
    assert "harbour" in kinds
    assert [z.id for z in index.containing(inside.x, inside.y, "harbour")] == ["shanwei-port"]
    assert index.containing(120.0, 10.0) == []


def test_signed_distance_is_positive_inside_and_in_metres() -> None:
    box = Zone("box", "box", "prohibited", Polygon([(115, 22), (115.1, 22), (115.1, 22.1), (115, 22.1)]))
    assert box.signed_distance_m(115.05, 22.05) == pytest.approx(
        5_130, rel=0.01
    )  # to the nearest edge, north/south
    east_of = 115.1 + metres_to_degrees_lon(100, 22.05)
    assert box.signed_distance_m(east_of, 22.05) == pytest.approx(-100, rel=0.01)


def test_within_m_includes_zones_just_outside() -> None:
    index = ZoneIndex(
        [Zone("box", "box", "harbour", Polygon([(115, 22), (115.1, 22), (115.1, 22.1), (115, 22.1)]))]
    )
    near = 115.1 + metres_to_degrees_lon(40, 22.05)
    assert [z.id for z in index.within_m(near, 22.05, 50)] == ["box"]
    assert index.within_m(near, 22.05, 30) == []
    assert index.within_m(near, 22.05, 50, "shelter") == []


async def test_the_index_loads_what_is_stored(pool: Pool) -> None:
    async with pool.connection() as conn:
        await load_demo_zones(conn)
        index = await load_zone_index(conn)
    assert len(index) == len(demo_zone_features())
    moratorium = index.get("scs-summer-moratorium")
    assert moratorium is not None and moratorium.properties["schedule"]["timezone"] == "Asia/Shanghai"
