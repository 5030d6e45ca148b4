"""Identity anomalies: each kind with a fake clock, the cases that must stay quiet, and the detector on
the ingest path into a real database."""

import asyncio
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest.anomaly_sink import AnomalySink, run_overdue_checks
from seawatch.settings import IdentitySettings, StoreSettings
from tests.sinks import DurableSink
from tests.tracking.records import T0, ais_position, jt808_position
from tracking.anomalies import (
    REPEAT_AFTER_S,
    AnomalyDetector,
    AnomalyState,
    Subject,
    detect,
    overdue_departures,
)
from tracking.db import Pool
from tracking.geo import haversine_m
from tracking.identity import IdentityRegistry
from tracking.rows import EventRow, to_row
from tracking.store import RecordStore

SETTINGS = IdentitySettings()
VESSEL = 7
GATE = (115.3621, 22.7745)  # Shanwei harbour entrance


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ais(seconds: float, lon: float, lat: float, **changes: Any) -> dict[str, Any]:
    return ais_position(ts=at(seconds), received_at=at(seconds), lon=lon, lat=lat, **changes)


def terminal(seconds: float, lon: float, lat: float, **changes: Any) -> dict[str, Any]:
    return jt808_position(ts=at(seconds), received_at=at(seconds), lon=lon, lat=lat, **changes)


def tag_read(
    seconds: float, direction: str = "out", gate: tuple[float, float] | None = GATE
) -> dict[str, Any]:
    lon, lat = gate if gate else (None, None)
    return {
        "kind": "tag_read",
        "source": "tag",
        "ts": at(seconds),
        "received_at": at(seconds),
        "tag_id": "E200001",
        "reader": "gate-shanwei-1",
        "direction": direction,
        "lon": lon,
        "lat": lat,
    }


def north(lat: float, metres: float) -> float:
    return lat + metres / 111_000


def east(lon: float, lat: float, metres: float) -> float:
    return lon + metres / (111_320 * math.cos(math.radians(lat)))


def watching(since_s: float = -86_400) -> AnomalyState:
    """State of a detector running since `since_s` seconds from T0 (by default: long enough)."""
    return AnomalyState(at(since_s))


def run(state: AnomalyState, now_s: float, *records: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for record in records:
        found += detect(state, VESSEL, record, SETTINGS, at(now_s), **options)
    return found


# --- one MMSI in two places -----------------------------------------------------------------------


def test_one_mmsi_in_two_places_is_an_anomaly_with_its_evidence() -> None:
    state = watching()
    # 50 km apart 30 s later: 3,000 knots.
    found = run(state, 31, ais(0, 115.30, 22.70), ais(30, east(115.30, 22.70, 50_000), 22.70))
    [anomaly] = found
    assert anomaly["kind"] == "identity_anomaly"
    assert anomaly["source"] == "identity"
    assert anomaly["anomaly"] == "mmsi_two_places"
    assert anomaly["vessel_id"] == VESSEL
    assert anomaly["mmsi"] == "412000001"
    assert anomaly["ts"] == at(30)
    assert anomaly["detected_at"] == at(31)
    evidence = anomaly["evidence"]
    assert evidence["previous"]["ts"] == at(0)
    assert evidence["current"]["lon"] == pytest.approx(east(115.30, 22.70, 50_000))
    assert evidence["distance_m"] == pytest.approx(50_000, rel=0.01)
    assert evidence["implied_speed_kn"] > 3000
    row = to_row(anomaly)
    assert isinstance(row, EventRow)
    assert row.identity == ("mmsi", "412000001")
    assert row.kind == "identity_anomaly"


def test_copies_from_two_receivers_are_not_two_places() -> None:
    state = watching()
    # The same report stamped 0.8 s apart by two receivers, and one with the last digit of scatter.
    found = run(state, 2, ais(0, 115.30, 22.70), ais(0.8, 115.30, 22.70), ais(1.0, 115.3005, 22.7003))
    assert found == []


def test_a_vessel_under_way_is_not_two_places() -> None:
    state = watching()
    # 25 knots for ten minutes, reported every 10 s.
    step = 25 * 1852 / 360
    reports = [ais(10 * n, east(115.30, 22.70, step * n), 22.70) for n in range(60)]
    assert run(state, 600, *reports) == []


def test_reports_out_of_order_are_compared_by_the_time_between_them() -> None:
    state = watching()
    assert (
        run(state, 61, ais(60, east(115.30, 22.70, 300), 22.70), ais(30, east(115.30, 22.70, 150), 22.70))
        == []
    )
    assert state.vessels[VESSEL].fixes["ais"].ts == at(60)  # the late one did not replace the latest
    # A late report from 40 km away is still an anomaly.
    [anomaly] = run(state, 62, ais(45, east(115.30, 22.70, 40_000), 22.70))
    assert anomaly["anomaly"] == "mmsi_two_places"
    assert anomaly["evidence"]["interval_s"] == 15


def test_a_sar_aircraft_may_fly_fast() -> None:
    state = watching()
    reports = [ais(0, 115.30, 22.70, msg_type=9), ais(60, east(115.30, 22.70, 7000), 22.70, msg_type=9)]
    assert run(state, 61, *reports) == []


def test_a_persisting_anomaly_is_reported_again_only_after_a_while() -> None:
    state = watching()
    far = east(115.30, 22.70, 50_000)
    first = run(state, 11, ais(0, 115.30, 22.70), ais(10, far, 22.70))
    again = run(state, 21, ais(20, 115.30, 22.70))
    later = run(state, 30 + REPEAT_AFTER_S, ais(30 + REPEAT_AFTER_S, far, 22.70))
    assert (len(first), len(again), len(later)) == (1, 0, 1)


# --- AIS and terminal disagree ----------------------------------------------------------------------


def test_ais_and_terminal_kilometres_apart_disagree() -> None:
    state = watching()
    found = run(
        state, 61, ais(0, 115.30, 22.70, speed=0.0), terminal(60, 115.30, north(22.70, 5000), speed=0.0)
    )
    [anomaly] = found
    assert anomaly["anomaly"] == "sources_disagree"
    assert anomaly["terminal"] == "013912345678"  # filed under the record that revealed it
    assert anomaly["evidence"]["ais"]["mmsi"] == "412000001"
    assert anomaly["evidence"]["terminal"]["terminal"] == "013912345678"
    assert anomaly["evidence"]["distance_m"] == pytest.approx(5000, rel=0.01)
    assert anomaly["evidence"]["allowed_m"] == SETTINGS.ais_terminal_max_distance_m


def test_a_vessel_whose_ais_and_terminal_agree_is_quiet() -> None:
    state = watching()
    assert run(state, 61, ais(0, 115.30, 22.70), terminal(60, 115.30, north(22.70, 300))) == []
    # Either order: the terminal first, then AIS.
    assert run(state, 122, terminal(120, 115.31, 22.70), ais(121, 115.3105, 22.70)) == []


def test_the_distance_a_vessel_ran_between_the_two_fixes_is_allowed() -> None:
    state = watching()
    # 20 knots, fixes 250 s apart: 2.6 km run, 4 km apart is within 2 km + 2.6 km.
    found = run(
        state, 251, ais(0, 115.30, 22.70, speed=20.0), terminal(250, 115.30, north(22.70, 4000), speed=20.0)
    )
    assert found == []


def test_fixes_older_than_the_age_limit_are_not_compared() -> None:
    state = watching()
    old = ais(0, 115.30, 22.70)
    # The terminal fix is recent, the AIS one 10 minutes old.
    assert run(state, 600, old, terminal(599, 115.30, north(22.70, 5000))) == []
    # A terminal upload arriving late is not compared with today's AIS either.
    state = watching()
    assert run(state, 1000, ais(999, 115.30, 22.70), terminal(100, 115.30, north(22.70, 5000))) == []


# --- gates --------------------------------------------------------------------------------------------


def test_a_gate_read_far_from_the_track_is_an_anomaly() -> None:
    state = watching()
    run(state, 0, ais(0, GATE[0], north(GATE[1], -10_000), speed=0.0))
    [anomaly] = run(state, 61, tag_read(60))
    assert anomaly["anomaly"] == "gate_elsewhere"
    assert anomaly["tag_id"] == "E200001"
    assert (anomaly["lon"], anomaly["lat"]) == GATE
    assert anomaly["evidence"]["gate"] == {"lon": GATE[0], "lat": GATE[1]}
    assert anomaly["evidence"]["track"]["mmsi"] == "412000001"
    assert anomaly["evidence"]["distance_m"] == pytest.approx(10_000, rel=0.01)


def test_a_gate_read_near_the_track_is_quiet() -> None:
    state = watching()
    run(state, 0, ais(0, GATE[0], north(GATE[1], -400), speed=3.0))
    assert run(state, 61, tag_read(60), tag_read(61, "in")) == []


def test_a_configured_gate_position_wins_and_a_gate_without_one_is_not_compared() -> None:
    state = watching()
    run(state, 0, ais(0, GATE[0], GATE[1], speed=0.0))
    elsewhere = {"gate-shanwei-1": (115.0, 22.5)}
    [anomaly] = run(state, 61, tag_read(60), gates=elsewhere)
    assert anomaly["evidence"]["gate"] == {"lon": 115.0, "lat": 22.5}
    state = watching()
    run(state, 0, ais(0, 115.0, 22.5))
    assert run(state, 61, tag_read(60, gate=None)) == []


def test_out_through_a_gate_after_a_long_silence_is_a_dark_departure() -> None:
    state = watching()
    run(state, 0, ais(0, GATE[0], GATE[1]))
    read_at = SETTINGS.gate_silence_s + 600
    [anomaly] = run(state, read_at + 1, tag_read(read_at))
    assert anomaly["anomaly"] == "dark_departure"
    assert anomaly["evidence"]["silent_s"] == read_at
    assert anomaly["evidence"]["last_position"]["ts"] == at(0)
    # Coming in after a silence is not a departure; a vessel never seen leaving is one.
    assert run(watching(), read_at + 1, tag_read(read_at, "in")) == []
    [never_seen] = run(watching(), 1, tag_read(0))
    assert never_seen["evidence"]["last_position"] is None


def test_no_dark_departure_before_seawatch_has_watched_long_enough() -> None:
    state = watching(since_s=-60)  # just restarted: it knows nothing of the last half hour
    assert run(state, 1, tag_read(0)) == []


def test_switching_off_on_the_way_out_is_found_by_waiting() -> None:
    state = watching()
    run(state, 0, ais(0, GATE[0], north(GATE[1], 200)))
    assert run(state, 61, tag_read(60)) == []  # in harbour a minute ago: not dark yet
    silence = SETTINGS.gate_silence_s
    assert overdue_departures(state, SETTINGS, at(60 + silence - 1)) == []
    [anomaly] = overdue_departures(state, SETTINGS, at(60 + silence + 30))
    assert anomaly["anomaly"] == "dark_departure"
    assert anomaly["tag_id"] == "E200001"
    assert anomaly["ts"] == at(60)
    assert anomaly["evidence"]["silent_since_read_s"] == silence + 30
    assert overdue_departures(state, SETTINGS, at(60 + 2 * silence)) == []  # once per read


def test_a_position_after_the_read_means_no_dark_departure() -> None:
    state = watching()
    run(state, 0, ais(0, GATE[0], GATE[1]), tag_read(60), terminal(900, 115.40, 22.60))
    assert overdue_departures(state, SETTINGS, at(60 + 2 * SETTINGS.gate_silence_s)) == []


def test_the_distance_is_right_to_half_a_percent_at_these_latitudes() -> None:
    # One degree of latitude at 22-23 N on WGS84, by integrating the meridian radius of curvature.
    a, e2 = 6_378_137.0, 0.00669437999014
    steps = 1000
    arc = sum(
        a * (1 - e2) / (1 - e2 * math.sin(math.radians(22 + (i + 0.5) / steps)) ** 2) ** 1.5
        for i in range(steps)
    ) * math.radians(1 / steps)
    assert haversine_m(115.0, 22.0, 115.0, 23.0) == pytest.approx(arc, rel=0.005)
    # Along the parallel: the prime vertical radius.
    prime = a / math.sqrt(1 - e2 * math.sin(math.radians(22.5)) ** 2)
    along = prime * math.cos(math.radians(22.5)) * math.radians(0.01)
    assert haversine_m(115.0, 22.5, 115.01, 22.5) == pytest.approx(along, rel=0.005)


# --- the detector on the ingest path --------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_anomalies_found_on_the_ingest_path_are_stored_as_events_of_the_vessel(
    pool: Pool, database_url: str, tmp_path: Path
) -> None:
    store = RecordStore(pool, StoreSettings(flush_interval_ms=20), tmp_path / "spool")
    clock = Clock(at(-86_400))
    detector = AnomalyDetector(IdentityRegistry(pool), SETTINGS, clock=clock)
    sink = AnomalySink(store, detector)
    runner = asyncio.create_task(store.run())
    try:
        async with asyncio.timeout(20):
            clock.now = at(61)
            first = await sink.put(ais(0, 115.30, 22.70, speed=0.0))
            await sink.put(terminal(60, 115.30, 22.70, speed=0.0))  # another vessel: nothing to compare
            clone = await sink.put(ais(60, east(115.30, 22.70, 50_000), 22.70))
            await asyncio.gather(first, clone)
            while True:
                with psycopg.connect(database_url) as conn:
                    rows = conn.execute(
                        "SELECT e.vessel_id, e.data->>'anomaly', (e.data->>'vessel_id')::bigint,"
                        " (SELECT vessel_id FROM vessel_identities WHERE value = '412000001')"
                        " FROM events e WHERE kind = 'identity_anomaly'"
                    ).fetchall()
                if rows:
                    break
                await asyncio.sleep(0.05)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    [(vessel, anomaly, named, registered)] = rows
    assert anomaly == "mmsi_two_places"
    assert vessel == named == registered


async def test_records_of_a_vessel_not_yet_resolved_are_checked_in_order_then_at_once(pool: Pool) -> None:
    inner = DurableSink()
    clock = Clock(at(61))
    sink = AnomalySink(inner, AnomalyDetector(IdentityRegistry(pool), SETTINGS, clock=clock))
    async with asyncio.timeout(20):
        # A new MMSI: its records wait for the database, the later one behind the earlier one.
        await sink.put(ais(0, 115.30, 22.70, speed=0.0))
        await sink.put(ais(60, east(115.30, 22.70, 50_000), 22.70))
        assert sink.waiting == 2
        await sink.settle()
        [clone] = [r for r in inner.records if r["kind"] == "identity_anomaly"]
        assert clone["anomaly"] == "mmsi_two_places"
        assert (clone["evidence"]["previous"]["ts"], clone["evidence"]["current"]["ts"]) == (at(0), at(60))
        # Now the registry's cache knows the vessel: the next record is checked before `put` returns.
        clock.now = at(1_001)
        await sink.put(ais(1_000, 115.30, 22.70, speed=0.0))
        assert sink.waiting == 0
    [back] = [r for r in inner.records[4:] if r["kind"] == "identity_anomaly"]
    assert back["evidence"]["previous"]["ts"] == at(60) and back["evidence"]["current"]["ts"] == at(1_000)
    assert back["vessel_id"] == clone["vessel_id"]


class BrokenDetector(AnomalyDetector):
    def __init__(self, *, known: bool) -> None:
        self.known = known

    def known_vessel(self, subject: Subject) -> int | None:
        return VESSEL if self.known else None

    async def resolve(self, subjects: Sequence[Subject]) -> list[int]:
        return [VESSEL for _ in subjects]

    def detect_subject(self, subject: Subject, vessel_id: int) -> list[dict[str, Any]]:
        raise RuntimeError("a bug in the detector")


@pytest.mark.parametrize("known", [True, False], ids=["cached vessel", "vessel from the database"])
async def test_a_failing_check_never_costs_the_record(known: bool) -> None:
    inner = DurableSink()
    sink = AnomalySink(inner, BrokenDetector(known=known))
    durable = await sink.put(ais(0, 115.3, 22.7))
    await sink.settle()
    assert inner.records == [ais(0, 115.3, 22.7)]
    assert durable.done() and durable.exception() is None


async def test_overdue_checks_run_periodically_into_the_sink() -> None:
    found = [[], [{"kind": "identity_anomaly", "anomaly": "dark_departure"}], []]
    put: list[dict[str, Any]] = []
    sleeps: list[float] = []

    class Sink:
        async def put(self, record: dict[str, Any]) -> "asyncio.Future[None]":
            put.append(record)
            return asyncio.get_running_loop().create_future()

    async def sleep(delay: float) -> None:
        sleeps.append(delay)
        if len(sleeps) > len(found):
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await run_overdue_checks(lambda: found[len(sleeps) - 1], Sink(), interval_s=60, sleep=sleep)
    assert [r["anomaly"] for r in put] == ["dark_departure"]
    assert sleeps[:3] == [60, 60, 60]


def test_a_terminal_without_a_fix_places_the_vessel_nowhere() -> None:
    state = watching()
    assert run(state, 61, ais(0, 115.30, 22.70), terminal(60, 0.0, 0.0, fix=False)) == []
    assert "jt808" not in state.vessels[VESSEL].fixes
