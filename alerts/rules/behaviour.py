"""Behaviour at sea: not under command, anchor drag, encounters and loitering.

"At sea" means outside every harbour, typhoon shelter and anchorage zone (`SAFE_WATERS`). Only boats
count: buoys and beacons (AtoN, which never become vessel positions anyway), rescue devices, aircraft
and shore stations are left out by their MMSI (`is_vessel_mmsi`), so a drifting buoy is never a boat
drifting. Record rules look only at positions that moved the live picture (`current.ts` is the record's
time): a late batch upload says nothing about now. Durations are measured in report time.

An active condition is sent when it starts and then at most every `REFRESH_S` with a fresh position
(the engine keeps one alert per key either way); a cleared one once, when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from alerts.model import AlertKind, Condition, Position, Severity
from alerts.rules.base import Record, Rule, RuleContext, pair_key, vessel_key
from alerts.rules.spoofing import is_vessel_mmsi
from tracking.fleet import VesselState
from tracking.geo import haversine_m, metres_to_degrees_lat, metres_to_degrees_lon
from tracking.zones import ZoneIndex

SAFE_WATERS = ("harbour", "shelter", "anchorage")
REFRESH_S = 60.0
NOT_UNDER_COMMAND = 2
AT_ANCHOR, MOORED, AGROUND, FISHING = 1, 5, 6, 7
# No settings for these yet:
DRIFT_MIN_ANGLE_DEG = 45.0  # course this far off heading: the sea, not the screw, is moving her
DRIFT_MIN_KN = 0.2  # slower than this, course over ground is GNSS noise and says nothing
ANCHOR_CONFIRM_REPORTS = 2  # one position outside the swinging circle may be a GNSS jump
ANCHOR_RESET_S = 1800.0  # a dragged anchor that holds again this long, within the radius, is re-set
ENCOUNTER_SCAN_S = 30.0  # encounters take hours: scanning the fleet every 30 s is plenty


class _Open:
    """The keys a rule has raised and not cleared, and when each was last sent."""

    def __init__(self, kind: AlertKind) -> None:
        self.kind = kind
        self.sent: dict[str, datetime] = {}

    def send(self, condition: Condition, now: datetime, *, changed: bool = False) -> list[Condition]:
        last = self.sent.get(condition.key)
        if not changed and last is not None and (now - last).total_seconds() < REFRESH_S:
            return []
        self.sent[condition.key] = now
        return [condition]

    def clear(self, key: str, now: datetime) -> list[Condition]:
        if self.sent.pop(key, None) is None:
            return []
        return [Condition.cleared(self.kind, key, observed_at=now)]


def fresh_position(current: VesselState, record: Record) -> tuple[float, float, datetime] | None:
    """(lon, lat, ts) of a position record that is now the vessel's latest, else None."""
    ts, lon, lat = record.get("ts"), record.get("lon"), record.get("lat")
    if record.get("kind") != "position" or lon is None or lat is None or not isinstance(ts, datetime):
        return None
    if record.get("fix") is False:  # a terminal without GNSS fix: 0, 0 or a stale position
        return None
    if current.ts != ts or not is_vessel_mmsi(current.mmsi):
        return None
    return float(lon), float(lat), ts


def in_safe_waters(zones: ZoneIndex, lon: float, lat: float) -> bool:
    return bool(zones.containing(lon, lat, *SAFE_WATERS))


def _minutes(seconds: float) -> str:
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _condition(
    kind: AlertKind,
    key: str,
    severity: Severity,
    title: str,
    state: VesselState,
    lon: float,
    lat: float,
    **details: Any,
) -> Condition:
    return Condition(
        kind=kind,
        key=key,
        severity=severity,
        title=title,
        vessel_id=state.vessel_id,
        position=Position(lon, lat),
        details=details,
        drill=state.drill,
        observed_at=state.ts,
    )


# --- not under command -----------------------------------------------------------------------------


class NotUnderCommandRule(Rule):
    """Medium while AIS says status 2, or while the vessel drifts at sea for `drift_after_s`: slower than
    `drift_max_kn`, not at anchor, moored or aground, course more than `DRIFT_MIN_ANGLE_DEG` off heading.
    A boat "engaged in fishing" (7) inside a fishing area drifts on purpose (gill nets, jigging)."""

    name = "not_under_command"
    kind: AlertKind = "not_under_command"

    def __init__(self) -> None:
        self._drifting_since: dict[int, datetime] = {}
        self._reason: dict[int, str] = {}
        self._open = _Open(self.kind)

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        fix = fresh_position(current, record)
        if fix is None:
            return []
        lon, lat, ts = fix
        vessel, key = current.vessel_id, vessel_key(self.kind, current.vessel_id)
        drifting = self._drift(ctx, current, record, lon, lat)
        if drifting is False:
            self._drifting_since.pop(vessel, None)
        elif drifting:
            self._drifting_since.setdefault(vessel, ts)
        since = self._drifting_since.get(vessel)
        drift_s = 0.0 if since is None else (ts - since).total_seconds()
        if current.status == NOT_UNDER_COMMAND:
            reason, title = "status_2", "Not under command (the vessel's AIS says so)"
        elif since is not None and drift_s >= ctx.settings.behaviour.drift_after_s:
            reason, title = "drifting", f"Drifting at sea for {_minutes(drift_s)}"
        else:
            self._reason.pop(vessel, None)
            return self._open.clear(key, ctx.now)
        changed = self._reason.get(vessel) != reason
        self._reason[vessel] = reason
        condition = _condition(
            self.kind,
            key,
            "medium",
            title,
            current,
            lon,
            lat,
            reason=reason,
            status=current.status,
            speed=record.get("speed"),
            course=record.get("course"),
            heading=record.get("heading"),
            drifting_since=None if since is None else since.isoformat(),
        )
        return self._open.send(condition, ctx.now, changed=changed)

    def _drift(
        self, ctx: RuleContext, state: VesselState, record: Record, lon: float, lat: float
    ) -> bool | None:
        """True: this report shows drift; False: it shows the vessel is not drifting; None: cannot tell."""
        speed, course, heading = record.get("speed"), record.get("course"), record.get("heading")
        if state.status in (AT_ANCHOR, MOORED, AGROUND):
            return False
        if speed is None:
            return None
        if speed >= ctx.settings.behaviour.drift_max_kn or in_safe_waters(ctx.zones, lon, lat):
            return False
        if state.status == FISHING and ctx.zones.containing(lon, lat, "fishing_area"):
            return False
        if speed < DRIFT_MIN_KN or course is None or heading is None:
            return None
        off = abs((float(course) - float(heading) + 180.0) % 360.0 - 180.0)
        return off >= DRIFT_MIN_ANGLE_DEG


# --- anchor drag -----------------------------------------------------------------------------------


@dataclass
class _Anchor:
    lon: float
    lat: float
    since: datetime
    beyond: int = 0  # consecutive reports outside the radius
    settle: tuple[float, float, datetime] | None = None  # where she has lain since dragging


class AnchorDragRule(Rule):
    """High when a vessel at anchor (AIS status 1) is confirmed further than `anchor_radius_m` from where
    it anchored. Clears when it is back within the radius, weighs anchor (another status), or its anchor
    holds again: `ANCHOR_RESET_S` within the radius of one spot, which becomes the new anchor point."""

    name = "anchor_drag"
    kind: AlertKind = "anchor_drag"

    def __init__(self) -> None:
        self._anchors: dict[int, _Anchor] = {}
        self._open = _Open(self.kind)

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        fix = fresh_position(current, record)
        if fix is None or record.get("source") != "ais":
            return []
        lon, lat, ts = fix
        key = vessel_key(self.kind, current.vessel_id)
        if current.status != AT_ANCHOR:
            self._anchors.pop(current.vessel_id, None)
            return self._open.clear(key, ctx.now)
        anchor = self._anchors.get(current.vessel_id)
        if anchor is None:
            self._anchors[current.vessel_id] = _Anchor(lon, lat, ts)
            return []
        radius = ctx.settings.behaviour.anchor_radius_m
        distance = haversine_m(anchor.lon, anchor.lat, lon, lat)
        if distance <= radius:
            anchor.beyond, anchor.settle = 0, None
            return self._open.clear(key, ctx.now)
        anchor.beyond += 1
        if anchor.beyond < ANCHOR_CONFIRM_REPORTS:
            return []
        settle = anchor.settle
        if settle is None or haversine_m(settle[0], settle[1], lon, lat) > radius:
            anchor.settle = (lon, lat, ts)
        elif (ts - settle[2]).total_seconds() >= ANCHOR_RESET_S:
            self._anchors[current.vessel_id] = _Anchor(settle[0], settle[1], settle[2])
            return self._open.clear(key, ctx.now)
        title = f"Anchor dragging: {distance:.0f} m from where it anchored"
        condition = _condition(
            self.kind,
            key,
            "high",
            title,
            current,
            lon,
            lat,
            distance_m=round(distance, 1),
            radius_m=radius,
            anchored_at={"lon": anchor.lon, "lat": anchor.lat, "since": anchor.since.isoformat()},
        )
        return self._open.send(condition, ctx.now, changed=key not in self._open.sent)


# --- loitering -------------------------------------------------------------------------------------


class LoiteringRule(Rule):
    """Low when a vessel stays within `loiter_radius_m` of one spot for `loiter_after_s` at sea: not in
    harbours, shelters, anchorages, not moored, and — for a fishing vessel — not in a fishing area, where
    staying put is its work. The spot is where the stay began; leaving its circle starts a new stay."""

    name = "loitering"
    kind: AlertKind = "loitering"

    def __init__(self) -> None:
        self._stays: dict[int, tuple[float, float, datetime]] = {}
        self._open = _Open(self.kind)

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        fix = fresh_position(current, record)
        if fix is None:
            return []
        lon, lat, ts = fix
        key = vessel_key(self.kind, current.vessel_id)
        if (
            current.status == MOORED
            or in_safe_waters(ctx.zones, lon, lat)
            or (current.is_fishing and ctx.zones.containing(lon, lat, "fishing_area"))
        ):
            self._stays.pop(current.vessel_id, None)
            return self._open.clear(key, ctx.now)
        behaviour = ctx.settings.behaviour
        stay = self._stays.get(current.vessel_id)
        if stay is None or haversine_m(stay[0], stay[1], lon, lat) > behaviour.loiter_radius_m:
            self._stays[current.vessel_id] = (lon, lat, ts)
            return self._open.clear(key, ctx.now)
        stayed = (ts - stay[2]).total_seconds()
        if stayed < behaviour.loiter_after_s:
            return []
        condition = _condition(
            self.kind,
            key,
            "low",
            f"Loitering at sea for {_minutes(stayed)}",
            current,
            lon,
            lat,
            centre={"lon": stay[0], "lat": stay[1]},
            since=stay[2].isoformat(),
            radius_m=behaviour.loiter_radius_m,
        )
        return self._open.send(condition, ctx.now, changed=key not in self._open.sent)


# --- encounters ------------------------------------------------------------------------------------


def close_pairs(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], distance_m: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Every pair (i < j by cell order, each once) of points within `distance_m`, with its distance.

    Points go into grid cells at least `distance_m` wide everywhere in the data (the longitude step is
    taken at the highest latitude present), so a close pair lies in one cell or in two neighbouring
    ones; only those are measured. Each cell looks at itself and at four of its eight neighbours (the
    other four look back at it), so no pair is found twice.
    """
    n = len(lon)
    if n < 2:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, np.empty(0, dtype=np.float64)
    top = min(float(np.max(np.abs(lat))), 85.0)
    cx = np.floor(lon / metres_to_degrees_lon(distance_m, top)).astype(np.int64)
    cy = np.floor(lat / metres_to_degrees_lat(distance_m)).astype(np.int64)
    stride, offset = np.int64(1 << 31), np.int64(1 << 30)
    cell = (cx + offset) * stride + (cy + offset)
    order = np.argsort(cell, kind="stable")
    sorted_cells = cell[order]
    firsts, seconds = [], []
    for dx, dy in ((0, 0), (1, -1), (1, 0), (1, 1), (0, 1)):
        target = cell + dx * stride + dy
        low = np.searchsorted(sorted_cells, target, side="left")
        counts = np.searchsorted(sorted_cells, target, side="right") - low
        first = np.repeat(np.arange(n), counts)
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        second = order[np.repeat(low, counts) + within]
        keep = first < second if (dx, dy) == (0, 0) else np.ones(len(first), dtype=np.bool_)
        firsts.append(first[keep])
        seconds.append(second[keep])
    i, j = np.concatenate(firsts), np.concatenate(seconds)
    distance = haversine_m(lon[i], lat[i], lon[j], lat[j])
    near = distance <= distance_m
    return i[near], j[near], distance[near]


class EncounterRule(Rule):
    """Medium when two vessels stay within `encounter_distance_m` of each other, both slower than
    `encounter_max_kn`, for `encounter_after_s`, at sea (not in harbours, shelters, anchorages; not
    moored). Positions older than `lost_contact.terminal_after_s` (the longest silence that is not yet
    a lost contact) are not used. One condition per pair, cleared when they part."""

    name = "encounter"
    kind: AlertKind = "encounter"

    def __init__(self) -> None:
        self._since: dict[tuple[int, int], datetime] = {}
        self._open = _Open(self.kind)
        self._scanned: datetime | None = None
        self._safe: tuple[ZoneIndex, BaseGeometry | None] | None = None

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        if self._scanned is not None and (ctx.now - self._scanned).total_seconds() < ENCOUNTER_SCAN_S:
            return []
        self._scanned = ctx.now
        close = self._close(ctx)
        out: list[Condition] = []
        for pair in [p for p in self._since if p not in close]:
            del self._since[pair]
            out += self._open.clear(pair_key(self.kind, *pair), ctx.now)
        for pair, distance in close.items():
            since = self._since.setdefault(pair, ctx.now)
            together = (ctx.now - since).total_seconds()
            if together >= ctx.settings.behaviour.encounter_after_s:
                out += self._raise(ctx, pair, distance, since, together)
        return out

    def _close(self, ctx: RuleContext) -> dict[tuple[int, int], float]:
        behaviour = ctx.settings.behaviour
        cols = ctx.fleet.arrays()
        fresh = ctx.now.timestamp() - cols.ts <= ctx.settings.lost_contact.terminal_after_s
        slow = cols.speed < behaviour.encounter_max_kn  # unknown speed (NaN) is not slow
        # 0, 0 is what terminals without a GNSS fix report: two of them are not a meeting.
        placed = (cols.lon != 0.0) | (cols.lat != 0.0)
        candidates = np.flatnonzero(fresh & slow & placed)
        safe = self._safe_waters(ctx.zones)
        if safe is not None and len(candidates):
            inside = shapely.intersects_xy(safe, cols.lon[candidates], cols.lat[candidates])
            candidates = candidates[~inside]
        i, j, distance = close_pairs(
            cols.lon[candidates], cols.lat[candidates], behaviour.encounter_distance_m
        )
        ids = cols.vessel_ids[candidates]
        close: dict[tuple[int, int], float] = {}
        for a, b, metres in zip(ids[i].tolist(), ids[j].tolist(), distance.tolist(), strict=True):
            if self._boat(ctx, a) and self._boat(ctx, b):
                close[(min(a, b), max(a, b))] = metres
        return close

    @staticmethod
    def _boat(ctx: RuleContext, vessel_id: int) -> bool:
        state = ctx.fleet.get(vessel_id)
        return state is not None and state.status != MOORED and is_vessel_mmsi(state.mmsi)

    def _safe_waters(self, zones: ZoneIndex) -> BaseGeometry | None:
        # One prepared union per zone index, so the whole fleet is tested in one vectorised call.
        if self._safe is None or self._safe[0] is not zones:
            safe = zones.of_kind(*SAFE_WATERS)
            union = shapely.union_all([z.geometry for z in safe]) if safe else None
            if union is not None:
                shapely.prepare(union)
            self._safe = (zones, union)
        return self._safe[1]

    def _raise(
        self, ctx: RuleContext, pair: tuple[int, int], distance: float, since: datetime, together: float
    ) -> list[Condition]:
        a, b = ctx.fleet.get(pair[0]), ctx.fleet.get(pair[1])
        if a is None or b is None:
            return []
        key = pair_key(self.kind, *pair)
        names = " and ".join(_label(s) for s in (a, b))
        details: dict[str, Any] = {
            "vessels": [
                {"id": s.vessel_id, "mmsi": s.mmsi, "name": s.name, "speed": s.speed} for s in (a, b)
            ],
            "distance_m": round(distance, 1),
            "since": since.isoformat(),
        }
        condition = Condition(
            kind=self.kind,
            key=key,
            severity="medium",
            title=f"Encounter at sea: {names} together for {_minutes(together)}",
            vessel_id=pair[0],
            position=Position(((a.lon or 0.0) + (b.lon or 0.0)) / 2, ((a.lat or 0.0) + (b.lat or 0.0)) / 2),
            details=details,
            drill=a.drill or b.drill,
            observed_at=ctx.now,
        )
        return self._open.send(condition, ctx.now, changed=key not in self._open.sent)


def _label(state: VesselState) -> str:
    return state.name or (f"MMSI {state.mmsi}" if state.mmsi else f"vessel {state.vessel_id}")
