"""decode_frame / decode_hex_line / expand_batch behaviour beyond the reference vectors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from ingest.jt808 import (
    Jt808Error,
    build_frame,
    decode_body,
    decode_frame,
    decode_hex_line,
    encode_header,
    expand_batch,
    looks_like_hex_text,
)
from ingest.jt808.additional import AdditionalItems
from ingest.jt808.alarms import ALARM_NAMES
from ingest.jt808.messages import BatchLocationUpload, LocationReport

# Traccar's heartbeat sample
HEARTBEAT_HEX = "7e0002000004304832546500b7ca7e"


def location(**changes: object) -> LocationReport:
    base = {
        "alarm_bits": 0,
        "status_bits": 2,
        "lat_e6": 22_780_000,
        "lon_e6": 115_360_000,
        "altitude": 0,
        "speed_dkmh": 185,
        "course": 270,
        "time": "250601080000",
        "additional": AdditionalItems(),
    }
    return LocationReport(**{**base, **changes})  # type: ignore[arg-type]


def frame_for(msg_id: int, body: bytes, *, encryption: int = 0, version: int = 2013) -> bytes:
    head = bytearray(encode_header(msg_id, len(body), terminal="13912345678", serial=9, version=version))
    head[2] |= encryption << 2  # encryption bits 10-12 of the properties
    return build_frame(bytes(head) + body)


def test_position_record_shape() -> None:
    record = decode_frame(frame_for(0x0200, location().encode()))
    assert list(record)[:3] == ["kind", "source", "ts"]
    assert record["kind"] == "position" and record["source"] == "jt808"
    assert record["ts"] == datetime(2025, 6, 1, 0, 0, tzinfo=UTC)  # 08:00 in Beijing
    assert (record["lat"], record["lon"], record["course"]) == (22.78, 115.36, 270)
    assert record["speed_kmh"] == 18.5 and record["speed"] == 9.989
    assert record["fix"] is True and record["status_flags"] == ["positioned"]
    assert record["terminal"] == "013912345678" and record["serial"] == 9 and record["version"] == 2013
    json.dumps(record, default=str)  # JSON-ready once the caller serialises ts


def test_terminal_sends_utc() -> None:
    record = decode_frame(frame_for(0x0200, location().encode()), terminal_sends_utc=True)
    assert record["ts"] == datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("time", ["000000000000", "251301080000", "25060108000a"])
def test_impossible_device_time_is_none(time: str) -> None:
    record = decode_body(0x0200, location(time=time).encode())
    assert record["ts"] is None


def test_hemisphere_bits_and_impossible_coordinates() -> None:
    record = decode_body(0x0200, location(status_bits=2 | 4 | 8).encode())
    assert (record["lat"], record["lon"]) == (-22.78, -115.36)
    record = decode_body(0x0200, location(lat_e6=91_000_000, lon_e6=181_000_000, course=360).encode())
    assert (record["lat"], record["lon"], record["course"]) == (None, None, None)


def test_alarm_names() -> None:
    assert ALARM_NAMES[0] == "emergency"
    assert len(ALARM_NAMES) == len(set(ALARM_NAMES)) == 32
    assert all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", name) for name in ALARM_NAMES)
    record = decode_body(0x0200, location(alarm_bits=1 | 1 << 31).encode())
    assert record["alarms"] == ["emergency", "illegal_door_open"]


def test_malformed_additional_items_are_kept() -> None:
    items = ((0x01, b"\x00\x01"), (0x11, b"\x01\x00\x00\x00\x07"), (0x11, b"\x00"), (0x77, b""))
    record = decode_body(0x0200, location(additional=AdditionalItems(items, b"\x30\x05\x01")).encode())
    assert record["overspeed_area"] == {"area_type": 1, "area_id": 7}
    assert "mileage_km" not in record
    assert record["additional_raw"] == {"0x01": "0001", "0x11": "00", "0x77": "", "tail": "300501"}


def test_short_position_body_is_a_body_error() -> None:
    with pytest.raises(Jt808Error) as caught:
        decode_frame(frame_for(0x0200, bytes(27)))
    assert caught.value.code == "body"


def test_batch_expands_to_positions_with_the_header() -> None:
    batch = BatchLocationUpload(2, 1, (location(), location(course=90, time="250601080100")))
    record = decode_frame(frame_for(0x0704, batch.encode()))
    assert record["kind"] == "position_batch" and record["count"] == 2 and record["batch_type"] == 1
    assert record["ts"] == datetime(2025, 6, 1, 0, 1, tzinfo=UTC)  # the newest position
    positions = expand_batch(record)
    assert [p["course"] for p in positions] == [270, 90]
    assert all(p["kind"] == "position" and p["terminal"] == "013912345678" for p in positions)
    assert all(p["batch_type"] == 1 and p["serial"] == 9 for p in positions)
    assert "positions" not in positions[0]
    assert expand_batch({"kind": "heartbeat"}) == [{"kind": "heartbeat"}]


def test_truncated_batch_keeps_complete_positions() -> None:
    body = BatchLocationUpload(2, 0, (location(), location())).encode()
    record = decode_frame(frame_for(0x0704, body[:-5]))
    assert record["count"] == 2 and len(record["positions"]) == 1  # type: ignore[arg-type]
    assert record["extra_hex"] == body[3 + 2 + 28 : -5].hex()  # count, type, first item


def test_unknown_encrypted_and_fragment_records() -> None:
    raw = decode_frame(frame_for(0x0900, b"\xf0hello"))
    assert (raw["kind"], raw["body_hex"]) == ("raw", "f068656c6c6f")
    encrypted = decode_frame(frame_for(0x0200, location().encode(), encryption=1))
    assert (encrypted["kind"], encrypted["encryption"]) == ("raw", 1)
    head = encode_header(0x0200, 3, terminal="1", serial=1, packet=(2, 1))
    fragment = decode_frame(build_frame(head + b"\x01\x02\x03"))
    assert fragment["kind"] == "fragment"
    assert (fragment["packet_total"], fragment["packet_index"], fragment["body_hex"]) == (2, 1, "010203")


def test_extra_bytes_after_a_fixed_layout_are_kept() -> None:
    record = decode_frame(frame_for(0x0002, b"\x64\x1f\x00"))  # a vendor's battery/signal heartbeat
    assert record["kind"] == "heartbeat" and record["extra_hex"] == "641f00"


def test_2019_auth() -> None:
    body = bytes([5]) + b"45612" + b"123456789012345" + b"v2.0.0".ljust(20, b"\x00")
    record = decode_frame(frame_for(0x0102, body, version=2019))
    assert (record["auth_code"], record["imei"], record["software_version"]) == (
        "45612",
        "123456789012345",
        "v2.0.0",
    )


def test_hex_lines() -> None:
    assert decode_hex_line(HEARTBEAT_HEX)["kind"] == "heartbeat"
    spaced = " ".join(HEARTBEAT_HEX[i : i + 2] for i in range(0, len(HEARTBEAT_HEX), 2)).upper()
    assert decode_hex_line(f"  {spaced}\r\n")["terminal"] == "043048325465"
    bad = [("", "empty"), ("   \n", "empty"), ("7e0g", "hex"), ("7e0", "hex"), ("00", "delimiter")]
    for line, code in bad:
        with pytest.raises(Jt808Error) as caught:
            decode_hex_line(line)
        assert caught.value.code == code


def test_hex_text_detection() -> None:
    assert looks_like_hex_text(b"7e0002000004304832546500b7ca7e\n7e02")
    assert looks_like_hex_text(b"7E 00 02 00\r\n")
    assert not looks_like_hex_text(bytes.fromhex(HEARTBEAT_HEX))
    assert not looks_like_hex_text(b"")
    assert not looks_like_hex_text(b"!AIVDM,1,1,,B,")
