"""Declarative wire fields: each message class lists its fields once and gets decode and encode.

A field is a dataclass field whose metadata holds a :class:`Codec`. Codecs receive the *layout*
(2011, 2013 or 2019) because some messages change field widths between editions of the standard.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

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


def wire(codec: Codec[T], default: T | None = None) -> T:
    """Declare a dataclass field carried on the wire by ``codec``."""
    if default is None:
        return cast(T, dataclasses.field(metadata={"codec": codec}))
    return dataclasses.field(default=default, metadata={"codec": codec})


def u8() -> int:
    return wire(UInt(1))


def u16() -> int:
    return wire(UInt(2))


def u32() -> int:
    return wire(UInt(4))


def layout_field() -> int:
    """A field that is not on the wire but records which layout the body was read with."""
    return dataclasses.field(default=2013, metadata={"layout": True})


@dataclass(frozen=True)
class Message:
    """Base of every message class; subclasses are frozen dataclasses of wire fields."""

    MSG_ID: ClassVar[int]
    KIND: ClassVar[str]

    @classmethod
    def layout_of(cls, body: bytes, version: int) -> int:
        """The layout to read ``body`` with; most messages follow the header's version."""
        return version

    @classmethod
    def read(cls, cur: Cursor, layout: int) -> Self:
        values: dict[str, object] = {}
        for spec in dataclasses.fields(cls):
            if spec.metadata.get("layout"):
                values[spec.name] = layout
            elif "codec" in spec.metadata:
                values[spec.name] = spec.metadata["codec"].read(cur, layout)
        # The base class cannot see the subclass's generated __init__, hence the cast.
        return cast(Self, cast(Any, cls)(**values))

    @classmethod
    def decode(cls, body: bytes, *, version: int = 2013) -> tuple[Self, bytes]:
        """Decode a body; returns the message and any bytes its layout did not use."""
        cur = Cursor(body)
        message = cls.read(cur, cls.layout_of(body, version))
        return message, cur.rest()

    def write(self, layout: int) -> bytes:
        return b"".join(
            spec.metadata["codec"].write(getattr(self, spec.name), layout)
            for spec in dataclasses.fields(self)
            if "codec" in spec.metadata
        )

    def encode(self, *, version: int = 2013) -> bytes:
        """The body bytes for a header of ``version``."""
        return self.write(self.encode_layout(version))

    def encode_layout(self, version: int) -> int:
        """The layout to write with; messages that remember their layout override this."""
        return version

    def record(self, *, utc: bool = False) -> dict[str, object]:
        """The JSON-ready fields of this message (the frame adds the header fields)."""
        out: dict[str, object] = {}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            out[spec.name] = value.hex() if isinstance(value, bytes) else value
        return out


M = TypeVar("M", bound=Message)


class Nested(Codec[M]):
    """Another message's fields inline (a location inside 0x0201)."""

    def __init__(self, message: type[M]) -> None:
        self.message = message

    def read(self, cur: Cursor, layout: int) -> M:
        return self.message.read(cur, layout)

    def write(self, value: M, layout: int) -> bytes:
        return value.write(layout)


class SizedList(Codec[tuple[M, ...]]):
    """Items each preceded by their length (u16), to the end of the body (0x0704).

    A last item cut short (a truncated frame) is left unread rather than failing the whole list, so
    the complete items still count; the message's leftover bytes then show what was cut.
    """

    def __init__(self, message: type[M]) -> None:
        self.message = message

    def read(self, cur: Cursor, layout: int) -> tuple[M, ...]:
        items: list[M] = []
        while cur.remaining >= 2:
            size = int.from_bytes(cur.data[cur.pos : cur.pos + 2], "big")
            if size + 2 > cur.remaining:
                break
            cur.take(2)
            item, extra = self.message.decode(cur.take(size), version=layout)
            if extra:
                raise Jt808Error("body", f"{len(extra)} bytes left over inside a list item")
            items.append(item)
        return tuple(items)

    def write(self, value: tuple[M, ...], layout: int) -> bytes:
        out = b""
        for item in value:
            body = item.write(layout)
            out += UInt(2).write(len(body), layout) + body
        return out
