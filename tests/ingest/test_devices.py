"""Gate tag reads and terminal JSON: the decode contract, every way a payload is refused, the schemas."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.devices import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    DeviceMessageError,
    decode_tag_read,
    decode_terminal_json,
    schema_documents,
)
from ingest.jt808.alarms import alarm_names
from seawatch.settings import DevicesSettings
from tracking.rows import EventRow, PositionRow, to_row

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
NOW = datetime(2025, 7, 1, 8, 0, 30, tzinfo=UTC)
TAGS = "seawatch/tags/gate-shanwei-1"
TERMINALS = "seawatch/terminals/013912345678"


def tag_payload(**changes: Any) -> bytes:
    payload: dict[str, Any] = {
        "reader": "gate-shanwei-1",
        "tag": "e2801160600002084c3f9a11",
        "time": "2025-07-01T16:00:00+08:00",
        "direction": "out",
        "rssi": -61.5,
        "antenna": 2,
        "lon": 115.3621,
        "lat": 22.7745,
        "zone": "shanwei-harbour",
    }
    payload.update(changes)
    return json.dumps({k: v for k, v in payload.items() if v is not ...}).encode()


def terminal_payload(**changes: Any) -> bytes:
    payload: dict[str, Any] = {
        "terminal": "013912345678",
        "time": "2025-07-01T08:00:00Z",
        "lat": 22.6,
        "lon": 115.4,
        "speed": 6.2,
        "course": 135.0,
        "battery": 87,
        "alarms": {"sos": False},
    }
    payload.update(changes)
    return json.dumps({k: v for k, v in payload.items() if v is not ...}).encode()


def test_a_tag_read_becomes_a_tag_read_record() -> None:
    record = decode_tag_read(TAGS, tag_payload(), now=NOW)
    assert record == {
        "kind": "tag_read",
        "source": "tag",
        "ts": datetime(2025, 7, 1, 8, 0, tzinfo=UTC),
        "tag_id": "E2801160600002084C3F9A11",
        "reader": "gate-shanwei-1",
        "direction": "out",
        "rssi": -61.5,
        "antenna": 2,
        "lon": 115.3621,
        "lat": 22.7745,
        "zone": "shanwei-harbour",
        "extra": None,
    }
    assert record["ts"].utcoffset() == timedelta(0)
    row = to_row(record)
    assert isinstance(row, EventRow)
    assert row.identity == ("tag", "E2801160600002084C3F9A11")


def test_a_minimal_tag_read_has_an_unknown_direction() -> None:
    payload = tag_payload(direction=..., rssi=..., antenna=..., lon=..., lat=..., zone=...)
    record = decode_tag_read(TAGS, payload, now=NOW)
    assert record["direction"] == "unknown"
    assert record["lon"] is None and record["rssi"] is None


def test_a_pretty_printed_payload_with_newlines_is_one_message() -> None:
    payload = orjson.dumps(orjson.loads(tag_payload()), option=orjson.OPT_INDENT_2)
    assert b"\n" in payload
    assert decode_tag_read(TAGS, payload, now=NOW)["reader"] == "gate-shanwei-1"


def test_a_terminal_report_becomes_a_position_like_a_jt808_one() -> None:
    record = decode_terminal_json(TERMINALS, terminal_payload(), now=NOW)
    assert record["kind"] == "position"
    assert record["source"] == "terminal_json"
    assert record["terminal"] == "013912345678"
    assert record["ts"] == datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
    assert (record["lat"], record["lon"], record["fix"]) == (22.6, 115.4, True)
    assert record["speed"] == 6.2
    assert record["speed_kmh"] == pytest.approx(6.2 * 1.852, abs=0.05)
    assert (record["alarm_bits"], record["alarms"]) == (0, [])
    assert record["battery"] == 87
    row = to_row(record)
    assert isinstance(row, PositionRow)
    assert row.identity == ("terminal", "013912345678")


def test_sos_is_the_jt808_emergency_bit() -> None:
    record = decode_terminal_json(
        TERMINALS, terminal_payload(alarms={"sos": True, "low_battery": True}), now=NOW
    )
    assert record["alarm_bits"] & 1
    assert record["alarms"] == alarm_names(record["alarm_bits"])
    assert record["alarms"] == ["emergency", "main_power_undervoltage"]


def test_speed_in_kmh_alone_is_converted_to_knots() -> None:
    record = decode_terminal_json(TERMINALS, terminal_payload(speed=..., speed_kmh=18.52), now=NOW)
    assert record["speed"] == pytest.approx(10.0)
    assert record["speed_kmh"] == 18.52


def test_an_sos_without_a_fix_is_still_a_record_and_stored_as_an_event() -> None:
    record = decode_terminal_json(
        TERMINALS, terminal_payload(lat=..., lon=..., speed=..., alarms={"sos": True}), now=NOW
    )
    assert (record["lat"], record["lon"], record["fix"]) == (None, None, False)
    assert record["alarms"] == ["emergency"]
    assert isinstance(to_row(record), EventRow)


def test_vendor_data_rides_along_in_extra() -> None:
    record = decode_terminal_json(TERMINALS, terminal_payload(extra={"fw": "2.1", "csq": 18}), now=NOW)
    assert record["extra"] == {"fw": "2.1", "csq": 18}


@pytest.mark.parametrize(
    ("payload", "reason", "words"),
    [
        (b"", "bad_json", "not JSON"),
        (b"{not json", "bad_json", "not JSON"),
        (b"\xff\xfe{}", "bad_json", "not JSON"),
        (b"[1, 2]", "schema", "object"),
        (tag_payload(tag=...), "schema", "tag: Field required"),
        (tag_payload(direction="sideways"), "schema", "direction"),
        (tag_payload(rssi="-60"), "schema", "rssi"),  # a number as text: a device bug worth seeing
        (tag_payload(time="2025-07-01T08:00:00"), "schema", "timezone"),  # no UTC offset: whose clock?
        (tag_payload(time=1751356800), "schema", "time"),
        (tag_payload(lat=...), "schema", "lon and lat come together"),
        (tag_payload(directon="out"), "schema", "directon: Extra inputs are not permitted"),
        (tag_payload(tag="e2 80"), "schema", "tag"),
        (tag_payload(reader="gate-2"), "topic_mismatch", "'gate-shanwei-1'"),
        (tag_payload(time="2025-07-01T09:00:00Z"), "future_time", "ahead"),
        (tag_payload(extra={"big": 2**70}), "schema", "extra"),
        (
            b'{"reader": "gate-shanwei-1", "tag": "A", "time": "2025-07-01T08:00:00Z", "rssi": NaN}',
            "schema",
            "rssi",
        ),
    ],
)
def test_bad_tag_reads_are_refused_with_a_reason(payload: bytes, reason: str, words: str) -> None:
    with pytest.raises(DeviceMessageError) as caught:
        decode_tag_read(TAGS, payload, now=NOW)
    assert caught.value.reason == reason
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("payload", "reason", "words"),
    [
        (terminal_payload(lat=95.0), "schema", "lat"),
        (terminal_payload(speed=10.0, speed_kmh=10.0), "schema", "disagree"),  # km/h sent as knots
        (terminal_payload(alarms={"panic": True}), "schema", "alarms.panic"),
        (terminal_payload(alarms={"sos": 1}), "schema", "alarms.sos"),
        (terminal_payload(terminal="013912345679"), "topic_mismatch", "013912345679"),
        (terminal_payload(time="2026-01-01T00:00:00Z"), "future_time", "2026-01-01"),
    ],
)
def test_bad_terminal_reports_are_refused_with_a_reason(payload: bytes, reason: str, words: str) -> None:
    with pytest.raises(DeviceMessageError) as caught:
        decode_terminal_json(TERMINALS, payload, now=NOW)
    assert caught.value.reason == reason
    assert words in str(caught.value)


def test_a_payload_over_the_limit_is_refused_before_parsing() -> None:
    payload = terminal_payload(extra={"pad": "x" * 2000})
    with pytest.raises(DeviceMessageError) as caught:
        decode_terminal_json(TERMINALS, payload, max_payload_bytes=1024, now=NOW)
    assert caught.value.reason == "too_long"
    assert decode_terminal_json(TERMINALS, payload, max_payload_bytes=len(payload), now=NOW)


def test_a_time_a_little_ahead_is_a_clock_tolerated() -> None:
    ahead = (NOW + timedelta(minutes=5)).isoformat()
    assert decode_tag_read(TAGS, tag_payload(time=ahead), now=NOW)["ts"] == NOW + timedelta(minutes=5)


def test_the_default_limit_is_the_settings_default() -> None:
    assert DevicesSettings().max_payload_bytes == DEFAULT_MAX_PAYLOAD_BYTES


def test_the_schema_files_are_what_the_models_say() -> None:
    documents = schema_documents()
    assert sorted(documents) == sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    for name, text in documents.items():
        stored = (SCHEMAS / name).read_text(encoding="utf-8")
        assert stored == text, f"docs/schemas/{name} is stale: run `python -m ingest.devices docs/schemas`"


def test_the_schemas_say_what_validation_does() -> None:
    tag = orjson.loads(schema_documents()["tag-read.schema.json"])
    assert tag["required"] == ["reader", "tag", "time"]
    assert tag["additionalProperties"] is False
    assert tag["properties"]["direction"]["enum"] == ["in", "out", "unknown"]
    assert tag["properties"]["time"]["format"] == "date-time"
    terminal = orjson.loads(schema_documents()["terminal-position.schema.json"])
    assert terminal["required"] == ["terminal", "time"]
    alarms = terminal["$defs"]["TerminalAlarms"]
    assert "sos" in alarms["properties"]
    assert alarms["additionalProperties"] is False
