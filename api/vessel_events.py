"""Vessel events for the websocket: arrivals and departures (port calls) as the tracker records them.

The tracker (with ingest) writes `port_calls`; any API process, with or without the rules, reads them
from the database every few seconds and fans new arrivals and departures out to the websocket clients
subscribed to the `vessels` stream. Reading the table rather than listening to the tracker keeps API
processes independent of where the tracker runs, and costs one small indexed query per interval.

    {"stream": "vessels", "type": "arrival", "vessel": {"id": 42, "name": "…"}, "zone": {"id": …,
     "name": …, "kind": …}, "ts": "…", "method": "track" | "gate" | "initial", "port_call_id": 7}
    {"stream": "vessels", "type": "departure", …, "ts": departed_at, "method": "track" | "gate"}

The relay starts with the first subscriber of the stream and announces only what happens after that:
the current state of each vessel is in the REST API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from alerts.hub import Hub
from tracking.db import Pool

log = logging.getLogger(__name__)

COLUMNS = (
    "p.id, p.vessel_id, v.name, p.zone_id, p.zone_name, p.zone_kind, p.arrived_at, p.arrival_method,"
    " p.departed_at, p.departure_method"
)


class PortCallRelay:
    def __init__(self, pool: Pool, hub: Hub, interval_s: float = 5.0) -> None:
        self.pool = pool
        self.hub = hub
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._last_id = 0
        self._open: set[int] = set()  # port calls still open: their departure is the next event

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="port-call-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        await self._start()
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.poll()
            except Exception:
                # The database may be restarting; the next poll picks up everything since the last one.
                log.exception("reading port calls for the websocket failed; retrying")

    async def _start(self) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT coalesce(max(id), 0) FROM port_calls")
            row = await cur.fetchone()
            self._last_id = int(row[0]) if row else 0
            cur = await conn.execute("SELECT id FROM port_calls WHERE departed_at IS NULL")
            self._open = {int(r[0]) for r in await cur.fetchall()}

    async def poll(self) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM port_calls p LEFT JOIN vessels v ON v.id = p.vessel_id"
                " WHERE p.id > %s OR (p.id = ANY(%s) AND p.departed_at IS NOT NULL) ORDER BY p.id",
                (self._last_id, list(self._open)),
            )
            rows = await cur.fetchall()
        events: list[dict[str, Any]] = []
        for row in rows:
            call_id, vessel_id, name, zone_id, zone_name, zone_kind, arrived, how_in, departed, how_out = row
            base = {
                "stream": "vessels",
                "port_call_id": call_id,
                "vessel": {"id": vessel_id, "name": name},
                "zone": {"id": zone_id, "name": zone_name, "kind": zone_kind},
            }
            new = call_id > self._last_id
            if new:
                self._last_id = call_id
                events.append({**base, "type": "arrival", "ts": arrived.isoformat(), "method": how_in})
            if departed is None:
                self._open.add(call_id)
            elif new or call_id in self._open:
                self._open.discard(call_id)
                events.append({**base, "type": "departure", "ts": departed.isoformat(), "method": how_out})
        events.sort(key=lambda e: str(e["ts"]))
        for event in events:
            self.hub.publish_event(event)
