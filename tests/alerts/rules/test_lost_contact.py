"""LostContactRule with a fake clock: intervals per source, escalation, port and buoys, and its
cooperation with FeedOutageRule."""

from __future__ import annotations

from alerts.rules.feed_outage import FeedOutageRule
from alerts.rules.lost_contact import LostContactRule, expected_interval_s, silence
from seawatch.settings import RulesSettings
from tests.alerts.rules.sea_support import (
    OPEN_SEA,
    SHANWEI_PORT,
    T0,
    ZHELANG_PORT,
    Harness,
    active,
    cleared_keys,
    position,
    seconds,
)
from tests.tracking.records import ais_static, jt808_position
from tracking.fleet import VesselState

KEY = "lost_contact:vessel:1"


def test_a_class_a_vessel_silent_at_sea_is_lost_then_escalated_then_found() -> None:
    h = Harness(LostContactRule())
    h.record(1, position(OPEN_SEA, T0))
    assert h.tick(T0 + seconds(600)) == []  # exactly the interval: not yet
    (lost,) = h.tick(T0 + seconds(601))
    assert (lost.kind, lost.key, lost.severity, lost.active) == ("lost_contact", KEY, "high", True)
    assert lost.vessel_id == 1 and lost.position is not None and lost.position.lon == OPEN_SEA[0]
    assert lost.details["last_heard"] == T0.isoformat() and lost.details["last_source"] == "ais"
    assert "04:00 UTC" in lost.title
    assert h.tick(T0 + seconds(602)) == []  # unchanged: not repeated every second
    assert h.tick(T0 + seconds(3599)) == []
    (escalated,) = h.tick(T0 + seconds(3600))
    assert (escalated.key, escalated.severity) == (KEY, "critical")
    h.record(1, position(OPEN_SEA, T0 + seconds(3700)))
    assert cleared_keys(h.tick(T0 + seconds(3701))) == [KEY]
    assert h.tick(T0 + seconds(3702)) == []


def test_each_source_has_its_own_interval() -> None:
    settings = RulesSettings().lost_contact
    h = Harness(LostContactRule())
    h.record(1, position(OPEN_SEA, T0))  # class A
    h.record(2, position(OPEN_SEA, T0, mmsi=412_000_002, msg_type=18))  # class B
    h.record(3, jt808_position(lon=OPEN_SEA[0], lat=OPEN_SEA[1], ts=T0))  # BeiDou terminal
    assert [c.key for c in h.tick(T0 + seconds(601))] == ["lost_contact:vessel:1"]
    assert [c.key for c in h.tick(T0 + seconds(901))] == ["lost_contact:vessel:2"]
    assert [c.key for c in h.tick(T0 + seconds(1801))] == ["lost_contact:vessel:3"]
    fleet = h.fleet
    assert [
        expected_interval_s(settings, fleet.get(v) or VesselState(v), src)
        for v, src in ((1, "ais"), (2, "ais"), (3, "jt808"), (3, "terminal_json"), (3, "tag"))
    ] == [600.0, 900.0, 1800.0, 1800.0, 1800.0]


def test_a_vessel_heard_on_any_source_is_not_lost() -> None:
    h = Harness(LostContactRule())
    h.record(1, position(OPEN_SEA, T0))
    h.record(1, jt808_position(lon=OPEN_SEA[0], lat=OPEN_SEA[1], ts=T0 + seconds(500)))
    # AIS silent for 1000 s (over its 600), but the terminal spoke 500 s ago (under its 1800).
    assert h.tick(T0 + seconds(1000)) == []
    assert h.tick(T0 + seconds(2300)) == []
    assert active(h.tick(T0 + seconds(2301)))  # now both are overdue


def test_a_report_without_a_position_still_counts_as_heard() -> None:
    h = Harness(LostContactRule())
    h.record(1, position(OPEN_SEA, T0))
    h.record(1, ais_static(ts=T0 + seconds(500)))  # a static report keeps the vessel heard
    assert h.tick(T0 + seconds(1000)) == []
    assert active(h.tick(T0 + seconds(1101)))


def test_a_moored_vessel_silent_for_hours_is_not_lost() -> None:
    h = Harness(LostContactRule())
    h.record(1, position(SHANWEI_PORT, T0, speed=0.0, status=5))
    h.record(2, position(ZHELANG_PORT, T0, mmsi=412_000_002, speed=0.0, status=5))
    for hours in (1, 6, 24):
        assert h.tick(T0 + seconds(hours * 3600)) == []


def test_a_silent_buoy_is_not_a_lost_vessel() -> None:
    h = Harness(LostContactRule())
    h.record(1, position(OPEN_SEA, T0, mmsi=994_121_001, msg_type=21, speed=None))  # aid to navigation
    h.record(2, position(OPEN_SEA, T0, mmsi=970_123_456))  # an AIS-SART: the distress rule's business
    assert h.tick(T0 + seconds(7200)) == []


def test_a_vessel_without_any_report_time_is_ignored() -> None:
    h = Harness(LostContactRule())
    h.fleet.put(VesselState(1, lon=OPEN_SEA[0], lat=OPEN_SEA[1]))  # loaded with a position, no time
    assert h.tick(T0) == []
    assert silence(RulesSettings().lost_contact, VesselState(1), T0) is None


def test_lost_contacts_are_found_among_many_vessels() -> None:
    h = Harness(LostContactRule())
    for v in range(1, 2001):
        h.record(
            v, position((OPEN_SEA[0] + v * 1e-4, OPEN_SEA[1]), T0 + seconds(v % 50), mmsi=412_000_000 + v)
        )
    for v in range(1, 2001):
        if v % 100:  # all but twenty report again
            h.record(
                v, position((OPEN_SEA[0] + v * 1e-4, OPEN_SEA[1]), T0 + seconds(500), mmsi=412_000_000 + v)
            )
    lost = h.tick(T0 + seconds(700))
    assert sorted(c.vessel_id or 0 for c in lost) == list(range(100, 2001, 100))


# --- with the feed-outage rule ---------------------------------------------------------------------


def test_vessels_of_a_feed_that_is_out_raise_no_lost_contact_and_get_time_when_it_returns() -> None:
    feeds = FeedOutageRule()
    fh = Harness(feeds)
    lh = Harness(LostContactRule(feeds), fleet=fh.fleet)
    for v in (1, 2, 3, 4):
        fh.record(v, position(OPEN_SEA, T0, mmsi=412_000_000 + v, feed="rx1"))
    fh.tick(T0 + seconds(121))
    assert feeds.feed_is_out("rx1")
    assert lh.tick(T0 + seconds(3600)) == []  # an hour of outage: no lost contacts at all
    # The feed returns with vessel 1 only; the others get a full interval from then on.
    back = T0 + seconds(3700)
    fh.record(1, position(OPEN_SEA, back, mmsi=412_000_001, feed="rx1"))
    assert feeds.feed_restored_at("rx1") == back + seconds(0.25)
    fh.record(1, position(OPEN_SEA, back + seconds(300), mmsi=412_000_001, feed="rx1"))
    assert lh.tick(back + seconds(600)) == []
    lost = lh.tick(back + seconds(601))
    assert sorted(c.key for c in lost) == [f"lost_contact:vessel:{v}" for v in (2, 3, 4)]
    assert {c.severity for c in lost} == {"high"}  # silence is counted from the return, not escalated


def test_a_vessel_lost_before_its_feed_went_out_stays_lost() -> None:
    feeds = FeedOutageRule()
    fh = Harness(feeds)
    lh = Harness(LostContactRule(feeds), fleet=fh.fleet)
    fh.record(9, position(OPEN_SEA, T0, mmsi=412_000_009, feed="rx1"))
    later = T0 + seconds(1000)
    for v in (1, 2, 3):
        fh.record(v, position(OPEN_SEA, later, mmsi=412_000_000 + v, feed="rx1"))
    assert [c.key for c in lh.tick(later)] == ["lost_contact:vessel:9"]
    assert fh.tick(later + seconds(121))
    assert lh.tick(later + seconds(122)) == []  # no clear for 9, no new losses for 1-3
    assert [c.severity for c in lh.tick(T0 + seconds(3600))] == ["critical"]


def test_without_a_feed_rule_every_silent_vessel_is_lost() -> None:
    h = Harness(LostContactRule())
    for v in (1, 2, 3, 4):
        h.record(v, position(OPEN_SEA, T0, mmsi=412_000_000 + v, feed="rx1"))
    assert len(active(h.tick(T0 + seconds(601)))) == 4
