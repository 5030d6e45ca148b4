"""`geofence`: vessels inside zones they must not be in, or outside the one they must stay in.

One condition per vessel and zone, key `geofence:vessel:<id>:zone:<zone id>`:

| zone kind              | the condition holds while …                                   | severity |
|------------------------|---------------------------------------------------------------|----------|
| prohibited, protected  | the vessel is inside                                          | high     |
| restricted             | the vessel has been inside for `dwell_s`                      | medium   |
| fishing_area           | a fishing vessel at sea, outside the area it is licensed for, | medium   |
|                        | has been working there for `dwell_s`                          |          |
| shipping_lane          | a fishing vessel has been working inside the lane `dwell_s`   | medium   |
| harbour, shelter       | never: the rule only remembers who is in port (`in_port`)     |          |

A zone's own `severity` property overrides the default. Every kind acts only while the zone's schedule
(`tracking.schedule`) is in force. `moratorium` zones are `alerts.rules.moratorium`'s; `anchorage`
zones raise nothing.

Choices:
- Hysteresis: a vessel is inside once `signed_distance_m >= +hysteresis_m`, outside once
  `<= -hysteresis_m`, and keeps its previous side in between. A vessel first seen inside that band
  takes the side its position is on. The side is remembered until the vessel is twice the band away,
  so GPS scatter of up to the band never turns a forgotten vessel back into a fresh entry.
- "Working" is AIS status 7 (engaged in fishing) or a speed of at most `WORKING_MAX_KN`: trawling is
  2–5 kn, passage 7–10 kn. Taken literally, "outside its licensed area" would alert on every departure,
  since boats cross unlicensed water on the way to their grounds; a boat steaming through, or
  crossing a lane, is not a hazard or an infringement. `dwell_s` keeps a short slow-down quiet.
- A condition clears when it stops holding: the vessel leaves (by the hysteresis), stops working,
  returns to port, the schedule ends, the vessel's licence changes or the zone is deleted.

Also here, for the other rules: `at_sea` (one vessel) and `in_port_mask` (numpy, the whole fleet),
`zone_in_force`, `zone_severity`, `settle` (the hysteresis), `vessel_label` and `is_boat`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import shapely

from alerts.model import SEVERITIES, AlertKind, Condition, Position, Severity
from alerts.rules.base import Record, Rule, RuleContext, vessel_key
from tracking.fleet import VesselState
from tracking.schedule import ScheduleError, is_active
from tracking.zones import Zone, ZoneIndex

log = logging.getLogger(__name__)

KIND: AlertKind = "geofence"
PORT_KINDS = ("harbour", "shelter")
ENTRY_KINDS = ("prohibited", "protected")
WATCHED_KINDS = (*PORT_KINDS, *ENTRY_KINDS, "restricted", "shipping_lane", "fishing_area")
DEFAULT_SEVERITY: dict[str, Severity] = {
    "prohibited": "high",
    "protected": "high",
    "restricted": "medium",
    "fishing_area": "medium",
    "shipping_lane": "medium",
}
FISHING_STATUS = 7  # AIS navigational status "engaged in fishing"
WORKING_MAX_KN = 5.0  # no setting yet; see the module docstring
_reported_bad_schedules: set[str] = set()


# --- shared with other rules ---------------------------------------------------------------------------


def at_sea(zones: ZoneIndex, state: VesselState) -> bool:
    """The vessel's last known position is outside every harbour and shelter (False with no position).

    Plain containment, no hysteresis: for rules that ask once about a position. `GeofenceRule.in_port`
    is the hysteresis-smoothed answer for vessels that rule has seen.
    """
    if state.lon is None or state.lat is None:
        return False
    return not zones.containing(state.lon, state.lat, *PORT_KINDS)


def in_port_mask(
    zones: ZoneIndex, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """`at_sea`'s complement for many positions at once (boundary counts as in port, as in `at_sea`)."""
    mask = np.zeros(len(lon), dtype=bool)
    for zone in zones.of_kind(*PORT_KINDS):
        mask |= np.asarray(shapely.intersects_xy(zone.geometry, lon, lat), dtype=bool)
    return mask


def zone_in_force(zone: Zone, when: datetime) -> bool:
    """Whether the zone's schedule holds at `when`. A schedule that cannot be read counts as always in
    force (an unwarranted alert is safer than a missed one) and is logged once."""
    try:
        return is_active(zone.properties.get("schedule"), when)
    except ScheduleError as exc:
        if zone.id not in _reported_bad_schedules:
            _reported_bad_schedules.add(zone.id)
            log.warning("zone %s has an unreadable schedule, treated as always in force: %s", zone.id, exc)
        return True


def zone_severity(zone: Zone, default: Severity) -> Severity:
    wanted = zone.properties.get("severity")
    for severity in SEVERITIES:
        if severity == wanted:
            return severity
    return default


def settle(was_inside: bool | None, distance_m: float, hysteresis_m: float) -> bool:
    """Inside or not after a new position `distance_m` from the boundary (positive inside)."""
    if distance_m >= hysteresis_m:
        return True
    if distance_m <= -hysteresis_m:
        return False
    return distance_m >= 0 if was_inside is None else was_inside


def vessel_label(state: VesselState) -> str:
    if state.name:
        return state.name
    return f"MMSI {state.mmsi}" if state.mmsi is not None else f"vessel {state.vessel_id}"


def is_boat(state: VesselState) -> bool:
    """False for AIS stations that are not boats (ITU-R M.585): aids to navigation (99…), AIS-SART,
    MOB and EPIRB beacons (970/972/974…), SAR aircraft (111…) and coast stations (00…). A buoy does not
    collide, and a silent one is not a crew in danger. Terminal-only vessels (no MMSI) are boats."""
    if state.mmsi is None:
        return True
    return not f"{state.mmsi:09d}".startswith(("99", "970", "972", "974", "111", "00"))


def working(state: VesselState) -> bool:
    """Fishing or stopped, as opposed to on passage (see the module docstring)."""
    return state.status == FISHING_STATUS or (state.speed is not None and state.speed <= WORKING_MAX_KN)


# --- the rule ------------------------------------------------------------------------------------------


@dataclass
class _Presence:
    kind: str
    inside: bool
    armed_since: datetime | None = None  # when the condition began to hold (the dwell clock)
    alerting: bool = False


class GeofenceRule(Rule):
    name = KIND

    def __init__(self) -> None:
        self._presence: dict[tuple[int, str], _Presence] = {}
        self._zones_of: dict[int, set[str]] = {}  # vessel → zones it has a presence in
        self._vessels_in: dict[str, set[int]] = {}  # zone → vessels with a presence there
        self._in_force: dict[str, bool] = {}  # each zone's schedule at the last tick
        self._timers: set[tuple[int, str]] = set()  # armed, waiting for their dwell

    def in_port(self, vessel_id: int) -> bool:
        """Inside a harbour or shelter, with hysteresis, as of the vessel's latest position."""
        return any(
            self._presence[(vessel_id, z)].inside and self._presence[(vessel_id, z)].kind in PORT_KINDS
            for z in self._zones_of.get(vessel_id, ())
        )

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        if current.lon is None or current.lat is None or not _news(previous, current):
            return []
        vessel, h = current.vessel_id, ctx.settings.geofence.hysteresis_m
        remember_m = max(2 * h, 1.0)
        near = {z.id: z for z in ctx.zones.within_m(current.lon, current.lat, remember_m, *WATCHED_KINDS)}
        licensed = licensed_zone(ctx.zones, current)
        licensed_id = licensed.id if licensed is not None else None
        out: list[Condition] = []
        # Only the licensed one of the fishing areas matters to a vessel.
        zones = {zid: z for zid, z in near.items() if z.kind != "fishing_area" or zid == licensed_id}
        for zid in self._zones_of.get(vessel, set()) - zones.keys():
            zone = ctx.zones.get(zid)
            if zone is None or (zone.kind == "fishing_area" and zid != licensed_id):
                out += self._forget(ctx, vessel, zid, "zone removed or licence changed")
            else:
                zones[zid] = zone
        if licensed is not None:
            zones[licensed.id] = licensed
        # Ports first: the fishing-area test asks whether the vessel is in port.
        for zone in sorted(zones.values(), key=lambda z: z.kind not in PORT_KINDS):
            close = zone.id in near or zone.id == licensed_id
            distance = zone.signed_distance_m(current.lon, current.lat) if close else -math.inf
            key = (vessel, zone.id)
            known = self._presence.get(key)
            inside = settle(known.inside if known else None, distance, h)
            presence = known or self._add(key, _Presence(zone.kind, inside))
            presence.inside = inside
            out += self._evaluate(ctx, zone, current, presence, licensed)
            if not close and not presence.alerting and presence.armed_since is None:
                self._drop(key)
        return out

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        out: list[Condition] = []
        for zid in list(self._vessels_in):
            zone = ctx.zones.get(zid)
            if zone is None:
                for vessel in list(self._vessels_in.get(zid, ())):
                    out += self._forget(ctx, vessel, zid, "zone removed")
                self._in_force.pop(zid, None)
                continue
            if zone.kind in PORT_KINDS:
                continue
            in_force = zone_in_force(zone, ctx.now)
            if self._in_force.get(zid) != in_force:  # a change, or a zone not ticked before
                for vessel in list(self._vessels_in.get(zid, ())):
                    out += self._recheck(ctx, zone, vessel)
            self._in_force[zid] = in_force
        for vessel, zid in list(self._timers):
            zone = ctx.zones.get(zid)
            if zone is not None:
                out += self._recheck(ctx, zone, vessel)
        return out

    # --- one vessel in one zone ------------------------------------------------------------------------

    def _recheck(self, ctx: RuleContext, zone: Zone, vessel: int) -> list[Condition]:
        presence, state = self._presence.get((vessel, zone.id)), ctx.fleet.get(vessel)
        if presence is None or state is None:
            return []
        return self._evaluate(ctx, zone, state, presence, licensed_zone(ctx.zones, state))

    def _evaluate(
        self, ctx: RuleContext, zone: Zone, state: VesselState, presence: _Presence, licensed: Zone | None
    ) -> list[Condition]:
        key = (state.vessel_id, zone.id)
        reason = self._reason(ctx, zone, state, presence, licensed)
        if reason is None:
            presence.armed_since = None
            self._timers.discard(key)
            if presence.alerting:
                presence.alerting = False
                return [_cleared(ctx, state.vessel_id, zone, "inside" if presence.inside else "outside")]
            return []
        if presence.armed_since is None:
            presence.armed_since = ctx.now
        dwell = 0.0 if zone.kind in ENTRY_KINDS else ctx.settings.geofence.dwell_s
        if (ctx.now - presence.armed_since).total_seconds() < dwell:
            self._timers.add(key)
            return []
        self._timers.discard(key)
        presence.alerting = True
        return [_raised(ctx, state, zone, reason, presence.armed_since)]

    def _reason(
        self, ctx: RuleContext, zone: Zone, state: VesselState, presence: _Presence, licensed: Zone | None
    ) -> str | None:
        """Why the zone's condition holds for this vessel now, or None."""
        if zone.kind in PORT_KINDS or not zone_in_force(zone, ctx.now):
            return None
        if zone.kind in ENTRY_KINDS:
            return "inside" if presence.inside else None
        if zone.kind == "restricted":
            return "dwell" if presence.inside else None
        if zone.kind == "shipping_lane":
            return "working_in_lane" if presence.inside and state.is_fishing and working(state) else None
        if zone.kind == "fishing_area" and licensed is not None and zone.id == licensed.id:
            outside_at_sea = not presence.inside and not self.in_port(state.vessel_id)
            return "outside_licensed_area" if outside_at_sea and working(state) else None
        return None

    # --- bookkeeping -----------------------------------------------------------------------------------

    def _add(self, key: tuple[int, str], presence: _Presence) -> _Presence:
        self._presence[key] = presence
        self._zones_of.setdefault(key[0], set()).add(key[1])
        self._vessels_in.setdefault(key[1], set()).add(key[0])
        return presence

    def _drop(self, key: tuple[int, str]) -> None:
        vessel, zone_id = key
        self._presence.pop(key, None)
        self._timers.discard(key)
        zones = self._zones_of.get(vessel, set())
        zones.discard(zone_id)
        if not zones:
            self._zones_of.pop(vessel, None)
        vessels = self._vessels_in.get(zone_id, set())
        vessels.discard(vessel)
        if not vessels:
            self._vessels_in.pop(zone_id, None)

    def _forget(self, ctx: RuleContext, vessel: int, zone_id: str, why: str) -> list[Condition]:
        presence = self._presence.get((vessel, zone_id))
        self._drop((vessel, zone_id))
        if presence is None or not presence.alerting:
            return []
        key = vessel_key(KIND, vessel, "zone", zone_id)
        return [Condition.cleared(KIND, key, observed_at=ctx.now, zone_id=zone_id, reason=why)]


def _news(previous: VesselState | None, current: VesselState) -> bool:
    """Whether the record changed anything this rule looks at (a static report or a fix-less position
    does not, and costs no geometry)."""
    if previous is None:
        return True
    looked_at = ("lon", "lat", "ts", "speed", "status", "is_fishing", "licensed_area", "name")
    return any(getattr(previous, name) != getattr(current, name) for name in looked_at)


def licensed_zone(zones: ZoneIndex, state: VesselState) -> Zone | None:
    """The fishing area a fishing vessel is licensed for, by zone id or else by name."""
    if not state.is_fishing or not state.licensed_area:
        return None
    zone = zones.get(state.licensed_area)
    if zone is not None and zone.kind == "fishing_area":
        return zone
    wanted = state.licensed_area.strip().casefold()
    return next((z for z in zones.of_kind("fishing_area") if z.name.strip().casefold() == wanted), None)


_TITLES = {
    "inside": "{vessel} inside {zone}",
    "dwell": "{vessel} staying in restricted {zone}",
    "working_in_lane": "{vessel} fishing or stopped in {zone}",
    "outside_licensed_area": "{vessel} working outside its licensed area ({zone})",
}


def _raised(ctx: RuleContext, state: VesselState, zone: Zone, reason: str, since: datetime) -> Condition:
    assert state.lon is not None and state.lat is not None
    return Condition(
        kind=KIND,
        key=vessel_key(KIND, state.vessel_id, "zone", zone.id),
        severity=zone_severity(zone, DEFAULT_SEVERITY.get(zone.kind, "medium")),
        title=_TITLES[reason].format(vessel=vessel_label(state), zone=zone.name),
        vessel_id=state.vessel_id,
        position=Position(state.lon, state.lat),
        details={
            "zone_id": zone.id,
            "zone_name": zone.name,
            "zone_kind": zone.kind,
            "reason": reason,
            "since": since.isoformat(),
        },
        drill=state.drill,
        observed_at=ctx.now,
    )


def _cleared(ctx: RuleContext, vessel: int, zone: Zone, side: str) -> Condition:
    key = vessel_key(KIND, vessel, "zone", zone.id)
    return Condition.cleared(KIND, key, observed_at=ctx.now, zone_id=zone.id, side=side)
