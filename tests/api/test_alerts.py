from datetime import UTC, datetime

import httpx

from alerts.model import Condition, VesselRef
from alerts.store import AlertStore
from tests.conftest import MakeToken
from tracking.db import Pool

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


async def raise_alert(pool: Pool, kind: str = "distress", n: int = 1) -> int:
    condition = Condition(kind=kind, key=f"{kind}:vessel:{n}", severity="critical", title=f"{kind} {n}")  # type: ignore[arg-type]
    return (await AlertStore(pool).raise_condition(condition, VesselRef(None, 412000001, "粤汕渔1"), T0)).id


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_list_and_read_with_the_audit_trail(
    client: httpx.AsyncClient, pool: Pool, make_token: MakeToken
) -> None:
    first = await raise_alert(pool, n=1)
    await raise_alert(pool, "geofence", n=2)
    viewer = auth(await make_token("viewer"))
    listed = (await client.get("/api/alerts", headers=viewer)).json()
    assert [a["kind"] for a in listed["alerts"]] == ["geofence", "distress"]
    only = (
        await client.get("/api/alerts", params={"kind": "distress", "state": "open"}, headers=viewer)
    ).json()
    assert [a["id"] for a in only["alerts"]] == [first]
    page = (await client.get("/api/alerts", params={"limit": 1}, headers=viewer)).json()
    rest = (
        await client.get("/api/alerts", params={"before_seq": page["next_before_seq"]}, headers=viewer)
    ).json()
    assert [a["id"] for a in rest["alerts"]] == [first]
    one = (await client.get(f"/api/alerts/{first}", headers=viewer)).json()
    assert one["vessel"] == {"id": None, "mmsi": 412000001, "name": "粤汕渔1"}
    assert [a["action"] for a in one["audit"]] == ["open"]
    assert (await client.get("/api/alerts/999999", headers=viewer)).status_code == 404


async def test_the_lifecycle_through_the_api(
    client: httpx.AsyncClient, pool: Pool, make_token: MakeToken
) -> None:
    alert_id = await raise_alert(pool)
    operator, dispatcher = auth(await make_token("operator")), auth(await make_token("dispatcher"))
    acked = await client.post(f"/api/alerts/{alert_id}/ack", headers=operator)
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assigned = await client.post(
        f"/api/alerts/{alert_id}/assign", json={"assignee": "SAR boat 3"}, headers=dispatcher
    )
    assert assigned.json()["assigned_to"] == "SAR boat 3"
    assert (
        await client.post(f"/api/alerts/{alert_id}/note", json={"note": "on scene 14:05"}, headers=operator)
    ).status_code == 200
    resolved = await client.post(
        f"/api/alerts/{alert_id}/resolve", json={"note": "all crew safe"}, headers=dispatcher
    )
    assert resolved.json()["state"] == "resolved"
    again = await client.post(f"/api/alerts/{alert_id}/ack", headers=operator)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    trail = (await client.get(f"/api/alerts/{alert_id}", headers=operator)).json()["audit"]
    assert [(a["action"], a["role"]) for a in trail] == [
        ("open", "system"),
        ("ack", "operator"),
        ("assign", "dispatcher"),
        ("note", "operator"),
        ("resolve", "dispatcher"),
    ]


async def test_only_a_dispatcher_closes_a_distress(
    client: httpx.AsyncClient, pool: Pool, make_token: MakeToken
) -> None:
    distress, geofence = await raise_alert(pool, "distress", 1), await raise_alert(pool, "geofence", 2)
    operator = auth(await make_token("operator"))
    refused = await client.post(f"/api/alerts/{distress}/resolve", headers=operator)
    assert refused.status_code == 403 and "dispatcher" in refused.json()["error"]["message"]
    assert (await client.post(f"/api/alerts/{geofence}/resolve", headers=operator)).status_code == 200


async def test_admins_and_viewers_do_not_act_on_alerts(
    client: httpx.AsyncClient, pool: Pool, make_token: MakeToken
) -> None:
    alert_id = await raise_alert(pool)
    for role in ("admin", "viewer", "official"):
        response = await client.post(f"/api/alerts/{alert_id}/ack", headers=auth(await make_token(role)))
        assert response.status_code == 403, role
    assert (await client.post(f"/api/alerts/{alert_id}/ack")).status_code == 401


async def test_bad_bodies_are_422(client: httpx.AsyncClient, pool: Pool, make_token: MakeToken) -> None:
    alert_id = await raise_alert(pool)
    dispatcher = auth(await make_token("dispatcher"))
    missing = await client.post(f"/api/alerts/{alert_id}/assign", json={}, headers=dispatcher)
    assert missing.status_code == 409  # valid JSON, but assign needs an assignee
    huge = await client.post(f"/api/alerts/{alert_id}/note", json={"note": "x" * 5000}, headers=dispatcher)
    assert huge.status_code == 422
