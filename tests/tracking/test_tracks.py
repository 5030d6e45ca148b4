"""Track queries against the database, and the two simplifications."""

from datetime import timedelta

import numpy as np
import pytest
import shapely

from tests.tracking.sim_tracks import T0, add_vessel, day_trip, store_track
from tracking.db import Pool
from tracking.geo import local_xy_m
from tracking.tracks import (
    TrackTooLarge,
    check_range,
    fetch_track,
    fetch_track_parallel,
    per_bucket,
    simplify_m,
)


async def test_the_track_is_every_stored_point_in_order(pool: Pool) -> None:
    track = day_trip()
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        other = await add_vessel(conn, "OTHER BOAT 99999", 412_000_002)
        await store_track(conn, vessel, track)
        await store_track(conn, other, track[:100])
        await conn.execute(
            "UPDATE positions SET speed = NULL, source = 'jt808' WHERE ts = %s", (track[5].ts,)
        )
        got = await fetch_track(conn, vessel, T0, T0 + timedelta(days=1), max_points=100_000)
    assert len(got) == len(track)
    assert [got.time(i) for i in (0, len(got) - 1)] == [track[0].ts, track[-1].ts]
    assert np.allclose(got.lon, [p.lon for p in track]) and np.allclose(got.lat, [p.lat for p in track])
    assert np.isnan(got.speed[5]) and got.source_name(5) == "jt808" and got.source_name(6) == "ais"
    assert got.speed[6] == pytest.approx(track[6].speed, abs=1e-5)  # real column: float32


async def test_points_stored_out_of_order_over_several_days_come_back_in_time_order(pool: Pool) -> None:
    # Three days: three chunks on TimescaleDB, each read newest first by its index; stored shuffled,
    # each day a different source (one the track does not know by name).
    days = [day_trip(T0 + timedelta(days=d), every_s=60) for d in range(3)]
    sources = ["sim", "terminal_json", "somewhere_else"]
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        for d in (2, 0, 1):
            await store_track(conn, vessel, days[d][::-1], source=sources[d])
        got = await fetch_track(conn, vessel, T0, T0 + timedelta(days=3), max_points=100_000)
    expected = [p for day in days for p in day]
    assert [got.time(i) for i in range(len(got))] == [p.ts for p in expected]
    assert np.array_equal(got.lon, [p.lon for p in expected])  # float8 both ways: exact
    assert np.array_equal(got.lat, [p.lat for p in expected])
    names = {got.source_name(i) for i in range(len(got))}
    assert names == {"sim", "terminal_json", "other"} and not got.drill.any()


async def test_a_track_read_in_parallel_slices_is_the_same_track(pool: Pool) -> None:
    days = [day_trip(T0 + timedelta(days=d), every_s=60) for d in range(3)]
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        for day in days:
            await store_track(conn, vessel, day)
        whole = await fetch_track(conn, vessel, T0, T0 + timedelta(days=3), max_points=100_000)
    for parts in (2, 3, 7):
        sliced = await fetch_track_parallel(
            pool, vessel, T0, T0 + timedelta(days=3), max_points=100_000, parts=parts
        )
        assert np.array_equal(sliced.ts, whole.ts) and np.array_equal(sliced.lon, whole.lon)
        assert np.array_equal(sliced.speed, whole.speed, equal_nan=True)
    size = len(whole)
    with pytest.raises(TrackTooLarge):  # every slice is under the limit, the whole is not
        await fetch_track_parallel(pool, vessel, T0, T0 + timedelta(days=3), max_points=size - 1, parts=3)
    nothing = await fetch_track_parallel(pool, vessel, T0 - timedelta(days=2), T0, max_points=10)
    assert len(nothing) == 0


async def test_a_range_is_half_open_and_bounded(pool: Pool) -> None:
    track = day_trip()
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        await store_track(conn, vessel, track)
        part = await fetch_track(conn, vessel, track[10].ts, track[20].ts, max_points=1000)
        assert len(part) == 10
        nothing = await fetch_track(
            conn, vessel, T0 - timedelta(days=2), T0 - timedelta(days=1), max_points=10
        )
        assert len(nothing) == 0
        with pytest.raises(TrackTooLarge):
            await fetch_track(conn, vessel, T0, T0 + timedelta(days=1), max_points=1000)
    with pytest.raises(ValueError, match="at most 3 days"):
        check_range(T0, T0 + timedelta(days=4), 3)
    with pytest.raises(ValueError, match="end after"):
        check_range(T0, T0, 3)


async def test_douglas_peucker_keeps_every_point_within_the_tolerance(pool: Pool) -> None:
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        await store_track(conn, vessel, day_trip())
        full = await fetch_track(conn, vessel, T0, T0 + timedelta(days=1), max_points=100_000)
    for tolerance in (5.0, 25.0, 100.0):
        simple = simplify_m(full, tolerance)
        assert 2 < len(simple) < len(full)
        assert simple.ts[0] == full.ts[0] and simple.ts[-1] == full.ts[-1]
        assert np.all(np.diff(simple.ts) > 0)  # kept points keep their own times, in order
        lon0, lat0 = float(full.lon.mean()), float(full.lat.mean())
        line = shapely.LineString(np.column_stack(local_xy_m(simple.lon, simple.lat, lon0, lat0)))
        points = shapely.points(np.column_stack(local_xy_m(full.lon, full.lat, lon0, lat0)))
        assert float(shapely.distance(line, points).max()) <= tolerance * 1.001
    assert len(simplify_m(full, 100.0)) < len(simplify_m(full, 5.0)) / 5


async def test_time_buckets_take_the_first_point_of_each_and_the_last(pool: Pool) -> None:
    track = day_trip(every_s=10)
    async with pool.connection() as conn:
        vessel = await add_vessel(conn)
        await store_track(conn, vessel, track)
        full = await fetch_track(conn, vessel, T0, T0 + timedelta(days=1), max_points=100_000)
    hourly = per_bucket(full, 3600)
    hours = int((full.ts[-1] - full.ts[0]) // 3600)
    assert hours + 1 <= len(hourly) <= hours + 3
    assert hourly.ts[0] == full.ts[0] and hourly.ts[-1] == full.ts[-1]
    assert len(np.unique(np.floor(hourly.ts[:-1] / 3600))) == len(hourly) - 1
