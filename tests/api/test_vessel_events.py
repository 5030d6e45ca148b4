"""Port calls reach websocket clients of the `vessels` stream as arrivals and departures."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import websockets

from api.app import ApiServices, create_app
from api.server import serve_http
from seawatch.bus import BusStatus
from seawatch.embedded import free_port
from seawatch.settings import Settings
from tests.conftest import MakeToken
from tracking.db import Pool

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def ws_url(pool: Pool, database_url: str) -> AsyncIterator[str]:
    port = free_port()
    services = ApiServices(
        settings=Settings(database_url=database_url), pool=pool, bus=BusStatus(), port_call_interval_s=0.1
    )
    started = asyncio.Event()
    task = asyncio.create_task(serve_http(create_app(services), "127.0.0.1", port, started=started))
    await asyncio.wait_for(started.wait(), 10)
    yield f"ws://127.0.0.1:{port}/ws"
    await services.port_calls.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def receive(ws: Any, stream: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            message = json.loads(await ws.recv())
            if message["stream"] == stream:
                return message  # type: ignore[no-any-return]


async def test_arrivals_and_departures_are_announced(ws_url: str, pool: Pool, make_token: MakeToken) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute("INSERT INTO vessels (name) VALUES ('Yue Shanwei Yu 12345') RETURNING id")
        row = await cur.fetchone()
        assert row is not None
        vessel_id = int(row[0])
    async with websockets.connect(f"{ws_url}?token={await make_token('viewer')}") as ws:
        await ws.send(json.dumps({"op": "subscribe", "streams": ["vessels"]}))
        await receive(ws, "control")
        await receive(ws, "control")
        await asyncio.sleep(0.3)  # the relay has started and taken its starting point
        async with pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO port_calls"
                " (vessel_id, zone_id, zone_name, zone_kind, arrived_at, arrival_method)"
                " VALUES (%s, 'maguan-port', 'Maguan fishing port', 'harbour', %s, 'track') RETURNING id",
                (vessel_id, T0),
            )
            row = await cur.fetchone()
            assert row is not None
            call_id = int(row[0])
        arrival = await receive(ws, "vessels")
        assert arrival["type"] == "arrival"
        assert arrival["vessel"] == {"id": vessel_id, "name": "Yue Shanwei Yu 12345"}
        assert arrival["zone"]["id"] == "maguan-port"
        assert arrival["method"] == "track"
        async with pool.connection() as conn:
            await conn.execute(
                "UPDATE port_calls SET departed_at = %s, departure_method = 'gate' WHERE id = %s",
                (T0.replace(hour=12), call_id),
            )
        departure = await receive(ws, "vessels")
        assert (departure["type"], departure["method"], departure["port_call_id"]) == (
            "departure",
            "gate",
            call_id,
        )
        assert departure["ts"].startswith("2026-07-01T12:00")
