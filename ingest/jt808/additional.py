"""Additional information items after the 0x0200 basic fields: id (u8), length (u8), value.

Known items become named record fields; an item with an unknown id, or a known id with a length
the standard does not allow, is kept as hex under its id in ``additional_raw`` so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingest.jt808.codecs import Codec, Cursor

ItemDecoder = Callable[[bytes], object]


@dataclass(frozen=True)
class AdditionalItems:
    items: tuple[tuple[int, bytes], ...] = ()
    tail: bytes = b""  # bytes too short to be a complete item (a vendor bug); kept, not fatal


class ItemList(Codec[AdditionalItems]):
    """Items to the end of the body; a truncated last item becomes the tail."""

    def read(self, cur: Cursor, layout: int) -> AdditionalItems:
        data = cur.rest()
        items: list[tuple[int, bytes]] = []
        pos = 0
        while len(data) - pos >= 2 and pos + 2 + data[pos + 1] <= len(data):
            size = data[pos + 1]
            items.append((data[pos], data[pos + 2 : pos + 2 + size]))
            pos += 2 + size
        return AdditionalItems(tuple(items), data[pos:])

    def write(self, value: AdditionalItems, layout: int) -> bytes:
        return b"".join(bytes([item, len(data)]) + data for item, data in value.items) + value.tail


def _uint(size: int, scale: float = 1) -> Callable[[bytes], object]:
    def decode(data: bytes) -> object:
        if len(data) != size:
            return None
        value = int.from_bytes(data, "big")
        return value if scale == 1 else value / scale

    return decode


def _overspeed(data: bytes) -> object:
    # Position type 0 (no specific area) comes alone; otherwise the area or route id follows.
    if len(data) == 1:
        return {"area_type": data[0], "area_id": None}
    if len(data) == 5:
        return {"area_type": data[0], "area_id": int.from_bytes(data[1:], "big")}
    return None


def _area_in_out(data: bytes) -> object:
    if len(data) != 6:
        return None
    return {"area_type": data[0], "area_id": int.from_bytes(data[1:5], "big"), "direction": data[5]}


def _route_time(data: bytes) -> object:
    if len(data) != 7:
        return None
    return {
        "route_id": int.from_bytes(data[:4], "big"),
        "drive_time_s": int.from_bytes(data[4:6], "big"),
        "result": data[6],  # 0 too short, 1 too long
    }


ITEMS: dict[int, tuple[str, ItemDecoder]] = {
    0x01: ("mileage_km", _uint(4, 10)),  # 1/10 km
    0x02: ("fuel_l", _uint(2, 10)),  # 1/10 L
    0x03: ("recorder_speed_kmh", _uint(2, 10)),  # 1/10 km/h, from the tachograph
    0x04: ("alarm_event_id", _uint(2)),  # for manual confirmation with 0x8203
    0x11: ("overspeed_area", _overspeed),
    0x12: ("area_alarm", _area_in_out),  # direction 0 entering, 1 leaving
    0x13: ("route_time_alarm", _route_time),
    0x25: ("vehicle_signal_bits", _uint(4)),
    0x2A: ("io_status_bits", _uint(2)),
    0x2B: ("analog", _uint(4)),  # bits 0-15 AD0, 16-31 AD1
    0x30: ("signal_strength", _uint(1)),
    0x31: ("gnss_satellites", _uint(1)),
}


def item_fields(value: AdditionalItems) -> dict[str, object]:
    """Named fields for known items plus ``additional_raw`` (always present, maybe empty)."""
    out: dict[str, object] = {}
    raw: dict[str, str] = {}
    for item, data in value.items:
        known = ITEMS.get(item)
        decoded = known[1](data) if known else None
        if known and decoded is not None and known[0] not in out:
            out[known[0]] = decoded
            continue
        key = f"0x{item:02x}"
        occurrence = 2
        while key in raw:  # the same id twice is a vendor quirk; keep every copy
            key = f"0x{item:02x}#{occurrence}"
            occurrence += 1
        raw[key] = data.hex()
    if value.tail:
        raw["tail"] = value.tail.hex()
    out["additional_raw"] = raw
    return out
