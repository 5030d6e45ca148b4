import math
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests.tracking.records import (
    FORMAT_1_BATCH,
    T0,
    ais_position,
    ais_static,
    base_station,
    jt808_position,
    safety,
)
from tracking.rows import (
    EventRow,
    PositionRow,
    RejectedRecord,
    StaticRow,
    decode_rows,
    encode_rows,
    identity_of,
    to_json,
    to_row,
)


def test_an_ais_position_becomes_a_positions_row() -> None:
    row = to_row(ais_position(n=3))
    assert isinstance(row, PositionRow)
    assert row.identity == ("mmsi", "412000001")
    assert (row.source, row.lon, row.lat) == ("ais", 115.303, 22.7015)
    assert (row.speed, row.course, row.heading, row.status, row.receivers) == (6.5, 91.5, 90.0, 7, 1)
    assert row.ts == T0 + timedelta(seconds=30)
    assert row.received_at == T0 + timedelta(seconds=30, milliseconds=250)


def test_a_jt808_position_is_placed_by_its_terminal() -> None:
    row = to_row(jt808_position())
    assert isinstance(row, PositionRow)
    assert row.identity == ("terminal", "013912345678")  # leading zeros matter
    assert row.status is None and row.heading is None


def test_missing_ts_falls_back_to_received_at() -> None:
    row = to_row(ais_position(ts=None))
    assert row.ts == ais_position()["received_at"]


def test_a_position_without_a_fix_is_kept_as_an_event() -> None:
    row = to_row(ais_position(lat=None, lon=None))
    assert isinstance(row, EventRow)
    assert row.kind == "position" and row.identity == ("mmsi", "412000001")
    data = orjson.loads(row.data)
    assert data["lat"] is None and data["speed"] == 6.5
    assert not {"kind", "source", "ts", "received_at"} & set(data)


def test_static_fills_its_columns_and_keeps_the_rest_as_data() -> None:
    row = to_row(ais_static())
    assert isinstance(row, StaticRow)
    assert row.values["shipname"] == "YUE SHAN WEI YU 12345"
    assert row.values["draught"] == 2.4 and row.values["imo"] == 9_123_456
    data = orjson.loads(row.data)
    assert data["epfd"] == 1 and data["feed"] == "shanwei-rx1"
    assert "shipname" not in data and "kind" not in data


def test_events_keep_the_record_without_the_duplicated_columns() -> None:
    row = to_row(safety())
    assert isinstance(row, EventRow)
    assert (row.kind, row.source, row.identity) == ("safety", "ais", ("mmsi", "412000001"))
    data = orjson.loads(row.data)
    assert data == {"msg_type": 14, "mmsi": 412_000_001, "text": "MAYDAY ENGINE FIRE", "feed": "shanwei-rx1"}


def test_a_base_station_is_not_given_a_vessel() -> None:
    row = to_row(base_station())
    assert isinstance(row, EventRow)
    assert row.identity is None
    assert orjson.loads(row.data)["mmsi"] == 4_130_001


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"mmsi": None}, "no_identity"),
        ({"mmsi": None, "lat": None, "lon": None}, "no_identity"),
        ({"mmsi": 0}, "bad_field"),
        ({"mmsi": 1_000_000_000}, "bad_field"),
        ({"lat": 95.0}, "bad_field"),
        ({"lon": math.nan}, "bad_field"),
        ({"speed": "fast"}, "bad_field"),
        ({"status": 40_000}, "bad_field"),
        ({"ts": "yesterday"}, "bad_field"),
        ({"kind": None}, "bad_record"),
    ],
)
def test_records_that_cannot_be_stored_are_rejected_with_a_reason(
    changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(RejectedRecord) as caught:
        to_row(ais_position(**changes))
    assert caught.value.reason == reason


def test_values_that_json_cannot_hold_are_made_safe() -> None:
    row = to_row(safety(text="SOS\x00\x00", raw=b"\x01\x02", ts=T0))
    assert isinstance(row, EventRow)
    data = orjson.loads(row.data)
    assert data["text"] == "SOS" and data["raw"] == "0102"
    assert to_json({"when": T0}) == b'{"when":"2025-07-01T08:00:00+00:00"}'


def test_text_columns_lose_nul_characters() -> None:
    row = to_row(ais_static(shipname="HAI\x00YANG"))
    assert isinstance(row, StaticRow) and row.values["shipname"] == "HAIYANG"


def test_identity_forms() -> None:
    assert identity_of({"mmsi": "412000001"}) == ("mmsi", "412000001")
    assert identity_of({"terminal": " 013912345678 "}) == ("terminal", "013912345678")
    assert identity_of({"tag_id": "E2801160"}) == ("tag", "E2801160")
    assert identity_of({"feed": "x"}) is None


def test_naive_and_text_times_are_read_as_utc() -> None:
    naive = to_row(ais_position(ts=datetime(2025, 7, 1, 8, 0)))  # naive on purpose
    text = to_row(ais_position(ts="2025-07-01T08:00:00+00:00"))
    assert naive.ts == text.ts == T0 and naive.ts.tzinfo is not None


def test_missing_received_at_is_the_time_of_writing() -> None:
    now = datetime(2025, 7, 2, tzinfo=UTC)
    record = safety(ts=None)
    del record["received_at"]
    row = to_row(record, now=now)
    assert isinstance(row, EventRow) and row.ts == row.received_at == now


def test_drill_records_become_drill_rows_and_real_ones_stay_real() -> None:
    drill = to_row(ais_position(drill=True))
    real = to_row(ais_position())
    assert isinstance(drill, PositionRow) and isinstance(real, PositionRow)
    assert drill.drill is True and real.drill is False
    static = to_row(ais_static(drill=True))
    assert isinstance(static, StaticRow) and static.drill is True
    assert "drill" not in orjson.loads(static.data)  # a column now, not kept twice
    event = to_row(safety(drill=True))
    assert isinstance(event, EventRow) and orjson.loads(event.data)["drill"] is True


def test_the_spool_form_rebuilds_the_same_rows() -> None:
    rows = [
        to_row(ais_position(n=1, speed=None, receivers=3)),
        to_row(ais_position(n=2, drill=True)),
        to_row(jt808_position()),
        to_row(ais_static()),
        to_row(ais_static(drill=True)),
        to_row(ais_static(mmsi=None)),
        to_row(safety(extra={"nested": [1, 2.5, None]})),
        to_row(base_station()),
    ]
    again = decode_rows(encode_rows(rows))
    assert [type(r) for r in again] == [type(r) for r in rows]
    for before, after in zip(rows, again, strict=True):
        if isinstance(before, PositionRow):
            assert after == before
        else:
            assert isinstance(after, StaticRow | EventRow)
            assert orjson.loads(after.data) == orjson.loads(before.data)
            assert (after.ts, after.identity, after.source) == (before.ts, before.identity, before.source)
        if isinstance(before, StaticRow):
            assert isinstance(after, StaticRow) and after.drill == before.drill
    assert again[0].ts.tzinfo is not None
    assert [getattr(r, "drill", None) for r in again[:5]] == [False, True, False, False, True]


def test_a_batch_spooled_in_format_1_still_reads() -> None:
    position, static, event = decode_rows(FORMAT_1_BATCH)
    assert isinstance(position, PositionRow)
    assert position.drill is False  # format 1 had no drill mark for positions
    assert position == to_row(ais_position(n=1))
    assert isinstance(static, StaticRow)
    assert static.drill is True  # format 1 kept it in data: it moves to the column
    assert static == to_row(ais_static(drill=True)) and "drill" not in orjson.loads(static.data)
    assert isinstance(event, EventRow) and orjson.loads(event.data)["drill"] is True


@pytest.mark.parametrize(
    "payload", [b"", b"[]", b'{"format": 99, "rows": []}', b'{"format": 1, "rows": [["x"]]}']
)
def test_anything_else_is_not_a_spooled_batch(payload: bytes) -> None:
    with pytest.raises(ValueError):
        decode_rows(payload)
