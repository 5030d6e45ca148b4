"""MoratoriumRule on the demo South China Sea summer closure (1 May 12:00 to 16 August 12:00 China
time), with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.rules.moratorium import MoratoriumRule, applies
from tests.alerts.rules.sea_support import (
    DEMO_ZONES,
    FAR_SEA,
    FISHING_GROUNDS,
    OPEN_SEA,
    SHANWEI_PORT,
    T0,
    ZHELANG_PORT,
    Harness,
    active,
    box_zone,
    cleared_keys,
    position,
    seconds,
    zones_with,
)
from tests.tracking.records import ais_static
from tracking.fleet import VesselState

KEY = "moratorium:vessel:1:zone:scs-summer-moratorium"
OPENS = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)  # 12:00 China time
CLOSES = datetime(2026, 8, 16, 4, 0, tzinfo=UTC)
CLOSURE = DEMO_ZONES.get("scs-summer-moratorium")


def fishing_harness() -> Harness:
    h = Harness(MoratoriumRule())
    h.record(1, ais_static(ship_type=30, ts=T0 - seconds(3600)))
    return h


def test_a_fishing_vessel_at_sea_in_the_closure_in_season_alerts_high() -> None:
    h = fishing_harness()
    (alert,) = h.record(1, position(OPEN_SEA, T0, speed=3.0, status=7))
    assert (alert.kind, alert.key, alert.severity, alert.active) == ("moratorium", KEY, "high", True)
    assert alert.details["zone_id"] == "scs-summer-moratorium" and alert.details["ship_type"] == 30
    assert "South China Sea summer fishing moratorium" in alert.title
    # Transiting at 9 kn, not fishing: still at sea in the closure in season.
    assert active(h.record(1, position(OPEN_SEA, T0 + seconds(60), speed=9.0, status=0)))


def test_its_own_licensed_fishing_area_does_not_exempt_a_vessel() -> None:
    h = fishing_harness()
    h.register(1, is_fishing=True, licensed_area="demo-fishing-area")
    assert active(h.record(1, position(FISHING_GROUNDS, T0, speed=3.0, status=7)))


def test_the_season_opens_and_closes_on_the_minute() -> None:
    h = fishing_harness()
    before = OPENS - seconds(60)
    assert h.record(1, position(OPEN_SEA, before)) == []
    assert h.tick(before) == []
    assert h.tick(OPENS - seconds(1)) == []
    # No new report needed: the vessel already out there is found when the season opens.
    (alert,) = h.tick(OPENS)
    assert alert.key == KEY and alert.active
    assert h.tick(OPENS + seconds(1)) == []
    assert active(h.record(1, position(OPEN_SEA, CLOSES - seconds(60))))
    assert h.tick(CLOSES - seconds(1)) == []
    assert cleared_keys(h.tick(CLOSES)) == [KEY]
    assert h.record(1, position(OPEN_SEA, CLOSES + seconds(60))) == []


def test_coming_into_port_or_leaving_the_closure_clears() -> None:
    h = fishing_harness()
    assert active(h.record(1, position(OPEN_SEA, T0)))
    assert cleared_keys(h.record(1, position(ZHELANG_PORT, T0 + seconds(3600), speed=0.0))) == [KEY]
    assert h.record(1, position(ZHELANG_PORT, T0 + seconds(7200), speed=0.0)) == []
    assert active(h.record(1, position(OPEN_SEA, T0 + seconds(9000))))
    assert cleared_keys(h.record(1, position(FAR_SEA, T0 + seconds(20000)))) == [KEY]


def test_no_alert_in_a_harbour_inside_the_closure_nor_outside_it() -> None:
    h = fishing_harness()
    assert h.record(1, position(ZHELANG_PORT, T0, speed=0.0)) == []  # Zhelang lies inside the box
    assert h.record(1, position(SHANWEI_PORT, T0 + seconds(60), speed=0.0)) == []
    assert h.record(1, position(FAR_SEA, T0 + seconds(120))) == []
    assert h.tick(T0 + seconds(180)) == []  # the season-open scan skips them too


def test_which_vessels_the_closure_binds() -> None:
    assert CLOSURE is not None
    assert applies(CLOSURE, VesselState(1, ship_type=30))
    assert applies(CLOSURE, VesselState(1, is_fishing=True))  # registry: fishes, broadcasts no type
    assert applies(CLOSURE, VesselState(1, ship_type=0, is_fishing=True))  # a wrong type on the radio
    assert not applies(CLOSURE, VesselState(1, ship_type=70))  # cargo
    assert not applies(CLOSURE, VesselState(1))  # nothing known
    anyone = box_zone("closure", "moratorium", 0, 0, 1, 1, applies_to={"ship_type": [30, 70]})
    assert applies(anyone, VesselState(1, ship_type=70))
    default = box_zone("closure", "moratorium", 0, 0, 1, 1)
    assert applies(default, VesselState(1, is_fishing=True)) and not applies(default, VesselState(1))


def test_cargo_ships_and_unknown_vessels_are_not_bound() -> None:
    h = Harness(MoratoriumRule())
    h.record(2, ais_static(mmsi=413_000_002, ship_type=70, ts=T0 - seconds(60)))
    assert h.record(2, position(OPEN_SEA, T0, mmsi=413_000_002, speed=12.0)) == []
    assert h.record(3, position(OPEN_SEA, T0, mmsi=413_000_003)) == []
    assert h.tick(T0 + seconds(1)) == []


def test_the_hysteresis_holds_at_the_closure_edge() -> None:
    h = fishing_harness()
    north_edge = 22.75
    assert active(h.record(1, position((115.2, north_edge - 0.001), T0)))  # 111 m inside
    # 30 m outside the edge, within the 50 m band: still inside.
    assert active(h.record(1, position((115.2, north_edge + 30 / 111_120), T0 + seconds(10))))
    assert cleared_keys(h.record(1, position((115.2, north_edge + 0.001), T0 + seconds(20)))) == [KEY]
    assert h.record(1, position((115.2, north_edge - 30 / 111_120), T0 + seconds(30))) == []


def test_a_deleted_closure_clears_its_alerts() -> None:
    closure = box_zone("local-closure", "moratorium", 116.6, 22.2, 116.8, 22.4)
    h = Harness(MoratoriumRule(), zones=zones_with(closure))
    h.register(1, is_fishing=True)
    conditions = h.record(1, position(FAR_SEA, T0))
    assert [c.key for c in active(conditions)] == ["moratorium:vessel:1:zone:local-closure"]
    h.zones = DEMO_ZONES
    assert cleared_keys(h.tick(T0 + seconds(1))) == ["moratorium:vessel:1:zone:local-closure"]
