import signal
from pathlib import Path

import httpx
import psycopg

from seawatch.embedded import free_port
from tests.seawatch.helpers import seawatch_env, start_seawatch, stop, wait_ready

TOKEN = "demo-token-for-tests-0123456789"


def test_demo_on_embedded_services_answers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """No database, no broker: the demo brings its own PostgreSQL and MQTT broker."""
    http_port, mqtt_port = free_port(), free_port()
    env = seawatch_env(SEAWATCH_MQTT_URL=f"mqtt://127.0.0.1:{mqtt_port}")  # nothing listens there
    proc = start_seawatch(
        "demo",
        "--data-dir",
        str(tmp_path / "data"),
        "--http-port",
        str(http_port),
        "--admin-token",
        TOKEN,
        "--no-simulator",
        env=env,
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        ready = wait_ready(base, proc, timeout=60)
        assert ready.json()["checks"] == {"database": True, "mqtt": True}
        me = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {TOKEN}"})
        assert me.json() == {"name": "admin", "role": "admin"}
    finally:
        status, seconds, out, err = stop(proc, signal.SIGINT)
    assert status == 0, err[-3000:]
    assert seconds < 10
    assert f"http://127.0.0.1:{http_port}/" in out
    assert f"admin token: {TOKEN}" in out
    assert f"mqtt://127.0.0.1:{mqtt_port}" in out  # the embedded broker took the configured address
    assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()


def test_demo_uses_a_given_database_and_broker(database_url: str, mqtt_url: str, tmp_path: Path) -> None:
    http_port = free_port()
    proc = start_seawatch(
        "demo",
        "--db",
        database_url,
        "--mqtt-url",
        mqtt_url,
        "--data-dir",
        str(tmp_path),
        "--http-port",
        str(http_port),
        "--admin-token",
        TOKEN,
        env=seawatch_env(),
    )
    try:
        wait_ready(f"http://127.0.0.1:{http_port}", proc)
    finally:
        status, _, out, err = stop(proc, signal.SIGTERM)
    assert status == 0, err[-3000:]
    assert mqtt_url in out
    with psycopg.connect(database_url) as conn:
        zones = conn.execute("SELECT count(*) FROM zones WHERE kind = 'moratorium'").fetchone()
    assert zones == (1,)
    assert not (tmp_path / "postgres").exists()
