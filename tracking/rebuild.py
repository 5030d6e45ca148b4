"""Recompute one vessel's port calls and voyages over a window, from its stored positions and gate reads.

Positions that arrive later than the tracker's lookback (a terminal's buffered 0x0704 reports, a late
file replay) never reach the live detector. A rebuild replays the window through a fresh
`PortCallDetector` and makes the stored rows say what the replay found, in the caller's transaction.

Where the replay starts and stops, so that what lies outside the window still joins up:

- **Start**: a port call in progress at `start` seeds the detector "in port there"; a voyage under way
  is replayed whole, from the port call it left at its departure (and the "out" gate reads just
  before it). The fix before seeds the detector's last fix (speeds implied from it, and no false
  "first sight").
- **End**: the replay stops at the first stored arrival at or after `end` that it makes itself (at
  sea there, then arriving in that zone at that time): that port call stays as stored, the voyage
  into it is the replay's. Where it does not (the late positions changed more than the window), it
  goes on to the next stored arrival, up to the newest data: then the replayed state is the vessel's
  live state, returned for the tracker and stored in `vessel_latest`.

Rows are matched, not replaced (`tracking.rebuild_store`): running a rebuild twice changes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from seawatch.settings import TrackingSettings
from tracking.portcall_store import Connection
from tracking.portcalls import (
    PORT_KINDS,
    Arrival,
    Config,
    Fix,
    GateRead,
    PortCallDetector,
    VesselTrack,
    Voyage,
)
from tracking.rebuild_store import Book, Call, Trip, between, write_book, write_state
from tracking.zones import ZoneIndex


@dataclass(frozen=True)
class Rebuilt:
    vessel_id: int
    start: datetime  # the window replayed: [start, end); end None up to the newest data
    end: datetime | None
    port_calls: int  # the rows the window holds now
    voyages: int
    changed: int  # rows inserted, updated or deleted
    state: VesselTrack | None  # the vessel's live detector state, when the replay reached it


async def rebuild_vessel(
    conn: Connection,
    vessel_id: int,
    start: datetime,
    end: datetime,
    zones: ZoneIndex,
    settings: TrackingSettings,
    now: datetime,
) -> Rebuilt:
    """Recompute `vessel_id`'s port calls and voyages for [start, end) (see the module docstring).
    Run it in a transaction, and only where no tracker writes meanwhile (the tracker runs it itself)."""
    detector = PortCallDetector(zones, Config.from_settings(settings))
    track = detector.track(vessel_id)
    book = Book()
    replay_from = start
    trip = await _one(
        conn,
        "SELECT from_zone_id, departed_at FROM voyages WHERE vessel_id = %s AND departed_at < %s"
        " AND (arrived_at IS NULL OR arrived_at >= %s) ORDER BY departed_at DESC LIMIT 1",
        (vessel_id, start, start),
    )
    if trip is not None:
        replay_from = trip[1]  # a voyage under way is replayed whole, from the port call it left
    call = await _one(
        conn,
        "SELECT zone_id, zone_name, zone_kind, arrived_at, arrival_method, arrival_gate_at FROM port_calls"
        " WHERE vessel_id = %s AND arrived_at < %s AND (departed_at IS NULL OR departed_at >= %s)"
        " ORDER BY arrived_at DESC LIMIT 1",
        (vessel_id, replay_from, replay_from),
    )
    seeded_at_sea = False
    if call is not None and detector.ports.get(call[0]) is not None:
        track.port = call[0]
        book.calls.append(Call(*call))
    elif trip is not None:  # no port call to leave from (a gate departure, a deleted zone): at sea
        seeded_at_sea = True
        track.voyage = Voyage(from_zone_id=trip[0], departed_at=trip[1])
        book.trips.append(Trip(trip[0], trip[1], track.voyage))
    # At sea, the departure's own fix belongs to the seed (the live detector starts a voyage's figures
    # after it).
    before = "<=" if seeded_at_sea else "<"
    last = await _one(
        conn,
        "SELECT ts, lon, lat, speed FROM positions WHERE vessel_id = %s AND ts " + before + " %s"
        " ORDER BY ts DESC LIMIT 1",
        (vessel_id, replay_from),
    )
    if last is not None:
        track.last = Fix(vessel_id, last[0], last[1], last[2], last[3])
        track.last_zone_ids = [z.id for z in zones.containing(last[1], last[2]) if z.kind not in PORT_KINDS]
    cur = await conn.execute(
        "SELECT arrived_at, zone_id FROM port_calls WHERE vessel_id = %s AND arrived_at >= %s"
        " ORDER BY arrived_at",
        (vessel_id, end),
    )
    stops: list[tuple[datetime, str]] = [(r[0], r[1]) for r in await cur.fetchall()]
    newest: tuple[Any, ...] | None = None

    async def feed(
        after: datetime,
        strict: bool,
        until: datetime | None,
        join: tuple[datetime, str] | None = None,
        early: list[GateRead] | None = None,
    ) -> bool:
        """Replay [after, until). With `join` (a stored arrival), stop at the first arrival the replay
        makes and say whether it is that one."""
        nonlocal newest
        fixes = await _positions(conn, vessel_id, after, strict, until)
        newest = fixes[-1] if fixes else newest
        inputs = _inputs(fixes, (early or []) + await _gate_reads(conn, vessel_id, after, until))
        # Days of fixes through the detector: off the event loop, as the tracker's own detection.
        arrival, used = await asyncio.to_thread(_replay, detector, vessel_id, inputs, book, join is not None)
        if arrival is not None and (arrival.at, arrival.zone.id) == join:
            return True
        if used < len(inputs):
            await asyncio.to_thread(_replay, detector, vessel_id, inputs[used:], book, False)
        return False

    replay_to: datetime | None = None
    # In port, an "out" read shortly before the replay may confirm the departure it finds.
    early = []
    if track.port is not None:
        since = replay_from - timedelta(seconds=settings.gate_match_s)
        early = [r for r in await _gate_reads(conn, vessel_id, since, replay_from) if r.direction == "out"]
    await feed(replay_from, seeded_at_sea, stops[0][0] if stops else None, early=early)
    for k, stop in enumerate(stops):
        after = stops[k + 1][0] if k + 1 < len(stops) else None
        # At sea where the stored arrival needs it, the replay may join the stored history there.
        if await feed(stop[0], False, after, stop if track.port is None else None):
            # That port call lies after the window and stays as it is; the voyage it closes is the
            # replay's.
            book.calls.pop()
            replay_to = stop[0]
            break
    if replay_to is None:
        book.apply(detector.tick(now))
    if replay_to is None and track.voyage is not None and book.open_trip() is not None:
        book.trips[-1].figures = track.voyage
    changed = await write_book(conn, vessel_id, replay_from, replay_to, book, settings)
    state = None
    if replay_to is None:
        state = track
        changed += await write_state(conn, vessel_id, track, newest, zones)
    return Rebuilt(vessel_id, replay_from, replay_to, len(book.calls), len(book.trips), changed, state)


def _inputs(fixes: list[tuple[Any, ...]], reads: list[GateRead]) -> list[tuple[datetime, int, Any]]:
    inputs: list[tuple[datetime, int, Any]] = [(f[0], 0, f) for f in fixes]
    inputs += [(r.ts, 1, r) for r in reads]
    inputs.sort(key=lambda item: (item[0], item[1]))  # one time order across both tables, as live
    return inputs


def _replay(
    detector: PortCallDetector,
    vessel_id: int,
    inputs: list[tuple[datetime, int, Any]],
    book: Book,
    to_arrival: bool,
) -> tuple[Arrival | None, int]:
    """Feed `inputs`; with `to_arrival`, stop after the first arrival. Returns it and how many were fed."""
    for i, (ts, which, item) in enumerate(inputs):
        # What the passing of time reveals, in the data's time: the live tracker ticks on its clock.
        events = detector.tick(ts)
        if which:
            events += detector.gate_read(item)
        else:
            events += detector.position(Fix(vessel_id, item[0], item[1], item[2], item[3]))
        book.apply(events)
        arrivals = [e for e in events if isinstance(e, Arrival)]
        if to_arrival and arrivals:
            return arrivals[-1], i + 1
    return None, len(inputs)


async def _one(conn: Connection, query: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
    cur = await conn.execute(query, params)
    return await cur.fetchone()


async def _positions(
    conn: Connection, vessel_id: int, after: datetime, strict: bool, until: datetime | None
) -> list[tuple[Any, ...]]:
    condition, params = between("ts", after, until, strict=strict)
    cur = await conn.execute(
        "SELECT ts, lon, lat, speed, source, course, heading, status FROM positions"
        " WHERE vessel_id = %s" + condition + " ORDER BY ts",
        (vessel_id, *params),
    )
    return await cur.fetchall()


async def _gate_reads(
    conn: Connection, vessel_id: int, after: datetime, until: datetime | None
) -> list[GateRead]:
    condition, params = between("ts", after, until)
    cur = await conn.execute(
        "SELECT ts, data->>'direction', data->>'zone', data->>'reader' FROM events"
        " WHERE vessel_id = %s AND kind = 'tag_read' AND data->>'direction' IN ('in', 'out')"
        + condition
        + " ORDER BY ts",
        (vessel_id, *params),
    )
    return [GateRead(vessel_id, r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]
