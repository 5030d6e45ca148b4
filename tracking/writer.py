"""One batch of rows into the database: one transaction, binary `COPY` per table, exactly once.

The batch id goes into `ingest_batches` in the same transaction as the rows, so a batch written again —
replayed from the spool after a crash between commit and spool deletion, or retried after a commit
whose acknowledgement was lost with the connection — is recognised and skipped.

A row the server refuses (a data or integrity error) must not take the rest of its batch down with it:
the batch is then written in halves inside savepoints, down to the single rows that fail, which are
returned to the caller. Any other error (the server away, a timeout) propagates: the whole batch is
to be tried again later.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from ingest.metrics import BATCH_SECONDS, STORED
from tracking.identity import IdentityRegistry, Lookup
from tracking.rows import STATIC_COLUMNS, EventRow, PositionRow, Row, StaticRow

log = logging.getLogger(__name__)

Connection = AsyncConnection[TupleRow]

POSITION_COLUMNS = (
    "ts",
    "vessel_id",
    "source",
    "lon",
    "lat",
    "speed",
    "course",
    "heading",
    "status",
    "receivers",
    "received_at",
    "drill",
)
POSITION_TYPES = (
    "timestamptz",
    "int8",
    "text",
    "float8",
    "float8",
    "float4",
    "float4",
    "float4",
    "int2",
    "int2",
    "timestamptz",
    "bool",
)
STATIC_TYPES = (
    "timestamptz",
    "int8",
    "text",
    "int8",  # mmsi
    "int8",  # imo
    "text",  # callsign
    "text",  # shipname
    "int4",  # ship_type
    "int4",
    "int4",
    "int4",
    "int4",  # to_bow … to_starboard
    "float4",  # draught
    "text",  # destination
    "jsonb",
    "bool",  # drill
)
EVENT_COLUMNS = ("ts", "vessel_id", "source", "kind", "data", "received_at")
EVENT_TYPES = ("timestamptz", "int8", "text", "text", "jsonb", "timestamptz")


def _copy_sql(table: str, columns: Sequence[str]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"


COPY_POSITIONS = _copy_sql("positions", POSITION_COLUMNS)
COPY_STATIC = _copy_sql("static_reports", ("ts", "vessel_id", "source", *STATIC_COLUMNS, "data", "drill"))
COPY_EVENTS = _copy_sql("events", EVENT_COLUMNS)

# A provisional vessel takes the name its transponder gives; a registered one keeps the registry's.
FILL_NAME = (
    "UPDATE vessels SET name = %s, updated_at = now()"
    " WHERE id = %s AND provisional AND (name IS NULL OR name = '')"
)

# Errors that belong to a row, not to the database: the row is refused, the batch goes on.
ROW_FAULTS: tuple[type[Exception], ...] = (psycopg.errors.DataError, psycopg.errors.IntegrityError)


def _as_json(data: Any) -> Any:
    # Rows carry their `data` already serialised (and checked) as JSON bytes.
    return data


@dataclass
class WriteResult:
    committed: bool  # False: the batch id was already recorded, nothing was written
    stored: Counter[str] = field(default_factory=Counter)  # rows per table
    rejected: list[tuple[int, Exception]] = field(default_factory=list)  # (index in batch, why)


async def write_batch(
    conn: Connection, registry: IdentityRegistry, batch_id: UUID, rows: Sequence[Row]
) -> WriteResult:
    """Write `rows` as batch `batch_id`. `conn` must not be inside a transaction."""
    started = time.perf_counter()
    await _resolve_vessels(conn, registry, rows)
    timings: defaultdict[str, float] = defaultdict(float)
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO ingest_batches (id, rows) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (batch_id, len(rows)),
        )
        if cur.rowcount == 0:
            log.info("batch %s was already committed; skipped", batch_id)
            return WriteResult(committed=False)
        rejected = await _write_isolating(conn, list(enumerate(rows)), timings)
        if rejected:
            await conn.execute(
                "UPDATE ingest_batches SET rows = %s WHERE id = %s", (len(rows) - len(rejected), batch_id)
            )
    result = WriteResult(committed=True, rejected=rejected)
    refused = {index for index, _ in rejected}
    for index, row in enumerate(rows):
        if index not in refused:
            result.stored[_table(row)] += 1
    for table, count in result.stored.items():
        STORED.labels(table).inc(count)
        BATCH_SECONDS.labels(table).observe(timings[table])
    BATCH_SECONDS.labels("batch").observe(time.perf_counter() - started)
    return result


def _table(row: Row) -> str:
    if isinstance(row, PositionRow):
        return "positions"
    if isinstance(row, StaticRow):
        return "static_reports"
    return "events"


async def _resolve_vessels(conn: Connection, registry: IdentityRegistry, rows: Sequence[Row]) -> None:
    wanted = [row for row in rows if row.identity is not None]
    lookups = [Lookup(row.identity[0], row.identity[1], row.ts) for row in wanted if row.identity]
    vessel_ids = await registry.resolve_many(lookups, conn=conn)
    for row, vessel_id in zip(wanted, vessel_ids, strict=True):
        row.vessel_id = vessel_id


async def _write_isolating(
    conn: Connection, rows: list[tuple[int, Row]], timings: defaultdict[str, float]
) -> list[tuple[int, Exception]]:
    """Write `rows` in a savepoint; on a row fault, halve and retry. Returns the rows refused alone."""
    try:
        async with conn.transaction():
            await _copy(conn, [row for _, row in rows], timings)
        return []
    except ROW_FAULTS as exc:
        if len(rows) == 1:
            log.error("the database refused a row: %s: %.300r", exc, rows[0][1])
            return [(rows[0][0], exc)]
        half = len(rows) // 2
        return await _write_isolating(conn, rows[:half], timings) + await _write_isolating(
            conn, rows[half:], timings
        )


async def _copy(conn: Connection, rows: Sequence[Row], timings: defaultdict[str, float]) -> None:
    positions = [row for row in rows if isinstance(row, PositionRow)]
    statics = [row for row in rows if isinstance(row, StaticRow)]
    events = [row for row in rows if isinstance(row, EventRow)]
    async with conn.cursor() as cur:
        if positions:
            started = time.perf_counter()
            async with cur.copy(COPY_POSITIONS) as copy:
                copy.set_types(POSITION_TYPES)
                for p in positions:
                    await copy.write_row(
                        (
                            p.ts,
                            p.vessel_id,
                            p.source,
                            p.lon,
                            p.lat,
                            p.speed,
                            p.course,
                            p.heading,
                            p.status,
                            p.receivers,
                            p.received_at,
                            p.drill,
                        )
                    )
            timings["positions"] += time.perf_counter() - started
        if statics:
            started = time.perf_counter()
            async with cur.copy(COPY_STATIC) as copy:
                copy.set_types(STATIC_TYPES)
                for s in statics:
                    values = [s.values.get(name) for name in STATIC_COLUMNS]
                    await copy.write_row(
                        (s.ts, s.vessel_id, s.source, *values, Jsonb(s.data, dumps=_as_json), s.drill)
                    )
            names = {
                s.vessel_id: s.values["shipname"] for s in statics if s.vessel_id and s.values.get("shipname")
            }
            if names:
                await cur.executemany(FILL_NAME, [(name, vessel_id) for vessel_id, name in names.items()])
            timings["static_reports"] += time.perf_counter() - started
        if events:
            started = time.perf_counter()
            async with cur.copy(COPY_EVENTS) as copy:
                copy.set_types(EVENT_TYPES)
                for e in events:
                    await copy.write_row(
                        (e.ts, e.vessel_id, e.source, e.kind, Jsonb(e.data, dumps=_as_json), e.received_at)
                    )
            timings["events"] += time.perf_counter() - started
