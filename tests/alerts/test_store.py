import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from alerts.model import Condition, Position, VesselRef
from alerts.store import Actor, AlertActionError, AlertNotFound, AlertStore
from tracking.db import Pool

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
DISPATCHER = Actor("lin", "dispatcher")


def distress(**changes: object) -> Condition:
    values: dict = {  # type: ignore[type-arg]
        "kind": "distress",
        "key": "distress:vessel:7",
        "severity": "critical",
        "title": "Distress: AIS-SART active",
        "position": Position(115.4, 22.6),
        "details": {"sources": ["ais_sart"]},
    }
    values.update(changes)
    return Condition(**values)


async def test_a_condition_opens_one_alert_and_updates_it(pool: Pool) -> None:
    store = AlertStore(pool)
    first = await store.raise_condition(distress(), VesselRef(None, 970123456, "SART"), T0)
    second = await store.raise_condition(
        distress(details={"sources": ["ais_sart", "jt808_emergency"]}),
        VesselRef(None),
        T0 + timedelta(seconds=5),
    )
    assert second.id == first.id
    assert second.seq > first.seq
    assert second.vessel.mmsi == 970123456  # kept from when it was raised
    assert second.details["sources"] == ["ais_sart", "jt808_emergency"]
    assert [a["action"] for a in await store.audit(first.id)] == ["open", "update"]
    assert [a.id for a in await store.open_alerts()] == [first.id]


async def test_the_lifecycle_is_audited_with_who_and_role(pool: Pool) -> None:
    store = AlertStore(pool)
    alert = await store.raise_condition(distress(), VesselRef(None), T0)
    acked = await store.act(alert.id, "ack", Actor("chen", "operator"), T0 + timedelta(seconds=10))
    assigned = await store.act(
        alert.id, "assign", DISPATCHER, T0 + timedelta(seconds=20), assignee="rescue-boat-3"
    )
    noted = await store.act(alert.id, "note", DISPATCHER, T0 + timedelta(seconds=30), note="boat on its way")
    resolved = await store.act(alert.id, "resolve", DISPATCHER, T0 + timedelta(seconds=40), note="crew safe")
    assert (acked.state, assigned.state, noted.state, resolved.state) == (
        "acknowledged",
        "assigned",
        "assigned",
        "resolved",
    )
    assert assigned.assigned_to == "rescue-boat-3"
    assert resolved.resolved_at == T0 + timedelta(seconds=40)
    trail = await store.audit(alert.id)
    assert [(a["action"], a["actor"], a["role"]) for a in trail] == [
        ("open", "system", "system"),
        ("ack", "chen", "operator"),
        ("assign", "lin", "dispatcher"),
        ("note", "lin", "dispatcher"),
        ("resolve", "lin", "dispatcher"),
    ]
    assert [a["seq"] for a in trail] == sorted(a["seq"] for a in trail)
    assert trail[3]["note"] == "boat on its way"


async def test_actions_the_state_does_not_allow_are_refused(pool: Pool) -> None:
    store = AlertStore(pool)
    alert = await store.raise_condition(distress(), VesselRef(None), T0)
    await store.act(alert.id, "resolve", DISPATCHER, T0)
    with pytest.raises(AlertActionError, match="resolved"):
        await store.act(alert.id, "ack", DISPATCHER, T0)
    with pytest.raises(AlertActionError, match="assign needs"):
        await store.act(
            (await store.raise_condition(distress(), VesselRef(None), T0)).id, "assign", DISPATCHER, T0
        )
    with pytest.raises(AlertNotFound):
        await store.act(999_999, "ack", DISPATCHER, T0)


async def test_after_resolution_the_same_condition_opens_a_new_alert(pool: Pool) -> None:
    store = AlertStore(pool)
    first = await store.raise_condition(distress(), VesselRef(None), T0)
    cleared = await store.clear_condition(first.key, T0 + timedelta(minutes=1))
    assert cleared is not None and cleared.state == "resolved"
    assert await store.clear_condition(first.key, T0) is None
    again = await store.raise_condition(distress(), VesselRef(None), T0 + timedelta(minutes=2))
    assert again.id != first.id


async def test_concurrent_actions_lose_no_update(pool: Pool) -> None:
    store = AlertStore(pool)
    alert = await store.raise_condition(distress(), VesselRef(None), T0)
    await asyncio.gather(*(store.act(alert.id, "note", DISPATCHER, T0, note=f"note {i}") for i in range(10)))
    notes = [a["note"] for a in await store.audit(alert.id) if a["action"] == "note"]
    assert sorted(notes) == sorted(f"note {i}" for i in range(10))
    seqs = [a["seq"] for a in await store.audit(alert.id)]
    assert len(set(seqs)) == len(seqs)


async def test_since_replays_every_change_in_order(pool: Pool) -> None:
    store = AlertStore(pool)
    a = await store.raise_condition(distress(), VesselRef(None), T0)
    b = await store.raise_condition(distress(key="distress:vessel:8"), VesselRef(None), T0)
    a2 = await store.act(a.id, "ack", DISPATCHER, T0)
    replay = await store.since(a.seq)
    assert [(x.id, x.seq) for x in replay] == [(b.id, b.seq), (a2.id, a2.seq)]
    assert [x.id for x in await store.query(states=["open"])] == [b.id]
    page = await store.query(limit=1)
    assert [x.id for x in page] == [a.id]  # newest change first
    assert [x.id for x in await store.query(before_seq=page[0].seq)] == [b.id]


async def test_unacknowledged_critical_alerts_come_due_again(pool: Pool) -> None:
    store = AlertStore(pool)
    alert = await store.raise_condition(distress(), VesselRef(None), T0)
    assert await store.due_for_renotify(T0) == []
    due = await store.due_for_renotify(T0 + timedelta(minutes=2))
    assert [d.id for d in due] == [alert.id]
    renewed = await store.renotified(alert.id, T0 + timedelta(minutes=2))
    assert renewed.seq > alert.seq
    assert await store.due_for_renotify(T0 + timedelta(minutes=2)) == []
    await store.act(alert.id, "ack", DISPATCHER, T0)
    assert await store.due_for_renotify(T0 + timedelta(hours=1)) == []
