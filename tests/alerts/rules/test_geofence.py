"""GeofenceRule on the real demo zones with a fake clock: entries and exits, hysteresis, dwell, schedules,
licensed fishing areas, shipping lanes, and the port status other rules rely on."""

from __future__ import annotations

import numpy as np

from alerts.rules.geofence import GeofenceRule, at_sea, in_port_mask, settle, zone_in_force
from tests.alerts.rules.sea_support import (
    DEMO_ZONES,
    FISHING_GROUNDS,
    HONGHAI_SHELTER,
    IN_LANE,
    ISLETS_MPA,
    M_PER_1E4_LON,
    OPEN_SEA,
    SHANWEI_PORT,
    T0,
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

MPA_KEY = "geofence:vessel:1:zone:islets-mpa"
MPA_WEST_EDGE = 115.415


def west_of_mpa_edge(metres: float) -> tuple[float, float]:
    """A point `metres` inside the protected area's west edge (negative: outside it)."""
    return (MPA_WEST_EDGE + metres / M_PER_1E4_LON * 1e-4, ISLETS_MPA[1])


def test_entering_a_prohibited_zone_alerts_high_and_leaving_clears() -> None:
    h = Harness(GeofenceRule())
    assert h.record(1, position(OPEN_SEA, T0)) == []
    (entry,) = h.record(1, position(ISLETS_MPA, T0 + seconds(60)))
    assert (entry.kind, entry.key, entry.active, entry.severity) == ("geofence", MPA_KEY, True, "high")
    assert entry.vessel_id == 1
    assert entry.position is not None and (entry.position.lon, entry.position.lat) == ISLETS_MPA
    assert entry.details["zone_kind"] == "prohibited" and entry.details["reason"] == "inside"
    assert "Islets marine protected area" in entry.title
    # Still inside: the same condition again (the engine dedups), never a second key.
    again = h.record(1, position(west_of_mpa_edge(500), T0 + seconds(120)))
    assert [c.key for c in again] == [MPA_KEY] and again[0].active
    assert cleared_keys(h.record(1, position(OPEN_SEA, T0 + seconds(600)))) == [MPA_KEY]
    assert h.record(1, position(OPEN_SEA, T0 + seconds(660))) == []


def test_jitter_across_the_boundary_within_the_hysteresis_does_not_flap() -> None:
    h = Harness(GeofenceRule())  # hysteresis 50 m
    t = T0
    # Approaching from outside, scattering ±30 m about the edge: never an entry.
    for i, metres in enumerate([-200, -30, 30, -30, 30, -10, 40]):
        assert h.record(1, position(west_of_mpa_edge(metres), t + seconds(10 * i))) == [], metres
    (entry,) = h.record(1, position(west_of_mpa_edge(60), t + seconds(100)))
    assert entry.active
    # Back in the band, even 40 m outside: still inside, the alert stays.
    for i, metres in enumerate([30, -30, -40, 20, -45]):
        conditions = h.record(1, position(west_of_mpa_edge(metres), t + seconds(110 + 10 * i)))
        assert [c.active for c in conditions] == [True], metres
    assert cleared_keys(h.record(1, position(west_of_mpa_edge(-60), t + seconds(200)))) == [MPA_KEY]
    # Scatter just outside after leaving does not re-enter.
    for i, metres in enumerate([-30, 30, -20, 45]):
        assert h.record(1, position(west_of_mpa_edge(metres), t + seconds(210 + 10 * i))) == [], metres


def test_a_vessel_first_seen_inside_the_band_takes_the_side_it_is_on() -> None:
    h = Harness(GeofenceRule())
    assert active(h.record(1, position(west_of_mpa_edge(20), T0)))
    assert h.record(2, position(west_of_mpa_edge(-20), T0, mmsi=412_000_002)) == []
    assert settle(None, 0.0, 50.0) and not settle(None, -0.1, 50.0)
    assert settle(True, -49.0, 50.0) and not settle(True, -50.0, 50.0)
    assert not settle(False, 49.0, 50.0) and settle(False, 50.0, 50.0)


def test_a_zone_severity_property_overrides_the_default() -> None:
    reef = box_zone("reef", "prohibited", 115.0, 22.0, 115.1, 22.1, severity="critical")
    odd = box_zone("odd", "protected", 115.2, 22.0, 115.3, 22.1, severity="apocalyptic")
    h = Harness(GeofenceRule(), zones=zones_with(reef, odd))
    (alert,) = h.record(1, position((115.05, 22.05), T0))
    assert alert.severity == "critical"
    (alert,) = h.record(2, position((115.25, 22.05), T0, mmsi=412_000_002))
    assert alert.severity == "high"  # an unknown severity falls back to the kind's default


def test_a_restricted_zone_alerts_after_the_dwell_and_only_while_its_schedule_holds() -> None:
    # A firing range closed on weekdays 08:00-18:00 China time. T0 is Wednesday 12:00 there.
    firing = box_zone(
        "firing-range",
        "restricted",
        115.9,
        22.2,
        116.0,
        22.3,
        schedule={
            "timezone": "Asia/Shanghai",
            "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "18:00"}],
        },
    )
    h = Harness(GeofenceRule(), zones=zones_with(firing))
    inside = (115.95, 22.25)
    assert h.record(1, position(inside, T0)) == []
    assert h.tick(T0 + seconds(299)) == []
    assert h.record(1, position(inside, T0 + seconds(200))) == []
    (dwell,) = h.tick(T0 + seconds(300))  # the dwell elapses with no new report: the tick raises it
    assert (dwell.key, dwell.severity, dwell.details["reason"]) == (
        "geofence:vessel:1:zone:firing-range",
        "medium",
        "dwell",
    )
    # 18:00 China time (10:00 UTC): the range opens and the condition ends by itself.
    assert h.tick(T0 + seconds(6 * 3600 - 1)) == []
    assert cleared_keys(h.tick(T0 + seconds(6 * 3600))) == ["geofence:vessel:1:zone:firing-range"]
    # Outside its hours the range is open water: staying in it for hours raises nothing.
    evening = T0 + seconds(7 * 3600)
    assert h.record(1, position(inside, evening)) == []
    assert h.tick(evening + seconds(3600)) == []
    # At 08:00 next morning (00:00 UTC) the vessel is still there: the dwell starts then.
    morning = T0 + seconds(20 * 3600)
    assert h.tick(morning) == []
    assert active(h.tick(morning + seconds(300)))


def test_a_zone_without_a_readable_schedule_counts_as_always_in_force() -> None:
    broken = box_zone("broken", "prohibited", 115.0, 22.0, 115.1, 22.1, schedule={"yeraly": []})
    assert zone_in_force(broken, T0)
    h = Harness(GeofenceRule(), zones=zones_with(broken))
    assert active(h.record(1, position((115.05, 22.05), T0)))


def test_a_fishing_vessel_working_outside_its_licensed_area_alerts_after_the_dwell() -> None:
    h = Harness(GeofenceRule())
    h.register(1, is_fishing=True, licensed_area="demo-fishing-area")
    key = "geofence:vessel:1:zone:demo-fishing-area"
    assert h.record(1, position(OPEN_SEA, T0, speed=3.0, status=7)) == []  # the dwell starts
    assert h.record(1, position(OPEN_SEA, T0 + seconds(240), speed=3.2, status=7)) == []
    (alert,) = h.record(1, position(OPEN_SEA, T0 + seconds(300), speed=3.1, status=7))
    assert (alert.key, alert.severity, alert.details["reason"]) == (key, "medium", "outside_licensed_area")
    # Back on its grounds: cleared.
    assert cleared_keys(h.record(1, position(FISHING_GROUNDS, T0 + seconds(3600), speed=3.0))) == [key]


def test_a_fishing_vessel_on_passage_or_in_port_is_not_outside_its_area() -> None:
    rule = GeofenceRule()
    h = Harness(rule)
    h.register(1, is_fishing=True, licensed_area="Licensed coastal fishing area of the demo fleet")  # by name
    t = T0
    # Moored in port for hours, then steaming out at 9 kn to the grounds: nothing.
    for i in range(12):
        assert h.record(1, position(SHANWEI_PORT, t + seconds(600 * i), speed=0.0, status=5)) == []
    assert rule.in_port(1)
    for i in range(12):
        assert h.record(1, position(OPEN_SEA, t + seconds(7200 + 300 * i), speed=9.0, status=0)) == []
    # The same boat fishing outside the area would alert: the licence was found by name.
    h.record(1, position(OPEN_SEA, t + seconds(20000), speed=2.0, status=7))
    assert active(h.record(1, position(OPEN_SEA, t + seconds(20400), speed=2.0, status=7)))


def test_an_unlicensed_or_non_fishing_vessel_raises_no_fishing_area_alert() -> None:
    h = Harness(GeofenceRule())
    h.register(1, is_fishing=True)  # no licence on record: nothing to compare with
    h.register(2, is_fishing=False, licensed_area="demo-fishing-area")
    h.register(3, is_fishing=True, licensed_area="no-such-area")
    for vessel in (1, 2, 3):
        for i in range(3):
            record = position(OPEN_SEA, T0 + seconds(400 * i), mmsi=412_000_000 + vessel, speed=2.0, status=7)
            assert h.record(vessel, record) == []


def test_a_fishing_vessel_working_in_the_shipping_lane_alerts_but_one_crossing_does_not() -> None:
    h = Harness(GeofenceRule())
    h.register(1, is_fishing=True, licensed_area="demo-fishing-area")
    h.register(2, is_fishing=True, licensed_area="demo-fishing-area")
    h.register(3)  # a cargo ship, slow in the lane: its business
    lane_key = "geofence:vessel:1:zone:coastal-shipping-lane"
    for i in range(7):
        t = T0 + seconds(60 * i)
        crossing = h.record(2, position(IN_LANE, t, mmsi=412_000_002, speed=9.5, status=0))
        assert crossing == []
        assert h.record(3, position(IN_LANE, t, mmsi=413_000_003, speed=2.0, status=0)) == []
        working = h.record(1, position(IN_LANE, t, speed=2.5, status=7))
        assert [c.key for c in active(working)] == ([lane_key] if i == 5 or i == 6 else [])
    # Under way again (not fishing, at passage speed): cleared while still in the lane.
    assert cleared_keys(h.record(1, position(IN_LANE, T0 + seconds(500), speed=8.0, status=0))) == [lane_key]


def test_harbours_and_shelters_raise_nothing_but_set_the_port_status() -> None:
    rule = GeofenceRule()
    h = Harness(rule)
    assert h.record(1, position(SHANWEI_PORT, T0, speed=0.0)) == []
    assert h.record(2, position(HONGHAI_SHELTER, T0, mmsi=412_000_002, speed=0.0)) == []
    assert h.record(3, position(OPEN_SEA, T0, mmsi=412_000_003)) == []
    assert (rule.in_port(1), rule.in_port(2), rule.in_port(3), rule.in_port(99)) == (True, True, False, False)
    # The port boundary has the same hysteresis: 30 m outside the harbour's south edge is still in port.
    edge = (SHANWEI_PORT[0], 22.755 - 30 / 111_120)
    assert h.record(1, position(edge, T0 + seconds(60), speed=1.0)) == []
    assert rule.in_port(1)
    h.record(1, position((SHANWEI_PORT[0], 22.74), T0 + seconds(120)))
    assert not rule.in_port(1)


def test_at_sea_for_one_vessel_and_for_the_whole_fleet() -> None:
    assert not at_sea(DEMO_ZONES, VesselState(1, lon=SHANWEI_PORT[0], lat=SHANWEI_PORT[1]))
    assert not at_sea(DEMO_ZONES, VesselState(1, lon=HONGHAI_SHELTER[0], lat=HONGHAI_SHELTER[1]))
    assert at_sea(DEMO_ZONES, VesselState(1, lon=OPEN_SEA[0], lat=OPEN_SEA[1]))
    assert not at_sea(DEMO_ZONES, VesselState(1))  # no position: not known to be at sea
    places = [SHANWEI_PORT, OPEN_SEA, HONGHAI_SHELTER, ISLETS_MPA]
    lon, lat = np.array([p[0] for p in places]), np.array([p[1] for p in places])
    assert in_port_mask(DEMO_ZONES, lon, lat).tolist() == [True, False, True, False]


def test_a_deleted_zone_clears_its_alerts_on_the_next_tick() -> None:
    reef = box_zone("reef", "prohibited", 115.0, 22.0, 115.1, 22.1)
    h = Harness(GeofenceRule(), zones=zones_with(reef))
    assert active(h.record(1, position((115.05, 22.05), T0)))
    h.zones = DEMO_ZONES
    assert cleared_keys(h.tick(T0 + seconds(1))) == ["geofence:vessel:1:zone:reef"]
    assert h.tick(T0 + seconds(2)) == []


def test_a_report_without_a_position_changes_nothing() -> None:
    h = Harness(GeofenceRule())
    assert active(h.record(1, position(ISLETS_MPA, T0)))
    blind = position(ISLETS_MPA, T0 + seconds(10)) | {"lon": None, "lat": None}
    assert h.record(1, blind) == []
    static = ais_static(ts=T0 + seconds(20), shipname=None, ship_type=70, destination="HONG KONG")
    assert h.record(1, static) == []  # a destination moves nothing
