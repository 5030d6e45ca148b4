"""Encoding: byte-exact against other implementations' frames, and encode → decode round trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.jt808 import (
    Jt808Error,
    decode_body,
    decode_frame,
    encode_general_response,
    encode_message,
    encode_register_response,
)
from ingest.jt808.additional import AdditionalItems
from ingest.jt808.messages import LocationReport, TerminalRegister

terminals_2013 = st.text("0123456789", min_size=1, max_size=12)
terminals_2019 = st.text("0123456789", min_size=1, max_size=20)
u16s = st.integers(0, 0xFFFF)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # yezhihao/jt808-server's 0x8001 in both header versions
        (
            {"terminal": "123456789012", "serial": 1, "reply_serial": 123, "reply_msg_id": 456, "result": 3},
            "7e800100051234567890120001007b01c803be7e",
        ),
        (
            {
                "terminal": "12345678901234567890",
                "serial": 65535,
                "reply_serial": 123,
                "reply_msg_id": 456,
                "result": 3,
                "version": 2019,
                "protocol_version": 1,
            },
            "7e800140050112345678901234567890ffff007b01c803747e",
        ),
        # go-jt808's 0x8001
        (
            {"terminal": "012345678901", "serial": 0, "reply_serial": 32767, "reply_msg_id": 2},
            "7e8001000501234567890100007fff0002008e7e",
        ),
    ],
)
def test_general_response_matches_reference_frames(kwargs: dict[str, int | str], expected: str) -> None:
    assert encode_general_response(**kwargs).hex() == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"terminal": "123456789012", "serial": 1, "reply_serial": 38668, "auth_code": "chwD0SE1f" * 3},
            "7e8100001e1234567890120001970c00636877443053453166636877443053453166636877443053453166c67e",
        ),
        (
            {
                "terminal": "12345678901234567890",
                "serial": 65535,
                "reply_serial": 38668,
                "auth_code": "chwD0SE1f" * 3,
                "version": 2019,
            },
            "7e8100401e0112345678901234567890ffff970c00636877443053453166636877443053453166636877443053453166"
            "0c7e",
        ),
        (
            {"terminal": "012345678901", "serial": 0, "reply_serial": 0, "auth_code": "12345678901"},
            "7e8100000e01234567890100000000003132333435363738393031377e",
        ),
    ],
)
def test_register_response_matches_reference_frames(kwargs: dict[str, int | str], expected: str) -> None:
    assert encode_register_response(**kwargs).hex() == expected  # type: ignore[arg-type]


@given(
    st.one_of(
        st.tuples(st.just(2013), terminals_2013),
        st.tuples(st.just(2019), terminals_2019),
    ),
    u16s,
    u16s,
    u16s,
    st.integers(0, 4),
)
def test_general_response_round_trip(
    versioned: tuple[int, str], serial: int, reply_serial: int, reply_msg_id: int, result: int
) -> None:
    version, terminal = versioned
    frame = encode_general_response(
        terminal=terminal,
        serial=serial,
        reply_serial=reply_serial,
        reply_msg_id=reply_msg_id,
        result=result,
        version=version,
    )
    record = decode_frame(frame, strict_checksum=True)
    assert record["kind"] == "platform_response"
    assert record["msg_id"] == 0x8001
    assert record["terminal"] == terminal.rjust(12 if version == 2013 else 20, "0")
    assert (record["serial"], record["version"]) == (serial, version)
    assert (record["reply_serial"], record["reply_msg_id"], record["result"]) == (
        reply_serial,
        reply_msg_id,
        result,
    )
    assert (
        record["result_name"] == ["ok", "failure", "bad_message", "not_supported", "alarm_confirmed"][result]
    )


@given(terminals_2013, u16s, u16s, st.integers(0, 4), st.text(max_size=60))
def test_register_response_round_trip(
    terminal: str, serial: int, reply_serial: int, result: int, auth_code: str
) -> None:
    auth_code = auth_code.strip().replace("\x00", "")
    frame = encode_register_response(
        terminal=terminal, serial=serial, reply_serial=reply_serial, result=result, auth_code=auth_code
    )
    record = decode_frame(frame, strict_checksum=True)
    assert record["kind"] == "register_response"
    assert (record["reply_serial"], record["result"]) == (reply_serial, result)
    # The code only travels with success; the text is GB18030, as Chinese platforms use.
    assert record["auth_code"] == (auth_code if result == 0 else "")


u32s = st.integers(0, 0xFFFFFFFF)
bcd_times = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)).map(
    lambda t: t.strftime("%y%m%d%H%M%S")
)
items = st.lists(st.tuples(st.integers(0, 0xFF), st.binary(max_size=20)), max_size=6)


@given(
    u32s, u32s, st.integers(0, 90_000_000), st.integers(0, 180_000_000), u16s, u16s, u16s, bcd_times, items
)
def test_location_body_round_trip(
    alarm: int,
    status: int,
    lat: int,
    lon: int,
    altitude: int,
    speed: int,
    course: int,
    time: str,
    extra: list[tuple[int, bytes]],
) -> None:
    report = LocationReport(
        alarm_bits=alarm,
        status_bits=status,
        lat_e6=lat,
        lon_e6=lon,
        altitude=altitude,
        speed_dkmh=speed,
        course=course,
        time=time,
        additional=AdditionalItems(tuple(extra)),
    )
    body = report.encode()
    assert LocationReport.decode(body) == (report, b"")
    record = decode_body(0x0200, body)
    assert record["kind"] == "position"
    assert record["alarm_bits"] == alarm and record["status_bits"] == status
    assert record["lat"] == (-1 if status & 4 else 1) * lat / 1e6
    assert record["lon"] == (-1 if status & 8 else 1) * lon / 1e6
    assert record["speed_kmh"] == speed / 10
    assert record["speed"] == round(speed / 10 / 1.852, 3)
    assert record["course"] == (course if course < 360 else None)
    assert record["ts"] is not None and record["ts"].tzinfo is UTC
    assert ("emergency" in record["alarms"]) is bool(alarm & 1)


def test_location_body_with_known_items() -> None:
    items = ((0x01, (12345).to_bytes(4, "big")), (0x31, bytes([9])), (0x99, b"\xab"))
    report = LocationReport(0, 2, 22_800_000, 115_400_000, 3, 120, 90, "250601120000", AdditionalItems(items))
    record = decode_body(0x0200, report.encode())
    assert record["mileage_km"] == 1234.5
    assert record["gnss_satellites"] == 9
    assert record["additional_raw"] == {"0x99": "ab"}
    assert record["ts"] == datetime(2025, 6, 1, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize("layout", [2011, 2013, 2019])
def test_register_layouts_round_trip(layout: int) -> None:
    message = TerminalRegister(44, 1500, "M1", "BD-910", "T0001", 1, "粤S12345", layout)
    version = 2019 if layout == 2019 else 2013
    frame = encode_message(message, terminal="13912345678", serial=5, version=version)
    record = decode_frame(frame, strict_checksum=True)
    assert record["kind"] == "register"
    assert record["layout"] == layout
    assert (record["manufacturer_id"], record["terminal_model"], record["plate"]) == (
        "M1",
        "BD-910",
        "粤S12345",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"terminal": "1234567890123", "serial": 1, "reply_serial": 1, "reply_msg_id": 2},  # 13 digits
        {"terminal": "12345678901x", "serial": 1, "reply_serial": 1, "reply_msg_id": 2},
        {"terminal": "1", "serial": 70000, "reply_serial": 1, "reply_msg_id": 2},
        {"terminal": "1", "serial": 1, "reply_serial": -1, "reply_msg_id": 2},
        {"terminal": "1", "serial": 1, "reply_serial": 1, "reply_msg_id": 2, "result": 256},
    ],
)
def test_unencodable_values_raise_jt808error(kwargs: dict[str, int | str]) -> None:
    with pytest.raises(Jt808Error) as caught:
        encode_general_response(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code == "encode"
