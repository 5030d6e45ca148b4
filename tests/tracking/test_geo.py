import numpy as np
import pytest

from tracking.geo import (
    haversine_m,
    local_xy_m,
    metres_to_degrees_lat,
    metres_to_degrees_lon,
    point_distance_m,
)


def test_one_minute_of_latitude_is_about_a_nautical_mile() -> None:
    assert haversine_m(115.0, 22.0, 115.0, 22.0 + 1 / 60) == pytest.approx(1853.2, rel=2e-3)


def test_known_distance_shanwei_to_hong_kong() -> None:
    # Shanwei port (115.37 E, 22.78 N) to Victoria Harbour (114.17 E, 22.29 N): about 134 km.
    assert haversine_m(115.37, 22.78, 114.17, 22.29) == pytest.approx(134_000, rel=0.01)


def test_arrays_and_scalars_agree() -> None:
    lon = np.array([115.0, 115.1])
    lat = np.array([22.0, 22.1])
    many = haversine_m(lon, lat, np.array([115.2, 115.3]), np.array([22.2, 22.3]))
    assert isinstance(many, np.ndarray)
    assert many[1] == pytest.approx(haversine_m(115.1, 22.1, 115.3, 22.3))


def test_local_projection_matches_haversine_nearby() -> None:
    x, y = local_xy_m(115.40, 22.75, 115.35, 22.70)
    assert (x**2 + y**2) ** 0.5 == pytest.approx(haversine_m(115.35, 22.70, 115.40, 22.75), rel=1e-3)


def test_degree_conversions_invert() -> None:
    assert haversine_m(115.0, 22.0, 115.0, 22.0 + metres_to_degrees_lat(500)) == pytest.approx(500, rel=1e-6)
    assert haversine_m(115.0, 22.0, 115.0 + metres_to_degrees_lon(500, 22.0), 22.0) == pytest.approx(
        500, rel=1e-4
    )


def test_the_distance_of_two_plain_points_is_the_haversine_of_the_arrays() -> None:
    rng = np.random.default_rng(3)
    lons = rng.uniform(-180, 180, (2, 500))
    lats = rng.uniform(-90, 90, (2, 500))
    expected = haversine_m(lons[0], lats[0], lons[1], lats[1])
    points = zip(lons[0].tolist(), lats[0].tolist(), lons[1].tolist(), lats[1].tolist(), strict=True)
    got = [point_distance_m(*point) for point in points]
    assert got == pytest.approx(expected.tolist(), rel=1e-9, abs=1e-6)
    assert point_distance_m(115.37, 22.78, 115.37, 22.78) == 0.0
    assert point_distance_m(0.0, 0.0, 180.0, 0.0) == pytest.approx(np.pi * 6_371_008.8)
