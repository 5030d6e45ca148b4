"""Land, to tell a position at sea from one on land.

The shipped coastline is GSHHG's full-resolution land for the Shanwei / Honghai Bay coast
(`data/shanwei-coast-gshhg.geojson`, 114.5–116.0°E, 22.2–23.2°N; see `data/README.md`). Outside that box
nothing is known to be land, so `on_land` answers False there rather than guess.

A position counts as on land only when it lies at least `margin_m` inside the land: coastlines are
drawn to a few hundred metres, AIS positions scatter by tens, and harbours, quays and river mouths are
*on* the coast, so a boat alongside a pier must not look like a boat in a field.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import shapely
from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from tracking.geo import metres_to_degrees_lat, metres_to_degrees_lon

COAST_FILE = "shanwei-coast-gshhg.geojson"

# A unit circle as a 32-gon: scaled to the margin around a point it is the "disc of sea-room" that must
# lie wholly inside land. Its edges fall at most 0.5 % inside the true circle, far below coastline error.
_UNIT_DISC = Point(0.0, 0.0).buffer(1.0, quad_segs=8)


class Land:
    """Land polygons (lon/lat) with a spatial index; each polygon is prepared for fast repeated tests."""

    def __init__(self, polygons: Iterable[BaseGeometry]) -> None:
        self.polygons = [p for p in polygons if not p.is_empty]
        for polygon in self.polygons:
            shapely.prepare(polygon)
        self._tree = STRtree(self.polygons)

    def __len__(self) -> int:
        return len(self.polygons)

    @classmethod
    def from_geojson(cls, collection: dict[str, Any]) -> Land:
        """Land from a GeoJSON FeatureCollection of Polygon/MultiPolygon features."""
        return cls(shape(feature["geometry"]) for feature in collection.get("features", []))

    @classmethod
    def shanwei(cls) -> Land:
        """The shipped Shanwei coast, loaded once per process (it is immutable)."""
        return _shanwei()

    def on_land(self, lon: float, lat: float, margin_m: float = 0.0) -> bool:
        """Whether (lon, lat) is on land and at least `margin_m` metres from the shore."""
        point = Point(lon, lat)
        hits = self._tree.query(point, predicate="within")
        if len(hits) == 0:
            return False
        if margin_m <= 0:
            return True
        disc = _disc(lon, lat, margin_m)
        return any(self.polygons[int(i)].contains(disc) for i in hits)

    def on_land_many(
        self, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], margin_m: float = 0.0
    ) -> npt.NDArray[np.bool_]:
        """`on_land` for arrays of positions: one index query for all, the margin test only for hits."""
        result = np.zeros(len(lon), dtype=np.bool_)
        points, polygons = self._tree.query(shapely.points(lon, lat), predicate="within")
        for point, polygon in zip(points.tolist(), polygons.tolist(), strict=True):
            if result[point]:
                continue
            x, y = float(lon[point]), float(lat[point])
            result[point] = margin_m <= 0 or bool(self.polygons[polygon].contains(_disc(x, y, margin_m)))
        return result


def _disc(lon: float, lat: float, radius_m: float) -> BaseGeometry:
    scale = np.array([metres_to_degrees_lon(radius_m, lat), metres_to_degrees_lat(radius_m)])
    offset = np.array([lon, lat])
    return shapely.transform(_UNIT_DISC, lambda xy: xy * scale + offset)


@functools.cache
def _shanwei() -> Land:
    data = orjson.loads((resources.files("tracking") / "data" / COAST_FILE).read_bytes())
    return Land.from_geojson(data)
