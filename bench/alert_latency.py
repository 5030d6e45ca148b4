"""Alert latency: an AIS-SART sentence sent to `seawatch run` → its distress alert on a websocket.

The real service (TimescaleDB, the machine's MQTT broker) runs as a subprocess. A probe is one AIS-SART
position report (status 14, a fresh 970xxxxxx MMSI, so each opens a new distress alert) written to the
service's NMEA TCP feed; its latency is the time until a websocket client subscribed to `alerts` gets
that alert. Probes run twice in one invocation, side by side: on an idle service (the reference), then
while the AIS corpus flows at `rate` messages/s on a second connection. Loopback only; bounded in count
and time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
import orjson
import psycopg
import websockets
from pyais import encode_dict

from api.users import add_user
from bench.ais_corpus import ensure_corpus
from bench.ais_ingest import DEFAULT_SERVER_DSN, fresh_database
from seawatch.embedded import free_port
from tracking.migrate import migrate

PROBE_MMSI = 970_100_000
TARGET_P99_MS = 250.0


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    probes: int = 0
    background_sent: int = 0
    background_s: float = 0.0

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def sart_line(mmsi: int) -> bytes:
    fields = {
        "msg_type": 1,
        "mmsi": mmsi,
        "status": 14,
        "lon": 115.42,
        "lat": 22.62,
        "speed": 0.2,
        "course": 90.0,
        "heading": 511,
        "second": 30,
    }
    return "\n".join(encode_dict(fields, radio_channel="A", talker_id="AI")).encode() + b"\n"


class Probe:
    """Sends probes and matches the alerts that come back by MMSI."""

    def __init__(self) -> None:
        self.sent: dict[int, float] = {}
        self.arrived: dict[int, float] = {}
        self.next_mmsi = PROBE_MMSI

    async def listen(self, url: str) -> None:
        async with websockets.connect(url, max_size=2**24) as ws:
            await ws.send(json.dumps({"op": "subscribe", "streams": ["alerts"]}))
            async for raw in ws:
                message = json.loads(raw)
                alert = message.get("alert") or {}
                mmsi = (alert.get("vessel") or {}).get("mmsi")
                if (
                    message.get("stream") == "alerts"
                    and alert.get("kind") == "distress"
                    and mmsi in self.sent
                ):
                    self.arrived.setdefault(mmsi, time.perf_counter())

    async def run(self, writer: asyncio.StreamWriter, phase: Phase, count: int, interval_s: float) -> None:
        for _ in range(count):
            mmsi = self.next_mmsi
            self.next_mmsi += 1
            self.sent[mmsi] = time.perf_counter()
            writer.write(sart_line(mmsi))
            await writer.drain()
            phase.probes += 1
            await asyncio.sleep(interval_s)
        deadline = time.perf_counter() + 10
        mmsis = list(self.sent)[-count:]
        while time.perf_counter() < deadline and not all(m in self.arrived for m in mmsis):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        phase.latencies_ms = [(self.arrived[m] - self.sent[m]) * 1000 for m in mmsis if m in self.arrived]


async def background(
    writer: asyncio.StreamWriter, lines: list[bytes], rate: int, seconds: float, phase: Phase
) -> None:
    """The corpus at `rate` lines/s, in 10 ms slices, for `seconds`."""
    per_slice = max(1, rate // 100)
    start = time.perf_counter()
    index = 0
    while time.perf_counter() - start < seconds:
        chunk = lines[index : index + per_slice]
        index = (index + per_slice) % max(1, len(lines) - per_slice)
        writer.write(b"".join(chunk))
        await writer.drain()
        phase.background_sent += len(chunk)
        target = start + phase.background_sent / rate
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
    phase.background_s = time.perf_counter() - start


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def read_lines(corpus: Path) -> list[bytes]:
    return [line + b"\n" for line in corpus.read_bytes().splitlines() if line]


async def warm_up(http_port: int, feed_port: int, token: str, lines: list[bytes]) -> float:
    """Send the whole corpus once and wait until it is through: every vessel is then known, as a
    coastal system knows its fleet. Measuring a cold start would time provisional-vessel creation."""
    started = time.perf_counter()
    _, writer = await asyncio.open_connection("127.0.0.1", feed_port)
    writer.write(b"".join(lines))
    await writer.drain()
    writer.close()
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        while time.perf_counter() - started < 600:
            text = (await http.get(f"http://127.0.0.1:{http_port}/metrics")).text
            through = metric(text, 'seawatch_ingest_messages_total{feed="bench"}') >= len(lines)
            queues = metric(text, "seawatch_engine_queue_depth") + metric(text, "seawatch_ingest_queue_depth")
            if through and queues == 0:
                break
            await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def measure(
    http_port: int, feed_port: int, token: str, rate: int, probes: int, load_s: float, corpus: Path
) -> tuple[Phase, Phase]:
    lines = await asyncio.to_thread(read_lines, corpus)
    await warm_up(http_port, feed_port, token, lines)
    probe = Probe()
    listener = asyncio.create_task(probe.listen(f"ws://127.0.0.1:{http_port}/ws?token={token}"))
    await asyncio.sleep(1.0)
    _, probe_writer = await asyncio.open_connection("127.0.0.1", feed_port)
    idle = Phase("idle service (reference)")
    await probe.run(probe_writer, idle, probes, 0.2)
    loaded = Phase(f"while {rate:,} other messages/s flow")
    _, load_writer = await asyncio.open_connection("127.0.0.1", feed_port)
    flow = asyncio.create_task(background(load_writer, lines, rate, load_s, loaded))
    await asyncio.sleep(2.0)  # let the flow settle before probing
    await probe.run(probe_writer, loaded, probes, max(0.1, (load_s - 4) / probes))
    await flow
    listener.cancel()
    for writer in (probe_writer, load_writer):
        writer.close()
    return idle, loaded


def start_service(dsn: str, data_dir: str, http_port: int, feed_port: int) -> subprocess.Popen[bytes]:
    feeds = [{"name": "bench", "kind": "tcp_server", "address": f"127.0.0.1:{feed_port}"}]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")}
    env.update(
        SEAWATCH_DATABASE_URL=dsn,
        SEAWATCH_DATA_DIR=data_dir,
        SEAWATCH_HTTP__PORT=str(http_port),
        SEAWATCH_JT808__ENABLED="false",
        SEAWATCH_DEVICES__ENABLED="false",
        SEAWATCH_LOG_LEVEL="WARNING",
        SEAWATCH_MQTT__TOPIC_PREFIX=f"bench{http_port}",
        SEAWATCH_INGEST__FEEDS=orjson.dumps(feeds).decode(),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "seawatch", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_ready(http_port: int, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"seawatch run exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("seawatch run did not become ready")


async def make_token(dsn: str) -> str:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        _, token = await add_user(conn, "bench-dispatcher", "dispatcher")
    return token


def run(
    *,
    server_dsn: str | None = None,
    rate: int = 5000,
    probes: int = 40,
    load_s: float = 30.0,
    corpus_size: int = 200_000,
) -> tuple[Phase, Phase]:
    corpus = ensure_corpus(corpus_size)
    with fresh_database(
        server_dsn or os.environ.get("SEAWATCH_BENCH_DATABASE_URL", DEFAULT_SERVER_DSN)
    ) as dsn:
        migrate(dsn)
        token = asyncio.run(make_token(dsn))
        http_port, feed_port = free_port(), free_port()
        with TemporaryDirectory() as data_dir:
            proc = start_service(dsn, data_dir, http_port, feed_port)
            try:
                wait_ready(http_port, proc)
                return asyncio.run(measure(http_port, feed_port, token, rate, probes, load_s, corpus))
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)


def markdown(idle: Phase, loaded: Phase, rate: int) -> str:
    rows = []
    for phase in (idle, loaded):
        p50, p99 = phase.percentile(50), phase.percentile(99)
        flow = f"{phase.background_sent / phase.background_s:,.0f}/s" if phase.background_s else "—"
        rows.append(
            f"| {phase.name} | {len(phase.latencies_ms)}/{phase.probes} | "
            f"{'—' if p50 is None else f'{p50:.0f} ms'} | {'—' if p99 is None else f'{p99:.0f} ms'} | "
            f"{'—' if not phase.latencies_ms else f'{max(phase.latencies_ms):.0f} ms'} | {flow} |"
        )
    p99 = loaded.percentile(99)
    verdict = (
        "no probe came back under load"
        if p99 is None
        else f"p99 under load {p99:.0f} ms: target (< {TARGET_P99_MS:.0f} ms) "
        + ("met" if p99 < TARGET_P99_MS and len(loaded.latencies_ms) == loaded.probes else "missed")
    )
    mean = statistics.fmean(loaded.latencies_ms) if loaded.latencies_ms else 0.0
    return "\n".join(
        [
            "### Alert latency: AIS-SART in → distress alert on a websocket",
            "",
            "`seawatch run` on TimescaleDB and Mosquitto, once the corpus went through (every vessel known);",
            "one websocket client; probes 200 ms apart on the idle service, then spread over the load while",
            f"the corpus flows at a target of {rate:,} messages/s on another connection.",
            "",
            "| phase | alerts back / probes | p50 | p99 | max | background flow |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"{verdict}; mean under load {mean:.0f} ms.",
        ]
    )


if __name__ == "__main__":
    idle_phase, loaded_phase = run()
    print(markdown(idle_phase, loaded_phase, 5000))
