"""Traccar's Jt808ProtocolDecoderTest samples (112): what Traccar asserts, in seawatch's terms.

Traccar's tests feed its decoder frame content taken literally (see ``traccar_wire``), so each
sample is re-escaped into the wire frame whose content is exactly the bytes Traccar decoded.

Traccar's checks:
- ``verifyNull``: no position comes out (registration, authentication, heartbeat, time sync).
- ``verifyPosition(s)``/``verifyAttributes``: a position (or list) with time after 1999 and sane
  latitude, longitude, altitude, speed and course.
- ``verifyNotNull``: something decodes.
- ``verifyAttribute``: a Traccar attribute. Only two map to the standard (``TRACCAR_ATTRIBUTES``);
  the rest come from vendor extensions (``VENDOR_ATTRIBUTES``), which seawatch keeps undecoded, so
  the test asserts that their bytes are kept (``additional_raw`` for positions, ``body_hex`` for
  messages outside the standard set).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from jt808_support import params, traccar_wire

from ingest.jt808 import Jt808Error, decode_frame, decode_hex_line, expand_batch

Record = dict[str, Any]

# Traccar attribute → check on the first decoded position (Traccar checks the first of a list).
TRACCAR_ATTRIBUTES: dict[str, Callable[[Record, Any], bool]] = {
    # additional item 0x31, GNSS satellites in use
    "sat": lambda rec, value: rec["gnss_satellites"] == value,
    # Traccar reads status bit 16 as "door" (for some models); the standard's bit 16 is door 4 open.
    "door": lambda rec, value: ("door4_open" in rec["status_flags"]) is value,
}

# Traccar attributes decoded from vendor extensions (additional items 0x51-0x6c, 0x80-0xfe, vendor
# message ids) or derived per device model: outside JT/T 808, kept raw by seawatch.
VENDOR_ATTRIBUTES = {
    "alarm", "alarmLabel", "battery", "batteryLevel", "cardCode", "charge", "deviceTemp", "driver",
    "driverUniqueId", "dtcs", "event", "fuel1", "fuel2", "fuelUsed", "iccid", "imei", "lock1Locked",
    "lock2Battery", "motion", "power", "result", "rpm", "steps", "tag1Mac", "temp1", "temp3", "tilt",
    "timezone", "tire1Pressure", "unlockResult", "videoAlarm",
}  # fmt: skip

# Message ids Traccar decodes that seawatch keeps as ``raw`` records, and why.
RAW_MESSAGES = {
    0x0107: "terminal attributes (standard, not needed for vessel safety)",
    0x0210: "vendor batch upload",
    0x0701: "electronic waybill (standard, vendor text)",
    0x0702: "driver identity (standard, road transport)",
    0x0900: "transparent pass-through of vendor data",
    0x1007: "vendor time-zone sync",
    0x1300: "vendor text reply",
    0x2070: "vendor accelerometer dump",
    0x5501: "vendor lock report with a 1-byte serial header",
    0x5502: "vendor lock backfill with a 1-byte serial header",
    0x6006: "vendor text report",
}
NO_POSITION_KINDS = {"register", "auth", "heartbeat", "raw"}


def _sane_position(rec: Record) -> None:
    assert isinstance(rec["ts"], datetime)
    assert rec["ts"].year > 1999
    assert rec["lat"] is not None and -90 <= rec["lat"] <= 90
    assert rec["lon"] is not None and -180 <= rec["lon"] <= 180
    assert rec["altitude"] <= 18000
    assert 0 <= rec["speed"] <= 869
    assert rec["course"] is not None


@pytest.mark.parametrize(("index", "row"), params("traccar/"))
def test_traccar_sample(index: int, row: dict[str, Any]) -> None:
    expected = row["expected"]
    check = expected["check"]
    if row["kind"] == "body":
        # "(740190311185,1,001,ELOCK,3,529439)": a lock's ASCII reply that Traccar handles before
        # JT/T 808 decoding; it has no 0x7e delimiters and is rejected as not a frame.
        assert bytes.fromhex(row["hex"]).startswith(b"(")
        with pytest.raises(Jt808Error) as caught:
            decode_hex_line(row["hex"])
        assert caught.value.code == "delimiter"
        return

    record = decode_frame(traccar_wire(row["hex"]))
    msg_id = int(row["msg_id"], 16)
    assert record["msg_id"] == msg_id
    records = expand_batch(record)

    if msg_id in RAW_MESSAGES:
        assert record["kind"] == "raw"
        assert record["body_hex"]
        if check == "verifyAttribute":
            assert expected["attribute"] in VENDOR_ATTRIBUTES
        return
    if check == "verifyNull":
        assert record["kind"] in NO_POSITION_KINDS
    elif check in ("verifyPosition", "verifyPositions", "verifyAttributes"):
        assert record["kind"] in ("position", "position_batch")
        for rec in records:
            _sane_position(rec)
    elif check == "verifyNotNull":
        assert record["kind"] in ("position", "position_batch")
    else:
        assert check == "verifyAttribute"
        attribute, value = expected["attribute"], expected["value"]
        first = records[0]
        assert first["kind"] == "position"
        if attribute in TRACCAR_ATTRIBUTES:
            assert TRACCAR_ATTRIBUTES[attribute](first, value)
        else:
            assert attribute in VENDOR_ATTRIBUTES
            assert first["additional_raw"]
