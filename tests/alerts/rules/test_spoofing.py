"""SpoofingRule as a pure object with a fake clock: implied speed (duplicates, zero and negative time
steps, late reports, the first report), positions on land, MIDs, one MMSI in two places, and clearing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyais import encode_dict

from alerts.model import Condition
from alerts.rules.base import RuleContext
from alerts.rules.spoofing import (
    ALLOCATED_MIDS,
    QUIET_S,
    SpoofingRule,
    is_vessel_mmsi,
    mmsi_category,
    mmsi_problem,
)
from ingest.nmea_stream import NmeaDecoder
from seawatch.settings import RulesSettings
from tests.tracking.records import ais_position, ais_static, jt808_position
from tracking.coast import Land
from tracking.fleet import Fleet
from tracking.geo import KNOT_MS, metres_to_degrees_lon
from tracking.zones import ZoneIndex

T0 = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
SETTINGS = RulesSettings()
AT_SEA = (115.5, 22.5)
HINTERLAND = (115.2, 22.9)  # 7 km inland
QUAY_IN_SHANWEI_PORT = (115.366, 22.7776)  # 25 m inside the drawn coastline


class Driver:
    def __init__(self) -> None:
        self.rule = SpoofingRule(Land.shanwei())
        self.fleet = Fleet()

    def ctx(self, now: datetime) -> RuleContext:
        return RuleContext(now=now, settings=SETTINGS, zones=ZoneIndex(), fleet=self.fleet)

    def feed(self, record: dict[str, Any], vessel_id: int = 1) -> list[Condition]:
        previous, current = self.fleet.update(vessel_id, record)
        return self.rule.on_record(self.ctx(record["ts"]), previous, current, record)

    def feed_all(self, records: list[dict[str, Any]]) -> list[Condition]:
        return [c for record in records for c in self.feed(record)]


def east(metres: float, lat: float = AT_SEA[1]) -> float:
    return AT_SEA[0] + metres_to_degrees_lon(metres, lat)


def underway(n: int, knots: float = 15.0, every_s: float = 2.0, **changes: Any) -> dict[str, Any]:
    """Report n of a vessel steaming east at `knots`, every `every_s` seconds."""
    t = n * every_s
    return ais_position(lon=east(knots * KNOT_MS * t), lat=AT_SEA[1], ts=T0 + timedelta(seconds=t), **changes)


def test_the_first_report_and_a_steady_track_are_not_spoofing() -> None:
    assert Driver().feed_all([underway(n) for n in range(30)]) == []


def test_a_jump_of_ais_is_one_mmsi_in_two_places() -> None:
    driver = Driver()
    driver.feed(underway(0))
    (alert,) = driver.feed(ais_position(lon=east(20_000), lat=AT_SEA[1], ts=T0 + timedelta(seconds=10)))
    assert (alert.key, alert.severity) == ("spoofing:vessel:1:mmsi_two_places", "high")
    assert alert.details["implied_speed_kn"] > 3000 and alert.details["source"] == "ais"
    assert alert.title == "Spoofing suspected: one MMSI in two places"


def test_a_jump_of_a_terminal_is_an_implied_speed() -> None:
    driver = Driver()
    driver.feed(jt808_position(lon=AT_SEA[0], lat=AT_SEA[1], ts=T0))
    far = jt808_position(lon=east(10_000), lat=AT_SEA[1], ts=T0 + timedelta(minutes=2))  # 162 kn
    (alert,) = driver.feed(far)
    assert (alert.key, alert.severity) == ("spoofing:vessel:1:implied_speed", "medium")
    near = jt808_position(lon=east(10_000 + 3000), lat=AT_SEA[1], ts=T0 + timedelta(minutes=4))  # 49 kn
    assert driver.feed(near) == []


def test_a_terminal_without_a_fix_is_no_evidence() -> None:
    driver = Driver()
    driver.feed(jt808_position(lon=AT_SEA[0], lat=AT_SEA[1], ts=T0))
    no_fix = jt808_position(lon=0.0, lat=0.0, fix=False, ts=T0 + timedelta(minutes=1))
    assert driver.feed(no_fix) == []
    assert driver.feed(jt808_position(lon=AT_SEA[0], lat=AT_SEA[1], ts=T0 + timedelta(minutes=2))) == []


def test_sources_are_compared_only_with_themselves() -> None:
    driver = Driver()
    driver.feed(ais_position(lon=AT_SEA[0], lat=AT_SEA[1], ts=T0))
    # The terminal is 3 km off (another story: identity's sources_disagree), but it is its own first fix.
    assert driver.feed(jt808_position(lon=east(3000), lat=AT_SEA[1], ts=T0 + timedelta(seconds=5))) == []


def real_reports(n: int, knots: float) -> list[str]:
    """AIVDM sentences of a class A vessel steaming east at `knots`, reporting every 2 s."""
    return [
        line
        for i in range(n)
        for line in encode_dict(
            {
                "msg_type": 1,
                "mmsi": 412_000_001,
                "status": 0,
                "speed": knots,
                "lon": round(east(knots * KNOT_MS * 2 * i), 5),
                "lat": AT_SEA[1],
                "course": 90.0,
                "heading": 90,
                "second": (2 * i) % 60,
            },
            sentence_type="VDM",
        )
    ]


@pytest.mark.parametrize("delay_s", [0.5, 2.5, 30.0])
def test_duplicates_from_two_receivers_are_not_a_jump(delay_s: float) -> None:
    """Two receivers hear every transmission of a fast boat; the second feed is slower and its copies are
    stamped on arrival (no tag block), so they come after later originals. The feeds' dedup may not
    catch them (a window per feed); the rule must: at 30 s late, a copy is 460 m behind the boat."""
    first, second = NmeaDecoder(), NmeaDecoder()
    arrivals: list[tuple[datetime, NmeaDecoder, str]] = []
    for i, line in enumerate(real_reports(40, knots=30.0)):
        sent = T0 + timedelta(seconds=2 * i)
        arrivals += [(sent, first, line), (sent + timedelta(seconds=delay_s), second, line)]
    records = [
        record
        for at, decoder, line in sorted(arrivals, key=lambda arrival: arrival[0])
        for record in decoder.feed(line, received_at=at)
        if isinstance(record, dict)
    ]
    assert len(records) == 80 and all(r["kind"] == "position" for r in records)
    assert Driver().feed_all(records) == []


def test_zero_and_negative_time_steps() -> None:
    driver = Driver()
    driver.feed(underway(5))
    assert driver.feed(underway(5)) == []  # the same report again: no division by zero
    assert driver.feed(underway(4)) == []  # a late report that fits the track
    assert driver.feed(underway(6)) == []
    # The same instant, 5 km apart: two places at once.
    (alert,) = driver.feed(ais_position(lon=east(5000), lat=AT_SEA[1], ts=underway(6)["ts"]))
    assert alert.details["interval_s"] == 0


def test_a_late_report_is_compared_with_its_neighbours_in_time() -> None:
    driver = Driver()
    driver.feed_all([underway(n) for n in (0, 1, 2, 3, 4)])
    bad_late = ais_position(lon=east(8000), lat=AT_SEA[1], ts=underway(2)["ts"] + timedelta(seconds=1))
    assert len(driver.feed(bad_late)) == 1


def test_a_vessel_lying_still_and_then_leaving_is_fine() -> None:
    driver = Driver()
    still = [
        ais_position(lon=AT_SEA[0], lat=AT_SEA[1], speed=0.0, ts=T0 + timedelta(minutes=m)) for m in range(60)
    ]
    assert driver.feed_all(still) == []
    # Leaving at 20 kn: compared with the latest still report, not the first one an hour ago.
    leaving = ais_position(
        lon=east(20 * KNOT_MS * 10), lat=AT_SEA[1], ts=T0 + timedelta(minutes=59, seconds=10)
    )
    assert driver.feed(leaving) == []


def test_sar_aircraft_fly() -> None:
    driver = Driver()
    driver.feed(ais_position(111_412_001, msg_type=9, lon=AT_SEA[0], lat=AT_SEA[1], ts=T0))
    fast = ais_position(111_412_001, msg_type=9, lon=east(3000), lat=AT_SEA[1], ts=T0 + timedelta(seconds=30))
    assert driver.feed(fast) == []  # 194 kn, a helicopter's business


def test_a_position_on_land() -> None:
    driver = Driver()
    (alert,) = driver.feed(ais_position(lon=HINTERLAND[0], lat=HINTERLAND[1], ts=T0))
    assert (alert.key, alert.severity) == ("spoofing:vessel:1:on_land", "medium")
    assert alert.position is not None and alert.details["margin_m"] == 200.0


def test_a_vessel_alongside_the_quay_is_not_on_land() -> None:
    lon, lat = QUAY_IN_SHANWEI_PORT
    assert Driver().feed(ais_position(lon=lon, lat=lat, ts=T0, speed=0.0, status=5)) == []


def test_an_unallocated_mid() -> None:
    driver = Driver()
    (alert,) = driver.feed(ais_static(217_000_001, ts=T0))
    assert (alert.key, alert.details["problem"]) == (
        "spoofing:vessel:1:invalid_mid",
        "MID 217 is not allocated to any country",
    )
    assert driver.feed(ais_static(412_000_001, ts=T0)) == []


@pytest.mark.parametrize(
    ("mmsi", "category", "problem"),
    [
        (412_000_001, "ship", False),  # China
        (413_000_001, "ship", False),
        (477_000_001, "ship", False),  # Hong Kong
        (775_000_001, "ship", False),  # Venezuela, the last MID
        (217_000_001, "ship", True),  # unallocated
        (776_000_001, "ship", True),
        (970_012_345, "sart", False),
        (972_012_345, "mob", False),
        (974_012_345, "epirb", False),
        (111_412_001, "sar_aircraft", False),
        (984_120_001, "craft", False),
        (994_121_001, "aton", False),
        (4_130_001, "coast", False),  # 004130001
        (41_300_001, "group", False),  # 041300001
        (841_200_001, "handheld", False),
        (123_456_789, "invalid", True),  # the classic unset MMSI
        (912_345_678, "invalid", True),
        (0, "invalid", True),
    ],
)
def test_mmsi_formats(mmsi: int, category: str, problem: bool) -> None:
    assert mmsi_category(mmsi) == category
    assert (mmsi_problem(mmsi) is not None) == problem


def test_the_mid_table() -> None:
    assert min(ALLOCATED_MIDS) == 201 and max(ALLOCATED_MIDS) == 775
    assert {412, 413, 414, 416, 453, 477, 563, 574}.issubset(ALLOCATED_MIDS)
    assert not {200, 217, 221, 222, 223, 260, 300, 302, 415, 700}.intersection(ALLOCATED_MIDS)
    assert not is_vessel_mmsi(994_121_001) and not is_vessel_mmsi(970_012_345)
    assert is_vessel_mmsi(None) and is_vessel_mmsi(412_000_001) and is_vessel_mmsi(123_456_789)


def anomaly(name: str, ts: datetime) -> dict[str, Any]:
    """An identity anomaly in the shape tracking.anomalies sends."""
    return {
        "kind": "identity_anomaly",
        "source": "identity",
        "ts": ts,
        "anomaly": name,
        "vessel_id": 1,
        "lon": AT_SEA[0],
        "lat": AT_SEA[1],
        "detected_at": ts,
        "evidence": {"distance_m": 40_000.0, "previous": {"ts": ts - timedelta(seconds=10)}},
        "mmsi": "412000001",
    }


def test_one_mmsi_in_two_places_from_the_identity_checks() -> None:
    driver = Driver()
    (alert,) = driver.feed(anomaly("mmsi_two_places", T0))
    assert (alert.key, alert.severity) == ("spoofing:vessel:1:mmsi_two_places", "high")
    assert alert.details["evidence"]["previous"]["ts"] == (T0 - timedelta(seconds=10)).isoformat()
    assert driver.feed(anomaly("sources_disagree", T0)) == []  # identity_mismatch's business


def test_a_reason_clears_when_quiet_for_half_an_hour() -> None:
    driver = Driver()
    driver.feed(ais_position(lon=HINTERLAND[0], lat=HINTERLAND[1], ts=T0))
    assert driver.rule.suspected(1) == ["on_land"]
    assert driver.rule.on_tick(driver.ctx(T0 + timedelta(seconds=QUIET_S - 1))) == []
    (cleared,) = driver.rule.on_tick(driver.ctx(T0 + timedelta(seconds=QUIET_S)))
    assert (cleared.key, cleared.active) == ("spoofing:vessel:1:on_land", False)
    assert driver.rule.suspected(1) == []
    assert driver.rule.on_tick(driver.ctx(T0 + timedelta(seconds=QUIET_S + 1))) == []


def test_a_drill_stays_a_drill() -> None:
    (alert,) = Driver().feed(ais_position(lon=HINTERLAND[0], lat=HINTERLAND[1], ts=T0, drill=True))
    assert alert.drill
