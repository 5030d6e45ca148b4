"""The AIS benchmark corpus: a deterministic NMEA file of a Shanwei fleet, made with pyais' encoder.

One line per sentence, each with an NMEA 4.0 tag block carrying the receive time (``c:``, Unix seconds)
and the receiving station (``s:``), and a group tag (``g:``) on the two sentences of a type 5 message:

    \\s:SW-RX1,c:1740787200*hh\\!AIVDM,1,1,,A,<payload>,0*hh

The traffic is a fleet of 2,000 vessels (MMSI 412xxxxxx; 1,700 class A, 300 class B), 4 shore base
stations and 100 aids to navigation off the Shanwei coast, reporting at the design's busy-feed rate of
100 messages/s. The message mix is exact (`MIX`): 80 % position reports of types 1/3, 10 % type 18, 5 %
type 5 (two sentences each), and the rest types 24 (parts A and B), 4 and 21.

Senders take turns (round robin per message type), so a vessel repeats an identical static report only
every few minutes of feed time, as a real one does; position reports always differ (the boats move,
and the ones at anchor show a few metres of GPS noise). Vessels and buoys stay at sea by the coastline
seawatch's own rules use (`tracking.coast`), so the rules see a fleet at sea, not boats on land.

The file is built once per size and kept in `CACHE_DIR`; bump `CORPUS_VERSION` when the generator
changes so old files are not reused.
"""

from __future__ import annotations

import functools
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyais import encode_dict

from tracking.coast import Land

CORPUS_VERSION = 3
DEFAULT_SIZE = 200_000
SEED = 20250301
CACHE_DIR = Path(__file__).resolve().parents[1] / ".bench"

#: Feed time of the first message (outside the summer moratorium, so the fleet is at sea).
START = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
#: Messages per second of feed time: the design's busy coastal feed.
RATE = 100

CLASS_A_VESSELS = 1_700
CLASS_B_VESSELS = 300
BASE_STATIONS = 4
AIDS_TO_NAVIGATION = 100
STATIONS = ("SW-RX1", "SW-RX2", "SW-RX3")  # receivers along the coast (tag block s:)

#: (message type, share of all messages). Type 24 alternates parts A and B.
MIX: tuple[tuple[int, float], ...] = (
    (1, 0.65),
    (3, 0.15),
    (18, 0.10),
    (5, 0.05),
    (24, 0.03),
    (4, 0.01),
    (21, 0.01),
)

# The sea off Shanwei (汕尾): Honghai Bay to Jieshi Bay and the fishing grounds south of them.
LON_MIN, LON_MAX = 114.85, 115.85
LAT_MIN, LAT_MAX = 22.30, 22.75
# Anchorages off Shanwei, Jieshi and Houmen harbours, at sea by the coastline seawatch's rules use.
HARBOURS = ((115.359, 22.760), (115.640, 22.810), (115.075, 22.720))
BASE_STATION_SITES = ((115.373, 22.778), (115.653, 22.818), (115.061, 22.734), (115.880, 22.848))

KNOT_DEG_PER_S = 1852.0 / 3600.0 / 111_320.0  # degrees of latitude per second at one knot


@dataclass
class Vessel:
    mmsi: int
    name: str
    callsign: str
    lon: float
    lat: float
    speed: float  # knots
    course: float  # degrees
    status: int  # AIS navigational status: 0 under way, 1 at anchor, 5 moored, 7 fishing
    to_bow: int
    to_stern: int
    beam: int
    draught: float
    last_t: float = 0.0  # feed seconds of the last position report


def corpus_path(size: int, cache_dir: Path = CACHE_DIR) -> Path:
    return cache_dir / f"ais-{size}-s{SEED}-v{CORPUS_VERSION}.nmea"


def message_counts(size: int) -> dict[int, int]:
    """Exact messages per type for a corpus of `size` messages; rounding goes to type 1."""
    counts = {msg_type: int(size * share) for msg_type, share in MIX}
    counts[1] += size - sum(counts.values())
    return counts


def ensure_corpus(size: int = DEFAULT_SIZE, cache_dir: Path = CACHE_DIR) -> Path:
    """The corpus file for `size` messages, built if it is not cached yet."""
    path = corpus_path(size, cache_dir)
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".tmp{os.getpid()}")
    with partial.open("w", encoding="ascii", newline="\n") as out:
        for line in generate(size):
            out.write(line)
            out.write("\n")
    partial.replace(path)
    return path


def checksum(text: str) -> str:
    value = 0
    for char in text.encode("ascii"):
        value ^= char
    return f"{value:02X}"


def tag_block(fields: str) -> str:
    return f"\\{fields}*{checksum(fields)}\\"


def shift_times(corpus: bytes, offset_s: int) -> bytes:
    """The corpus with every tag block's `c:` time moved by `offset_s` (checksums recomputed)."""
    out: list[bytes] = []
    for line in corpus.splitlines():
        if line.startswith(b"\\") and b"c:" in line:
            fields, rest = line[1:].split(b"*", 1)
            sentence = rest.split(b"\\", 1)[1]
            moved = ",".join(
                f"c:{int(field[2:]) + offset_s}" if field.startswith("c:") else field
                for field in fields.decode("ascii").split(",")
            )
            line = tag_block(moved).encode("ascii") + sentence
        out.append(line)
    return b"\n".join(out) + b"\n"


def generate(size: int) -> Iterator[str]:
    """The corpus' lines, in feed order."""
    rng = random.Random(SEED)
    class_a = [_vessel(rng, 412_100_000 + i * 7, f"YUESHANYU{30000 + i}") for i in range(CLASS_A_VESSELS)]
    class_b = [_vessel(rng, 412_600_000 + i * 11, f"YUESHANYU{50000 + i}") for i in range(CLASS_B_VESSELS)]
    base_stations = [4_120_000 + i for i in range(1, BASE_STATIONS + 1)]  # 00412xxxx: shore stations
    aids = [
        (994_120_000 + i, *_sea_point(rng, (LON_MIN, LON_MAX), (LAT_MIN, LAT_MAX)), f"SW BUOY {i:03d}")
        for i in range(AIDS_TO_NAVIGATION)
    ]
    schedule = [msg_type for msg_type, count in message_counts(size).items() for _ in range(count)]
    rng.shuffle(schedule)
    turn: dict[int, int] = {}  # per message type, the next sender (round robin)
    group_id = 0
    for index, msg_type in enumerate(schedule):
        t = index / RATE
        now = START + timedelta(seconds=t)
        rotation = 1 if msg_type == 3 else msg_type  # types 1 and 3 come from one class A rotation
        nth = turn.get(rotation, 0)
        turn[rotation] = nth + 1
        data: dict[str, Any]
        if msg_type in (1, 3):
            data = _class_a_position(rng, class_a[nth % len(class_a)], msg_type, t, now)
        elif msg_type == 18:
            data = _class_b_position(rng, class_b[nth % len(class_b)], t, now)
        elif msg_type == 5:
            data = _static_voyage(class_a[nth % len(class_a)], now)
        elif msg_type == 24:
            data = _class_b_static(class_b[(nth // 2) % len(class_b)], part=nth % 2)
        elif msg_type == 4:
            data = _base_station(rng, base_stations[nth % len(base_stations)], nth % len(base_stations), now)
        else:
            data = _aid(aids[nth % len(aids)], now)
        data["msg_type"] = msg_type  # pyais' encoder takes the class from "type", the field from this
        channel = "AB"[rng.getrandbits(1)]
        station = STATIONS[rng.randrange(len(STATIONS))]
        stamp = int(now.timestamp())
        if msg_type != 5:
            (sentence,) = encode_dict(data, talker_id="AI", sentence_type="VDM", radio_channel=channel)
            yield tag_block(f"s:{station},c:{stamp}") + sentence
            continue
        group_id += 1  # a type 5 takes two sentences: a sequential id, and a tag block group
        sentences = encode_dict(
            data, talker_id="AI", sentence_type="VDM", radio_channel=channel, seq_id=group_id % 10
        )
        total = len(sentences)
        for number, part in enumerate(sentences, start=1):
            fields = f"g:{number}-{total}-{group_id}"
            if number == 1:
                fields += f",s:{station},c:{stamp}"
            yield tag_block(fields) + part


def _vessel(rng: random.Random, mmsi: int, name: str) -> Vessel:
    harbour = HARBOURS[rng.randrange(len(HARBOURS))]
    roll = rng.random()
    if roll < 0.15:  # in harbour
        lon, lat = _sea_point(
            rng, (harbour[0] - 0.004, harbour[0] + 0.004), (harbour[1] - 0.003, harbour[1] + 0.003)
        )
        status, speed = (5 if roll < 0.08 else 1), 0.0
    else:
        lon, lat = _sea_point(rng, (LON_MIN, LON_MAX), (LAT_MIN, LAT_MAX))
        status, speed = (7, rng.uniform(2.0, 4.5)) if roll < 0.75 else (0, rng.uniform(6.0, 10.5))
    length = rng.randint(12, 45)
    return Vessel(
        mmsi=mmsi,
        name=name,
        callsign=f"BZ{rng.randrange(36**4):04X}"[:7],
        lon=lon,
        lat=lat,
        speed=speed,
        course=rng.uniform(0, 360),
        status=status,
        to_bow=length * 2 // 3,
        to_stern=length - length * 2 // 3,
        beam=max(4, length // 4),
        draught=round(rng.uniform(1.5, 4.5), 1),
    )


@functools.cache
def _land() -> Land:
    return Land.shanwei()


def _at_sea(lon: float, lat: float) -> bool:
    return not _land().on_land(lon, lat)


def _sea_point(
    rng: random.Random, lons: tuple[float, float], lats: tuple[float, float]
) -> tuple[float, float]:
    while True:
        lon, lat = rng.uniform(*lons), rng.uniform(*lats)
        if _at_sea(lon, lat):
            return lon, lat


def _move(rng: random.Random, vessel: Vessel, t: float) -> None:
    dt, vessel.last_t = t - vessel.last_t, t
    before = vessel.lon, vessel.lat
    if vessel.speed <= 0:  # at anchor or moored: a few metres of GPS noise
        vessel.lon += rng.uniform(-0.00004, 0.00004)
        vessel.lat += rng.uniform(-0.00004, 0.00004)
        if not _at_sea(vessel.lon, vessel.lat):
            vessel.lon, vessel.lat = before
        return
    if vessel.status == 7:  # fishing: wandering course and speed
        vessel.course = (vessel.course + rng.uniform(-25, 25)) % 360
        vessel.speed = min(5.5, max(1.5, vessel.speed + rng.uniform(-0.4, 0.4)))
    else:
        vessel.course = (vessel.course + rng.uniform(-3, 3)) % 360
    distance = vessel.speed * KNOT_DEG_PER_S * dt
    radians = math.radians(vessel.course)
    vessel.lat += distance * math.cos(radians)
    vessel.lon += distance * math.sin(radians) / math.cos(math.radians(vessel.lat))
    inside = LON_MIN <= vessel.lon <= LON_MAX and LAT_MIN <= vessel.lat <= LAT_MAX
    if not inside or not _at_sea(vessel.lon, vessel.lat):
        # Turn back towards the fishing grounds from the edge of the area or the shore.
        vessel.course = (vessel.course + 180 + rng.uniform(-30, 30)) % 360
        vessel.lon, vessel.lat = before


def _class_a_position(
    rng: random.Random, vessel: Vessel, msg_type: int, t: float, now: datetime
) -> dict[str, Any]:
    _move(rng, vessel, t)
    moving = vessel.speed > 0
    return {
        "type": msg_type,
        "mmsi": vessel.mmsi,
        "status": vessel.status,
        "turn": round(rng.uniform(-8, 8), 1) if moving else 0,
        "speed": round(vessel.speed + rng.uniform(-0.1, 0.1), 1) if moving else 0.0,
        "accuracy": 1,
        "lon": vessel.lon,
        "lat": vessel.lat,
        "course": round(vessel.course, 1),
        "heading": round(vessel.course + rng.uniform(-4, 4)) % 360 if moving else 511,
        "second": now.second,
        "maneuver": 0,
        "raim": 0,
        "radio": rng.getrandbits(19),
    }


def _class_b_position(rng: random.Random, vessel: Vessel, t: float, now: datetime) -> dict[str, Any]:
    _move(rng, vessel, t)
    return {
        "type": 18,
        "mmsi": vessel.mmsi,
        "speed": round(vessel.speed, 1),
        "accuracy": 0,
        "lon": vessel.lon,
        "lat": vessel.lat,
        "course": round(vessel.course, 1),
        "heading": 511,
        "second": now.second,
        "cs": 1,
        "display": 0,
        "dsc": 1,
        "band": 1,
        "msg22": 1,
        "assigned": 0,
        "raim": 0,
        "radio": rng.getrandbits(20),
    }


def _static_voyage(vessel: Vessel, now: datetime) -> dict[str, Any]:
    eta = (now + timedelta(hours=30)).replace(minute=0)
    return {
        "type": 5,
        "mmsi": vessel.mmsi,
        "ais_version": 2,
        "imo": 0,
        "callsign": vessel.callsign,
        "shipname": vessel.name,
        "ship_type": 30,  # fishing
        "to_bow": vessel.to_bow,
        "to_stern": vessel.to_stern,
        "to_port": vessel.beam // 2,
        "to_starboard": vessel.beam - vessel.beam // 2,
        "epfd": 1,
        "month": eta.month,
        "day": eta.day,
        "hour": eta.hour,
        "minute": 0,
        "draught": vessel.draught,
        "destination": "SHANWEI",
        "dte": 0,
    }


def _class_b_static(vessel: Vessel, *, part: int) -> dict[str, Any]:
    if part == 0:
        return {"type": 24, "mmsi": vessel.mmsi, "partno": 0, "shipname": vessel.name}
    return {
        "type": 24,
        "mmsi": vessel.mmsi,
        "partno": 1,
        "ship_type": 30,
        "vendorid": "SWE",
        "model": 1,
        "serial": vessel.mmsi % (1 << 20),
        "callsign": vessel.callsign,
        "to_bow": vessel.to_bow,
        "to_stern": vessel.to_stern,
        "to_port": vessel.beam // 2,
        "to_starboard": vessel.beam - vessel.beam // 2,
    }


def _base_station(rng: random.Random, mmsi: int, site: int, now: datetime) -> dict[str, Any]:
    lon, lat = BASE_STATION_SITES[site]
    return {
        "type": 4,
        "mmsi": mmsi,
        "year": now.year,
        "month": now.month,
        "day": now.day,
        "hour": now.hour,
        "minute": now.minute,
        "second": now.second,
        "accuracy": 1,
        "lon": lon,
        "lat": lat,
        "epfd": 7,  # surveyed
        "raim": 0,
        "radio": rng.getrandbits(19),  # SOTDMA state: slot timeout and sub-message change every frame
    }


def _aid(aid: tuple[int, float, float, str], now: datetime) -> dict[str, Any]:
    mmsi, lon, lat, name = aid
    return {
        "type": 21,
        "mmsi": mmsi,
        "aid_type": 22,  # fixed structure: cardinal mark
        "name": name,
        "accuracy": 1,
        "lon": lon,
        "lat": lat,
        "epfd": 1,
        "second": now.second,
        "off_position": 0,
        "raim": 0,
        "virtual_aid": 0,
        "assigned": 0,
    }
