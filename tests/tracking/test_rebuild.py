"""Rebuilding port calls and voyages after late positions, on a real database: the rebuilt rows are what
live detection finds on the whole track, a second run changes nothing, and nothing outside the vessel
and the window moves."""

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from seawatch.cli import main
from seawatch.settings import DatabaseSettings, TrackingSettings
from tests.tracking.sim_tracks import T0, Point, add_vessel, day_trip, store_gate_read, store_track, then
from tests.tracking.test_tracker import Clock, drain
from tracking.db import Pool, open_pool
from tracking.portcall_store import Connection
from tracking.portcalls import track_to_json
from tracking.rebuild_requests import TRACKER_LOCK_ID, request_rebuild
from tracking.tracker import Tracker
from tracking.zones import load_demo_zones

DAY = timedelta(days=1)
Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


async def rows(conn: Connection, vessel: int) -> Rows:
    """The vessel's port calls and voyages, ids first."""
    cur = await conn.execute(
        "SELECT id, zone_id, arrived_at, arrival_method, arrival_gate_at, departed_at, departure_method,"
        " departure_gate_at FROM port_calls WHERE vessel_id = %s ORDER BY arrived_at",
        (vessel,),
    )
    calls = await cur.fetchall()
    cur = await conn.execute(
        "SELECT id, from_zone_id, to_zone_id, departed_at, arrived_at, distance_m, max_speed_kn, positions,"
        " zone_seconds, fishing_s FROM voyages WHERE vessel_id = %s ORDER BY departed_at",
        (vessel,),
    )
    return calls, await cur.fetchall()


def assert_like_live(rebuilt: Rows, live: Rows) -> None:
    """The same port calls and voyages as live detection of the whole track. A replay ticks the clock
    before each fix, as a tracker keeping up does; a tracker reading a whole page at once notices an
    arrival one fix later: a voyage may count one fix fewer."""
    assert [c[1:] for c in rebuilt[0]] == [c[1:] for c in live[0]]
    assert [v[1:5] for v in rebuilt[1]] == [v[1:5] for v in live[1]]
    for mine, theirs in zip(rebuilt[1], live[1], strict=True):
        distance, max_speed, positions, zone_seconds, fishing = mine[5:]
        assert distance == pytest.approx(theirs[5], rel=0.005) and max_speed == theirs[6]
        assert theirs[7] - 1 <= positions <= theirs[7]
        assert zone_seconds == pytest.approx(theirs[8], abs=20) and fishing == pytest.approx(
            theirs[9], abs=20
        )


def at_sea(day: list[Point], after: timedelta = timedelta(hours=1)) -> list[Point]:
    """The part of a day trip away from the mooring (from `after` on): what a terminal buffers and
    uploads late."""
    return [p for p in day if day[0].ts + after < p.ts < then(day) - timedelta(hours=2)]


async def day_two_at_sea_late(
    pool: Pool,
    days: int,
    after: timedelta = timedelta(hours=1),
    gate_out: timedelta | None = None,
    poll_interval_s: float = 5.0,
) -> tuple[Tracker, int, int, list[Point]]:
    """`days` day trips of two vessels through a tracker: the reference whole, the other without day 2's
    time at sea (from `after` on), which is returned (to be stored late). `gate_out`: both pass the
    harbour gate that long into day 2."""
    trips = [day_trip(T0 + d * DAY) for d in range(days)]
    late = at_sea(trips[1], after)
    whole = [p for trip in trips for p in trip]
    async with pool.connection() as conn:
        await load_demo_zones(conn)
        vessel = await add_vessel(conn)
        reference = await add_vessel(conn, "YUE SHAN WEI YU 54321", 412_000_002)
        await store_track(conn, reference, whole)
        await store_track(conn, vessel, [p for p in whole if p not in late])
        if gate_out is not None:
            for boat in (vessel, reference):
                await store_gate_read(conn, boat, trips[1][0].ts + gate_out, "out")
    settings = TrackingSettings(poll_interval_s=poll_interval_s)
    tracker = Tracker(pool, settings, clock=Clock(then(trips[-1]) + timedelta(minutes=1)))
    await tracker.load()
    await drain(tracker)
    return tracker, vessel, reference, late


async def test_late_positions_rebuilt_give_the_voyage_live_detection_finds(pool: Pool) -> None:
    tracker, vessel, reference, late = await day_two_at_sea_late(pool, 2)
    async with pool.connection() as conn:
        before = await rows(conn, vessel)
        assert len(before[1]) == 1  # day 2's voyage is missing: no fix of it ever reached the tracker
        reference_rows = await rows(conn, reference)
        await store_track(conn, vessel, late)  # hours older than the tracker's lookback
    await drain(tracker)
    async with pool.connection() as conn:
        assert await rows(conn, vessel) == before  # the tracker alone never sees them
        await request_rebuild(conn, [vessel], T0 + DAY, T0 + 2 * DAY)
    [result] = await tracker.rebuild_requested()
    assert result.end is None and result.state is not None  # it reached the vessel's present
    async with pool.connection() as conn:
        after = await rows(conn, vessel)
        assert_like_live(after, reference_rows)
        assert await rows(conn, reference) == reference_rows
        cur = await conn.execute(
            "SELECT in_port, port_zone_id, detector FROM vessel_latest WHERE vessel_id = %s", (vessel,)
        )
        latest = await cur.fetchone()
    # Day 1 (outside the window) kept its rows, ids and all.
    assert after[0][:1] == before[0][:1] and after[1][:1] == before[1][:1]
    assert len(after[0]) == 3 and len(after[1]) == 2
    reference_state = track_to_json(tracker.detector.track(reference))
    assert track_to_json(tracker.detector.track(vessel)) == reference_state
    assert latest == (True, "shanwei-port", reference_state)

    # Twice: nothing changes, not even an id.
    async with pool.connection() as conn:
        await request_rebuild(conn, [vessel], T0 + DAY, T0 + 2 * DAY)
    [again] = await tracker.rebuild_requested()
    assert again.changed == 0
    async with pool.connection() as conn:
        assert await rows(conn, vessel) == after


async def test_a_window_in_the_past_joins_the_stored_arrival_after_it(pool: Pool) -> None:
    tracker, vessel, reference, late = await day_two_at_sea_late(pool, 4)
    state = track_to_json(tracker.detector.track(vessel))
    async with pool.connection() as conn:
        before = await rows(conn, vessel)
        reference_rows = await rows(conn, reference)
        await store_track(conn, vessel, late)
        await request_rebuild(conn, [vessel], T0 + DAY, T0 + 2 * DAY)
    [result] = await tracker.rebuild_requested()
    assert result.state is None and result.end == before[0][-2][2]  # stopped at day 3's arrival
    async with pool.connection() as conn:
        after = await rows(conn, vessel)
    assert_like_live(after, reference_rows)
    # After the window, ids and all: day 3's port call, day 4's voyage, the open port call.
    assert after[0][-2:] == before[0][-2:] and after[1][-1] == before[1][-1]
    assert track_to_json(tracker.detector.track(vessel)) == state  # the live state too
    async with pool.connection() as conn:
        await request_rebuild(conn, [vessel], T0 + DAY, T0 + 2 * DAY)
    [again] = await tracker.rebuild_requested()
    assert again.changed == 0


async def test_a_window_inside_a_voyage_replays_the_voyage_from_its_departure(pool: Pool) -> None:
    # The departure reached the tracker, the rest of the voyage did not: it arrived when the boat was
    # seen moored again, with the distance of half a trip.
    # On its way out it passed the gate a few minutes before the track left the harbour polygon: the
    # replay, which starts at that departure, must still see the read.
    tracker, vessel, reference, late = await day_two_at_sea_late(
        pool, 2, after=timedelta(hours=2), gate_out=timedelta(minutes=55)
    )
    async with pool.connection() as conn:
        before = await rows(conn, vessel)
        reference_rows = await rows(conn, reference)
        assert before[1][-1][3] == reference_rows[1][-1][3]  # the same departure…
        assert reference_rows[0][-2][7] is not None  # …confirmed by the gate
        assert before[1][-1][5] < reference_rows[1][-1][5] - 10_000  # …and a voyage far too short
        await store_track(conn, vessel, late)
        await request_rebuild(conn, [vessel], T0 + DAY + timedelta(hours=3), T0 + DAY + timedelta(hours=4))
    [result] = await tracker.rebuild_requested()
    assert result.start == before[1][-1][3]  # from the departure of the voyage under way at --from
    async with pool.connection() as conn:
        after = await rows(conn, vessel)
    assert_like_live(after, reference_rows)
    assert after[1][-1][0] == before[1][-1][0]  # the voyage kept its id
    async with pool.connection() as conn:
        await request_rebuild(conn, [vessel], T0 + DAY + timedelta(hours=3), T0 + DAY + timedelta(hours=4))
    [again] = await tracker.rebuild_requested()
    assert again.changed == 0


async def test_the_tracker_notices_a_silence_filled_late_and_rebuilds_it(pool: Pool) -> None:
    tracker, vessel, reference, late = await day_two_at_sea_late(pool, 2)
    now = then(late) + DAY
    async with pool.connection() as conn:
        assert await tracker.gaps.check(conn, now) == []  # silences (the nights too), none filled
        reference_rows = await rows(conn, reference)
        await store_track(conn, vessel, late[: len(late) // 2])  # the upload comes in two parts
    async with pool.connection() as conn:
        assert await tracker.gaps.check(conn, now) == []  # checked a moment ago: not yet
        assert await tracker.gaps.check(conn, now + timedelta(minutes=1)) == [vessel]
    await tracker.rebuild_requested()
    async with pool.connection() as conn:
        await store_track(conn, vessel, late[len(late) // 2 :])
        assert await tracker.gaps.check(conn, now + timedelta(minutes=2)) == [vessel]
    await tracker.rebuild_requested()
    async with pool.connection() as conn:
        assert_like_live(await rows(conn, vessel), reference_rows)
        assert await tracker.gaps.check(conn, now + timedelta(minutes=3)) == []  # nothing new
        # Three days after a silence ended it is no longer watched.
        assert await tracker.gaps.check(conn, then(late) + timedelta(days=4)) == []
        assert tracker.gaps.silences == {}


async def test_a_running_tracker_rebuilds_a_silence_filled_late_by_itself(pool: Pool) -> None:
    tracker, vessel, reference, late = await day_two_at_sea_late(pool, 2, poll_interval_s=0.01)
    assert isinstance(tracker.clock, Clock)
    running = asyncio.create_task(tracker.run())
    try:
        async with pool.connection() as conn:
            await store_track(conn, vessel, late)
            reference_rows = await rows(conn, reference)
        tracker.clock.now += timedelta(minutes=1)  # the next check of the silences is due
        for _ in range(3000):  # a bound, not a timing: it fails only if it never happens
            async with pool.connection() as conn:
                if len((await rows(conn, vessel))[1]) == 2:
                    break
            await asyncio.sleep(0.01)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    async with pool.connection() as conn:
        assert_like_live(await rows(conn, vessel), reference_rows)


def prepare_late_voyage(dsn: str) -> int:
    """A day trip whose time at sea reached the database after the tracker had passed it."""

    async def run() -> int:
        pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=2))
        try:
            trip = day_trip()
            late = at_sea(trip)
            async with pool.connection() as conn:
                await load_demo_zones(conn)
                vessel = await add_vessel(conn)
                await store_track(conn, vessel, [p for p in trip if p not in late])
            tracker = Tracker(pool, TrackingSettings(), clock=Clock(then(trip) + timedelta(minutes=1)))
            await tracker.load()
            await drain(tracker)
            async with pool.connection() as conn:
                await store_track(conn, vessel, late)
            return vessel
        finally:
            await pool.close()

    return asyncio.run(run())


def count(dsn: str, query: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query.encode()).fetchone()
        return int(row[0]) if row else 0


WINDOW = ["--from", T0.isoformat(), "--to", (T0 + DAY).isoformat()]


def test_the_rebuild_command_does_it_itself_when_no_tracker_runs(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    vessel = prepare_late_voyage(database_url)
    assert count(database_url, "SELECT count(*) FROM voyages") == 0
    assert main(["tracks", "rebuild", "--db", database_url, "--vessel", str(vessel), *WINDOW]) == 0
    assert f"vessel {vessel}: " in capsys.readouterr().out
    assert count(database_url, "SELECT count(*) FROM voyages WHERE arrived_at IS NOT NULL") == 1
    assert count(database_url, "SELECT count(*) FROM port_calls") == 2
    assert count(database_url, "SELECT count(*) FROM tracker_rebuilds") == 0
    # --all finds the vessel by its positions in the window; a second rebuild changes nothing.
    assert main(["tracks", "rebuild", "--db", database_url, "--all", *WINDOW]) == 0
    out = capsys.readouterr().out
    assert f"vessel {vessel}: " in out and "0 row(s) changed" in out


def test_with_a_tracker_running_the_command_queues_the_rebuild_for_it(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    vessel = prepare_late_voyage(database_url)
    with psycopg.connect(database_url, autocommit=True) as tracker_lock:
        tracker_lock.execute("SELECT pg_advisory_lock(%s)", (TRACKER_LOCK_ID,))
        args = ["tracks", "rebuild", "--db", database_url, "--vessel", str(vessel), *WINDOW, "--wait", "0.2"]
        assert main(args) == 1
        assert "still queued" in capsys.readouterr().err
        assert count(database_url, "SELECT count(*) FROM tracker_rebuilds") == 1
        assert count(database_url, "SELECT count(*) FROM voyages") == 0  # the command left it alone

    async def tracker_takes_it() -> int:
        pool = await open_pool(database_url, DatabaseSettings(pool_min=1, pool_max=2))
        try:
            tracker = Tracker(pool, TrackingSettings(), clock=Clock(T0 + DAY))
            await tracker.load()
            return len(await tracker.rebuild_requested())
        finally:
            await pool.close()

    assert asyncio.run(tracker_takes_it()) == 1
    assert count(database_url, "SELECT count(*) FROM voyages WHERE arrived_at IS NOT NULL") == 1
    assert count(database_url, "SELECT count(*) FROM tracker_rebuilds") == 0
    assert main(["tracks", "rebuild", "--db", database_url, "--vessel", "999999", *WINDOW]) == 1
    assert "no such vessel: 999999" in capsys.readouterr().err
