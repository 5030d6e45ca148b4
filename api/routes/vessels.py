"""Vessels: the live list and detail (`read`), and their history — track, voyages, fleet exports
(`history.read`).

The live state comes from `vessel_latest`, kept by the tracker (`tracking.tracker`), so these answers
are the same on every API node whichever process tracks. Every query is bounded: pages of at most
`MAX_PAGE` vessels, tracks and exports within `tracking.track_max_days` / `export_max_days` and
`track_max_points` / `export_max_rows`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from api.auth import require
from api.errors import ApiError
from api.users import User
from tracking import history
from tracking.exports import MEDIA_TYPES, TrackInfo, render_track, stream_positions
from tracking.tracks import TrackTooLarge, check_range, fetch_track, per_bucket, simplify_m

if TYPE_CHECKING:
    from api.app import ApiServices

router = APIRouter(tags=["vessels"])

MAX_PAGE = 5000
BBOX_HELP = "lon1,lat1,lon2,lat2 in degrees"

VESSEL_COLUMNS = (
    "v.id, v.name, v.hull_number, v.is_fishing, v.vessel_type, v.provisional,"
    " (SELECT i.value FROM vessel_identities i WHERE i.vessel_id = v.id AND i.kind = 'mmsi'"
    "  ORDER BY i.valid_to DESC LIMIT 1),"
    " l.ts, l.source, l.lon, l.lat, l.speed, l.course, l.heading, l.status, l.in_port, l.port_zone_id,"
    " l.zone_ids"
)


def services_of(request: Request) -> ApiServices:
    return request.app.state.services  # type: ignore[no-any-return]


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        lon1, lat1, lon2, lat2 = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise ApiError(422, f"bbox must be {BBOX_HELP}", code="invalid_request") from exc
    if not (
        min(lon1, lon2) >= -180 and max(lon1, lon2) <= 180 and -90 <= min(lat1, lat2) <= max(lat1, lat2) <= 90
    ):
        raise ApiError(422, f"bbox must be {BBOX_HELP}", code="invalid_request")
    return lon1, lat1, lon2, lat2


def vessel_json(row: tuple[Any, ...], now: datetime, stale_after_s: float) -> dict[str, Any]:
    (vid, name, hull, fishing, vtype, provisional, mmsi, ts, source, lon, lat, speed, course, heading, status,
     in_port, port_zone, zones) = row  # fmt: skip
    age = (now - ts).total_seconds() if ts is not None else None
    return {
        "id": vid,
        "name": name,
        "hull_number": hull,
        "mmsi": int(mmsi) if mmsi and str(mmsi).isdigit() else None,
        "is_fishing": fishing,
        "vessel_type": vtype,
        "provisional": provisional,
        "position": None
        if ts is None
        else {
            "ts": ts.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "lon": lon,
            "lat": lat,
            "speed": speed,
            "course": course,
            "heading": heading,
            "status": status,
            "source": source,
            "age_s": round(age, 1) if age is not None else None,
        },
        "in_port": bool(in_port) if ts is not None else None,
        "at_sea": (not in_port) if ts is not None else None,
        "port_zone_id": port_zone,
        "zones": list(zones or []),
        "stale": age is None or age > stale_after_s,
    }


@router.get("/api/vessels", summary="The latest state of every vessel, filtered; pages by `after_id`")
async def list_vessels(
    request: Request,
    _: Annotated[User, Depends(require("read"))],
    bbox: Annotated[str | None, Query(description=BBOX_HELP)] = None,
    at_sea: bool | None = None,
    in_port: bool | None = None,
    fishing: bool | None = None,
    source: Annotated[str | None, Query(max_length=32)] = None,
    stale: bool | None = None,
    after_id: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500,
) -> dict[str, Any]:
    services = services_of(request)
    stale_after = timedelta(seconds=services.settings.tracking.stale_after_s)
    now = datetime.now(UTC)
    # Fixed fragments joined with AND; every value goes in as a parameter.
    where: list[str] = []
    params: list[Any] = []
    if bbox is not None:
        lon1, lat1, lon2, lat2 = parse_bbox(bbox)
        where.append("point(l.lon, l.lat) <@ box(point(%s, %s), point(%s, %s))")
        params += [lon1, lat1, lon2, lat2]
    if at_sea is not None:
        where.append("l.ts IS NOT NULL AND l.in_port = %s")
        params.append(not at_sea)
    if in_port is not None:
        where.append("l.ts IS NOT NULL AND l.in_port = %s")
        params.append(in_port)
    if fishing is not None:
        where.append("v.is_fishing = %s")
        params.append(fishing)
    if source is not None:
        where.append("l.source = %s")
        params.append(source)
    if stale is True:
        where.append("(l.ts IS NULL OR l.ts < %s)")
        params.append(now - stale_after)
    elif stale is False:
        where.append("l.ts >= %s")
        params.append(now - stale_after)
    if after_id is not None:
        where.append("v.id > %s")
        params.append(after_id)
    sql = f"SELECT {VESSEL_COLUMNS} FROM vessels v LEFT JOIN vessel_latest l ON l.vessel_id = v.id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY v.id LIMIT %s"
    async with services.pool.connection() as conn:
        cur = await conn.execute(sql, [*params, limit])
        rows = await cur.fetchall()
    vessels = [vessel_json(r, now, stale_after.total_seconds()) for r in rows]
    return {"vessels": vessels, "next_after_id": vessels[-1]["id"] if len(vessels) == limit else None}


@router.get("/api/vessels/{vessel_id}", summary="One vessel: registry data, identities, latest state")
async def get_vessel(
    request: Request, vessel_id: int, _: Annotated[User, Depends(require("read"))]
) -> dict[str, Any]:
    services = services_of(request)
    async with services.pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {VESSEL_COLUMNS}, v.owner_name, v.owner_contact, v.home_port, v.licensed_area"
            " FROM vessels v LEFT JOIN vessel_latest l ON l.vessel_id = v.id WHERE v.id = %s",
            (vessel_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise ApiError(404, f"no vessel {vessel_id}")
        cur = await conn.execute(
            # Open bounds are stored as ±infinity, which Python's datetime cannot hold: null instead.
            "SELECT kind, value, NULLIF(valid_from, '-infinity'), NULLIF(valid_to, 'infinity')"
            " FROM vessel_identities WHERE vessel_id = %s ORDER BY kind, valid_from",
            (vessel_id,),
        )
        identities = [
            {"kind": k, "value": v, "valid_from": f, "valid_to": t} for k, v, f, t in await cur.fetchall()
        ]
        cur = await conn.execute(
            "SELECT id, zone_id, zone_name, arrived_at FROM port_calls"
            " WHERE vessel_id = %s AND departed_at IS NULL",
            (vessel_id,),
        )
        call = await cur.fetchone()
        cur = await conn.execute(
            "SELECT id, from_zone_id, departed_at, distance_m FROM voyages"
            " WHERE vessel_id = %s AND arrived_at IS NULL",
            (vessel_id,),
        )
        voyage = await cur.fetchone()
    owner, contact, home, area = row[-4:]
    body = vessel_json(row[:-4], datetime.now(UTC), services.settings.tracking.stale_after_s)
    body.update(owner_name=owner, owner_contact=contact, home_port=home, licensed_area=area)
    body["identities"] = identities
    body["port_call"] = (
        None
        if call is None
        else {"id": call[0], "zone_id": call[1], "zone_name": call[2], "arrived_at": call[3]}
    )
    body["voyage"] = (
        None
        if voyage is None
        else {"id": voyage[0], "from_zone_id": voyage[1], "departed_at": voyage[2], "distance_m": voyage[3]}
    )
    return body


TrackFormatParam = Literal["json", "geojson", "csv", "gpx", "kml"]


@router.get(
    "/api/vessels/{vessel_id}/track",
    summary="The vessel's track in [start, end): full, `simplify`=metres (Douglas–Peucker), `bucket`=seconds",
)
async def get_track(
    request: Request,
    vessel_id: int,
    _: Annotated[User, Depends(require("history.read"))],
    start: datetime | None = None,
    end: datetime | None = None,
    format: TrackFormatParam = "json",
    simplify: Annotated[float | None, Query(gt=0, le=100_000, description="tolerance in metres")] = None,
    bucket: Annotated[float | None, Query(ge=1, le=86_400, description="one point per N seconds")] = None,
) -> Response:
    services = services_of(request)
    limits = services.settings.tracking
    end = _aware(end) if end is not None else datetime.now(UTC)
    start = _aware(start) if start is not None else end - timedelta(days=1)
    if simplify is not None and bucket is not None:
        raise ApiError(422, "give simplify or bucket, not both", code="invalid_request")
    try:
        check_range(start, end, limits.track_max_days)
    except ValueError as exc:
        raise ApiError(422, str(exc), code="invalid_request") from exc
    async with services.pool.connection() as conn:
        cur = await conn.execute("SELECT name FROM vessels WHERE id = %s", (vessel_id,))
        found = await cur.fetchone()
        if found is None:
            raise ApiError(404, f"no vessel {vessel_id}")
        try:
            track = await fetch_track(conn, vessel_id, start, end, max_points=limits.track_max_points)
        except TrackTooLarge as exc:
            raise ApiError(413, str(exc), code="too_large") from exc
    full = len(track)
    simplified: dict[str, Any] | None = None
    if simplify is not None:
        track = simplify_m(track, simplify)
        simplified = {"method": "douglas-peucker", "tolerance_m": simplify, "from": full}
    elif bucket is not None:
        track = per_bucket(track, bucket)
        simplified = {"method": "time-bucket", "bucket_s": bucket, "from": full}
    info = TrackInfo(vessel_id, found[0], start, end, simplified)
    headers = {}
    if format in ("csv", "gpx", "kml"):
        name = f"vessel-{vessel_id}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.{format}"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(render_track(track, info, format), media_type=MEDIA_TYPES[format], headers=headers)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@router.get("/api/vessels/{vessel_id}/voyages", summary="The vessel's voyages, newest first")
async def vessel_voyages(
    request: Request,
    vessel_id: int,
    _: Annotated[User, Depends(require("history.read"))],
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    async with services_of(request).pool.connection() as conn:
        voyages = await history.voyages(
            conn, vessel_id=vessel_id, before=_aware(before) if before else None, limit=limit
        )
    return {"voyages": voyages, "next_before": voyages[-1]["departed_at"] if len(voyages) == limit else None}


@router.get(
    "/api/exports/positions",
    summary="Every position in a box and time window, streamed as CSV or GeoJSON",
    response_class=StreamingResponse,
)
async def export_positions(
    request: Request,
    _: Annotated[User, Depends(require("history.read"))],
    bbox: Annotated[str, Query(description=BBOX_HELP)],
    start: datetime,
    end: datetime,
    format: Literal["csv", "geojson"] = "csv",
) -> StreamingResponse:
    services = services_of(request)
    limits = services.settings.tracking
    box = parse_bbox(bbox)
    start, end = _aware(start), _aware(end)
    try:
        check_range(start, end, limits.export_max_days)
    except ValueError as exc:
        raise ApiError(422, str(exc), code="invalid_request") from exc
    rows = stream_positions(services.pool, box, start, end, format, max_rows=limits.export_max_rows)
    name = f"positions-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.{format}"
    return StreamingResponse(
        rows,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
