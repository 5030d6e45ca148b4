"""Zones (harbours, shelters, closed areas, fishing areas, lanes) stored as GeoJSON features.

Geometry is checked with shapely before it is stored: an invalid polygon would make every later
point-in-zone test wrong without anyone noticing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any, Literal, get_args

import numpy as np
import orjson
import shapely
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from tracking.geo import local_xy_m, metres_to_degrees_lat, metres_to_degrees_lon

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
#: Every zone write NOTIFYs this channel in its transaction; `tracking.zone_watch` listens.
ZONES_CHANNEL = "seawatch_zones"


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
    await notify_zones_changed(conn, str(row[0]))
    return str(row[0])


async def remove_zone(conn: AsyncConnection[TupleRow], zone_id: str) -> bool:
    """Delete a zone; False if there was none."""
    cur = await conn.execute("DELETE FROM zones WHERE id = %s RETURNING id", (zone_id,))
    if await cur.fetchone() is None:
        return False
    await notify_zones_changed(conn, zone_id)
    return True


async def notify_zones_changed(conn: AsyncConnection[TupleRow], zone_id: str) -> None:
    # Delivered at commit, so listeners never load a zone that was rolled back.
    await conn.execute("SELECT pg_notify(%s, %s)", (ZONES_CHANNEL, zone_id))


def demo_zone_features() -> list[dict[str, Any]]:
    """The Shanwei demo zones shipped with seawatch (approximate; not official boundaries)."""
    data = orjson.loads((resources.files("tracking") / "data" / DEMO_ZONES).read_bytes())
    return list(data["features"])


async def load_demo_zones(conn: AsyncConnection[TupleRow]) -> list[str]:
    async with conn.transaction():
        return [await upsert_zone(conn, feature) for feature in demo_zone_features()]


# --- the in-memory index the rules query ---------------------------------------------------------------

ANSWERS_KEPT = 4096
# Every distance a rule asks about (hysteresis, departure buffers) is well within this.
NEAR_M = 2000.0


@dataclass(frozen=True, eq=False)
class Zone:
    id: str
    name: str
    kind: str
    geometry: BaseGeometry  # lon/lat
    properties: dict[str, Any] = field(default_factory=dict)

    def signed_distance_m(self, lon: float, lat: float) -> float:
        """Metres from the zone's boundary: positive inside, negative outside."""
        lon0, lat0, local, boundary = self._frame
        x, y = local_xy_m(lon, lat, lon0, lat0)
        point = Point(x, y)
        distance = float(boundary.distance(point))
        return distance if local.contains(point) else -distance

    @cached_property
    def _frame(self) -> tuple[float, float, BaseGeometry, BaseGeometry]:
        # The zone projected once into metres around its own centre: the scale error of one flat frame
        # across a coastal zone (tens of km) is a few parts in a thousand, centimetres near the boundary
        # where distances decide anything — and it saves projecting the polygon for every position.
        centre = self.geometry.centroid
        lon0, lat0 = float(centre.x), float(centre.y)
        local = shapely.transform(
            self.geometry, lambda xy: np.column_stack(local_xy_m(xy[:, 0], xy[:, 1], lon0, lat0))
        )
        shapely.prepare(local)
        return lon0, lat0, local, local.boundary


def zone_from_feature(feature: dict[str, Any], zone_id: str | None = None) -> Zone:
    props = check_feature(feature)
    identifier = zone_id or props.pop("id", None) or feature.get("id")
    if not identifier:
        raise ZoneError("a zone needs an id")
    name, kind = props.pop("name"), props.pop("kind")
    return Zone(
        id=str(identifier),
        name=str(name),
        kind=str(kind),
        geometry=shape(feature["geometry"]),
        properties=props,
    )


class ZoneIndex:
    """Zones with a spatial index: which zones hold a point, which lie within a distance of it."""

    def __init__(self, zones: Iterable[Zone] = ()) -> None:
        self.zones = list(zones)
        self._by_id = {z.id: z for z in self.zones}
        self._tree = STRtree([z.geometry for z in self.zones])
        # Several rules ask about the same position for each record; the zones never change in an index
        # (a zone edit builds a new one), so answers are kept for the most recent positions.
        self._answers: OrderedDict[tuple[float, float], tuple[tuple[Zone, float], ...]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.zones)

    def get(self, zone_id: str) -> Zone | None:
        return self._by_id.get(zone_id)

    def of_kind(self, *kinds: str) -> list[Zone]:
        return [z for z in self.zones if z.kind in kinds]

    def containing(self, lon: float, lat: float, *kinds: str) -> list[Zone]:
        return [z for z, distance in self._near(lon, lat) if distance >= 0 and (not kinds or z.kind in kinds)]

    def within_m(self, lon: float, lat: float, metres: float, *kinds: str) -> list[Zone]:
        """Zones containing the point or closer than `metres` to it."""
        if metres > NEAR_M:
            near = [(z, z.signed_distance_m(lon, lat)) for z in self._query(lon, lat, metres)]
        else:
            near = list(self._near(lon, lat))
        return [z for z, distance in near if distance > -metres and (not kinds or z.kind in kinds)]

    def _query(self, lon: float, lat: float, metres: float) -> list[Zone]:
        reach = max(metres_to_degrees_lat(metres), metres_to_degrees_lon(metres, lat))
        hits = self._tree.query(Point(lon, lat), predicate="dwithin", distance=reach)
        return [self.zones[int(i)] for i in hits]

    def _near(self, lon: float, lat: float) -> tuple[tuple[Zone, float], ...]:
        """The zones within NEAR_M of the point with their signed distances: computed once per position,
        it answers every rule's question about that position."""
        key = (lon, lat)
        answer = self._answers.get(key)
        if answer is None:
            answer = tuple((z, z.signed_distance_m(lon, lat)) for z in self._query(lon, lat, NEAR_M))
            self._answers[key] = answer
            if len(self._answers) > ANSWERS_KEPT:
                self._answers.popitem(last=False)
        return answer


async def load_zone_index(conn: AsyncConnection[TupleRow]) -> ZoneIndex:
    cur = await conn.execute("SELECT id, name, kind, geometry, properties FROM zones ORDER BY id")
    zones = [
        Zone(id=str(r[0]), name=str(r[1]), kind=str(r[2]), geometry=shape(r[3]), properties=dict(r[4] or {}))
        for r in await cur.fetchall()
    ]
    return ZoneIndex(zones)
