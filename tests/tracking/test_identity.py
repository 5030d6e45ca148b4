import asyncio
from datetime import UTC, datetime

import psycopg
import pytest

from seawatch.settings import DatabaseSettings
from tracking.db import Pool, open_pool
from tracking.identity import IdentityRegistry, Lookup

JAN = datetime(2025, 1, 1, tzinfo=UTC)
MAR = datetime(2025, 3, 1, tzinfo=UTC)
JUN = datetime(2025, 6, 1, tzinfo=UTC)
SEP = datetime(2025, 9, 1, tzinfo=UTC)


def add_vessel(dsn: str, name: str, *identities: tuple[str, str, datetime | None, datetime | None]) -> int:
    """A registered vessel with identities (kind, value, valid_from, valid_to); None is unbounded."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("INSERT INTO vessels (name) VALUES (%s) RETURNING id", (name,)).fetchone()
        assert row is not None
        for kind, value, start, end in identities:
            conn.execute(
                "INSERT INTO vessel_identities (vessel_id, kind, value, valid_from, valid_to) VALUES"
                " (%s, %s, %s, COALESCE(%s, '-infinity'::timestamptz),"
                " COALESCE(%s, 'infinity'::timestamptz))",
                (row[0], kind, value, start, end),
            )
        return int(row[0])


def vessel_rows(dsn: str) -> list[tuple[int, bool]]:
    with psycopg.connect(dsn) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT id, provisional FROM vessels ORDER BY id")]


async def test_a_registered_identity_resolves_to_its_vessel(pool: Pool, database_url: str) -> None:
    vessel = add_vessel(database_url, "Yue 1", ("mmsi", "412000001", None, None))
    registry = IdentityRegistry(pool)
    async with asyncio.timeout(10):
        assert await registry.resolve("mmsi", "412000001", JUN) == vessel
    assert vessel_rows(database_url) == [(vessel, False)]


async def test_validity_periods_pick_the_vessel_of_the_time(pool: Pool, database_url: str) -> None:
    # The transponder was on hull A until March, then moved to hull B.
    hull_a = add_vessel(database_url, "A", ("mmsi", "412000002", None, MAR))
    hull_b = add_vessel(database_url, "B", ("mmsi", "412000002", MAR, None))
    registry = IdentityRegistry(pool)
    async with asyncio.timeout(10):
        assert await registry.resolve("mmsi", "412000002", JAN) == hull_a
        assert await registry.resolve("mmsi", "412000002", MAR) == hull_b  # valid_from is inclusive
        assert await registry.resolve("mmsi", "412000002", SEP) == hull_b
        # A batch resolves many in one go, from the cache now.
        many = await registry.resolve_many([Lookup("mmsi", "412000002", t) for t in (JAN, SEP, JAN)])
    assert many == [hull_a, hull_b, hull_a]
    assert registry.created == 0


async def test_an_unknown_identity_gets_one_provisional_vessel(pool: Pool, database_url: str) -> None:
    registry = IdentityRegistry(pool)
    async with asyncio.timeout(10):
        first = await registry.resolve("terminal", "013912345678", JUN)
        assert await registry.resolve("terminal", "013912345678", JAN) == first
        registry.clear()
        assert await registry.resolve("terminal", "013912345678", SEP) == first  # found in the database
    assert vessel_rows(database_url) == [(first, True)]
    periods = await registry.periods("terminal", "013912345678")
    assert [(p.valid_from, p.valid_to, p.vessel_id) for p in periods] == [(None, None, first)]


async def test_a_time_outside_every_period_gets_a_vessel_for_the_gap_only(
    pool: Pool, database_url: str
) -> None:
    hull_a = add_vessel(database_url, "A", ("tag", "E200-1", None, MAR))
    hull_b = add_vessel(database_url, "B", ("tag", "E200-1", SEP, None))
    registry = IdentityRegistry(pool)
    async with asyncio.timeout(10):
        stranger = await registry.resolve("tag", "E200-1", JUN)
        assert stranger not in (hull_a, hull_b)
        assert await registry.resolve("tag", "E200-1", MAR) == stranger
        assert await registry.resolve("tag", "E200-1", JAN) == hull_a
        assert await registry.resolve("tag", "E200-1", SEP) == hull_b
    periods = {p.vessel_id: (p.valid_from, p.valid_to) for p in await registry.periods("tag", "E200-1")}
    assert periods[stranger] == (MAR, SEP)


async def test_concurrent_workers_meeting_a_new_identity_get_the_same_vessel(
    database_url: str, pool: Pool
) -> None:
    # Two workers, each with its own pool and cache, all racing for the same new MMSIs.
    other_pool = await open_pool(database_url, DatabaseSettings(pool_min=4, pool_max=4))
    try:
        workers = [IdentityRegistry(pool), IdentityRegistry(other_pool)]
        mmsis = [str(412_100_000 + n) for n in range(5)]
        async with asyncio.timeout(30):
            results = await asyncio.gather(
                *(workers[n % 2].resolve("mmsi", mmsi, JUN) for n in range(40) for mmsi in mmsis)
            )
    finally:
        await other_pool.close()
    by_mmsi: dict[str, set[int]] = {}
    for n, vessel in enumerate(results):
        by_mmsi.setdefault(mmsis[n % len(mmsis)], set()).add(vessel)
    assert all(len(vessels) == 1 for vessels in by_mmsi.values())
    assert len(vessel_rows(database_url)) == len(mmsis)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM vessel_identities").fetchone() == (len(mmsis),)


async def test_the_cache_is_bounded_and_forget_reads_the_database_again(
    pool: Pool, database_url: str
) -> None:
    registry = IdentityRegistry(pool, cache_size=3)
    async with asyncio.timeout(10):
        for n in range(5):
            await registry.resolve("mmsi", str(412_200_000 + n), JUN)
        assert len(registry) == 3
        vessel = await registry.resolve("mmsi", "412200004", JUN)
        # The registry moves the MMSI to a registered hull from August (an import would do this).
        hull = add_vessel(
            database_url, "Registered", ("mmsi", "412200004", datetime(2025, 8, 1, tzinfo=UTC), None)
        )
        with psycopg.connect(database_url) as conn:
            conn.execute(
                "UPDATE vessel_identities SET valid_to = '2025-08-01Z' WHERE vessel_id = %s", (vessel,)
            )
        assert await registry.resolve("mmsi", "412200004", SEP) == vessel  # still cached
        registry.forget("mmsi", "412200004")
        assert await registry.resolve("mmsi", "412200004", SEP) == hull
        assert await registry.resolve("mmsi", "412200004", JUN) == vessel


async def test_an_unknown_identity_kind_is_refused(pool: Pool) -> None:
    registry = IdentityRegistry(pool)
    with pytest.raises(ValueError, match="identity kind"):
        async with asyncio.timeout(10):
            await registry.resolve("imei", "123", JUN)


async def test_a_change_made_elsewhere_is_seen_once_the_cache_entry_is_old(pool: Pool) -> None:
    now = [0.0]
    registry = IdentityRegistry(pool, ttl_s=60, clock=lambda: now[0])
    when = datetime(2026, 7, 1, tzinfo=UTC)
    provisional = await registry.resolve("mmsi", "412777001", when)
    async with pool.connection() as conn:  # another process re-files the MMSI under a registered vessel
        cur = await conn.execute("INSERT INTO vessels (hull_number) VALUES ('粤汕渔77777') RETURNING id")
        row = await cur.fetchone()
        assert row is not None
        await conn.execute("UPDATE vessel_identities SET vessel_id = %s WHERE value = '412777001'", (row[0],))
    now[0] = 30.0
    assert await registry.resolve("mmsi", "412777001", when) == provisional  # still cached
    now[0] = 61.0
    assert await registry.resolve("mmsi", "412777001", when) == row[0]


async def test_one_batch_creates_every_new_identity_once_and_fills_only_the_gaps(
    pool: Pool, database_url: str
) -> None:
    # A known tag on hull A until March and hull B from September; a batch meets it in both the gap and
    # the known periods, along with two new MMSIs (one of them twice).
    hull_a = add_vessel(database_url, "A", ("tag", "E200-2", None, MAR))
    hull_b = add_vessel(database_url, "B", ("tag", "E200-2", SEP, None))
    registry = IdentityRegistry(pool)
    lookups = [
        Lookup("mmsi", "412300001", JUN),
        Lookup("tag", "E200-2", JUN),
        Lookup("mmsi", "412300002", JAN),
        Lookup("tag", "E200-2", JAN),
        Lookup("mmsi", "412300001", SEP),
        Lookup("tag", "E200-2", MAR),
    ]
    async with asyncio.timeout(10):
        first, gap, second, on_a, again, gap_again = await registry.resolve_many(lookups)
        assert await registry.resolve_many(lookups) == [first, gap, second, on_a, again, gap_again]  # cached
        registry.clear()
        from_database = await registry.resolve_many(lookups)
    assert from_database == [first, gap, second, on_a, again, gap_again]
    assert on_a == hull_a
    assert first == again and gap == gap_again
    assert len({first, second, gap, hull_a, hull_b}) == 5
    assert registry.created == 3
    assert [v for v, provisional in vessel_rows(database_url) if provisional] == sorted([first, second, gap])
    periods = {p.vessel_id: (p.valid_from, p.valid_to) for p in await registry.periods("tag", "E200-2")}
    assert periods == {hull_a: (None, MAR), gap: (MAR, SEP), hull_b: (SEP, None)}


async def test_workers_creating_overlapping_batches_get_the_same_vessels(
    database_url: str, pool: Pool
) -> None:
    # Two workers, each with its own pool and cache, meet the same new MMSIs in batches, in opposite
    # orders: the locks must not deadlock, and each MMSI gets one vessel.
    other_pool = await open_pool(database_url, DatabaseSettings(pool_min=4, pool_max=4))
    mmsis = [str(412_400_000 + n) for n in range(30)]
    try:
        workers = [IdentityRegistry(pool), IdentityRegistry(other_pool)]
        batches = [
            [Lookup("mmsi", m, JUN) for m in (mmsis if n % 2 else mmsis[::-1])[n % 3 :]] for n in range(8)
        ]
        async with asyncio.timeout(30):
            results = await asyncio.gather(
                *(workers[n % 2].resolve_many(batch) for n, batch in enumerate(batches))
            )
    finally:
        await other_pool.close()
    by_mmsi: dict[str, set[int]] = {}
    for batch, vessels in zip(batches, results, strict=True):
        for lookup, vessel in zip(batch, vessels, strict=True):
            by_mmsi.setdefault(lookup.value, set()).add(vessel)
    assert sorted(by_mmsi) == sorted(mmsis)
    assert all(len(vessels) == 1 for vessels in by_mmsi.values())
    assert len(vessel_rows(database_url)) == len(mmsis)
    assert workers[0].created + workers[1].created == len(mmsis)
