from pathlib import Path

import numpy as np
import orjson

from tracking.coast import Land

SHARED_COAST = Path(__file__).parents[2] / ".." / "shared" / "data" / "geo" / "shanwei-coast-gshhg.geojson"

# Points whose distance to the GSHHG shore was measured once (equirectangular metres around each point).
QUAY_IN_SHANWEI_PORT = (115.366, 22.7776)  # 25 m inside the drawn coast, in the harbour zone
HARBOUR_WATER = (115.37, 22.772)  # 88 m off the shore
TOWN_OF_SHANWEI = (115.355, 22.785)  # 1.35 km inland
HINTERLAND = (115.2, 22.9)  # 7 km inland
FISHING_GROUND = (115.5, 22.5)  # 17 km off the coast
OFF_THE_MAP = (113.0, 22.5)  # west of the data's box: unknown, so not land


def test_the_shipped_coast_is_the_reference_extract() -> None:
    land = Land.shanwei()
    assert len(land) == 93
    assert land is Land.shanwei()  # loaded once
    if SHARED_COAST.exists():
        shared = Land.from_geojson(orjson.loads(SHARED_COAST.read_bytes()))
        assert len(shared) == len(land)


def test_open_sea_and_harbour_water_are_not_land() -> None:
    land = Land.shanwei()
    for lon, lat in (FISHING_GROUND, HARBOUR_WATER):
        assert not land.on_land(lon, lat)
        assert not land.on_land(lon, lat, 200.0)


def test_a_vessel_alongside_the_quay_is_not_on_land_within_the_margin() -> None:
    land = Land.shanwei()
    assert land.on_land(*QUAY_IN_SHANWEI_PORT)  # inside the drawn polygon…
    assert not land.on_land(*QUAY_IN_SHANWEI_PORT, 200.0)  # …but within the coast's margin
    assert not land.on_land(*QUAY_IN_SHANWEI_PORT, 30.0)
    assert land.on_land(*QUAY_IN_SHANWEI_PORT, 20.0)


def test_inland_positions_are_on_land() -> None:
    land = Land.shanwei()
    assert land.on_land(*TOWN_OF_SHANWEI, 200.0)
    assert land.on_land(*HINTERLAND, 200.0)
    assert not land.on_land(*TOWN_OF_SHANWEI, 1500.0)


def test_outside_the_data_nothing_is_land() -> None:
    assert not Land.shanwei().on_land(*OFF_THE_MAP)
    assert not Land([]).on_land(*HINTERLAND)


def test_many_positions_at_once_agree_with_one_at_a_time() -> None:
    land = Land.shanwei()
    points = [QUAY_IN_SHANWEI_PORT, HARBOUR_WATER, TOWN_OF_SHANWEI, HINTERLAND, FISHING_GROUND, OFF_THE_MAP]
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    for margin in (0.0, 200.0):
        expected = [land.on_land(x, y, margin) for x, y in points]
        assert land.on_land_many(lon, lat, margin).tolist() == expected
