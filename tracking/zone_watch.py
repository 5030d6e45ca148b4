"""Zone edits reaching running processes without a restart: PostgreSQL LISTEN/NOTIFY on `ZONES_CHANNEL`.

Every zone write (`tracking.zones.upsert_zone`, `delete_zone`) sends a NOTIFY in its transaction, so
it is delivered at commit to every process listening — the rules process hears what an `--only api`
process or `seawatch simulate --prepare` stored. `ZoneWatcher` listens on a connection of its own (a
pooled one would be handed to others), reloads the `ZoneIndex` and hands it to its subscribers.

A notification sent while the watcher was not connected is lost, so it reloads after every (re)connect,
and every `recheck_s` compares the zones' count and newest `updated_at` with what it last loaded, to
catch a write made without NOTIFY (plain SQL, say).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from tracking.db import Pool
from tracking.zones import ZONES_CHANNEL, ZoneIndex, load_zone_index

log = logging.getLogger(__name__)

RECHECK_S = 30.0
RECONNECT_MAX_S = 30.0

ZonesKey = tuple[int, datetime | None]


class ZoneWatcher:
    """A supervised component: calls every subscriber with a fresh index whenever the zones change."""

    def __init__(
        self,
        dsn: str,
        pool: Pool,
        subscribers: list[Callable[[ZoneIndex], None]],
        *,
        recheck_s: float = RECHECK_S,
    ) -> None:
        self.dsn = dsn
        self.pool = pool
        self.subscribers = subscribers
        self.recheck_s = recheck_s
        self.listening = asyncio.Event()  # set while LISTEN is in force (tests wait for it)
        self.reloads = 0
        self._key: ZonesKey | None = None

    async def run(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._listen()
            except psycopg.OperationalError as exc:
                self.listening.clear()
                log.warning("zones: change listener lost its connection (%s); again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)

    async def _listen(self) -> None:
        conn = await AsyncConnection.connect(
            self.dsn, autocommit=True, application_name="seawatch-zone-watch"
        )
        async with conn:
            await conn.execute(f"LISTEN {ZONES_CHANNEL}")
            self.listening.set()
            # Whatever changed while nobody listened.
            await self.reload()
            while True:
                heard = False
                async for _ in conn.notifies(timeout=self.recheck_s, stop_after=1):
                    heard = True
                if heard:
                    await self._drain(conn)
                    await self.reload()
                elif await self._key_now() != self._key:
                    log.info("zones: changed without a notification; reloading")
                    await self.reload()

    async def _drain(self, conn: AsyncConnection[TupleRow]) -> None:
        """Fold a burst of notifications (an import of many zones) into one reload."""
        async for _ in conn.notifies(timeout=0.05):
            pass

    async def _key_now(self) -> ZonesKey:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*), max(updated_at) FROM zones")
            row = await cur.fetchone()
        assert row is not None
        return int(row[0]), row[1]

    async def reload(self) -> None:
        key = await self._key_now()
        async with self.pool.connection() as conn:
            index = await load_zone_index(conn)
        self._key = key
        self.reloads += 1
        for subscriber in self.subscribers:
            subscriber(index)
        log.info("zones: %d loaded", len(index))
