"""What the port-call detector found, written to `port_calls`, `voyages` and `gate_contradictions`.

Called inside the tracker's transaction, together with the detector state it came from, so the tables
and the state never disagree after a crash. A few writes are defensive: an open port call or voyage
that the detector no longer knows about (its zone was deleted) is closed rather than left to break
the one-open-per-vessel indexes.
"""

from __future__ import annotations

import logging

import numpy as np
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from seawatch.settings import TrackingSettings
from tracking.effort import fishing_seconds
from tracking.portcalls import Arrival, Departure, Event, GateConfirmed, GateContradicted, Voyage

log = logging.getLogger(__name__)

Connection = AsyncConnection[TupleRow]


async def save_events(conn: Connection, events: list[Event]) -> list[int]:
    """Write `events` in order; returns the ids of the voyages they closed."""
    closed: list[int] = []
    for event in events:
        if isinstance(event, Arrival):
            voyage_id = await _arrive(conn, event)
            if voyage_id is not None:
                closed.append(voyage_id)
        elif isinstance(event, Departure):
            await _depart(conn, event)
        elif isinstance(event, GateConfirmed):
            await _confirm(conn, event)
        elif isinstance(event, GateContradicted):
            read = event.read
            await conn.execute(
                "INSERT INTO gate_contradictions (vessel_id, read_at, direction, zone_id, reader, reason)"
                " SELECT %s, %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM vessels WHERE id = %s)",
                (
                    read.vessel_id,
                    read.ts,
                    read.direction,
                    read.zone_id,
                    read.reader,
                    event.reason,
                    read.vessel_id,
                ),
            )
    return closed


async def save_open_voyage(conn: Connection, vessel_id: int, voyage: Voyage) -> None:
    """The running figures of a voyage still at sea."""
    await conn.execute(
        "UPDATE voyages SET distance_m = %s, max_speed_kn = %s, positions = %s, zone_seconds = %s,"
        " updated_at = now() WHERE vessel_id = %s AND arrived_at IS NULL",
        (voyage.distance_m, voyage.max_speed_kn, voyage.positions, Jsonb(voyage.zone_seconds), vessel_id),
    )


async def _arrive(conn: Connection, a: Arrival) -> int | None:
    stale = await conn.execute(
        "UPDATE port_calls SET departed_at = GREATEST(arrived_at, %s), departure_method = 'track'"
        " WHERE vessel_id = %s AND departed_at IS NULL RETURNING id",
        (a.at, a.vessel_id),
    )
    if stale.rowcount:
        log.warning("vessel %s: closed a port call the tracker no longer knew of", a.vessel_id)
    await conn.execute(
        "INSERT INTO port_calls (vessel_id, zone_id, zone_name, zone_kind, arrived_at, arrival_method,"
        " arrival_gate_at) SELECT %s, %s, %s, %s, %s, %s, %s"
        " WHERE EXISTS (SELECT 1 FROM vessels WHERE id = %s)",
        (a.vessel_id, a.zone.id, a.zone.name, a.zone.kind, a.at, a.method, a.gate_at, a.vessel_id),
    )
    if a.voyage is None:
        return None
    v = a.voyage
    cur = await conn.execute(
        "UPDATE voyages SET arrived_at = GREATEST(departed_at, %s), to_zone_id = %s, distance_m = %s,"
        " max_speed_kn = %s, positions = %s, zone_seconds = %s, updated_at = now()"
        " WHERE vessel_id = %s AND arrived_at IS NULL RETURNING id",
        (a.at, a.zone.id, v.distance_m, v.max_speed_kn, v.positions, Jsonb(v.zone_seconds), a.vessel_id),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else None


async def _depart(conn: Connection, d: Departure) -> None:
    await conn.execute(
        "UPDATE port_calls SET departed_at = GREATEST(arrived_at, %s), departure_method = %s,"
        " departure_gate_at = %s WHERE vessel_id = %s AND departed_at IS NULL",
        (d.at, d.method, d.gate_at, d.vessel_id),
    )
    stale = await conn.execute(
        "UPDATE voyages SET arrived_at = GREATEST(departed_at, %s), updated_at = now()"
        " WHERE vessel_id = %s AND arrived_at IS NULL",
        (d.at, d.vessel_id),
    )
    if stale.rowcount:
        log.warning("vessel %s: closed a voyage the tracker no longer knew of", d.vessel_id)
    await conn.execute(
        "INSERT INTO voyages (vessel_id, from_zone_id, departed_at)"
        " SELECT %s, %s, %s WHERE EXISTS (SELECT 1 FROM vessels WHERE id = %s)",
        (d.vessel_id, d.zone.id, d.at, d.vessel_id),
    )


async def _confirm(conn: Connection, c: GateConfirmed) -> None:
    # Two fixed statements rather than a column name spliced into one.
    if c.direction == "in":
        await conn.execute(
            "UPDATE port_calls SET arrival_gate_at = %s"
            " WHERE vessel_id = %s AND zone_id = %s AND arrived_at = %s",
            (c.gate_at, c.vessel_id, c.zone_id, c.event_at),
        )
    else:
        await conn.execute(
            "UPDATE port_calls SET departure_gate_at = %s"
            " WHERE vessel_id = %s AND zone_id = %s AND departed_at = %s",
            (c.gate_at, c.vessel_id, c.zone_id, c.event_at),
        )


async def store_effort(conn: Connection, voyage_id: int, settings: TrackingSettings) -> None:
    """Fishing effort of a closed voyage, from its stored positions (kept with the voyage, since
    retention drops the positions later)."""
    cur = await conn.execute(
        "SELECT extract(epoch FROM p.ts), p.lon, p.lat, p.speed FROM voyages v"
        " JOIN positions p ON p.vessel_id = v.vessel_id AND p.ts >= v.departed_at"
        " AND p.ts <= v.arrived_at WHERE v.id = %s ORDER BY p.ts",
        (voyage_id,),
    )
    rows = await cur.fetchall()
    data = np.array(rows, dtype=np.float64).reshape(-1, 4)
    seconds = fishing_seconds(data[:, 0], data[:, 1], data[:, 2], data[:, 3], settings)
    await conn.execute("UPDATE voyages SET fishing_s = %s WHERE id = %s", (seconds, voyage_id))
