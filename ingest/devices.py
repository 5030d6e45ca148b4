"""JSON from harbour RFID gate readers and BeiDou terminal gateways, received over MQTT.

Topics (the last level names the device, and must agree with the payload):

- `{topic_prefix}/tags/{reader_id}` — one tag read per message (`TagRead`);
- `{topic_prefix}/terminals/{terminal_id}` — one terminal position report per message (`TerminalPosition`).

The pydantic models below are the one declaration of both formats: they validate payloads here, and
`schema_documents()` renders them as the JSON Schema files in `docs/schemas/` that device vendors get
(`python -m ingest.devices docs/schemas` rewrites them; a test fails when they drift apart).

`decode_tag_read` and `decode_terminal_json` are pure: bytes in, a record in the decoded-record contract
out, or `DeviceMessageError` with a short `reason` (the metric label) and a message saying what is wrong.
A terminal's SOS becomes `alarms: ["emergency"]` with bit 0 of `alarm_bits` set, exactly as a JT/T 808
position report, so one distress rule serves both.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.jt808.alarms import ALARM_NAMES

Record = dict[str, Any]
M = TypeVar("M", bound=BaseModel)

#: Same as the `devices.max_payload_bytes` default; callers pass the configured value.
DEFAULT_MAX_PAYLOAD_BYTES = 65_536
#: Device clocks run on GNSS time and gateways on NTP: a time further ahead than this is a broken clock,
#: and storing it would make the vessel look alive in the future.
MAX_FUTURE_S = 600.0
KMH_PER_KNOT = 1.852
#: How far `speed` and `speed_kmh` may disagree (in knots) when a gateway sends both.
SPEED_AGREEMENT_KN = 0.5

DEVICE_ID = r"^[A-Za-z0-9._-]{1,64}$"
TAG_ID = r"^[A-Za-z0-9._:-]{1,64}$"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class DeviceMessageError(ValueError):
    """A payload that can never become a record; `reason` is a fixed label for the invalid counter."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Payload(BaseModel):
    # strict: a number sent as a string is a device bug worth seeing, and it keeps validation identical
    # to what the published schema says. Unknown fields are refused: a misspelt "directon" must not
    # silently become "unknown"; vendor data goes into `extra`.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _extra() -> Any:
    return Field(None, description="Vendor-specific data, stored with the record and otherwise ignored.")


class TagRead(_Payload):
    """One read of a vessel's electronic tag by a harbour gate reader."""

    model_config = ConfigDict(
        title="seawatch tag read",
        json_schema_extra={"$schema": JSON_SCHEMA_DIALECT},
    )

    reader: str = Field(pattern=DEVICE_ID, description="The reader's id; equal to the topic's last level.")
    tag: str = Field(
        pattern=TAG_ID, description="The tag id as read (EPC hex or printed id); case is not significant."
    )
    time: AwareDatetime = Field(description="When the tag was read: RFC 3339 with a UTC offset.")
    direction: Literal["in", "out", "unknown"] = Field(
        "unknown", description="Into the harbour, out to sea, or not known (a single antenna)."
    )
    rssi: float | None = Field(None, ge=-127, le=20, description="Received signal strength, dBm.")
    antenna: int | None = Field(None, ge=0, le=255, description="Antenna port of the reader.")
    lon: float | None = Field(
        None, ge=-180, le=180, description="The gate's longitude (WGS84), from the reader's configuration."
    )
    lat: float | None = Field(None, ge=-90, le=90, description="The gate's latitude (WGS84); with `lon`.")
    zone: str | None = Field(
        None, pattern=DEVICE_ID, description="The harbour zone id (seawatch `zones.id`) the gate belongs to."
    )
    extra: dict[str, Any] | None = _extra()

    @model_validator(mode="after")
    def _position_whole(self) -> TagRead:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat come together")
        return self


class TerminalAlarms(BaseModel):
    """Alarm flags; each maps onto the JT/T 808 alarm bit of the same meaning."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sos: bool = Field(False, description="The emergency (SOS) button was pressed: JT/T 808 bit 0.")
    gnss_fault: bool = Field(False, description="The GNSS module is faulty: bit 4.")
    gnss_antenna: bool = Field(False, description="The GNSS antenna is disconnected or cut: bit 5.")
    low_battery: bool = Field(False, description="Supply voltage low: bit 7.")
    power_off: bool = Field(False, description="Main power lost, running on backup: bit 8.")


# Flag → JT/T 808 alarm bit, by the standard's name so the two can never disagree.
ALARM_BITS: dict[str, int] = {
    "sos": ALARM_NAMES.index("emergency"),
    "gnss_fault": ALARM_NAMES.index("gnss_module_fault"),
    "gnss_antenna": ALARM_NAMES.index("gnss_antenna_disconnected"),
    "low_battery": ALARM_NAMES.index("main_power_undervoltage"),
    "power_off": ALARM_NAMES.index("main_power_off"),
}


class TerminalPosition(_Payload):
    """A BeiDou/GNSS safety terminal's report, forwarded as JSON by a gateway.

    `lat`/`lon` are WGS84 (or CGCS2000, the same to centimetres) — never GCJ-02. Without them the report
    (an SOS without a fix, say) is still stored, as an event. With both `speed` and `speed_kmh`, they
    must agree to within 0.5 knot.
    """

    model_config = ConfigDict(
        title="seawatch terminal position",
        json_schema_extra={"$schema": JSON_SCHEMA_DIALECT},
    )

    terminal: str = Field(
        pattern=DEVICE_ID, description="The terminal's id (as in JT/T 808); equal to the topic's last level."
    )
    time: AwareDatetime = Field(description="Time of the fix: RFC 3339 with a UTC offset.")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude, decimal degrees; with `lon`.")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude, decimal degrees; with `lat`.")
    speed: float | None = Field(None, ge=0, le=100, description="Speed over ground, knots.")
    speed_kmh: float | None = Field(None, ge=0, le=185.2, description="Speed over ground, km/h.")
    course: float | None = Field(None, ge=0, lt=360, description="Course over ground, degrees from north.")
    heading: float | None = Field(None, ge=0, lt=360, description="True heading, degrees.")
    altitude: float | None = Field(None, ge=-500, le=10_000, description="Metres above sea level.")
    satellites: int | None = Field(None, ge=0, le=255, description="Satellites used in the fix.")
    battery: float | None = Field(None, ge=0, le=100, description="Battery charge, percent.")
    alarms: TerminalAlarms = Field(default_factory=TerminalAlarms, description="Alarm flags.")
    extra: dict[str, Any] | None = _extra()

    @model_validator(mode="after")
    def _consistent(self) -> TerminalPosition:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat come together")
        knots, kmh = self.speed, self.speed_kmh
        if knots is not None and kmh is not None and abs(knots - kmh / KMH_PER_KNOT) > SPEED_AGREEMENT_KN:
            raise ValueError(f"speed {knots} kn and speed_kmh {kmh} disagree")
        return self


# --- decoding --------------------------------------------------------------------------------------


def decode_tag_read(
    topic: str,
    payload: bytes,
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    now: datetime | None = None,
) -> Record:
    """The `tag_read` record of one gate reader message on `topic`."""
    read = _validate(TagRead, payload, max_payload_bytes)
    _same_device(topic, "reader", read.reader)
    ts = _checked_time(read.time, now)
    return {
        "kind": "tag_read",
        "source": "tag",
        "ts": ts,
        # Upper-cased here and by the registry import, so "e200…" and "E200…" are one tag.
        "tag_id": read.tag.upper(),
        "reader": read.reader,
        "direction": read.direction,
        "rssi": read.rssi,
        "antenna": read.antenna,
        "lon": read.lon,
        "lat": read.lat,
        "zone": read.zone,
        "extra": read.extra,
    }


def decode_terminal_json(
    topic: str,
    payload: bytes,
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    now: datetime | None = None,
) -> Record:
    """The `position` record of one terminal gateway message on `topic`."""
    report = _validate(TerminalPosition, payload, max_payload_bytes)
    _same_device(topic, "terminal", report.terminal)
    ts = _checked_time(report.time, now)
    speed, speed_kmh = report.speed, report.speed_kmh
    if speed is None and speed_kmh is not None:
        speed = round(speed_kmh / KMH_PER_KNOT, 3)
    elif speed_kmh is None and speed is not None:
        speed_kmh = round(speed * KMH_PER_KNOT, 1)
    flags = report.alarms.model_dump()
    alarm_bits = sum(1 << bit for name, bit in ALARM_BITS.items() if flags[name])
    return {
        "kind": "position",
        "source": "terminal_json",
        "ts": ts,
        "terminal": report.terminal,
        "lat": report.lat,
        "lon": report.lon,
        "fix": report.lat is not None,
        "speed": speed,
        "speed_kmh": speed_kmh,
        "course": report.course,
        "heading": report.heading,
        "altitude": report.altitude,
        "satellites": report.satellites,
        "battery": report.battery,
        "alarm_bits": alarm_bits,
        "alarms": [name for bit, name in enumerate(ALARM_NAMES) if alarm_bits >> bit & 1],
        "extra": report.extra,
    }


def _validate(model: type[M], payload: bytes, max_payload_bytes: int) -> M:
    if len(payload) > max_payload_bytes:
        raise DeviceMessageError(
            "too_long", f"payload of {len(payload)} bytes is over the limit of {max_payload_bytes}"
        )
    try:
        result = model.model_validate_json(payload, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise DeviceMessageError("bad_json", f"not JSON: {errors[0]['msg']}") from None
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'payload'}: {error['msg']}" for error in errors[:5]
        )
        raise DeviceMessageError("schema", f"not a valid {model.__name__}: {problems}") from None
    try:
        # Vendor data is stored as jsonb; what the store could not encode (an integer beyond 64 bits)
        # would cost the whole record there, so it is refused here with a message that says why.
        orjson.dumps(getattr(result, "extra", None))
    except TypeError as exc:
        raise DeviceMessageError("schema", f"not a valid {model.__name__}: extra: {exc}") from None
    return result


def _same_device(topic: str, field: str, value: str) -> None:
    named = topic.rsplit("/", 1)[-1]
    if named != value:
        raise DeviceMessageError(
            "topic_mismatch", f"topic {topic!r} names {named!r} but the payload's {field} is {value!r}"
        )


def _checked_time(time: datetime, now: datetime | None) -> datetime:
    ts = time.astimezone(UTC)
    now = now or datetime.now(UTC)
    if ts - now > timedelta(seconds=MAX_FUTURE_S):
        raise DeviceMessageError("future_time", f"time {ts.isoformat()} is ahead of now ({now.isoformat()})")
    return ts


# --- the published schemas ------------------------------------------------------------------------

SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "tag-read.schema.json": TagRead,
    "terminal-position.schema.json": TerminalPosition,
}


def schema_documents() -> dict[str, str]:
    """File name → the JSON Schema document's text, exactly as it is stored in `docs/schemas/`."""
    return {
        name: json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
        for name, model in SCHEMA_FILES.items()
    }


def write_schema_files(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in schema_documents().items():
        (directory / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write_schema_files(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas"))
