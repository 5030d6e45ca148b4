"""Ingest scaled out: several `seawatch run --only ingest` processes on one broker.

Each process has MQTT client ids of its own without any configuration, and with `mqtt.share_group` set
they split an MQTT NMEA feed (a shared subscription): every line is stored exactly once.
"""

import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import aiomqtt
import orjson
import psycopg
from pyais import encode_dict

from seawatch.bus import MqttAddress, client_prefix
from seawatch.settings import MqttSettings
from tests.seawatch.helpers import PROJECT_ROOT, seawatch_env, start_seawatch

MESSAGES = 300


class Process:
    """A running `seawatch` whose log is read as it comes (its pipe must never fill up)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.log: list[str] = []
        self.subscribed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.log.append(line)
            if "feed shared-rx: subscribed to" in line:
                self.subscribed.set()

    def wait_subscribed(self, timeout: float = 60) -> None:
        if not self.subscribed.wait(timeout):
            raise AssertionError(f"not subscribed: {''.join(self.log)[-3000:]}")

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        self._reader.join(10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return status


def positions(n: int) -> list[bytes]:
    """`n` class A position reports, each from a vessel of its own."""
    return [
        encode_dict(
            {"msg_type": 1, "mmsi": 412_500_000 + i, "lon": 115.3 + i / 10_000, "lat": 22.7, "speed": 8.0}
        )[0].encode()
        for i in range(n)
    ]


async def test_two_ingest_processes_split_a_shared_mqtt_feed_and_store_each_line_once(
    database_url: str, mqtt_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    feeds = [{"name": "shared-rx", "kind": "mqtt", "address": f"{topic_prefix}/raw/#"}]
    group = f"ingest-{uuid.uuid4().hex[:8]}"
    processes: list[Process] = []
    try:
        for name in ("a", "b"):
            env = seawatch_env(
                SEAWATCH_DATABASE_URL=database_url,
                SEAWATCH_MQTT_URL=mqtt_url,
                SEAWATCH_MQTT__TOPIC_PREFIX=topic_prefix,
                SEAWATCH_MQTT__SHARE_GROUP=group,
                SEAWATCH_JT808__ENABLED="false",
                SEAWATCH_DEVICES__ENABLED="false",
                SEAWATCH_DATA_DIR=str(tmp_path / name),
                SEAWATCH_INGEST__FEEDS=orjson.dumps(feeds).decode(),
            )
            processes.append(Process(start_seawatch("run", "--only", "ingest", env=env)))
        for process in processes:
            process.wait_subscribed()
        address = MqttAddress.parse(mqtt_url)
        async with aiomqtt.Client(address.host, address.port) as publisher:
            for n, line in enumerate(positions(MESSAGES)):
                await publisher.publish(f"{topic_prefix}/raw/rx{n % 3}", line, qos=1)
        with psycopg.connect(database_url) as conn:
            for _ in range(1200):  # a bound on the wait (two minutes), not a timing
                stored = conn.execute("SELECT count(*) FROM positions").fetchone()
                if stored is not None and stored[0] >= MESSAGES:
                    break
                for process in processes:
                    assert process.proc.poll() is None, "".join(process.log)[-3000:]
                conn.execute("SELECT pg_sleep(0.1)")
    finally:
        statuses = [process.stop() for process in processes]
    assert statuses == [0, 0], "".join(processes[0].log + processes[1].log)[-3000:]
    # Both stopped, so everything either took is written: nothing twice (an unshared subscription
    # gives each process every line), nothing lost.
    with psycopg.connect(database_url) as conn:
        stored = conn.execute(
            "SELECT count(*), count(DISTINCT i.value) FROM positions p"
            " JOIN vessel_identities i ON i.vessel_id = p.vessel_id AND i.kind = 'mmsi'"
        ).fetchone()
    assert stored == (MESSAGES, MESSAGES)
    # Both took part: each met (and made the provisional vessel of) a share of the new MMSIs.
    created = [sum("new provisional vessel" in line for line in p.log) for p in processes]
    assert sum(created) == MESSAGES and min(created) > 0, created


def test_processes_get_client_ids_of_their_own_unless_one_is_configured() -> None:
    code = "from seawatch.bus import client_prefix; from seawatch.settings import MqttSettings;"
    code += " print(client_prefix(MqttSettings()))"
    prefixes = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, check=True, cwd=PROJECT_ROOT, text=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(prefixes) == 2
    assert all(socket.gethostname() in prefix for prefix in prefixes)
    assert client_prefix(MqttSettings()) not in prefixes  # nor this one's
    assert client_prefix(MqttSettings(client_id="seawatch-ingest-2")) == "seawatch-ingest-2"
