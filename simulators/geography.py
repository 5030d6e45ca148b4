"""Where simulated vessels can be: harbours, fishing grounds and the shipping lane from the shipped zones,
and routes between them that stay at sea.

Everything comes from the same data the product uses: the zones (`tracking/data/shanwei-demo-zones
.geojson`, or any list of zone features) and the coast (`tracking.coast`). A grid of cells over the
area marks which are navigable: clear of land by `SHORE_CLEARANCE_M` (harbour basins only by
`BASIN_CLEARANCE_M`, since boats lie alongside quays there), and outside prohibited and protected
zones, which traffic avoids unless a scenario sends a boat in. Routes are shortest paths on that grid
from each harbour's offing (Dijkstra once per harbour, then any destination is a walk back along the
predecessors), shortened by dropping every waypoint whose neighbours can see each other across water.

Per harbour: berths (navigable cells inside the basin), a gate (where the route to sea crosses the
harbour's boundary: the RFID reader stands there) and an offing (the first open water outside).
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from tracking.coast import Land
from tracking.geo import metres_to_degrees_lat, metres_to_degrees_lon, point_distance_m
from tracking.zones import Zone, demo_zone_features, zone_from_feature

LonLat = tuple[float, float]

CELL_DEG = 0.0025  # about 250 m: narrow enough for the Shanwei lagoon mouth
SHORE_CLEARANCE_M = 150.0
BASIN_CLEARANCE_M = 30.0
AVOID_KINDS = ("prohibited", "protected")
AVOID_CLEARANCE_M = 300.0
HOME_KINDS = ("harbour",)
OFFING_M = 1500.0  # how far outside its basin a harbour's offing lies
GROUND_CLEARANCE_M = 1000.0  # fishing grounds keep this far from land and avoided zones…
# …and this far from a shipping lane: a trawl box reaches about 900 m from its spot, and ships in the
# lane must pass it by more than the collision rule's half mile.
LANE_CLEARANCE_M = 2500.0
MARGIN_DEG = 0.05  # the grid reaches this far beyond the zones


@dataclass(frozen=True)
class Harbour:
    id: str
    name: str
    geometry: BaseGeometry
    berths: tuple[LonLat, ...]
    gate: LonLat
    offing: LonLat

    def contains(self, lon: float, lat: float) -> bool:
        return bool(shapely.intersects_xy(self.geometry, lon, lat))


@dataclass(frozen=True)
class Lane:
    """A shipping lane as circuits, one per speed slot: eastbound on the south side (keep to starboard),
    westbound on the north side, joined beyond each end. The circuits nest without crossing, slots are
    more than half a nautical mile apart, and ships of one slot share its speed, so lane traffic never
    closes on itself (overtaking or meeting head-on would be collision risks)."""

    id: str
    circuits: tuple[tuple[LonLat, ...], ...]
    speeds_kn: tuple[float, ...]


@dataclass
class Grid:
    lon0: float
    lat0: float
    rows: int
    cols: int
    navigable: npt.NDArray[np.bool_]

    def cell(self, lon: float, lat: float) -> tuple[int, int]:
        row = min(max(int((lat - self.lat0) / CELL_DEG), 0), self.rows - 1)
        col = min(max(int((lon - self.lon0) / CELL_DEG), 0), self.cols - 1)
        return row, col

    def centre(self, row: int, col: int) -> LonLat:
        return self.lon0 + (col + 0.5) * CELL_DEG, self.lat0 + (row + 0.5) * CELL_DEG

    def nearest_navigable(self, lon: float, lat: float) -> tuple[int, int]:
        row, col = self.cell(lon, lat)
        if self.navigable[row, col]:
            return row, col
        rows, cols = np.nonzero(self.navigable)
        best = int(np.argmin((rows - row) ** 2 + (cols - col) ** 2))
        return int(rows[best]), int(cols[best])


@dataclass
class Geography:
    zones: list[Zone]
    grid: Grid
    obstacles: BaseGeometry  # land with its clearance, and the zones traffic avoids
    harbours: dict[str, Harbour]
    grounds: list[LonLat]  # centres of cells where fishing is allowed
    lanes: list[Lane]
    land: Land
    _fields: dict[str, npt.NDArray[np.int32]] = field(default_factory=dict)

    @classmethod
    def from_zones(cls, features: Sequence[dict[str, Any]], land: Land) -> Geography:
        return _build([zone_from_feature(dict(f)) for f in features], land)

    @classmethod
    def shanwei(cls) -> Geography:
        """The shipped Shanwei zones and coast; built once per process (it takes about a second)."""
        return _shanwei()

    def zone(self, zone_id: str) -> Zone | None:
        return next((z for z in self.zones if z.id == zone_id), None)

    def clear(self, a: LonLat, b: LonLat) -> bool:
        """Whether a straight run from a to b stays clear of land and avoided zones."""
        return not self.obstacles.intersects(LineString([a, b]))

    def route(self, harbour_id: str, destination: LonLat) -> list[LonLat]:
        """Waypoints from the harbour's offing to `destination` over water (both ends included)."""
        return self._walk(self._field(harbour_id), self.harbours[harbour_id].offing, destination)

    def _walk(self, preds: npt.NDArray[np.int32], origin: LonLat, destination: LonLat) -> list[LonLat]:
        target = self.grid.nearest_navigable(*destination)
        cells = [target]
        cols = self.grid.cols
        index = target[0] * cols + target[1]
        while preds[index] >= 0:
            index = int(preds[index])
            cells.append(divmod(index, cols))
        path = [origin, *(self.grid.centre(r, c) for r, c in reversed(cells[:-1])), destination]
        return self._shorten(path)

    def sea_route(self, start: LonLat, destination: LonLat) -> list[LonLat]:
        """Waypoints from any point at sea to another: straight when clear, else by the grid."""
        if self.clear(start, destination):
            return [start, destination]
        key = f"from:{self.grid.nearest_navigable(*start)}"
        if key not in self._fields:
            self._fields[key] = _dijkstra(self.grid, self.grid.nearest_navigable(*start))
        return self._walk(self._fields[key], start, destination)

    def _field(self, harbour_id: str) -> npt.NDArray[np.int32]:
        if harbour_id not in self._fields:
            start = self.grid.nearest_navigable(*self.harbours[harbour_id].offing)
            self._fields[harbour_id] = _dijkstra(self.grid, start)
        return self._fields[harbour_id]

    def _shorten(self, path: list[LonLat]) -> list[LonLat]:
        out = [path[0]]
        i = 0
        while i < len(path) - 1:
            j = len(path) - 1
            while j > i + 1 and not self.clear(path[i], path[j]):
                j -= 1
            out.append(path[j])
            i = j
        return out

    def sea_bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the fishing grounds and lanes: the waters the fleet works."""
        working = [z.geometry for z in self.zones if z.kind in ("fishing_area", "shipping_lane")]
        return tuple(unary_union(working or [z.geometry for z in self.zones]).bounds)

    def at_sea(self, lon: float, lat: float) -> bool:
        return not self.land.on_land(lon, lat)

    def in_harbour(self, lon: float, lat: float) -> Harbour | None:
        return next((h for h in self.harbours.values() if h.contains(lon, lat)), None)


def distance_m(a: LonLat, b: LonLat) -> float:
    """Great-circle metres between two points (plain floats: the fleet measures millions of pairs)."""
    return point_distance_m(a[0], a[1], b[0], b[1])


def _buffer_m(geometry: BaseGeometry, metres: float, lat: float) -> BaseGeometry:
    # Degrees differ per axis at this latitude; the larger keeps the clearance at least `metres`.
    return geometry.buffer(max(metres_to_degrees_lat(metres), metres_to_degrees_lon(metres, lat)))


def _build(zones: list[Zone], land: Land) -> Geography:
    bounds = np.array([z.geometry.bounds for z in zones if z.kind != "moratorium"])
    lon0 = float(bounds[:, 0].min()) - MARGIN_DEG
    lat0 = float(bounds[:, 1].min()) - MARGIN_DEG
    lon1 = float(bounds[:, 2].max()) + MARGIN_DEG
    lat1 = float(bounds[:, 3].max()) + MARGIN_DEG
    mid_lat = (lat0 + lat1) / 2
    cols, rows = math.ceil((lon1 - lon0) / CELL_DEG), math.ceil((lat1 - lat0) / CELL_DEG)
    lons = lon0 + (np.arange(cols) + 0.5) * CELL_DEG
    lats = lat0 + (np.arange(rows) + 0.5) * CELL_DEG
    xs, ys = (a.ravel() for a in np.meshgrid(lons, lats))

    coast = unary_union(land.polygons) if len(land) else shapely.Polygon()
    avoided = unary_union([z.geometry for z in zones if z.kind in AVOID_KINDS])
    shore = _buffer_m(coast, SHORE_CLEARANCE_M, mid_lat)
    obstacles = unary_union([shore, _buffer_m(avoided, AVOID_CLEARANCE_M, mid_lat)])
    basin_obstacles = _buffer_m(coast, BASIN_CLEARANCE_M, mid_lat)
    shapely.prepare(obstacles)
    shapely.prepare(basin_obstacles)
    homes = [z for z in zones if z.kind in HOME_KINDS]
    near_basin = unary_union([_buffer_m(z.geometry, 2 * OFFING_M, mid_lat) for z in homes])
    blocked = np.where(
        shapely.intersects_xy(near_basin, xs, ys),
        shapely.intersects_xy(basin_obstacles, xs, ys) | shapely.intersects_xy(avoided, xs, ys),
        shapely.intersects_xy(obstacles, xs, ys),
    )
    grid = Grid(lon0, lat0, rows, cols, ~blocked.reshape(rows, cols))
    # Routes near harbours may pass closer to the shore than in open water, so straight-line checks
    # use the basin clearance there: the open-water clearance would make every basin look enclosed.
    route_obstacles = unary_union(
        [obstacles.difference(near_basin), basin_obstacles.intersection(near_basin), avoided]
    )
    shapely.prepare(route_obstacles)

    fishing = [z.geometry for z in zones if z.kind == "fishing_area"] or [z.geometry for z in zones]
    far = grid.nearest_navigable(*unary_union(fishing).representative_point().coords[0])
    open_sea = _dijkstra(grid, far)
    harbours = {z.id: _harbour(z, grid, xs, ys, mid_lat, open_sea) for z in homes}
    lanes = [_lane(z) for z in zones if z.kind == "shipping_lane"]
    keep_off = unary_union(
        [
            _buffer_m(
                unary_union([z.geometry for z in zones if z.kind == "shipping_lane"]),
                LANE_CLEARANCE_M,
                mid_lat,
            ),
            _buffer_m(coast, GROUND_CLEARANCE_M, mid_lat),
            _buffer_m(avoided, GROUND_CLEARANCE_M, mid_lat),
        ]
    )
    areas = unary_union([z.geometry for z in zones if z.kind == "fishing_area"])
    ok = shapely.intersects_xy(areas, xs, ys) & ~shapely.intersects_xy(keep_off, xs, ys)
    grounds = [(float(x), float(y)) for x, y in zip(xs[ok], ys[ok], strict=True)]
    return Geography(zones, grid, route_obstacles, harbours, grounds, lanes, land)


def _harbour(
    zone: Zone,
    grid: Grid,
    xs: npt.NDArray[np.float64],
    ys: npt.NDArray[np.float64],
    mid_lat: float,
    open_sea: npt.NDArray[np.int32],
) -> Harbour:
    """Berths, gate and offing of one harbour. `open_sea` is the predecessor field towards open water:
    the way out is the way to open water, not merely the nearest water outside (which may be a lagoon)."""
    nav = grid.navigable.ravel()
    inside = shapely.intersects_xy(zone.geometry, xs, ys) & nav
    if not inside.any():
        raise ValueError(f"harbour {zone.id} has no navigable water on the grid")
    berths = tuple((float(x), float(y)) for x, y in zip(xs[inside], ys[inside], strict=True))
    outside_far = ~shapely.intersects_xy(_buffer_m(zone.geometry, OFFING_M, mid_lat), xs, ys)
    index = int(np.flatnonzero(inside)[len(berths) // 2])
    gate: LonLat | None = None
    while open_sea[index] >= 0 and not outside_far[index]:
        if (
            gate is None
            and not inside[index]
            and not zone.geometry.intersects(Point(grid.centre(*divmod(index, grid.cols))))
        ):
            gate = grid.centre(*divmod(index, grid.cols))
        index = int(open_sea[index])
    offing = grid.centre(*divmod(index, grid.cols))
    return Harbour(zone.id, zone.name, zone.geometry, berths, gate or offing, offing)


LANE_SLOTS = (0.2, 0.58, 0.95)  # distance from the centre line, as a fraction of the half-width
LANE_SPEEDS_KN = (12.3, 14.0, 15.7)
LANE_TURN_M = 2000.0  # each slot turns this much further beyond the lane's ends than the one inside it


def _lane(zone: Zone) -> Lane:
    min_lon, min_lat, max_lon, max_lat = zone.geometry.bounds
    centre, half = (min_lat + max_lat) / 2, (max_lat - min_lat) / 2
    circuits = []
    for k, slot in enumerate(LANE_SLOTS):
        south, north = centre - half * slot, centre + half * slot
        beyond = metres_to_degrees_lon(LANE_TURN_M * (k + 1), centre)
        east, west = max_lon + beyond, min_lon - beyond
        circuits.append(
            (
                (min_lon, south),
                (max_lon, south),
                (east, south),
                (east, north),
                (max_lon, north),
                (min_lon, north),
                (west, north),
                (west, south),
            )
        )
    return Lane(zone.id, tuple(circuits), LANE_SPEEDS_KN)


_STEPS = [(dr, dc, math.hypot(dr, dc)) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]


def _dijkstra(grid: Grid, start: tuple[int, int]) -> npt.NDArray[np.int32]:
    """Predecessor (flat index) of every navigable cell on its shortest way to `start`; -1 at the start
    and for unreachable cells."""
    return _run_dijkstra(grid, start)[0]


def _run_dijkstra(grid: Grid, start: tuple[int, int]) -> tuple[npt.NDArray[np.int32], list[int]]:
    """Predecessors, and the cells in the order they were settled (nearest first)."""
    rows, cols = grid.rows, grid.cols
    nav = grid.navigable
    # Longitude degrees are shorter than latitude degrees here; weigh steps by true length.
    aspect = math.cos(math.radians(grid.lat0 + rows * CELL_DEG / 2))
    steps = [(dr, dc, math.hypot(dr, dc * aspect)) for dr, dc, _ in _STEPS]
    dist = np.full(rows * cols, np.inf)
    preds = np.full(rows * cols, -1, dtype=np.int32)
    first = start[0] * cols + start[1]
    dist[first] = 0.0
    heap = [(0.0, first)]
    order: list[int] = []
    done = np.zeros(rows * cols, dtype=bool)
    while heap:
        d, index = heapq.heappop(heap)
        if done[index]:
            continue
        done[index] = True
        order.append(index)
        row, col = divmod(index, cols)
        for dr, dc, length in steps:
            r, c = row + dr, col + dc
            if 0 <= r < rows and 0 <= c < cols and nav[r, c]:
                other = r * cols + c
                nd = d + length
                if nd < dist[other]:
                    dist[other] = nd
                    preds[other] = index
                    heapq.heappush(heap, (nd, other))
    return preds, order


@functools.cache
def _shanwei() -> Geography:
    return Geography.from_zones(demo_zone_features(), Land.shanwei())
