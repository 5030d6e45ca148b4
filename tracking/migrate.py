"""Schema migrations: numbered plain-SQL files, applied once each, recorded in `schema_migrations`.

After the files, `ensure_hypertables` turns the time-series tables into TimescaleDB hypertables when the
server offers the extension. It runs on every migrate, so a database that gains TimescaleDB later is
upgraded by the next `seawatch db migrate`; on a server without it the tables stay ordinary.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from importlib import resources

import psycopg

log = logging.getLogger(__name__)

# Time-series tables and the chunk interval for each (a chunk should fit comfortably in memory).
HYPERTABLES: dict[str, str] = {"positions": "1 day", "events": "7 days"}

# Any constant would do; it only has to be the same for every seawatch process.
MIGRATION_LOCK_ID = 0x5EA_7A7C

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@dataclass
class MigrationReport:
    applied: list[Migration] = field(default_factory=list)
    hypertables_created: list[str] = field(default_factory=list)
    timescaledb: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.hypertables_created)


def bundled_migrations() -> list[Migration]:
    """The migrations shipped in `tracking/migrations`, in version order."""
    found: list[Migration] = []
    for entry in resources.files("tracking.migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def migrate(dsn: str, migrations: list[Migration] | None = None) -> MigrationReport:
    """Bring the database at `dsn` up to date. Safe to run again and from several processes at once."""
    todo = bundled_migrations() if migrations is None else migrations
    report = MigrationReport()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for migration in todo:
                if migration.version in applied:
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (migration.version, migration.name),
                    )
                log.info("applied migration %04d_%s", migration.version, migration.name)
                report.applied.append(migration)
            report.timescaledb, report.hypertables_created = ensure_hypertables(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return report


def timescaledb_usable(conn: psycopg.Connection) -> bool:
    """The extension is installed on the server and preloaded (CREATE EXTENSION fails otherwise)."""
    available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    if available is None:
        return False
    row = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    preload = str(row[0]) if row else ""
    if "timescaledb" not in preload:
        log.warning("timescaledb is installed but not in shared_preload_libraries: using plain tables")
        return False
    return True


def ensure_hypertables(conn: psycopg.Connection) -> tuple[bool, list[str]]:
    """Create the extension and hypertables where possible; returns (timescaledb in use, tables converted)."""
    if not timescaledb_usable(conn):
        return False, []
    created: list[str] = []
    with conn.transaction():
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        existing = {
            row[0]
            for row in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables"
                " WHERE hypertable_schema = current_schema()"
            )
        }
        for table, interval in HYPERTABLES.items():
            if table in existing:
                continue
            conn.execute(
                "SELECT create_hypertable(%s::regclass, by_range('ts', %s::interval), migrate_data => true)",
                (table, interval),
            )
            log.info("made %s a hypertable (chunks of %s)", table, interval)
            created.append(table)
    return True, created
