"""Driving one rule by hand for the zone, contact, collision and weather rule tests: a fake clock, the
real Shanwei demo zones, a live `Fleet`, and records in the pipeline's own shapes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.model import Condition
from alerts.rules.base import Rule, RuleContext
from seawatch.settings import RulesSettings
from tests.tracking.records import ais_position
from tracking.fleet import Fleet, VesselState
from tracking.zones import Zone, ZoneIndex, demo_zone_features, zone_from_feature

# 1 July 2026, 12:00 China time: inside the summer moratorium, so tests say when they need it.
T0 = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
DEMO_ZONES = ZoneIndex(zone_from_feature(f) for f in demo_zone_features())

# Places among the demo zones (lon, lat).
SHANWEI_PORT = (115.37, 22.77)  # harbour, north of the moratorium box
ZHELANG_PORT = (115.56, 22.667)  # harbour inside the moratorium box
HONGHAI_SHELTER = (115.61, 22.78)  # typhoon shelter
ISLETS_MPA = (115.43, 22.665)  # prohibited, west edge at lon 115.415
OPEN_SEA = (115.30, 22.70)  # at sea, outside every zone but the moratorium
FISHING_GROUNDS = (115.50, 22.55)  # inside the licensed fishing area, north of the lane
IN_LANE = (115.50, 22.445)  # the coastal shipping lane (inside the fishing area too)
FAR_SEA = (116.70, 22.30)  # east of every demo zone, the moratorium included

# Metres per 0.0001° at about 22.7°N.
M_PER_1E4_LON = 10.26
M_PER_1E4_LAT = 11.12


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def zones_with(*extra: Zone) -> ZoneIndex:
    return ZoneIndex([*DEMO_ZONES.zones, *extra])


def box_zone(
    zone_id: str, kind: str, lon1: float, lat1: float, lon2: float, lat2: float, **props: Any
) -> Zone:
    feature = {
        "type": "Feature",
        "properties": {"id": zone_id, "name": zone_id.replace("-", " ").title(), "kind": kind, **props},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[lon1, lat1], [lon2, lat1], [lon2, lat2], [lon1, lat2], [lon1, lat1]]],
        },
    }
    return zone_from_feature(feature)


def position(
    at: tuple[float, float],
    ts: datetime,
    *,
    mmsi: int = 412_000_001,
    speed: float | None = 6.5,
    **changes: Any,
) -> dict[str, Any]:
    """An AIS class A position report (type 1) at `at`, stamped `ts`."""
    return ais_position(
        mmsi,
        lon=at[0],
        lat=at[1],
        ts=ts,
        received_at=ts + timedelta(milliseconds=250),
        speed=speed,
        **changes,
    )


@dataclass
class Harness:
    """One rule, one fleet, one zone index and a clock that only moves when a test says so."""

    rule: Rule
    zones: ZoneIndex = DEMO_ZONES
    settings: RulesSettings = field(default_factory=RulesSettings)
    fleet: Fleet = field(default_factory=Fleet)

    def ctx(self, now: datetime) -> RuleContext:
        return RuleContext(now=now, settings=self.settings, zones=self.zones, fleet=self.fleet)

    def register(self, vessel_id: int, **registry: Any) -> VesselState:
        """Registry facts the radio does not tell (`is_fishing`, `licensed_area`, `name`, …)."""
        state = replace(self.fleet.get(vessel_id) or VesselState(vessel_id=vessel_id), **registry)
        self.fleet.put(state)
        return state

    def record(self, vessel_id: int, record: dict[str, Any], now: datetime | None = None) -> list[Condition]:
        """Fold the record into the fleet and run the rule on it; the clock is the record's time."""
        previous, current = self.fleet.update(vessel_id, record)
        when = now or record.get("ts") or record["received_at"]
        return self.rule.on_record(self.ctx(when), previous, current, record)

    def tick(self, now: datetime) -> list[Condition]:
        return self.rule.on_tick(self.ctx(now))


def active(conditions: list[Condition]) -> list[Condition]:
    return [c for c in conditions if c.active]


def cleared_keys(conditions: list[Condition]) -> list[str]:
    return [c.key for c in conditions if not c.active]
