from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from api.app import ApiServices, create_app
from api.users import add_user
from seawatch.bus import BusStatus
from seawatch.settings import Settings
from tracking.db import Pool

MakeToken = Callable[[str], Awaitable[str]]


@pytest.fixture
def bus() -> BusStatus:
    status = BusStatus()
    status.connected = True
    return status


@pytest.fixture
async def client(pool: Pool, bus: BusStatus, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ApiServices(settings=Settings(database_url=database_url), pool=pool, bus=bus))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seawatch.test") as http:
        yield http


@pytest.fixture
def make_token(pool: Pool) -> MakeToken:
    """Creates a user with the given role and returns a token for it."""

    async def make(role: str) -> str:
        async with pool.connection() as conn:
            _, token = await add_user(conn, f"{role}-user", role)
        return token

    return make
