"""The tracker component against a real database: positions and gate reads in, port calls, voyages and
`vessel_latest` out; a restart resumes without repeating anything."""

from datetime import datetime, timedelta

from seawatch.settings import TrackingSettings
from tests.tracking.sim_tracks import (
    BERTH,
    add_vessel,
    day_trip,
    moored,
    store_gate_read,
    store_track,
    then,
)
from tracking.db import Pool
from tracking.tracker import Tracker
from tracking.zones import load_demo_zones


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def drain(tracker: Tracker) -> None:
    while await tracker.poll_once() > 0 and tracker._behind:
        pass


async def test_a_day_trip_becomes_port_calls_a_voyage_and_the_latest_state(pool: Pool) -> None:
    track = day_trip()
    async with pool.connection() as conn:
        await load_demo_zones(conn)
        vessel = await add_vessel(conn)
        await store_track(conn, vessel, track)
        departure_read = track[0].ts + timedelta(minutes=62)  # at the gate on the way out
        await store_gate_read(conn, vessel, departure_read, "out")
    clock = Clock(then(track) + timedelta(minutes=1))
    tracker = Tracker(pool, TrackingSettings(), clock=clock)
    await tracker.load()
    await drain(tracker)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT zone_id, arrival_method, departure_method, departure_gate_at IS NOT NULL, departed_at"
            " FROM port_calls WHERE vessel_id = %s ORDER BY arrived_at",
            (vessel,),
        )
        calls = await cur.fetchall()
        cur = await conn.execute(
            "SELECT from_zone_id, to_zone_id, distance_m, fishing_s, zone_seconds, arrived_at - departed_at"
            " FROM voyages WHERE vessel_id = %s",
            (vessel,),
        )
        voyages = await cur.fetchall()
        cur = await conn.execute(
            "SELECT in_port, port_zone_id, ts, detector <> '{}' FROM vessel_latest WHERE vessel_id = %s",
            (vessel,),
        )
        latest = await cur.fetchone()
    assert [c[:4] for c in calls] == [
        ("shanwei-port", "initial", "track", True),
        ("shanwei-port", "track", None, False),
    ]
    assert len(voyages) == 1
    from_zone, to_zone, distance, fishing, zone_seconds, duration = voyages[0]
    assert (from_zone, to_zone) == ("shanwei-port", "shanwei-port")
    assert 25_000 < distance < 40_000
    assert 1.5 * 3600 <= fishing <= 2.2 * 3600  # the two hours of zig-zag trawling
    assert zone_seconds["islets-mpa"] > 1800
    assert timedelta(hours=3) < duration < timedelta(hours=5)
    assert latest == (True, "shanwei-port", then(track), True)

    # A new tracker (a restart) resumes from the stored state: nothing is detected twice.
    again = Tracker(pool, TrackingSettings(), clock=clock)
    await again.load()
    await drain(again)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM port_calls WHERE vessel_id = %s", (vessel,))
        assert (await cur.fetchone()) == (2,)
        cur = await conn.execute("SELECT count(*) FROM voyages WHERE vessel_id = %s", (vessel,))
        assert (await cur.fetchone()) == (1,)


async def test_a_restart_mid_voyage_continues_the_same_voyage(pool: Pool) -> None:
    track = day_trip()
    half = len(track) // 2
    async with pool.connection() as conn:
        await load_demo_zones(conn)
        vessel = await add_vessel(conn)
        await store_track(conn, vessel, track[:half])
    clock = Clock(track[half - 1].ts)
    first = Tracker(pool, TrackingSettings(), clock=clock)
    await first.load()
    await drain(first)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT arrived_at, distance_m > 0 FROM voyages WHERE vessel_id = %s", (vessel,)
        )
        assert (await cur.fetchone()) == (None, True)  # at sea, the running figures stored
        await store_track(conn, vessel, track[half:])
    clock.now = then(track) + timedelta(minutes=1)
    second = Tracker(pool, TrackingSettings(), clock=clock)
    await second.load()
    await drain(second)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT distance_m FROM voyages WHERE vessel_id = %s", (vessel,))
        rows = await cur.fetchall()
    assert len(rows) == 1 and 25_000 < rows[0][0] < 40_000


async def test_a_contradicting_gate_read_is_recorded(pool: Pool) -> None:
    stay = moored(BERTH, datetime.fromisoformat("2025-03-03T00:00:00+00:00"), 3)
    async with pool.connection() as conn:
        await load_demo_zones(conn)
        vessel = await add_vessel(conn)
        await store_track(conn, vessel, stay)
        await store_gate_read(conn, vessel, stay[100].ts, "out")
    tracker = Tracker(pool, TrackingSettings(), clock=Clock(then(stay)))
    await tracker.load()
    await drain(tracker)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT direction, reason FROM gate_contradictions WHERE vessel_id = %s", (vessel,)
        )
        assert await cur.fetchall() == [("out", "out through the gate, but the track stayed in port")]
        cur = await conn.execute("SELECT in_port FROM vessel_latest WHERE vessel_id = %s", (vessel,))
        assert await cur.fetchone() == (True,)
