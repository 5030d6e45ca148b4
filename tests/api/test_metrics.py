import httpx

from ingest.metrics import DECODED
from tests.conftest import MakeToken


async def test_metrics_need_a_token_and_show_ingest_counters(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    assert (await client.get("/metrics")).status_code == 401
    DECODED.labels("metrics-test-feed").inc(3)
    token = await make_token("viewer")
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'seawatch_ingest_decoded_total{feed="metrics-test-feed"} 3.0' in response.text
