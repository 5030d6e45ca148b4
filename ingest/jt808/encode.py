"""Platform → terminal frames: the general response and the register response.

Answer in the header version the terminal used (a 2019 terminal expects a 2019 header), with the
platform's own serial number; ``reply_serial``/``reply_msg_id`` name the message being answered.
"""

from __future__ import annotations

from ingest.jt808.fields import Message
from ingest.jt808.framing import build_frame
from ingest.jt808.header import encode_header
from ingest.jt808.messages import PlatformGeneralResponse, RegisterResponse

RESULT_OK = 0
RESULT_FAILURE = 1
RESULT_BAD_MESSAGE = 2
RESULT_NOT_SUPPORTED = 3
RESULT_ALARM_CONFIRMED = 4


def encode_message(
    message: Message, *, terminal: str, serial: int, version: int = 2013, protocol_version: int = 1
) -> bytes:
    """A complete escaped wire frame carrying ``message``."""
    body = message.encode(version=version)
    head = encode_header(
        message.MSG_ID,
        len(body),
        terminal=terminal,
        serial=serial,
        version=version,
        protocol_version=protocol_version,
    )
    return build_frame(head + body)


def encode_general_response(
    *,
    terminal: str,
    serial: int,
    reply_serial: int,
    reply_msg_id: int,
    result: int = RESULT_OK,
    version: int = 2013,
    protocol_version: int = 1,
) -> bytes:
    """0x8001: result 0 ok, 1 failure, 2 bad message, 3 not supported, 4 alarm confirmation."""
    body = PlatformGeneralResponse(reply_serial=reply_serial, reply_msg_id=reply_msg_id, result=result)
    return encode_message(
        body, terminal=terminal, serial=serial, version=version, protocol_version=protocol_version
    )


def encode_register_response(
    *,
    terminal: str,
    serial: int,
    reply_serial: int,
    result: int = RESULT_OK,
    auth_code: str = "",
    version: int = 2013,
    protocol_version: int = 1,
) -> bytes:
    """0x8100: the authentication code is only sent with result 0 (success)."""
    body = RegisterResponse(
        reply_serial=reply_serial, result=result, auth_code=auth_code if result == RESULT_OK else ""
    )
    return encode_message(
        body, terminal=terminal, serial=serial, version=version, protocol_version=protocol_version
    )
