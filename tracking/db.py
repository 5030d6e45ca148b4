"""The connection pool every component shares (psycopg 3, async)."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from seawatch.settings import DatabaseSettings

Pool = AsyncConnectionPool[AsyncConnection[TupleRow]]


async def open_pool(dsn: str, settings: DatabaseSettings, *, name: str = "seawatch") -> Pool:
    """An open pool; waits until the first connection works so a bad DSN fails here, clearly."""
    pool: Pool = AsyncConnectionPool(
        dsn,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        timeout=settings.connect_timeout_s,
        name=name,
        open=False,
        # A connection broken by a database restart is replaced on checkout instead of failing a batch.
        check=AsyncConnectionPool.check_connection,
        kwargs={"application_name": name},
    )
    await pool.open(wait=True, timeout=settings.connect_timeout_s)
    return pool


async def database_ready(pool: Pool) -> bool:
    """One round trip to the server, for /readyz."""
    try:
        async with pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception:
        return False
    return True
