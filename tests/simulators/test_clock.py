"""Simulated time on the wall clock, and the service settings that match a speed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seawatch.settings import Settings
from simulators.clock import SimClock, time_scaled, time_scaled_env


def test_speed_compresses_the_timeline_and_wire_times_are_the_wall_clock() -> None:
    wall = [1_000_000.0]
    clock = SimClock(10.0, lambda: wall[0])
    assert clock.due(600.0) == 1_000_060.0
    assert clock.wire_time(600.0) == datetime.fromtimestamp(1_000_060.0, UTC)
    assert clock.wait_s(600.0) == 60.0
    wall[0] += 30.0
    assert clock.sim_now() == 300.0 and clock.wait_s(600.0) == 30.0 and clock.wait_s(100.0) == 0.0
    with pytest.raises(ValueError, match="positive"):
        SimClock(0.0)


def test_time_scaled_settings_divide_durations_and_multiply_implied_speeds() -> None:
    base = Settings()
    fast = time_scaled(base, 60.0)
    assert fast.rules.lost_contact.after_s == base.rules.lost_contact.after_s / 60
    assert fast.rules.behaviour.drift_after_s == base.rules.behaviour.drift_after_s / 60
    assert fast.rules.collision.max_age_s == base.rules.collision.max_age_s / 60
    assert fast.rules.spoofing.max_speed_kn == base.rules.spoofing.max_speed_kn * 60
    assert fast.identity.max_implied_speed_kn == base.identity.max_implied_speed_kn * 60
    # Judged on reported course and speed, not on the clock: unchanged.
    assert fast.rules.collision.tcpa_max_s == base.rules.collision.tcpa_max_s
    assert fast.rules.collision.cpa_nm == base.rules.collision.cpa_nm
    assert fast.rules.behaviour.drift_max_kn == base.rules.behaviour.drift_max_kn
    assert time_scaled(base, 1.0) is base


def test_the_same_as_environment_variables() -> None:
    env = time_scaled_env(10.0)
    assert float(env["SEAWATCH_RULES__LOST_CONTACT__AFTER_S"]) == 60.0
    assert float(env["SEAWATCH_RULES__SPOOFING__MAX_SPEED_KN"]) == 600.0
    assert float(env["SEAWATCH_IDENTITY__GATE_SILENCE_S"]) == 180.0
