"""Scenario files: the shipped ones load, and mistakes are refused before any traffic is sent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulators.scenario import (
    ScenarioError,
    load_scenario,
    parse_duration,
    parse_scenario,
    shipped_scenarios,
)

EVENTS = {
    "sart",
    "man_overboard",
    "emergency_button",
    "go_dark",
    "engine_failure",
    "collision_course",
    "enter_zone",
    "fishing_in_closure",
    "typhoon_warning",
    "share_mmsi",
    "position_jump",
}


def test_at_least_six_scenarios_are_shipped_covering_every_scripted_emergency() -> None:
    names = shipped_scenarios()
    assert len(names) >= 6 and "demo" in names
    scenarios = [load_scenario(name) for name in names]
    assert {e.action for s in scenarios for e in s.events} >= EVENTS
    assert all(s.title and s.events and s.expected_kinds() for s in scenarios)


def test_the_demo_scenario_has_200_vessels_and_an_emergency_in_its_first_two_minutes() -> None:
    demo = load_scenario("demo")
    assert demo.fleet.fishing + demo.fleet.cargo + len(demo.vessels) >= 200
    first = min(demo.events, key=lambda e: e.at)
    assert first.at <= 120 and "distress" in first.expect


def test_a_scenario_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "title: mine\nduration: 90s\nvessels: [{id: a, at: [115.5, 22.5]}]\n"
        "events: [{at: 30s, action: go_dark, vessel: a, expect: [lost_contact]}]\n"
    )
    scenario = load_scenario(path)
    assert (scenario.name, scenario.duration, scenario.events[0].at) == ("mine", 90.0, 30.0)


ONE = "vessels: [{id: a, at: [115.5, 22.5]}]\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("events: [{at: 1m, action: explode, vessel: a}]", "action"),
        (
            "vessels: [{id: a, at: [115.5, 22.5]}]\nevents: [{at: 1m, action: go_dark, vessel: b}]",
            "unknown vessel",
        ),
        (
            ONE + "events: [{at: 1m, action: go_dark, vessel: a, expect: [fire]}]",
            "unknown alert kind",
        ),
        (
            "duration: 1m\n" + ONE + "events: [{at: 2m, action: go_dark, vessel: a}]",
            "after the end",
        ),
        ("vessels: [{id: a, activity: fishing}]", "`at` is needed"),
        ("vessels: [{id: a, at: [115.5, 22.5], colour: red}]", "Extra inputs"),
        ("start: tomorrow", "start"),
        ("duration: soon", "not a duration"),
        ("- just a list", "mapping"),
        ("title: [unclosed", "not YAML"),
    ],
)
def test_mistakes_are_refused_with_where_and_why(text: str, problem: str) -> None:
    with pytest.raises(ScenarioError, match=problem):
        parse_scenario(text, "bad")


def test_an_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match=r"shipped ones: .*sart"):
        load_scenario("no-such-thing")


def test_durations_and_start_times() -> None:
    assert [parse_duration(v) for v in (90, "90s", "15m", "2h", "1.5m")] == [90, 90, 900, 7200, 90]
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert parse_scenario("start: now").start_time(now) == now
    assert parse_scenario('start: "06:30"').start_time(now) == datetime(2026, 11, 1, 22, 30, tzinfo=UTC)
    iso = parse_scenario('start: "2026-07-01T05:00:00+08:00"').start_time(now)
    assert iso == datetime(2026, 6, 30, 21, 0, tzinfo=UTC)
