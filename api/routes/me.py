"""Who the caller is: lets the console check a token and show the right controls for the role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.auth import require
from api.ratelimit import rate_limited
from api.users import Role, User

router = APIRouter(prefix="/api", tags=["auth"])


class Me(BaseModel):
    name: str
    role: Role


@router.get(
    "/me",
    summary="The user the bearer token belongs to; the console's login check (rate-limited)",
    dependencies=[Depends(rate_limited("login"))],
)
async def me(user: Annotated[User, Depends(require("read"))]) -> Me:
    return Me(name=user.name, role=user.role)
