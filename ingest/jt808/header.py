"""Message header: id, body properties, terminal number, serial and subpackage numbering.

2013 header (12 bytes): id u16, properties u16, terminal BCD[6], serial u16.
2019 header (17 bytes): the same with the version flag (bit 14) set, a protocol version byte after the
properties, and terminal BCD[10]. Either is followed by total u16 and index u16 when bit 13 says the
message is split into packets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ingest.jt808.bcd import bcd_digits, bcd_pack, luhn_digit
from ingest.jt808.errors import Jt808Error

MAX_BODY = 0x3FF  # ten bits of body length
_VERSION_FLAG = 0x4000
_SUBPACKAGE_FLAG = 0x2000


@dataclass(frozen=True)
class Header:
    msg_id: int
    body_length: int  # as declared in the properties
    encryption: int  # 0 plain, bit 0 RSA; other values are vendor-specific
    version: int  # 2013 (also covers 2011, which has the same header) or 2019
    protocol_version: int | None  # the 2019 header's version byte
    terminal: str
    terminal_raw: bytes
    serial: int
    packet_total: int | None = None
    packet_index: int | None = None
    size: int = 12  # bytes taken by the header

    @property
    def subpackage(self) -> bool:
        return self.packet_total is not None


def terminal_text(raw: bytes) -> str:
    """The terminal number as text.

    BCD gives digits. Some trackers put a binary IMEI (its 14 leading digits as a 48-bit number)
    where the 6-byte BCD phone number belongs; every such sample in the reference data decodes to
    "86…", a Chinese IMEI prefix, so those become the 15-digit IMEI with its Luhn digit, the number
    printed on the device. Anything else stays as hex so that no frame is lost over its ID.
    """
    digits = bcd_digits(raw)
    if digits is not None:
        return digits
    if len(raw) == 6:
        value = int.from_bytes(raw, "big")
        if value < 10**14:
            body = f"{value:014d}"
            return body + luhn_digit(body)
    return raw.hex()


def terminal_bytes(terminal: str, size: int) -> bytes:
    """Inverse of :func:`terminal_text` for a header field of ``size`` bytes."""
    if terminal.isdigit() and len(terminal) <= size * 2:
        return bcd_pack(terminal, size)
    if size == 6 and terminal.isdigit() and len(terminal) == 15 and luhn_digit(terminal[:14]) == terminal[14]:
        return int(terminal[:14]).to_bytes(6, "big")
    try:
        raw = bytes.fromhex(terminal)
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise Jt808Error("encode", f"terminal {terminal!r} does not fit {size} bytes")
    return raw


def parse_header(content: bytes) -> Header:
    """Parse the header at the start of unescaped ``content`` (header + body, no checksum).

    A few 2013 terminals set the reserved bit 14 that 2019 uses as its version flag; when the declared
    body length only fits the 2013 layout, the 2013 layout wins.
    """
    if len(content) < 12:
        raise Jt808Error("too_short", f"{len(content)} bytes, a header needs at least 12")
    msg_id, props = struct.unpack_from(">HH", content)
    declared = props & MAX_BODY
    packets = 4 if props & _SUBPACKAGE_FLAG else 0
    version = 2019 if props & _VERSION_FLAG else 2013
    body_2013 = len(content) - 12 - packets
    if version == 2019 and body_2013 - 5 != declared and body_2013 == declared:
        version = 2013
    size = (17 if version == 2019 else 12) + packets
    if len(content) < size:
        raise Jt808Error("too_short", f"{len(content)} bytes, a {version} header needs {size}")
    if version == 2019:
        protocol_version: int | None = content[4]
        raw = content[5:15]
    else:
        protocol_version = None
        raw = content[4:10]
    serial_at = size - packets - 2
    (serial,) = struct.unpack_from(">H", content, serial_at)
    total = index = None
    if packets:
        total, index = struct.unpack_from(">HH", content, serial_at + 2)
    return Header(
        msg_id=msg_id,
        body_length=declared,
        encryption=(props >> 10) & 0x7,
        version=version,
        protocol_version=protocol_version,
        terminal=terminal_text(raw),
        terminal_raw=raw,
        serial=serial,
        packet_total=total,
        packet_index=index,
        size=size,
    )


def encode_header(
    msg_id: int,
    body_length: int,
    *,
    terminal: str,
    serial: int,
    version: int = 2013,
    protocol_version: int = 1,
    packet: tuple[int, int] | None = None,
) -> bytes:
    """Header bytes for a plain (unencrypted) message; ``packet`` is (total, index) when split."""
    if not 0 <= body_length <= MAX_BODY:
        raise Jt808Error("encode", f"body of {body_length} bytes does not fit ten bits")
    props = body_length
    if packet is not None:
        props |= _SUBPACKAGE_FLAG
    try:
        if version == 2019:
            head = struct.pack(">HHB", msg_id, props | _VERSION_FLAG, protocol_version)
            head += terminal_bytes(terminal, 10)
        else:
            head = struct.pack(">HH", msg_id, props) + terminal_bytes(terminal, 6)
        head += struct.pack(">H", serial)
        if packet is not None:
            head += struct.pack(">HH", *packet)
    except struct.error as exc:
        raise Jt808Error("encode", f"header value out of range: {exc}") from exc
    return head
