from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from api.users import ROLES
from tests.conftest import MakeToken

PUBLIC = {"/healthz", "/readyz"}


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of routers FastAPI keeps as included-router wrappers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def test_every_route_but_health_declares_its_roles(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    routes = list(api_routes(app.router.routes))
    assert {"/healthz", "/readyz", "/api/me"} <= {r.path for r in routes}
    unguarded = []
    for route in routes:
        if route.path in PUBLIC:
            continue
        guards = [d.call for d in route.dependant.dependencies if hasattr(d.call, "seawatch_permission")]
        if not guards:
            unguarded.append(route.path)
    assert unguarded == []


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_can_ask_who_it_is(
    client: httpx.AsyncClient, make_token: MakeToken, role: str
) -> None:
    token = await make_token(role)
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"name": f"{role}-user", "role": role}


async def test_a_token_in_another_scheme_is_refused(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    token = await make_token("viewer")
    response = await client.get("/api/me", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401
