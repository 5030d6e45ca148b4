"""`/ws` over a real socket: auth, origin, replay with since_seq, live alerts, positions."""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from alerts.hub import Hub
from alerts.model import Condition, VesselRef
from alerts.store import AlertStore
from api.app import ApiServices, create_app
from api.server import serve_http
from seawatch.bus import BusStatus
from seawatch.embedded import free_port
from seawatch.settings import Settings
from tests.conftest import MakeToken
from tracking.db import Pool

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


@dataclass
class Server:
    url: str
    hub: Hub
    store: AlertStore

    async def raise_alert(self, n: int) -> int:
        condition = Condition(
            kind="distress", key=f"distress:vessel:{n}", severity="critical", title=f"Distress {n}"
        )
        alert = await self.store.raise_condition(condition, VesselRef(None), T0)
        self.hub.publish_alert(alert)
        return alert.seq


@pytest.fixture
async def server(pool: Pool, database_url: str) -> AsyncIterator[Server]:
    port = free_port()
    services = ApiServices(settings=Settings(database_url=database_url), pool=pool, bus=BusStatus())
    started = asyncio.Event()
    task = asyncio.create_task(serve_http(create_app(services), "127.0.0.1", port, started=started))
    await asyncio.wait_for(started.wait(), 10)
    yield Server(f"ws://127.0.0.1:{port}/ws", services.hub, services.alerts)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def receive(ws: Any, stream: str | None = None) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            message = json.loads(await ws.recv())
            if stream is None or message["stream"] == stream:
                return message  # type: ignore[no-any-return]


async def test_token_in_the_url_then_replay_then_live(server: Server, make_token: MakeToken) -> None:
    seqs = [await server.raise_alert(n) for n in range(3)]
    token = await make_token("viewer")
    async with websockets.connect(f"{server.url}?token={token}") as ws:
        welcome = await receive(ws)
        assert (welcome["type"], welcome["role"]) == ("welcome", "viewer")
        await ws.send(json.dumps({"op": "subscribe", "streams": ["alerts"], "since_seq": seqs[0]}))
        replayed = [await receive(ws, "alerts") for _ in range(2)]
        assert [m["seq"] for m in replayed] == seqs[1:]
        control = await receive(ws, "control")
        assert (control["type"], control["replayed"], control["last_seq"]) == ("subscribed", 2, seqs[2])
        live_seq = await server.raise_alert(9)
        live = await receive(ws, "alerts")
        assert live["seq"] == live_seq
        assert live["alert"]["title"] == "Distress 9" and live["alert"]["severity"] == "critical"


async def test_a_reconnect_with_since_seq_gets_every_missed_alert_in_order(
    server: Server, make_token: MakeToken
) -> None:
    token = await make_token("operator")
    async with websockets.connect(server.url) as ws:
        await ws.send(json.dumps({"op": "auth", "token": token}))
        await receive(ws)
        await ws.send(json.dumps({"op": "subscribe", "streams": ["alerts"], "since_seq": 0}))
        await receive(ws, "control")
        first = await server.raise_alert(1)
        assert (await receive(ws, "alerts"))["seq"] == first
    missed = [await server.raise_alert(n) for n in range(2, 6)]  # while disconnected
    async with websockets.connect(f"{server.url}?token={token}") as ws:
        await receive(ws)
        await ws.send(json.dumps({"op": "subscribe", "streams": ["alerts"], "since_seq": first}))
        got = [(await receive(ws, "alerts"))["seq"] for _ in missed]
    assert got == missed


async def test_no_or_bad_token_is_refused(server: Server) -> None:
    # A token on the URL is checked before the handshake completes: the upgrade itself is refused.
    with pytest.raises(InvalidStatus) as bad_url:
        async with websockets.connect(f"{server.url}?token=wrong-token-xxxxxxxx"):
            pass
    assert bad_url.value.response.status_code == 403
    async with websockets.connect(server.url) as ws:
        await ws.send(json.dumps({"op": "subscribe"}))  # not an auth message
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_page_from_another_origin_is_refused(server: Server, make_token: MakeToken) -> None:
    token = await make_token("viewer")
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(f"{server.url}?token={token}", origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    host = server.url.split("/")[2]
    async with websockets.connect(f"{server.url}?token={token}", origin=f"http://{host}") as ws:  # type: ignore[arg-type]
        assert (await receive(ws))["type"] == "welcome"


async def test_positions_inside_the_bbox_arrive_coalesced(server: Server, make_token: MakeToken) -> None:
    token = await make_token("viewer")
    async with websockets.connect(f"{server.url}?token={token}") as ws:
        await receive(ws)
        await ws.send(json.dumps({"op": "subscribe", "streams": ["positions"], "bbox": [115, 22, 116, 23]}))
        await receive(ws, "control")
        server.hub.publish_position(7, {"vessel_id": 7, "lon": 130.0, "lat": 10.0})
        server.hub.publish_position(8, {"vessel_id": 8, "lon": 115.5, "lat": 22.5})
        message = await receive(ws, "positions")
        assert message["vessels"] == [{"vessel_id": 8, "lon": 115.5, "lat": 22.5}]


async def test_a_malformed_subscribe_is_answered_not_fatal(server: Server, make_token: MakeToken) -> None:
    token = await make_token("viewer")
    async with websockets.connect(f"{server.url}?token={token}") as ws:
        await receive(ws)
        await ws.send(json.dumps({"op": "subscribe", "since_seq": -4}))
        assert (await receive(ws, "control"))["type"] == "error"
        await ws.send(json.dumps({"op": "subscribe", "streams": ["alerts"]}))
        assert (await receive(ws, "control"))["type"] == "subscribed"
