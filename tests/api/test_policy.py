"""Every route × every role × no token, against the one policy table (`api/policy.py`).

The routes come from the app itself, so a route added tomorrow is checked too: it fails here if it
declares no permission, names one the table lacks, lets in a role the table does not list for it, or
shuts out one the table does. Routes listed in `EXPECTED` must also keep the permission written there,
so that loosening, say, zone editing to `read` is a visible change to this file, not a silent one.
"""

import re
from collections.abc import Iterable, Iterator
from typing import Any, cast

import httpx
import pytest
from fastapi.routing import APIRoute

from api.app import ApiServices, create_app
from api.policy import POLICY
from api.users import ROLES
from seawatch.bus import BusStatus
from seawatch.settings import Settings
from tests.conftest import MakeToken
from tracking.db import Pool

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}

# The permission each known route must keep. Routes not listed are checked against whatever they
# declare, plus the rule that only reading is open to every role.
EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/api/me"): "read",
    ("GET", "/metrics"): "read",
    ("GET", "/api/alerts"): "read",
    ("GET", "/api/alerts/{alert_id}"): "read",
    ("POST", "/api/alerts/{alert_id}/ack"): "alerts.ack",
    ("POST", "/api/alerts/{alert_id}/assign"): "alerts.assign",
    ("POST", "/api/alerts/{alert_id}/resolve"): "alerts.resolve",
    ("POST", "/api/alerts/{alert_id}/note"): "alerts.note",
    ("GET", "/api/weather"): "read",
    ("POST", "/api/weather/cap"): "weather.write",
    ("GET", "/api/zones"): "read",
    ("GET", "/api/zones/{zone_id}"): "read",
    ("POST", "/api/zones"): "zones.write",
    ("PUT", "/api/zones/{zone_id}"): "zones.write",
    ("DELETE", "/api/zones/{zone_id}"): "zones.write",
    ("GET", "/api/users"): "users.manage",
    ("POST", "/api/users"): "users.manage",
    ("PATCH", "/api/users/{name}"): "users.manage",
    ("POST", "/api/users/{name}/tokens"): "users.manage",
    ("POST", "/api/users/{name}/revoke"): "users.manage",
    ("POST", "/api/tokens"): "self",
    ("DELETE", "/api/tokens/current"): "self",
    ("GET", "/api/console/config"): "read",
    ("GET", "/api/console/coast.geojson"): "read",
    ("GET", "/api/vessels"): "read",
    ("GET", "/api/vessels/{vessel_id}"): "read",
    # A vessel's history is what fisheries officials read: not every viewer's business.
    ("GET", "/api/vessels/{vessel_id}/track"): "history.read",
    ("GET", "/api/vessels/{vessel_id}/voyages"): "history.read",
    ("GET", "/api/exports/positions"): "history.read",
    ("GET", "/api/voyages"): "history.read",
    ("GET", "/api/portcalls"): "history.read",
    ("GET", "/api/reports/harbour-daily"): "history.read",
    ("GET", "/api/reports/vessel/{vessel_id}"): "history.read",
}

# Permissions every role holds; a route that changes anything must not be guarded by one of these,
# except the caller's own tokens.
OPEN_TO_ALL = {name for name, roles in POLICY.items() if roles == frozenset(ROLES)}
SELF_SERVICE = {("POST", "/api/tokens"), ("DELETE", "/api/tokens/current")}


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def permissions_of(route: APIRoute) -> list[str]:
    return [
        d.call.seawatch_permission  # type: ignore[union-attr]
        for d in route.dependant.dependencies
        if hasattr(d.call, "seawatch_permission")
    ]


def all_routes() -> list[tuple[str, str]]:
    # Building the app touches neither the database nor the network: the routes are all we read.
    app = create_app(ApiServices(settings=Settings(), pool=cast(Pool, None), bus=BusStatus()))
    return sorted(
        {(method, route.path) for route in api_routes(app.router.routes) for method in route.methods or ()}
    )


ROUTES = all_routes()


def test_the_known_routes_are_all_there() -> None:
    assert set(EXPECTED) <= set(ROUTES)


def concrete(path: str) -> str:
    # "1" is a valid id of every kind here (alert id, zone slug, user name) and names nothing that exists.
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_route_admits_exactly_the_roles_of_its_permission(
    client: httpx.AsyncClient, make_token: MakeToken, method: str, path: str
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    route = next(r for r in api_routes(app.router.routes) if r.path == path and method in (r.methods or ()))
    declared = permissions_of(route)
    if (method, path) in PUBLIC:
        assert declared == []
        response = await client.request(method, path)
        assert response.status_code not in (401, 403)
        return
    assert len(declared) == 1, f"{method} {path} must declare exactly one permission, has {declared}"
    permission = declared[0]
    assert permission in POLICY
    if (method, path) in EXPECTED:
        assert permission == EXPECTED[(method, path)]
    if method != "GET" and (method, path) not in SELF_SERVICE:
        assert permission not in OPEN_TO_ALL, f"{method} {path} changes something yet admits every role"

    url = concrete(path)
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    anonymous = await client.request(method, url, **body)
    assert anonymous.status_code == 401, f"no token: {anonymous.status_code} {anonymous.text}"
    assert anonymous.json()["error"]["code"] == "unauthorized"
    for role in ROLES:
        headers = {"Authorization": f"Bearer {await make_token(role)}"}
        response = await client.request(method, url, headers=headers, **body)
        if role in POLICY[permission]:
            assert response.status_code not in (401, 403), f"{role} refused: {response.text}"
        else:
            assert response.status_code == 403, f"{role} admitted: {response.status_code}"
            assert response.json()["error"]["code"] == "forbidden"
