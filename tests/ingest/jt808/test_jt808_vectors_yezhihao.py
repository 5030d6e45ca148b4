"""yezhihao/jt808-server's codec records (138 frames, 2013 and 2019 headers for 68 message types).

Every sample's header fields are checked (``HEADER``); bodies are checked for the messages seawatch
decodes (``BODIES``, yezhihao's JSON names mapped to ours); the others must be ``raw`` records.
"""

from __future__ import annotations

from typing import Any

import pytest
from jt808_support import Check, Record, field, location_checks, params

from ingest.jt808 import decode_frame, parse_frame


def _properties(record: Record, value: Any) -> bool:
    # Body properties: length (bits 0-9), encryption (10-12), subpackage (13), version flag (14).
    return (
        record["_body_length"] == value & 0x3FF
        and record["encryption"] == value >> 10 & 0x7
        and record["kind"] != "fragment"
        and (record["version"] == 2019) == bool(value & 0x4000)
    )


HEADER: dict[str, Check] = {
    "messageId": field("msg_id"),
    "properties": _properties,
    # yezhihao reports 0 for a 2013 header, which has no protocol version byte at all.
    "protocolVersion": lambda rec, v: rec["protocol_version"] == (v if rec["version"] == 2019 else None),
    "clientId": field("terminal"),
    "serialNo": field("serial"),
    "verified": field("checksum_ok"),
}
# yezhihao's body classes inherit the header fields; inside 0x0704 items they are unused zeros.
ITEM_HEADER_KEYS = {"messageId", "properties", "protocolVersion", "serialNo", "verified"}

YEZHIHAO_LOCATION = {
    "alarm_bits": "warnBit",
    "status_bits": "statusBit",
    "lat": "latitude",
    "lon": "longitude",
    "altitude": "altitude",
    "speed": "speed",
    "course": "direction",
    "time": "deviceTime",
}


def _raw_item(item_id: int, convert: Any) -> Check:
    """An additional item seawatch keeps as hex: compare its bytes with yezhihao's value."""
    return lambda rec, v: rec["additional_raw"][f"0x{item_id:02x}"] == convert(v)


def _alarm_id(rec: Record, item_id: int, value: Any) -> bool:
    # Active-safety (ADAS/DMS/TPMS/BSD) items of the Su/JT-T 1078 extension, kept raw: their first
    # four bytes are the alarm id yezhihao decodes.
    return int(rec["additional_raw"][f"0x{item_id:02x}"][:8], 16) == value["id"]


# yezhihao's ``attributes`` keys are additional-item ids in decimal.
ATTRIBUTES: dict[str, Check] = {
    "1": field("mileage_km", convert=lambda v: v / 10),
    "2": field("fuel_l", convert=lambda v: v / 10),
    "3": field("recorder_speed_kmh", convert=lambda v: v / 10),
    "4": field("alarm_event_id"),
    "5": _raw_item(0x05, lambda v: bytes(v["value"]).hex()),  # 2019 tyre pressures, not decoded
    "6": _raw_item(0x06, lambda v: v.to_bytes(2, "big").hex()),  # 2019 cabin temperature
    "17": field("overspeed_area", convert=lambda v: {"area_type": v["areaType"], "area_id": v["areaId"]}),
    "18": field(
        "area_alarm",
        convert=lambda v: {"area_type": v["areaType"], "area_id": v["areaId"], "direction": v["direction"]},
    ),
    "19": field(
        "route_time_alarm",
        convert=lambda v: {"route_id": v["areaId"], "drive_time_s": v["driveTime"], "result": v["result"]},
    ),
    "37": field("vehicle_signal_bits"),
    "42": field("io_status_bits"),
    "43": field("analog"),
    "48": field("signal_strength"),
    "49": field("gnss_satellites"),
    "100": lambda rec, v: _alarm_id(rec, 0x64, v),
    "101": lambda rec, v: _alarm_id(rec, 0x65, v),
    "102": lambda rec, v: _alarm_id(rec, 0x66, v),
    "103": lambda rec, v: _alarm_id(rec, 0x67, v),
}


def _attributes(record: Record, value: Any) -> bool:
    return all(ATTRIBUTES[key](record, item) for key, item in value.items())


def _items(record: Record, value: Any) -> bool:
    checks = location_checks(YEZHIHAO_LOCATION)
    return len(record["positions"]) == len(value) and all(
        checks[name]({"kind": "position", **ours}, theirs)
        for ours, item in zip(record["positions"], value, strict=True)
        for name, theirs in item.items()
        if name not in ITEM_HEADER_KEYS
    )


BODIES: dict[int, dict[str, Check]] = {
    0x0002: {},
    0x0100: {
        "provinceId": field("province_id"),
        "cityId": field("city_id"),
        "makerId": field("manufacturer_id"),
        "deviceModel": field("terminal_model"),
        "deviceId": field("terminal_id"),
        "plateColor": field("plate_color"),
        "plateNo": field("plate"),
    },
    0x0102: {
        "token": field("auth_code"),
        "imei": field("imei"),
        "softwareVersion": field("software_version"),
    },
    0x0200: {**location_checks(YEZHIHAO_LOCATION), "attributes": _attributes},
    0x0201: {"responseSerialNo": field("reply_serial"), **location_checks(YEZHIHAO_LOCATION)},
    0x0704: {"total": field("count"), "type": field("batch_type"), "items": _items},
    0x8001: {
        "responseSerialNo": field("reply_serial"),
        "responseMessageId": field("reply_msg_id"),
        "resultCode": field("result"),
    },
    0x8100: {
        "responseSerialNo": field("reply_serial"),
        "resultCode": field("result"),
        "token": field("auth_code"),
    },
}


@pytest.mark.parametrize(("index", "row"), params("yezhihao/"))
def test_yezhihao_sample(index: int, row: dict[str, Any]) -> None:
    expected = dict(row["expected"]["decoded_body_json"])
    frame = parse_frame(bytes.fromhex(row["hex"]))
    record = decode_frame(bytes.fromhex(row["hex"]))
    record["_body_length"] = len(frame.body)
    for name, check in HEADER.items():
        assert check(record, expected.pop(name)), name
    msg_id = record["msg_id"]
    if msg_id not in BODIES:
        # Platform commands, multimedia, JT/T 1078 video and the like: kept whole, not decoded.
        assert record["kind"] == "raw"
        assert record["body_hex"] == frame.body.hex()
        return
    checks = BODIES[msg_id]
    for name, value in expected.items():
        assert checks[name](record, value), (name, value)
