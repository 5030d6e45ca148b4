"""Zones (harbours, shelters, closed areas, fishing areas, lanes) stored as GeoJSON features.

Geometry is checked with shapely before it is stored: an invalid polygon would make every later
point-in-zone test wrong without anyone noticing.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal, get_args

import orjson
import shapely
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from shapely.geometry import shape

ZoneKind = Literal[
    "prohibited",
    "restricted",
    "fishing_area",
    "harbour",
    "shelter",
    "shipping_lane",
    "protected",
    "moratorium",
    "anchorage",
]

ZONE_KINDS: tuple[str, ...] = get_args(ZoneKind)
DEMO_ZONES = "shanwei-demo-zones.geojson"
MAX_VERTICES = 100_000


class ZoneError(ValueError):
    """A feature that cannot be stored as a zone."""


def check_feature(feature: dict[str, Any]) -> dict[str, Any]:
    """Validate one GeoJSON feature as a zone; returns its properties with `kind` and `name` checked."""
    if feature.get("type") != "Feature":
        raise ZoneError("a zone must be a GeoJSON Feature")
    props = dict(feature.get("properties") or {})
    kind = props.get("kind")
    if kind not in ZONE_KINDS:
        raise ZoneError(f"zone kind {kind!r} is not one of: {', '.join(ZONE_KINDS)}")
    if not str(props.get("name") or "").strip():
        raise ZoneError("a zone needs a name")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise ZoneError("a zone's geometry must be a Polygon or MultiPolygon")
    try:
        geom = shape(geometry)
    except Exception as exc:
        raise ZoneError(f"zone geometry cannot be read: {exc}") from exc
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise ZoneError(f"a zone may have at most {MAX_VERTICES} vertices")
    if not geom.is_valid:
        raise ZoneError("zone geometry is not a valid polygon (self-intersecting or unclosed)")
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if min_lon < -180 or max_lon > 180 or min_lat < -90 or max_lat > 90:
        raise ZoneError("zone coordinates must be longitude, latitude in degrees")
    return props


async def upsert_zone(conn: AsyncConnection[TupleRow], feature: dict[str, Any]) -> str:
    """Store a feature as a zone (replacing one with the same `properties.id`); returns the zone id."""
    props = check_feature(feature)
    zone_id = props.pop("id", None) or feature.get("id")
    name, kind = props.pop("name"), props.pop("kind")
    cur = await conn.execute(
        "INSERT INTO zones (id, name, kind, geometry, properties)"
        " VALUES (COALESCE(%s, gen_random_uuid()::text), %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
        " geometry = EXCLUDED.geometry, properties = EXCLUDED.properties, updated_at = now()"
        " RETURNING id",
        (zone_id, name, kind, Jsonb(feature["geometry"]), Jsonb(props)),
    )
    row = await cur.fetchone()
    assert row is not None
    return str(row[0])


def demo_zone_features() -> list[dict[str, Any]]:
    """The Shanwei demo zones shipped with seawatch (approximate; not official boundaries)."""
    data = orjson.loads((resources.files("tracking") / "data" / DEMO_ZONES).read_bytes())
    return list(data["features"])


async def load_demo_zones(conn: AsyncConnection[TupleRow]) -> list[str]:
    async with conn.transaction():
        return [await upsert_zone(conn, feature) for feature in demo_zone_features()]
