from datetime import UTC, datetime
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


def test_after_the_window_of_message_time_the_same_content_is_a_new_record() -> None:
    clock = FakeClock()
    dedup = Deduplicator(5.0, clock=clock)
    assert dedup.first_copy(position()) is None
    again = position(ts="2026-11-29T02:00:05+00:00")  # five seconds later by the message's own time
    assert dedup.first_copy(again) is None
    assert again["receivers"] == 1
    assert len(dedup) == 1  # the expired entry is gone


def test_a_recording_replayed_faster_than_real_time_keeps_legitimate_repeats() -> None:
    # An anchored vessel sends the same report every three minutes; replayed at full speed, the reports
    # arrive milliseconds apart on the wall clock. They are three transmissions, not one.
    clock = FakeClock()
    dedup = Deduplicator(5.0, clock=clock)
    reports = [position(ts=f"2026-11-29T02:0{minute}:00+00:00") for minute in (0, 3, 6)]
    for report in reports:
        assert dedup.first_copy(report) is None
        clock.now += 0.001
    assert [r["receivers"] for r in reports] == [1, 1, 1]
    # ...while a second receiver's copy of the last one, just as fast, is still a duplicate.
    assert dedup.first_copy(position(ts="2026-11-29T02:06:01+00:00", station="rx2")) is reports[2]


def test_the_wall_clock_does_not_expire_a_copy_with_the_same_message_time() -> None:
    clock = FakeClock()
    dedup = Deduplicator(5.0, clock=clock)
    first = position()
    assert dedup.first_copy(first) is None
    clock.now += 60.0  # the copy was held up on its way (a slow link, a replay paused)
    assert dedup.first_copy(position(station="rx2")) is first


def test_a_copy_a_little_older_than_the_first_one_is_still_a_duplicate() -> None:
    dedup = Deduplicator(5.0, clock=FakeClock())
    first = position(ts="2026-11-29T02:00:02+00:00")
    assert dedup.first_copy(first) is None
    assert dedup.first_copy(position(station="rx2", ts=datetime(2026, 11, 29, 2, 0, 0, tzinfo=UTC))) is first


def test_records_without_a_time_fall_back_to_the_clock() -> None:
    clock = FakeClock()
    dedup = Deduplicator(5.0, clock=clock)
    first = position(ts=None)
    assert dedup.first_copy(first) is None
    clock.now += 4.9
    assert dedup.first_copy(position(ts=None, station="rx2")) is first
    clock.now += 0.2  # 5.1 s after the first copy
    later = position(ts=None)
    assert dedup.first_copy(later) is None
    assert later["receivers"] == 1


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
