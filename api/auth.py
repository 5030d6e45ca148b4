"""Bearer-token authentication and role checks, as FastAPI dependencies.

Every route but /healthz, /readyz and the console's static files declares the roles it admits with
`Depends(require_roles(...))`; `tests/api/test_auth.py` walks the app's routes to make sure none forgets.
`admin` is admitted everywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from api.errors import ApiError
from api.users import ROLES, Role, User, user_for_token

ANY_ROLE: tuple[Role, ...] = ROLES


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(request: Request, token: str | None) -> User:
    if token is None:
        raise ApiError(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    async with request.app.state.services.pool.connection() as conn:
        user = await user_for_token(conn, token)
    if user is None:
        raise ApiError(401, "the token is not valid", headers={"WWW-Authenticate": "Bearer"})
    return user


def require_roles(*roles: Role) -> Callable[[Request], Awaitable[User]]:
    """A dependency that returns the caller, after checking the caller holds one of `roles`."""
    allowed = frozenset(roles) | {"admin"}

    async def dependency(request: Request) -> User:
        user = await authenticate(request, bearer_token(request))
        if user.role not in allowed:
            raise ApiError(403, f"this needs one of the roles: {', '.join(sorted(allowed))}")
        return user

    dependency.seawatch_roles = allowed  # type: ignore[attr-defined]  # read by the route audit test
    return dependency
