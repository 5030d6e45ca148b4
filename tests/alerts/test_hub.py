from datetime import UTC, datetime

from alerts.hub import ALERT_QUEUE, Hub
from alerts.model import Alert, VesselRef

T0 = datetime(2026, 7, 1, tzinfo=UTC)


def alert(seq: int) -> Alert:
    return Alert(
        id=1,
        seq=seq,
        kind="distress",
        severity="critical",
        state="open",
        key="k",
        vessel=VesselRef(1),
        position=None,
        opened_at=T0,
        updated_at=T0,
        title="t",
        details={},
        drill=False,
    )


def test_alerts_queue_in_order_for_alert_subscribers_only() -> None:
    hub = Hub()
    alerts, positions = hub.subscribe(["alerts"]), hub.subscribe(["positions"])
    for seq in (1, 2, 3):
        hub.publish_alert(alert(seq))
    assert [alerts.alerts.get_nowait()["seq"] for _ in range(3)] == [1, 2, 3]
    assert positions.alerts.empty()


def test_a_client_that_cannot_keep_up_is_marked_not_fed_partially() -> None:
    hub = Hub()
    slow = hub.subscribe(["alerts"])
    for seq in range(ALERT_QUEUE + 5):
        hub.publish_alert(alert(seq))
    assert slow.overflowed
    assert (
        slow.alerts.qsize() == ALERT_QUEUE
    )  # what it has is in order; it resumes from the DB with since_seq


def test_positions_keep_only_the_latest_per_vessel_inside_the_bbox() -> None:
    hub = Hub()
    client = hub.subscribe(["positions"], (115.0, 22.0, 116.0, 23.0))
    hub.publish_position(1, {"vessel_id": 1, "lon": 115.1, "lat": 22.1})
    hub.publish_position(1, {"vessel_id": 1, "lon": 115.2, "lat": 22.2})
    hub.publish_position(2, {"vessel_id": 2, "lon": 120.0, "lat": 22.2})  # outside the box
    assert client.take_positions() == [{"vessel_id": 1, "lon": 115.2, "lat": 22.2}]
    assert client.take_positions() == []


def test_alerts_published_during_a_replay_are_held_then_deduplicated_by_seq() -> None:
    hub = Hub()
    client = hub.subscribe(["alerts"], hold=True)
    hub.publish_alert(alert(5))
    hub.publish_alert(alert(6))
    assert client.alerts.empty()
    hub.release(client, after_seq=5)  # the replay already sent up to 5
    assert client.alerts.get_nowait()["seq"] == 6
    assert client.alerts.empty()
