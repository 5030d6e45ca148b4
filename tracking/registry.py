"""`seawatch vessels import FILE.csv`: vessels by hull number and their identities, from the registry.

The file format is in `tracking.registry_csv`. Each row is one transaction: its vessel is created or
updated (matched on hull number; empty cells leave stored values alone), then each of its identities is
attached for the row's validity period. For every stored period of that identity overlapping it:

- on the same vessel: the row's period replaces it (re-importing a file changes nothing);
- on a *provisional* vessel (created by ingest for an identity it did not know): merged. The
  provisional vessel's positions, events and static reports from the overlap move to the registered
  vessel, the rest of its period (if any) stays with it, and a provisional vessel left without
  identities is deleted after everything it had (alerts too) has moved;
- on another registered vessel: the row is refused (end that period first, with `valid_to`).

Identity changes take the advisory lock `tracking.identity` creates provisional vessels under, so the
two never race inside the database; the given `IdentityRegistry` is told to forget what changed.
Another process's registry cache (a running ingest service) does not hear of it: until it restarts, it
may still file reports under a provisional vessel the import merged away.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import TupleRow

from tracking.db import Pool
from tracking.identity import IDENTITY_LOCK_NAMESPACE, IdentityRegistry, identity_lock_key
from tracking.registry_csv import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    VESSEL_TEXT_COLUMNS,
    RegistryFileError,
    RowProblem,
    VesselRow,
    read_registry,
)

log = logging.getLogger(__name__)

Connection = AsyncConnection[TupleRow]

__all__ = ["ImportReport", "Merge", "RegistryFileError", "RowProblem", "format_report", "import_vessels_csv"]

VESSEL_COLUMNS = (*VESSEL_TEXT_COLUMNS, "is_fishing")
MOVED_TABLES = ("positions", "events", "static_reports")
# ±infinity in the table read as NULL here, as in tracking.identity (Python datetimes cannot hold them).
_FROM = "COALESCE(%s::timestamptz, '-infinity')"
_TO = "COALESCE(%s::timestamptz, 'infinity')"
_RENAME_IN_DATA = (
    ", data = CASE WHEN data ? 'vessel_id' THEN jsonb_set(data, '{vessel_id}', to_jsonb(%s::bigint))"
    " ELSE data END"
)


@dataclass(frozen=True)
class Merge:
    provisional_id: int
    vessel_id: int
    hull_number: str
    identity: tuple[str, str]
    moved: dict[str, int]  # rows moved per table
    deleted: bool  # the provisional vessel had nothing left and is gone


@dataclass
class ImportReport:
    path: str
    rows: int = 0
    vessels_created: int = 0
    vessels_updated: int = 0
    vessels_unchanged: int = 0
    identities_added: int = 0
    identities_unchanged: int = 0
    merges: list[Merge] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class RowConflict(ValueError):
    """The row cannot be applied as it stands (its transaction is rolled back)."""


@dataclass
class _Outcome:
    created: bool = False
    updated: bool = False
    added: int = 0
    unchanged: int = 0
    merges: list[Merge] = field(default_factory=list)


async def import_vessels_csv(
    pool: Pool,
    path: Path,
    *,
    registry: IdentityRegistry | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    max_rows: int = MAX_ROWS,
) -> ImportReport:
    """Import the file; raises `RegistryFileError` (or OSError) when the file as a whole is unusable."""
    rows, problems = await asyncio.to_thread(read_registry, path, max_bytes=max_bytes, max_rows=max_rows)
    report = ImportReport(str(path), rows=len(rows) + len(problems), problems=problems)
    async with pool.connection() as conn:
        for row in rows:
            try:
                async with conn.transaction():
                    outcome = await _apply(conn, row)
            except RowConflict as exc:
                report.problems.append(RowProblem(row.line, str(exc)))
                continue
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
                report.problems.append(RowProblem(row.line, f"refused by the database: {exc}"))
                continue
            finally:
                if registry is not None:
                    for kind, value in row.identities:
                        registry.forget(kind, value)
            report.vessels_created += outcome.created
            report.vessels_updated += outcome.updated
            report.vessels_unchanged += not (outcome.created or outcome.updated)
            report.identities_added += outcome.added
            report.identities_unchanged += outcome.unchanged
            report.merges += outcome.merges
    report.problems.sort(key=lambda p: p.line)
    log.info("%s", format_report(report).splitlines()[0])
    return report


async def _apply(conn: Connection, row: VesselRow) -> _Outcome:
    outcome = _Outcome()
    vessel_id = await _upsert_vessel(conn, row, outcome)
    # In a fixed order, so two imports running at once cannot deadlock on each other's locks.
    for kind, value in sorted(row.identities):
        await _attach(conn, row, vessel_id, kind, value, outcome)
    return outcome


async def _upsert_vessel(conn: Connection, row: VesselRow, outcome: _Outcome) -> int:
    names = sql.SQL(", ").join(map(sql.Identifier, VESSEL_COLUMNS))
    cur = await conn.execute(
        sql.SQL("SELECT id, provisional, {} FROM vessels WHERE hull_number = %s FOR UPDATE").format(names),
        (row.hull_number,),
    )
    found = await cur.fetchone()
    given = [(name, row.values[name]) for name in VESSEL_COLUMNS if name in row.values]
    if found is None:
        columns = sql.SQL(", ").join(sql.Identifier(n) for n in ("hull_number", *(n for n, _ in given)))
        cur = await conn.execute(
            sql.SQL("INSERT INTO vessels ({}) VALUES ({}) RETURNING id").format(
                columns, sql.SQL(", ").join(sql.Placeholder() * (len(given) + 1))
            ),
            (row.hull_number, *(v for _, v in given)),
        )
        created = await cur.fetchone()
        assert created is not None
        outcome.created = True
        return int(created[0])
    vessel_id, provisional = int(found[0]), bool(found[1])
    stored = dict(zip(VESSEL_COLUMNS, found[2:], strict=True))
    changed = [(name, value) for name, value in given if stored[name] != value]
    if changed or provisional:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = %s").format(sql.Identifier(name)) for name, _ in changed
        )
        prefix = sql.SQL("{}, ").format(assignments) if changed else sql.SQL("")
        await conn.execute(
            sql.SQL("UPDATE vessels SET {}provisional = false, updated_at = now() WHERE id = %s").format(
                prefix
            ),
            (*(v for _, v in changed), vessel_id),
        )
        outcome.updated = True
    return vessel_id


async def _attach(
    conn: Connection, row: VesselRow, vessel_id: int, kind: str, value: str, outcome: _Outcome
) -> None:
    start, end = row.valid_from, row.valid_to
    await conn.execute(
        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
        (IDENTITY_LOCK_NAMESPACE, identity_lock_key(kind, value)),
    )
    cur = await conn.execute(
        "SELECT vi.id, vi.vessel_id, NULLIF(vi.valid_from, '-infinity'), NULLIF(vi.valid_to, 'infinity'),"
        " v.provisional, v.hull_number"
        " FROM vessel_identities vi JOIN vessels v ON v.id = vi.vessel_id"
        f" WHERE vi.kind = %s AND vi.value = %s AND vi.valid_from < {_TO} AND vi.valid_to > {_FROM}"
        " ORDER BY vi.valid_from FOR UPDATE OF vi",
        (kind, value, end, start),
    )
    overlapping = await cur.fetchall()
    if [(r[1], r[2], r[3]) for r in overlapping] == [(vessel_id, start, end)]:
        outcome.unchanged += 1
        return
    for _, owner, since, until, provisional, hull in overlapping:
        if owner != vessel_id and not provisional:
            raise RowConflict(
                f"{kind} {value} belongs to {hull or f'vessel {owner}'} from {_when(since, 'the start')}"
                f" to {_when(until, 'now')}; end that period (valid_to) before giving it to {row.hull_number}"
            )
    for period_id, owner, since, until, _, _ in overlapping:
        await conn.execute("DELETE FROM vessel_identities WHERE id = %s", (period_id,))
        if owner != vessel_id:
            outcome.merges.append(
                await _merge(conn, row, vessel_id, int(owner), (kind, value), (since, until))
            )
    await conn.execute(
        "INSERT INTO vessel_identities (vessel_id, kind, value, valid_from, valid_to)"
        f" VALUES (%s, %s, %s, {_FROM}, {_TO})",
        (vessel_id, kind, value, start, end),
    )
    outcome.added += 1


async def _merge(
    conn: Connection,
    row: VesselRow,
    vessel_id: int,
    provisional_id: int,
    identity: tuple[str, str],
    period: tuple[datetime | None, datetime | None],
) -> Merge:
    """Move what the provisional vessel reported in the overlap of `period` with the row's period."""
    since, until = period
    # What is left of the provisional period outside the row's stays with the provisional vessel.
    if row.valid_from is not None and (since is None or since < row.valid_from):
        await _insert_period(conn, provisional_id, identity, since, row.valid_from)
    if row.valid_to is not None and (until is None or row.valid_to < until):
        await _insert_period(conn, provisional_id, identity, row.valid_to, until)
    cur = await conn.execute("SELECT count(*) FROM vessel_identities WHERE vessel_id = %s", (provisional_id,))
    left = await cur.fetchone()
    deleted = left is not None and left[0] == 0
    # Nothing left: everything it has moves (it can only have come from this identity); else the overlap.
    start = None if deleted else _later(since, row.valid_from)
    end = None if deleted else _earlier(until, row.valid_to)
    moved: dict[str, int] = {}
    for table in MOVED_TABLES:
        # Anomaly events name their vessel in their data too.
        data = _RENAME_IN_DATA if table == "events" else ""
        params = (vessel_id, vessel_id) if data else (vessel_id,)
        cur = await conn.execute(
            f"UPDATE {table} SET vessel_id = %s{data} WHERE vessel_id = %s AND ts >= {_FROM} AND ts < {_TO}",
            (*params, provisional_id, start, end),
        )
        moved[table] = cur.rowcount
    if deleted:
        await conn.execute(
            "UPDATE alerts SET vessel_id = %s WHERE vessel_id = %s", (vessel_id, provisional_id)
        )
        # A registered vessel without a name takes the one its transponder gave the provisional vessel.
        await conn.execute(
            "UPDATE vessels SET name = p.name FROM vessels p"
            " WHERE vessels.id = %s AND p.id = %s AND (vessels.name IS NULL OR vessels.name = '')",
            (vessel_id, provisional_id),
        )
        await conn.execute("DELETE FROM vessels WHERE id = %s AND provisional", (provisional_id,))
    log.info(
        "provisional vessel %d (%s %s) merged into %s: %s", provisional_id, *identity, row.hull_number, moved
    )
    return Merge(provisional_id, vessel_id, row.hull_number, identity, moved, deleted)


async def _insert_period(
    conn: Connection,
    vessel_id: int,
    identity: tuple[str, str],
    since: datetime | None,
    until: datetime | None,
) -> None:
    await conn.execute(
        "INSERT INTO vessel_identities (vessel_id, kind, value, valid_from, valid_to)"
        f" VALUES (%s, %s, %s, {_FROM}, {_TO})",
        (vessel_id, *identity, since, until),
    )


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _when(value: datetime | None, unbounded: str) -> str:
    return unbounded if value is None else value.isoformat()


def format_report(report: ImportReport) -> str:
    """The report for a person: a summary line, then one line per merge and per refused row."""
    lines = [
        f"{report.path}: {report.rows} row(s); vessels: {report.vessels_created} created,"
        f" {report.vessels_updated} updated, {report.vessels_unchanged} unchanged; identities:"
        f" {report.identities_added} added, {report.identities_unchanged} unchanged;"
        f" {len(report.merges)} provisional vessel(s) merged; {len(report.problems)} row(s) refused"
    ]
    for merge in report.merges:
        moved = ", ".join(f"{count} {table}" for table, count in merge.moved.items())
        fate = "deleted" if merge.deleted else "kept for its other periods"
        lines.append(
            f"  merged provisional vessel {merge.provisional_id} ({' '.join(merge.identity)}) into"
            f" {merge.hull_number}: moved {moved}; provisional vessel {fate}"
        )
    lines += [f"  line {problem.line}: {problem.message}" for problem in report.problems]
    return "\n".join(lines)
