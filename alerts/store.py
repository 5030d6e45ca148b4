"""Alerts in the database: one per condition while unresolved, every change a new `seq`, every
transition in the audit trail.

Each change runs in one transaction that locks the alert's row (`FOR UPDATE`), so two dispatchers
acting at once, or a dispatcher and the engine, are serialised and neither update is lost. The commit
is synchronous: an alert is on disk before anyone is told about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from alerts.model import Alert, AlertState, Condition, Position, VesselRef
from tracking.db import Pool

Connection = AsyncConnection[TupleRow]
Action = Literal["ack", "assign", "resolve", "note"]
SYSTEM = "system"

COLUMNS = (
    "id, seq, kind, severity, state, dedup_key, vessel_id, vessel_mmsi, vessel_name, lon, lat, opened_at,"
    " updated_at, title, details, drill, assigned_to, resolved_at"
)

# Which actions each state allows, and the state they lead to (None: unchanged).
TRANSITIONS: dict[Action, tuple[frozenset[str], AlertState | None]] = {
    "ack": (frozenset({"open"}), "acknowledged"),
    "assign": (frozenset({"open", "acknowledged", "assigned"}), "assigned"),
    "resolve": (frozenset({"open", "acknowledged", "assigned"}), "resolved"),
    "note": (frozenset({"open", "acknowledged", "assigned", "resolved"}), None),
}


class AlertActionError(ValueError):
    """An action that the alert's state does not allow (e.g. acknowledging a resolved alert)."""


class AlertNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Actor:
    name: str
    role: str


SYSTEM_ACTOR = Actor(SYSTEM, SYSTEM)


def alert_from_row(row: tuple[Any, ...]) -> Alert:
    (
        id_,
        seq,
        kind,
        severity,
        state,
        key,
        vessel_id,
        mmsi,
        name,
        lon,
        lat,
        opened,
        updated,
        title,
        details,
        drill,
        assigned_to,
        resolved_at,
    ) = row
    return Alert(
        id=int(id_),
        seq=int(seq),
        kind=kind,
        severity=severity,
        state=state,
        key=key,
        vessel=VesselRef(id=vessel_id, mmsi=mmsi, name=name),
        position=None if lon is None or lat is None else Position(lon=float(lon), lat=float(lat)),
        opened_at=opened,
        updated_at=updated,
        title=title,
        details=dict(details or {}),
        drill=bool(drill),
        assigned_to=assigned_to,
        resolved_at=resolved_at,
    )


class AlertStore:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def open_alerts(self) -> list[Alert]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"SELECT {COLUMNS} FROM alerts WHERE state <> 'resolved' ORDER BY seq")
            return [alert_from_row(r) for r in await cur.fetchall()]

    async def raise_condition(self, condition: Condition, vessel: VesselRef, now: datetime) -> Alert:
        """Open the condition's alert, or update the open one with the same key."""
        position = condition.position
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM alerts WHERE dedup_key = %s AND state <> 'resolved' FOR UPDATE",
                (condition.key,),
            )
            row = await cur.fetchone()
            if row is None:
                cur = await conn.execute(
                    "INSERT INTO alerts (kind, severity, dedup_key, vessel_id, vessel_mmsi, vessel_name,"
                    " lon, lat, title, details, drill, opened_at, updated_at, notified_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    f" RETURNING {COLUMNS}",
                    (
                        condition.kind,
                        condition.severity,
                        condition.key,
                        vessel.id,
                        vessel.mmsi,
                        vessel.name,
                        position.lon if position else None,
                        position.lat if position else None,
                        condition.title,
                        Jsonb(condition.details),
                        condition.drill,
                        now,
                        now,
                        now,
                    ),
                )
                alert = alert_from_row(await _one(cur))
                await _audit(conn, alert, SYSTEM_ACTOR, "open", None, alert.state, None)
                return alert
            existing = alert_from_row(row)
            cur = await conn.execute(
                "UPDATE alerts SET seq = nextval('alert_seq'), severity = %s, title = %s, details = %s,"
                " lon = COALESCE(%s, lon), lat = COALESCE(%s, lat), drill = drill AND %s,"
                " vessel_mmsi = COALESCE(%s, vessel_mmsi), vessel_name = COALESCE(%s, vessel_name),"
                " updated_at = %s, notified_at = %s"
                f" WHERE id = %s RETURNING {COLUMNS}",
                (
                    condition.severity,
                    condition.title,
                    Jsonb(condition.details),
                    position.lon if position else None,
                    position.lat if position else None,
                    condition.drill,
                    vessel.mmsi,
                    vessel.name,
                    now,
                    now,
                    existing.id,
                ),
            )
            alert = alert_from_row(await _one(cur))
            await _audit(conn, alert, SYSTEM_ACTOR, "update", existing.state, alert.state, None)
            return alert

    async def clear_condition(self, key: str, now: datetime, note: str = "condition cleared") -> Alert | None:
        """Resolve the condition's open alert, as the system; None when there is none."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT id FROM alerts WHERE dedup_key = %s AND state <> 'resolved' FOR UPDATE", (key,)
            )
            row = await cur.fetchone()
            if row is None:
                return None
            return await _transition(conn, int(row[0]), "resolve", SYSTEM_ACTOR, note, None, now)

    async def act(
        self,
        alert_id: int,
        action: Action,
        actor: Actor,
        now: datetime,
        *,
        note: str | None = None,
        assignee: str | None = None,
    ) -> Alert:
        async with self.pool.connection() as conn, conn.transaction():
            return await _transition(conn, alert_id, action, actor, note, assignee, now)

    async def renotified(self, alert_id: int, now: datetime) -> Alert:
        """Give an unacknowledged alert a new seq so it is delivered again, and note that in the audit."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE alerts SET seq = nextval('alert_seq'), notified_at = %s"
                f" WHERE id = %s RETURNING {COLUMNS}",
                (now, alert_id),
            )
            alert = alert_from_row(await _one(cur))
            await _audit(conn, alert, SYSTEM_ACTOR, "renotify", alert.state, alert.state, None)
            return alert

    async def due_for_renotify(self, before: datetime) -> list[Alert]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM alerts WHERE state = 'open' AND severity = 'critical'"
                " AND notified_at < %s ORDER BY seq",
                (before,),
            )
            return [alert_from_row(r) for r in await cur.fetchall()]

    async def since(self, seq: int, *, limit: int = 1000) -> list[Alert]:
        """Alerts changed after `seq`, in seq order: what a reconnecting client missed."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM alerts WHERE seq > %s ORDER BY seq LIMIT %s", (seq, limit)
            )
            return [alert_from_row(r) for r in await cur.fetchall()]

    async def get(self, alert_id: int) -> Alert:
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"SELECT {COLUMNS} FROM alerts WHERE id = %s", (alert_id,))
            row = await cur.fetchone()
        if row is None:
            raise AlertNotFound(f"no alert {alert_id}")
        return alert_from_row(row)

    async def query(
        self,
        *,
        states: list[str] | None = None,
        kinds: list[str] | None = None,
        severities: list[str] | None = None,
        vessel_id: int | None = None,
        drill: bool | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Newest first, for lists and pagination (`before_seq` is the last seq of the previous page)."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, values in (("state", states), ("kind", kinds), ("severity", severities)):
            if values:
                clauses.append(f"{column} = ANY(%s)")
                params.append(values)
        for column, value, op in (
            ("vessel_id", vessel_id, "="),
            ("drill", drill, "="),
            ("seq", before_seq, "<"),
        ):
            if value is not None:
                clauses.append(f"{column} {op} %s")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM alerts {where} ORDER BY seq DESC LIMIT %s", (*params, limit)
            )
            return [alert_from_row(r) for r in await cur.fetchall()]

    async def audit(self, alert_id: int) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT ts, actor, actor_role, action, from_state, to_state, note, seq FROM alert_audit"
                " WHERE alert_id = %s ORDER BY id",
                (alert_id,),
            )
            names = ("ts", "actor", "role", "action", "from_state", "to_state", "note", "seq")
            return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


async def _one(cur: Any) -> tuple[Any, ...]:
    row = await cur.fetchone()
    assert row is not None
    return tuple(row)


async def _transition(
    conn: Connection,
    alert_id: int,
    action: Action,
    actor: Actor,
    note: str | None,
    assignee: str | None,
    now: datetime,
) -> Alert:
    cur = await conn.execute(f"SELECT {COLUMNS} FROM alerts WHERE id = %s FOR UPDATE", (alert_id,))
    row = await cur.fetchone()
    if row is None:
        raise AlertNotFound(f"no alert {alert_id}")
    current = alert_from_row(row)
    allowed, target = TRANSITIONS[action]
    if current.state not in allowed:
        raise AlertActionError(f"cannot {action} an alert that is {current.state}")
    if action == "assign" and not (assignee or "").strip():
        raise AlertActionError("assign needs the name of who takes it")
    if action == "note" and not (note or "").strip():
        raise AlertActionError("a note needs text")
    state = target or current.state
    cur = await conn.execute(
        "UPDATE alerts SET seq = nextval('alert_seq'), state = %s, updated_at = %s,"
        " assigned_to = COALESCE(%s, assigned_to), resolved_at = CASE WHEN %s = 'resolved' THEN %s"
        f" ELSE resolved_at END WHERE id = %s RETURNING {COLUMNS}",
        (state, now, assignee if action == "assign" else None, state, now, alert_id),
    )
    alert = alert_from_row(await _one(cur))
    await _audit(conn, alert, actor, action, current.state, alert.state, note)
    return alert


async def _audit(
    conn: Connection,
    alert: Alert,
    actor: Actor,
    action: str,
    from_state: str | None,
    to_state: str,
    note: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO alert_audit (alert_id, ts, actor, actor_role, action, from_state, to_state, note, seq)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (alert.id, alert.updated_at, actor.name, actor.role, action, from_state, to_state, note, alert.seq),
    )
