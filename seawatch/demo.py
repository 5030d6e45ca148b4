"""`seawatch demo`: the whole system on one machine with nothing set up.

Embedded PostgreSQL in the data directory unless --db is given; the MQTT broker at --mqtt-url, or the
default one if it answers, or an embedded broker; migrations; the Shanwei demo zones; an admin token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass

import psycopg

from api.users import add_user
from seawatch.bus import MqttAddress, broker_reachable
from seawatch.embedded import EmbeddedPostgres, embedded_broker
from seawatch.runtime import run_service
from seawatch.settings import Settings
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
    finally:
        if postgres is not None:
            await asyncio.to_thread(postgres.stop)
        sys.stdout.flush()
