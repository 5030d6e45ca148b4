"""Zones as GeoJSON features: everyone reads them (the map draws them), admins create, replace, delete.

A zone is stored as `tracking.zones` validates it (kind, name, a valid Polygon/MultiPolygon in lon/lat
degrees). Its id is `properties.id` (or the feature's `id`), a readable slug such as `maguan-port`.
After every change the alert engine in this process reloads its zone index, and the write's NOTIFY
makes the rules in other processes reload theirs (`tracking.zone_watch`): a new closed area takes
effect on the next position report, without a restart.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import shape

from api.auth import require
from api.errors import ApiError
from api.users import User
from tracking.zones import ZONE_KINDS, ZoneError, ZoneKind, remove_zone, upsert_zone

if TYPE_CHECKING:
    from api.app import ApiServices

router = APIRouter(prefix="/api/zones", tags=["zones"])

# Readable slugs: they appear in alerts (`details.zone_id`), URLs and MQTT-delivered JSON.
ZONE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
ZoneId = Annotated[str, Path(pattern=ZONE_ID_PATTERN, description="The zone's id, e.g. `maguan-port`")]


class ZoneGeometry(BaseModel):
    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(description="GeoJSON coordinates in longitude, latitude degrees")


class ZoneProperties(BaseModel):
    # Zones carry rule-specific properties (schedule, severity, applies_to, name_zh…): keep them all.
    model_config = ConfigDict(extra="allow")

    id: str | None = Field(None, pattern=ZONE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    kind: ZoneKind


class ZoneFeature(BaseModel):
    type: Literal["Feature"]
    id: str | None = Field(None, pattern=ZONE_ID_PATTERN)
    properties: ZoneProperties
    geometry: ZoneGeometry


def services_of(request: Request) -> ApiServices:
    return request.app.state.services  # type: ignore[no-any-return]


def feature_json(row: tuple[Any, ...]) -> dict[str, Any]:
    zone_id, name, kind, geometry, properties, updated_at = row
    return {
        "type": "Feature",
        "id": zone_id,
        "properties": {
            **(properties or {}),
            "id": zone_id,
            "name": name,
            "kind": kind,
            "updated_at": updated_at.isoformat(),
        },
        "geometry": geometry,
    }


COLUMNS = "id, name, kind, geometry, properties, updated_at"


def plain_feature(body: ZoneFeature, zone_id: str | None) -> dict[str, Any]:
    feature = body.model_dump(mode="json", exclude_none=True)
    props = feature["properties"]
    props.pop("updated_at", None)  # ours, not the client's: a GET-edit-PUT round trip carries it back
    chosen = zone_id or props.get("id") or feature.get("id")
    if zone_id is not None and props.get("id") not in (None, zone_id):
        raise ApiError(422, "properties.id differs from the zone id in the path", code="invalid_request")
    if chosen is not None:
        props["id"] = chosen
    # PostgreSQL text and jsonb cannot hold NUL: refuse it here rather than fail in the database.
    if "\\u0000" in json.dumps(feature):  # stdlib json: orjson refuses integers beyond 64 bits
        raise ApiError(422, "a zone may not contain NUL characters", code="invalid_request")
    try:
        geometry = shape(feature["geometry"])
        empty = geometry.is_empty or not all(math.isfinite(v) for v in geometry.bounds)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ApiError(422, f"zone geometry cannot be read: {exc}", code="invalid_zone") from exc
    if empty:
        raise ApiError(422, "a zone's geometry has no area to speak of", code="invalid_zone")
    return feature


async def store(request: Request, feature: dict[str, Any]) -> dict[str, Any]:
    services = services_of(request)
    try:
        async with services.pool.connection() as conn:
            zone_id = await upsert_zone(conn, feature)
            row = await (
                await conn.execute(f"SELECT {COLUMNS} FROM zones WHERE id = %s", (zone_id,))
            ).fetchone()
    except ZoneError as exc:
        raise ApiError(422, str(exc), code="invalid_zone") from exc
    assert row is not None
    await zones_changed(services)
    return feature_json(row)


async def zones_changed(services: ApiServices) -> None:
    # At once for this process's own engine; other processes hear the NOTIFY (`tracking.zone_watch`).
    if services.engine is not None:
        await services.engine.reload_zones()


@router.get("", summary="All zones as a GeoJSON FeatureCollection; `kind` filters")
async def list_zones(
    request: Request,
    _: Annotated[User, Depends(require("read"))],
    kind: Annotated[list[ZoneKind] | None, Query(max_length=len(ZONE_KINDS))] = None,
) -> dict[str, Any]:
    async with services_of(request).pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {COLUMNS} FROM zones WHERE %s::text[] IS NULL OR kind = ANY(%s::text[]) ORDER BY id",
            (kind, kind),
        )
        rows = await cur.fetchall()
    return {"type": "FeatureCollection", "features": [feature_json(r) for r in rows]}


@router.get("/{zone_id}", summary="One zone as a GeoJSON Feature")
async def get_zone(
    request: Request, zone_id: ZoneId, _: Annotated[User, Depends(require("read"))]
) -> dict[str, Any]:
    async with services_of(request).pool.connection() as conn:
        row = await (await conn.execute(f"SELECT {COLUMNS} FROM zones WHERE id = %s", (zone_id,))).fetchone()
    if row is None:
        raise ApiError(404, f"no zone {zone_id!r}")
    return feature_json(row)


@router.post(
    "",
    status_code=201,
    summary="Create a zone from a GeoJSON Feature; without `properties.id` one is made up",
    responses={409: {"description": "a zone with that id exists (PUT replaces it)"}},
)
async def create_zone(
    request: Request, body: ZoneFeature, _: Annotated[User, Depends(require("zones.write"))]
) -> dict[str, Any]:
    feature = plain_feature(body, None)
    zone_id = feature["properties"].get("id")
    if zone_id is not None:
        async with services_of(request).pool.connection() as conn:
            cur = await conn.execute("SELECT 1 FROM zones WHERE id = %s", (zone_id,))
            if await cur.fetchone() is not None:
                raise ApiError(409, f"zone {zone_id!r} exists; PUT /api/zones/{zone_id} replaces it")
    return await store(request, feature)


@router.put("/{zone_id}", summary="Create or replace the zone with this id")
async def put_zone(
    request: Request,
    zone_id: ZoneId,
    body: ZoneFeature,
    _: Annotated[User, Depends(require("zones.write"))],
) -> dict[str, Any]:
    return await store(request, plain_feature(body, zone_id))


@router.delete("/{zone_id}", status_code=204, summary="Delete a zone")
async def delete_zone(
    request: Request, zone_id: ZoneId, _: Annotated[User, Depends(require("zones.write"))]
) -> Response:
    services = services_of(request)
    async with services.pool.connection() as conn:
        if not await remove_zone(conn, zone_id):
            raise ApiError(404, f"no zone {zone_id!r}")
    await zones_changed(services)
    return Response(status_code=204)
