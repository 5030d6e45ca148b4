"""The real service (`seawatch run` in a subprocess) set up for a drill, and a simulator driving it.

The service gets the drill settings (the simulator's identity ranges), the rule settings scaled for the
run's speed (`simulators.clock.time_scaled_env`), its own MQTT client id and topic prefix, and a
database holding the demo zones, the scenario's own zones, the drill fleet's registry and an operator
token. `run_until_expected` keeps the simulated fleet going until the scenario's duration has passed
and its expected alert kinds are all there (or a deadline): stopping the fleet earlier would make the
whole fleet go silent at once, which is a lost contact of its own.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from api.users import add_user
from ingest.device_feed import DeviceFeed
from seawatch.bus import MqttAddress
from seawatch.embedded import free_port
from seawatch.settings import DatabaseSettings, DevicesSettings, IngestSettings, MqttSettings
from simulators.clock import time_scaled_env
from simulators.fleet import DRILL_MMSI_PREFIXES, TAG_PREFIX, TERMINAL_PREFIX, FleetSpec
from simulators.geography import Geography
from simulators.prepare import prepare_database
from simulators.runner import RunLog, Runner, Targets
from simulators.scenario import Scenario
from simulators.simulation import Simulation
from tests.seawatch.helpers import seawatch_env, start_seawatch, stop, wait_ready
from tests.sinks import DurableSink
from tracking.db import open_pool
from tracking.zones import load_demo_zones

NO_BACKGROUND = FleetSpec()


@dataclass
class DrillService:
    http: int
    ais: int
    jt808: int
    mqtt_url: str
    prefix: str
    token: str  # an operator: may post CAP warnings and acknowledge alerts
    proc: subprocess.Popen[bytes] | None = None
    webhook_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    def targets(self) -> Targets:
        return Targets(
            ais=(f"tcp://127.0.0.1:{self.ais}",),
            jt808=f"127.0.0.1:{self.jt808}",
            mqtt=self.mqtt_url,
            topic_prefix=self.prefix,
            api=self.api,
            token=self.token,
        )

    def alerts(self, **params: Any) -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{self.api}/api/alerts",
            params={"limit": 1000, **params},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        answer.raise_for_status()
        alerts: list[dict[str, Any]] = answer.json()["alerts"]
        return alerts

    async def alerts_async(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(
                f"{self.api}/api/alerts",
                params={"limit": 1000},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        answer.raise_for_status()
        alerts: list[dict[str, Any]] = answer.json()["alerts"]
        return alerts


async def prepare(dsn: str, scenario: Scenario, fleet: FleetSpec) -> str:
    """Demo zones, the scenario's zones, the drill fleet registry; returns an operator's token."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await load_demo_zones(conn)
        _, token = await add_user(conn, "drill-operator", "operator")
    pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=2))
    try:
        simulation = Simulation(scenario, Geography.shanwei(), start=datetime.now(UTC), fleet=fleet)
        await prepare_database(pool, simulation)
    finally:
        await pool.close()
    return token


@asynccontextmanager
async def drill_service(
    database_url: str,
    mqtt_url: str,
    tmp_path: Path,
    scenario: Scenario,
    *,
    speed: float,
    fleet: FleetSpec = NO_BACKGROUND,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[DrillService]:
    token = await prepare(database_url, scenario, fleet)
    http, ais, jt808 = free_port(), free_port(), free_port()
    service = DrillService(http, ais, jt808, mqtt_url, f"drill{http}", token)
    env = seawatch_env(
        SEAWATCH_DATABASE_URL=database_url,
        SEAWATCH_MQTT_URL=mqtt_url,
        SEAWATCH_DATA_DIR=str(tmp_path),
        SEAWATCH_HTTP__PORT=str(http),
        SEAWATCH_JT808__HOST="127.0.0.1",
        SEAWATCH_JT808__PORT=str(jt808),
        SEAWATCH_MQTT__TOPIC_PREFIX=service.prefix,
        # Client ids are per broker: other processes on a shared broker must not take ours over.
        SEAWATCH_MQTT__CLIENT_ID=f"drill-test-{http}",
        SEAWATCH_INGEST__FEEDS=orjson.dumps(
            [{"name": "ais", "kind": "tcp_server", "address": f"127.0.0.1:{ais}"}]
        ).decode(),
        SEAWATCH_DRILL__MMSI_PREFIXES=json.dumps(list(DRILL_MMSI_PREFIXES)),
        SEAWATCH_DRILL__TERMINAL_PREFIXES=json.dumps([TERMINAL_PREFIX]),
        SEAWATCH_DRILL__TAG_PREFIXES=json.dumps([TAG_PREFIX]),
        **time_scaled_env(speed),
        **(extra_env or {}),
    )
    proc = service.proc = start_seawatch("run", env=env)
    try:
        await asyncio.to_thread(wait_ready, service.api, proc)
        yield service
    finally:
        status, _, _, err = await asyncio.to_thread(stop, proc, signal.SIGTERM)
        assert status == 0, err[-3000:]


async def run_until_expected(
    service: DrillService,
    scenario: Scenario,
    *,
    speed: float,
    fleet: FleetSpec = NO_BACKGROUND,
    grace_s: float = 20.0,
) -> tuple[RunLog, list[dict[str, Any]]]:
    """Run the scenario at `speed` until its duration has passed and every expected alert kind is
    there, or `grace_s` after that; returns the run log and the alerts as they stood then."""
    runner = Runner(scenario, service.targets(), speed=speed, fleet=fleet)
    halt = asyncio.Event()
    task = asyncio.create_task(runner.run(math.inf, halt))
    wanted = scenario.expected_kinds()
    deadline = time.monotonic() + scenario.duration / speed + grace_s
    alerts: list[dict[str, Any]] = []
    try:
        while time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.5)
            alerts = await service.alerts_async()
            finished = runner.clock.sim_now() >= scenario.duration
            if finished and wanted <= {a["kind"] for a in alerts}:
                break
    finally:
        halt.set()
        log = await asyncio.wait_for(task, 30)
    return log, alerts


async def eventually(condition: Callable[[], bool], what: str, within_s: float = 10.0) -> None:
    """Wait until `condition()` holds, polling; fail saying `what` was awaited if it never does."""
    for _ in range(int(within_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within_s} s: {what}")


@asynccontextmanager
async def device_feed_running(address: MqttAddress, topic_prefix: str) -> AsyncIterator[DurableSink]:
    """The real device feed subscribed on `topic_prefix`, its records collected; a 20 s limit inside."""
    settings = MqttSettings(topic_prefix=topic_prefix, client_id=f"feed-{topic_prefix[-12:]}")
    sink = DurableSink()
    feed = DeviceFeed(address, sink, devices=DevicesSettings(), ingest=IngestSettings(), mqtt=settings)
    task = asyncio.create_task(feed.run())
    try:
        async with asyncio.timeout(20):
            await asyncio.sleep(1.0)  # subscribed
            yield sink
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=10)
