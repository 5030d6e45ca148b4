"""Which components a process runs, and running them under the supervisor until told to stop."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from api.app import ApiServices, create_app
from api.server import serve_http
from ingest.service import IngestService
from seawatch.bus import BusStatus, MqttAddress, run_presence
from seawatch.settings import Settings
from seawatch.supervisor import Component, Supervisor
from tracking.db import Pool, open_pool

log = logging.getLogger(__name__)

# The selections `seawatch run --only` accepts; each issue that adds a component kind adds its role here.
ROLES: tuple[str, ...] = ("api", "ingest")


class SettingsError(ValueError):
    """The settings do not allow the process to start (the message says which one to set)."""


def build_components(
    settings: Settings,
    pool: Pool,
    *,
    only: str | None = None,
    http_started: asyncio.Event | None = None,
) -> list[Component]:
    address = MqttAddress.parse(settings.mqtt_url)
    bus = BusStatus()
    node = f"{socket.gethostname()}-{only or 'all'}"
    components = [
        Component("presence", lambda: run_presence(address, settings.mqtt, bus, node), role="all"),
    ]
    if only in (None, "ingest"):
        components.extend(IngestService(settings, pool).components())
    app = create_app(ApiServices(settings=settings, pool=pool, bus=bus))
    components.append(
        Component(
            "api",
            lambda: serve_http(app, settings.http.host, settings.http.port, started=http_started),
            role="api",
        )
    )
    return [c for c in components if only is None or c.role in ("all", only)]


async def run_service(
    settings: Settings,
    stop: asyncio.Event,
    *,
    only: str | None = None,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Open shared resources, run the components until `stop` is set, then drain and close."""
    if settings.database_url is None:
        raise SettingsError("no database: set SEAWATCH_DATABASE_URL, `database_url` in the config, or --db")
    pool = await open_pool(settings.database_url, settings.database)
    try:
        http_started = asyncio.Event()
        supervisor = Supervisor(
            build_components(settings, pool, only=only, http_started=http_started), settings.supervisor
        )
        runner = asyncio.create_task(supervisor.run(stop))
        if on_started is not None and only in (None, "api"):
            waiter = asyncio.create_task(http_started.wait())
            await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if http_started.is_set():
                on_started()
        await runner
    finally:
        await pool.close()
