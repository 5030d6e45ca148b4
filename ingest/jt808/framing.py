"""Frame level of JT/T 808: 0x7e delimiters, 0x7d escapes and the XOR checksum.

On the wire a frame is ``7e escape(header + body + checksum) 7e``; the checksum is the XOR of every
header and body byte before escaping.
"""

from __future__ import annotations

from ingest.jt808.errors import Jt808Error

FLAG = 0x7E
ESCAPE = 0x7D
_FLAG_BYTE = b"\x7e"
_ESCAPE_BYTE = b"\x7d"
# The smallest meaningful content: a 2013 header (12 bytes) and the checksum byte.
MIN_CONTENT = 13


def escape(content: bytes) -> bytes:
    """Escape 0x7d as 7d 01 and 0x7e as 7d 02 (0x7d first, so the new 0x7d bytes are not re-escaped)."""
    return content.replace(_ESCAPE_BYTE, b"\x7d\x01").replace(_FLAG_BYTE, b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Undo :func:`escape`; a bare 0x7e or a 0x7d not followed by 01/02 is an error, not data."""
    if FLAG in data:
        raise Jt808Error("delimiter", f"0x7e inside a frame at offset {data.index(FLAG)}")
    if ESCAPE not in data:
        return data
    parts = data.split(_ESCAPE_BYTE)
    out = bytearray(parts[0])
    for part in parts[1:]:
        if not part or part[0] not in (0x01, 0x02):
            raise Jt808Error("escape", "0x7d not followed by 0x01 or 0x02")
        out.append(ESCAPE if part[0] == 0x01 else FLAG)
        out += part[1:]
    return bytes(out)


def checksum(data: bytes) -> int:
    """XOR of all bytes."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def build_frame(content: bytes) -> bytes:
    """A wire frame for unescaped header + body ``content``: checksum appended, escaped, delimited."""
    return _FLAG_BYTE + escape(content + bytes([checksum(content)])) + _FLAG_BYTE


def open_frame(frame: bytes) -> tuple[bytes, bool]:
    """Unescape a wire frame and check it: returns (header + body, checksum_ok).

    The delimiters are required: without them text or stray bytes could pass for a frame.
    """
    if len(frame) < 2 or frame[0] != FLAG or frame[-1] != FLAG:
        raise Jt808Error("delimiter", "a frame starts and ends with 0x7e")
    content = unescape(frame[1:-1])
    if len(content) < MIN_CONTENT:
        raise Jt808Error("too_short", f"{len(content)} bytes, a frame needs at least {MIN_CONTENT}")
    return content[:-1], checksum(content[:-1]) == content[-1]
