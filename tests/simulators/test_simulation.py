"""The simulation core, without I/O: a fixed seed gives the same run, and each scripted action does what
its alert needs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
import shapely

from simulators.ais_out import SHANWEI_RECEIVERS, ReceiverNetwork
from simulators.fleet import MOB_MMSI_BASE, NOT_UNDER_COMMAND, SART_MMSI_BASE, FleetSpec
from simulators.geography import Geography
from simulators.scenario import Scenario, load_scenario, parse_scenario
from simulators.simulation import (
    AisOut,
    CapOut,
    Emission,
    EventMark,
    ScenarioProblem,
    Simulation,
    TerminalOut,
)
from tracking.geo import METRES_PER_NM, haversine_m

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanwei


@pytest.fixture(scope="module")
def geography() -> Geography:
    return Geography.shanwei()


def run(geography: Geography, scenario: str | Scenario) -> tuple[Simulation, list[Emission]]:
    if isinstance(scenario, str):
        scenario = parse_scenario(scenario, "t")
    simulation = Simulation(scenario, geography, start=START)
    return simulation, list(simulation.run())


def positions(emissions: list[Emission], mmsi: int) -> list[AisOut]:
    return [
        e for e in emissions if isinstance(e, AisOut) and e.fields.get("mmsi") == mmsi and "lon" in e.fields
    ]


def test_a_fixed_seed_gives_the_same_run_and_another_seed_another(geography: Geography) -> None:
    scenario = load_scenario("demo")
    fleet = FleetSpec(fishing=30, cargo=3)

    def emissions(seed: int) -> list[Emission]:
        simulation = Simulation(scenario, geography, start=START, seed=seed, fleet=fleet)
        return list(simulation.run(600.0))

    first = emissions(7)
    assert first == emissions(7)
    assert first != emissions(8)
    radio = [ReceiverNetwork(SHANWEI_RECEIVERS, seed=7) for _ in range(2)]
    where = [(e.lon, e.lat) for e in first if isinstance(e, AisOut)][:200]
    assert [radio[0].copies(*p) for p in where] == [radio[1].copies(*p) for p in where]


def test_every_event_is_marked_with_who_was_involved_and_what_is_expected(geography: Geography) -> None:
    _, out = run(geography, load_scenario("sart"))
    (mark,) = [e for e in out if isinstance(e, EventMark)]
    assert (mark.t, mark.action, mark.expect) == (60.0, "sart", ("distress",))
    names = [v["name"] for v in mark.vessels]
    assert names == ["YUE SHAN YU 60101", "SART"]
    assert mark.vessels[1]["mmsi"] == SART_MMSI_BASE + 1


VICTIM = """
duration: 5m
vessels:
  - {id: v, kind: trawler, ais: A, terminal: true, at: [115.45, 22.56], activity: fishing}
  - {id: w, kind: trawler, ais: B, at: [115.60, 22.56], activity: fishing}
events:
  - {at: 1m, action: %s, vessel: v%s}
"""


def test_a_sart_transmits_status_14_and_its_text_from_where_the_boat_was(geography: Geography) -> None:
    _, out = run(geography, VICTIM % ("sart", ""))
    device = positions(out, SART_MMSI_BASE + 1)
    assert device and device[0].t == 60.0 and {d.fields["status"] for d in device} == {14}
    texts = [e for e in out if isinstance(e, AisOut) and e.fields["msg_type"] == 14]
    assert texts and texts[0].fields["text"] == "SART ACTIVE"
    boat = positions(out, 412990000)
    before = max((b for b in boat if b.t <= 60), key=lambda b: b.t)
    assert haversine_m(before.lon, before.lat, device[0].lon, device[0].lat) < 100


def test_man_overboard_the_beacon_drifts_and_the_boat_turns_back_and_stops(geography: Geography) -> None:
    _, out = run(geography, VICTIM % ("man_overboard", ""))
    beacon = positions(out, MOB_MMSI_BASE + 1)
    assert beacon and {b.fields["status"] for b in beacon} == {14}
    boat = positions(out, 412990000)
    last, mob = boat[-1], beacon[-1]
    assert haversine_m(last.lon, last.lat, mob.lon, mob.lat) < 300
    assert last.fields["speed"] < 1.0


def test_the_emergency_button_sets_alarm_bit_0_and_reports_every_10_s(geography: Geography) -> None:
    _, out = run(geography, VICTIM % ("emergency_button", ""))
    alarms = [e for e in out if isinstance(e, TerminalOut) and e.alarm_bits & 1]
    assert alarms[0].t == 60.0
    assert {round(b.t - a.t, 6) for a, b in itertools.pairwise(alarms)} == {10.0}
    with pytest.raises(ScenarioProblem, match="has no terminal"):
        run(geography, (VICTIM % ("emergency_button", "")).replace("vessel: v}", "vessel: w}"))


def test_a_vessel_gone_dark_sends_nothing_more(geography: Geography) -> None:
    _, out = run(geography, VICTIM % ("go_dark", ""))
    after = [e for e in out if getattr(e, "vessel", None) == 0 and getattr(e, "t", 0) > 60]
    assert after == []
    assert [e for e in out if isinstance(e, AisOut) and e.fields.get("mmsi") == 412990001 and e.t > 60]


def test_engine_failure_is_status_not_under_command_and_drift(geography: Geography) -> None:
    _, out = run(geography, VICTIM % ("engine_failure", ""))
    after = [p for p in positions(out, 412990000) if p.t > 61]
    assert after and {p.fields["status"] for p in after} == {NOT_UNDER_COMMAND}
    assert all(p.fields["speed"] < 1.5 for p in after)


def test_a_position_jump_moves_three_reports_30_km_and_then_comes_back(geography: Geography) -> None:
    _, out = run(
        geography, VICTIM % ("position_jump", ", params: {distance_m: 30000, bearing: 200, reports: 3}")
    )
    reports = positions(out, 412990000)
    home = [r for r in reports if r.t <= 60][-1]
    far = [r for r in reports if haversine_m(home.lon, home.lat, r.lon, r.lat) > 25_000]
    assert len(far) == 3 and all(r.t > 60 for r in far)
    assert haversine_m(home.lon, home.lat, reports[-1].lon, reports[-1].lat) < 3_000


def test_a_shared_mmsi_is_two_transmitters_20_km_apart(geography: Geography) -> None:
    _, out = run(geography, VICTIM % ("share_mmsi", ", params: {distance_m: 20000, bearing: 90}"))
    reports = [r for r in positions(out, 412990000) if r.t > 61]
    places = {r.vessel for r in reports}
    assert len(places) == 2
    first, second = (next(r for r in reports if r.vessel == v) for v in sorted(places))
    assert 15_000 < haversine_m(first.lon, first.lat, second.lon, second.lat) < 25_000


def test_a_collision_course_brings_the_pair_within_a_tenth_of_a_mile(geography: Geography) -> None:
    _, out = run(geography, load_scenario("collision-course"))
    a, b = (positions(out, 412990000 + i) for i in range(2))
    closest = min(
        haversine_m(p.lon, p.lat, q.lon, q.lat) for p in a for q in b if abs(p.t - q.t) < 5 and p.t > 60
    )
    assert closest < 0.1 * METRES_PER_NM


@pytest.mark.parametrize(
    ("name", "zone"), [("protected-area", "islets-mpa"), ("moratorium", "drill-closure")]
)
def test_a_boat_sent_into_a_zone_ends_inside_it(geography: Geography, name: str, zone: str) -> None:
    simulation, out = run(geography, load_scenario(name))
    polygon = next(z for z in simulation.geo.zones if z.id == zone).geometry
    last = positions(out, 412990000)[-1]
    assert shapely.intersects_xy(polygon, last.lon, last.lat)


def test_a_typhoon_warning_is_a_cap_and_sends_the_fleet_home(geography: Geography) -> None:
    longer = load_scenario("typhoon").model_copy(update={"duration": 3000.0})
    simulation, out = run(geography, longer)
    (cap,) = [e for e in out if isinstance(e, CapOut)]
    assert (cap.t, cap.deadline_s, cap.onset_s) == (60.0, 7200.0, 10800.0)
    assert len(cap.area) == 5
    heading_home = [v for v in simulation.named.values() if v.activity.value in ("inbound", "in_port")]
    assert len(heading_home) >= 2
