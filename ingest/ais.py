"""Decoding an assembled AIS payload into a seawatch record (a JSON-ready dict).

pyais does the bit work; this module only normalises its output to the design's contract, with rules
declared once per field in `FIELD_RULES` and per value type (text, binary, enum), turned into a plan
once per pyais message class (`_plan_for`) so that each message costs a few list operations:

- ``kind`` by message type (`KINDS`):

  ======================  =====================================================================
  ``position``            1, 2, 3 (class A), 18, 19 (class B), 27 (long range), 9 (SAR aircraft)
  ``base_station``        4 (base station report), 11 (UTC/date response: the same layout)
  ``static``              5 (class A static and voyage), 24 (class B static, part A or B)
  ``aton``                21 (aid to navigation: a buoy or beacon is not a vessel, so it is kept
                          apart from ``position``/``static`` and tracking never mistakes it for one)
  ``safety``              12 (addressed), 14 (broadcast) safety-related text
  ``binary``              6, 8 (addressed/broadcast binary), 25, 26 (single/multiple slot binary)
  ``ack``                 7 (binary acknowledge), 13 (safety acknowledge)
  ``interrogation``       10 (UTC/date inquiry), 15 (interrogation)
  ``assignment``          16 (assignment mode command), 23 (group assignment command)
  ``dgnss``               17 (DGNSS corrections, with the reference station's position)
  ``link_management``     20 (data link management)
  ``channel_management``  22 (channel management)
  ======================  =====================================================================

- ``source`` is ``"ais"``, ``ts`` is whatever the caller knows (an aware datetime, or None).
- Other fields keep pyais' names (gpsd's). "Not available" values become None: lat 91, lon 181,
  speed 102.3 (type 9: 1023, type 27: 63), course 360 (type 27: 511), heading 511, turn -128,
  second 60 (61-63 are kept: they are codes for manual input, dead reckoning, inoperative system),
  altitude 4095, and the date/time fields month 0, day 0, hour 24, minute 60, year 0.
- ``turn`` is degrees per minute as pyais computes it; the codes 127 and -127 (turning faster than
  5 degrees in 30 s, no turn indicator) are kept as they are.
- Text ends at the first ``@`` (the 6-bit "no character"); trailing spaces are stripped.
- Binary fields (``data``) are lower-case hex strings; enums are plain ints.

What pyais 3.3.1 gets wrong, and is fixed here:

- Type 17 ``lon``/``lat`` come out in minutes and unsigned; here they are signed degrees.
- Types 22/23 corners (``ne_lon``...) come out in minutes; here they are degrees like every position.
- Enum fields map codes the enum does not know to a fallback member (ship type 107 becomes 0, epfd 9
  becomes 0), so enum values are re-read from the raw bits at pyais' own field offsets.
- Text keeps characters after an ``@`` that is not trailing (``"GUATEMALA@@@@@@B"``).
- Type 21's ``name_ext`` is appended to ``name`` when the name field is full, and dropped.
- Structured type 25/26 messages carry ``app_id``; here it is split into ``dac`` and ``fid`` like 6/8.

Payloads shorter than their message type's fixed part (`MIN_BITS`) are refused: pyais would read
the missing bits as zeros and produce plausible-looking but wrong positions.
"""

from __future__ import annotations

import math
import operator
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import attrs
from pyais import bit_vector
from pyais.messages import BYTES, MSG_CLASS, STR, Payload

Record = dict[str, Any]


class AisDecodeError(ValueError):
    """The payload is not a decodable AIS message."""


KINDS: Mapping[int, str] = {
    **dict.fromkeys((1, 2, 3, 9, 18, 19, 27), "position"),
    **dict.fromkeys((4, 11), "base_station"),
    **dict.fromkeys((5, 24), "static"),
    21: "aton",
    **dict.fromkeys((12, 14), "safety"),
    **dict.fromkeys((6, 8, 25, 26), "binary"),
    **dict.fromkeys((7, 13), "ack"),
    **dict.fromkeys((10, 15), "interrogation"),
    **dict.fromkeys((16, 23), "assignment"),
    17: "dgnss",
    20: "link_management",
    22: "channel_management",
}

#: The fewest bits a message of each type can have (its fixed fields), as gpsd checks them.
MIN_BITS: Mapping[int, int] = {
    **dict.fromkeys((1, 2, 3, 4, 9, 11, 18, 22), 168),
    5: 420,  # 424 by the standard; many transmitters send 420 or 422
    6: 88, 7: 72, 8: 56, 10: 72, 12: 72, 13: 72, 14: 40, 15: 88, 16: 96, 17: 80, 19: 312, 20: 72,
    21: 272, 23: 160, 24: 160, 25: 40, 26: 60, 27: 96,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rule:
    """How one pyais field becomes a contract field."""

    #: Values the protocol reserves for "not available"; they become None.
    not_available: tuple[float, ...] = ()
    #: Where pyais' unit or sign is wrong: rebuild the value from the field's raw bits, divided by this.
    raw_divisor: float | None = None
    signed: bool = False


def _na(*values: float) -> Rule:
    return Rule(not_available=values)


_LAT_LON = {"lon": _na(181.0), "lat": _na(91.0)}
_SECOND = {"second": _na(60)}
_DATE = {"month": _na(0), "day": _na(0), "hour": _na(24), "minute": _na(60)}
_MOTION = {"speed": _na(102.3), "course": _na(360.0), "heading": _na(511)}
# Signed 1/10 minutes, which pyais leaves in minutes (and, for type 17, unsigned).
_TENTH_MINUTES = Rule(raw_divisor=600.0, signed=True)
_DGNSS_POSITION = {
    "lon": Rule(not_available=(181.0,), raw_divisor=600.0, signed=True),
    "lat": Rule(not_available=(91.0,), raw_divisor=600.0, signed=True),
}
_CORNERS = dict.fromkeys(("ne_lon", "ne_lat", "sw_lon", "sw_lat"), _TENTH_MINUTES)
_CLASS_A = {**_LAT_LON, **_MOTION, **_SECOND, "turn": _na(-128)}
_CLASS_B = {**_LAT_LON, **_MOTION, **_SECOND}
_UTC_REPORT = {**_LAT_LON, **_DATE, **_SECOND, "year": _na(0)}

#: Per message type, the fields that need more than the generic value rules.
FIELD_RULES: Mapping[int, Mapping[str, Rule]] = {
    **dict.fromkeys((1, 2, 3), _CLASS_A),
    **dict.fromkeys((4, 11), _UTC_REPORT),
    5: _DATE,
    9: {**_LAT_LON, **_SECOND, "speed": _na(1023.0), "course": _na(360.0), "alt": _na(4095)},
    17: _DGNSS_POSITION,
    **dict.fromkeys((18, 19), _CLASS_B),
    21: {**_LAT_LON, **_SECOND},
    **dict.fromkeys((22, 23), _CORNERS),
    27: {**_LAT_LON, "speed": _na(63.0), "course": _na(511.0)},
}


def _join_aton_name(record: Record) -> None:
    # The 20-character name continues in name_ext only when it fills its field (no '@' padding).
    name, extension = record.get("name"), record.pop("name_ext", None)
    if isinstance(name, str) and len(name) == 20 and extension:
        record["name"] = name + extension


def _split_application_id(record: Record) -> None:
    # Structured type 25/26 payloads start with a 16-bit application id that is DAC (10 bits) and
    # FID (6 bits), the same pair types 6 and 8 carry as separate fields.
    app_id = record.pop("app_id", None)
    if isinstance(app_id, int):
        record["dac"], record["fid"] = divmod(app_id, 64)


#: IMO SN.1/Circ.289 meteorological and hydrological data (type 8, DAC 1, FI 31): the values that mean
#: "not available", as pyais scales them.
MET_NOT_AVAILABLE: Mapping[str, float] = {
    "lon": 181.0, "lat": 91.0, "day": 0, "hour": 24, "minute": 60,
    "wspeed": 127, "wgust": 127, "wdir": 360, "wgustdir": 360, "airtemp": -102.4, "humidity": 101,
    "dewpoint": 50.1, "pressure": 1310, "pressuretend": 3, "visibility": 12.7, "waterlevel": 30.01,
    "leveltrend": 3, "cspeed": 25.5, "cdir": 360, "cspeed2": 25.5, "cdir2": 360, "cdepth2": 31,
    "cspeed3": 25.5, "cdir3": 360, "cdepth3": 31, "waveheight": 25.5, "waveperiod": 63, "wavedir": 360,
    "swellheight": 25.5, "swellperiod": 63, "swelldir": 360, "seastate": 13, "watertemp": 50.1,
    "preciptype": 7, "salinity": 51.0, "ice": 3,
}  # fmt: skip


def _met_observation(record: Record) -> None:
    # A weather station's report: kept as an observation, with its sentinels cleared like every other
    # "not available" value (the scaled sentinels are compared with a tolerance: they went through floats).
    if (record.get("dac"), record.get("fid")) != (1, 31):
        return
    record["kind"] = "met_observation"
    for name, sentinel in MET_NOT_AVAILABLE.items():
        value = record.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isclose(value, sentinel):
            record[name] = None


#: Per message type, fixes that involve more than one field.
_MESSAGE_FIXUPS: Mapping[int, Callable[[Record], None]] = {
    8: _met_observation,
    21: _join_aton_name,
    **dict.fromkeys((25, 26), _split_application_id),
}


def decode_payload(
    payload: str, fill_bits: int = 0, *, ts: datetime | None = None, extra: Mapping[str, Any] | None = None
) -> Record:
    """Decode an assembled 6-bit payload. Raises `AisDecodeError` (only) for undecodable input.

    The record is ``kind``, ``source``, ``ts``, then `extra` (what the caller knows about the reception,
    such as ``station`` and ``channel``), then the message's fields.
    """
    if not payload:
        raise AisDecodeError("empty payload")
    if not payload.isascii() or not 0 <= fill_bits <= 5:
        raise AisDecodeError("payload is not 6-bit armoured ASCII")
    bits = bit_vector(payload.encode("ascii"), fill_bits)
    msg_type = bits.get(0, 6)
    kind = KINDS.get(msg_type)
    if kind is None:
        raise AisDecodeError(f"unsupported message type {msg_type}")
    size = len(bits)
    if size < MIN_BITS[msg_type]:
        raise AisDecodeError(f"type {msg_type} message of {size} bits, at least {MIN_BITS[msg_type]} needed")
    try:
        message = MSG_CLASS[msg_type].from_vector(bits)
    except Exception as err:  # pyais raises assorted errors on odd payloads (e.g. type 24 part 2)
        raise AisDecodeError(f"type {msg_type}: {err}") from err
    plan = _PLANS.get(type(message)) or _plan_for(message, msg_type)

    values = list(plan.values(message))
    for index, offset, width, signed, divisor in plan.raw:
        # Enums and values pyais scales wrongly, re-read from the bits at pyais' own offsets.
        if offset >= size:
            values[index] = None
        elif divisor is None:
            values[index] = bits.get_num(offset, width, signed)
        else:
            values[index] = round(bits.get_num(offset, width, signed) / divisor, 6)  # pyais' precision
    for index in plan.whole_enums:
        member = values[index]
        if isinstance(member, Enum):
            values[index] = member._value_
    for index, offset, width, signed in plan.sometimes_enum:
        if isinstance(values[index], Enum):
            values[index] = bits.get_num(offset, width, signed)
    for index in plan.text:
        text = values[index]
        if text is not None:
            values[index] = text.split("@", 1)[0].rstrip()
    for index in plan.binary:
        data = values[index]
        if data is not None:
            values[index] = data.hex()
    for index, not_available in plan.not_available:
        if values[index] in not_available:
            values[index] = None

    record: Record = {"kind": kind, "source": "ais", "ts": ts, **(extra or {})}
    record.update(zip(plan.names, values, strict=True))
    fixup = _MESSAGE_FIXUPS.get(msg_type)
    if fixup is not None:
        fixup(record)
    return record


@dataclass(frozen=True, slots=True)
class _Plan:
    """How the fields of one pyais message class become contract fields, worked out once per class."""

    #: The message's bit fields (no spares, no cached helpers), in pyais' `asdict` order.
    names: tuple[str, ...]
    #: The values of `names` from a message object, as a tuple.
    values: Callable[[Payload], tuple[Any, ...]]
    #: (index, bit offset, width, signed, divisor or None) of the values re-read from the raw bits.
    raw: tuple[tuple[int, int, int, bool, float | None], ...]
    #: The same for values re-read only when pyais gives an enum member (``turn``: the codes +-127, 128).
    sometimes_enum: tuple[tuple[int, int, int, bool], ...]
    #: Indexes of enums with a member for every value their field can hold (``status``): pyais cannot
    #: have fallen back to a default member, so the member's value is the field's.
    whole_enums: tuple[int, ...]
    #: Indexes of 6-bit text values (cut at the first '@', trailing spaces stripped).
    text: tuple[int, ...]
    #: Indexes of binary values (lower-case hex).
    binary: tuple[int, ...]
    #: (index, values meaning "not available") of the values that have such values.
    not_available: tuple[tuple[int, tuple[float, ...]], ...]


_PLANS: dict[type[Payload], _Plan] = {}


def _plan_for(message: Payload, msg_type: int) -> _Plan:
    # asdict() leaves out spare fields but lists cached helpers such as type 21's full_name: only the
    # fields in pyais' decoder plan are the message's bit fields.
    decoder_plan = {
        name: (offset, width, signed, kind, converter)
        for name, offset, width, signed, kind, converter in type(message).decoder_plan()
    }
    attributes = attrs.fields_dict(type(message))
    names = tuple(name for name in message.asdict() if name in decoder_plan)
    rules = FIELD_RULES.get(msg_type, {})
    raw: list[tuple[int, int, int, bool, float | None]] = []
    sometimes_enum: list[tuple[int, int, int, bool]] = []
    whole_enums: list[int] = []
    text: list[int] = []
    binary: list[int] = []
    not_available: list[tuple[int, tuple[float, ...]]] = []
    for index, name in enumerate(names):
        offset, width, signed, kind, converter = decoder_plan[name]
        rule = rules.get(name)
        # The field converts in pyais' decoder or, like `status`, in the class's own __init__.
        converters = (converter, attributes[name].converter if name in attributes else None)
        where = (index, offset, width, signed or (rule is not None and rule.signed))
        enum = next((e for e in map(_enum_of, converters) if e is not None), None)
        if rule is not None and rule.raw_divisor is not None:
            raw.append((*where, rule.raw_divisor))
        elif (
            enum is not None and width <= 16 and all(v in enum._value2member_map_ for v in range(1 << width))
        ):
            whole_enums.append(index)
        elif enum is not None:
            raw.append((*where, None))
        elif any(_may_return_enum(c) for c in converters if c is not None):
            sometimes_enum.append(where)
        elif kind == STR:
            text.append(index)
        elif kind == BYTES:
            binary.append(index)
        if rule is not None and rule.not_available:
            not_available.append((index, rule.not_available))
    getter = operator.attrgetter(*names)
    values: Callable[[Payload], tuple[Any, ...]] = (
        getter if len(names) > 1 else lambda message: (getter(message),)
    )
    plan = _Plan(
        names,
        values,
        tuple(raw),
        tuple(sometimes_enum),
        tuple(whole_enums),
        tuple(text),
        tuple(binary),
        tuple(not_available),
    )
    _PLANS[type(message)] = plan
    return plan


def _enum_of(converter: Any) -> type[Enum] | None:
    # pyais' enum fields convert with the enum class itself or its `from_value` class method.
    owner = getattr(converter, "__self__", converter)
    return owner if isinstance(owner, type) and issubclass(owner, Enum) else None


def _may_return_enum(converter: Any) -> bool:
    # By the converter's declared return type (to_turn: float or TurnRate); unknown means maybe.
    try:
        returns = typing.get_type_hints(converter).get("return")
    except Exception:  # unresolvable annotations
        return True
    if returns is None:
        return True
    return any(isinstance(t, type) and issubclass(t, Enum) for t in (typing.get_args(returns) or (returns,)))


def carried_time(record: Record) -> datetime | None:
    """The UTC time a base station report (type 4/11) carries, when complete and valid."""
    if record.get("msg_type") not in (4, 11):
        return None
    parts = [record.get(name) for name in ("year", "month", "day", "hour", "minute", "second")]
    numbers = [p for p in parts if isinstance(p, int)]
    if len(numbers) != len(parts):
        return None
    year, month, day, hour, minute, second = numbers
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
