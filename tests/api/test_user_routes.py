"""`/api/users` and `/api/tokens`: admins manage accounts, everyone their own tokens; rate limits."""

import httpx

from api.ratelimit import RateLimiter
from tests.conftest import MakeToken


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_admin_creates_a_user_whose_token_works_once_shown(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    admin = bearer(await make_token("admin"))
    created = await client.post("/api/users", json={"name": "lin", "role": "dispatcher"}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["user"]["name"], body["user"]["role"], body["user"]["tokens"]) == ("lin", "dispatcher", 1)
    me = await client.get("/api/me", headers=bearer(body["token"]))
    assert me.json() == {"name": "lin", "role": "dispatcher"}

    again = await client.post("/api/users", json={"name": "lin", "role": "viewer"}, headers=admin)
    assert again.status_code == 409

    listed = await client.get("/api/users", headers=admin)
    assert {u["name"]: u["role"] for u in listed.json()} == {"admin-user": "admin", "lin": "dispatcher"}
    assert "token" not in listed.text.lower().replace('"tokens"', "")


async def test_role_change_disable_revoke_and_reset(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    admin = bearer(await make_token("admin"))
    token = (await client.post("/api/users", json={"name": "chen", "role": "viewer"}, headers=admin)).json()[
        "token"
    ]
    changed = await client.patch("/api/users/chen", json={"role": "operator"}, headers=admin)
    assert changed.json()["role"] == "operator"
    assert (await client.get("/api/me", headers=bearer(token))).json()["role"] == "operator"

    assert (await client.patch("/api/users/chen", json={"disabled": True}, headers=admin)).status_code == 200
    assert (await client.get("/api/me", headers=bearer(token))).status_code == 401
    await client.patch("/api/users/chen", json={"disabled": False}, headers=admin)
    assert (await client.get("/api/me", headers=bearer(token))).status_code == 200

    revoked = await client.post("/api/users/chen/revoke", headers=admin)
    assert revoked.json() == {"revoked": 1}
    assert (await client.get("/api/me", headers=bearer(token))).status_code == 401

    reset = await client.post("/api/users/chen/tokens", headers=admin)
    assert reset.status_code == 201
    assert (await client.get("/api/me", headers=bearer(reset.json()["token"]))).status_code == 200
    assert (
        await client.patch("/api/users/nobody", json={"role": "viewer"}, headers=admin)
    ).status_code == 404


async def test_the_last_admin_cannot_lock_everyone_out(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    admin = bearer(await make_token("admin"))
    for change in ({"role": "viewer"}, {"disabled": True}):
        refused = await client.patch("/api/users/admin-user", json=change, headers=admin)
        assert refused.status_code == 409
        assert "last active admin" in refused.json()["error"]["message"]
    assert (await client.post("/api/users/admin-user/revoke", headers=admin)).status_code == 409
    await client.post("/api/users", json={"name": "second", "role": "admin"}, headers=admin)
    assert (
        await client.patch("/api/users/admin-user", json={"role": "viewer"}, headers=admin)
    ).status_code == 200


async def test_everyone_issues_and_revokes_their_own_tokens(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    first = await make_token("viewer")
    issued = await client.post("/api/tokens", headers=bearer(first))
    assert issued.status_code == 201
    second = issued.json()["token"]
    assert issued.json()["user"]["tokens"] == 2
    assert (await client.delete("/api/tokens/current", headers=bearer(first))).status_code == 204
    assert (await client.get("/api/me", headers=bearer(first))).status_code == 401
    assert (await client.get("/api/me", headers=bearer(second))).status_code == 200


async def test_non_admins_cannot_manage_users(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    for role in ("viewer", "operator", "dispatcher", "official"):
        headers = bearer(await make_token(role))
        assert (await client.get("/api/users", headers=headers)).status_code == 403
        created = await client.post("/api/users", json={"name": "x", "role": "admin"}, headers=headers)
        assert created.status_code == 403


async def test_bad_names_are_refused(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    admin = bearer(await make_token("admin"))
    for name in ("", "a/b", "tab\there", "nul\x00"):
        response = await client.post("/api/users", json={"name": name, "role": "viewer"}, headers=admin)
        assert response.status_code == 422, name


async def test_login_checks_are_rate_limited_per_client(client: httpx.AsyncClient) -> None:
    limit = client._transport.app.state.rate_limits["login"].limit  # type: ignore[attr-defined]
    for _ in range(limit):
        assert (await client.get("/api/me", headers=bearer("guess-" + "x" * 20))).status_code == 401
    refused = await client.get("/api/me", headers=bearer("guess-" + "x" * 20))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) > 0


def test_the_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60.0, clock=lambda: now[0])
    assert limiter.hit("a") is None and limiter.hit("a") is None
    assert limiter.hit("a") == 60.0
    assert limiter.hit("b") is None  # another client is not affected
    now[0] = 60.0
    assert limiter.hit("a") is None
