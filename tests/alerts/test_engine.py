from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.engine import AlertEngine
from alerts.model import Alert, Condition, Position
from alerts.rules.base import Record, Rule, RuleContext, vessel_key
from seawatch.settings import RulesSettings
from tests.tracking.records import ais_position
from tracking.db import Pool
from tracking.fleet import VesselState

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self.mono = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


class Collector:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.positions: list[tuple[int, dict[str, Any]]] = []

    def publish_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def publish_position(self, vessel_id: int, delta: dict[str, Any]) -> None:
        self.positions.append((vessel_id, delta))


class FastVessel(Rule):
    """Test rule: a vessel faster than 20 kn is 'speeding' (a stand-in kind: spoofing), else cleared."""

    name = "fast"

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        key = vessel_key("spoofing", current.vessel_id, "fast")
        if (current.speed or 0) > 20:
            severity = "high" if (current.speed or 0) > 40 else "medium"
            return [
                Condition(
                    kind="spoofing",
                    key=key,
                    severity=severity,
                    title="too fast",
                    vessel_id=current.vessel_id,
                    position=Position(current.lon or 0, current.lat or 0),
                )
            ]
        return [Condition.cleared("spoofing", key)]


class Broken(Rule):
    name = "broken"

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        raise ZeroDivisionError("rule bug")


def engine(pool: Pool, clock: Clock, collector: Collector, *rules: Rule, **settings: Any) -> AlertEngine:
    return AlertEngine(
        pool,
        RulesSettings(**settings),
        list(rules) or [FastVessel()],
        deliver=[collector],
        positions=[collector],
        clock=clock,
        monotonic=clock.monotonic,
    )


async def test_a_condition_becomes_one_alert_and_repeats_cost_nothing(pool: Pool) -> None:
    clock, seen = Clock(), Collector()
    alerts = engine(pool, clock, seen, Broken(), FastVessel())
    await alerts.load()
    await alerts.process(ais_position(n=0, speed=25.0))
    assert [(a.kind, a.severity, a.state) for a in seen.alerts] == [("spoofing", "medium", "open")]
    assert seen.alerts[0].vessel.mmsi == 412_000_001
    for n in range(1, 5):
        clock.advance(1)
        await alerts.process(ais_position(n=0, speed=25.0, ts=T0 + timedelta(seconds=n)))
    assert len(seen.alerts) == 1  # unchanged: not written, not sent again
    assert len(seen.positions) == 5


async def test_a_rise_in_severity_goes_out_at_once_other_changes_at_most_every_10_s(pool: Pool) -> None:
    clock, seen = Clock(), Collector()
    alerts = engine(pool, clock, seen)
    await alerts.load()
    await alerts.process(ais_position(n=0, speed=25.0))
    clock.advance(1)
    await alerts.process(ais_position(n=0, speed=45.0, ts=T0 + timedelta(seconds=1)))
    assert [a.severity for a in seen.alerts] == ["medium", "high"]
    clock.advance(1)
    await alerts.process(ais_position(n=30, speed=45.0, ts=T0 + timedelta(seconds=2)))  # moved: a change
    assert len(seen.alerts) == 2  # held back
    clock.advance(10)
    await alerts.tick()
    assert len(seen.alerts) == 3 and seen.alerts[-1].position is not None


async def test_a_cleared_condition_resolves_only_after_it_stayed_gone(pool: Pool) -> None:
    clock, seen = Clock(), Collector()
    alerts = engine(pool, clock, seen, clear_after_s=60)
    await alerts.load()
    await alerts.process(ais_position(n=0, speed=25.0))
    clock.advance(5)
    await alerts.process(ais_position(n=0, speed=5.0, ts=T0 + timedelta(seconds=5)))
    clock.advance(30)
    await alerts.tick()
    await alerts.process(ais_position(n=0, speed=25.0, ts=T0 + timedelta(seconds=35)))  # back: jitter
    clock.advance(45)
    await alerts.tick()
    assert [a.state for a in seen.alerts] == ["open"]
    await alerts.process(ais_position(n=0, speed=5.0, ts=T0 + timedelta(seconds=80)))
    clock.advance(61)
    await alerts.tick()
    assert [a.state for a in seen.alerts] == ["open", "resolved"]
    audit = await alerts.store.audit(seen.alerts[0].id)
    assert audit[-1]["actor"] == "system" and audit[-1]["note"] == "condition cleared"


class AlwaysDistress(Rule):
    name = "distress"

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        key = vessel_key("distress", current.vessel_id)
        if record.get("status") == 14:
            return [
                Condition(
                    kind="distress",
                    key=key,
                    severity="critical",
                    title="Distress",
                    vessel_id=current.vessel_id,
                )
            ]
        return [Condition.cleared("distress", key)]


async def test_distress_is_never_cleared_by_the_system_and_is_sent_again_until_acknowledged(
    pool: Pool,
) -> None:
    clock, seen = Clock(), Collector()
    alerts = engine(pool, clock, seen, AlwaysDistress(), clear_after_s=1, renotify_critical_s=60)
    await alerts.load()
    await alerts.process(ais_position(n=0, status=14, drill=True))
    await alerts.process(ais_position(n=1, status=0, ts=T0 + timedelta(seconds=10)))
    clock.advance(30)
    await alerts.tick()
    assert [a.state for a in seen.alerts] == ["open"]
    assert seen.alerts[0].drill
    clock.advance(31)
    await alerts.tick()
    assert [a.state for a in seen.alerts] == ["open", "open"]
    assert seen.alerts[1].seq > seen.alerts[0].seq


async def test_open_alerts_survive_a_restart(pool: Pool) -> None:
    clock, seen = Clock(), Collector()
    first = engine(pool, clock, seen)
    await first.load()
    await first.process(ais_position(n=0, speed=25.0))
    second = engine(pool, clock, seen)
    await second.load()
    await second.process(ais_position(n=0, speed=25.0, ts=T0 + timedelta(seconds=1)))
    assert len(seen.alerts) == 1  # the restarted engine knew the alert was open
    assert second.fleet.get(seen.alerts[0].vessel.id or 0) is not None


async def test_base_station_reports_reach_no_rule(pool: Pool) -> None:
    clock, seen = Clock(), Collector()
    alerts = engine(pool, clock, seen)
    await alerts.load()
    await alerts.process(
        {"kind": "base_station", "source": "ais", "mmsi": 3669713, "ts": T0, "lon": 1.0, "lat": 2.0}
    )
    assert len(alerts.fleet) == 0 and seen.alerts == []


@pytest.mark.parametrize(
    "bad", [{"kind": "position", "source": "ais", "mmsi": "not-a-number"}, {"kind": "x"}]
)
async def test_records_without_a_usable_identity_are_skipped(pool: Pool, bad: dict[str, Any]) -> None:
    clock, seen = Clock(), Collector()
    alerts = engine(pool, clock, seen)
    await alerts.load()
    await alerts.process(bad)
    assert len(alerts.fleet) == 0


async def test_a_possible_distress_is_evaluated_before_the_routine_backlog(pool: Pool) -> None:
    clock, seen = Clock(), Collector()
    alerts = AlertEngine(
        pool,
        RulesSettings(),
        [AlwaysDistress()],
        deliver=[seen],
        clock=clock,
        monotonic=clock.monotonic,
        urgent=lambda r: r.get("status") == 14,
    )
    await alerts.load()
    for n in range(50):
        await alerts.submit(ais_position(mmsi=412_500_000 + n, n=n))
    await alerts.submit(ais_position(mmsi=970_000_001, status=14))
    first = await alerts.next_record()
    assert first["mmsi"] == 970_000_001
    assert (await alerts.next_record())["mmsi"] == 412_500_000  # then the others, in order


async def test_a_busy_engine_judges_the_newest_position_of_each_vessel_and_keeps_other_records(
    pool: Pool,
) -> None:
    clock, seen = Clock(), Collector()
    alerts = engine(pool, clock, seen)
    for n in range(5):
        await alerts.submit(ais_position(mmsi=412_600_001, n=n))
    await alerts.submit({"kind": "static", "source": "ais", "mmsi": 412_600_001, "shipname": "A"})
    await alerts.submit(ais_position(mmsi=412_600_002, n=0))
    order = [await alerts.next_record() for _ in range(3)]
    assert [(r["kind"], r["mmsi"]) for r in order] == [
        ("position", 412_600_001),
        ("static", 412_600_001),
        ("position", 412_600_002),
    ]
    assert order[0]["lon"] == ais_position(n=4)["lon"]  # the newest of the five, in the first one's place
    assert alerts.waiting() == 0
