"""The fleet model's statistics against the figures it is built to: ITU-R M.1371 reporting intervals per
class, speeds per activity, and boats in port by hour of the (GMT+8) day. Pure: seeded, no clock."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.fleet import (
    LOCAL,
    MOORED,
    STATIC_INTERVAL_S,
    Activity,
    Fleet,
    FleetSpec,
    Kind,
    SpotGrid,
    ais_interval_s,
)
from simulators.geography import Geography, distance_m
from simulators.scenario import Scenario
from simulators.simulation import AisOut, Simulation, TagOut, TerminalOut
from tracking.geo import EARTH_RADIUS_M

# A weekday in November: no fishing closure of the demo zones is in force.
MIDNIGHT = datetime(2026, 11, 2, tzinfo=LOCAL)


@dataclass
class Day:
    in_port_by_hour: dict[int, float]
    speeds: dict[str, list[float]]  # "activity:kind" → speeds sampled each minute
    crossings: dict[int, list[str]]  # vessel → gate directions over the day


@pytest.fixture(scope="module")
def geography() -> Geography:
    return Geography.shanwei()


@pytest.fixture(scope="module")
def day(geography: Geography) -> Day:
    fleet = Fleet(geography, FleetSpec(fishing=60, cargo=6), seed=5, start=MIDNIGHT, dt=10.0)
    in_port: dict[int, list[float]] = defaultdict(list)
    speeds: dict[str, list[float]] = defaultdict(list)
    for minute in range(1, 24 * 60):
        fleet.advance(minute * 60.0)
        in_port[minute // 60].append(fleet.in_port_fraction())
        for vessel in fleet.vessels:
            speeds[f"{vessel.activity.value}:{vessel.kind.value}"].append(vessel.sog)
    crossings: dict[int, list[str]] = defaultdict(list)
    for crossing in fleet.crossings:
        crossings[crossing.vessel.index].append(crossing.direction)
    return Day({h: statistics.mean(v) for h, v in in_port.items()}, dict(speeds), dict(crossings))


def share_within(values: list[float], low: float, high: float) -> float:
    return sum(low <= v <= high for v in values) / len(values)


def test_boats_are_in_port_at_night_out_by_day_and_leave_at_dawn(day: Day) -> None:
    hours = day.in_port_by_hour
    assert all(hours[h] >= 0.95 for h in range(0, 4)), hours
    assert all(hours[h] <= 0.25 for h in range(9, 15)), hours  # only the boats taking the day off
    assert all(hours[h] >= 0.9 for h in range(22, 24)), hours
    first_out = min(h for h in range(24) if hours[h] < 0.5)
    assert 5 <= first_out <= 7, hours  # departures at dawn
    back = min(h for h in range(15, 24) if hours[h] > 0.5)
    assert 16 <= back <= 20, hours


def test_speeds_per_activity(day: Day) -> None:
    transit = (
        day.speeds["outbound:trawler"] + day.speeds["inbound:trawler"] + day.speeds["outbound:gillnetter"]
    )
    # Acceleration out of the berth takes a minute or so: nearly every sample is at passage speed.
    assert share_within(transit, 8.0, 10.0) >= 0.9
    trawling = day.speeds["fishing:trawler"]
    assert share_within(trawling, 3.0, 4.0) >= 0.95
    assert 3.3 <= statistics.median(trawling) <= 3.8
    gillnets = day.speeds["fishing:gillnetter"]
    assert statistics.median(gillnets) <= 1.2  # lying to the nets, drifting with the tide
    assert share_within(gillnets, 0.05, 1.5) >= 0.7  # the rest is steaming back up to the nets
    assert share_within(day.speeds["passage:cargo"], 12.0, 16.0) >= 0.98
    assert all(v == 0.0 for v in day.speeds["in_port:trawler"] + day.speeds["in_port:gillnetter"])


def test_boats_pass_their_harbour_gate_out_in_the_morning_and_in_again(day: Day) -> None:
    trips = [directions for directions in day.crossings.values() if directions]
    assert len(trips) >= 40
    assert all(directions[0] == "out" and directions[-1] == "in" for directions in trips)


def test_the_reporting_interval_table() -> None:
    assert ais_interval_s("A", 0.0, MOORED, turning=False) == 180.0
    assert ais_interval_s("A", 5.0, MOORED, turning=False) == 10.0  # moored but moving: under way rates
    assert ais_interval_s("A", 9.0, 0, turning=False) == 10.0
    assert ais_interval_s("A", 9.0, 0, turning=True) == pytest.approx(10 / 3)
    assert ais_interval_s("A", 16.0, 0, turning=False) == 6.0
    assert ais_interval_s("A", 16.0, 0, turning=True) == 2.0
    assert ais_interval_s("A", 25.0, 0, turning=False) == 2.0
    assert ais_interval_s("B", 2.5, 0, turning=False) == 30.0
    assert ais_interval_s("B", 1.5, 0, turning=False) == 180.0


@pytest.fixture(scope="module")
def morning(geography: Geography) -> list[object]:
    """Two hours of a fleet's transmissions, from 09:00 local."""
    scenario = Scenario(name="stats", duration=7200.0)
    start = MIDNIGHT.replace(hour=9)
    simulation = Simulation(scenario, geography, start=start, seed=9, fleet=FleetSpec(fishing=40, cargo=4))
    return list(simulation.run())


def intervals(
    emissions: list[object], kinds: tuple[int, ...]
) -> dict[int, list[tuple[dict[str, object], float]]]:
    """Per vessel, each position report's fields and the time to that vessel's next one."""
    by_vessel: dict[int, list[AisOut]] = defaultdict(list)
    for e in emissions:
        if isinstance(e, AisOut) and e.fields["msg_type"] in kinds:
            by_vessel[e.vessel].append(e)
    return {
        v: [(a.fields, round(b.t - a.t, 6)) for a, b in itertools.pairwise(reports)]
        for v, reports in by_vessel.items()
    }


def test_class_a_reports_every_10_s_under_way_3_s_turning_and_3_min_moored(morning: list[object]) -> None:
    seen: dict[str, list[float]] = defaultdict(list)
    for reports in intervals(morning, (1,)).values():
        for fields, gap in reports:
            speed = float(fields["speed"])  # type: ignore[arg-type]
            if fields["status"] == MOORED and speed <= 3:
                seen["moored"].append(gap)
            elif speed <= 14:
                seen["slow"].append(gap)
            else:
                seen["fast"].append(gap)
    assert seen["moored"] and set(seen["moored"]) == {180.0}
    assert set(round(g, 2) for g in seen["slow"]) <= {10.0, 3.33}
    assert 3.33 in {round(g, 2) for g in seen["slow"]}  # trawlers turn at the end of each leg
    assert statistics.median(seen["slow"]) == 10.0
    assert seen["fast"] and set(round(g, 2) for g in seen["fast"]) <= {6.0, 2.0}  # cargo at 14-16 kn


def test_class_b_reports_every_30_s_above_2_kn_and_3_min_below(morning: list[object]) -> None:
    fast, slow = [], []
    for reports in intervals(morning, (18,)).values():
        for fields, gap in reports:
            (fast if float(fields["speed"]) > 2 else slow).append(gap)  # type: ignore[arg-type]
    assert fast and set(fast) == {30.0}
    assert slow and set(slow) == {180.0}


def test_static_data_every_6_minutes(morning: list[object]) -> None:
    for per_vessel in intervals(morning, (5,)).values():
        assert {gap for _, gap in per_vessel} == {STATIC_INTERVAL_S}
    class_b = intervals(morning, (24,))
    assert class_b
    for per_vessel in class_b.values():
        # Parts A and B go together, then six minutes to the next pair.
        assert {gap for _, gap in per_vessel} == {0.0, STATIC_INTERVAL_S}


def test_terminals_report_every_1_to_5_minutes_with_heartbeats_when_idle(morning: list[object]) -> None:
    reports: dict[str, list[float]] = defaultdict(list)
    beats: dict[str, list[float]] = defaultdict(list)
    for e in morning:
        if isinstance(e, TerminalOut):
            (reports if e.kind == "report" else beats)[e.terminal].append(e.t)
    assert len(reports) >= 5
    for terminal, times in reports.items():
        gaps = {round(b - a, 6) for a, b in itertools.pairwise(times)}
        assert len(gaps) == 1 and 60 <= gaps.pop() <= 300, terminal
        for beat in beats.get(terminal, []):
            last = max((t for t in times if t <= beat), default=None)
            assert last is None or beat - last >= 60


def test_an_aisless_boat_is_seen_by_its_terminal_only(geography: Geography) -> None:
    fleet = Fleet(geography, FleetSpec(fishing=200, terminal_fraction=1.0), seed=3, start=MIDNIGHT)
    terminal_only = [v for v in fleet.vessels if v.ident.ais_class is None]
    assert terminal_only and all(v.ident.mmsi is None and v.ident.terminal for v in terminal_only)


def test_tag_reads_only_for_tagged_boats(morning: list[object]) -> None:
    assert all(
        isinstance(e.tag, str) and e.tag.startswith("E2801299") for e in morning if isinstance(e, TagOut)
    )


def test_cargo_ships_keep_to_the_lane_and_never_stop(geography: Geography) -> None:
    fleet = Fleet(geography, FleetSpec(cargo=6), seed=2, start=MIDNIGHT, dt=10.0)
    lane = geography.zone("coastal-shipping-lane")
    assert lane is not None
    west, south, east, north = lane.geometry.bounds
    for step in range(1, 6 * 360):
        fleet.advance(step * 10.0)
        for ship in fleet.vessels:
            assert ship.kind is Kind.CARGO and ship.activity is Activity.PASSAGE
            assert west - 0.1 <= ship.lon <= east + 0.1  # the turns lie a few kilometres beyond the ends
            if west <= ship.lon <= east:
                assert south <= ship.lat <= north


# A box of about 10 km: near and far pairs both common.
spots = st.tuples(st.floats(115.0, 115.1), st.floats(22.0, 22.1))


@given(st.lists(spots, max_size=60), spots)
def test_the_spot_grid_finds_exactly_the_spots_a_pairwise_check_finds(
    taken: list[tuple[float, float]], new: tuple[float, float]
) -> None:
    grid = SpotGrid(2_200.0)
    for spot in taken:
        grid.add(spot)
    assert grid.near(new) == any(distance_m(new, spot) < 2_200.0 for spot in taken)


def test_the_spot_grid_sees_a_neighbour_across_a_cell_edge() -> None:
    # A just west of a multiple of the spacing in degrees, B 2,150 m due east of it: were the cells
    # only `spacing` degrees of longitude wide (narrower than the spacing in metres off the equator),
    # B would fall two cells away and go unseen.
    step = math.degrees(2_200.0 / EARTH_RADIUS_M)
    a = (round(115.0 / step) * step - 1e-6, 22.0)
    b = (a[0] + math.degrees(2_150.0 / (EARTH_RADIUS_M * math.cos(math.radians(22.0)))), 22.0)
    assert 2_100.0 < distance_m(a, b) < 2_200.0
    grid = SpotGrid(2_200.0)
    grid.add(a)
    assert grid.near(b)
    assert not grid.near((a[0] + 0.03, 22.0))
