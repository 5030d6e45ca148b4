"""Weather warnings from CAP documents (real ones from ../shared/data/cap and a Shanwei gale warning in
the same form), the WeatherRule with a fake clock, and the return-to-port board."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from shapely.geometry import box

from alerts.cap import CapAlert, parse_cap
from alerts.rules.weather import (
    WeatherRule,
    WeatherWarning,
    apply_cap,
    from_cap,
    return_to_port_board,
)
from tests.alerts.rules.sea_support import (
    FISHING_GROUNDS,
    ISLETS_MPA,
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
from tracking.geo import METRES_PER_NM, metres_to_degrees_lat

CAP_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "cap"
SENDER = "warnings@gd-weather.example"
GALE_ID = f"{SENDER},SW-GALE-20260701-01"
OUTSIDE = (116.5, 22.0)  # at sea, south-east of the gale area

# The gale area covers the Shanwei coast, its harbours and the fishing grounds (CAP writes lat,lon).
SHANWEI_WATERS = "22.3,115.0 22.3,116.0 22.9,116.0 22.9,115.0 22.3,115.0"
WEST_HALF = "22.3,115.0 22.3,115.4 22.9,115.4 22.9,115.0 22.3,115.0"


def cap(
    identifier: str = "SW-GALE-20260701-01",
    *,
    msg_type: str = "Alert",
    status: str = "Actual",
    references: str | None = None,
    polygon: str = SHANWEI_WATERS,
    severity: str = "Severe",
    effective: str | None = "2026-07-01T11:30:00+08:00",
    onset: str | None = "2026-07-01T18:00:00+08:00",
    expires: str | None = "2026-07-02T12:00:00+08:00",
    infos: int = 2,
) -> CapAlert:
    """A CAP 1.2 gale warning for Shanwei waters in Chinese and English, as the provincial service sends."""
    times = "".join(
        f"<{name}>{value}</{name}>"
        for name, value in (("effective", effective), ("onset", onset), ("expires", expires))
        if value
    )
    info = """<info><language>{lang}</language><category>Met</category><event>{event}</event>
        <urgency>Expected</urgency><severity>{severity}</severity><certainty>Likely</certainty>{times}
        <headline>{headline}</headline>
        <area><areaDesc>Shanwei coastal waters</areaDesc><polygon>{polygon}</polygon></area></info>"""
    languages = [
        ("zh-CN", "大风预警", "汕尾近海大风橙色预警"),
        ("en-US", "Gale warning", "Shanwei waters gale warning"),
    ]
    body = "".join(
        info.format(
            lang=lang, event=event, headline=headline, severity=severity, times=times, polygon=polygon
        )
        for lang, event, headline in languages[:infos]
    )
    refs = f"<references>{references}</references>" if references else ""
    return parse_cap(
        f"""<?xml version="1.0" encoding="UTF-8"?>
        <alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
        <identifier>{identifier}</identifier><sender>{SENDER}</sender>
        <sent>2026-07-01T11:30:00+08:00</sent><status>{status}</status><msgType>{msg_type}</msgType>
        <scope>Public</scope>{refs}{body}</alert>""".encode()
    )


def real(name: str) -> CapAlert:
    return parse_cap((CAP_DIR / name).read_bytes())


def gale_rule(alert: CapAlert | None = None) -> Harness:
    return Harness(WeatherRule(from_cap(alert or cap())))


def only_warning(h: Harness) -> WeatherWarning:
    assert isinstance(h.rule, WeatherRule)
    (warning,) = h.rule.warnings
    return warning


# --- CAP → warnings -----------------------------------------------------------------------------------


def test_a_gale_warning_in_two_languages_is_one_warning_starting_at_the_earlier_time() -> None:
    (warning,) = from_cap(cap())
    assert warning.id == GALE_ID and warning.identifier == "SW-GALE-20260701-01"
    assert (warning.severity, warning.event) == ("high", "大风预警")
    # Effective 11:30 is earlier than the 18:00 onset: boats are warned from 11:30.
    assert warning.start == datetime(2026, 7, 1, 3, 30, tzinfo=UTC)
    assert warning.end == datetime(2026, 7, 2, 4, 0, tzinfo=UTC)
    assert warning.contains(*OPEN_SEA) and not warning.contains(*OUTSIDE)
    assert not warning.drill


def test_the_start_is_the_earlier_of_effective_and_onset_with_effective_defaulting_to_sent() -> None:
    (early_onset,) = from_cap(cap(effective="2026-07-01T14:00:00+08:00", onset="2026-07-01T13:00:00+08:00"))
    assert early_onset.start == datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    (no_effective,) = from_cap(cap(effective=None, onset="2026-07-01T18:00:00+08:00"))
    assert no_effective.start == datetime(2026, 7, 1, 3, 30, tzinfo=UTC)  # sent
    (open_ended,) = from_cap(cap(effective=None, onset=None, expires=None))
    assert (open_ended.start, open_ended.end) == (datetime(2026, 7, 1, 3, 30, tzinfo=UTC), None)
    assert open_ended.active(datetime(2030, 1, 1, tzinfo=UTC))


def test_real_cap_documents() -> None:
    # OASIS CAP 1.2 example A.2: a severe thunderstorm with a polygon, no effective or onset.
    (storm,) = from_cap(real("oasis/v1dot2_appendix_adot2.xml"))
    assert (storm.id, storm.severity, storm.event) == (
        "KSTO@NWS.NOAA.GOV,KSTO1055887203",
        "high",
        "SEVERE THUNDERSTORM",
    )
    assert storm.start == datetime.fromisoformat("2003-06-17T14:57:00-07:00")
    assert storm.end == datetime.fromisoformat("2003-06-17T16:00:00-07:00")
    assert storm.contains(-119.95, 38.5)
    # Environment Canada: an Update in English and French over the same area is one warning.
    (watch,) = from_cap(real("google/canada.cap"))
    assert watch.severity == "low" and len(watch.references) == 2
    # An epicentre (a circle of radius 0) can contain no vessel; a Cancel carries no warning.
    assert from_cap(real("oasis/v1dot2_appendix_adot3.xml")) == []
    assert from_cap(real("oasis/ipaws-5e6dd9de023f1930ef6548d9.xml")) == []
    # Geocode-only areas (the NWS blizzard warning's polygon is empty) cannot place a vessel.
    assert from_cap(real("oasis/nws-5c2cf27b1f56885d61654dc47fa411d5.xml")) == []


def test_test_and_draft_documents_change_nothing_and_exercises_are_drills() -> None:
    assert from_cap(cap(status="Test")) == []
    current = from_cap(cap())
    cancel_test = cap(
        "SW-X", msg_type="Cancel", status="Test", references=f"{GALE_ID},2026-07-01T11:30:00+08:00"
    )
    assert apply_cap(current, cancel_test) == current
    (drill,) = from_cap(cap(status="Exercise"))
    assert drill.drill


def test_update_replaces_keeping_the_id_and_cancel_removes() -> None:
    original = from_cap(cap())
    other = from_cap(cap("SW-RAIN-1", polygon=WEST_HALF))
    update = cap(
        "SW-GALE-20260701-02",
        msg_type="Update",
        references=f"{GALE_ID},2026-07-01T11:30:00+08:00",
        severity="Extreme",
    )
    after = apply_cap(original + other, update)
    assert sorted(w.id for w in after) == sorted([GALE_ID, f"{SENDER},SW-RAIN-1"])
    (gale,) = [w for w in after if w.id == GALE_ID]
    assert (gale.identifier, gale.severity) == ("SW-GALE-20260701-02", "critical")
    # A later Cancel may cite the update: the thread is found by either name.
    cancel = cap(
        "SW-GALE-20260701-03",
        msg_type="Cancel",
        references=f"{SENDER},SW-GALE-20260701-02,2026-07-01T12:30:00+08:00",
        infos=0,
    )
    assert [w.id for w in apply_cap(after, cancel)] == [f"{SENDER},SW-RAIN-1"]
    # The real Canadian update, applied over the two watches it references, replaces both with one.
    earlier = [
        WeatherWarning(
            id=f"cap@ec.gc.ca,{ident}",
            identifier=ident,
            sender="cap@ec.gc.ca",
            sent=datetime(2012, 5, 2, 21, 45, tzinfo=UTC),
            severity="low",
            event="thunderstorm",
            headline=None,
            geometry=box(-83, 41, -81, 43),
            start=datetime(2012, 5, 2, 21, 45, tzinfo=UTC),
            end=None,
        )
        for ident in ("2.49.0.1.124.a3f342a4.2012", "2.49.0.1.124.60f31a3a.2012")
    ]
    (merged,) = apply_cap(earlier, real("google/canada.cap"))
    assert merged.id == "cap@ec.gc.ca,2.49.0.1.124.a3f342a4.2012"
    assert merged.identifier == "2.49.0.1.124.6bddbc91.2012"
    # Re-posting the same Alert does not duplicate it.
    assert len(apply_cap(original, cap())) == 1


# --- the rule -------------------------------------------------------------------------------------------


def test_a_vessel_at_sea_in_the_area_gets_the_warnings_severity() -> None:
    h = gale_rule()
    (alert,) = h.record(1, position(OPEN_SEA, T0))
    assert (alert.kind, alert.key, alert.severity, alert.active) == (
        "weather",
        f"weather:vessel:1:warning:{GALE_ID}",
        "high",
        True,
    )
    assert alert.details["identifier"] == "SW-GALE-20260701-01" and alert.details["event"] == "大风预警"
    assert alert.position is not None and alert.vessel_id == 1


def test_a_vessel_in_port_under_a_gale_warning_gets_none() -> None:
    h = gale_rule()
    assert h.record(1, position(SHANWEI_PORT, T0, speed=0.0)) == []
    assert h.record(2, position(ZHELANG_PORT, T0, mmsi=412_000_002, speed=0.0)) == []
    assert h.tick(T0) == []  # nor from the sweep when the warning starts


def test_entering_the_area_later_and_coming_into_port_clear() -> None:
    h = gale_rule()
    assert h.record(1, position(OUTSIDE, T0)) == []
    assert active(h.record(1, position(OPEN_SEA, T0 + seconds(600))))
    key = f"weather:vessel:1:warning:{GALE_ID}"
    assert cleared_keys(h.record(1, position(SHANWEI_PORT, T0 + seconds(3600), speed=0.0))) == [key]
    assert h.record(1, position(SHANWEI_PORT, T0 + seconds(3700), speed=0.0)) == []


def test_the_sweep_raises_for_boats_already_out_and_cancel_clears_them() -> None:
    rule = WeatherRule()
    h = Harness(rule)
    h.record(1, position(OPEN_SEA, T0))
    h.record(2, position(FISHING_GROUNDS, T0, mmsi=412_000_002, speed=3.0))
    h.record(3, position(SHANWEI_PORT, T0, mmsi=412_000_003, speed=0.0))
    h.record(4, position(OUTSIDE, T0, mmsi=412_000_004))
    h.record(5, position(ISLETS_MPA, T0, mmsi=994_121_005, msg_type=21, speed=None))  # a buoy
    assert h.tick(T0) == []
    rule.apply(cap())
    swept = h.tick(T0 + seconds(1))
    assert sorted(c.vessel_id or 0 for c in active(swept)) == [1, 2]
    assert h.tick(T0 + seconds(2)) == []  # swept once
    rule.apply(
        cap(
            "SW-GALE-20260701-02",
            msg_type="Cancel",
            references=f"{GALE_ID},2026-07-01T11:30:00+08:00",
            infos=0,
        )
    )
    assert sorted(cleared_keys(h.tick(T0 + seconds(3)))) == [
        f"weather:vessel:{v}:warning:{GALE_ID}" for v in (1, 2)
    ]


def test_a_warning_acts_only_between_its_start_and_expiry() -> None:
    h = gale_rule(cap(effective="2026-07-01T13:00:00+08:00", onset="2026-07-01T18:00:00+08:00"))
    assert h.record(1, position(OPEN_SEA, T0)) == []  # 12:00 China time: not yet
    start = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    assert h.tick(start - seconds(1)) == []
    assert [c.vessel_id for c in active(h.tick(start))] == [1]
    end = datetime(2026, 7, 2, 4, 0, tzinfo=UTC)
    assert h.tick(end - seconds(1)) == []
    assert cleared_keys(h.tick(end)) == [f"weather:vessel:1:warning:{GALE_ID}"]
    assert h.record(1, position(OPEN_SEA, end + seconds(60))) == []


def test_an_update_that_shrinks_the_area_clears_those_left_outside() -> None:
    rule = WeatherRule(from_cap(cap()))
    h = Harness(rule)
    h.record(1, position(OPEN_SEA, T0))  # lon 115.30: in the west half
    h.record(2, position(FISHING_GROUNDS, T0, mmsi=412_000_002))  # lon 115.50: not
    h.tick(T0)
    rule.apply(
        cap(
            "SW-GALE-20260701-02",
            msg_type="Update",
            references=f"{GALE_ID},2026-07-01T11:30:00+08:00",
            polygon=WEST_HALF,
            severity="Extreme",
        )
    )
    changed = h.tick(T0 + seconds(1))
    assert [(c.vessel_id, c.severity) for c in active(changed)] == [(1, "critical")]
    assert cleared_keys(changed) == [f"weather:vessel:2:warning:{GALE_ID}"]


def test_an_exercise_warning_raises_drill_alerts() -> None:
    h = gale_rule(cap(status="Exercise"))
    (alert,) = h.record(1, position(OPEN_SEA, T0))
    assert alert.drill


# --- the return-to-port board ------------------------------------------------------------------------


def test_the_board_lists_boats_at_sea_with_distance_and_eta_to_the_nearest_port() -> None:
    h = gale_rule()
    south_of_port = (115.37, 22.755 - metres_to_degrees_lat(10 * METRES_PER_NM))  # 10 nm south of Shanwei
    h.record(1, position(south_of_port, T0, speed=4.0))  # slower than the 8 kn return speed
    h.record(
        2,
        position(
            (115.37, 22.755 - metres_to_degrees_lat(2 * METRES_PER_NM)), T0, mmsi=412_000_002, speed=10.0
        ),
    )
    h.record(3, position(SHANWEI_PORT, T0, mmsi=412_000_003, speed=0.0))
    h.record(4, position(OUTSIDE, T0, mmsi=412_000_004))
    board = return_to_port_board(h.ctx(T0), only_warning(h))
    assert [row.vessel_id for row in board] == [1, 2]  # the longest ETA first
    far, near = board
    assert (far.port_id, near.port_id) == ("shanwei-port", "shanwei-port")
    assert far.distance_nm == pytest.approx(10.0, rel=0.005)
    assert far.eta_s == pytest.approx(10 / 8 * 3600, rel=0.005)  # at the 8 kn return speed
    assert near.eta_s == pytest.approx(2 / 10 * 3600, rel=0.005)  # at its own 10 kn
    assert far.eta_s is not None and far.eta == T0 + seconds(far.eta_s)
    assert (far.speed_kn, far.mmsi, far.name) == (4.0, 412_000_001, None)  # no static report yet


def test_the_board_of_an_area_with_no_boats_at_sea_is_empty() -> None:
    h = gale_rule()
    h.record(1, position(SHANWEI_PORT, T0, speed=0.0))
    assert return_to_port_board(h.ctx(T0), only_warning(h)) == []
