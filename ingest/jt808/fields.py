"""Declarative wire fields: each message class lists its fields once and gets decode and encode.

A field is a dataclass field whose metadata holds a :class:`~ingest.jt808.codecs.Codec`, e.g.
``reply_serial: int = u16()``; :class:`Message` reads and writes the fields in declaration order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar, cast

from ingest.jt808.codecs import Codec, Cursor, UInt
from ingest.jt808.errors import Jt808Error

T = TypeVar("T")


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
