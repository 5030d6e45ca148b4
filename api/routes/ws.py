"""`/ws`: the one websocket. Alerts with `seq` (replayed from `since_seq`), positions coalesced per vessel.

    client → {"op": "auth", "token": "…"}                  (or ?token=… on the URL)
    server → {"stream": "control", "type": "welcome", "user": "…", "role": "…"}
    client → {"op": "subscribe", "streams": ["alerts", "positions"], "bbox": [lon1, lat1, lon2, lat2],
              "since_seq": 1234}
    server → {"stream": "control", "type": "subscribed", "streams": [...], "replayed": 3, "last_seq": 1237}
    server → {"stream": "alerts", "seq": 1235, "alert": {...}}       (replay first, in order, then live)
    server → {"stream": "positions", "vessels": [{"vessel_id": 42, "lon": …, …}, …]}
    server → {"stream": "vessels", "type": "arrival" | "departure", "vessel": {…}, "zone": {…}, "ts": …}
              (port calls, when "vessels" is among the streams; see api/vessel_events.py)

A token on the URL is checked before the connection is accepted; a first-message token within
`AUTH_TIMEOUT_S`. Pages from other origins than the server's own (or `http.allowed_origins`) are
refused. A client too slow for the alert stream is closed with code 4008: it reconnects with the last
`seq` it saw and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, ValidationError

from alerts.engine import position_delta
from alerts.hub import BBox, Subscriber
from api.users import User, user_for_token

if TYPE_CHECKING:
    from api.app import ApiServices

log = logging.getLogger(__name__)
router = APIRouter()

AUTH_TIMEOUT_S = 10.0
MAX_CLIENT_MESSAGE = 4096
REPLAY_PAGE = 1000
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_TOO_SLOW = 4008


class Subscribe(BaseModel):
    op: str = Field(pattern="^subscribe$")
    streams: list[str] = Field(default_factory=lambda: ["alerts", "positions"], max_length=4)
    bbox: tuple[float, float, float, float] | None = None
    since_seq: int | None = Field(None, ge=0)


def origin_allowed(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: no cross-site page can be behind it
    allowed = websocket.app.state.services.settings.http.allowed_origins
    host = websocket.headers.get("host", "")
    return origin in allowed or urlsplit(origin).netloc == host


async def send_json(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(orjson.dumps(message, default=str).decode())


async def receive_json(websocket: WebSocket) -> dict[str, Any]:
    text = await websocket.receive_text()
    if len(text) > MAX_CLIENT_MESSAGE:
        raise ValueError("message too large")
    value = orjson.loads(text)
    if not isinstance(value, dict):
        raise ValueError("messages are JSON objects")
    return value


async def user_from_token(websocket: WebSocket, token: str) -> User | None:
    async with websocket.app.state.services.pool.connection() as conn:
        return await user_for_token(conn, token)


@router.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    if not origin_allowed(websocket):
        await websocket.close(CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        return
    token = websocket.query_params.get("token")
    user = await user_from_token(websocket, token) if token else None
    if token and user is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "the token is not valid")
        return
    await websocket.accept()
    try:
        if user is None:
            user = await first_message_auth(websocket)
            if user is None:
                return
        await send_json(
            websocket, {"stream": "control", "type": "welcome", "user": user.name, "role": user.role}
        )
        await serve(websocket)
    except (WebSocketDisconnect, ConnectionError):
        pass


async def first_message_auth(websocket: WebSocket) -> User | None:
    try:
        async with asyncio.timeout(AUTH_TIMEOUT_S):
            message = await receive_json(websocket)
    except (TimeoutError, ValueError):
        await websocket.close(CLOSE_UNAUTHORIZED, 'authenticate first: {"op": "auth", "token": …}')
        return None
    token = message.get("token") if message.get("op") == "auth" else None
    user = await user_from_token(websocket, token) if isinstance(token, str) and token else None
    if user is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "the token is not valid")
    return user


async def serve(websocket: WebSocket) -> None:
    services: ApiServices = websocket.app.state.services
    subscriber: Subscriber | None = None
    sender: asyncio.Task[None] | None = None
    try:
        while True:
            try:
                request = Subscribe.model_validate(await receive_json(websocket))
            except (ValidationError, ValueError) as exc:
                await send_json(websocket, {"stream": "control", "type": "error", "message": str(exc)[:500]})
                continue
            if sender is not None:
                sender.cancel()
            if subscriber is not None:
                services.hub.unsubscribe(subscriber)
            subscriber = await subscribe(websocket, request)
            sender = asyncio.create_task(pump(websocket, subscriber))
    finally:
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        if subscriber is not None:
            services.hub.unsubscribe(subscriber)


async def subscribe(websocket: WebSocket, request: Subscribe) -> Subscriber:
    services: ApiServices = websocket.app.state.services
    bbox: BBox | None = request.bbox
    replaying = "alerts" in request.streams and request.since_seq is not None
    # Subscribe before reading history, holding live alerts, so none falls between the two.
    subscriber = services.hub.subscribe(request.streams, bbox, hold=replaying)
    replayed, last_seq = 0, request.since_seq or 0
    if replaying:
        while True:
            page = await services.alerts.since(last_seq, limit=REPLAY_PAGE)
            for alert in page:
                await send_json(websocket, {"stream": "alerts", "seq": alert.seq, "alert": alert.to_json()})
                last_seq = alert.seq
            replayed += len(page)
            if len(page) < REPLAY_PAGE:
                break
        services.hub.release(subscriber, last_seq)
    await send_json(
        websocket,
        {
            "stream": "control",
            "type": "subscribed",
            "streams": sorted(subscriber.streams),
            "replayed": replayed,
            "last_seq": last_seq,
        },
    )
    if "vessels" in subscriber.streams:
        services.port_calls.ensure_running()
    if "positions" in subscriber.streams and services.engine is not None:
        # Start from the whole current picture; deltas follow.
        for state in services.engine.fleet.states():
            if (
                state.lon is not None
                and state.lat is not None
                and subscriber.wants_position(state.lon, state.lat)
            ):
                subscriber.positions[state.vessel_id] = position_delta(state)
        subscriber.wake.set()
    return subscriber


async def pump(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Send what the hub queued: alerts first, in order; then the latest position of each vessel."""
    try:
        while True:
            await subscriber.wake.wait()
            subscriber.wake.clear()
            if subscriber.overflowed:
                await websocket.close(CLOSE_TOO_SLOW, "too slow for the alert stream: resume with since_seq")
                return
            while not subscriber.alerts.empty():
                await send_json(websocket, subscriber.alerts.get_nowait())
            if subscriber.positions:
                await send_json(websocket, {"stream": "positions", "vessels": subscriber.take_positions()})
    except (WebSocketDisconnect, ConnectionError, RuntimeError):
        return
