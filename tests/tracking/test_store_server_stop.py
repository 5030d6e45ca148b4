"""The PostgreSQL server itself stops under load and comes back: every record is stored exactly once.

A private server for this test alone (an embedded PostgreSQL in a temporary folder), stopped with
`pg_ctl stop -m fast` while records keep arriving, then started again on the same data.
"""

import asyncio
import contextlib
from pathlib import Path

import psycopg
import pytest

from seawatch.embedded import EmbeddedPostgres
from seawatch.settings import DatabaseSettings, StoreSettings
from tests.tracking.records import ais_position
from tracking.db import open_pool
from tracking.migrate import migrate
from tracking.store import RecordStore

RECORDS = 6000
VESSELS = 20


@pytest.fixture
def private_server(tmp_path: Path) -> EmbeddedPostgres:
    return EmbeddedPostgres(tmp_path / "pg")


async def test_records_survive_a_server_stop_exactly_once(
    private_server: EmbeddedPostgres, tmp_path: Path
) -> None:
    dsn = private_server.ensure_database("outage")
    migrate(dsn)
    pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=3, connect_timeout_s=1))
    store = RecordStore(
        pool,
        StoreSettings(batch_max_rows=200, flush_interval_ms=20, retry_interval_s=0.1),
        tmp_path / "spool",
    )
    runner = asyncio.create_task(store.run())
    server = private_server
    futures: list[asyncio.Future[None]] = []
    try:
        async with asyncio.timeout(120):
            for n in range(RECORDS):
                record = ais_position(mmsi=412_100_000 + n % VESSELS, n=n)
                futures.append(await store.put(record))
                if n == RECORDS // 3:
                    await asyncio.to_thread(server.stop)  # the server goes down mid-stream
                if n == 2 * RECORDS // 3:
                    spooled = store.spool is not None and len(store.spool) > 0
                    server = await asyncio.to_thread(EmbeddedPostgres, tmp_path / "pg")  # and comes back
                if n % 500 == 0:
                    await asyncio.sleep(0)  # let the store work, as a live feed would
            await asyncio.gather(*futures)  # every record durable: committed, or spooled and then drained
            while store.spool is not None and len(store.spool) > 0:  # noqa: ASYNC110 (no event for this)
                await asyncio.sleep(0.05)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await pool.close()
    assert spooled, "the outage should have sent batches to the spool"
    with psycopg.connect(server.dsn("outage")) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (vessel_id, ts)) FROM positions"
        ).fetchone()  # type: ignore[misc]
        vessels = conn.execute("SELECT count(*) FROM vessels").fetchone()
    assert (total, distinct) == (RECORDS, RECORDS)
    assert vessels == (VESSELS,)
    server.stop()
