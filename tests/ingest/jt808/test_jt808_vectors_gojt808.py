"""go-jt808's parse tests (45 frames): its expected fields mapped onto seawatch's record.

``HANDLERS`` maps each in-scope go-jt808 handler's field names to checks on our record; handlers for
messages seawatch does not decode are listed in ``RAW_HANDLERS`` and must come out as ``raw``
records with the right header and the body kept as hex.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from jt808_support import Check, Record, field, location_checks, params

from ingest.jt808 import decode_frame, parse_frame
from ingest.jt808.messages import BatchLocationUpload


def _go_version(value: Any) -> int:
    # {"go_expr": "consts.JT808Protocol2019"} → 2019
    return int(value["go_expr"][-4:])


def _auth_code_len(record: Record, value: Any) -> bool:
    if value == 0:  # go-jt808 leaves its length field 0 for 2013, where the code has no prefix
        return bool(record["version"] == 2013)
    text = re.fullmatch(r'uint8\(len\("(.*)"\)\)', value["go_expr"])
    return text is not None and len(record["auth_code"]) == len(text.group(1))


def _item_len(index: int) -> Check:
    # The u16 length before each 0x0704 item is consumed by the decoder; re-encoding the decoded item
    # must give that length back.
    def check(record: Record, value: Any) -> bool:
        message, _ = BatchLocationUpload.decode(bytes.fromhex(record["_body_hex"]))
        return len(message.positions[index].encode()) == value

    return check


GO_LOCATION = {
    "alarm_bits": "AlarmSign",
    "status_bits": "StatusSign",
    "lat": "Latitude",
    "lon": "Longitude",
    "altitude": "Altitude",
    "speed": "Speed",
    "course": "Direction",
    "time": "DateTime",
}

HANDLERS: dict[str, dict[str, Check]] = {
    "T0x0001": {
        "SerialNumber": field("reply_serial"),
        "ID": field("reply_msg_id"),
        "Result": field("result"),
    },
    "P0x8001": {
        "RespondSerialNumber": field("reply_serial"),
        "RespondID": field("reply_msg_id"),
        "Result": field("result"),
    },
    "P0x8100": {
        "RespondSerialNumber": field("reply_serial"),
        "Result": field("result"),
        "AuthCode": field("auth_code"),
    },
    "T0x0002": {},
    "T0x0102": {
        "AuthCodeLen": _auth_code_len,
        "AuthCode": field("auth_code"),
        "TerminalIMEI": field("imei"),
        "SoftwareVersion": field("software_version"),
        "Version": field("version", convert=_go_version),
    },
    "T0x0100": {
        "ProvinceID": field("province_id"),
        "CityID": field("city_id"),
        "ManufacturerID": field("manufacturer_id"),
        "TerminalModel": field("terminal_model"),
        "TerminalID": field("terminal_id"),
        "PlateColor": field("plate_color"),
        "LicensePlateNumber": field("plate"),
        "Version": field("layout", convert=_go_version),  # 2011/2013/2019 body layouts
    },
    "T0x0200": location_checks(GO_LOCATION, "T0x0200LocationItem."),
    "T0x0201": {
        "RespondSerialNumber": field("reply_serial"),
        **location_checks(GO_LOCATION, "T0x0200LocationItem."),
    },
    "T0x0704": {
        "Num": field("count"),
        "LocationType": field("batch_type"),
        **{
            name: check
            for i in (0, 1)
            for name, check in {
                f"Items[{i}].Len": _item_len(i),
                **location_checks(GO_LOCATION, f"Items[{i}].T0x0200LocationItem.", ("positions", i)),
            }.items()
        },
    },
}

# go-jt808 handlers for messages seawatch keeps as raw (platform commands, parameters, multimedia,
# JT/T 1078 audio/video, alarm attachments): nothing a vessel monitor needs to read.
RAW_HANDLERS = {
    "P0x8003", "P0x8103", "P0x8104", "P0x8201", "P0x8202", "P0x8300", "P0x8302", "P0x8800", "P0x8801",
    "P0x9003", "P0x9101", "P0x9102", "P0x9105", "P0x9201", "P0x9202", "P0x9205", "P0x9206", "P0x9207",
    "P0x9208", "P0x9212", "T0x0104", "T0x0302", "T0x0800", "T0x0801", "T0x0805", "T0x1003", "T0x1005",
    "T0x1205", "T0x1206", "T0x1210", "T0x1211", "T0x1212",
}  # fmt: skip


@pytest.mark.parametrize(("index", "row"), params("cuteLittleDevil/go-jt808"))
def test_go_jt808_sample(index: int, row: dict[str, Any]) -> None:
    expected = row["expected"]
    handler = expected["handler"]
    frame = parse_frame(bytes.fromhex(row["hex"]))
    record = decode_frame(bytes.fromhex(row["hex"]))
    assert record["checksum_ok"] is True
    assert record["msg_id"] == int(handler[1:], 16) == int(row["msg_id"], 16)
    if handler in RAW_HANDLERS:
        assert handler not in HANDLERS
        assert record["kind"] == "raw"
        assert record["body_hex"] == frame.body.hex()
        return
    checks = HANDLERS[handler]
    assert set(expected["fields"]) == set(checks), "every go-jt808 field is mapped"
    record["_body_hex"] = frame.body.hex()
    for name, value in expected["fields"].items():
        assert checks[name](record, value), (name, value)
