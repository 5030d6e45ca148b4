"""Every failure, whatever raised it, reaches the client in the one error shape."""

from typing import Any

import httpx
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from api.auth import require
from api.errors import install_error_handlers
from tests.conftest import MakeToken
from tracking.db import Pool


def assert_error_shape(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["status"] == status
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    return dict(error)


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me")
    error = assert_error_shape(response, 401)
    assert error["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me", headers={"Authorization": "Bearer not-a-real-token-at-all"})
    assert assert_error_shape(response, 401)["message"] == "the token is not valid"


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    assert_error_shape(await client.get("/api/no-such-thing"), 404)


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    assert_error_shape(await client.post("/healthz"), 405)


def probe_client() -> httpx.AsyncClient:
    """A bare app with the project's error handlers and routes that fail in the ways routes can."""
    app = FastAPI()
    install_error_handlers(app)

    class Body(BaseModel):
        count: int

    @app.post("/probe/validate")
    async def validate(body: Body) -> dict[str, int]:
        return {"count": body.count}

    @app.get("/probe/crash")
    async def crash() -> None:
        raise RuntimeError("a bug")

    @app.get("/probe/admin-only", dependencies=[Depends(require("users.manage"))])
    async def admin_only() -> dict[str, bool]:
        return {"ok": True}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://probe.test")


async def test_invalid_body_is_422_with_the_problems() -> None:
    async with probe_client() as client:
        response = await client.post("/probe/validate", json={"count": "many"})
    error = assert_error_shape(response, 422)
    assert error["problems"][0]["where"] == "body.count"


async def test_unhandled_exception_is_500_without_internals() -> None:
    async with probe_client() as client:
        error = assert_error_shape(await client.get("/probe/crash"), 500)
    assert "a bug" not in error["message"]


async def test_forbidden_role_is_403_and_admin_passes(
    client: httpx.AsyncClient, make_token: MakeToken, pool: Pool
) -> None:
    viewer, admin = await make_token("viewer"), await make_token("admin")
    async with probe_client() as probe:
        probe._transport.app.state.services = client._transport.app.state.services  # type: ignore[attr-defined]
        response = await probe.get("/probe/admin-only", headers={"Authorization": f"Bearer {viewer}"})
        error = assert_error_shape(response, 403)
        assert error["code"] == "forbidden"
        allowed = await probe.get("/probe/admin-only", headers={"Authorization": f"Bearer {admin}"})
    assert allowed.status_code == 200
