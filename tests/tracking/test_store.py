"""The record store against a real PostgreSQL: batching, COPY, the spool when the database is away.

"Away" is real: the test database stops accepting connections and its sessions are terminated
(`ALLOW_CONNECTIONS false` + `pg_terminate_backend`), or the pool points at a port nobody listens on.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from seawatch.embedded import free_port
from seawatch.settings import DatabaseSettings, StoreSettings
from tests.tracking.records import FORMAT_1_BATCH, ais_position, ais_static, jt808_position, safety
from tracking.db import Pool, open_pool
from tracking.identity import IdentityRegistry
from tracking.rows import RejectedRecord, encode_rows, to_row
from tracking.spool import CORRUPT_DIR, Spool
from tracking.store import RecordStore
from tracking.writer import write_batch

HOUR_MS = 3_600_000
MiB = 1 << 20

# Logs the order rows arrive in, so "drained in order" is checked on what the server saw.
ARRIVALS = """
CREATE TABLE arrivals (seq bigserial, mmsi_ts timestamptz);
CREATE FUNCTION log_arrival() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO arrivals (mmsi_ts) VALUES (NEW.ts);
    RETURN NULL;
END $$;
CREATE TRIGGER positions_arrival AFTER INSERT ON positions FOR EACH ROW EXECUTE FUNCTION log_arrival();
"""


def query(dsn: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


def count(dsn: str, table: str) -> int:
    [(n,)] = query(dsn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)).as_string())
    return int(n)


def settings(**changes: Any) -> StoreSettings:
    values: dict[str, Any] = {"batch_max_rows": 100, "flush_interval_ms": 20, "retry_interval_s": 0.05}
    values.update(changes)
    return StoreSettings(**values)


@pytest.fixture
async def store_pool(database_url: str) -> AsyncIterator[Pool]:
    """The store's own pool, with a short timeout so "database away" is noticed quickly."""
    pool = await open_pool(database_url, DatabaseSettings(pool_min=1, pool_max=3, connect_timeout_s=2))
    yield pool
    await pool.close()


class Outage:
    """Makes the test database unreachable and reachable again, for real."""

    def __init__(self, server_dsn: str, database_url: str) -> None:
        self.server_dsn = server_dsn
        self.name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]

    def _alter(self, allow: bool) -> None:
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                    sql.Identifier(str(self.name)), sql.Literal(allow)
                )
            )
            if not allow:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.name,),
                )

    def begin(self) -> None:
        self._alter(False)

    def end(self) -> None:
        self._alter(True)


@pytest.fixture
def outage(postgres_server_dsn: str, database_url: str) -> Iterator[Outage]:
    control = Outage(postgres_server_dsn, database_url)
    yield control
    control.end()


@contextlib.asynccontextmanager
async def running(store: RecordStore) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(store.run())
    await asyncio.sleep(0)  # let it start: a task cancelled before its first step runs no cleanup
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_until(condition: Any, what: str, limit_s: float = 20) -> None:
    try:
        async with asyncio.timeout(limit_s):
            # Polling: the store offers no event for "spool drained", and tests should not add one.
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"timed out waiting until {what}")


def spool_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.batch"))


def batch_sizes(dsn: str) -> list[int]:
    return [n for (n,) in query(dsn, "SELECT rows FROM ingest_batches ORDER BY committed_at, rows")]


# --- batching ---------------------------------------------------------------------------------------


async def test_a_full_batch_is_written_at_once_and_the_rest_on_cancel(
    store_pool: Pool, database_url: str, tmp_path: Path
) -> None:
    store = RecordStore(store_pool, settings(batch_max_rows=3, flush_interval_ms=HOUR_MS), tmp_path)
    async with asyncio.timeout(30):
        async with running(store):
            futures = [await store.put(ais_position(n=n)) for n in range(7)]
            await asyncio.gather(*futures[:6])
            await asyncio.sleep(0.2)  # nothing else would flush the 7th for an hour
            assert not futures[6].done()
            assert batch_sizes(database_url) == [3, 3]
        await futures[6]  # written as the store stopped
    assert batch_sizes(database_url) == [3, 3, 1]
    assert count(database_url, "positions") == 7


async def test_a_batch_is_written_when_its_first_record_has_waited_long_enough(
    store_pool: Pool, database_url: str, tmp_path: Path
) -> None:
    now = [0.0]
    store = RecordStore(
        store_pool, settings(batch_max_rows=1000, flush_interval_ms=HOUR_MS), tmp_path, clock=lambda: now[0]
    )
    async with asyncio.timeout(30), running(store):
        first = await store.put(ais_position(n=0))
        await asyncio.sleep(0.1)
        assert not first.done()
        now[0] = 3601.0  # an hour later by the store's clock
        second = await store.put(ais_position(n=1))
        await asyncio.gather(first, second)
        assert batch_sizes(database_url) == [2]


async def test_with_a_short_interval_records_are_written_without_filling_a_batch(
    store_pool: Pool, database_url: str, tmp_path: Path
) -> None:
    store = RecordStore(store_pool, settings(batch_max_rows=5000, flush_interval_ms=20), tmp_path)
    async with asyncio.timeout(30), running(store):
        futures = [await store.put(r) for r in (ais_position(), ais_static(), safety(), jt808_position())]
        await asyncio.gather(*futures)
    assert batch_sizes(database_url) == [4]
    assert [count(database_url, t) for t in ("positions", "static_reports", "events")] == [2, 1, 1]


@pytest.mark.usefixtures("timescaledb")
async def test_drill_records_are_stored_as_drill_and_real_ones_as_real(
    store_pool: Pool, database_url: str, tmp_path: Path
) -> None:
    store = RecordStore(store_pool, settings(), tmp_path)
    records = [
        ais_position(n=0),
        ais_position(n=1, drill=True),
        jt808_position(drill=True),
        ais_static(drill=True),
        ais_static(mmsi=412_000_002),
        safety(drill=True),
    ]
    async with asyncio.timeout(30), running(store):
        await asyncio.gather(*[await store.put(r) for r in records])
    positions = query(database_url, "SELECT source, ts, drill FROM positions ORDER BY source, ts")
    assert positions == [
        ("ais", records[0]["ts"], False),
        ("ais", records[1]["ts"], True),
        ("jt808", records[2]["ts"], True),
    ]
    assert query(database_url, "SELECT mmsi, drill, data ? 'drill' FROM static_reports ORDER BY mmsi") == [
        (412_000_001, True, False),
        (412_000_002, False, False),
    ]
    assert query(database_url, "SELECT data->'drill' FROM events") == [(True,)]


async def test_a_spool_written_before_the_drill_column_still_drains(
    store_pool: Pool, database_url: str, tmp_path: Path
) -> None:
    spool = Spool(tmp_path, MiB)
    spool.append(uuid.uuid4(), FORMAT_1_BATCH)  # left by the previous version, before an upgrade
    spool.append(uuid.uuid4(), encode_rows([to_row(ais_position(n=2, drill=True))]))
    spool.close()
    store = RecordStore(store_pool, settings(), tmp_path)
    async with asyncio.timeout(30), running(store):
        await wait_until(lambda: store.spool is not None and len(store.spool) == 0, "the spool is drained")
    assert query(database_url, "SELECT ts, drill FROM positions ORDER BY ts") == [
        (ais_position(n=1)["ts"], False),  # format 1 knew no drill positions
        (ais_position(n=2)["ts"], True),
    ]
    assert query(database_url, "SELECT shipname, drill FROM static_reports") == [
        ("YUE SHAN WEI YU 12345", True)
    ]
    assert count(database_url, "events") == 1
    assert not (tmp_path / CORRUPT_DIR).exists()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_follow_the_records(store_pool: Pool, tmp_path: Path) -> None:
    stored = sample("seawatch_ingest_stored_total", table="positions")
    batches = sample("seawatch_store_batch_seconds_count", table="positions")
    store = RecordStore(store_pool, settings(batch_max_rows=4, flush_interval_ms=HOUR_MS), tmp_path)
    async with asyncio.timeout(30), running(store):
        futures = [await store.put(ais_position(n=n)) for n in range(8)]
        assert sample("seawatch_ingest_queue_depth", queue="store") == 8
        await asyncio.gather(*futures)
        assert sample("seawatch_ingest_queue_depth", queue="store") == 0
    assert sample("seawatch_ingest_stored_total", table="positions") == stored + 8
    assert sample("seawatch_store_batch_seconds_count", table="positions") == batches + 2


async def test_receivers_counted_after_put_are_written(
    store_pool: Pool, database_url: str, tmp_path: Path
) -> None:
    store = RecordStore(store_pool, settings(flush_interval_ms=HOUR_MS, batch_max_rows=2), tmp_path)
    async with asyncio.timeout(30), running(store):
        record = ais_position()
        first = await store.put(record)
        record["receivers"] = 3  # deduplication heard two more copies before the flush
        await asyncio.gather(first, await store.put(ais_position(n=1)))
    assert query(database_url, "SELECT receivers FROM positions ORDER BY ts") == [(3,), (1,)]


async def test_a_record_that_cannot_be_stored_fails_alone(
    store_pool: Pool, database_url: str, tmp_path: Path
) -> None:
    store = RecordStore(store_pool, settings(), tmp_path)
    async with asyncio.timeout(30), running(store):
        good = await store.put(ais_position())
        nobody = await store.put(ais_position(mmsi=None))
        await good
        with pytest.raises(RejectedRecord, match="no one's") as caught:
            await nobody
    assert caught.value.reason == "no_identity"
    assert count(database_url, "positions") == 1


async def test_put_waits_while_the_queue_is_full(store_pool: Pool, database_url: str, tmp_path: Path) -> None:
    store = RecordStore(store_pool, settings(), tmp_path, queue_max=2)
    async with asyncio.timeout(30):
        await store.put(ais_position(n=0))
        await store.put(ais_position(n=1))
        third = asyncio.create_task(store.put(ais_position(n=2)))
        await asyncio.sleep(0.1)
        assert not third.done()  # backpressure, not a drop
        async with running(store):
            await (await third)
    assert count(database_url, "positions") == 3


# --- the database away --------------------------------------------------------------------------------


async def test_database_away_spools_then_drains_in_order_exactly_once(
    store_pool: Pool, database_url: str, tmp_path: Path, outage: Outage
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(ARRIVALS)
    store = RecordStore(store_pool, settings(batch_max_rows=5, flush_interval_ms=10), tmp_path)
    records = [ais_position(n=n) for n in range(40)]
    async with asyncio.timeout(60), running(store):
        await asyncio.gather(*[await store.put(r) for r in records[:10]])
        assert count(database_url, "positions") == 10

        outage.begin()
        for start in range(10, 40, 5):
            # Each group is durable (spooled) although the database cannot be reached.
            await asyncio.gather(*[await store.put(r) for r in records[start : start + 5]])
        assert store.spool is not None and len(store.spool) == 6

        outage.end()
        await wait_until(lambda: store.spool is not None and len(store.spool) == 0, "the spool is drained")
        later = await store.put(ais_position(n=40))
        await later

    arrived = [ts for (ts,) in query(database_url, "SELECT mmsi_ts FROM arrivals ORDER BY seq")]
    assert arrived == [r["ts"] for r in records] + [ais_position(n=40)["ts"]]
    assert count(database_url, "positions") == 41
    assert spool_files(tmp_path) == []


async def test_a_database_that_never_answered_gets_everything_from_the_spool(
    database_url: str, store_pool: Pool, tmp_path: Path
) -> None:
    nowhere: Pool = AsyncConnectionPool(
        f"postgresql://postgres@127.0.0.1:{free_port()}/seawatch", min_size=1, timeout=0.5, open=False
    )
    await nowhere.open(wait=False)
    try:
        offline = RecordStore(nowhere, settings(), tmp_path)
        async with asyncio.timeout(30), running(offline):
            futures = [await offline.put(ais_position(n=n)) for n in range(12)]
            futures.append(await offline.put(safety()))
            await asyncio.gather(*futures)  # durable on disk
        assert len(spool_files(tmp_path)) >= 1
    finally:
        await nowhere.close()
    assert count(database_url, "positions") == 0

    online = RecordStore(store_pool, settings(), tmp_path)
    async with asyncio.timeout(30), running(online):
        await wait_until(lambda: online.spool is not None and len(online.spool) == 0, "the spool is drained")
    assert count(database_url, "positions") == 12
    assert count(database_url, "events") == 1


async def test_a_batch_committed_before_a_crash_is_not_written_again(
    store_pool: Pool, database_url: str, tmp_path: Path
) -> None:
    rows = [to_row(ais_position(n=n)) for n in range(8)]
    batch_id = uuid.uuid4()
    # The store spooled the batch, committed it while draining, and died before deleting the file.
    spool = Spool(tmp_path, MiB)
    spool.append(batch_id, encode_rows(rows))
    spool.close()
    async with asyncio.timeout(30), store_pool.connection() as conn:
        assert (await write_batch(conn, IdentityRegistry(store_pool), batch_id, rows)).committed

    store = RecordStore(store_pool, settings(), tmp_path)
    async with asyncio.timeout(30), running(store):
        await wait_until(lambda: store.spool is not None and len(store.spool) == 0, "the spool is drained")
    assert count(database_url, "positions") == 8
    assert query(database_url, "SELECT id FROM ingest_batches") == [(batch_id,)]


async def test_a_corrupt_spool_file_is_set_aside_and_the_rest_drained(
    store_pool: Pool, database_url: str, tmp_path: Path
) -> None:
    spool = Spool(tmp_path, MiB)
    for n in range(3):
        spool.append(uuid.uuid4(), encode_rows([to_row(ais_position(n=n))]))
    bad = uuid.uuid4()
    spool.append(bad, b'{"format": 1, "rows": [["?"]]}')  # whole on disk, but not a batch
    spool.append(uuid.uuid4(), encode_rows([to_row(ais_position(n=9))]))
    spool.close()
    torn = spool_files(tmp_path)[1]
    [unreadable] = [p.name for p in spool_files(tmp_path) if bad.hex in p.name]
    torn.write_bytes(torn.read_bytes()[:-4])

    store = RecordStore(store_pool, settings(), tmp_path)
    async with asyncio.timeout(30), running(store) as task:
        await wait_until(lambda: store.spool is not None and len(store.spool) == 0, "the spool is drained")
        await (await store.put(ais_position(n=20)))  # and the store carries on
        assert not task.done()
    assert count(database_url, "positions") == 4
    assert {p.name for p in (tmp_path / CORRUPT_DIR).iterdir()} == {torn.name, unreadable}


async def test_a_full_spool_makes_put_wait_until_the_database_is_back(
    store_pool: Pool, database_url: str, tmp_path: Path, outage: Outage
) -> None:
    # A spool already at its limit from an earlier outage.
    spool = Spool(tmp_path, MiB)
    backlog = 0
    while not spool.full:
        rows = [to_row(ais_position(mmsi=412_300_000 + n % 50, n=backlog + n)) for n in range(4000)]
        spool.append(uuid.uuid4(), encode_rows(rows))
        backlog += len(rows)
    spool.close()

    outage.begin()
    store = RecordStore(store_pool, settings(batch_max_rows=2, spool_max_bytes=MiB), tmp_path, queue_max=4)
    async with asyncio.timeout(60), running(store):
        puts = [asyncio.create_task(store.put(ais_position(n=n))) for n in range(12)]
        await asyncio.sleep(0.5)
        waiting = [p for p in puts if not p.done()]
        assert waiting  # held back: the spool is full and the database away
        futures = [p.result() for p in puts if p.done()]
        assert not any(f.done() for f in futures)  # and nothing is reported durable

        outage.end()
        futures = [await p for p in puts]
        await asyncio.gather(*futures)
        await wait_until(lambda: store.spool is not None and len(store.spool) == 0, "the spool is drained")
    assert count(database_url, "positions") == backlog + 12


async def test_cancel_while_the_database_is_away_spools_what_is_held(
    store_pool: Pool, database_url: str, tmp_path: Path, outage: Outage
) -> None:
    store = RecordStore(store_pool, settings(flush_interval_ms=HOUR_MS), tmp_path, final_flush_timeout_s=1)
    async with asyncio.timeout(30):
        async with running(store):
            futures = [await store.put(ais_position(n=n)) for n in range(5)]
            outage.begin()
        await asyncio.gather(*futures)  # resolved: spooled at shutdown
    assert len(spool_files(tmp_path)) == 1
    outage.end()
    async with asyncio.timeout(30), running(store):
        await wait_until(lambda: store.spool is not None and len(store.spool) == 0, "the spool is drained")
    assert count(database_url, "positions") == 5


async def test_put_after_stop_is_refused(store_pool: Pool, tmp_path: Path) -> None:
    store = RecordStore(store_pool, settings(), tmp_path)
    async with asyncio.timeout(30), running(store):
        await (await store.put(ais_position()))
    with pytest.raises(RuntimeError, match="stopped"):
        await store.put(ais_position(n=1))
