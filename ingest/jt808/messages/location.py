"""Position reports: 0x0200, the query answer 0x0201 and the batch upload 0x0704."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from ingest.jt808.additional import AdditionalItems, ItemList, item_fields
from ingest.jt808.alarms import STATUS_POSITIONED, STATUS_SOUTH, STATUS_WEST, alarm_names, status_names
from ingest.jt808.bcd import bcd_time
from ingest.jt808.codecs import Bcd
from ingest.jt808.fields import Message, Nested, SizedList, u8, u16, u32, wire
from ingest.jt808.registry import register

KMH_PER_KNOT = 1.852


def _degrees(raw: int, negative: bool, limit: float) -> float | None:
    """Millionths of a degree to degrees; None when outside ±limit (the value cannot be a position).

    The standard sends magnitudes with the hemisphere in status bits 2/3, but some terminals send
    a two's-complement negative value instead (or as well); reading the field as signed and then
    applying the hemisphere bit to the magnitude gives the same answer for all of them.
    """
    signed = raw - (1 << 32) if raw >= 1 << 31 else raw
    degrees = signed / 1e6
    if negative:
        degrees = -abs(degrees) + 0.0  # + 0.0 turns -0.0 into 0.0
    return degrees if abs(degrees) <= limit else None


@register
@dataclass(frozen=True)
class LocationReport(Message):
    """0x0200: 28 bytes of basic position information, then additional items."""

    MSG_ID: ClassVar[int] = 0x0200
    KIND: ClassVar[str] = "position"

    alarm_bits: int = u32()
    status_bits: int = u32()
    lat_e6: int = u32()  # millionths of a degree, magnitude
    lon_e6: int = u32()
    altitude: int = u16()  # metres
    speed_dkmh: int = u16()  # tenths of km/h
    course: int = u16()  # degrees from north
    time: str = wire(Bcd(6))  # YYMMDDhhmmss, GMT+8 per the standard
    # wire() returns a dataclasses.field, which is what RUF009 asks for; ruff just cannot see it.
    additional: AdditionalItems = wire(ItemList(), AdditionalItems())  # noqa: RUF009

    def timestamp(self, *, utc: bool = False) -> datetime | None:
        return bcd_time(self.time, utc=utc)

    def record(self, *, utc: bool = False) -> dict[str, object]:
        speed_kmh = self.speed_dkmh / 10
        return {
            "ts": self.timestamp(utc=utc),
            "lat": _degrees(self.lat_e6, bool(self.status_bits & STATUS_SOUTH), 90),
            "lon": _degrees(self.lon_e6, bool(self.status_bits & STATUS_WEST), 180),
            "altitude": self.altitude,
            "speed": round(speed_kmh / KMH_PER_KNOT, 3),
            "speed_kmh": speed_kmh,
            "course": self.course if self.course < 360 else None,
            "fix": bool(self.status_bits & STATUS_POSITIONED),
            "alarm_bits": self.alarm_bits,
            "alarms": alarm_names(self.alarm_bits),
            "status_bits": self.status_bits,
            "status_flags": status_names(self.status_bits),
            **item_fields(self.additional),
        }


@register
@dataclass(frozen=True)
class LocationQueryResponse(Message):
    """0x0201: the answer to the platform's position query 0x8201, a 0x0200 body after a serial."""

    MSG_ID: ClassVar[int] = 0x0201
    KIND: ClassVar[str] = "position"

    reply_serial: int = u16()
    location: LocationReport = wire(Nested(LocationReport))  # noqa: RUF009 (a field, see above)

    def record(self, *, utc: bool = False) -> dict[str, object]:
        return {**self.location.record(utc=utc), "reply_serial": self.reply_serial}


@register
@dataclass(frozen=True)
class BatchLocationUpload(Message):
    """0x0704: several 0x0200 bodies, each preceded by its length; type 1 is blind-area backfill."""

    MSG_ID: ClassVar[int] = 0x0704
    KIND: ClassVar[str] = "position_batch"

    count: int = u16()
    batch_type: int = u8()  # 0 normal batch, 1 backfill of positions stored while out of coverage
    positions: tuple[LocationReport, ...] = wire(SizedList(LocationReport))

    def record(self, *, utc: bool = False) -> dict[str, object]:
        positions = [position.record(utc=utc) for position in self.positions]
        times = [p["ts"] for p in positions if isinstance(p["ts"], datetime)]
        return {
            "ts": max(times, default=None),  # the batch is as recent as its newest position
            "count": self.count,
            "batch_type": self.batch_type,
            "positions": positions,
        }
