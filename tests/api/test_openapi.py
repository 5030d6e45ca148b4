"""Schemathesis against `/openapi.json`: every operation, generated requests, no server errors.

The real app, served by uvicorn in a thread with its own event loop and a real database (and the
rules' weather service, so that `/api/weather` is in play rather than answering 503), called over HTTP
with an admin's and a dispatcher's token: between them they reach past authorization on every route.
Bounded: a few dozen examples per operation and role.
"""

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from alerts.engine import AlertEngine
from alerts.model import Condition, VesselRef
from alerts.rules.registry import default_rules
from alerts.store import AlertStore
from alerts.weather import WeatherService
from api.app import ApiServices, create_app
from api.server import serve_http
from api.users import add_user
from seawatch.bus import BusStatus
from seawatch.embedded import free_port
from seawatch.settings import DatabaseSettings, Settings
from tests.conftest import MakeToken, create_database, drop_database
from tracking.db import Pool, open_pool
from tracking.migrate import migrate
from tracking.zones import load_demo_zones

MAX_EXAMPLES = 40


@dataclass
class Served:
    url: str
    tokens: dict[str, str]


def serve_in_thread(dsn: str) -> Iterator[Served]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: dict[str, Any] = {}
    found: dict[str, Any] = {}

    async def main() -> None:
        pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=8))
        try:
            tokens = {}
            async with pool.connection() as conn:
                await load_demo_zones(conn)
                for role in ("admin", "dispatcher"):
                    _, tokens[role] = await add_user(conn, f"schemathesis-{role}", role)
            # Enough logins for every generated call: the limit itself is tested elsewhere.
            app_settings = Settings(database_url=dsn, http={"login_per_minute": 1_000_000})
            ruleset = default_rules()
            engine = AlertEngine(pool, app_settings.rules, ruleset.rules)
            bus = BusStatus()
            bus.connected = True  # no broker in this test: /readyz is about the database here
            services = ApiServices(
                settings=app_settings,
                pool=pool,
                bus=bus,
                engine=engine,
                weather=WeatherService(pool, ruleset.weather),
            )
            port = free_port()
            started = asyncio.Event()
            server = asyncio.create_task(serve_http(create_app(services), "127.0.0.1", port, started=started))
            await started.wait()
            found["served"] = Served(f"http://127.0.0.1:{port}", tokens)
            stop["event"] = asyncio.Event()
            ready.set()
            await stop["event"].wait()
            server.cancel()
            await asyncio.gather(server, return_exceptions=True)
        finally:
            await pool.close()
            ready.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30) and "served" in found, "the app did not start"
    try:
        yield found["served"]
    finally:
        loop.call_soon_threadsafe(stop["event"].set)
        thread.join(15)
        loop.close()


@pytest.fixture(scope="module")
def served(postgres_server_dsn: str) -> Iterator[Served]:
    name, dsn = create_database(postgres_server_dsn)
    migrate(dsn)
    try:
        yield from serve_in_thread(dsn)
    finally:
        drop_database(postgres_server_dsn, name)


def operations() -> list[tuple[str, str]]:
    # The document as the app builds it; the same one /openapi.json serves (checked below).
    app = create_app(ApiServices(settings=Settings(), pool=cast(Pool, None), bus=BusStatus()))
    return [
        (op.method.upper(), op.path)
        for op in (r.ok() for r in openapi_schema(app.openapi()).get_all_operations())
    ]


def openapi_schema(document: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_dict(document)


OPERATIONS = operations()


def test_the_served_document_is_the_one_tested(served: Served) -> None:
    document = httpx.get(f"{served.url}/openapi.json").json()
    assert {(m, p) for m, p in OPERATIONS} == {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_generated_request_is_a_server_error(served: Served, method: str, path: str) -> None:
    operation = openapi_schema(httpx.get(f"{served.url}/openapi.json").json())[path][method]

    # Valid requests (they must reach the handlers and never crash them) and invalid ones (they must
    # come back as 4xx in the error shape).
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        for role, token in served.tokens.items():
            headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            response = case.call(base_url=served.url, headers=headers)
            where = f"{role}: {case.as_curl_command()}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
            if response.status_code >= 400:
                # Whatever the cause, the one error shape.
                assert set(response.json()["error"]) >= {"status", "code", "message"}, where

    check()


async def test_text_with_nul_in_an_alert_action_is_refused_not_a_crash(
    client: httpx.AsyncClient, make_token: MakeToken, pool: Pool
) -> None:
    # Generated ids rarely hit an existing alert, so this path gets a test of its own.
    condition = Condition(kind="distress", key="distress:vessel:1", severity="critical", title="Distress")
    alert = await AlertStore(pool).raise_condition(condition, VesselRef(None), datetime.now(UTC))
    headers = {"Authorization": f"Bearer {await make_token('dispatcher')}"}
    for action, body in (("note", {"note": "a\x00b"}), ("assign", {"assignee": "\x00"})):
        response = await client.post(f"/api/alerts/{alert.id}/{action}", json=body, headers=headers)
        assert response.status_code == 422, response.text
