"""Voyages, port calls and the harbour's daily departures and arrivals (进出港), as JSON-ready dicts.

Every query takes a `limit`; callers page with `before` (the newest-first key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from tracking.geo import METRES_PER_NM

Connection = AsyncConnection[TupleRow]

VOYAGE_COLUMNS = (
    "y.id, y.vessel_id, v.name, v.hull_number, y.from_zone_id, y.to_zone_id, y.departed_at, y.arrived_at,"
    " y.distance_m, y.max_speed_kn, y.fishing_s, y.zone_seconds, y.positions"
)
CALL_COLUMNS = (
    "c.id, c.vessel_id, v.name, v.hull_number, c.zone_id, c.zone_name, c.zone_kind, c.arrived_at,"
    " c.arrival_method, c.arrival_gate_at, c.departed_at, c.departure_method, c.departure_gate_at"
)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def voyage_json(row: tuple[Any, ...]) -> dict[str, Any]:
    (vid, vessel, name, hull, from_zone, to_zone, departed, arrived, metres, vmax, fishing, zones,
     positions) = row  # fmt: skip
    return {
        "id": vid,
        "vessel_id": vessel,
        "vessel_name": name,
        "hull_number": hull,
        "from_zone_id": from_zone,
        "to_zone_id": to_zone,
        "departed_at": iso(departed),
        "arrived_at": iso(arrived),
        "open": arrived is None,
        "duration_s": None if arrived is None else (arrived - departed).total_seconds(),
        "distance_m": round(metres, 1),
        "distance_nm": round(metres / METRES_PER_NM, 2),
        "max_speed_kn": vmax,
        "fishing_s": fishing,
        "zone_seconds": zones,
        "positions": positions,
    }


def call_json(row: tuple[Any, ...]) -> dict[str, Any]:
    (cid, vessel, name, hull, zone, zone_name, kind, arrived, arrival_method, arrival_gate, departed,
     departure_method, departure_gate) = row  # fmt: skip
    return {
        "id": cid,
        "vessel_id": vessel,
        "vessel_name": name,
        "hull_number": hull,
        "zone_id": zone,
        "zone_name": zone_name,
        "zone_kind": kind,
        "arrived_at": iso(arrived),
        "arrival_method": arrival_method,
        "arrival_gate_at": iso(arrival_gate),
        "departed_at": iso(departed),
        "departure_method": departure_method,
        "departure_gate_at": iso(departure_gate),
        "open": departed is None,
    }


@dataclass(frozen=True)
class _Listing:
    """What differs between the voyage and the port-call lists: the table and its columns."""

    source: str  # SELECT … FROM … JOIN …
    time_column: str  # what start/end/before and the order apply to
    id_column: str
    vessel_column: str
    zone_column: str
    open_column: str  # NULL while the voyage or call is still open
    to_json: Callable[[Any], dict[str, Any]]


_VOYAGES = _Listing(
    f"SELECT {VOYAGE_COLUMNS} FROM voyages y JOIN vessels v ON v.id = y.vessel_id",
    "y.departed_at", "y.id", "y.vessel_id", "y.from_zone_id", "y.arrived_at", voyage_json,
)  # fmt: skip
_PORT_CALLS = _Listing(
    f"SELECT {CALL_COLUMNS} FROM port_calls c JOIN vessels v ON v.id = c.vessel_id",
    "c.arrived_at", "c.id", "c.vessel_id", "c.zone_id", "c.departed_at", call_json,
)  # fmt: skip


async def _list(
    conn: Connection, listing: _Listing, *, open_only: bool | None, limit: int, **given: Any
) -> list[dict[str, Any]]:
    """The listing's rows matching the filters that were given (AND-ed fixed fragments), newest first."""
    fragments = {
        "vessel_id": f"{listing.vessel_column} = %s",
        "zone_id": f"{listing.zone_column} = %s",
        "start": f"{listing.time_column} >= %s",
        "end": f"{listing.time_column} < %s",
        "before": f"{listing.time_column} < %s",
        "open_only": f"({listing.open_column} IS NULL) = %s",
    }
    given["open_only"] = open_only
    where = [fragment for name, fragment in fragments.items() if given.get(name) is not None]
    params = [given[name] for name in fragments if given.get(name) is not None]
    sql = listing.source + (" WHERE " + " AND ".join(where) if where else "")
    sql += f" ORDER BY {listing.time_column} DESC, {listing.id_column} DESC LIMIT %s"
    cur = await conn.execute(sql, [*params, limit])
    return [listing.to_json(r) for r in await cur.fetchall()]


async def voyages(
    conn: Connection,
    *,
    vessel_id: int | None = None,
    zone_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    before: datetime | None = None,
    open_only: bool | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Voyages departing in [start, end) (from `zone_id`), newest first."""
    return await _list(
        conn,
        _VOYAGES,
        open_only=open_only,
        limit=limit,
        vessel_id=vessel_id,
        zone_id=zone_id,
        start=start,
        end=end,
        before=before,
    )


async def port_calls(
    conn: Connection,
    *,
    vessel_id: int | None = None,
    zone_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    before: datetime | None = None,
    open_only: bool | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Port calls arriving in [start, end), newest first."""
    return await _list(
        conn,
        _PORT_CALLS,
        open_only=open_only,
        limit=limit,
        vessel_id=vessel_id,
        zone_id=zone_id,
        start=start,
        end=end,
        before=before,
    )


class UnknownHarbour(LookupError):
    pass


def day_window(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Local midnight to local midnight, in UTC."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


async def harbour_daily(
    conn: Connection, zone_id: str, day: date, timezone: str, *, limit: int = 5000
) -> dict[str, Any]:
    """Who left the harbour that day, who came in, and who of its boats is still out at the day's end."""
    cur = await conn.execute("SELECT name, kind FROM zones WHERE id = %s", (zone_id,))
    zone = await cur.fetchone()
    if zone is None:
        cur = await conn.execute(
            "SELECT zone_name, zone_kind FROM port_calls WHERE zone_id = %s LIMIT 1", (zone_id,)
        )
        zone = await cur.fetchone()
    if zone is None or zone[1] not in ("harbour", "shelter"):
        raise UnknownHarbour(f"no harbour or shelter {zone_id!r}")
    start, end = day_window(day, timezone)
    # A departure is the start of a voyage; the port call it closed (if one was open) says how it was
    # seen and whether a gate confirmed it.
    cur = await conn.execute(
        "SELECT y.vessel_id, v.name, v.hull_number, y.departed_at, COALESCE(c.departure_method, 'track'),"
        " c.departure_gate_at, y.arrived_at FROM voyages y JOIN vessels v ON v.id = y.vessel_id"
        " LEFT JOIN port_calls c ON c.vessel_id = y.vessel_id AND c.zone_id = y.from_zone_id"
        "  AND c.departed_at = y.departed_at"
        " WHERE y.from_zone_id = %s AND y.departed_at >= %s AND y.departed_at < %s"
        " ORDER BY y.departed_at LIMIT %s",
        (zone_id, start, end, limit),
    )
    departures = [
        {"vessel_id": r[0], "vessel_name": r[1], "hull_number": r[2], "at": iso(r[3]), "method": r[4],
         "gate_at": iso(r[5]), "back_at": iso(r[6])}
        for r in await cur.fetchall()
    ]  # fmt: skip
    cur = await conn.execute(
        "SELECT c.vessel_id, v.name, v.hull_number, c.arrived_at, c.arrival_method, c.arrival_gate_at"
        " FROM port_calls c JOIN vessels v ON v.id = c.vessel_id"
        " WHERE c.zone_id = %s AND c.arrived_at >= %s AND c.arrived_at < %s AND c.arrival_method <> 'initial'"
        " ORDER BY c.arrived_at LIMIT %s",
        (zone_id, start, end, limit),
    )
    arrivals = [
        {"vessel_id": r[0], "vessel_name": r[1], "hull_number": r[2], "at": iso(r[3]), "method": r[4],
         "gate_at": iso(r[5])}
        for r in await cur.fetchall()
    ]  # fmt: skip
    cur = await conn.execute(
        "SELECT y.vessel_id, v.name, v.hull_number, y.departed_at"
        " FROM voyages y JOIN vessels v ON v.id = y.vessel_id"
        " WHERE y.from_zone_id = %s AND y.departed_at < %s AND (y.arrived_at IS NULL OR y.arrived_at >= %s)"
        " ORDER BY y.departed_at LIMIT %s",
        (zone_id, end, end, limit),
    )
    still_out = [
        {"vessel_id": r[0], "vessel_name": r[1], "hull_number": r[2], "departed_at": iso(r[3])}
        for r in await cur.fetchall()
    ]
    return {
        "harbour": {"id": zone_id, "name": zone[0], "kind": zone[1]},
        "date": day.isoformat(),
        "timezone": timezone,
        "from": iso(start),
        "to": iso(end),
        "departures": departures,
        "arrivals": arrivals,
        "still_out_at_end_of_day": still_out,
        "totals": {
            "departures": len(departures),
            "arrivals": len(arrivals),
            "gate_confirmed": sum(1 for d in departures + arrivals if d["gate_at"] is not None),
            "still_out": len(still_out),
        },
    }
