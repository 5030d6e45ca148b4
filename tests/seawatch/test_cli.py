import asyncio
import signal
from pathlib import Path

import httpx
import psycopg

from api.users import user_for_token
from seawatch.embedded import free_port
from tests.seawatch.helpers import run_seawatch, seawatch_env, start_seawatch, stop, wait_ready


def test_help_lists_the_commands() -> None:
    result = run_seawatch("--help")
    assert result.returncode == 0
    for command in ("demo", "run", "db", "user"):
        assert command in result.stdout.decode()


def test_db_migrate_twice(empty_database_url: str) -> None:
    first = run_seawatch("db", "migrate", "--db", empty_database_url)
    assert first.returncode == 0, first.stderr.decode()
    assert "applied 0001_initial" in first.stdout.decode()
    second = run_seawatch("db", "migrate", "--db", empty_database_url)
    assert second.returncode == 0
    assert "nothing to do" in second.stdout.decode()
    assert "applied" not in second.stdout.decode()


def test_db_migrate_reads_the_database_from_the_environment(empty_database_url: str) -> None:
    result = run_seawatch("db", "migrate", env=seawatch_env(SEAWATCH_DATABASE_URL=empty_database_url))
    assert result.returncode == 0, result.stderr.decode()
    assert "applied 0001_initial" in result.stdout.decode()


def test_db_migrate_without_a_database_says_how_to_give_one() -> None:
    result = run_seawatch("db", "migrate")
    assert result.returncode == 1
    assert "--db" in result.stderr.decode()


def test_a_bad_setting_is_reported_not_traced() -> None:
    result = run_seawatch("db", "migrate", env=seawatch_env(SEAWATCH_HTTP__PORT="many"))
    assert result.returncode == 2
    assert "bad settings" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_user_add_prints_a_working_token_once(database_url: str) -> None:
    result = run_seawatch("user", "add", "wang", "--role", "dispatcher", "--db", database_url)
    assert result.returncode == 0, result.stderr.decode()
    token = result.stdout.decode().strip()
    assert len(token) >= 40 and "\n" not in token

    async def lookup() -> str | None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            user = await user_for_token(conn, token)
        return None if user is None else f"{user.name}:{user.role}"

    assert asyncio.run(lookup()) == "wang:dispatcher"


def test_user_add_refuses_an_unknown_role(database_url: str) -> None:
    result = run_seawatch("user", "add", "wang", "--role", "captain", "--db", database_url)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr.decode()


def test_run_serves_and_stops_cleanly_on_sigterm(database_url: str, mqtt_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = seawatch_env(
        SEAWATCH_DATABASE_URL=database_url,
        SEAWATCH_MQTT_URL=mqtt_url,
        SEAWATCH_HTTP__PORT=str(port),
        SEAWATCH_JT808__PORT="0",
        SEAWATCH_DATA_DIR=str(tmp_path),
    )
    proc = start_seawatch("run", env=env)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}", proc)
        assert ready.json()["checks"] == {"database": True, "mqtt": True}
        assert httpx.get(f"http://127.0.0.1:{port}/api/me").status_code == 401
    finally:
        status, seconds, _, err = stop(proc, signal.SIGTERM)
    assert status == 0, err[-2000:]
    assert seconds < 10
    assert "all components stopped" in err


def test_run_only_api(database_url: str, mqtt_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = seawatch_env(
        SEAWATCH_DATABASE_URL=database_url,
        SEAWATCH_MQTT_URL=mqtt_url,
        SEAWATCH_HTTP__PORT=str(port),
        SEAWATCH_JT808__PORT="0",
        SEAWATCH_DATA_DIR=str(tmp_path),
    )
    proc = start_seawatch("run", "--only", "api", env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
    finally:
        status, _, _, _ = stop(proc, signal.SIGTERM)
    assert status == 0


def test_run_reports_an_unreachable_database(postgres_server_dsn: str) -> None:
    bad = psycopg.conninfo.make_conninfo(postgres_server_dsn, dbname="seawatch_does_not_exist")
    env = seawatch_env(SEAWATCH_DATABASE_URL=bad, SEAWATCH_DATABASE__CONNECT_TIMEOUT_S="2")
    result = run_seawatch("run", env=env, timeout=30)
    assert result.returncode == 1
    assert "seawatch_does_not_exist" in result.stderr.decode() or "timeout" in result.stderr.decode().lower()


def test_replay_sends_a_recording_to_a_tcp_receiver(shared_data: Path) -> None:
    import socket
    import threading

    recording = shared_data / "ais" / "recordings" / "pyais-tagblocks.ais"
    received = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def accept() -> None:
            conn, _ = server.accept()
            with conn:
                while chunk := conn.recv(65536):
                    received.extend(chunk)

        reader = threading.Thread(target=accept)
        reader.start()
        result = run_seawatch("replay", str(recording), "--to", f"tcp://127.0.0.1:{port}", "--speed", "max")
        reader.join(10)
    assert result.returncode == 0, result.stderr.decode()
    # Comment lines stay behind; everything else goes, in order.
    sent = [
        line for line in recording.read_bytes().splitlines() if line.strip() and not line.startswith(b"#")
    ]
    assert received.splitlines() == sent
    assert f"sent {len(sent)} lines" in result.stderr.decode()


def test_replay_refuses_a_bad_speed(shared_data: Path) -> None:
    recording = shared_data / "ais" / "recordings" / "pyais-tagblocks.ais"
    result = run_seawatch("replay", str(recording), "--to", "tcp://127.0.0.1:9", "--speed", "-2")
    assert result.returncode == 1
    assert "speed" in result.stderr.decode()


def test_vessels_import_reports_rows_and_refuses_bad_ones(database_url: str, tmp_path: Path) -> None:
    good = tmp_path / "fleet.csv"
    good.write_text(
        "hull_number,name,owner_name,home_port,is_fishing,mmsi,terminal,licensed_area\n"
        "粤汕渔12345,粤汕渔12345,陈先生,汕尾,true,412345678,013800138000,demo-fishing-area\n"
        "粤汕渔23456,粤汕渔23456,林女士,马宫,yes,412345679;412345680,,demo-fishing-area\n",
        encoding="utf-8",
    )
    result = run_seawatch("vessels", "import", str(good), "--db", database_url)
    assert result.returncode == 0, result.stderr.decode()
    with psycopg.connect(database_url) as conn:
        identities = conn.execute(
            "SELECT v.hull_number, i.kind, i.value FROM vessel_identities i"
            " JOIN vessels v ON v.id = i.vessel_id ORDER BY 1, 2, 3"
        ).fetchall()
    assert identities == [
        ("粤汕渔12345", "mmsi", "412345678"),
        ("粤汕渔12345", "terminal", "013800138000"),
        ("粤汕渔23456", "mmsi", "412345679"),
        ("粤汕渔23456", "mmsi", "412345680"),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("hull_number,mmsi\n粤汕渔99999,not-an-mmsi\n粤汕渔88888,412000888\n", encoding="utf-8")
    refused = run_seawatch("vessels", "import", str(bad), "--db", database_url)
    assert refused.returncode == 1
    assert "line 2" in (refused.stdout + refused.stderr).decode()
    unusable = tmp_path / "unusable.csv"
    unusable.write_text("boat,colour\nx,red\n", encoding="utf-8")
    assert run_seawatch("vessels", "import", str(unusable), "--db", database_url).returncode == 1
