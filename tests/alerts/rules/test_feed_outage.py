"""FeedOutageRule with a fake clock: a busy feed that goes quiet is one alert; a quiet one is not."""

from __future__ import annotations

import pytest

from alerts.rules.feed_outage import FeedOutageRule
from tests.alerts.rules.sea_support import OPEN_SEA, T0, Harness, position, seconds

KEY = "feed_outage:feed:rx1"


def busy_feed(rule: FeedOutageRule, vessels: int = 3, feed: str = "rx1") -> Harness:
    h = Harness(rule)
    for v in range(1, vessels + 1):
        for i in range(3):
            h.record(v, position(OPEN_SEA, T0 + seconds(10 * i), mmsi=412_000_000 + v, feed=feed))
    return h


def test_a_busy_feed_falling_quiet_is_one_alert_cleared_by_its_next_report() -> None:
    rule = FeedOutageRule()
    h = busy_feed(rule)
    last = T0 + seconds(20.25)  # received_at of the feed's newest record
    assert h.tick(last + seconds(120)) == []  # exactly the silence: not yet
    (outage,) = h.tick(last + seconds(121))
    assert (outage.kind, outage.key, outage.severity, outage.active) == ("feed_outage", KEY, "high", True)
    assert outage.vessel_id is None
    assert outage.details["feed"] == "rx1" and outage.details["vessels"] == 3
    assert outage.details["last_report"] == last.isoformat()
    assert rule.feed_is_out("rx1") and not rule.feed_is_out("rx2")
    assert h.tick(last + seconds(600)) == []  # once, not every tick
    (back,) = h.record(2, position(OPEN_SEA, T0 + seconds(900), mmsi=412_000_002, feed="rx1"))
    assert (back.key, back.active) == (KEY, False)
    assert not rule.feed_is_out("rx1")
    assert rule.feed_restored_at("rx1") == T0 + seconds(900.25)


def test_a_feed_with_fewer_vessels_than_the_minimum_is_not_an_outage() -> None:
    h = busy_feed(FeedOutageRule(), vessels=2)
    assert h.tick(T0 + seconds(3600)) == []
    h4 = busy_feed(FeedOutageRule(min_vessels=2), vessels=2)
    assert len(h4.tick(T0 + seconds(3600))) == 1


def test_vessels_leaving_range_one_by_one_are_not_an_outage() -> None:
    h = Harness(FeedOutageRule())
    # Three boats, the last two heard long before the last report: no "together".
    h.record(1, position(OPEN_SEA, T0, mmsi=412_000_001, feed="rx1"))
    h.record(2, position(OPEN_SEA, T0 + seconds(1800), mmsi=412_000_002, feed="rx1"))
    h.record(3, position(OPEN_SEA, T0 + seconds(3600), mmsi=412_000_003, feed="rx1"))
    assert h.tick(T0 + seconds(7200)) == []
    assert h.tick(T0 + seconds(7201)) == []


def test_a_vessel_counts_on_the_feed_it_was_last_heard_on() -> None:
    rule = FeedOutageRule()
    h = busy_feed(rule)
    # Vessel 3 moves on to another receiver and keeps reporting there: rx1 has only two left.
    h.record(3, position(OPEN_SEA, T0 + seconds(30), mmsi=412_000_003, feed="rx2"))
    for i in range(10):
        h.record(3, position(OPEN_SEA, T0 + seconds(60 * i), mmsi=412_000_003, feed="rx2"))
    assert h.tick(T0 + seconds(500)) == []
    assert not rule.feed_is_out("rx1")


def test_records_without_a_feed_are_ignored() -> None:
    h = Harness(FeedOutageRule())
    assert h.record(1, position(OPEN_SEA, T0) | {"feed": None}) == []
    assert h.tick(T0 + seconds(3600)) == []


def test_the_minimum_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_vessels"):
        FeedOutageRule(min_vessels=0)
