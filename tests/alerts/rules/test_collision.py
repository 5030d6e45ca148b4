"""CPA/TCPA on worked examples, and CollisionRule with a fake clock: pairs at risk, what is not a risk,
dead reckoning, clearing, and the grid pre-filter against brute force."""

from __future__ import annotations

import random

import numpy as np
import pytest

from alerts.rules.base import pair_key
from alerts.rules.collision import CollisionRule, cpa_tcpa, severity_of, velocity_ms
from tests.alerts.rules.sea_support import (
    OPEN_SEA,
    SHANWEI_PORT,
    T0,
    Harness,
    active,
    cleared_keys,
    position,
    seconds,
)
from tracking.geo import EARTH_RADIUS_M, KNOT_MS, METRES_PER_NM, metres_to_degrees_lat, metres_to_degrees_lon

NM = METRES_PER_NM
KEY = "collision_risk:pair:1:2"


def at(east_m: float, north_m: float, origin: tuple[float, float] = OPEN_SEA) -> tuple[float, float]:
    return (
        origin[0] + metres_to_degrees_lon(east_m, origin[1]),
        origin[1] + metres_to_degrees_lat(north_m),
    )


def relative(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> tuple[float, float]:
    """CPA (m) and TCPA (s) of vessels given as (east m, north m, speed kn, course °)."""
    avx, avy = velocity_ms(a[2], a[3])
    bvx, bvy = velocity_ms(b[2], b[3])
    cpa, tcpa = cpa_tcpa(b[0] - a[0], b[1] - a[1], bvx - avx, bvy - avy)
    return float(cpa), float(tcpa)


# --- worked examples -----------------------------------------------------------------------------------


def test_velocity_from_speed_and_course() -> None:
    east, north = velocity_ms(10.0, 90.0)
    assert float(east) == pytest.approx(10 * KNOT_MS) and float(north) == pytest.approx(0.0, abs=1e-9)
    east, north = velocity_ms(10.0, 180.0)
    assert float(east) == pytest.approx(0.0, abs=1e-9) and float(north) == pytest.approx(-10 * KNOT_MS)


def test_head_on() -> None:
    # 2 nm apart, closing at 20 kn: they meet in 0.1 h = 360 s.
    cpa, tcpa = relative((0, 0, 10, 0), (0, 2 * NM, 10, 180))
    assert cpa == pytest.approx(0.0, abs=1e-6) and tcpa == pytest.approx(360.0)
    # Offset 0.2 nm to starboard: they pass 0.2 nm apart at the same moment.
    cpa, tcpa = relative((0, 0, 10, 0), (0.2 * NM, 2 * NM, 10, 180))
    assert cpa == pytest.approx(0.2 * NM) and tcpa == pytest.approx(360.0)


def test_crossing_at_right_angles() -> None:
    # A north at 10 kn; B 1 nm east and 1 nm north, west at 10 kn: both reach (0, 1 nm) after 360 s.
    cpa, tcpa = relative((0, 0, 10, 0), (NM, NM, 10, 270))
    assert cpa == pytest.approx(0.0, abs=1e-6) and tcpa == pytest.approx(360.0)
    # B starts only 0.5 nm north: it crosses ahead of A; relative track from (1, 0.5) nm along (-1, -1).
    cpa, tcpa = relative((0, 0, 10, 0), (NM, 0.5 * NM, 10, 270))
    assert tcpa == pytest.approx(1.5 * NM / (2 * 10 * KNOT_MS))  # (p·w)/|w|² = 1.5 nm·v / 2v²
    assert cpa == pytest.approx(0.25 * NM * np.sqrt(2))  # the (0.25, -0.25) nm offset left over


def test_parallel_at_the_same_speed_keeps_its_distance() -> None:
    cpa, tcpa = relative((0, 0, 8, 45), (100, 0, 8, 45))
    assert cpa == pytest.approx(100.0) and tcpa == 0.0


def test_diverging_has_its_closest_point_in_the_past() -> None:
    cpa, tcpa = relative((0, 0, 10, 180), (0, NM, 10, 0))
    assert tcpa == pytest.approx(-NM / (20 * KNOT_MS)) and tcpa < 0
    assert cpa == pytest.approx(0.0, abs=1e-6)


def test_cpa_tcpa_works_on_arrays() -> None:
    cpa, tcpa = cpa_tcpa(
        np.array([0.0, 100.0]), np.array([1000.0, 0.0]), np.array([0.0, 0.0]), np.array([-10.0, 0.0])
    )
    assert cpa.tolist() == pytest.approx([0.0, 100.0]) and tcpa.tolist() == pytest.approx([100.0, 0.0])


def test_severity_thresholds() -> None:
    assert severity_of(0.3 * NM, 600) == "medium"
    assert severity_of(0.3 * NM, 179) == "high"
    assert severity_of(0.09 * NM, 600) == "high"


# --- the rule --------------------------------------------------------------------------------------------


def head_on(h: Harness, offset_nm: float = 0.2, apart_nm: float = 2.0, t: float = 0) -> None:
    h.record(1, position(at(0, 0), T0 + seconds(t), speed=10.0, course=0.0))
    h.record(
        2,
        position(
            at(offset_nm * NM, apart_nm * NM), T0 + seconds(t), mmsi=412_000_002, speed=10.0, course=180.0
        ),
    )


def test_two_vessels_closing_are_one_pair_alert_that_escalates_and_clears_when_passed() -> None:
    h = Harness(CollisionRule())
    head_on(h)
    (alert,) = h.tick(T0)
    assert (alert.kind, alert.key, alert.active, alert.severity) == ("collision_risk", KEY, True, "medium")
    assert alert.details["cpa_nm"] == pytest.approx(0.2, abs=0.002)
    assert alert.details["tcpa_s"] == pytest.approx(360, abs=2)
    assert [v["id"] for v in alert.details["vessels"]] == [1, 2] and alert.vessel_id == 1
    # Four minutes on, both report again 0.67 nm apart: two minutes to the closest point.
    head_on(h, apart_nm=2.0 - 20 * 240 / 3600, t=240)
    (closer,) = h.tick(T0 + seconds(240))
    assert closer.severity == "high" and closer.details["tcpa_s"] == pytest.approx(120, abs=2)
    # They have passed: 1 nm beyond each other, both still reporting.
    head_on(h, apart_nm=-1.0, t=540)
    assert cleared_keys(h.tick(T0 + seconds(540))) == [KEY]
    assert h.tick(T0 + seconds(541)) == []


def test_positions_are_dead_reckoned_to_now() -> None:
    h = Harness(CollisionRule())
    # Vessel 1 reported 60 s ago, 600 m further south than it is now (10 kn ≈ 5.14 m/s).
    h.record(1, position(at(0, -60 * 10 * KNOT_MS), T0 - seconds(60), speed=10.0, course=0.0))
    h.record(2, position(at(0.2 * NM, 2 * NM), T0, mmsi=412_000_002, speed=10.0, course=180.0))
    (alert,) = h.tick(T0)
    assert alert.details["tcpa_s"] == pytest.approx(360, abs=2)


def test_a_drifting_buoy_is_not_a_collision() -> None:
    h = Harness(CollisionRule())
    h.record(1, position(at(0, 0), T0, speed=10.0, course=0.0))
    # An aid to navigation (type 21) reports no speed or course.
    h.record(7, position(at(0, NM), T0, mmsi=994_121_007, msg_type=21, speed=None, course=None))
    # One with a tracker that reports 1.5 kn of drift is still a buoy, by its MMSI.
    h.record(8, position(at(10, 0.5 * NM), T0, mmsi=994_121_008, speed=1.5, course=180.0))
    assert h.tick(T0) == []


def test_stopped_stale_and_in_port_vessels_are_not_projected() -> None:
    h = Harness(CollisionRule())
    h.record(1, position(at(0, 0), T0, speed=10.0, course=0.0))
    h.record(2, position(at(0, 0.5 * NM), T0, mmsi=412_000_002, speed=0.2, course=180.0))  # stopped
    h.record(3, position(at(0, 1.0 * NM), T0 - seconds(121), mmsi=412_000_003, speed=10.0, course=180.0))
    h.record(4, position(at(0, 1.5 * NM), T0, mmsi=412_000_004, speed=10.0))  # no course
    h.record(4, position(at(0, 1.5 * NM), T0, mmsi=412_000_004, speed=10.0, course=None))
    assert h.tick(T0) == []
    port = Harness(CollisionRule())
    port.record(1, position(at(0, -300, SHANWEI_PORT), T0, speed=3.0, course=0.0))
    port.record(2, position(at(0, 300, SHANWEI_PORT), T0, mmsi=412_000_002, speed=3.0, course=180.0))
    assert port.tick(T0) == []


def test_pair_trawlers_side_by_side_are_not_a_risk() -> None:
    h = Harness(CollisionRule())
    h.record(1, position(at(0, 0), T0, speed=3.5, course=200.0, status=7))
    h.record(2, position(at(120, 0), T0, mmsi=412_000_002, speed=3.5, course=200.0, status=7))
    assert h.tick(T0) == []


def test_a_turn_away_clears_and_a_vessel_gone_silent_clears_after_its_cpa_time() -> None:
    h = Harness(CollisionRule())
    head_on(h)
    assert active(h.tick(T0))
    # Vessel 2 turns to starboard, away: both evaluated, no risk.
    h.record(2, position(at(0.2 * NM, 2 * NM), T0 + seconds(10), mmsi=412_000_002, speed=10.0, course=90.0))
    h.record(1, position(at(0, 0), T0 + seconds(10), speed=10.0, course=0.0))
    assert cleared_keys(h.tick(T0 + seconds(10))) == [KEY]
    # Again head-on, then vessel 2 falls silent: the alert stays until the predicted CPA has passed.
    h2 = Harness(CollisionRule())
    head_on(h2)
    assert active(h2.tick(T0))
    for t in (60, 120, 180):
        h2.record(1, position(at(0, t * 10 * KNOT_MS), T0 + seconds(t), speed=10.0, course=0.0))
    assert h2.tick(T0 + seconds(180)) == []  # 2 is 180 s old: not projected, not cleared either
    assert h2.tick(T0 + seconds(359)) == []
    assert cleared_keys(h2.tick(T0 + seconds(361))) == [KEY]


def test_the_grid_finds_exactly_the_pairs_brute_force_finds_without_trying_them_all() -> None:
    rng = random.Random(20260701)
    h = Harness(CollisionRule())
    n = 2000
    for v in range(1, n + 1):
        east, north = rng.uniform(0, 150_000), rng.uniform(0, 150_000)
        speed, course, age = rng.uniform(1.5, 14.0), rng.uniform(0, 360), rng.uniform(0, 100)
        h.record(
            v, position(at(east, north), T0 - seconds(age), mmsi=412_000_000 + v, speed=speed, course=course)
        )
    rule = h.rule
    assert isinstance(rule, CollisionRule)
    found = {c.key for c in h.tick(T0)}
    assert rule.pairs_examined < n * (n - 1) / 2 / 10  # 150 km square, cells of about 13 km

    # Brute force over every pair, each projected around its own first vessel.
    cols = h.fleet.arrays()
    lon, lat = np.radians(cols.lon), np.radians(cols.lat)
    vx, vy = velocity_ms(cols.speed, cols.course)
    ages = T0.timestamp() - cols.ts
    first, second = np.triu_indices(len(cols), 1)
    dx = (lon[second] - lon[first]) * EARTH_RADIUS_M * np.cos(lat[first])
    dy = (lat[second] - lat[first]) * EARTH_RADIUS_M
    dx += vx[second] * ages[second] - vx[first] * ages[first]
    dy += vy[second] * ages[second] - vy[first] * ages[first]
    cpa, tcpa = cpa_tcpa(dx, dy, vx[second] - vx[first], vy[second] - vy[first])
    risky = (cpa < 0.5 * NM) & (tcpa > 0) & (tcpa < 720)
    ids = cols.vessel_ids
    expected = {
        pair_key("collision_risk", int(ids[i]), int(ids[j]))
        for i, j in zip(first[risky], second[risky], strict=True)
    }
    assert len(expected) > 20  # the scene is dense enough to mean something
    # The rule projects a whole cell group around one point: a few metres of difference over tens of
    # kilometres, which may only tip a pair that sits on the threshold itself.
    index = {int(v): k for k, v in enumerate(ids)}
    assert len(found ^ expected) <= 2, found ^ expected
    for key in found ^ expected:
        a, b = (index[int(part)] for part in key.split(":")[2:])
        (row,) = np.flatnonzero((first == min(a, b)) & (second == max(a, b)))
        c, t = float(cpa[row]), float(tcpa[row])
        assert abs(c - 0.5 * NM) < 5 or abs(t - 720) < 2 or abs(t) < 1, (key, c, t)
