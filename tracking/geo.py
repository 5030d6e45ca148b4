"""Distances and projections at sea-level scale, in metres and nautical miles.

Haversine on a sphere of the mean Earth radius: within 0.5 % of the ellipsoid everywhere, within 0.2 %
at Shanwei's latitude, which is finer than AIS positions over the distances rules care about.
Functions take scalars or numpy arrays alike.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_NM = 1852.0
KNOT_MS = METRES_PER_NM / 3600.0

Coord = TypeVar("Coord", float, npt.NDArray[np.float64])


def haversine_m(lon1: Coord, lat1: Coord, lon2: Coord, lat2: Coord) -> Coord:
    """Great-circle distance in metres."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result if isinstance(result, np.ndarray) else float(result)  # type: ignore[return-value]


def point_distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """`haversine_m` for two points given as plain floats, with `math`: numpy costs microseconds a call
    on scalars, and the ingest path measures one distance per position."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2) - math.radians(lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


def local_xy_m(lon: Coord, lat: Coord, lon0: float, lat0: float) -> tuple[Coord, Coord]:
    """East and north metres from (lon0, lat0), an equirectangular projection: exact enough within a few
    tens of kilometres, which is the range of collision, encounter and geofence work."""
    x = np.radians(lon - lon0) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    y = np.radians(lat - lat0) * EARTH_RADIUS_M
    if isinstance(x, np.ndarray):
        return x, y  # type: ignore[return-value]
    return float(x), float(y)  # type: ignore[return-value]


def metres_to_degrees_lat(metres: float) -> float:
    return float(np.degrees(metres / EARTH_RADIUS_M))


def metres_to_degrees_lon(metres: float, lat: float) -> float:
    return float(np.degrees(metres / (EARTH_RADIUS_M * np.cos(np.radians(lat)))))
