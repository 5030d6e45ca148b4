"""Recompute one vessel's port calls and voyages over a window, from its stored positions and gate reads.

Positions that arrive later than the tracker's lookback (a terminal's buffered 0x0704 reports, a late
file replay) never reach the live detector. A rebuild replays the window through a fresh
`PortCallDetector` and makes the stored rows say what the replay found, in the caller's transaction.

Where the replay starts and stops, so that what lies outside the window still joins up:

- **Start**: a port call in progress at `start` seeds the detector "in port there"; a voyage under way
  is replayed whole, from the port call it left at its departure (and the "out" gate reads just
  before it). The fix before seeds the detector's last fix (speeds implied from it, and no false
  "first sight").
- **End**: the replay stops at the first stored arrival at or after `end` where the replayed vessel is
  at sea, and hands its open voyage to that arrival. Where it is not at sea there (the late positions
  changed more than the window), it goes on to the next stored arrival, up to the newest data: then
  the replayed state is the vessel's live state, returned for the tracker and stored in
  `vessel_latest`.

Rows are matched, not replaced: a port call by (zone, arrival), a voyage by its departure, a gate
contradiction by (read, reason). Matching rows are updated only where they differ, the others deleted
or inserted, so running a rebuild twice changes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from seawatch.settings import TrackingSettings
from tracking.portcall_store import Connection, store_effort
from tracking.portcalls import (
    PORT_KINDS,
    Arrival,
    Config,
    Departure,
    Event,
    Fix,
    GateConfirmed,
    GateRead,
    PortCallDetector,
    VesselTrack,
    Voyage,
    track_to_json,
)
from tracking.zones import ZoneIndex


@dataclass(slots=True)
class _Call:
    zone_id: str
    zone_name: str
    zone_kind: str
    arrived_at: datetime
    arrival_method: str
    arrival_gate_at: datetime | None = None
    departed_at: datetime | None = None
    departure_method: str | None = None
    departure_gate_at: datetime | None = None

    def row(self) -> tuple[Any, ...]:
        return (
            self.zone_name,
            self.zone_kind,
            self.arrival_method,
            self.arrival_gate_at,
            self.departed_at,
            self.departure_method,
            self.departure_gate_at,
        )


@dataclass(slots=True)
class _Trip:
    from_zone_id: str
    departed_at: datetime
    figures: Voyage
    to_zone_id: str | None = None
    arrived_at: datetime | None = None

    def row(self) -> tuple[Any, ...]:
        f = self.figures
        return (
            self.from_zone_id,
            self.to_zone_id,
            self.arrived_at,
            f.distance_m,
            f.max_speed_kn,
            f.positions,
            Jsonb(f.zone_seconds),
        )


@dataclass(slots=True)
class _Book:
    """The port calls, voyages and contradictions the replay found, in order."""

    calls: list[_Call] = field(default_factory=list)
    trips: list[_Trip] = field(default_factory=list)
    contradictions: list[tuple[datetime, str, str | None, str | None, str]] = field(default_factory=list)

    def apply(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, Arrival):
                self._arrive(e)
            elif isinstance(e, Departure):
                self._depart(e)
            elif isinstance(e, GateConfirmed):
                for call in self.calls:
                    if call.zone_id != e.zone_id:
                        continue
                    if e.direction == "in" and call.arrived_at == e.event_at:
                        call.arrival_gate_at = e.gate_at
                    elif e.direction == "out" and call.departed_at == e.event_at:
                        call.departure_gate_at = e.gate_at
            else:
                r = e.read
                self.contradictions.append((r.ts, r.direction, r.zone_id, r.reader, e.reason))

    def _arrive(self, a: Arrival) -> None:
        # The same defensive closes as the live store (tracking.portcall_store).
        self._close_call(a.at, "track", None)
        trip = self.open_trip()
        if trip is not None and a.voyage is not None:
            trip.arrived_at, trip.to_zone_id, trip.figures = max(a.at, trip.departed_at), a.zone.id, a.voyage
        self.calls.append(_Call(a.zone.id, a.zone.name, a.zone.kind, a.at, a.method, a.gate_at))

    def _depart(self, d: Departure) -> None:
        self._close_call(d.at, d.method, d.gate_at)
        trip = self.open_trip()
        if trip is not None:
            trip.arrived_at = max(d.at, trip.departed_at)
        self.trips.append(_Trip(d.zone.id, d.at, Voyage(from_zone_id=d.zone.id, departed_at=d.at)))

    def _close_call(self, at: datetime, method: str, gate_at: datetime | None) -> None:
        call = self.calls[-1] if self.calls and self.calls[-1].departed_at is None else None
        if call is not None:
            call.departed_at, call.departure_method = max(at, call.arrived_at), method
            call.departure_gate_at = gate_at

    def open_trip(self) -> _Trip | None:
        return self.trips[-1] if self.trips and self.trips[-1].arrived_at is None else None


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
    book = _Book()
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
        book.calls.append(_Call(*call))
    elif trip is not None:  # no port call to leave from (a gate departure, a deleted zone): at sea
        seeded_at_sea = True
        track.voyage = Voyage(from_zone_id=trip[0], departed_at=trip[1])
        book.trips.append(_Trip(trip[0], trip[1], track.voyage))
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
    changed = await _write(conn, vessel_id, replay_from, replay_to, book, settings)
    state = None
    if replay_to is None:
        state = track
        changed += await _write_state(conn, vessel_id, track, newest, zones)
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
    book: _Book,
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


def _between(
    column: str, after: datetime, until: datetime | None, *, strict: bool = False
) -> tuple[str, list[Any]]:
    """A time condition as plain comparisons (an OR would keep TimescaleDB from excluding chunks)."""
    text = f" AND {column} {'>' if strict else '>='} %s"
    if until is None:
        return text, [after]
    return text + f" AND {column} < %s", [after, until]


async def _positions(
    conn: Connection, vessel_id: int, after: datetime, strict: bool, until: datetime | None
) -> list[tuple[Any, ...]]:
    condition, params = _between("ts", after, until, strict=strict)
    cur = await conn.execute(
        "SELECT ts, lon, lat, speed, source, course, heading, status FROM positions"
        " WHERE vessel_id = %s" + condition + " ORDER BY ts",
        (vessel_id, *params),
    )
    return await cur.fetchall()


async def _gate_reads(
    conn: Connection, vessel_id: int, after: datetime, until: datetime | None
) -> list[GateRead]:
    condition, params = _between("ts", after, until)
    cur = await conn.execute(
        "SELECT ts, data->>'direction', data->>'zone', data->>'reader' FROM events"
        " WHERE vessel_id = %s AND kind = 'tag_read' AND data->>'direction' IN ('in', 'out')"
        + condition
        + " ORDER BY ts",
        (vessel_id, *params),
    )
    return [GateRead(vessel_id, r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]


async def _write(
    conn: Connection,
    vessel_id: int,
    start: datetime,
    end: datetime | None,
    book: _Book,
    settings: TrackingSettings,
) -> int:
    """Make the stored rows of [start, end) say what `book` says; returns how many rows changed.
    Closing rows go first and opening ones last: the one-open-per-vessel indexes hold throughout."""
    changed = 0
    # Port calls: those arriving in the window, and the one the replay was seeded with (arrived before).
    seed_from = book.calls[0].arrived_at if book.calls else start
    condition, params = _between("arrived_at", min(seed_from, start), end)
    cur = await conn.execute(
        "SELECT id, zone_id, arrived_at FROM port_calls WHERE vessel_id = %s" + condition,
        (vessel_id, *params),
    )
    calls = {(r[1], r[2]): int(r[0]) for r in await cur.fetchall()}
    wanted = {(c.zone_id, c.arrived_at) for c in book.calls}
    changed += await _delete(conn, "port_calls", [i for k, i in calls.items() if k not in wanted])
    for call in sorted(book.calls, key=lambda c: c.departed_at is None):
        call_id = calls.get((call.zone_id, call.arrived_at))
        if call_id is None:
            await conn.execute(
                "INSERT INTO port_calls (vessel_id, zone_id, zone_name, zone_kind, arrival_method,"
                " arrival_gate_at, departed_at, departure_method, departure_gate_at, arrived_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (vessel_id, call.zone_id, call.zone_name, call.zone_kind, *call.row()[2:], call.arrived_at),
            )
            changed += 1
            continue
        cur = await conn.execute(
            "UPDATE port_calls SET (zone_name, zone_kind, arrival_method, arrival_gate_at, departed_at,"
            " departure_method, departure_gate_at) = (%s, %s, %s, %s, %s, %s, %s) WHERE id = %s"
            " AND (zone_name, zone_kind, arrival_method, arrival_gate_at, departed_at, departure_method,"
            " departure_gate_at) IS DISTINCT FROM (%s, %s, %s, %s, %s, %s, %s)",
            (*call.row(), call_id, *call.row()),
        )
        changed += cur.rowcount
    # Voyages: those departing in the window (the seed voyage departed at its start).
    condition, params = _between("departed_at", start, end)
    cur = await conn.execute(
        "SELECT id, departed_at FROM voyages WHERE vessel_id = %s" + condition, (vessel_id, *params)
    )
    trips = {r[1]: int(r[0]) for r in await cur.fetchall()}
    wanted_trips = {t.departed_at for t in book.trips}
    changed += await _delete(conn, "voyages", [i for k, i in trips.items() if k not in wanted_trips])
    for trip in sorted(book.trips, key=lambda t: t.arrived_at is None):
        trip_id = trips.get(trip.departed_at)
        if trip_id is None:
            cur = await conn.execute(
                "INSERT INTO voyages (vessel_id, departed_at, from_zone_id, to_zone_id, arrived_at,"
                " distance_m, max_speed_kn, positions, zone_seconds)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (vessel_id, trip.departed_at, *trip.row()),
            )
            row = await cur.fetchone()
            trip_id, updated = (int(row[0]) if row else 0), 1
        else:
            cur = await conn.execute(
                "UPDATE voyages SET (from_zone_id, to_zone_id, arrived_at, distance_m, max_speed_kn,"
                " positions, zone_seconds) = (%s, %s, %s, %s, %s, %s, %s), fishing_s = NULL,"
                " updated_at = now() WHERE id = %s AND (from_zone_id, to_zone_id, arrived_at, distance_m,"
                " max_speed_kn, positions, zone_seconds) IS DISTINCT FROM"
                " (%s, %s, %s, %s, %s::real, %s, %s::jsonb)",
                (*trip.row(), trip_id, *trip.row()),
            )
            updated = cur.rowcount
        changed += updated
        if updated and trip.arrived_at is not None:
            await store_effort(conn, trip_id, settings)
    # Gate contradictions read in the window.
    condition, params = _between("read_at", start, end)
    cur = await conn.execute(
        "SELECT id, read_at, direction, zone_id, reader, reason FROM gate_contradictions"
        " WHERE vessel_id = %s" + condition,
        (vessel_id, *params),
    )
    found = {tuple(r[1:]): int(r[0]) for r in await cur.fetchall()}
    # A read from before the window, fed for the departure it may confirm, belongs to rows not rewritten.
    book.contradictions = [c for c in book.contradictions if c[0] >= start]
    changed += await _delete(
        conn, "gate_contradictions", [i for k, i in found.items() if k not in book.contradictions]
    )
    for c in book.contradictions:
        if c not in found:
            await conn.execute(
                "INSERT INTO gate_contradictions (vessel_id, read_at, direction, zone_id, reader, reason)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (vessel_id, *c),
            )
            changed += 1
    return changed


async def _delete(conn: Connection, table: str, ids: list[int]) -> int:
    if not ids:
        return 0
    queries = {
        "port_calls": "DELETE FROM port_calls WHERE id = ANY(%s)",
        "voyages": "DELETE FROM voyages WHERE id = ANY(%s)",
        "gate_contradictions": "DELETE FROM gate_contradictions WHERE id = ANY(%s)",
    }
    cur = await conn.execute(queries[table], (ids,))
    return cur.rowcount


async def _write_state(
    conn: Connection, vessel_id: int, track: VesselTrack, newest: tuple[Any, ...] | None, zones: ZoneIndex
) -> int:
    """The replayed state as the vessel's live one; the position only where it is newer."""
    position: tuple[Any, ...] = (None,) * 8
    zone_ids: list[str] = []
    if newest is not None:
        ts, lon, lat, speed, source, course, heading, status = newest
        position = (ts, source, lon, lat, speed, course, heading, status)
        zone_ids = [z.id for z in zones.containing(lon, lat)]
    cur = await conn.execute(
        "INSERT INTO vessel_latest AS l (vessel_id, ts, source, lon, lat, speed, course, heading, status,"
        " zone_ids, in_port, port_zone_id, detector) SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s WHERE EXISTS (SELECT 1 FROM vessels WHERE id = %s)"
        " ON CONFLICT (vessel_id) DO UPDATE SET in_port = EXCLUDED.in_port,"
        " port_zone_id = EXCLUDED.port_zone_id, detector = EXCLUDED.detector, updated_at = now()"
        " WHERE (l.in_port, l.port_zone_id, l.detector)"
        " IS DISTINCT FROM (EXCLUDED.in_port, EXCLUDED.port_zone_id, EXCLUDED.detector)",
        (
            vessel_id,
            *position,
            zone_ids,
            track.port is not None,
            track.port,
            Jsonb(track_to_json(track)),
            vessel_id,
        ),
    )
    return cur.rowcount
