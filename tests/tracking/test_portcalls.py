"""Port-call detection on simulated Shanwei tracks (no recorded track in ../shared/data enters a Shanwei
harbour: the recordings are Danish and US), including GPS jitter at the harbour mouth, and gate reads."""

from datetime import datetime, timedelta

import pytest

from tests.tracking.sim_tracks import BERTH, MOUTH, SEA, T0, Point, day_trip, moored, steam, then
from tracking.portcalls import (
    Arrival,
    Config,
    Departure,
    Event,
    Fix,
    GateConfirmed,
    GateContradicted,
    GateRead,
    PortCallDetector,
    track_from_json,
    track_to_json,
)
from tracking.zones import ZoneIndex, demo_zone_features, zone_from_feature

V = 7


@pytest.fixture
def zones() -> ZoneIndex:
    return ZoneIndex(zone_from_feature(f) for f in demo_zone_features())


def feed(detector: PortCallDetector, points: list[Point], vessel: int = V) -> list[Event]:
    events: list[Event] = []
    for p in points:
        events += detector.position(Fix(vessel, p.ts, p.lon, p.lat, p.speed))
    return events


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_a_day_trip_is_one_departure_one_voyage_one_arrival_despite_jitter_at_the_mouth(
    zones: ZoneIndex,
) -> None:
    detector = PortCallDetector(zones)
    track = day_trip(jitter_m=25.0)
    events = feed(detector, track)
    assert kinds(events) == ["Arrival", "Departure", "Arrival"]
    initial, departure, arrival = events
    assert isinstance(initial, Arrival) and initial.method == "initial" and initial.zone.id == "shanwei-port"
    assert isinstance(departure, Departure) and departure.method == "track"
    # Departed when it first left the polygon on the way out, not when it reached the buffer.
    leaving = next(p for p in track if p.ts > T0 + timedelta(hours=1) and p.lat < 22.755)
    assert departure.at == leaving.ts
    assert isinstance(arrival, Arrival) and arrival.method == "track" and arrival.zone.id == "shanwei-port"
    assert arrival.voyage is not None
    voyage = arrival.voyage
    assert voyage.departed_at == departure.at
    # Arrival time is the entry into the polygon, not the end of the dwell.
    entering = next(p for p in track if p.ts > departure.at + timedelta(hours=3) and p.lat >= 22.755)
    assert abs((arrival.at - entering.ts).total_seconds()) <= 60
    assert 25_000 < voyage.distance_m < 40_000
    # Half an hour moored inside the protected area, plus the way in and out of its box.
    inside = [115.415 <= p.lon <= 115.445 and 22.65 <= p.lat <= 22.68 for p in track]  # boundary is in
    expected = sum(
        (b.ts - a.ts).total_seconds()
        for a, b, i, j in zip(track, track[1:], inside, inside[1:], strict=False)
        if i and j
    )
    assert voyage.zone_seconds["islets-mpa"] == pytest.approx(expected)
    assert expected > 1800


def test_a_vessel_moored_on_the_boundary_for_a_day_never_flaps(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones)
    track = moored(MOUTH, T0, 24, jitter_m=40.0)
    assert sum(p.lat < 22.755 for p in track) > 1000  # plenty of fixes outside the polygon
    events = feed(detector, track)
    assert kinds(events) == ["Arrival"]
    assert detector.track(V).port == "shanwei-port"


def test_arriving_at_the_mouth_with_jitter_is_one_arrival(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones)
    track = steam(SEA, MOUTH, T0, 6) + moored(MOUTH, T0 + timedelta(hours=1), 6, jitter_m=40.0)
    events = feed(detector, track)
    assert kinds(events) == ["Arrival"]
    assert events[0].method == "track"  # type: ignore[union-attr]


def test_steaming_through_a_harbour_box_is_no_arrival(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones)
    track = steam((115.37, 22.74), (115.37, 22.80), T0, 8)  # straight across the port box
    assert feed(detector, track) == []
    assert detector.track(V).port is None


def test_slow_but_short_is_no_arrival(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones)
    inside = steam(SEA, BERTH, T0, 8)
    loiter = moored(BERTH, then(inside), 0.05)  # 3 minutes < 5 minutes of dwell
    out = steam(BERTH, SEA, then(loiter) + timedelta(seconds=10), 8)
    assert feed(detector, inside + loiter + out) == []


def test_an_arrival_that_falls_silent_is_confirmed_by_the_clock(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones)
    track = steam(SEA, BERTH, T0, 6) + moored(BERTH, T0 + timedelta(hours=1), 0.02)  # then the AIS is off
    assert kinds(feed(detector, track)) == []
    assert detector.tick(then(track) + timedelta(seconds=60)) == []
    events = detector.tick(then(track) + timedelta(minutes=10))
    assert kinds(events) == ["Arrival"]


def test_a_gate_read_before_the_departure_confirms_it(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones)
    stay = moored(BERTH, T0, 1)
    feed(detector, stay)
    assert detector.gate_read(GateRead(V, then(stay), "out", "shanwei-port", "gate-1")) == []
    events = feed(detector, steam(BERTH, SEA, then(stay), 8))
    departure = next(e for e in events if isinstance(e, Departure))
    assert departure.gate_at == then(stay)


def test_a_gate_read_after_the_arrival_confirms_it(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones)
    events = feed(detector, steam(SEA, BERTH, T0, 8) + moored(BERTH, T0 + timedelta(hours=1), 1))
    arrival = next(e for e in events if isinstance(e, Arrival))
    assert arrival.gate_at is None
    confirmed = detector.gate_read(GateRead(V, arrival.at + timedelta(minutes=5), "in", "shanwei-port"))
    assert confirmed == [
        GateConfirmed(V, "shanwei-port", "in", arrival.at, arrival.at + timedelta(minutes=5))
    ]


def test_a_dark_departure_is_taken_from_the_gate(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones, Config(gate_match_s=600))
    stay = moored(BERTH, T0, 1)
    feed(detector, stay)  # then the transponder is switched off and the boat leaves
    read_at = then(stay) + timedelta(minutes=5)
    detector.gate_read(GateRead(V, read_at, "out", "shanwei-port"))
    assert detector.tick(read_at + timedelta(minutes=5)) == []
    events = detector.tick(read_at + timedelta(minutes=11))
    assert len(events) == 1 and isinstance(events[0], Departure)
    assert (events[0].method, events[0].at) == ("gate", read_at)
    assert detector.track(V).voyage is not None


def test_a_gate_read_the_track_contradicts_is_reported(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones, Config(gate_match_s=600))
    stay = moored(BERTH, T0, 3)
    feed(detector, stay[:360])
    read = GateRead(V, stay[360].ts, "out", "shanwei-port", "gate-1")
    detector.gate_read(read)
    feed(detector, stay[360:])  # still moored, reporting, for two more hours
    events = detector.tick(then(stay))
    assert events == [GateContradicted(read, "out through the gate, but the track stayed in port")]
    assert detector.track(V).port == "shanwei-port"


def test_state_survives_json_and_resumes_identically(zones: ZoneIndex) -> None:
    track = day_trip()
    cut = len(track) // 2
    whole = PortCallDetector(zones)
    expected = feed(whole, track)
    first = PortCallDetector(zones)
    events = feed(first, track[:cut])
    first.gate_read(GateRead(V, track[cut].ts, "in", None, "gate-9"))
    resumed = PortCallDetector(zones)
    resumed.vessels[V] = track_from_json(V, track_to_json(first.track(V)))
    assert track_to_json(resumed.track(V)) == track_to_json(first.track(V))
    events += feed(resumed, track[cut:])
    assert [(type(e), getattr(e, "at", None)) for e in events] == [
        (type(e), getattr(e, "at", None)) for e in expected
    ]


def test_late_and_repeated_fixes_are_ignored(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones)
    track = steam(SEA, BERTH, T0, 8)
    feed(detector, track)
    before = track_to_json(detector.track(V))
    assert feed(detector, track[:10]) == []
    assert track_to_json(detector.track(V)) == before


def test_first_sight_inside_but_moving_is_not_yet_in_port(zones: ZoneIndex) -> None:
    detector = PortCallDetector(zones)
    assert detector.position(Fix(V, T0, *BERTH, speed=6.0)) == []
    assert detector.track(V).port is None
    start: datetime = T0 + timedelta(seconds=10)
    assert kinds(feed(detector, moored(BERTH, start, 0.2))) == ["Arrival"]
