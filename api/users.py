"""Users and their bearer tokens. Tokens are random, shown once, and stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

Role = Literal["viewer", "operator", "dispatcher", "official", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)

# Long enough that guessing is hopeless; URL-safe so it can travel as a websocket query parameter.
TOKEN_BYTES = 32
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role


class UserError(ValueError):
    """A user cannot be created as asked (bad role, bad token)."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    return role


async def add_user(
    conn: AsyncConnection[TupleRow], name: str, role: str, *, token: str | None = None
) -> tuple[User, str]:
    """Create a user (or change the role of an existing one) and issue a token; returns (user, token)."""
    checked = check_role(role)
    if not name.strip():
        raise UserError("a user needs a name")
    token = token or new_token()
    if len(token) < MIN_TOKEN_LENGTH:
        raise UserError(f"a token needs at least {MIN_TOKEN_LENGTH} characters")
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO users (name, role) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, disabled = false"
            " RETURNING id",
            (name, checked),
        )
        row = await cur.fetchone()
        assert row is not None
        user = User(id=int(row[0]), name=name, role=checked)
        await conn.execute(
            "INSERT INTO api_tokens (user_id, token_sha256) VALUES (%s, %s)"
            " ON CONFLICT (token_sha256) DO UPDATE SET user_id = EXCLUDED.user_id, revoked_at = NULL",
            (user.id, token_digest(token)),
        )
    return user, token


async def user_for_token(conn: AsyncConnection[TupleRow], token: str) -> User | None:
    """The active user a token belongs to, or None for an unknown, revoked or disabled one."""
    cur = await conn.execute(
        "SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_sha256 = %s AND t.revoked_at IS NULL AND NOT u.disabled",
        (token_digest(token),),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return User(id=int(row[0]), name=str(row[1]), role=check_role(str(row[2])))
