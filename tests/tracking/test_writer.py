import asyncio
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tests.tracking.records import ais_position, ais_static, base_station, jt808_position, safety
from tracking.db import Pool
from tracking.identity import IdentityRegistry
from tracking.rows import PositionRow, Row, to_row
from tracking.writer import write_batch

# Records which statement put rows into each table: proof that the store really uses COPY.
STATEMENT_LOG = """
CREATE TABLE statement_log (table_name text, query text);
CREATE FUNCTION log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO statement_log VALUES (TG_TABLE_NAME, current_query());
    RETURN NULL;
END $$;
CREATE TRIGGER positions_log AFTER INSERT ON positions FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
CREATE TRIGGER static_log AFTER INSERT ON static_reports FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
CREATE TRIGGER events_log AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
"""


def query(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


async def write(pool: Pool, registry: IdentityRegistry, rows: list[Row], batch_id: uuid.UUID | None = None):  # type: ignore[no-untyped-def]
    async with asyncio.timeout(20), pool.connection() as conn:
        return await write_batch(conn, registry, batch_id or uuid.uuid4(), rows)


async def test_rows_go_in_by_binary_copy_and_match_their_records(pool: Pool, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(STATEMENT_LOG)
    records = [ais_position(n=n) for n in range(50)] + [
        jt808_position(),
        ais_static(),
        safety(),
        base_station(),
        ais_position(mmsi=412_000_009, lat=None, lon=None),
    ]
    registry = IdentityRegistry(pool)
    batch_id = uuid.uuid4()
    result = await write(pool, registry, [to_row(r) for r in records], batch_id)
    assert result.committed and not result.rejected
    assert dict(result.stored) == {"positions": 51, "static_reports": 1, "events": 3}

    logged = query(database_url, "SELECT table_name, query FROM statement_log ORDER BY 1")
    assert {t for t, _ in logged} == {"positions", "static_reports", "events"}
    assert all(q.startswith(f"COPY {t} (") and q.endswith("(FORMAT BINARY)") for t, q in logged)

    vessel = await registry.resolve("mmsi", "412000001", records[0]["ts"])
    stored = query(
        database_url,
        "SELECT ts, vessel_id, source, lon, lat, speed, course, heading, status, receivers, received_at"
        " FROM positions WHERE source = 'ais' ORDER BY ts",
    )
    expected = [
        (
            r["ts"],
            vessel,
            "ais",
            r["lon"],
            r["lat"],
            r["speed"],
            r["course"],
            r["heading"],
            r["status"],
            1,
            r["received_at"],
        )
        for r in records[:50]
    ]
    assert stored == expected
    [(terminal_vessel, terminal_speed)] = query(
        database_url, "SELECT vessel_id, speed FROM positions WHERE source = 'jt808'"
    )
    assert terminal_vessel != vessel and terminal_speed == pytest.approx(4.3, rel=1e-6)  # real

    [static] = query(
        database_url,
        "SELECT vessel_id, mmsi, imo, callsign, shipname, ship_type, to_bow, draught, destination, data"
        " FROM static_reports",
    )
    assert static[:9] == (
        vessel,
        412_000_001,
        9_123_456,
        "BVAB3",
        "YUE SHAN WEI YU 12345",
        30,
        20,
        pytest.approx(2.4),
        "SHANWEI",
    )
    assert static[9]["epfd"] == 1 and "shipname" not in static[9]

    events = query(database_url, "SELECT kind, vessel_id, data FROM events ORDER BY kind")
    assert [(k, v is None) for k, v, _ in events] == [
        ("base_station", True),
        ("position", False),
        ("safety", False),
    ]
    assert events[2][1] == vessel and events[2][2]["text"] == "MAYDAY ENGINE FIRE"
    assert query(database_url, "SELECT id, rows FROM ingest_batches") == [(batch_id, 55)]


async def test_a_batch_is_written_once_whatever_happens(pool: Pool, database_url: str) -> None:
    registry = IdentityRegistry(pool)
    batch_id = uuid.uuid4()
    rows = [to_row(ais_position(n=n)) for n in range(10)]
    assert (await write(pool, registry, rows, batch_id)).committed
    again = await write(pool, registry, [to_row(ais_position(n=n)) for n in range(10)], batch_id)
    assert not again.committed and not again.stored
    assert query(database_url, "SELECT count(*) FROM positions") == [(10,)]


async def test_static_names_a_provisional_vessel_but_never_a_registered_one(
    pool: Pool, database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "INSERT INTO vessels (name, hull_number) VALUES ('粤汕尾渔12345', '粤汕尾渔12345') RETURNING id"
        ).fetchone()
        assert row is not None
        registered = row[0]
        conn.execute(
            "INSERT INTO vessel_identities (vessel_id, kind, value) VALUES (%s, 'mmsi', '412000002')",
            (registered,),
        )
    registry = IdentityRegistry(pool)
    await write(
        pool,
        registry,
        [to_row(ais_static(mmsi=412_000_001)), to_row(ais_static(mmsi=412_000_002, shipname="RADIO NAME"))],
    )
    await write(pool, registry, [to_row(ais_static(mmsi=412_000_001, shipname="LATER NAME"))])
    names = dict(query(database_url, "SELECT provisional, name FROM vessels"))
    assert names == {True: "YUE SHAN WEI YU 12345", False: "粤汕尾渔12345"}
    assert query(database_url, "SELECT count(*) FROM static_reports") == [(3,)]


async def test_a_row_the_database_refuses_does_not_take_its_batch_down(pool: Pool, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE positions ADD CONSTRAINT plausible_speed CHECK (speed < 80)")
    records = [ais_position(n=n) for n in range(20)]
    records[13]["speed"] = 99.0
    records[4]["speed"] = 85.0
    rows: list[Row] = [to_row(r) for r in records]
    batch_id = uuid.uuid4()
    result = await write(pool, IdentityRegistry(pool), rows, batch_id)
    assert result.committed
    assert sorted(index for index, _ in result.rejected) == [4, 13]
    assert all(isinstance(exc, psycopg.errors.CheckViolation) for _, exc in result.rejected)
    assert query(database_url, "SELECT count(*) FROM positions") == [(18,)]
    assert query(database_url, "SELECT rows FROM ingest_batches WHERE id = %s", (batch_id,)) == [(18,)]


async def test_receivers_and_timestamps_survive_as_given(pool: Pool, database_url: str) -> None:
    row = to_row(ais_position(receivers=3, ts=None))
    assert isinstance(row, PositionRow)
    await write(pool, IdentityRegistry(pool), [row])
    [(ts, received_at, receivers)] = query(database_url, "SELECT ts, received_at, receivers FROM positions")
    assert ts == received_at == ais_position()["received_at"] and receivers == 3
    assert ts.utcoffset() == timedelta(0)


@pytest.mark.usefixtures("timescaledb")
async def test_copy_fills_hypertable_chunks(pool: Pool, database_url: str) -> None:
    # Three days of positions: TimescaleDB routes the COPY's rows into one chunk per day.
    rows: list[Row] = [to_row(ais_position(n=n * 8640)) for n in range(3)]
    await write(pool, IdentityRegistry(pool), rows)
    [(chunks,)] = query(database_url, "SELECT count(*) FROM show_chunks('positions')")
    assert chunks == 3
    assert query(database_url, "SELECT count(*) FROM positions") == [(3,)]
