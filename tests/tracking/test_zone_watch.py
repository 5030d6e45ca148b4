"""Zone edits reach a running rules component without a restart: an API-only app and a rules component
with pools of their own share one real database; the zone write's NOTIFY makes the rules reload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from psycopg.types.json import Jsonb

from alerts.engine import AlertEngine
from alerts.model import Alert
from alerts.rules.geofence import GeofenceRule
from api.app import ApiServices, create_app
from seawatch.bus import BusStatus
from seawatch.settings import DatabaseSettings, RulesSettings, Settings
from tests.conftest import MakeToken
from tests.simulators.support import eventually
from tests.tracking.records import T0, ais_position
from tracking.db import Pool, open_pool
from tracking.zone_watch import ZoneWatcher
from tracking.zones import ZoneIndex, upsert_zone

BOX: dict[str, Any] = {
    "type": "Feature",
    "properties": {"id": "live-box", "name": "Live box", "kind": "prohibited"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[115.0, 22.0], [115.1, 22.0], [115.1, 22.1], [115.0, 22.1], [115.0, 22.0]]],
    },
}
LON, LAT = 115.05, 22.05  # inside BOX


class Alerts:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def publish_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def publish_position(self, vessel_id: int, delta: dict[str, Any]) -> None:
        pass


class Rules:
    """The rules process: its own pool, the alert engine with the geofence rule, and the watcher."""

    def __init__(self, pool: Pool, database_url: str, recheck_s: float) -> None:
        self.seen = Alerts()
        self.engine = AlertEngine(
            pool, RulesSettings(), [GeofenceRule()], deliver=[self.seen], positions=[self.seen]
        )
        self.watcher = ZoneWatcher(database_url, pool, [self.use], recheck_s=recheck_s)

    def use(self, index: ZoneIndex) -> None:
        self.engine.zones = index


@pytest.fixture
async def rules_pool(database_url: str) -> AsyncIterator[Pool]:
    pool = await open_pool(database_url, DatabaseSettings(pool_min=1, pool_max=2), name="rules")
    yield pool
    await pool.close()


@asynccontextmanager
async def running(rules: Rules) -> AsyncIterator[None]:
    """The rules component loaded and its watcher listening, for the body of the `async with`."""
    await rules.engine.load()
    task = asyncio.create_task(rules.watcher.run())
    try:
        async with asyncio.timeout(30):
            await rules.watcher.listening.wait()
            await eventually(lambda: rules.watcher.reloads == 1, "zones loaded on connecting")
            yield
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=10)


async def test_a_zone_posted_to_an_api_only_process_is_used_by_the_running_rules(
    pool: Pool, rules_pool: Pool, database_url: str, make_token: MakeToken
) -> None:
    # The API side as `seawatch run --only api` builds it: no alert engine of its own.
    app = create_app(ApiServices(settings=Settings(database_url=database_url), pool=pool, bus=BusStatus()))
    rules = Rules(rules_pool, database_url, recheck_s=3600.0)  # only a notification can do it in time
    async with running(rules):
        await rules.engine.process(ais_position(lon=LON, lat=LAT))
        assert rules.seen.alerts == []  # no such zone yet
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://seawatch.test") as http:
            token = await make_token("admin")
            created = await http.post("/api/zones", json=BOX, headers={"Authorization": f"Bearer {token}"})
        assert created.status_code == 201, created.text
        await eventually(lambda: rules.engine.zones.get("live-box") is not None, "the new zone loaded")
        later = T0 + timedelta(seconds=10)
        await rules.engine.process(ais_position(lon=LON + 0.001, lat=LAT, ts=later))
    assert [(a.kind, a.details.get("zone_id"), a.state) for a in rules.seen.alerts] == [
        ("geofence", "live-box", "open")
    ]
    assert rules.watcher.reloads == 2


async def test_a_write_without_notification_is_caught_by_the_periodic_recheck(
    pool: Pool, rules_pool: Pool, database_url: str
) -> None:
    rules = Rules(rules_pool, database_url, recheck_s=0.2)
    async with running(rules):
        async with pool.connection() as conn:
            # As psql would: no NOTIFY.
            await conn.execute(
                "INSERT INTO zones (id, name, kind, geometry, properties)"
                " VALUES ('quiet-box', 'Quiet box', 'prohibited', %s, '{}')",
                (Jsonb(BOX["geometry"]),),
            )
        await eventually(lambda: rules.engine.zones.get("quiet-box") is not None, "the zone loaded")


async def test_after_a_lost_connection_the_watcher_listens_again_and_reloads(
    pool: Pool, rules_pool: Pool, database_url: str
) -> None:
    rules = Rules(rules_pool, database_url, recheck_s=3600.0)
    async with running(rules):
        rules.watcher.listening.clear()
        async with pool.connection() as conn:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'seawatch-zone-watch' AND datname = current_database()"
            )
            await upsert_zone(conn, BOX)  # while the watcher is away: its notification is lost
        await asyncio.wait_for(rules.watcher.listening.wait(), 20)
        await eventually(lambda: rules.engine.zones.get("live-box") is not None, "reloaded on reconnect")
