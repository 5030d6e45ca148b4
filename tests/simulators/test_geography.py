"""Harbours, grounds, lanes and routes from the shipped zones, and a fleet that stays at sea."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
import shapely
from shapely.geometry import LineString

from simulators.fleet import LOCAL, Fleet, FleetSpec
from simulators.geography import Geography
from tracking.geo import haversine_m


@pytest.fixture(scope="module")
def geography() -> Geography:
    return Geography.shanwei()


def test_every_demo_harbour_has_berths_a_gate_and_an_offing_on_the_water(geography: Geography) -> None:
    assert set(geography.harbours) == {"shanwei-port", "maguan-port", "zhelang-port"}
    for harbour in geography.harbours.values():
        assert harbour.berths
        assert all(
            harbour.contains(*berth) and not geography.land.on_land(*berth) for berth in harbour.berths
        )
        assert not harbour.contains(*harbour.gate) and not geography.land.on_land(*harbour.gate)
        # The gate is where the way out crosses the boundary: within a few hundred metres of it.
        assert harbour.geometry.exterior.distance(shapely.Point(harbour.gate)) < 0.005
        assert not geography.land.on_land(*harbour.offing, margin_m=0)
        assert not harbour.contains(*harbour.offing)


def test_routes_from_each_harbour_to_the_grounds_never_cross_land(geography: Geography) -> None:
    land = shapely.unary_union(geography.land.polygons)
    grounds = geography.grounds[:: max(1, len(geography.grounds) // 25)]
    for harbour in geography.harbours.values():
        for spot in grounds:
            route = geography.route(harbour.id, spot)
            assert route[0] == harbour.offing and route[-1] == spot
            assert not LineString(route).intersects(land), (harbour.id, spot)
        way_in = geography.route(harbour.id, harbour.berths[0])
        assert not LineString(way_in).intersects(land), harbour.id


def test_the_grounds_keep_clear_of_the_lane_the_protected_area_and_the_coast(geography: Geography) -> None:
    lane = geography.zone("coastal-shipping-lane")
    mpa = geography.zone("islets-mpa")
    area = geography.zone("demo-fishing-area")
    assert lane is not None and mpa is not None and area is not None
    for lon, lat in geography.grounds[::50]:
        assert shapely.intersects_xy(area.geometry, lon, lat)
        assert not shapely.intersects_xy(lane.geometry.buffer(0.008), lon, lat)
        assert not shapely.intersects_xy(mpa.geometry.buffer(0.008), lon, lat)
        assert not geography.land.on_land(lon, lat)


def test_a_route_into_a_protected_area_goes_round_to_its_water(geography: Geography) -> None:
    inside = (115.4389, 22.6651)
    route = geography.sea_route((115.46, 22.62), inside)
    assert route[-1] == inside
    land = shapely.unary_union(geography.land.polygons)
    assert not LineString(route).intersects(land)


def test_a_whole_day_of_the_fleet_stays_off_the_land(geography: Geography) -> None:
    fleet = Fleet(
        geography, FleetSpec(fishing=40, cargo=4), seed=11, start=datetime(2026, 11, 3, tzinfo=LOCAL), dt=10.0
    )
    for step in range(1, 24 * 36):  # every 100 s
        fleet.advance(step * 100.0)
        for vessel in fleet.vessels:
            # The coast is drawn to a few hundred metres; the rules call 200 m inland "on land".
            assert not geography.land.on_land(vessel.lon, vessel.lat, margin_m=100), (vessel.index, fleet.t)


def test_lane_circuits_keep_their_slots_apart(geography: Geography) -> None:
    (lane,) = geography.lanes
    assert len(lane.circuits) == len(lane.speeds_kn) == 3
    assert all(12.0 <= s <= 16.0 for s in lane.speeds_kn)
    south_sides = sorted(c[0][1] for c in lane.circuits)
    gaps = [haversine_m(115.5, a, 115.5, b) for a, b in itertools.pairwise(south_sides)]
    assert min(gaps) > 926  # more than the collision rule's half mile
