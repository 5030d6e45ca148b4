"""Prometheus metrics. Behind a token like every other route: Prometheus sends one with
`authorization: {credentials: TOKEN}` in its scrape config."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from api.auth import require

router = APIRouter(tags=["metrics"])


@router.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(require("read"))])
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
