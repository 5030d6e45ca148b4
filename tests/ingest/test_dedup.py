from typing import Any

from ingest.dedup import Deduplicator, transmission_key


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def position(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "position",
        "source": "ais",
        "ts": "2026-11-29T02:00:00+00:00",
        "station": "rx1",
        "msg_type": 1,
        "mmsi": 412345678,
        "lon": 115.35,
        "lat": 22.75,
        "speed": 7.2,
        "second": 12,
    }
    record.update(changes)
    return record


def test_the_same_transmission_from_three_receivers_is_one_record() -> None:
    clock = FakeClock()
    dedup = Deduplicator(5.0, clock=clock)
    first = position()
    assert dedup.first_copy(first) is None
    clock.now += 0.4
    assert dedup.first_copy(position(station="rx2", ts="2026-11-29T02:00:01+00:00")) is first
    clock.now += 0.4
    assert dedup.first_copy(position(station="rx3", channel="B")) is first
    assert first["receivers"] == 3


def test_a_different_report_is_not_a_duplicate() -> None:
    dedup = Deduplicator(5.0, clock=FakeClock())
    assert dedup.first_copy(position()) is None
    assert dedup.first_copy(position(second=14, lat=22.7501)) is None
    assert dedup.first_copy(position(mmsi=412345679)) is None


def test_after_the_window_the_same_content_is_a_new_record() -> None:
    clock = FakeClock()
    dedup = Deduplicator(5.0, clock=clock)
    assert dedup.first_copy(position()) is None
    clock.now += 5.0
    again = position()
    assert dedup.first_copy(again) is None
    assert again["receivers"] == 1
    assert len(dedup) == 1  # the expired entry is gone


def test_memory_is_bounded() -> None:
    dedup = Deduplicator(60.0, max_entries=100, clock=FakeClock())
    for second in range(1000):
        dedup.first_copy(position(second=second % 60, mmsi=400000000 + second))
    assert len(dedup) == 100


def test_a_zero_window_turns_deduplication_off() -> None:
    dedup = Deduplicator(0.0, clock=FakeClock())
    assert dedup.first_copy(position()) is None
    assert dedup.first_copy(position()) is None


def test_key_ignores_receiver_fields_only() -> None:
    assert transmission_key(position(feed="a", received_at=1, peer="x")) == transmission_key(position())
    assert transmission_key(position(heading=90)) != transmission_key(position())
