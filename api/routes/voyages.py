"""Voyages, port calls and reports (`history.read`): what officials read and print."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import require
from api.errors import ApiError
from api.users import User
from tracking import history
from tracking.report_pdf import write_pdf
from tracking.reports import UnknownVessel, vessel_report
from tracking.tracks import TrackTooLarge, check_range

if TYPE_CHECKING:
    from api.app import ApiServices

router = APIRouter(tags=["voyages and reports"])

ZONE_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"


def services_of(request: Request) -> ApiServices:
    return request.app.state.services  # type: ignore[no-any-return]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _next(items: list[dict[str, Any]], key: str, limit: int) -> str | None:
    return items[-1][key] if len(items) == limit else None


@dataclass(frozen=True)
class Window:
    """The filters voyages and port calls share (named as `tracking.history` takes them)."""

    vessel_id: int | None
    start: datetime | None
    end: datetime | None
    open_only: bool | None
    before: datetime | None
    limit: int


def window(
    vessel_id: int | None = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    open: bool | None = None,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Window:
    return Window(vessel_id, _aware(from_), _aware(to), open, _aware(before), limit)


@router.get("/api/voyages", summary="Voyages departing in [from, to), newest first; `before` pages back")
async def list_voyages(
    request: Request,
    _: Annotated[User, Depends(require("history.read"))],
    filters: Annotated[Window, Depends(window)],
    harbour: Annotated[str | None, Query(pattern=ZONE_ID, description="zone id departed from")] = None,
) -> dict[str, Any]:
    async with services_of(request).pool.connection() as conn:
        found = await history.voyages(conn, zone_id=harbour, **asdict(filters))
    return {"voyages": found, "next_before": _next(found, "departed_at", filters.limit)}


@router.get("/api/portcalls", summary="Port calls arriving in [from, to), newest first; `before` pages back")
async def list_port_calls(
    request: Request,
    _: Annotated[User, Depends(require("history.read"))],
    filters: Annotated[Window, Depends(window)],
    zone_id: Annotated[str | None, Query(pattern=ZONE_ID)] = None,
) -> dict[str, Any]:
    async with services_of(request).pool.connection() as conn:
        found = await history.port_calls(conn, zone_id=zone_id, **asdict(filters))
    return {"port_calls": found, "next_before": _next(found, "arrived_at", filters.limit)}


@router.get(
    "/api/reports/harbour-daily",
    summary="A harbour's day (进出港): departures, arrivals, and its boats still out at the day's end",
)
async def harbour_daily(
    request: Request,
    _: Annotated[User, Depends(require("history.read"))],
    harbour: Annotated[str, Query(pattern=ZONE_ID, description="harbour or shelter zone id")],
    date: date,
) -> dict[str, Any]:
    services = services_of(request)
    async with services.pool.connection() as conn:
        try:
            return await history.harbour_daily(
                conn, harbour, date, services.settings.tracking.report_timezone
            )
        except history.UnknownHarbour as exc:
            raise ApiError(404, str(exc)) from exc
        except OverflowError as exc:  # the last day of year 9999 has no next midnight
            raise ApiError(422, "that date is out of range", code="invalid_request") from exc


@router.get(
    "/api/reports/vessel/{vessel_id}",
    summary="A vessel's fisheries report over [from, to): JSON, or a printable PDF with `format=pdf`",
    responses={200: {"content": {"application/pdf": {}}}},
)
async def vessel_report_route(
    request: Request,
    vessel_id: int,
    _: Annotated[User, Depends(require("history.read"))],
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    format: Literal["json", "pdf"] = "json",
    drill: Annotated[bool, Query(description="count drill positions in the figures too")] = False,
) -> Any:
    services = services_of(request)
    limits = services.settings.tracking
    end = _aware(to) or datetime.now(UTC)
    start = _aware(from_) or end - timedelta(days=30)
    try:
        check_range(start, end, limits.track_max_days)
    except ValueError as exc:
        raise ApiError(422, str(exc), code="invalid_request") from exc
    try:
        report = await vessel_report(services.pool, vessel_id, start, end, limits, include_drill=drill)
    except UnknownVessel as exc:
        raise ApiError(404, str(exc)) from exc
    except TrackTooLarge as exc:
        raise ApiError(413, str(exc), code="too_large") from exc
    if format == "json":
        return report.data
    out = BytesIO()
    # Drawing takes a second or so of CPU: off the event loop, so other requests go on meanwhile.
    await asyncio.to_thread(write_pdf, report, out)
    name = f"report-vessel-{vessel_id}-{start:%Y%m%d}-{end:%Y%m%d}.pdf"
    return Response(
        out.getvalue(),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
