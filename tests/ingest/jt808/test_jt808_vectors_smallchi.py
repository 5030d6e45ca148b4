"""SmallChi/JT808's tests (79 samples: frames, bodies and bare headers).

SmallChi's tests come in two directions, both checked against our decoding of the same hex:
- ``deserialize``: ``Assert.Equal(expected, actual)`` pairs; ``ACTUALS`` maps each C# ``actual``
  expression to a check on our record and ``csharp_value`` evaluates the ``expected`` expression.
  A test with no asserts passes in SmallChi when decoding does not throw: here, when we decode it to
  the right kind of record.
- ``serialize``: an object initialiser produces the hex; decoding the hex must give those values back
  (``INITIALIZERS``; repeated names in a 0x0704 initialiser belong to successive positions).
SmallChi's own test-only extension items (0x61 "smallchi" user, 0x07 satellite list) are kept raw by
seawatch; the tests check those raw bytes with the layout SmallChi's test registers.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jt808_support import Check, Record, field, location_checks, params

from ingest.jt808 import decode_body, decode_frame, parse_frame, parse_header

# C# expressions in SmallChi's asserts and initialisers that are not plain literals.
EXPRESSIONS: dict[str, Any] = {
    "Enums.JT808MsgId._0x0001.ToValue()": 0x0001,
    "Enums.JT808MsgId._0x0002.ToValue()": 0x0002,
    "Enums.JT808MsgId._0x0002.ToUInt16Value()": 0x0002,
    "Enums.JT808MsgId._0x0100.ToUInt16Value()": 0x0100,
    "JT808MsgId._0x0100.ToUInt16Value()": 0x0100,
    "Enums.JT808MsgId._0x0102.ToUInt16Value()": 0x0102,
    "JT808MsgId._0x0102.ToValue()": 0x0102,
    "Enums.JT808MsgId._0x0200.ToValue()": 0x0200,
    "Enums.JT808MsgId._0x0704.ToUInt16Value()": 0x0704,
    "Enums.JT808TerminalResult.Success": 0,
    "JT808EncryptMethod.None": 0,
    "JT808Version.JTT2019": 2019,
    "JT808_0x0704.BatchLocationType.正常位置批量汇报": 0,  # normal batch (1 is blind-area backfill)
    "Enums.JT808PositionType.circular_region": 1,
    "Enums.JT808DirectionType.direction_out": 1,
    "Enums.JT808DrivenRouteType.overlength": 1,
    "(byte)(4 + (4 * 4 + 4 * 3 + 4 * 2 + 4))": 44,
    "(uint)(0x18000000 | 0x302)": 0x18000302,
    "(uint)(0x8000000 | 0x6601)": 0x8006601,
}


def csharp_value(expr: str) -> Any:
    if expr in EXPRESSIONS:
        return EXPRESSIONS[expr]
    if expr in ("true", "false"):
        return expr == "true"
    if expr.startswith('"'):
        return json.loads(expr)
    parsed = re.fullmatch(r'DateTime\.Parse\("(.*)"\)', expr)
    if parsed:
        return parsed.group(1)  # GMT+8 wall time; location_checks converts it
    number = re.fullmatch(r"(?:\((?:uint|byte)\))?(-?(?:0x[0-9a-fA-F]+|0b[01]+|\d+))u?", expr)
    assert number, f"no mapping for C# expression {expr!r}"
    return int(number.group(1), 0)


def _raw(rec: Record, item: int) -> bytes:
    return bytes.fromhex(rec["additional_raw"][f"0x{item:02x}"])


def _smallchi_user(rec: Record) -> dict[str, Any]:
    # SmallChi's test item 0x61: Age u32, Gender u8, UserName ASCII to the end.
    data = _raw(rec, 0x61)
    return {"Age": int.from_bytes(data[:4], "big"), "Gender": data[4], "UserName": data[5:].decode()}


def _smallchi_satellites(rec: Record) -> dict[str, Any]:
    # SmallChi's test item 0x07: for BeiDou, GPS, GLONASS, Galileo a count u8 then per satellite
    # No u8, Elevation u8, AzimuthAngle u16.
    data, pos, counts, sats = _raw(rec, 0x07), 0, [], []
    while pos < len(data):
        count = data[pos]
        counts.append(count)
        for i in range(count):
            at = pos + 1 + 4 * i
            sats.append((data[at], data[at + 1], int.from_bytes(data[at + 2 : at + 4], "big")))
        pos += 1 + 4 * count
    return {"length": len(data), "counts": counts, "satellites": sats}


def _packet(key: str) -> Check:
    return lambda rec, v: (rec[key] or 0) == v  # SmallChi reports 0 when the message is not split


SMALLCHI_LOCATION = {
    "alarm_bits": "AlarmFlag",
    "status_bits": "StatusFlag",
    "lat": "Lat",
    "lon": "Lng",
    "altitude": "Altitude",
    "speed": "Speed",
    "course": "Direction",
    "time": "GPSTime",
}


def _attach_by_name(path: tuple[str | int, ...]) -> dict[str, Check]:
    return {
        "Mileage": field(*path, "mileage_km", convert=lambda v: v / 10),  # 1/10 km
        "Oil": field(*path, "fuel_l", convert=lambda v: v / 10),  # 1/10 L
    }


def _attach(path: tuple[str | int, ...], prefix: str) -> dict[str, Check]:
    # e.g. ((JT808_0x0200_0x01)jT808UploadLocationRequest.BasicLocationAttachData[…0x01]).Mileage
    by_name = _attach_by_name(path)
    return {
        f"((JT808_0x0200_0x{item}){prefix}BasicLocationAttachData[JT808Constants.JT808_0x0200_0x{item}])"
        f".{name}": by_name[name]
        for item, name in (("01", "Mileage"), ("02", "Oil"))
    }


def _protocol_version(rec: Record, value: Any) -> bool:
    # A 2013 header has no version byte; SmallChi's header object then keeps its default, 1.
    if rec["version"] == 2019:
        return bool(rec["protocol_version"] == value)
    return rec["protocol_version"] is None and value == 1


HEADER_ACTUALS: dict[str, Check] = {}
for _who in ("jT808Header", "jT808Package.Header", "jT808LoginRequest.Header", "jT808_0X0100.Header"):
    HEADER_ACTUALS |= {
        f"{_who}.MsgId": field("msg_id"),
        f"{_who}.MsgNum": field("serial"),
        f"{_who}.ProtocolVersion": _protocol_version,
        f"{_who}.MessageBodyProperty.DataLength": field("_body_length"),
        f"{_who}.MessageBodyProperty.IsPackage": field("_subpackage"),
        f"{_who}.MessageBodyProperty.VersionFlag": lambda rec, v: (rec["version"] == 2019) is v,
        f"{_who}.MessageBodyProperty.Encrypt": field("encryption"),
        f"{_who}.PackageIndex": _packet("_packet_index"),
        f"{_who}.PackgeCount": _packet("_packet_total"),
    }

ACTUALS: dict[str, Check] = {
    **HEADER_ACTUALS,
    "jT808_0X0100.Version": field("version"),
    # 0x0001
    "JT808Bodies.ReplyMsgId": field("reply_msg_id"),
    "JT808Bodies.ReplyMsgNum": field("reply_serial"),
    "JT808Bodies.TerminalResult": field("result"),
    # 0x0100 (the Koike samples pad text with ASCII '0' and spaces; SmallChi trims in the assert)
    "JT808Bodies.AreaID": field("province_id"),
    "body.AreaID": field("province_id"),
    "JT808Bodies.CityOrCountyId": field("city_id"),
    "body.CityOrCountyId": field("city_id"),
    "JT808Bodies.MakerId": field("manufacturer_id"),
    "body.MakerId.TrimStart('0')": lambda rec, v: rec["manufacturer_id"].lstrip("0") == v,
    "JT808Bodies.PlateColor": field("plate_color"),
    "body.PlateColor": field("plate_color"),
    "JT808Bodies.PlateNo": field("plate"),
    "body.PlateNo.TrimStart()": lambda rec, v: rec["plate"].lstrip() == v,
    "JT808Bodies.TerminalId": field("terminal_id"),
    "body.TerminalId.TrimStart('0')": lambda rec, v: rec["terminal_id"].lstrip("0") == v,
    "JT808Bodies.TerminalModel": field("terminal_model"),
    "body.TerminalModel.TrimStart('0')": lambda rec, v: rec["terminal_model"].lstrip("0") == v,
    # 0x0102
    "jT808LoginRequest.Code": field("auth_code"),
    "jT808LoginRequest.CodeLength": lambda rec, v: len(rec["auth_code"].encode()) == v,
    "jT808LoginRequest.SoftwareVersion": field("software_version"),
    # 0x0200
    **location_checks(SMALLCHI_LOCATION, "jT808UploadLocationRequest."),
    **_attach((), "jT808UploadLocationRequest."),
    # SmallChi's "basic" items are the ones it decodes, as ours; the others it keeps aside, as ours.
    "jT808UploadLocationRequest.BasicLocationAttachData.Count": lambda rec, v: (
        len([k for k in rec if k not in _BASE_KEYS]) == v
    ),
    "jT808UploadLocationRequest.UnknownLocationAttachData.Count": lambda rec, v: (
        len([k for k in rec["additional_raw"] if k != "tail"]) == v
    ),
    "jT808LocationAttachImpl0x61.Age": lambda rec, v: _smallchi_user(rec)["Age"] == v,
    "jT808LocationAttachImpl0x61.Gender": lambda rec, v: _smallchi_user(rec)["Gender"] == v,
    "jT808LocationAttachImpl0x61.UserName": lambda rec, v: _smallchi_user(rec)["UserName"] == v,
    "jT808_0x0200_0x07.AttachInfoLength": lambda rec, v: _smallchi_satellites(rec)["length"] == v,
    "jT808_0x0200_0x07.BeiDou.Count": lambda rec, v: _smallchi_satellites(rec)["counts"][0] == v,
    "jT808_0x0200_0x07.GPS.Count": lambda rec, v: _smallchi_satellites(rec)["counts"][1] == v,
    "jT808_0x0200_0x07.GLONASS.Count": lambda rec, v: _smallchi_satellites(rec)["counts"][2] == v,
    # 0x0704
    "JT808Bodies.Count": field("count"),
    "JT808Bodies.LocationType": field("batch_type"),
    **location_checks(SMALLCHI_LOCATION, "JT808Bodies.Positions[0].", ("positions", 0)),
    **location_checks(SMALLCHI_LOCATION, "JT808Bodies.Positions[1].", ("positions", 1)),
    **_attach(("positions", 0), "JT808Bodies.Positions[0]."),
    **_attach(("positions", 1), "JT808Bodies.Positions[1]."),
}
# Record keys that are not additional items (used to count SmallChi's "basic" items).
_BASE_KEYS = {
    "kind", "source", "ts", "msg_id", "terminal", "serial", "version", "protocol_version", "encryption",
    "checksum_ok", "length_ok", "lat", "lon", "altitude", "speed", "speed_kmh", "course", "fix",
    "alarm_bits", "alarms", "status_bits", "status_flags", "additional_raw", "_body_length",
    "_subpackage", "_packet_index", "_packet_total",
}  # fmt: skip

LOCATION_NAMES = set(SMALLCHI_LOCATION.values()) | {"Mileage", "Oil"}
INITIALIZERS: dict[str, Check] = {
    "ManualMsgNum": field("serial"),
    # SmallChi pads the phone number with leading zeros to the header's width.
    "TerminalPhoneNo": lambda rec, v: rec["terminal"] == v.rjust(len(rec["terminal"]), "0"),
    "ProtocolVersion": field("protocol_version"),
    "ReplyMsgNum": field("reply_serial"),
    "TerminalResult": field("result"),
    "AreaID": field("province_id"),
    "CityOrCountyId": field("city_id"),
    "MakerId": field("manufacturer_id"),
    "PlateColor": field("plate_color"),
    "PlateNo": field("plate"),
    "TerminalId": field("terminal_id"),
    "TerminalModel": field("terminal_model"),
    "Code": field("auth_code"),
    "IMEI": field("imei"),
    "SoftwareVersion": field("software_version"),
    "Count": field("count"),
    "LocationType": field("batch_type"),
    "Age": lambda rec, v: _smallchi_user(rec)["Age"] == v,
    "Gender": lambda rec, v: _smallchi_user(rec)["Gender"] == v,
    "UserName": lambda rec, v: _smallchi_user(rec)["UserName"] == v,
}
# Test_all_attcahids sets one value per additional item; its initialiser repeats names, so it is
# mapped in order: 0x01, 0x02, 0x03, 0x04, 0x11 (id, type), 0x12 (id, type, direction),
# 0x13 (result, id, time), 0x25, 0x2A, 0x30, 0x31.
ALL_ATTACH_IDS: list[Check] = [
    field("serial"),
    INITIALIZERS["TerminalPhoneNo"],
    field("mileage_km", convert=lambda v: v / 10),
    field("fuel_l", convert=lambda v: v / 10),
    field("recorder_speed_kmh", convert=lambda v: v / 10),
    field("alarm_event_id"),
    field("overspeed_area", "area_id"),
    field("overspeed_area", "area_type"),
    field("area_alarm", "area_id"),
    field("area_alarm", "area_type"),
    field("area_alarm", "direction"),
    field("route_time_alarm", "result"),
    field("route_time_alarm", "route_id"),
    field("route_time_alarm", "drive_time_s"),
    field("vehicle_signal_bits"),
    field("io_status_bits"),
    field("signal_strength"),
    field("gnss_satellites"),
]


def _initializer_checks(test: str, names: list[str], batch: bool) -> list[Check]:
    if test.startswith("JT808_0x0200Test.cs::Test_all_attcahids"):
        assert len(names) == len(ALL_ATTACH_IDS)
        return ALL_ATTACH_IDS
    if test.startswith("JT808_0x0200Test.cs::Test_JT808_0x0200_0x07_1"):
        # ten (No, Elevation, AzimuthAngle) triples, in the order of the raw satellite list
        return [
            (lambda rec, v, i=i, part=part: _smallchi_satellites(rec)["satellites"][i][part] == v)
            for i in range(len(names) // 3)
            for part in range(3)
        ]
    checks: list[Check] = []
    position = -1
    for name in names:
        if name not in LOCATION_NAMES:
            checks.append(INITIALIZERS[name])
            continue
        if name == "AlarmFlag":
            position += 1  # each position's initialiser starts with AlarmFlag
        path: tuple[str | int, ...] = ("positions", max(position, 0)) if batch else ()
        loc = location_checks(SMALLCHI_LOCATION, path=path) | _attach_by_name(path)
        checks.append(loc[name])
    return checks


def _record(row: dict[str, Any]) -> Record:
    data = bytes.fromhex(row["hex"])
    test = row["test"]
    if row["kind"] == "frame":
        frame = parse_frame(data)
        record = decode_frame(data)
        head = frame.header
    elif test.startswith("JT808HeaderTest"):
        # a bare header: checked field by field, there is no body to decode
        head = parse_header(data)
        record = {"kind": "header", "msg_id": head.msg_id, "serial": head.serial,
                  "terminal": head.terminal, "version": head.version,
                  "protocol_version": head.protocol_version, "encryption": head.encryption}  # fmt: skip
    elif test.startswith("JT808_0x0102Test"):
        return decode_body(0x0102, data, version=2019 if "2019" in test else 2013)
    else:
        assert row["msg_id"] == "0x0200 (body only)"
        return decode_body(0x0200, data)
    record |= {
        "_body_length": head.body_length,
        "_subpackage": head.subpackage,
        "_packet_index": head.packet_index,
        "_packet_total": head.packet_total,
    }
    return record


# The kind each sample decodes to (SmallChi's assert-free deserialisations pass by not throwing).
KIND_BY_MSG = {
    "0x0001": "terminal_response",
    "0x0002": "heartbeat",
    "0x0100": "register",
    "0x0102": "auth",
    "0x0104": "raw",  # parameter query answer: not decoded by seawatch
    "0x0200": "position",
    "0x0200 (body only)": "position",
    "0x0704": "position_batch",
}


@pytest.mark.parametrize(("index", "row"), params("SmallChi/"))
def test_smallchi_sample(index: int, row: dict[str, Any]) -> None:
    expected = row["expected"]
    record = _record(row)
    if row["msg_id"] is None:
        assert record["kind"] in ("header", "auth")
    else:
        assert record["kind"] == KIND_BY_MSG[row["msg_id"]]
    if expected["direction"] == "deserialize":
        for case in expected["asserts"]:
            value = csharp_value(case["expected"])
            assert ACTUALS[case["actual"]](record, value), case
    else:
        names = [name for name, _ in expected["initializer_fields"]]
        checks = _initializer_checks(row["test"], names, record["kind"] == "position_batch")
        for check, (name, expr) in zip(checks, expected["initializer_fields"], strict=True):
            assert check(record, csharp_value(expr)), (name, expr)
