"""Silences in vessels' tracks, watched for late uploads that fill them.

A terminal out of coverage keeps its fixes and uploads them when it is back (JT/T 808 0x0704); a
receiver's recording is replayed hours later. Those positions are older than the tracker's lookback,
so its detector never sees them. What it does see is the silence they belong to: two consecutive
fixes of a vessel further apart than `tracking.max_gap_s`. The tracker notes each one here, and once a
minute one query counts the stored positions inside every silence still watched; where the count
grew, a rebuild of that window is queued (`tracking.rebuild_requests`), which the tracker then carries
out. A silence is watched for three days, in memory: a restart forgets the watches (run
`seawatch tracks rebuild` for an upload older than that).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tracking.portcall_store import Connection
from tracking.rebuild_requests import RebuildError, request_rebuild

log = logging.getLogger(__name__)

WATCH = timedelta(days=3)
CHECK_EVERY = timedelta(minutes=1)


@dataclass(slots=True)
class _Silence:
    vessel_id: int
    start: datetime  # the last fix before it
    end: datetime  # the first fix after it
    seen: int = 0  # positions stored inside it at the last check


class GapWatch:
    def __init__(self, min_gap_s: float) -> None:
        self.min_gap = timedelta(seconds=min_gap_s)
        self.silences: dict[tuple[int, datetime], _Silence] = {}
        self._checked_at: datetime | None = None

    def note(self, vessel_id: int, before: datetime, after: datetime) -> None:
        """Two consecutive fixes of a vessel, as the tracker's detector took them."""
        if after - before > self.min_gap:
            self.silences[(vessel_id, before)] = _Silence(vessel_id, before, after)

    def due(self, now: datetime) -> bool:
        return self._checked_at is None or now - self._checked_at >= CHECK_EVERY

    async def check(self, conn: Connection, now: datetime) -> list[int]:
        """Queue a rebuild for every silence that stored positions began to fill since the last check;
        returns those vessels. At most every `CHECK_EVERY`."""
        if not self.due(now):
            return []
        self._checked_at = now
        self.silences = {k: s for k, s in self.silences.items() if now - s.end <= WATCH}
        if not self.silences:
            return []
        watched = list(self.silences.values())
        # The outer bounds let TimescaleDB leave out every chunk older than the oldest silence: without
        # them each silence probed every chunk (5,000 silences: 0.8 s rather than 0.12 s).
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM positions p WHERE p.vessel_id = g.v AND p.ts > g.a AND p.ts < g.b"
            " AND p.ts > %s AND p.ts < %s)"
            " FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) WITH ORDINALITY g(v, a, b, i)"
            " ORDER BY g.i",
            (
                min(s.start for s in watched),
                max(s.end for s in watched),
                [s.vessel_id for s in watched],
                [s.start for s in watched],
                [s.end for s in watched],
            ),
        )
        queued: list[int] = []
        for silence, (count,) in zip(watched, await cur.fetchall(), strict=True):
            if count <= silence.seen:
                continue
            silence.seen = count
            try:
                await request_rebuild(conn, [silence.vessel_id], silence.start, silence.end)
            except RebuildError:  # the vessel was deleted meanwhile
                del self.silences[(silence.vessel_id, silence.start)]
                continue
            log.info(
                "vessel %s: %d late positions between %s and %s, rebuild queued",
                silence.vessel_id,
                count,
                silence.start,
                silence.end,
            )
            queued.append(silence.vessel_id)
        return queued
