"""Users and tokens over HTTP: admins manage accounts; everyone manages their own tokens.

Logging in to the console is pasting a bearer token (printed once by `seawatch user add` or by an
admin's `POST /api/users`); the console checks it with `GET /api/me` and keeps it in the browser's
session storage. Both that check and the token endpoints are rate-limited per client address.

    POST   /api/users                  {name, role} → the user and its first token (shown once)
    GET    /api/users                  every user with its role, state and number of live tokens
    PATCH  /api/users/{name}           {role?, disabled?}
    POST   /api/users/{name}/tokens    a new token for that user (a reset), shown once
    POST   /api/users/{name}/revoke    revoke every token of that user
    POST   /api/tokens                 a new token for the caller (another device), shown once
    DELETE /api/tokens/current         revoke the token this request carries (log out)

The last active admin cannot be demoted, disabled or locked out: nobody could manage users afterwards
without shell access to `seawatch user add`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from pydantic import BaseModel, Field

from api.auth import bearer_token, require
from api.errors import ApiError
from api.ratelimit import rate_limited
from api.users import Role, User, new_token, token_digest

if TYPE_CHECKING:
    from api.app import ApiServices

router = APIRouter(prefix="/api", tags=["users"])

# Names show in audit trails and alert assignments; printable, no NUL (PostgreSQL text refuses it).
NAME_PATTERN = r"^[^\x00-\x1f\x7f/]{1,100}$"
UserName = Annotated[str, Path(pattern=NAME_PATTERN, description="The user's name")]


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    tokens: int = Field(description="Tokens issued and not revoked")


class NewUser(BaseModel):
    name: str = Field(pattern=NAME_PATTERN)
    role: Role


class UserChange(BaseModel):
    role: Role | None = None
    disabled: bool | None = None


class IssuedToken(BaseModel):
    user: UserOut
    token: str = Field(description="The bearer token; shown this once, only its SHA-256 is kept")


class Revoked(BaseModel):
    revoked: int = Field(description="How many tokens were revoked")


def services_of(request: Request) -> ApiServices:
    return request.app.state.services  # type: ignore[no-any-return]


USER_QUERY = (
    "SELECT u.id, u.name, u.role, u.disabled, u.created_at,"
    " (SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL)"
    " FROM users u"
)


def user_out(row: tuple[object, ...]) -> UserOut:
    return UserOut.model_validate(dict(zip(UserOut.model_fields, row, strict=True)))


async def find_user(conn: AsyncConnection[TupleRow], name: str) -> UserOut:
    row = await (await conn.execute(USER_QUERY + " WHERE u.name = %s", (name,))).fetchone()
    if row is None:
        raise ApiError(404, f"no user {name!r}")
    return user_out(row)


async def issue_token(conn: AsyncConnection[TupleRow], user_id: int) -> str:
    token = new_token()
    await conn.execute(
        "INSERT INTO api_tokens (user_id, token_sha256) VALUES (%s, %s)", (user_id, token_digest(token))
    )
    return token


async def refuse_last_admin(conn: AsyncConnection[TupleRow], user: UserOut) -> None:
    if user.role != "admin" or user.disabled:
        return
    # Serialise concurrent admin changes so two admins cannot demote each other at the same moment.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('seawatch.users.admins'))")
    cur = await conn.execute(
        "SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> %s", (user.id,)
    )
    row = await cur.fetchone()
    if row is None or int(row[0]) == 0:
        raise ApiError(
            409, f"{user.name} is the last active admin; make another admin first", code="conflict"
        )


@router.get("/users", summary="Every user, with role, state and live tokens")
async def list_users(request: Request, _: Annotated[User, Depends(require("users.manage"))]) -> list[UserOut]:
    async with services_of(request).pool.connection() as conn:
        rows = await (await conn.execute(USER_QUERY + " ORDER BY u.name")).fetchall()
    return [user_out(r) for r in rows]


@router.post(
    "/users",
    status_code=201,
    summary="Create a user; the answer holds its first token, shown once",
    responses={409: {"description": "a user with that name exists"}},
)
async def create_user(
    request: Request, body: NewUser, _: Annotated[User, Depends(require("users.manage"))]
) -> IssuedToken:
    async with services_of(request).pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO users (name, role) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING RETURNING id",
            (body.name, body.role),
        )
        row = await cur.fetchone()
        if row is None:
            raise ApiError(409, f"user {body.name!r} exists; PATCH changes its role", code="conflict")
        token = await issue_token(conn, int(row[0]))
        user = await find_user(conn, body.name)
    return IssuedToken(user=user, token=token)


@router.patch("/users/{name}", summary="Change a user's role, or disable or enable it")
async def change_user(
    request: Request,
    name: UserName,
    body: UserChange,
    _: Annotated[User, Depends(require("users.manage"))],
) -> UserOut:
    async with services_of(request).pool.connection() as conn, conn.transaction():
        user = await find_user(conn, name)
        if (body.role not in (None, "admin")) or body.disabled:
            await refuse_last_admin(conn, user)
        await conn.execute(
            "UPDATE users SET role = COALESCE(%s, role), disabled = COALESCE(%s, disabled) WHERE id = %s",
            (body.role, body.disabled, user.id),
        )
        return await find_user(conn, name)


@router.post(
    "/users/{name}/tokens",
    status_code=201,
    summary="Issue a new token for a user (e.g. after revoking a lost one); shown once",
)
async def issue_user_token(
    request: Request,
    name: UserName,
    _: Annotated[User, Depends(require("users.manage"))],
    __: Annotated[None, Depends(rate_limited("tokens"))],
) -> IssuedToken:
    async with services_of(request).pool.connection() as conn, conn.transaction():
        user = await find_user(conn, name)
        token = await issue_token(conn, user.id)
        return IssuedToken(user=await find_user(conn, name), token=token)


@router.post("/users/{name}/revoke", summary="Revoke every token of a user")
async def revoke_user_tokens(
    request: Request, name: UserName, _: Annotated[User, Depends(require("users.manage"))]
) -> Revoked:
    async with services_of(request).pool.connection() as conn, conn.transaction():
        user = await find_user(conn, name)
        await refuse_last_admin(conn, user)
        cur = await conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL", (user.id,)
        )
        return Revoked(revoked=cur.rowcount)


@router.post("/tokens", status_code=201, summary="A new token for the caller (another device); shown once")
async def issue_own_token(
    request: Request,
    user: Annotated[User, Depends(require("self"))],
    __: Annotated[None, Depends(rate_limited("tokens"))],
) -> IssuedToken:
    async with services_of(request).pool.connection() as conn, conn.transaction():
        token = await issue_token(conn, user.id)
        return IssuedToken(user=await find_user(conn, user.name), token=token)


@router.delete("/tokens/current", status_code=204, summary="Revoke the token this request carries: log out")
async def revoke_own_token(
    request: Request,
    _: Annotated[User, Depends(require("self"))],
    __: Annotated[None, Depends(rate_limited("tokens"))],
) -> Response:
    token = bearer_token(request)
    assert token is not None  # require() has authenticated it
    async with services_of(request).pool.connection() as conn:
        await conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_sha256 = %s AND revoked_at IS NULL",
            (token_digest(token),),
        )
    return Response(status_code=204)
