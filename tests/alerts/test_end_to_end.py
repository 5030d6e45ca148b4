"""Through the running service (`seawatch run`), real database and broker: distress from AIS and from
JT/T 808 reaches a websocket client, and a reconnect with `since_seq` receives every missed alert."""

import asyncio
import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from pyais.encode import encode_dict

from ingest.jt808 import encode_message
from ingest.jt808.messages import LocationReport
from seawatch.embedded import free_port
from tests.conftest import MakeToken
from tests.seawatch.helpers import seawatch_env, start_seawatch, stop, wait_ready


def sart(mmsi: int, lon: float, lat: float) -> bytes:
    fields = {
        "msg_type": 1,
        "mmsi": mmsi,
        "status": 14,
        "lon": lon,
        "lat": lat,
        "speed": 0.3,
        "course": 90.0,
        "heading": 511,
        "second": 30,
    }
    return "\n".join(encode_dict(fields, radio_channel="A", talker_id="AI")).encode() + b"\n"


def emergency_button(terminal: str, serial: int) -> bytes:
    report = LocationReport(
        alarm_bits=1,
        status_bits=2,
        lat_e6=22_650_000,
        lon_e6=115_380_000,
        altitude=0,
        speed_dkmh=20,
        course=45,
        time="261129101500",
    )
    return encode_message(report, terminal=terminal, serial=serial)


class Service:
    def __init__(self, http: int, ais: int, jt808: int) -> None:
        self.http, self.ais, self.jt808 = http, ais, jt808

    def send_ais(self, data: bytes) -> None:
        with socket.create_connection(("127.0.0.1", self.ais), timeout=5) as conn:
            conn.sendall(data)

    def send_jt808(self, data: bytes) -> None:
        with socket.create_connection(("127.0.0.1", self.jt808), timeout=5) as conn:
            conn.sendall(data)
            conn.settimeout(10)
            assert conn.recv(1024)[:1] == b"\x7e"  # the server answered: the report is stored


@pytest.fixture
def service(database_url: str, mqtt_url: str, tmp_path: Path) -> Iterator[Service]:
    running = Service(free_port(), free_port(), free_port())
    env = seawatch_env(
        SEAWATCH_DATABASE_URL=database_url,
        SEAWATCH_MQTT_URL=mqtt_url,
        SEAWATCH_DATA_DIR=str(tmp_path),
        SEAWATCH_HTTP__PORT=str(running.http),
        SEAWATCH_JT808__HOST="127.0.0.1",
        SEAWATCH_JT808__PORT=str(running.jt808),
        SEAWATCH_DEVICES__ENABLED="false",
        SEAWATCH_MQTT__TOPIC_PREFIX=f"e2e{running.http}",
        SEAWATCH_INGEST__FEEDS=orjson.dumps(
            [{"name": "rx", "kind": "tcp_server", "address": f"127.0.0.1:{running.ais}"}]
        ).decode(),
    )
    proc = start_seawatch("run", env=env)
    try:
        wait_ready(f"http://127.0.0.1:{running.http}", proc)
        yield running
    finally:
        status, _, _, err = stop(proc, signal.SIGTERM)
        assert status == 0, err[-3000:]


async def next_alert(ws: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(15):
        while True:
            message = json.loads(await ws.recv())
            if message["stream"] == "alerts" and message["alert"]["kind"] == kind:
                return message  # type: ignore[no-any-return]


async def test_distress_from_ais_and_jt808_reaches_the_websocket_and_resumes(
    service: Service, make_token: MakeToken
) -> None:
    token = await make_token("dispatcher")
    url = f"ws://127.0.0.1:{service.http}/ws?token={token}"
    async with websockets.connect(url) as ws:
        json.loads(await ws.recv())
        await ws.send(json.dumps({"op": "subscribe", "streams": ["alerts"], "since_seq": 0}))
        service.send_ais(sart(970012345, 115.42, 22.62))
        ais = await next_alert(ws, "distress")
        assert ais["alert"]["severity"] == "critical"
        assert ais["alert"]["vessel"]["mmsi"] == 970012345
        assert ais["alert"]["position"] == pytest.approx({"lon": 115.42, "lat": 22.62}, abs=1e-4)

        service.send_jt808(emergency_button("013800138001", 1))
        button = await next_alert(ws, "distress")
        assert button["alert"]["vessel"]["id"] != ais["alert"]["vessel"]["id"]
        assert "emergency" in button["alert"]["title"].lower() or "button" in button["alert"]["title"].lower()
        last_seen = button["seq"]

    # Two more distress incidents while the dispatcher's console is away.
    service.send_ais(sart(970012346, 115.30, 22.60))
    service.send_jt808(emergency_button("013800138002", 1))
    await asyncio.sleep(1.5)
    async with websockets.connect(url) as ws:
        json.loads(await ws.recv())
        await ws.send(json.dumps({"op": "subscribe", "streams": ["alerts"], "since_seq": last_seen}))
        missed = [await next_alert(ws, "distress") for _ in range(2)]
    seqs = [m["seq"] for m in missed]
    assert seqs == sorted(seqs) and seqs[0] > last_seen
    assert {m["alert"]["vessel"]["mmsi"] for m in missed} >= {970012346}
