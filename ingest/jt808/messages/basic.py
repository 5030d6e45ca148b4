"""General responses both ways, heartbeat and logout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ingest.jt808.fields import Message, u8, u16
from ingest.jt808.registry import register

# Result codes of 0x0001 and 0x8001; 4 (alarm confirmation) only exists for the platform's 0x8001.
RESULT_NAMES = ("ok", "failure", "bad_message", "not_supported", "alarm_confirmed")


def result_name(result: int) -> str | None:
    return RESULT_NAMES[result] if result < len(RESULT_NAMES) else None


@dataclass(frozen=True)
class _GeneralResponse(Message):
    reply_serial: int = u16()
    reply_msg_id: int = u16()
    result: int = u8()

    def record(self, *, utc: bool = False) -> dict[str, object]:
        return {**super().record(utc=utc), "result_name": result_name(self.result)}


@register
@dataclass(frozen=True)
class TerminalGeneralResponse(_GeneralResponse):
    """0x0001: the terminal acknowledges a platform message."""

    MSG_ID: ClassVar[int] = 0x0001
    KIND: ClassVar[str] = "terminal_response"


@register
@dataclass(frozen=True)
class PlatformGeneralResponse(_GeneralResponse):
    """0x8001: the platform acknowledges a terminal message (result 0 ok … 4 alarm confirmed)."""

    MSG_ID: ClassVar[int] = 0x8001
    KIND: ClassVar[str] = "platform_response"


@register
@dataclass(frozen=True)
class Heartbeat(Message):
    """0x0002: empty body; the platform answers with 0x8001."""

    MSG_ID: ClassVar[int] = 0x0002
    KIND: ClassVar[str] = "heartbeat"


@register
@dataclass(frozen=True)
class TerminalLogout(Message):
    """0x0003: empty body; the terminal is going away on purpose (not a lost contact)."""

    MSG_ID: ClassVar[int] = 0x0003
    KIND: ClassVar[str] = "logout"
