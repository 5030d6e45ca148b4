"""Bearer-token authentication and permission checks, as FastAPI dependencies.

Every route but /healthz, /readyz and the console's static files declares its permission with
`Depends(require("…"))` (the roles are in `api/policy.py`); `tests/api/test_auth.py` walks the app's
routes to make sure none forgets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from api.errors import ApiError
from api.policy import POLICY
from api.users import User, user_for_token


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


def forbidden(permission: str) -> ApiError:
    return ApiError(403, f"{permission} needs one of the roles: {', '.join(sorted(POLICY[permission]))}")


def require(permission: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency that returns the caller, after checking the caller's role has `permission`."""
    roles = POLICY[permission]

    async def dependency(request: Request) -> User:
        user = await authenticate(request, bearer_token(request))
        if user.role not in roles:
            raise forbidden(permission)
        return user

    dependency.seawatch_permission = permission  # type: ignore[attr-defined]  # read by the policy tests
    return dependency
