"""Which components a process runs, and running them under the supervisor until told to stop.

`seawatch run` (everything in one process) wires ingest, the alert engine, delivery and the API
together in memory: a record reaches the rules without a network hop. Apart, there are three roles
(`ROLES`, the README's table lists their components): `--only ingest` reads the feeds, stores, checks
identities and publishes every record on the record bus (`seawatch.record_bus`); `--only rules` takes
them from it into the alert engine and runs delivery, tracking, the zone watch and the weather inputs;
`--only api` serves HTTP and the websocket, taking live alerts from the MQTT alert topics.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from alerts.cap_inputs import cap_from_mqtt, watch_inbox
from alerts.delivery import MqttAlertPublisher, WebhookSender
from alerts.engine import AlertEngine, Deliverer
from alerts.hub import Hub
from alerts.rules.distress import signals
from alerts.rules.registry import default_rules
from alerts.weather import WeatherService
from api.alert_relay import relay_alerts
from api.app import ApiServices, create_app
from api.server import serve_http
from ingest.service import IngestService
from seawatch.bus import BusStatus, MqttAddress, run_presence
from seawatch.heap import freeze_startup_objects, thaw
from seawatch.record_bus import RecordBusPublisher, take_records
from seawatch.settings import Settings
from seawatch.supervisor import Component, Supervisor
from tracking.db import Pool, open_pool
from tracking.identity import IdentityRegistry
from tracking.service import tracking_components
from tracking.zone_watch import ZoneWatcher
from tracking.zones import ZoneIndex

log = logging.getLogger(__name__)

# The selections `seawatch run --only` accepts.
ROLES: tuple[str, ...] = ("api", "ingest", "rules")


class SettingsError(ValueError):
    """The settings do not allow the process to start (the message says which one to set)."""


def build_components(
    settings: Settings,
    pool: Pool,
    *,
    only: str | None = None,
    http_started: asyncio.Event | None = None,
) -> list[Component]:
    """The components of `seawatch run` (`only` None: all of them, records handed over in memory) or of
    one role; each carries its role."""
    if only is not None and only not in ROLES:
        raise ValueError(f"unknown role {only!r}; roles are: {', '.join(ROLES)}")
    address = MqttAddress.parse(settings.mqtt_url)
    bus = BusStatus()
    # The process id too: two processes of one role on one host are two nodes.
    node = f"{socket.gethostname()}-{os.getpid()}-{only or 'all'}"
    hub = Hub()
    components = [Component("presence", lambda: run_presence(address, settings.mqtt, bus, node), role="all")]
    # One identity registry (and cache) for the store, the anomaly detector and the rules: a new
    # vessel is looked up once, not three times.
    registry = IdentityRegistry(pool)

    rules = (
        build_rules(settings, pool, address, registry, hub if only is None else None)
        if only in (None, "rules")
        else None
    )
    if only in (None, "ingest"):
        if rules is not None:
            # Everything in one process: the engine takes each record straight from ingest, no bus.
            observe = rules.engine.submit
        else:
            publisher = RecordBusPublisher(
                address, settings.mqtt, settings.record_bus, urgent=distress_signals
            )
            observe = publisher.publish
            components.append(Component("records-out", publisher.run, role="ingest"))
        components.extend(IngestService(settings, pool, observe=observe, registry=registry).components())
    if rules is not None:
        if only == "rules":
            engine = rules.engine
            components.append(
                Component(
                    "records-in",
                    lambda: take_records(address, settings.mqtt, settings.ingest, engine.submit),
                    role="rules",
                )
            )
        components.extend(rules.components)
    if only == "api":
        components.append(
            Component("alerts-relay", lambda: relay_alerts(address, settings.mqtt, hub, node), role="api")
        )
    if only in (None, "api"):
        app = create_app(
            ApiServices(
                settings=settings,
                pool=pool,
                bus=bus,
                hub=hub,
                engine=rules.engine if rules else None,
                weather=rules.weather if rules else None,
            )
        )
        components.append(
            Component(
                "api",
                lambda: serve_http(app, settings.http.host, settings.http.port, started=http_started),
                role="api",
            )
        )
    return components


@dataclass
class Rules:
    engine: AlertEngine
    weather: WeatherService
    components: list[Component]


def build_rules(
    settings: Settings, pool: Pool, address: MqttAddress, registry: IdentityRegistry, hub: Hub | None
) -> Rules:
    """The alert engine and what serves it: delivery, tracking, zone watch, weather inputs (role
    `rules`). `hub`: the websocket hub of an API in this process, if there is one."""
    ruleset = default_rules()
    mqtt_out = (
        MqttAlertPublisher(address, settings.mqtt, settings.delivery) if settings.delivery.mqtt else None
    )
    webhooks = [WebhookSender(target, settings.delivery) for target in settings.delivery.webhooks]
    deliver: list[Deliverer] = [*([hub] if hub else []), *([mqtt_out] if mqtt_out else []), *webhooks]
    engine = AlertEngine(
        pool,
        settings.rules,
        ruleset.rules,
        deliver=deliver,
        positions=[hub] if hub else [],
        urgent=distress_signals,
        registry=registry,
    )
    weather = WeatherService(pool, ruleset.weather)
    components = tracking_components(settings, pool)
    components.append(Component("rules", rules_runner(engine, weather), role="rules"))
    components += zone_watch(settings, pool, engine)
    if mqtt_out is not None:
        components.append(Component("alerts-mqtt", mqtt_out.run, role="rules"))
    components += weather_inputs(settings, address, weather)
    components += [Component(f"webhook:{w.target.url}", w.run, role="rules") for w in webhooks]
    return Rules(engine, weather, components)


def distress_signals(record: dict[str, object]) -> bool:
    return bool(signals(record))


def zone_watch(settings: Settings, pool: Pool, engine: AlertEngine) -> list[Component]:
    """Zone edits from any process (API, `simulate --prepare`) reach the running rules."""
    if settings.database_url is None:
        return []

    def use(index: ZoneIndex) -> None:
        engine.zones = index

    watcher = ZoneWatcher(settings.database_url, pool, [use])
    return [Component("zones-watch", watcher.run, role="rules")]


def weather_inputs(settings: Settings, address: MqttAddress, weather: WeatherService) -> list[Component]:
    inbox = settings.weather.inbox_dir or settings.data_dir / "cap-inbox"
    components = [Component("weather-inbox", lambda: watch_inbox(inbox, weather), role="rules")]
    if settings.weather.mqtt:
        components.append(
            Component(
                "weather-mqtt",
                lambda: cap_from_mqtt(address, settings.mqtt, settings.ingest, weather),
                role="rules",
            )
        )
    return components


def rules_runner(engine: AlertEngine, weather: WeatherService) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        count = await weather.load()
        log.info("weather: %d stored CAP documents replayed", count)
        await engine.run()

    return run


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
        # Everything is imported and built: keep it out of the collector's full passes (seawatch/heap.py).
        frozen = freeze_startup_objects()
        log.debug("%d start-up objects frozen out of garbage collection", frozen)
        runner = asyncio.create_task(supervisor.run(stop))
        if on_started is not None and only in (None, "api"):
            waiter = asyncio.create_task(http_started.wait())
            await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if http_started.is_set():
                on_started()
        await runner
    finally:
        thaw()
        await pool.close()
