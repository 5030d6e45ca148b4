"""Behaviour rules as pure objects with a fake clock, on the Shanwei demo zones: not under command,
anchor drag, encounters and loitering, with the cases that must stay quiet (boats moored side by side in
port, a trawler at work in its fishing area, buoys, anchored boats)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from pyais import encode_dict

from alerts.model import Condition
from alerts.rules.base import Rule, RuleContext
from alerts.rules.behaviour import (
    ENCOUNTER_SCAN_S,
    REFRESH_S,
    AnchorDragRule,
    EncounterRule,
    LoiteringRule,
    NotUnderCommandRule,
    close_pairs,
)
from ingest.nmea_stream import NmeaDecoder
from seawatch.settings import RulesSettings
from tests.tracking.records import ais_position, ais_static, jt808_position
from tracking.fleet import Fleet
from tracking.geo import haversine_m, metres_to_degrees_lat, metres_to_degrees_lon
from tracking.zones import ZoneIndex, demo_zone_features, zone_from_feature

T0 = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
SETTINGS = RulesSettings()
ZONES = ZoneIndex(zone_from_feature(f) for f in demo_zone_features())
OPEN_SEA = (115.30, 22.70)  # no harbour, shelter, anchorage or fishing area
FISHING_GROUNDS = (115.50, 22.55)  # the demo fleet's licensed fishing area
SHANWEI_PORT = (115.38, 22.775)  # harbour water
BUOY_MMSI = 994_121_001


def offset(at: tuple[float, float], east_m: float, north_m: float) -> tuple[float, float]:
    return (at[0] + metres_to_degrees_lon(east_m, at[1]), at[1] + metres_to_degrees_lat(north_m))


class Driver:
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.fleet = Fleet()

    def ctx(self, now: datetime) -> RuleContext:
        return RuleContext(now=now, settings=SETTINGS, zones=ZONES, fleet=self.fleet)

    def feed(self, record: dict[str, Any], vessel_id: int = 1) -> list[Condition]:
        previous, current = self.fleet.update(vessel_id, record)
        return self.rule.on_record(self.ctx(record["ts"]), previous, current, record)

    def report(
        self, at: tuple[float, float], minutes: float, vessel_id: int = 1, **fields: Any
    ) -> list[Condition]:
        """An AIS class A position of `vessel_id` at `at`, `minutes` after T0."""
        ts = T0 + timedelta(minutes=minutes)
        fields.setdefault("mmsi", 412_000_000 + vessel_id)
        return self.feed(ais_position(lon=at[0], lat=at[1], ts=ts, **fields), vessel_id)

    def tick(self, minutes: float) -> list[Condition]:
        return self.rule.on_tick(self.ctx(T0 + timedelta(minutes=minutes)))


def keys(conditions: list[Condition], active: bool = True) -> set[str]:
    """The keys raised (or cleared); an active one is re-sent every REFRESH_S while it holds."""
    return {c.key for c in conditions if c.active is active}


# --- not under command -----------------------------------------------------------------------------


def drifting(**changes: Any) -> dict[str, Any]:
    """1.2 kn with the bow 90° off the way she goes: the sea is moving her."""
    return {"status": 0, "speed": 1.2, "course": 200.0, "heading": 110, **changes}


def test_status_2_is_not_under_command_while_it_holds() -> None:
    driver = Driver(NotUnderCommandRule())
    (alert,) = driver.report(OPEN_SEA, 0, status=2, speed=0.3)
    assert (alert.key, alert.severity, alert.details["reason"]) == (
        "not_under_command:vessel:1",
        "medium",
        "status_2",
    )
    assert driver.report(OPEN_SEA, 0.5, status=2) == []  # held: re-sent only every REFRESH_S
    assert len(driver.report(OPEN_SEA, REFRESH_S / 60, status=2)) == 1
    (cleared,) = driver.report(OPEN_SEA, 2, status=0)
    assert (cleared.key, cleared.active) == ("not_under_command:vessel:1", False)
    assert driver.report(OPEN_SEA, 3, status=0) == []


def test_a_vessel_drifting_at_sea_for_half_an_hour() -> None:
    driver = Driver(NotUnderCommandRule())
    for minute in range(0, 30, 3):
        assert driver.report(offset(OPEN_SEA, 0, -40 * minute), minute, **drifting()) == []
    (alert,) = driver.report(offset(OPEN_SEA, 0, -1200), 30, **drifting())
    assert (alert.details["reason"], alert.title) == ("drifting", "Drifting at sea for 30 min")
    assert alert.details["drifting_since"] == T0.isoformat()
    (cleared,) = driver.report(offset(OPEN_SEA, 0, -1300), 33, **drifting(speed=7.5, course=110.0))
    assert not cleared.active


def test_reports_that_cannot_tell_keep_the_drift_running() -> None:
    driver = Driver(NotUnderCommandRule())
    driver.report(OPEN_SEA, 0, **drifting())
    driver.report(OPEN_SEA, 10, **drifting(heading=None))  # no heading: no verdict either way
    driver.report(OPEN_SEA, 20, **drifting(speed=0.1))  # too slow for course to mean anything
    assert len(driver.report(OPEN_SEA, 31, **drifting())) == 1


def test_not_drifting_cases() -> None:
    cases = [
        (OPEN_SEA, drifting(status=1)),  # at anchor
        (OPEN_SEA, drifting(status=5)),  # moored
        (OPEN_SEA, drifting(course=120.0)),  # course close to heading: she steers
        (OPEN_SEA, drifting(heading=None)),  # class B without heading: cannot tell
        (SHANWEI_PORT, drifting()),  # in harbour
        (FISHING_GROUNDS, drifting(status=7)),  # fishing in its area: drift nets, jigging
    ]
    for at, fields in cases:
        driver = Driver(NotUnderCommandRule())
        assert [c for m in range(0, 61, 5) for c in driver.report(at, m, **fields)] == [], fields


def test_fishing_status_outside_a_fishing_area_still_drifts() -> None:
    driver = Driver(NotUnderCommandRule())
    found = [c for m in range(0, 61, 5) for c in driver.report(OPEN_SEA, m, **drifting(status=7))]
    assert keys(found) == {"not_under_command:vessel:1"}


def test_a_drifting_buoy_is_not_a_vessel() -> None:
    # A net buoy with an AtoN-format MMSI, sending class B reports while it drifts…
    driver = Driver(NotUnderCommandRule())
    records = [
        ais_position(
            BUOY_MMSI, msg_type=18, status=None, lon=115.3, lat=22.7 - m * 1e-4, ts=T0 + timedelta(minutes=m)
        )
        for m in range(0, 90, 3)
    ]
    assert [c for r in records for c in driver.feed({**drifting(status=None), **r})] == []
    # …and a real AtoN report (type 21) never becomes a vessel position at all.
    decoder = NmeaDecoder()
    sentence = encode_dict({"msg_type": 21, "mmsi": BUOY_MMSI, "name": "NET BUOY", "lon": 115.3, "lat": 22.7})
    (aton,) = [r for line in sentence for r in decoder.feed(line, received_at=T0) if isinstance(r, dict)]
    for rule in (NotUnderCommandRule(), AnchorDragRule(), LoiteringRule()):
        assert Driver(rule).feed(aton, 9) == []


def test_a_late_report_says_nothing_about_now() -> None:
    driver = Driver(NotUnderCommandRule())
    driver.report(OPEN_SEA, 10, status=0)
    assert driver.report(OPEN_SEA, 5, status=2) == []  # older than the vessel's latest position


# --- anchor drag -----------------------------------------------------------------------------------


def test_an_anchor_that_drags() -> None:
    driver = Driver(AnchorDragRule())
    assert driver.report(OPEN_SEA, 0, status=1) == []  # she anchors here
    for minute in range(3, 60, 3):  # swinging on the chain, within the radius
        assert (
            driver.report(offset(OPEN_SEA, 80 * math.cos(minute), 80 * math.sin(minute)), minute, status=1)
            == []
        )
    assert driver.report(offset(OPEN_SEA, 300, 0), 60, status=1) == []  # one jump is not a drag…
    assert driver.report(offset(OPEN_SEA, 50, 0), 63, status=1) == []
    assert driver.report(offset(OPEN_SEA, 250, 0), 66, status=1) == []
    (alert,) = driver.report(offset(OPEN_SEA, 320, 0), 69, status=1)  # …two in a row are
    assert (alert.key, alert.severity) == ("anchor_drag:vessel:1", "high")
    assert round(alert.details["distance_m"]) == 320
    assert alert.details["anchored_at"]["since"] == T0.isoformat()
    (cleared,) = driver.report(offset(OPEN_SEA, 400, 0), 72, status=0)  # she weighs anchor
    assert not cleared.active


def test_an_anchor_that_holds_again_is_reset() -> None:
    driver = Driver(AnchorDragRule())
    driver.report(OPEN_SEA, 0, status=1)
    driver.report(offset(OPEN_SEA, 400, 0), 3, status=1)
    assert keys(driver.report(offset(OPEN_SEA, 420, 0), 6, status=1)) == {"anchor_drag:vessel:1"}
    found = [c for m in range(9, 40, 3) for c in driver.report(offset(OPEN_SEA, 430, 10), m, status=1)]
    assert keys(found, active=False) == {"anchor_drag:vessel:1"}
    assert driver.report(offset(OPEN_SEA, 440, 0), 42, status=1) == []  # the new anchor point holds


def test_only_ais_at_anchor_counts() -> None:
    driver = Driver(AnchorDragRule())
    driver.report(OPEN_SEA, 0, status=0)
    assert driver.report(offset(OPEN_SEA, 1000, 0), 3, status=0) == []  # under way
    terminal = jt808_position(lon=OPEN_SEA[0] + 0.02, lat=OPEN_SEA[1], ts=T0 + timedelta(minutes=6))
    assert Driver(AnchorDragRule()).feed(terminal) == []


# --- encounters ------------------------------------------------------------------------------------


def test_two_slow_vessels_together_at_sea_for_two_hours() -> None:
    driver = Driver(EncounterRule())
    for minute in range(0, 120, 10):
        driver.report(OPEN_SEA, minute, 1, speed=0.5)
        driver.report(offset(OPEN_SEA, 200, 100), minute, 2, speed=0.8)
        assert driver.tick(minute) == []
    driver.report(OPEN_SEA, 120, 1, speed=0.5)
    found = driver.tick(120)
    assert keys(found) == {"encounter:pair:1:2"}
    alert = found[0]
    assert (alert.severity, alert.vessel_id, round(alert.details["distance_m"])) == ("medium", 1, 224)
    assert [v["id"] for v in alert.details["vessels"]] == [1, 2]
    assert alert.title == "Encounter at sea: MMSI 412000001 and MMSI 412000002 together for 2 h 0 min"
    assert driver.tick(120 + ENCOUNTER_SCAN_S / 120) == []  # between scans
    driver.report(offset(OPEN_SEA, 3000, 0), 125, 2, speed=0.5)  # they part
    assert keys(driver.tick(125), active=False) == {"encounter:pair:1:2"}
    assert driver.tick(130) == []


def test_boats_moored_side_by_side_in_port_are_not_an_encounter() -> None:
    driver = Driver(EncounterRule())
    for minute in range(0, 181, 30):
        driver.report(SHANWEI_PORT, minute, 1, speed=0.0, status=5)
        driver.report(offset(SHANWEI_PORT, 6, 0), minute, 2, speed=0.0, status=0)  # status not set aboard
        assert driver.tick(minute) == []


def test_no_encounter_when_fast_stale_far_or_not_a_boat() -> None:
    cases: list[tuple[dict[str, Any], dict[str, Any], tuple[float, float]]] = [
        ({"speed": 0.5}, {"speed": 6.0}, offset(OPEN_SEA, 100, 0)),  # one is under way
        ({"speed": 0.5}, {"speed": 0.5}, offset(OPEN_SEA, 700, 0)),  # too far apart
        ({"speed": 0.5}, {"speed": 0.5, "mmsi": BUOY_MMSI}, offset(OPEN_SEA, 50, 0)),  # a net buoy
        ({"speed": 0.5}, {"speed": None}, offset(OPEN_SEA, 50, 0)),  # speed unknown
    ]
    for first, second, where in cases:
        driver = Driver(EncounterRule())
        found: list[Condition] = []
        for minute in range(0, 181, 30):
            driver.report(OPEN_SEA, minute, 1, **first)
            driver.report(where, minute, 2, **second)
            found += driver.tick(minute)
        assert found == [], second
    # Two terminals without a GNSS fix both "at" 0, 0.
    driver = Driver(EncounterRule())
    for minute in range(0, 181, 30):
        driver.report((0.0, 0.0), minute, 1, speed=0.0)
        driver.report((0.0, 0.0), minute, 2, speed=0.0)
        assert driver.tick(minute) == []
    # Positions gone silent for longer than a lost contact are not used.
    driver = Driver(EncounterRule())
    driver.report(OPEN_SEA, 0, 1, speed=0.5)
    driver.report(offset(OPEN_SEA, 50, 0), 0, 2, speed=0.5)
    assert [c for minute in range(0, 181, 30) for c in driver.tick(minute)] == []


def test_close_pairs_finds_every_pair_once_and_no_other() -> None:
    rng = np.random.default_rng(7)
    lon = 115.3 + rng.uniform(0, 0.05, 600)
    lat = 22.7 + rng.uniform(0, 0.05, 600)
    lon[:3] = [115.31, 115.31 + metres_to_degrees_lon(499, 22.71), 115.31]  # across cell edges
    lat[:3] = [22.71, 22.71, 22.71 + metres_to_degrees_lat(499)]
    i, j, distance = close_pairs(lon, lat, 500.0)
    found = {(min(a, b), max(a, b)) for a, b in zip(i.tolist(), j.tolist(), strict=True)}
    assert len(found) == len(i)  # no pair twice
    every = haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    expected = {(a, b) for a, b in zip(*np.nonzero(every <= 500.0), strict=True) if a < b}
    assert found == expected and {(0, 1), (0, 2)} <= found
    assert np.allclose(distance, every[i, j])
    assert [len(x) for x in close_pairs(lon[:1], lat[:1], 500.0)] == [0, 0, 0]


# --- loitering -------------------------------------------------------------------------------------


def circling(centre: tuple[float, float], minute: float, radius_m: float = 600.0) -> tuple[float, float]:
    """A boat going round a 600 m circle once every 40 minutes (about 3 kn)."""
    angle = 2 * math.pi * minute / 40
    return offset(centre, radius_m * math.cos(angle), radius_m * math.sin(angle))


def circle_for(driver: Driver, centre: tuple[float, float], minutes: range) -> list[Condition]:
    return [
        c for m in minutes for c in driver.report(circling(centre, m), m, speed=3.0, course=0.0, heading=0)
    ]


def test_a_vessel_staying_at_sea_for_three_hours_loiters() -> None:
    driver = Driver(LoiteringRule())
    assert circle_for(driver, OPEN_SEA, range(0, 180, 5)) == []
    (alert,) = circle_for(driver, OPEN_SEA, range(180, 181))
    assert (alert.key, alert.severity, alert.title) == (
        "loitering:vessel:1",
        "low",
        "Loitering at sea for 3 h 0 min",
    )
    (cleared,) = driver.report(offset(OPEN_SEA, 5000, 0), 200, speed=9.0)
    assert not cleared.active


def test_a_trawler_at_work_in_its_fishing_area_is_not_loitering() -> None:
    driver = Driver(LoiteringRule())
    driver.feed(ais_static(412_000_001, ship_type=30, ts=T0))
    assert circle_for(driver, FISHING_GROUNDS, range(0, 300, 5)) == []
    # The same boat doing the same outside any fishing area is loitering.
    found = circle_for(driver, OPEN_SEA, range(300, 600, 5))
    assert keys(found) == {"loitering:vessel:1"}


def test_a_non_fishing_vessel_in_a_fishing_area_loiters() -> None:
    found = circle_for(Driver(LoiteringRule()), FISHING_GROUNDS, range(0, 200, 5))
    assert keys(found) == {"loitering:vessel:1"}


def test_in_harbour_without_a_fix_or_as_a_buoy_nothing_loiters() -> None:
    driver = Driver(LoiteringRule())
    assert [c for m in range(0, 600, 10) for c in driver.report(SHANWEI_PORT, m, speed=0.0)] == []
    no_fix = Driver(LoiteringRule())
    for m in range(0, 600, 10):
        terminal = jt808_position(lon=0.0, lat=0.0, fix=False, ts=T0 + timedelta(minutes=m))
        assert no_fix.feed(terminal) == []
    buoy = Driver(LoiteringRule())
    assert [c for m in range(0, 600, 10) for c in buoy.report(OPEN_SEA, m, mmsi=BUOY_MMSI, speed=0.0)] == []
