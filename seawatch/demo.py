"""`seawatch demo`: the whole system on one machine with nothing set up.

Embedded PostgreSQL in the data directory unless --db is given; the MQTT broker at --mqtt-url, or the
default one if it answers, or an embedded broker; migrations; the Shanwei demo zones; an admin token.
Unless --no-simulator, the fleet simulator (`simulators.runner`) runs the chosen scenario (default
`demo`: 200+ vessels, an emergency in the first two minutes) against the demo's own ports once the
service is ready, as a supervised component, and keeps the fleet going after the scenario's timeline.
Its traffic is drill traffic: unless drill settings are given, the simulator's identity ranges are
marked drill. `--speed N` also scales the service's time-based rule settings (`simulators.clock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from api.users import add_user
from seawatch.bus import MqttAddress, broker_reachable
from seawatch.embedded import EmbeddedPostgres, embedded_broker
from seawatch.runtime import run_service
from seawatch.settings import DatabaseSettings, DrillSettings, Settings
from seawatch.supervisor import Component, Supervisor
from simulators.clock import time_scaled
from simulators.fleet import DRILL_MMSI_PREFIXES, TAG_PREFIX, TERMINAL_PREFIX
from simulators.geography import Geography
from simulators.prepare import prepare_database as prepare_drill_database
from simulators.runner import Runner, Targets
from simulators.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from simulators.simulation import Simulation
from tracking.db import open_pool
from tracking.migrate import migrate
from tracking.zones import load_demo_zones

log = logging.getLogger(__name__)

DEMO_DATABASE = "seawatch"
DEMO_ADMIN = "admin"


@dataclass(frozen=True)
class DemoOptions:
    mqtt_url_given: bool = False
    admin_token: str | None = None
    simulator: bool = True
    scenario: str | None = None
    speed: float = 1.0
    ais_port: int = 10110


async def prepare_database(dsn: str, admin_token: str | None) -> str:
    """Migrate, load the demo zones, and issue the admin token; returns the token."""
    report = await asyncio.to_thread(migrate, dsn)
    log.info("schema ready (%d migrations applied, timescaledb=%s)", len(report.applied), report.timescaledb)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        zones = await load_demo_zones(conn)
        log.info("loaded %d demo zones", len(zones))
        _, token = await add_user(conn, DEMO_ADMIN, "admin", token=admin_token)
    return token


async def run_demo(settings: Settings, options: DemoOptions, stop: asyncio.Event) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    postgres: EmbeddedPostgres | None = None
    dsn = settings.database_url
    if dsn is None:
        postgres = await asyncio.to_thread(EmbeddedPostgres, settings.data_dir / "postgres")
        dsn = await asyncio.to_thread(postgres.ensure_database, DEMO_DATABASE)
    try:
        token = await prepare_database(dsn, options.admin_token)
        async with contextlib.AsyncExitStack() as stack:
            address = MqttAddress.parse(settings.mqtt_url)
            if not await broker_reachable(address):
                if options.mqtt_url_given:
                    log.warning("MQTT broker %s does not answer; will keep trying", address.url())
                else:
                    address = await stack.enter_async_context(embedded_broker(address.host, address.port))
            settings = settings.model_copy(update={"database_url": dsn, "mqtt_url": address.url()})

            def announce() -> None:
                host = settings.http.host if settings.http.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
                print(f"seawatch demo is running at http://{host}:{settings.http.port}/", flush=True)
                print(f"admin token: {token}", flush=True)
                print(f"database: {dsn}   MQTT: {address.url()}   Ctrl-C stops", flush=True)

            if not options.simulator:
                log.info("--no-simulator: listening only")
                await run_service(settings, stop, on_started=announce)
                return
            drill = await prepare_drill(dsn, options)
            settings = time_scaled(settings, options.speed)
            if not any(settings.drill.model_dump().values()):
                settings.drill = DRILL_IDENTITIES
            ready = asyncio.Event()

            def started() -> None:
                announce()
                ready.set()

            # The simulator stops first, so that no terminal reconnects to a server that is going away.
            service_stop = asyncio.Event()
            simulator = asyncio.create_task(run_simulator(settings, options, drill, token, ready, stop))

            async def stop_in_order() -> None:
                await stop.wait()
                await asyncio.wait([simulator], timeout=SIMULATOR_STOP_S)
                service_stop.set()

            stopper = asyncio.create_task(stop_in_order())
            try:
                await run_service(settings, service_stop, on_started=started)
            finally:
                stop.set()
                await stopper
                await simulator
    finally:
        if postgres is not None:
            await asyncio.to_thread(postgres.stop)
        sys.stdout.flush()


SIMULATOR_STOP_S = 3.0

# The simulator's reserved identity ranges (`simulators.fleet`): its traffic is drill traffic.
DRILL_IDENTITIES = DrillSettings(
    mmsi_prefixes=list(DRILL_MMSI_PREFIXES), terminal_prefixes=[TERMINAL_PREFIX], tag_prefixes=[TAG_PREFIX]
)


@dataclass(frozen=True)
class DrillPlan:
    scenario: Scenario
    geography: Geography


async def prepare_drill(dsn: str, options: DemoOptions) -> DrillPlan:
    """Load the scenario, and store its zones and the fleet's registry before the service starts (the
    alert engine reads zones at start, and the registry makes a boat's AIS and terminal one vessel)."""
    scenario = load_scenario(options.scenario or DEFAULT_SCENARIO)
    geography = await asyncio.to_thread(Geography.shanwei)  # a second of grid work: not on the event loop
    simulation = Simulation(scenario, geography, start=datetime.now(UTC))
    pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=2))
    try:
        await prepare_drill_database(pool, simulation)
    finally:
        await pool.close()
    log.info("scenario %s: %d vessels in the drill fleet", scenario.name, len(simulation.fleet.vessels))
    return DrillPlan(scenario, geography)


async def run_simulator(
    settings: Settings,
    options: DemoOptions,
    plan: DrillPlan,
    token: str,
    ready: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    """Once the service answers, run the simulator against the demo's own ports until `stop`."""
    waiter = asyncio.create_task(ready.wait())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({waiter, stopping}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    stopping.cancel()
    if stop.is_set():
        return
    targets = Targets(
        ais=(f"tcp://127.0.0.1:{options.ais_port}",),
        jt808=f"127.0.0.1:{settings.jt808.port}" if settings.jt808.enabled else None,
        mqtt=settings.mqtt_url if settings.devices.enabled else None,
        topic_prefix=settings.mqtt.topic_prefix,
        api=f"http://127.0.0.1:{settings.http.port}",
        token=token,
    )

    # The supervisor halts only once the runner has closed its connections (or after SIMULATOR_STOP_S):
    # cancelled at the moment `stop` is set, it would leave them open for the service to tear down.
    halt = asyncio.Event()

    async def simulate() -> None:
        # Building the fleet plans routes (a second of grid work): off the event loop the service runs on.
        runner = await asyncio.to_thread(
            Runner, plan.scenario, targets, speed=options.speed, geography=plan.geography
        )
        try:
            await runner.run(math.inf, stop)
        finally:
            if stop.is_set():
                halt.set()
        await asyncio.Event().wait()  # stopped: wait to be cancelled rather than be restarted

    async def backstop() -> None:
        await stop.wait()
        await asyncio.sleep(SIMULATOR_STOP_S)
        halt.set()

    log.info("simulator: scenario %s at speed %g", plan.scenario.name, options.speed)
    guard = asyncio.create_task(backstop())
    try:
        await Supervisor([Component("simulator", simulate, role="demo")], settings.supervisor).run(halt)
    finally:
        guard.cancel()
