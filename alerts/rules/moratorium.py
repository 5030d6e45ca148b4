"""`moratorium`: a fishing vessel at sea inside a seasonal fishing closure while the closure is in force.

One condition per vessel and closure, key `moratorium:vessel:<id>:zone:<zone id>`, severity high (or the
zone's `severity`). It clears when the vessel leaves the zone (by the geofence hysteresis), comes into a
harbour or shelter, the season ends, or the zone is deleted.

Which vessels: the zone's `applies_to.ship_type` (the demo closure says `[30]`, fishing). A vessel
counts when its AIS ship type is listed, or when the registry says it fishes (`is_fishing`) and the
list names fishing (30): many boats broadcast no type, or a wrong one, and the registry is the licence.
A closure without `applies_to` applies to fishing vessels.

Decided: a licensed fishing area inside the closure does not exempt a vessel. The closure suspends
fishing licences for its season (the South China Sea moratorium keeps boats in port from 1 May to
16 August whatever their licence), so a boat out on its own licensed grounds is still reported. Being
at sea is enough, fishing or not: in season the boats belong in port, and a transit cannot be told
from a boat about to shoot its nets. Boats in a harbour or shelter inside the closure (Zhelang port
lies inside the demo box) are where they should be.
"""

from __future__ import annotations

import numpy as np
import shapely

from alerts.model import AlertKind, Condition, Position
from alerts.rules.base import Record, Rule, RuleContext, vessel_key
from alerts.rules.geofence import (
    at_sea,
    in_port_mask,
    settle,
    vessel_label,
    zone_in_force,
    zone_severity,
)
from tracking.fleet import FISHING_SHIP_TYPE, VesselState
from tracking.zones import Zone

KIND: AlertKind = "moratorium"
ZONE_KIND = "moratorium"


def applies(zone: Zone, state: VesselState) -> bool:
    """Whether the closure binds this vessel (see the module docstring)."""
    rules = zone.properties.get("applies_to") or {}
    types = rules.get("ship_type") if isinstance(rules, dict) else None
    if not isinstance(types, list):
        return state.is_fishing or state.ship_type == FISHING_SHIP_TYPE
    if state.ship_type is not None and state.ship_type in types:
        return True
    return state.is_fishing and FISHING_SHIP_TYPE in types


class MoratoriumRule(Rule):
    name = KIND

    def __init__(self) -> None:
        self._inside: dict[tuple[int, str], bool] = {}  # hysteresis side per (vessel, closure)
        self._alerting: dict[str, set[int]] = {}  # closure → vessels with an open condition
        self._in_force: dict[str, bool] = {}  # each closure's season at the last tick

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        if current.lon is None or current.lat is None:
            return []
        out: list[Condition] = []
        for zone in ctx.zones.of_kind(ZONE_KIND):
            key = (current.vessel_id, zone.id)
            if not applies(zone, current) or not zone_in_force(zone, ctx.now):
                self._inside.pop(key, None)
                out += self._end(ctx, zone.id, current.vessel_id, "out of season or not bound")
                continue
            distance = zone.signed_distance_m(current.lon, current.lat)
            inside = settle(self._inside.get(key), distance, ctx.settings.geofence.hysteresis_m)
            self._inside[key] = inside
            if inside and at_sea(ctx.zones, current):
                out.append(self._raise(ctx, zone, current))
            else:
                out += self._end(ctx, zone.id, current.vessel_id, "in port" if inside else "left the zone")
        return out

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        """Season starts and ends, and deleted closures: everything else changes with a report."""
        out: list[Condition] = []
        zones = {zone.id: zone for zone in ctx.zones.of_kind(ZONE_KIND)}
        for zone_id in [z for z in self._alerting if z not in zones]:
            out += self._end_all(ctx, zone_id, "zone removed")
        for zone in zones.values():
            in_force = zone_in_force(zone, ctx.now)
            was = self._in_force.get(zone.id)
            self._in_force[zone.id] = in_force
            if in_force and not was:
                out += self._season_opens(ctx, zone)
            elif not in_force and was:
                out += self._end_all(ctx, zone.id, "season over")
                self._inside = {k: v for k, v in self._inside.items() if k[1] != zone.id}
        return out

    def _season_opens(self, ctx: RuleContext, zone: Zone) -> list[Condition]:
        """Every bound vessel already at sea in the closure, found in bulk (plain containment)."""
        cols = ctx.fleet.arrays()
        if not len(cols):
            return []
        inside = np.asarray(shapely.intersects_xy(zone.geometry, cols.lon, cols.lat), dtype=bool)
        inside &= ~in_port_mask(ctx.zones, cols.lon, cols.lat)
        out = []
        for vessel_id in cols.vessel_ids[inside]:
            state = ctx.fleet.get(int(vessel_id))
            if state is not None and applies(zone, state):
                self._inside[(state.vessel_id, zone.id)] = True
                out.append(self._raise(ctx, zone, state))
        return out

    def _raise(self, ctx: RuleContext, zone: Zone, state: VesselState) -> Condition:
        assert state.lon is not None and state.lat is not None
        self._alerting.setdefault(zone.id, set()).add(state.vessel_id)
        return Condition(
            kind=KIND,
            key=vessel_key(KIND, state.vessel_id, "zone", zone.id),
            severity=zone_severity(zone, "high"),
            title=f"{vessel_label(state)} at sea in {zone.name} during the closure",
            vessel_id=state.vessel_id,
            position=Position(state.lon, state.lat),
            details={
                "zone_id": zone.id,
                "zone_name": zone.name,
                "ship_type": state.ship_type,
                "registered_fishing": state.is_fishing,
                "licensed_area": state.licensed_area,
            },
            drill=state.drill,
            observed_at=ctx.now,
        )

    def _end(self, ctx: RuleContext, zone_id: str, vessel_id: int, why: str) -> list[Condition]:
        vessels = self._alerting.get(zone_id)
        if not vessels or vessel_id not in vessels:
            return []
        vessels.discard(vessel_id)
        key = vessel_key(KIND, vessel_id, "zone", zone_id)
        return [Condition.cleared(KIND, key, observed_at=ctx.now, zone_id=zone_id, reason=why)]

    def _end_all(self, ctx: RuleContext, zone_id: str, why: str) -> list[Condition]:
        vessels = sorted(self._alerting.pop(zone_id, set()))
        return [
            Condition.cleared(
                KIND, vessel_key(KIND, v, "zone", zone_id), observed_at=ctx.now, zone_id=zone_id, reason=why
            )
            for v in vessels
        ]
