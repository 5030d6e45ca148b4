"""AIS over TCP into the database through the real `seawatch run`: nothing decoded is lost."""

import asyncio
import signal
import socket
import time
from pathlib import Path

import orjson
import psycopg

from ingest.nmea_stream import NmeaDecoder
from seawatch.embedded import free_port
from tests.seawatch.helpers import seawatch_env, start_seawatch, stop, wait_ready


def expected_rows(recording: Path) -> dict[str, int]:
    decoder = NmeaDecoder()
    records = [
        r for line in recording.read_bytes().splitlines() for r in decoder.feed(line) if "error" not in r
    ]
    positions = sum(
        1 for r in records if r["kind"] == "position" and r["lat"] is not None and r["lon"] is not None
    )
    static = sum(1 for r in records if r["kind"] == "static")
    return {"positions": positions, "static_reports": static, "events": len(records) - positions - static}


def row_counts(dsn: str) -> dict[str, int]:
    """Rows from decoded records; identity anomalies, which ingest derives from them, are not counted."""
    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*) FROM {table}"
                + (" WHERE kind <> 'identity_anomaly'" if table == "events" else "")
            ).fetchone()[0]  # type: ignore[index]
            for table in ("positions", "static_reports", "events")
        }


def test_a_recording_sent_over_tcp_is_stored_completely(
    database_url: str, mqtt_url: str, tmp_path: Path, shared_data: Path
) -> None:
    recording = shared_data / "ais" / "recordings" / "dma-decode_encode_messages.txt"
    expected = expected_rows(recording)
    assert expected["positions"] > 300
    feed_port, http_port = free_port(), free_port()
    feeds = [{"name": "rx1", "kind": "tcp_server", "address": f"127.0.0.1:{feed_port}"}]
    env = seawatch_env(
        SEAWATCH_DATABASE_URL=database_url,
        SEAWATCH_MQTT_URL=mqtt_url,
        SEAWATCH_HTTP__PORT=str(http_port),
        SEAWATCH_JT808__PORT="0",
        SEAWATCH_DATA_DIR=str(tmp_path),
        SEAWATCH_INGEST__FEEDS=orjson.dumps(feeds).decode(),
        SEAWATCH_INGEST__DEDUP_WINDOW_S="0",  # this recording repeats sentences on purpose
    )
    proc = start_seawatch("run", env=env)
    try:
        wait_ready(f"http://127.0.0.1:{http_port}", proc)
        with socket.create_connection(("127.0.0.1", feed_port), timeout=5) as receiver:
            receiver.sendall(recording.read_bytes())
        deadline = time.monotonic() + 30
        while row_counts(database_url) != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert row_counts(database_url) == expected
    finally:
        status, _, _, err = stop(proc, signal.SIGTERM)
    assert status == 0, err[-2000:]


def test_a_position_arrives_in_the_database_within_the_flush_interval(
    database_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    feed_port, http_port = free_port(), free_port()
    feeds = [{"name": "rx-udp", "kind": "udp", "address": f"127.0.0.1:{feed_port}"}]
    env = seawatch_env(
        SEAWATCH_DATABASE_URL=database_url,
        SEAWATCH_MQTT_URL=mqtt_url,
        SEAWATCH_HTTP__PORT=str(http_port),
        SEAWATCH_JT808__ENABLED="false",
        SEAWATCH_DATA_DIR=str(tmp_path),
        SEAWATCH_INGEST__FEEDS=orjson.dumps(feeds).decode(),
    )
    proc = start_seawatch("run", env=env)
    try:
        wait_ready(f"http://127.0.0.1:{http_port}", proc)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            # Two receivers' copies of one transmission, then a different vessel.
            sender.sendto(b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30\n", ("127.0.0.1", feed_port))
            sender.sendto(b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30\n", ("127.0.0.1", feed_port))

        async def wait_for_row() -> tuple[int, int]:
            async with await psycopg.AsyncConnection.connect(database_url) as conn:
                async with asyncio.timeout(20):
                    while True:
                        cur = await conn.execute("SELECT count(*), max(receivers) FROM positions")
                        row = await cur.fetchone()
                        if row and row[0]:
                            return int(row[0]), int(row[1])
                        await asyncio.sleep(0.1)

        count, receivers = asyncio.run(wait_for_row())
        assert count == 1
        assert receivers == 2
    finally:
        status, _, _, err = stop(proc, signal.SIGTERM)
    assert status == 0, err[-2000:]
