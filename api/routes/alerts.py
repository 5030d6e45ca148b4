"""Alerts: list and read them, and act on them as the policy allows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from alerts.model import Alert
from alerts.store import Action, Actor, AlertActionError, AlertNotFound
from api.auth import forbidden, require
from api.errors import ApiError
from api.policy import allowed
from api.users import User

if TYPE_CHECKING:
    from api.app import ApiServices

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

State = Literal["open", "acknowledged", "assigned", "resolved"]


# PostgreSQL text cannot hold NUL: such a note must be a 422, not a failed INSERT (a 500).
NO_NUL = r"^[^\x00]*$"


class ActionBody(BaseModel):
    note: str | None = Field(None, max_length=4000, pattern=NO_NUL)
    assignee: str | None = Field(None, max_length=200, pattern=NO_NUL)


def services_of(request: Request) -> ApiServices:
    return request.app.state.services  # type: ignore[no-any-return]


@router.get("", summary="Alerts, newest change first; `before_seq` pages back")
async def list_alerts(
    request: Request,
    _: Annotated[User, Depends(require("read"))],
    state: Annotated[list[State] | None, Query()] = None,
    kind: Annotated[list[str] | None, Query(max_length=20)] = None,
    severity: Annotated[list[str] | None, Query(max_length=5)] = None,
    vessel_id: int | None = None,
    drill: bool | None = None,
    before_seq: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    found = await services_of(request).alerts.query(
        states=list(state) if state else None,
        kinds=kind,
        severities=severity,
        vessel_id=vessel_id,
        drill=drill,
        before_seq=before_seq,
        limit=limit,
    )
    return {
        "alerts": [a.to_json() for a in found],
        "next_before_seq": found[-1].seq if len(found) == limit else None,
    }


@router.get("/{alert_id}", summary="One alert with its audit trail")
async def get_alert(
    request: Request, alert_id: int, _: Annotated[User, Depends(require("read"))]
) -> dict[str, Any]:
    store = services_of(request).alerts
    try:
        alert = await store.get(alert_id)
    except AlertNotFound as exc:
        raise ApiError(404, str(exc)) from exc
    return {**alert.to_json(), "audit": await store.audit(alert_id)}


async def act(
    request: Request, alert_id: int, action: Action, user: User, body: ActionBody
) -> dict[str, Any]:
    services = services_of(request)
    try:
        current = await services.alerts.get(alert_id)
    except AlertNotFound as exc:
        raise ApiError(404, str(exc)) from exc
    if (
        action == "resolve"
        and current.kind == "distress"
        and not allowed("alerts.resolve_distress", user.role)
    ):
        raise forbidden("alerts.resolve_distress")
    try:
        alert = await services.alerts.act(
            alert_id,
            action,
            Actor(user.name, user.role),
            datetime.now(UTC),
            note=body.note,
            assignee=body.assignee,
        )
    except AlertActionError as exc:
        raise ApiError(409, str(exc), code="conflict") from exc
    announce(services, alert)
    return alert.to_json()


def announce(services: ApiServices, alert: Alert) -> None:
    if services.engine is not None:
        services.engine.forget(alert)
        services.engine.publish(alert)
    else:
        services.hub.publish_alert(alert)


@router.post("/{alert_id}/ack", summary="Acknowledge: someone is looking at it")
async def ack(
    request: Request,
    alert_id: int,
    user: Annotated[User, Depends(require("alerts.ack"))],
    body: ActionBody | None = None,
) -> dict[str, Any]:
    return await act(request, alert_id, "ack", user, body or ActionBody())


@router.post("/{alert_id}/assign", summary="Assign to a person or unit (`assignee`)")
async def assign(
    request: Request,
    alert_id: int,
    user: Annotated[User, Depends(require("alerts.assign"))],
    body: ActionBody,
) -> dict[str, Any]:
    return await act(request, alert_id, "assign", user, body)


@router.post("/{alert_id}/resolve", summary="Close it, with a note; distress needs a dispatcher")
async def resolve(
    request: Request,
    alert_id: int,
    user: Annotated[User, Depends(require("alerts.resolve"))],
    body: ActionBody | None = None,
) -> dict[str, Any]:
    return await act(request, alert_id, "resolve", user, body or ActionBody())


@router.post("/{alert_id}/note", summary="Add a note (`note`)")
async def note(
    request: Request, alert_id: int, user: Annotated[User, Depends(require("alerts.note"))], body: ActionBody
) -> dict[str, Any]:
    return await act(request, alert_id, "note", user, body)
