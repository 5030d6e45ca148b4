from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import ApiServices, create_app
from seawatch.bus import BusStatus
from seawatch.settings import Settings
from tracking.db import Pool


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
