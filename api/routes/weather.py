"""Weather warnings: CAP 1.2 documents in, the warnings in force and the return-to-port board out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from alerts.cap import CapError
from api.auth import require
from api.errors import ApiError
from api.users import User

if TYPE_CHECKING:
    from api.app import ApiServices

router = APIRouter(prefix="/api/weather", tags=["weather"])

MAX_CAP_BYTES = 1_000_000


def weather_of(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    if services.weather is None or services.engine is None:
        raise ApiError(
            503, "weather warnings are handled by the rules process, not this one", code="unavailable"
        )
    return services


async def read_bounded(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"a CAP document may be at most {limit} bytes", code="too_large")
    return bytes(body)


@router.post(
    "/cap",
    summary="Receive a CAP 1.2 warning (XML body); Update and Cancel apply to the warnings they reference",
    status_code=201,
    responses={
        200: {"description": "already received; nothing changed"},
        400: {"description": "not valid CAP"},
    },
)
async def post_cap(request: Request, _: Annotated[User, Depends(require("weather.write"))]) -> Any:
    services = weather_of(request)
    document = await read_bounded(request, MAX_CAP_BYTES)
    assert services.weather is not None
    try:
        alert, new = await services.weather.receive(document)
    except CapError as exc:
        raise ApiError(400, f"not an acceptable CAP document: {exc.message}", code=f"cap_{exc.code}") from exc
    body = {"identifier": alert.identifier, "sender": alert.sender, "msg_type": alert.msg_type, "new": new}
    return JSONResponse(body, status_code=201 if new else 200)


@router.get("", summary="Warnings in force, each with the vessels still at sea in its area")
async def warnings(request: Request, _: Annotated[User, Depends(require("read"))]) -> dict[str, Any]:
    services = weather_of(request)
    assert services.weather is not None and services.engine is not None
    return {"warnings": services.weather.board(services.engine.context())}
