from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from tests.tracking.records import ais_position, ais_static, jt808_position
from tracking.db import Pool
from tracking.fleet import Fleet, VesselState, fold, load_fleet

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_a_position_moves_the_vessel_and_remembers_its_class() -> None:
    state = fold(VesselState(vessel_id=1), ais_position(n=0, ts=T0))
    assert (state.lon, state.lat, state.speed, state.source, state.ais_class) == (
        115.3,
        22.7,
        6.5,
        "ais",
        "A",
    )
    class_b = fold(state, ais_position(n=1, ts=T0 + timedelta(seconds=30), msg_type=18))
    assert class_b.ais_class == "B"
    assert class_b.last_seen["ais"] == T0 + timedelta(seconds=30)


def test_an_older_position_does_not_move_the_vessel_back() -> None:
    state = fold(VesselState(vessel_id=1), ais_position(n=5, ts=T0))
    late = fold(state, ais_position(n=1, ts=T0 - timedelta(minutes=10)))
    assert (late.lon, late.lat, late.ts) == (state.lon, state.lat, T0)


def test_a_position_without_fix_only_counts_as_seen() -> None:
    state = fold(VesselState(vessel_id=1), ais_position(n=0, ts=T0))
    blind = fold(state, ais_position(n=1, ts=T0 + timedelta(seconds=10), lon=None, lat=None))
    assert (blind.lon, blind.lat) == (state.lon, state.lat)
    assert blind.last_seen["ais"] == T0 + timedelta(seconds=10)


def test_static_reports_name_the_vessel_and_say_it_fishes() -> None:
    state = fold(VesselState(vessel_id=1), ais_static(shipname="YUE SHAN WEI 1", ship_type=30))
    assert (state.name, state.ship_type, state.is_fishing) == ("YUE SHAN WEI 1", 30, True)
    registered = fold(
        VesselState(vessel_id=2, name="粤汕渔12345"), ais_static(shipname="OTHER", ship_type=30)
    )
    assert registered.name == "粤汕渔12345"  # the registry's name wins over what the radio says


def test_a_terminal_report_without_gnss_fix_does_not_move_the_vessel() -> None:
    state = fold(VesselState(vessel_id=1), jt808_position())
    later = state.last_seen["jt808"] + timedelta(hours=1)
    unfixed = fold(state, jt808_position(lat=0.0, lon=0.0, fix=False, ts=later))
    assert (unfixed.lon, unfixed.lat) == (state.lon, state.lat)
    assert unfixed.last_seen["jt808"] == later


def test_terminal_positions_keep_their_source() -> None:
    state = fold(VesselState(vessel_id=1), jt808_position())
    assert state.source == "jt808" and state.terminal is not None and state.ais_class is None


def test_arrays_and_bbox() -> None:
    fleet = Fleet()
    fleet.update(1, ais_position(n=0, ts=T0))
    fleet.update(2, ais_position(n=100, ts=T0))
    fleet.update(3, ais_static())  # no position yet: not in the arrays
    cols = fleet.arrays()
    assert list(cols.vessel_ids) == [1, 2]
    assert np.isclose(cols.lon[1], 115.4)
    assert [s.vessel_id for s in fleet.in_bbox(115.35, 22.0, 116.0, 23.0)] == [2]
    previous, current = fleet.update(2, ais_position(n=101, ts=T0 + timedelta(seconds=10)))
    assert previous is not None and previous.lon != current.lon
    assert np.isclose(fleet.arrays().lon[1], current.lon)  # rebuilt after the change


async def test_the_fleet_is_rebuilt_from_the_database(pool: Pool) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO vessels (name, is_fishing, licensed_area)"
            " VALUES ('粤汕渔1', true, 'demo-fishing-area') RETURNING id"
        )
        row = await cur.fetchone()
        assert row is not None
        vessel_id = int(row[0])
        await conn.execute(
            "INSERT INTO vessel_identities (vessel_id, kind, value) VALUES (%s, 'mmsi', '412000001')",
            (vessel_id,),
        )
        args: list[Any] = [vessel_id]
        await conn.execute(
            "INSERT INTO positions (ts, vessel_id, source, lon, lat, speed) VALUES"
            " (%s, %s, 'ais', 115.30, 22.70, 5), (%s, %s, 'ais', 115.31, 22.71, 6)",
            (T0, *args, T0 + timedelta(minutes=1), *args),
        )
    fleet = await load_fleet(pool)
    state = fleet.get(vessel_id)
    assert state is not None
    assert (state.mmsi, state.lon, state.speed, state.is_fishing) == (412000001, 115.31, 6.0, True)
    assert state.ts == T0 + timedelta(minutes=1)
