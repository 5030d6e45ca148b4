"""The FastAPI application: routes, error shape, console files. Thin: all work happens in services."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from xstatic.pkg import leaflet, leaflet_markercluster

from alerts.engine import AlertEngine
from alerts.hub import Hub
from alerts.store import AlertStore
from alerts.weather import WeatherService
from api.errors import install_error_handlers
from api.ratelimit import RateLimiter
from api.routes import alerts, console, health, me, metrics, users, vessels, voyages, weather, ws, zones
from api.vessel_events import PortCallRelay
from seawatch.bus import BusStatus
from seawatch.settings import Settings
from tracking.db import Pool


@dataclass
class ApiServices:
    """What the routes reach through `request.app.state.services`."""

    settings: Settings
    pool: Pool
    bus: BusStatus
    hub: Hub = field(default_factory=Hub)
    engine: AlertEngine | None = None  # in this process, when it runs the rules too
    weather: WeatherService | None = None

    port_call_interval_s: float = 5.0

    @cached_property
    def alerts(self) -> AlertStore:
        return AlertStore(self.pool)

    @cached_property
    def port_calls(self) -> PortCallRelay:
        return PortCallRelay(self.pool, self.hub, self.port_call_interval_s)


def console_dir() -> Path:
    return Path(str(resources.files("api") / "static"))


def create_app(services: ApiServices) -> FastAPI:
    app = FastAPI(
        title="seawatch",
        summary="Maritime safety monitoring for fishing fleets",
        version="0.1.0",
        docs_url=None,  # Swagger UI loads from a CDN, which an offline harbour office cannot reach
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(me.router)
    app.include_router(metrics.router)
    app.include_router(ws.router)
    app.include_router(alerts.router)
    app.include_router(weather.router)
    app.include_router(zones.router)
    app.include_router(users.router)
    app.include_router(console.router)
    app.include_router(vessels.router)
    app.include_router(voyages.router)
    limit = services.settings.http.login_per_minute
    app.state.rate_limits = {"login": RateLimiter(limit), "tokens": RateLimiter(limit)}
    # Leaflet straight from the xstatic packages: no CDN (harbour networks have no internet) and no
    # copy of it in this repository.
    app.mount("/static/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")
    app.mount(
        "/static/markercluster", StaticFiles(directory=leaflet_markercluster.BASE_DIR), name="markercluster"
    )
    # Last, so that it only answers paths no route claimed.
    app.mount("/", StaticFiles(directory=console_dir(), html=True), name="console")
    return app
