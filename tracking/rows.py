"""Decoded records → the rows the store writes, and the compact form those rows take in the spool.

A record becomes exactly one row, in one of three tables:

- `position` with both `lat` and `lon` → `positions` (a vessel's track);
- `static` → `static_reports` (history of what the transponder claimed);
- anything else, including a `position` without a fix → `events`, with the record as `data`.

Positions and static reports carry the record's drill mark in a `drill` column (events keep it in
`data`, with the rest of the record), so a drill vessel's stored history is never mistaken for a real one.

A record that cannot become a row raises `RejectedRecord`; the store logs, counts and reports it to
whoever put it there. Values are checked here, one record at a time, because one bad value reaching
`COPY` would fail the whole batch around it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

Record = dict[str, Any]
Identity = tuple[str, str]  # (kind, value): ("mmsi", "412345678"), ("terminal", "013912345678")

# Record fields that name the transmitting station, in the order they are tried, with their kind.
IDENTITY_FIELDS: tuple[tuple[str, str], ...] = (
    ("mmsi", "mmsi"),
    ("terminal", "terminal"),
    ("tag_id", "tag"),
    ("tag", "tag"),
)

# Kinds sent by shore stations, buoys and beacons: their MMSI is not a vessel's, so these events are
# stored without one rather than inventing a provisional "vessel" for a base station.
STATION_KINDS = frozenset(
    {
        "aton",
        "base_station",
        "dgnss",
        "link_management",
        "channel_management",
        "assignment",
        "met_observation",
    }
)

EVENT_COLUMNS = frozenset({"kind", "source", "ts", "received_at"})
STATIC_COLUMNS = (
    "mmsi",
    "imo",
    "callsign",
    "shipname",
    "ship_type",
    "to_bow",
    "to_stern",
    "to_port",
    "to_starboard",
    "draught",
    "destination",
)
_STATIC_TEXT = frozenset({"callsign", "shipname", "destination"})
_STATIC_INT = frozenset({"mmsi", "imo", "ship_type", "to_bow", "to_stern", "to_port", "to_starboard"})

SMALLINT_MAX = 32767
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1
MMSI_MAX = 999_999_999


class RejectedRecord(ValueError):
    """A record the store cannot write; `reason` is a short, fixed label for the metric."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class PositionRow:
    ts: datetime
    identity: Identity
    source: str
    lon: float
    lat: float
    speed: float | None
    course: float | None
    heading: float | None
    status: int | None
    receivers: int
    received_at: datetime
    drill: bool = False
    vessel_id: int | None = None  # filled in when the batch is written


@dataclass(slots=True)
class StaticRow:
    ts: datetime
    identity: Identity | None
    source: str
    values: dict[str, Any]  # STATIC_COLUMNS that the record had, checked
    data: bytes  # JSON of the remaining fields
    drill: bool = False
    vessel_id: int | None = None


@dataclass(slots=True)
class EventRow:
    ts: datetime
    identity: Identity | None
    source: str
    kind: str
    data: bytes  # JSON of the record without the columns
    received_at: datetime
    vessel_id: int | None = field(default=None)


Row = PositionRow | StaticRow | EventRow


def to_row(record: Record, *, now: datetime | None = None) -> Row:
    """The row for one record. `now` stands in for a missing `received_at` (records from outside the
    pipeline); raises `RejectedRecord` when the record cannot be stored."""
    try:
        kind, source = record.get("kind"), record.get("source")
        if not isinstance(kind, str) or not kind or not isinstance(source, str) or not source:
            raise RejectedRecord("bad_record", "a record needs a kind and a source")
        received_at = _time(record.get("received_at"), "received_at") or now or datetime.now(UTC)
        ts = _time(record.get("ts"), "ts") or received_at
        identity = None if kind in STATION_KINDS else identity_of(record)
        if kind == "position":
            if identity is None:
                raise RejectedRecord("no_identity", "a position without an mmsi, terminal or tag is no one's")
            if record.get("lat") is not None and record.get("lon") is not None:
                return _position_row(record, ts, identity, source, received_at)
        if kind == "static":
            return _static_row(record, ts, identity, source)
        data = {k: v for k, v in record.items() if k not in EVENT_COLUMNS}
        return EventRow(ts, identity, source, kind, to_json(data), received_at)
    except RejectedRecord:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise RejectedRecord("bad_field", str(exc)) from exc


def identity_of(record: Record) -> Identity | None:
    """The first identity field the record carries, normalised (MMSI as plain digits)."""
    for name, kind in IDENTITY_FIELDS:
        value = record.get(name)
        if value is None or value == "":
            continue
        if kind == "mmsi":
            mmsi = _int(value, name)
            if mmsi is None or not 0 < mmsi <= MMSI_MAX:
                raise RejectedRecord("bad_field", f"mmsi {value!r} is not an MMSI")
            return kind, str(mmsi)
        text = str(value).strip()
        if not text or "\x00" in text:
            raise RejectedRecord("bad_field", f"{name} {value!r} is not an identity")
        return kind, text
    return None


def _position_row(
    record: Record, ts: datetime, identity: Identity, source: str, received_at: datetime
) -> PositionRow:
    lon = _float(record["lon"], "lon")
    lat = _float(record["lat"], "lat")
    assert lon is not None and lat is not None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise RejectedRecord("bad_field", f"position {lon!r}, {lat!r} is not on the earth")
    return PositionRow(
        ts=ts,
        identity=identity,
        source=source,
        lon=lon,
        lat=lat,
        speed=_float(record.get("speed"), "speed"),
        course=_float(record.get("course"), "course"),
        heading=_float(record.get("heading"), "heading"),
        status=_int(record.get("status"), "status", SMALLINT_MAX),
        receivers=receivers_of(record),
        received_at=received_at,
        drill=bool(record.get("drill")),  # read as `fleet.fold` reads it
    )


def receivers_of(record: Record) -> int:
    """How many receivers heard the report (deduplication raises it until the row is written)."""
    count = _int(record.get("receivers"), "receivers") or 1
    return max(1, min(count, SMALLINT_MAX))


def _static_row(record: Record, ts: datetime, identity: Identity | None, source: str) -> StaticRow:
    values: dict[str, Any] = {}
    for name in STATIC_COLUMNS:
        value = record.get(name)
        if value is None:
            continue
        if name in _STATIC_TEXT:
            values[name] = _text(value, name)
        elif name in _STATIC_INT:
            values[name] = _int(value, name, BIGINT_MAX if name in ("mmsi", "imo") else INT_MAX)
        else:
            values[name] = _float(value, name)
    skip = {"kind", "source", "ts", "drill", *STATIC_COLUMNS}
    data = {k: v for k, v in record.items() if k not in skip}
    return StaticRow(ts, identity, source, values, to_json(data), bool(record.get("drill")))


# --- JSON -----------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(data: Record) -> bytes:
    """JSON for a jsonb column. jsonb refuses the NUL character, which radio text can carry."""
    encoded = orjson.dumps(data, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
    if b"\\u0000" in encoded:
        encoded = orjson.dumps(_without_nul(orjson.loads(encoded)))
    return encoded


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


# --- checked values -------------------------------------------------------------------------------


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RejectedRecord("bad_field", f"{name} {value!r} is not text")
    # PostgreSQL text cannot hold NUL; nothing meaningful is lost by dropping it.
    return value.replace("\x00", "")


def _float(value: Any, name: str) -> float | None:
    if type(value) is float and math.isfinite(value):
        return value  # the common case, first: this runs for every field of every position
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RejectedRecord("bad_field", f"{name} {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise RejectedRecord("bad_field", f"{name} {value!r} is not finite")
    return number


def _int(value: Any, name: str, limit: int = BIGINT_MAX) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RejectedRecord("bad_field", f"{name} {value!r} is not an integer")
    if not -limit - 1 <= value <= limit:
        raise RejectedRecord("bad_field", f"{name} {value!r} is out of range")
    return value


def _time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise RejectedRecord("bad_field", f"{name} {value!r} is not a time")
    # A naive time is taken as UTC, the only zone the pipeline uses.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# --- the spool form -------------------------------------------------------------------------------

# Format 2 added the drill mark to positions and static reports. Batches spooled by format 1 (before an
# upgrade) are still read: their positions are not drill (the column did not exist), and a static report
# finds its mark where format 1 kept it, in `data`.
SPOOL_FORMAT = 2
_READABLE_FORMATS = frozenset({1, SPOOL_FORMAT})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(value: datetime) -> int:
    # Integers round-trip exactly and parse faster than ISO text.
    return (value - _EPOCH) // _MICROSECOND


def _from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


def encode_rows(rows: Iterable[Row]) -> bytes:
    """The rows as JSON, everything needed to write them again (vessel ids are resolved anew)."""
    out: list[list[Any]] = []
    for row in rows:
        if isinstance(row, PositionRow):
            out.append(
                [
                    "p",
                    _micros(row.ts),
                    list(row.identity),
                    row.source,
                    row.lon,
                    row.lat,
                    row.speed,
                    row.course,
                    row.heading,
                    row.status,
                    row.receivers,
                    _micros(row.received_at),
                    row.drill,
                ]
            )
        elif isinstance(row, StaticRow):
            identity = list(row.identity) if row.identity else None
            out.append(
                ["s", _micros(row.ts), identity, row.source, row.values, orjson.Fragment(row.data), row.drill]
            )
        else:
            identity = list(row.identity) if row.identity else None
            out.append(
                [
                    "e",
                    _micros(row.ts),
                    identity,
                    row.source,
                    row.kind,
                    orjson.Fragment(row.data),
                    _micros(row.received_at),
                ]
            )
    return orjson.dumps({"format": SPOOL_FORMAT, "rows": out})


def decode_rows(payload: bytes) -> list[Row]:
    """The rows `encode_rows` wrote; raises ValueError on anything else."""
    try:
        document = orjson.loads(payload)
        version = document.get("format")
        if version not in _READABLE_FORMATS:
            raise ValueError(f"unknown spool format {version!r}")
        return [_decode_row(item, version) for item in document["rows"]]
    except (KeyError, IndexError, TypeError, AttributeError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"not a spooled batch: {exc}") from exc


def _decode_row(item: list[Any], version: int) -> Row:
    tag = item[0]
    identity = (str(item[2][0]), str(item[2][1])) if item[2] else None
    if tag == "p":
        if version == 1:
            item = [*item, False]
        _, ts, _, source, lon, lat, speed, course, heading, status, receivers, received_at, drill = item
        if identity is None:
            raise ValueError("a spooled position without an identity")
        return PositionRow(
            _from_micros(ts),
            identity,
            source,
            lon,
            lat,
            speed,
            course,
            heading,
            status,
            receivers,
            _from_micros(received_at),
            drill is True,
        )
    if tag == "s":
        if version == 1:
            data = dict(item[5])
            item = [*item[:5], data, data.pop("drill", False)]
        _, ts, _, source, values, data, drill = item
        return StaticRow(_from_micros(ts), identity, source, dict(values), orjson.dumps(data), drill is True)
    if tag == "e":
        _, ts, _, source, kind, data, received_at = item
        return EventRow(
            _from_micros(ts), identity, source, kind, orjson.dumps(data), _from_micros(received_at)
        )
    raise ValueError(f"unknown row tag {tag!r}")
