"""The console in Debian's Chromium, driven by Playwright, against the real app served by uvicorn.

Chromium is the distribution's (`apt-get install chromium`), never a browser Playwright downloads.
Without /usr/bin/chromium these tests skip on a developer machine and fail under CI=true (`.ci/run`
installs it).
"""

import asyncio
import math
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from alerts.engine import AlertEngine
from alerts.hub import Hub
from alerts.model import Condition, Position, VesselRef
from alerts.rules.registry import default_rules
from alerts.store import AlertStore
from alerts.weather import WeatherService
from api.app import ApiServices, create_app
from api.server import serve_http
from seawatch.bus import BusStatus
from seawatch.embedded import free_port
from seawatch.settings import Settings
from tests.conftest import IN_CI, MakeToken
from tracking.db import Pool
from tracking.zones import load_demo_zones

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
ARTIFACTS = Path(os.environ.get("SEAWATCH_SCREENSHOTS", "/tmp/seawatch-console"))


@dataclass
class Console:
    url: str
    hub: Hub
    store: AlertStore
    services: ApiServices
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def add_vessel(self, name: str) -> int:
        async with self.services.pool.connection() as conn:
            cur = await conn.execute("INSERT INTO vessels (name) VALUES (%s) RETURNING id", (name,))
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def raise_distress(
        self, vessel_id: int, name: str, lon: float, lat: float, *, drill: bool = False
    ) -> int:
        condition = Condition(
            kind="distress",
            key=f"distress:vessel:{vessel_id}",
            severity="critical",
            title=f"Distress: {name} pressed the emergency button",
            position=Position(lon, lat),
            drill=drill,
        )
        alert = await self.store.raise_condition(
            condition, VesselRef(vessel_id, "412345678", name), datetime.now(UTC)
        )
        self.hub.publish_alert(alert)
        return alert.id

    def move(
        self, vessel_id: int, name: str, lon: float, lat: float, course: float, speed: float, **extra: Any
    ) -> None:
        self.hub.publish_position(
            vessel_id,
            {
                "vessel_id": vessel_id,
                "mmsi": 412000000 + vessel_id,
                "name": name,
                "lon": lon,
                "lat": lat,
                "speed": speed,
                "course": course,
                "heading": course,
                "status": "under_way",
                "source": "ais",
                "ts": datetime.now(UTC).isoformat(),
                "drill": False,
                **extra,
            },
        )

    def sail(self, vessel_id: int, name: str, lon: float, lat: float, course: float, speed_kn: float) -> None:
        """Keep the vessel moving: a position every 200 ms, as if at 300× real speed."""

        async def run() -> None:
            x, y = lon, lat
            while True:
                self.move(vessel_id, name, x, y, course, speed_kn)
                step_deg = speed_kn * 1852 / 111_320 / 3600 * 60  # one minute of sailing per report
                x += step_deg * math.sin(math.radians(course)) / math.cos(math.radians(y))
                y += step_deg * math.cos(math.radians(course))
                await asyncio.sleep(0.2)

        self.tasks.append(asyncio.create_task(run()))


@pytest.fixture
async def console(pool: Pool, database_url: str) -> AsyncIterator[Console]:
    port = free_port()
    settings = Settings(database_url=database_url)
    hub = Hub()
    ruleset = default_rules()
    # The rules' engine and weather service are here (not run: no ingest) so the weather panel and the
    # return-to-port board work as in `seawatch run`.
    services = ApiServices(
        settings=settings,
        pool=pool,
        bus=BusStatus(),
        hub=hub,
        engine=AlertEngine(pool, settings.rules, ruleset.rules, deliver=[hub]),
        weather=WeatherService(pool, ruleset.weather),
        port_call_interval_s=0.2,
    )
    async with pool.connection() as conn:
        await load_demo_zones(conn)
    started = asyncio.Event()
    server = asyncio.create_task(serve_http(create_app(services), "127.0.0.1", port, started=started))
    await asyncio.wait_for(started.wait(), 10)
    console = Console(f"http://127.0.0.1:{port}", services.hub, services.alerts, services)
    yield console
    await services.port_calls.stop()
    for task in [*console.tasks, server]:
        task.cancel()
    await asyncio.gather(*console.tasks, server, return_exceptions=True)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message + "; CI=true: .ci/run must install it")
        pytest.skip(message)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        await launched.close()


async def open_console(browser: Browser, console: Console, token: str, *, lang: str = "en") -> Page:
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale=lang)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.seawatch_errors = errors  # type: ignore[attr-defined]
    await page.goto(console.url + "/")
    await page.fill("#login-token", token)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("body[data-ready=true]", timeout=15000)
    await page.wait_for_selector("#conn[data-status=live]", timeout=15000)
    return page


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


__all__ = ["Console", "MakeToken", "open_console", "screenshot_path"]
