import psycopg
import pytest

from tracking.migrate import HYPERTABLES, Migration, bundled_migrations, migrate

TABLES = {
    "vessels",
    "vessel_identities",
    "static_reports",
    "positions",
    "events",
    "alerts",
    "alert_audit",
    "zones",
    "weather_warnings",
    "users",
    "api_tokens",
    "schema_migrations",
}


def table_names(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def schema_fingerprint(dsn: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY 1, 2"
        ).fetchall()


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in bundled_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_migrate_creates_the_schema_and_a_second_run_changes_nothing(empty_database_url: str) -> None:
    first = migrate(empty_database_url)
    assert [m.version for m in first.applied] == [m.version for m in bundled_migrations()]
    assert table_names(empty_database_url) >= TABLES
    before = schema_fingerprint(empty_database_url)
    second = migrate(empty_database_url)
    assert not second.changed
    assert schema_fingerprint(empty_database_url) == before


def test_a_failing_migration_is_rolled_back_and_not_recorded(empty_database_url: str) -> None:
    broken = [Migration(1, "half", "CREATE TABLE half_done (x int); SELECT no_such_function();")]
    with pytest.raises(psycopg.errors.UndefinedFunction):
        migrate(empty_database_url, broken)
    assert "half_done" not in table_names(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (0,)


@pytest.mark.usefixtures("timescaledb")
def test_time_series_tables_become_hypertables_once(empty_database_url: str) -> None:
    first = migrate(empty_database_url)
    assert first.timescaledb
    assert sorted(first.hypertables_created) == sorted(HYPERTABLES)
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables").fetchall()
    assert {r[0] for r in rows} == set(HYPERTABLES)
    second = migrate(empty_database_url)
    assert second.timescaledb and not second.changed


def test_plain_postgresql_gets_the_same_tables_without_hypertables(embedded_postgres) -> None:  # type: ignore[no-untyped-def]
    dsn = embedded_postgres.ensure_database("seawatch_plain_migrate")
    report = migrate(dsn)
    assert not report.timescaledb
    assert report.hypertables_created == []
    assert table_names(dsn) >= TABLES
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('positions', 'events')"
        ).fetchall()
        drill = conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'drill'"
            " AND table_schema = 'public' AND table_name IN ('positions', 'static_reports')"
        ).fetchall()
    assert {"positions_vessel_ts", "events_vessel_ts"} <= {r[0] for r in rows}
    assert sorted(r[0] for r in drill) == ["positions", "static_reports"]


@pytest.mark.usefixtures("timescaledb")
def test_positions_stored_before_the_drill_column_read_as_real(empty_database_url: str) -> None:
    before = [m for m in bundled_migrations() if m.version < 6]
    migrate(empty_database_url, before)  # a deployment of the previous version, with data
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO positions (ts, vessel_id, source, lon, lat) VALUES (now(), 1, 'ais', 115, 22)"
        )
        conn.execute("INSERT INTO static_reports (ts, source, data) VALUES (now(), 'ais', '{}')")
    report = migrate(empty_database_url)
    assert report.applied[0].name == "drill_positions"  # on a hypertable by now
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT drill FROM positions").fetchall() == [(False,)]
        assert conn.execute("SELECT drill FROM static_reports").fetchall() == [(False,)]
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(
                "INSERT INTO positions (ts, vessel_id, source, lon, lat, drill)"
                " VALUES (now(), 1, 'ais', 115, 22, NULL)"
            )


def test_positions_reject_rows_without_a_position(database_url: str) -> None:
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute("INSERT INTO positions (ts, vessel_id, source, lon) VALUES (now(), 1, 'ais', 115.0)")


def test_only_one_open_alert_per_condition(database_url: str) -> None:
    insert = (
        "INSERT INTO alerts (kind, severity, dedup_key, title, opened_at, updated_at)"
        " VALUES ('distress', 'critical', 'distress:1', 'Distress', now(), now())"
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(insert)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert)
        conn.execute("UPDATE alerts SET state = 'resolved' WHERE dedup_key = 'distress:1'")
        conn.execute(insert)  # a new incident once the old one is resolved
        seqs = [r[0] for r in conn.execute("SELECT seq FROM alerts ORDER BY id").fetchall()]
    assert seqs == sorted(seqs) and len(set(seqs)) == 2
