"""Terminal registration (0x0100), its response (0x8100) and authentication (0x0102)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ingest.jt808.codecs import ByLayout, PrefixedText, RestText, Text
from ingest.jt808.fields import Message, layout_field, u8, u16, wire
from ingest.jt808.registry import register

# The smallest 2013 register body: ids (4) + manufacturer (5) + model (20) + terminal id (7) + colour (1).
_MIN_2013_REGISTER = 37

REGISTER_RESULT_NAMES = (
    "ok",
    "vehicle_registered",
    "vehicle_unknown",
    "terminal_registered",
    "terminal_unknown",
)


@register
@dataclass(frozen=True)
class TerminalRegister(Message):
    """0x0100. Field widths changed twice: 2011 (model 8 bytes), 2013 (model 20), 2019 (11/30/30)."""

    MSG_ID: ClassVar[int] = 0x0100
    KIND: ClassVar[str] = "register"

    province_id: int = u16()
    city_id: int = u16()
    manufacturer_id: str = wire(Text(5, v2019=11))
    terminal_model: str = wire(Text(20, v2011=8, v2019=30))
    terminal_id: str = wire(Text(7, v2019=30))
    plate_color: int = u8()  # 0: no plate, then ``plate`` holds the VIN
    plate: str = wire(RestText())
    layout: int = layout_field()

    @classmethod
    def layout_of(cls, body: bytes, version: int) -> int:
        # 2011 and 2013 share the header, so only the body length tells them apart; a 2011 body would
        # need a plate of 12 or more bytes to be mistaken for 2013, longer than any Chinese plate.
        if version == 2019:
            return 2019
        return 2013 if len(body) >= _MIN_2013_REGISTER else 2011

    def encode_layout(self, version: int) -> int:
        return self.layout


@register
@dataclass(frozen=True)
class RegisterResponse(Message):
    """0x8100: result 0 carries the authentication code the terminal must send in 0x0102."""

    MSG_ID: ClassVar[int] = 0x8100
    KIND: ClassVar[str] = "register_response"

    reply_serial: int = u16()
    result: int = u8()
    auth_code: str = wire(RestText())

    def record(self, *, utc: bool = False) -> dict[str, object]:
        name = REGISTER_RESULT_NAMES[self.result] if self.result < len(REGISTER_RESULT_NAMES) else None
        return {**super().record(utc=utc), "result_name": name}


@register
@dataclass(frozen=True)
class TerminalAuth(Message):
    """0x0102. 2013: the whole body is the code; 2019: length-prefixed code, IMEI and software version."""

    MSG_ID: ClassVar[int] = 0x0102
    KIND: ClassVar[str] = "auth"

    auth_code: str = wire(ByLayout("", v2013=RestText(), v2019=PrefixedText()))
    imei: str = wire(ByLayout("", v2019=Text(15)))
    software_version: str = wire(ByLayout("", v2019=Text(20)))
