"""Codecs: how one field's value is read from and written to a body.

Codecs receive the *layout* (2011, 2013 or 2019) because some messages change field widths between
editions of the standard.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from ingest.jt808.errors import Jt808Error

T = TypeVar("T")
# GB18030 is a superset of GBK, which the standard names for text; ASCII fields decode the same.
TEXT_ENCODING = "gb18030"


class Cursor:
    """A read position in a body; reading past the end is a ``body`` error."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, size: int) -> bytes:
        if size > self.remaining:
            raise Jt808Error("body", f"needs {size} more bytes at offset {self.pos}, has {self.remaining}")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def rest(self) -> bytes:
        return self.take(self.remaining)


class Codec(Generic[T]):
    """Reads and writes one field's value."""

    def read(self, cur: Cursor, layout: int) -> T:
        raise NotImplementedError

    def write(self, value: T, layout: int) -> bytes:
        raise NotImplementedError


class UInt(Codec[int]):
    def __init__(self, size: int) -> None:
        self.size = size

    def read(self, cur: Cursor, layout: int) -> int:
        return int.from_bytes(cur.take(self.size), "big")

    def write(self, value: int, layout: int) -> bytes:
        try:
            return value.to_bytes(self.size, "big")
        except OverflowError as exc:
            raise Jt808Error("encode", f"{value} does not fit {self.size} unsigned bytes") from exc


def _clean(raw: bytes) -> str:
    # Fixed-width text is padded with NULs (sometimes spaces) on either side depending on the vendor.
    return raw.decode(TEXT_ENCODING, errors="replace").strip("\x00").strip()


def _encode_text(value: str) -> bytes:
    try:
        return value.encode(TEXT_ENCODING)
    except UnicodeEncodeError as exc:
        raise Jt808Error("encode", f"{value!r} has no GB18030 form") from exc


class Text(Codec[str]):
    """Fixed-width text whose width may depend on the layout (0 = absent in that layout)."""

    def __init__(self, size: int, **per_layout: int) -> None:
        self.size = size
        self.per_layout = {int(key[1:]): width for key, width in per_layout.items()}  # v2019=30 → 2019

    def width(self, layout: int) -> int:
        return self.per_layout.get(layout, self.size)

    def read(self, cur: Cursor, layout: int) -> str:
        return _clean(cur.take(self.width(layout)))

    def write(self, value: str, layout: int) -> bytes:
        raw = _encode_text(value)
        width = self.width(layout)
        if len(raw) > width:
            raise Jt808Error("encode", f"{value!r} is longer than {width} bytes")
        return raw.ljust(width, b"\x00")


class RestText(Codec[str]):
    """Text running to the end of the body."""

    def read(self, cur: Cursor, layout: int) -> str:
        return _clean(cur.rest())

    def write(self, value: str, layout: int) -> bytes:
        return _encode_text(value)


class PrefixedText(Codec[str]):
    """Text preceded by its length in one byte."""

    def read(self, cur: Cursor, layout: int) -> str:
        return _clean(cur.take(cur.take(1)[0]))

    def write(self, value: str, layout: int) -> bytes:
        raw = _encode_text(value)
        if len(raw) > 0xFF:
            raise Jt808Error("encode", f"{value!r} is longer than 255 bytes")
        return bytes([len(raw)]) + raw


class Bcd(Codec[str]):
    """Packed BCD kept as its digit string (hex text if a nibble is not a digit, so nothing is lost)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def read(self, cur: Cursor, layout: int) -> str:
        return cur.take(self.size).hex()

    def write(self, value: str, layout: int) -> bytes:
        try:
            raw = bytes.fromhex(value)
        except ValueError as exc:
            raise Jt808Error("encode", f"{value!r} is not BCD") from exc
        if len(raw) != self.size:
            raise Jt808Error("encode", f"{value!r} is not {self.size * 2} digits")
        return raw


class ByLayout(Codec[T]):
    """A field whose codec differs between layouts; absent layouts read as ``default``."""

    def __init__(self, default: T, **per_layout: Codec[T]) -> None:
        self.default = default
        self.per_layout = {int(key[1:]): codec for key, codec in per_layout.items()}

    def read(self, cur: Cursor, layout: int) -> T:
        codec = self.per_layout.get(layout)
        return self.default if codec is None else codec.read(cur, layout)

    def write(self, value: T, layout: int) -> bytes:
        codec = self.per_layout.get(layout)
        return b"" if codec is None else codec.write(value, layout)
