"""IdentityMismatchRule as a pure object with a fake clock: identity anomalies become one condition per
vessel and anomaly, mmsi_two_places is left to spoofing, and a quiet anomaly clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.model import Condition
from alerts.rules.base import RuleContext
from alerts.rules.identity import QUIET_S, IdentityMismatchRule
from seawatch.settings import RulesSettings
from tests.tracking.records import ais_position
from tracking.fleet import Fleet
from tracking.zones import ZoneIndex

T0 = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
GATE = (115.372, 22.781)


def anomaly(name: str, ts: datetime = T0, **changes: Any) -> dict[str, Any]:
    """An identity anomaly in the shape tracking.anomalies sends (source `identity`)."""
    record: dict[str, Any] = {
        "kind": "identity_anomaly",
        "source": "identity",
        "ts": ts,
        "anomaly": name,
        "vessel_id": 3,
        "lon": GATE[0],
        "lat": GATE[1],
        "detected_at": ts + timedelta(milliseconds=5),
        "evidence": {"reader": "gate-east", "direction": "out", "last_position_ts": ts - timedelta(hours=2)},
        "tag_id": "E2000017221101441890",
    }
    record.update(changes)
    return record


class Driver:
    def __init__(self) -> None:
        self.rule = IdentityMismatchRule()
        self.fleet = Fleet()

    def ctx(self, now: datetime) -> RuleContext:
        return RuleContext(now=now, settings=RulesSettings(), zones=ZoneIndex(), fleet=self.fleet)

    def feed(self, record: dict[str, Any], now: datetime | None = None) -> list[Condition]:
        previous, current = self.fleet.update(3, record)
        return self.rule.on_record(self.ctx(now or record["ts"]), previous, current, record)


def test_a_dark_departure_is_high() -> None:
    (alert,) = Driver().feed(anomaly("dark_departure"))
    assert (alert.kind, alert.key, alert.severity) == (
        "identity_mismatch",
        "identity_mismatch:vessel:3:dark_departure",
        "high",
    )
    assert alert.title == "Identity: left harbour without any position report"
    assert alert.position is not None and (alert.position.lon, alert.position.lat) == GATE
    assert alert.details["anomaly"] == "dark_departure"
    assert alert.details["tag_id"] == "E2000017221101441890"
    # Evidence is sent as JSON: times become text.
    assert alert.details["evidence"]["last_position_ts"] == (T0 - timedelta(hours=2)).isoformat()
    assert alert.details["detected_at"] == (T0 + timedelta(milliseconds=5)).isoformat()


def test_sources_disagree_and_gate_elsewhere_are_medium_each_with_its_key() -> None:
    driver = Driver()
    (disagree,) = driver.feed(anomaly("sources_disagree", evidence={"distance_m": 8200.0}))
    (elsewhere,) = driver.feed(anomaly("gate_elsewhere", evidence={"distance_m": 15_000.0}))
    assert (disagree.key, disagree.severity) == ("identity_mismatch:vessel:3:sources_disagree", "medium")
    assert (elsewhere.key, elsewhere.severity) == ("identity_mismatch:vessel:3:gate_elsewhere", "medium")


def test_an_anomaly_without_a_position_takes_the_vessels_last() -> None:
    driver = Driver()
    driver.feed(ais_position(lon=115.5, lat=22.5, ts=T0))
    (alert,) = driver.feed(anomaly("sources_disagree", lon=None, lat=None))
    assert alert.position is not None and (alert.position.lon, alert.position.lat) == (115.5, 22.5)


def test_one_mmsi_in_two_places_is_spoofing_not_a_mismatch() -> None:
    assert Driver().feed(anomaly("mmsi_two_places")) == []


def test_other_records_are_not_anomalies() -> None:
    driver = Driver()
    assert driver.feed(ais_position(ts=T0)) == []
    assert driver.feed({"kind": "tag_read", "source": "tag", "ts": T0, "tag_id": "E200"}) == []


def test_an_anomaly_clears_when_it_is_not_reported_again_for_an_hour() -> None:
    driver = Driver()
    driver.feed(anomaly("sources_disagree"))
    driver.feed(anomaly("sources_disagree", T0 + timedelta(minutes=5)))  # the detector repeats it
    assert driver.rule.on_tick(driver.ctx(T0 + timedelta(minutes=5, seconds=QUIET_S - 1))) == []
    (cleared,) = driver.rule.on_tick(driver.ctx(T0 + timedelta(minutes=5, seconds=QUIET_S)))
    assert (cleared.key, cleared.active) == ("identity_mismatch:vessel:3:sources_disagree", False)
    assert driver.rule.on_tick(driver.ctx(T0 + timedelta(days=1))) == []


def test_a_drill_stays_a_drill() -> None:
    (alert,) = Driver().feed(anomaly("gate_elsewhere", drill=True))
    assert alert.drill and "drill" not in alert.details
