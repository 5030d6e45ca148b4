"""Geometry of CAP areas: the `<polygon>` and `<circle>` text forms, turned into shapely shapes in lon/lat.

CAP writes points as `lat,lon` (WGS 84) but shapely, GeoJSON and the rest of seawatch use (lon, lat), so
everything built here is (x=lon, y=lat). Parsing raises `ValueError` with a readable message; `alerts.cap`
turns that into its own `CapError`, so this module knows nothing about XML.

Known limit: shapes are not split at the antimeridian. A polygon or circle that crosses ±180° keeps
longitudes beyond that range, so a point test there must also try lon ± 360. Not a concern for the
coasts seawatch watches today, and splitting would change the vertex counts senders expect back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon

# Mean Earth radius (IUGG), km: a sphere is accurate to ~0.5 % for circles, far inside a warning's own
# precision, and needs no pyproj.
EARTH_RADIUS_KM = 6371.0088
# 64 sides: the inscribed polygon covers 99.8 % of the true circle's area.
CIRCLE_SEGMENTS = 64
# A bigger circle is not a local warning, and in lon/lat it would wrap round a pole or half the globe.
MAX_CIRCLE_RADIUS_KM = 2000.0

# A plain decimal: no exponent, nan or inf, which float() would otherwise accept.
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_POINT = re.compile(rf"({_NUMBER}),({_NUMBER})")
_RADIUS = re.compile(_NUMBER)


def parse_point(token: str) -> tuple[float, float]:
    """`lat,lon` → (lon, lat), range-checked."""
    match = _POINT.fullmatch(token)
    if match is None:
        raise ValueError(f"{excerpt(token)} is not a 'lat,lon' pair")
    lat, lon = float(match.group(1)), float(match.group(2))
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        raise ValueError(f"{excerpt(token)} is outside -90..90 latitude or -180..180 longitude")
    return lon, lat


def parse_polygon(text: str) -> Polygon:
    """CAP polygon text (space-separated `lat,lon` pairs) → a shapely Polygon in lon/lat.

    CAP requires a closed ring of at least four points; a ring that does not close is rejected rather
    than closed for the sender, since a missing last point more likely means a truncated message.
    """
    points = [parse_point(token) for token in text.split()]
    if len(points) < 4:
        raise ValueError(f"a polygon needs at least 4 points, got {len(points)}")
    if points[0] != points[-1]:
        raise ValueError("the polygon's ring does not close (first and last points differ)")
    polygon = Polygon(points)
    # A ring that encloses nothing (all points on a line) cannot contain a vessel: better refused than
    # stored as a warning area that silently matches no one.
    if not polygon.area > 0.0:
        raise ValueError("the polygon encloses no area")
    return polygon


def parse_circle(text: str) -> tuple[float, float, float]:
    """CAP circle text `lat,lon radius_km` → (lon, lat, radius_km)."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"{excerpt(text)} is not 'lat,lon radius'")
    lon, lat = parse_point(parts[0])
    if _RADIUS.fullmatch(parts[1]) is None:
        raise ValueError(f"{excerpt(parts[1])} is not a radius in km")
    radius_km = float(parts[1])
    if not 0.0 <= radius_km <= MAX_CIRCLE_RADIUS_KM:
        raise ValueError(f"circle radius {radius_km} km is outside 0..{MAX_CIRCLE_RADIUS_KM:g} km")
    pole_km = math.radians(90.0 - abs(lat)) * EARTH_RADIUS_KM
    if radius_km >= pole_km:
        raise ValueError("the circle covers a pole, which a lon/lat polygon cannot represent")
    return lon, lat, radius_km


def circle_polygon(lon: float, lat: float, radius_km: float) -> Polygon:
    """The circle as a polygon of points at `radius_km` great-circle distance from the centre.

    Walking the sphere (rather than buffering in degrees) keeps the shape round at any latitude: a
    degree of longitude shrinks with cos(lat), which a plain buffer would ignore. A zero radius (an
    epicentre, say) gives an empty polygon: a point has no inside for a vessel to be in.
    """
    if radius_km <= 0.0:
        return Polygon()
    phi1, lambda1 = math.radians(lat), math.radians(lon)
    delta = radius_km / EARTH_RADIUS_KM
    ring: list[tuple[float, float]] = []
    for step in range(CIRCLE_SEGMENTS):
        theta = 2.0 * math.pi * step / CIRCLE_SEGMENTS
        sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
        phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
        lambda2 = lambda1 + math.atan2(
            math.sin(theta) * math.sin(delta) * math.cos(phi1),
            math.cos(delta) - math.sin(phi1) * sin_phi2,
        )
        ring.append((math.degrees(lambda2), math.degrees(phi2)))
    ring.append(ring[0])
    return Polygon(ring)


def merge(polygons: Iterable[Polygon | MultiPolygon]) -> MultiPolygon:
    """One valid MultiPolygon covering all the given (multi)polygons; empty ones are skipped.

    Senders' polygons may overlap (two languages, adjacent zones) or self-intersect; a union of repaired
    parts gives point-in-area tests one well-defined answer.
    """
    parts = [shapely.make_valid(polygon) for polygon in polygons if not polygon.is_empty]
    if not parts:
        return MultiPolygon()
    # make_valid may leave lines or points beside the polygons (a collapsed spike); only areas matter.
    # Two rounds of get_parts flatten a collection holding multipolygons down to single polygons.
    union = shapely.unary_union(parts)
    flat = shapely.get_parts(shapely.get_parts(union))
    return MultiPolygon([geom for geom in flat if isinstance(geom, Polygon) and not geom.is_empty])


def geojson(multipolygon: MultiPolygon) -> dict[str, Any]:
    """A GeoJSON MultiPolygon with plain lists, ready for a jsonb column or an HTTP response."""
    coordinates = [
        [
            [[x, y] for x, y in ring.coords]
            for ring in (polygon.exterior, *polygon.interiors)  # exterior first, as GeoJSON wants
        ]
        for polygon in multipolygon.geoms
    ]
    return {"type": "MultiPolygon", "coordinates": coordinates}


def excerpt(text: str) -> str:
    """A bit of an offending value for an error message, never a whole (possibly huge) one."""
    return repr(text if len(text) <= 40 else text[:40] + "…")
