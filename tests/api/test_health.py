import httpx

from seawatch.bus import BusStatus


async def test_healthz_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_database_and_bus_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True, "mqtt": True}}


async def test_readyz_says_what_is_down(client: httpx.AsyncClient, bus: BusStatus) -> None:
    bus.connected = False
    response = await client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert error["checks"] == {"database": True, "mqtt": False}
    assert "mqtt" in error["message"]


async def test_the_console_page_is_served_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "<title>seawatch</title>" in response.text
