"""`collision_risk`: two moving vessels whose present courses bring them within `cpa_nm` of each other
within the next `tcpa_max_s`.

Each tick, in bulk over the fleet:

1. Candidates: boats (not buoys or beacons, see `geofence.is_boat`) at sea (harbour and shelter basins
   are close quarters by design: boats pass metres apart there at walking pace), moving at
   `min_speed_kn` or more and at most `MAX_PLAUSIBLE_KN` (faster is a glitch or spoofing, not a track
   to project), with a course, and a position younger than `max_age_s`.
2. Pre-filter: a grid of square cells at least as wide as the furthest two candidates can be apart
   and still meet: `cpa` + 2 × (fastest candidate) × (`tcpa_max_s` + `max_age_s`), the last term
   because positions are dead-reckoned up to `max_age_s`. Any such pair shares a cell or sits in
   neighbouring ones, so each cell is paired with itself and its four "forward" neighbours only:
   every pair is looked at once, never all n² of them.
3. Each cell's vessels are projected to local metres around the cell (`local_xy_m`: exact enough over
   a few cells), dead-reckoned from their own report time to the tick's `now`, and `cpa_tcpa` is
   computed on relative position and velocity (course over ground and speed, not heading).
4. At risk: CPA < `cpa_nm` and 0 < TCPA < `tcpa_max_s`. Severity high when TCPA < 3 min or CPA <
   0.1 nm (no setting for these yet), else medium. Two boats on parallel courses at the same speed
   (pair trawlers) keep their distance: TCPA is 0, no risk.

One condition per pair, key `collision_risk:pair:<low id>:<high id>`, re-sent each tick while the risk
holds (the engine writes changes at most every 10 s). Cleared when both vessels were evaluated and
the risk is gone (they passed, or turned away); if one of them can no longer be evaluated (stopped,
silent, in port) the alert stays until its predicted time of closest approach has passed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from alerts.model import AlertKind, Condition, Position, Severity
from alerts.rules.base import Rule, RuleContext, pair_key
from alerts.rules.geofence import in_port_mask, is_boat, vessel_label
from tracking.fleet import VesselState
from tracking.geo import KNOT_MS, METRES_PER_NM, local_xy_m, metres_to_degrees_lat, metres_to_degrees_lon

KIND: AlertKind = "collision_risk"
MAX_PLAUSIBLE_KN = 50.0
HIGH_TCPA_S = 180.0
HIGH_CPA_NM = 0.1
_STILL = 1e-9  # (m/s)²: relative speeds below this are "not closing at all"
# Each cell meets itself and these four neighbours; the other four meet it from their side.
_FORWARD = ((0, 0), (1, -1), (1, 0), (1, 1), (0, 1))

Floats = npt.NDArray[np.float64]


def velocity_ms(speed_kn: npt.ArrayLike, course_deg: npt.ArrayLike) -> tuple[Floats, Floats]:
    """(east, north) velocity in m/s from speed over ground and course over ground."""
    speed = np.asarray(speed_kn, dtype=np.float64) * KNOT_MS
    course = np.radians(np.asarray(course_deg, dtype=np.float64))
    return speed * np.sin(course), speed * np.cos(course)


def cpa_tcpa(
    dx_m: npt.ArrayLike, dy_m: npt.ArrayLike, dvx_ms: npt.ArrayLike, dvy_ms: npt.ArrayLike
) -> tuple[Floats, Floats]:
    """Closest point of approach (m) and the time until it (s, negative once it has passed), from B's
    position and velocity relative to A's. Vessels that keep their distance (no relative motion)
    have TCPA 0 and CPA their present distance."""
    dx, dy = np.asarray(dx_m, dtype=np.float64), np.asarray(dy_m, dtype=np.float64)
    dvx, dvy = np.asarray(dvx_ms, dtype=np.float64), np.asarray(dvy_ms, dtype=np.float64)
    closing = dvx * dvx + dvy * dvy
    moving = closing > _STILL
    tcpa = np.where(moving, -(dx * dvx + dy * dvy) / np.where(moving, closing, 1.0), 0.0)
    cpa = np.hypot(dx + dvx * tcpa, dy + dvy * tcpa)
    return cpa, tcpa


@dataclass(frozen=True)
class Encounter:
    a: int  # vessel ids, a < b
    b: int
    cpa_m: float
    tcpa_s: float


@dataclass
class _Risk:
    a: int
    b: int
    cpa_at: datetime


class CollisionRule(Rule):
    name = KIND

    def __init__(self) -> None:
        self._at_risk: dict[str, _Risk] = {}
        self.pairs_examined = 0  # in the last tick: what the grid let through (for tests and metrics)

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        ids, encounters = self.encounters(ctx)
        evaluated = set(ids.tolist())
        out: list[Condition] = []
        found: set[str] = set()
        for enc in encounters:
            key = pair_key(KIND, enc.a, enc.b)
            found.add(key)
            self._at_risk[key] = _Risk(enc.a, enc.b, ctx.now + timedelta(seconds=enc.tcpa_s))
            condition = _raised(ctx, enc)
            if condition is not None:
                out.append(condition)
        for key, risk in list(self._at_risk.items()):
            if key in found:
                continue
            both_seen = risk.a in evaluated and risk.b in evaluated
            if both_seen or ctx.now >= risk.cpa_at:
                del self._at_risk[key]
                out.append(Condition.cleared(KIND, key, observed_at=ctx.now))
        return out

    def encounters(self, ctx: RuleContext) -> tuple[npt.NDArray[np.int64], list[Encounter]]:
        """The candidate vessels' ids and every pair of them at risk now."""
        settings = ctx.settings.collision
        cols = ctx.fleet.arrays()
        rows = _candidates(ctx)
        ids = cols.vessel_ids[rows]
        self.pairs_examined = 0
        if len(rows) < 2:
            return ids, []
        lon, lat = cols.lon[rows], cols.lat[rows]
        age = ctx.now.timestamp() - cols.ts[rows]
        vx, vy = velocity_ms(cols.speed[rows], cols.course[rows])
        cpa_m = settings.cpa_nm * METRES_PER_NM
        fastest = float(np.max(cols.speed[rows])) * KNOT_MS
        reach = cpa_m + 2 * fastest * (settings.tcpa_max_s + settings.max_age_s)
        found: list[Encounter] = []
        for group, left, right in _neighbour_pairs(_cells(lon, lat, reach)):
            self.pairs_examined += len(left)
            # Local metres around the group's first vessel, dead-reckoned to now.
            x, y = local_xy_m(lon[group], lat[group], float(lon[group[0]]), float(lat[group[0]]))
            x, y = x + vx[group] * age[group], y + vy[group] * age[group]
            gvx, gvy = vx[group], vy[group]
            cpa, tcpa = cpa_tcpa(
                x[right] - x[left], y[right] - y[left], gvx[right] - gvx[left], gvy[right] - gvy[left]
            )
            risky = (cpa < cpa_m) & (tcpa > 0) & (tcpa < settings.tcpa_max_s)
            for i, j, c, t in zip(
                group[left[risky]].tolist(),
                group[right[risky]].tolist(),
                cpa[risky].tolist(),
                tcpa[risky].tolist(),
                strict=True,
            ):
                a, b = sorted((int(ids[i]), int(ids[j])))
                found.append(Encounter(a, b, c, t))
        return ids, found


def _candidates(ctx: RuleContext) -> npt.NDArray[np.int64]:
    """Rows of `fleet.arrays()` that can be projected: fresh, moving plausibly, at sea, boats."""
    settings = ctx.settings.collision
    cols = ctx.fleet.arrays()
    age = ctx.now.timestamp() - cols.ts
    moving = (cols.speed >= settings.min_speed_kn) & (cols.speed <= MAX_PLAUSIBLE_KN)
    moving &= np.isfinite(cols.course) & (age <= settings.max_age_s)
    rows = np.flatnonzero(moving)
    rows = rows[~in_port_mask(ctx.zones, cols.lon[rows], cols.lat[rows])]
    return np.array([r for r in rows.tolist() if _boat(ctx, int(cols.vessel_ids[r]))], dtype=np.int64)


def _cells(lon: Floats, lat: Floats, reach_m: float) -> dict[tuple[int, int], list[int]]:
    """Indices grouped by grid cell; cells are at least `reach_m` wide everywhere in the set (their
    width in longitude is taken at the set's highest latitude, where degrees are shortest)."""
    cell_lat = metres_to_degrees_lat(reach_m)
    cell_lon = metres_to_degrees_lon(reach_m, min(float(np.max(np.abs(lat))), 89.0))
    columns = np.floor(lon / cell_lon).astype(np.int64).tolist()
    lines = np.floor(lat / cell_lat).astype(np.int64).tolist()
    cells: dict[tuple[int, int], list[int]] = {}
    for k, cell in enumerate(zip(columns, lines, strict=True)):
        cells.setdefault(cell, []).append(k)
    return cells


def _neighbour_pairs(
    cells: dict[tuple[int, int], list[int]],
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """For each cell: the indices of it and its forward neighbours (`group`), and the pairs to test as
    positions in `group` (`left`, `right`): within the cell, and from the cell to its neighbours."""
    for (cx, cy), members in cells.items():
        near = [k for dx, dy in _FORWARD[1:] for k in cells.get((cx + dx, cy + dy), [])]
        group = np.array(members + near, dtype=np.int64)
        n, m = len(members), len(near)
        first, second = np.triu_indices(n, 1)
        left = np.concatenate([first, np.repeat(np.arange(n), m)]).astype(np.int64)
        right = np.concatenate([second, np.tile(np.arange(n, n + m), n)]).astype(np.int64)
        if len(left):
            yield group, left, right


def _boat(ctx: RuleContext, vessel_id: int) -> bool:
    state = ctx.fleet.get(vessel_id)
    return state is not None and is_boat(state)


def severity_of(cpa_m: float, tcpa_s: float) -> Severity:
    return "high" if tcpa_s < HIGH_TCPA_S or cpa_m < HIGH_CPA_NM * METRES_PER_NM else "medium"


def _raised(ctx: RuleContext, enc: Encounter) -> Condition | None:
    a, b = ctx.fleet.get(enc.a), ctx.fleet.get(enc.b)
    if a is None or b is None or a.lon is None or a.lat is None:
        return None
    return Condition(
        kind=KIND,
        key=pair_key(KIND, enc.a, enc.b),
        severity=severity_of(enc.cpa_m, enc.tcpa_s),
        title=f"Collision risk: {vessel_label(a)} and {vessel_label(b)}",
        vessel_id=enc.a,
        position=Position(a.lon, a.lat),
        details={
            "cpa_nm": round(enc.cpa_m / METRES_PER_NM, 3),
            "tcpa_s": round(enc.tcpa_s),
            "cpa_at": (ctx.now + timedelta(seconds=enc.tcpa_s)).replace(microsecond=0).isoformat(),
            "vessels": [_vessel(a), _vessel(b)],
        },
        drill=a.drill or b.drill,
        observed_at=ctx.now,
    )


def _vessel(state: VesselState) -> dict[str, object]:
    return {
        "id": state.vessel_id,
        "mmsi": state.mmsi,
        "name": state.name,
        "lon": state.lon,
        "lat": state.lat,
        "speed": state.speed,
        "course": state.course,
        "ts": None if state.ts is None else state.ts.isoformat(),
    }
