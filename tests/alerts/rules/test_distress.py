"""DistressRule as a pure object with a fake clock: every source, fusion into one incident per vessel,
tests that are info only, doubtful signals raised as unverified, and nothing ever cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pyais import encode_dict

from alerts.model import Condition
from alerts.rules.base import RuleContext
from alerts.rules.distress import FORGET_AFTER_S, DistressRule, signals
from alerts.rules.spoofing import SpoofingRule
from ingest.jt808 import decode_frame, encode_message
from ingest.jt808.messages.location import LocationReport
from ingest.nmea_stream import NmeaDecoder
from seawatch.settings import RulesSettings
from tests.tracking.records import ais_position, jt808_position, safety
from tracking.coast import Land
from tracking.fleet import Fleet
from tracking.zones import ZoneIndex

T0 = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
SETTINGS = RulesSettings()
AT_SEA = (115.5, 22.5)
SART_MMSI = 970_012_345
KEY = "distress:vessel:7"


def ais(message: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A real AIVDM sentence for `message`, through the ingest decoder, as a receiver stamps it."""
    decoder = NmeaDecoder()
    (record,) = [
        r for line in encode_dict(message, sentence_type="VDM") for r in decoder.feed(line, received_at=at)
    ]
    assert isinstance(record, dict)
    return record


def sart(status: int, at: datetime, mmsi: int = SART_MMSI) -> dict[str, Any]:
    lon, lat = AT_SEA
    fields = {"msg_type": 1, "mmsi": mmsi, "status": status, "lon": lon, "lat": lat, "speed": 0.4}
    return ais({**fields, "course": 200.0, "heading": 511}, at)


def text(words: str, at: datetime, mmsi: int = SART_MMSI) -> dict[str, Any]:
    return ais({"msg_type": 14, "mmsi": mmsi, "text": words}, at)


def beidou(alarm_bits: int, at: datetime, positioned: bool = True) -> dict[str, Any]:
    """A real JT/T 808 0x0200 frame from a BeiDou terminal (times are China time on the wire); one
    without a GNSS fix clears status bit 1 and reports 0, 0."""
    china = (at + timedelta(hours=8)).strftime("%y%m%d%H%M%S")
    lat_e6, lon_e6 = (22_500_000, 115_500_000) if positioned else (0, 0)
    report = LocationReport(alarm_bits, 2 if positioned else 0, lat_e6, lon_e6, 2, 20, 90, china)
    return dict(decode_frame(encode_message(report, terminal="013912345678", serial=1)))


class Driver:
    """One rule, one fleet, a fixed clock per call."""

    def __init__(self, rule: DistressRule) -> None:
        self.rule = rule
        self.fleet = Fleet()

    def ctx(self, now: datetime) -> RuleContext:
        return RuleContext(now=now, settings=SETTINGS, zones=ZoneIndex(), fleet=self.fleet)

    def feed(
        self, record: dict[str, Any], vessel_id: int = 7, now: datetime | None = None
    ) -> list[Condition]:
        previous, current = self.fleet.update(vessel_id, record)
        return self.rule.on_record(self.ctx(now or record["ts"]), previous, current, record)


def only(conditions: list[Condition]) -> Condition:
    assert len(conditions) == 1
    return conditions[0]


def test_an_active_ais_sart_is_critical_and_names_the_device() -> None:
    alert = only(Driver(DistressRule()).feed(sart(14, T0)))
    assert (alert.kind, alert.key, alert.severity, alert.active) == ("distress", KEY, "critical", True)
    assert alert.title == "Distress: AIS-SART active"
    assert alert.details["device"] == {"type": "AIS-SART", "mmsi": SART_MMSI}
    assert alert.details["sources"] == [
        {
            "source": "ais_sart",
            "test": False,
            "first_seen": T0.isoformat(),
            "last_seen": T0.isoformat(),
            "count": 1,
        }
    ]
    assert alert.position is not None and (alert.position.lon, alert.position.lat) == AT_SEA
    assert alert.details["unverified"] is False and alert.observed_at == T0


def test_mob_and_epirb_devices_by_prefix() -> None:
    mob = only(Driver(DistressRule()).feed(sart(14, T0, mmsi=972_001_234)))
    epirb = only(Driver(DistressRule()).feed(sart(14, T0, mmsi=974_001_234)))
    assert (mob.details["sources"][0]["source"], mob.title) == (
        "ais_mob",
        "Distress: man overboard (AIS MOB device)",
    )
    assert (epirb.details["sources"][0]["source"], epirb.details["device"]["type"]) == (
        "ais_epirb",
        "EPIRB-AIS",
    )
    assert mob.severity == epirb.severity == "critical"


def test_a_sart_test_is_info_not_critical() -> None:
    driver = Driver(DistressRule())
    alert = only(driver.feed(sart(15, T0)))
    assert (alert.severity, alert.details["test"]) == ("info", True)
    assert alert.title == "Test of AIS-SART (no distress)"
    tested = only(driver.feed(text("SART TEST", T0 + timedelta(seconds=5))))
    assert tested.severity == "info" and tested.details["text"] == "SART TEST"


def test_a_test_then_a_real_activation_escalates_the_same_incident() -> None:
    driver = Driver(DistressRule())
    driver.feed(sart(15, T0))
    alert = only(driver.feed(sart(14, T0 + timedelta(minutes=1))))
    assert (alert.key, alert.severity, alert.details["test"]) == (KEY, "critical", False)
    assert [(s["source"], s["test"]) for s in alert.details["sources"]] == [
        ("ais_sart", True),
        ("ais_sart", False),
    ]


def test_sources_fuse_into_one_incident_with_first_and_last_seen() -> None:
    driver = Driver(DistressRule())
    driver.feed(sart(14, T0))
    driver.feed(text("SART ACTIVE", T0 + timedelta(seconds=1)))
    alert = only(driver.feed(sart(14, T0 + timedelta(minutes=1))))
    assert alert.key == KEY
    by_source = {s["source"]: s for s in alert.details["sources"]}
    assert by_source["ais_sart"]["first_seen"] == T0.isoformat()
    assert by_source["ais_sart"]["last_seen"] == (T0 + timedelta(minutes=1)).isoformat()
    assert by_source["ais_sart"]["count"] == 2
    assert by_source["ais_safety_text"]["count"] == 1
    assert alert.title == "Distress: AIS-SART active, and 1 other signal"
    assert alert.details["text"] == "SART ACTIVE"


def test_status_14_from_any_vessel_is_distress_but_15_from_a_ship_is_not() -> None:
    driver = Driver(DistressRule())
    assert driver.feed(ais_position(412_000_001, status=15, ts=T0)) == []  # 15: "not defined" on a ship
    alert = only(driver.feed(ais_position(412_000_001, status=14, ts=T0 + timedelta(seconds=10))))
    assert (alert.details["sources"][0]["source"], alert.severity) == ("ais_status_14", "critical")
    assert "device" not in alert.details


def test_safety_text_words() -> None:
    driver = Driver(DistressRule())
    assert driver.feed(safety(text="GALE WARNING FORCE 8", ts=T0)) == []
    assert driver.feed(safety(text="PANTRY", ts=T0)) == []
    mayday = only(driver.feed(safety(text="MAYDAY ENGINE FIRE", ts=T0)))
    assert (mayday.severity, mayday.title) == (
        "critical",
        "Distress: AIS safety message “MAYDAY ENGINE FIRE”",
    )
    assert [s.source for s in signals(safety(text="PAN PAN MAN OVERBOARD"))] == ["ais_safety_text"]
    assert [s.test for s in signals(safety(text="MOB TEST"))] == [True]
    assert [s.test for s in signals(safety(text="EPIRB ACTIVE"))] == [False]


def test_the_beidou_emergency_button() -> None:
    driver = Driver(DistressRule())
    assert driver.feed(beidou(1 << 1, T0)) == []  # overspeed: not a distress
    alert = only(driver.feed(beidou(1 | 1 << 1, T0 + timedelta(minutes=1))))
    assert alert.title == "Distress: emergency button (BeiDou terminal)"
    assert (alert.severity, alert.details["terminal"]) == ("critical", "013912345678")
    assert alert.details["sources"][0]["source"] == "jt808_emergency"


def test_a_button_pressed_without_a_fix_keeps_the_last_known_position() -> None:
    driver = Driver(DistressRule())
    driver.feed(beidou(0, T0))
    record = beidou(1, T0 + timedelta(minutes=3), positioned=False)
    assert (record["fix"], record["lon"], record["lat"]) == (False, 0.0, 0.0)
    alert = only(driver.feed(record))
    assert alert.position is not None and (alert.position.lon, alert.position.lat) == AT_SEA
    assert (alert.severity, alert.details["doubts"]) == ("critical", ["the terminal had no GNSS fix"])
    first = only(Driver(DistressRule()).feed(record))  # and with nothing known before
    assert first.position is None and first.details["doubts"] == [
        "the terminal had no GNSS fix",
        "no position known",
    ]


def test_an_sos_in_terminal_json() -> None:
    record = {
        **jt808_position(ts=T0),
        "source": "terminal_json",
        "alarm_bits": 1,
        "alarms": ["emergency"],
    }
    alert = only(Driver(DistressRule()).feed(record))
    assert alert.details["sources"][0]["source"] == "terminal_sos"
    assert alert.title == "Distress: SOS from a safety terminal"


def test_a_button_and_a_mayday_from_one_boat_are_one_incident() -> None:
    driver = Driver(DistressRule())
    driver.feed(ais_position(412_000_001, ts=T0))
    driver.feed(jt808_position(ts=T0 + timedelta(seconds=30), alarm_bits=1, alarms=["emergency"]))
    alert = only(driver.feed(safety(text="MAYDAY", ts=T0 + timedelta(seconds=40))))
    assert alert.key == KEY
    assert [s["source"] for s in alert.details["sources"]] == ["jt808_emergency", "ais_safety_text"]
    assert alert.title == "Distress: emergency button (BeiDou terminal), and 1 other signal"


def test_doubtful_distress_is_raised_unverified() -> None:
    # No position known: a MAYDAY text from a vessel never seen before.
    alert = only(Driver(DistressRule()).feed(safety(text="MAYDAY", ts=T0)))
    assert (alert.severity, alert.details["unverified"]) == ("critical", True)
    assert alert.position is None and alert.details["doubts"] == ["no position known"]

    # A vessel the spoofing rule suspects (it reported a position far inland).
    spoofing = SpoofingRule(Land.shanwei())
    driver = Driver(DistressRule(spoofing=spoofing))
    inland = ais_position(412_000_001, lon=115.2, lat=22.9, ts=T0)
    previous, current = driver.fleet.update(7, inland)
    spoofing.on_record(driver.ctx(T0), previous, current, inland)
    alert = only(driver.feed(ais_position(412_000_001, status=14, ts=T0 + timedelta(seconds=10))))
    assert (alert.severity, alert.details["unverified"]) == ("critical", True)
    assert alert.details["doubts"] == ["suspected of spoofing: on_land"]

    # An invalid MID, and a terminal that never authenticated.
    assert only(Driver(DistressRule()).feed(ais_position(217_000_001, status=14, ts=T0))).details[
        "unverified"
    ]
    unauth = jt808_position(ts=T0, alarm_bits=1, alarms=["emergency"], unauthenticated=True)
    assert only(Driver(DistressRule()).feed(unauth)).details["doubts"] == [
        "the terminal has not authenticated"
    ]
    odd = only(Driver(DistressRule()).feed(sart(0, T0)))
    assert (odd.severity, odd.details["unverified"]) == ("critical", True)


def test_a_drill_is_raised_and_marked() -> None:
    alert = only(Driver(DistressRule()).feed({**sart(14, T0), "drill": True}))
    assert alert.drill and alert.details["drill"] and alert.severity == "critical"


def test_distress_is_never_cleared_and_an_old_incident_is_forgotten() -> None:
    driver = Driver(DistressRule())
    driver.feed(sart(14, T0))
    assert driver.rule.on_tick(driver.ctx(T0 + timedelta(days=2))) == []
    later = T0 + timedelta(days=2, seconds=1)
    alert = only(driver.feed(sart(14, later)))
    assert alert.details["sources"][0]["first_seen"] == later.isoformat()  # a new story
    assert FORGET_AFTER_S < 2 * 86400


def test_records_without_distress_raise_nothing() -> None:
    driver = Driver(DistressRule())
    assert driver.feed(ais_position(412_000_001, ts=T0)) == []
    assert driver.feed(jt808_position(ts=T0)) == []
    buoy = ais({"msg_type": 21, "mmsi": 994_121_001, "name": "NET BUOY", "lon": 115.5, "lat": 22.5}, T0)
    assert buoy["kind"] == "aton" and driver.feed(buoy, vessel_id=8) == []
