"""`seawatch demo` with its simulator: a fleet of drill vessels on the map and, within its first two
simulated minutes, a scripted emergency raised as a drill alert."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from seawatch.embedded import free_port
from tests.seawatch.helpers import seawatch_env, start_seawatch, stop, wait_ready

TOKEN = "demo-token-for-tests-0123456789"


def test_the_demo_runs_the_default_scenario_as_a_drill(
    database_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    http, ais, jt808 = free_port(), free_port(), free_port()
    proc = start_seawatch(
        "demo",
        "--db",
        database_url,
        "--mqtt-url",
        mqtt_url,
        "--data-dir",
        str(tmp_path),
        "--http-port",
        str(http),
        "--ais-port",
        str(ais),
        "--jt808-port",
        str(jt808),
        "--admin-token",
        TOKEN,
        "--speed",
        "4",
        env=seawatch_env(SEAWATCH_MQTT__TOPIC_PREFIX=f"demo{http}", SEAWATCH_MQTT__CLIENT_ID=f"demo{http}"),
    )
    base, headers = f"http://127.0.0.1:{http}", {"Authorization": f"Bearer {TOKEN}"}
    try:
        wait_ready(base, proc, timeout=60)
        began = time.monotonic()
        distress: list[dict[str, object]] = []
        # The SOS is 90 simulated seconds in: 22.5 s at speed 4, plus start-up of the simulator.
        while not distress and time.monotonic() - began < 60:
            time.sleep(1)
            alerts = httpx.get(f"{base}/api/alerts", params={"kind": "distress"}, headers=headers).json()
            distress = alerts["alerts"]
        assert distress, "no distress alert from the demo's scripted emergency"
        assert all(a["drill"] for a in distress)
        assert distress[0]["vessel"]["name"] == "YUE HAI 8"
    finally:
        status, seconds, _, err = stop(proc, signal.SIGINT)
    assert status == 0, err[-3000:]
    assert seconds < 10
