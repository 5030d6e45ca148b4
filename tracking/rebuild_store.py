"""What a rebuild found (`tracking.rebuild`), and how it is written over the window's stored rows.

Rows are matched, not replaced: a port call by (zone, arrival), a voyage by its departure, a gate
contradiction by (read, reason). Matching rows are updated only where they differ, the others deleted
or inserted, so writing the same book twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from seawatch.settings import TrackingSettings
from tracking.portcall_store import Connection, store_effort
from tracking.portcalls import (
    Arrival,
    Departure,
    Event,
    GateConfirmed,
    VesselTrack,
    Voyage,
    track_to_json,
)
from tracking.zones import ZoneIndex


@dataclass(slots=True)
class Call:
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
class Trip:
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
class Book:
    """The port calls, voyages and contradictions the replay found, in order."""

    calls: list[Call] = field(default_factory=list)
    trips: list[Trip] = field(default_factory=list)
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
        self.calls.append(Call(a.zone.id, a.zone.name, a.zone.kind, a.at, a.method, a.gate_at))

    def _depart(self, d: Departure) -> None:
        self._close_call(d.at, d.method, d.gate_at)
        trip = self.open_trip()
        if trip is not None:
            trip.arrived_at = max(d.at, trip.departed_at)
        self.trips.append(Trip(d.zone.id, d.at, Voyage(from_zone_id=d.zone.id, departed_at=d.at)))

    def _close_call(self, at: datetime, method: str, gate_at: datetime | None) -> None:
        call = self.calls[-1] if self.calls and self.calls[-1].departed_at is None else None
        if call is not None:
            call.departed_at, call.departure_method = max(at, call.arrived_at), method
            call.departure_gate_at = gate_at

    def open_trip(self) -> Trip | None:
        return self.trips[-1] if self.trips and self.trips[-1].arrived_at is None else None


def between(
    column: str, after: datetime, until: datetime | None, *, strict: bool = False
) -> tuple[str, list[Any]]:
    """A time condition as plain comparisons (an OR would keep TimescaleDB from excluding chunks)."""
    text = f" AND {column} {'>' if strict else '>='} %s"
    if until is None:
        return text, [after]
    return text + f" AND {column} < %s", [after, until]


async def write_book(
    conn: Connection,
    vessel_id: int,
    start: datetime,
    end: datetime | None,
    book: Book,
    settings: TrackingSettings,
) -> int:
    """Make the stored rows of [start, end) say what `book` says; returns how many rows changed.
    Closing rows go first and opening ones last: the one-open-per-vessel indexes hold throughout."""
    changed = 0
    # Port calls: those arriving in the window, and the one the replay was seeded with (arrived before).
    seed_from = book.calls[0].arrived_at if book.calls else start
    condition, params = between("arrived_at", min(seed_from, start), end)
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
    condition, params = between("departed_at", start, end)
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
    condition, params = between("read_at", start, end)
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


async def write_state(
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
