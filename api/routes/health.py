"""Liveness and readiness, for load balancers and `seawatch demo`: no token needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.errors import error_response
from tracking.db import database_ready

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database and the MQTT bus answer",
    responses={503: {"description": "a dependency is down; `checks` says which"}},
)
async def readyz(request: Request) -> Any:
    services = request.app.state.services
    checks = {"database": await database_ready(services.pool), "mqtt": services.bus.connected}
    if all(checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    down = ", ".join(name for name, ok in checks.items() if not ok)
    return error_response(503, f"not ready: {down} unavailable", "not_ready", checks=checks)
