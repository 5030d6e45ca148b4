"""`seawatch decode`: a byte stream in, decoded records and problems out, in input order.

The stream is read in chunks, never whole, and no line or frame is held beyond its cap, so a
gigabyte of garbage costs memory for one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, Literal

from ingest.jt808 import (
    FrameSplitter,
    Jt808Error,
    Reassembler,
    decode_message,
    expand_batch,
    looks_like_hex_text,
    parse_frame,
)
from ingest.jt808 import Problem as FrameProblem
from ingest.nmea import MAX_LINE_BYTES, Problem, problem
from ingest.nmea_stream import NmeaDecoder

Protocol = Literal["auto", "nmea", "jt808"]
Record = dict[str, Any]
CHUNK = 64 * 1024
JT808_FLAG = 0x7E


def iter_lines(stream: BinaryIO, max_len: int) -> Iterator[bytes]:
    """Lines without terminators; a line longer than `max_len` comes out cut to `max_len + 1` bytes."""
    pending = bytearray()
    overlong = False
    while chunk := stream.read(CHUNK):
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if not overlong:
                pending += chunk[start:end]
            yield bytes(pending[: max_len + 1])
            pending.clear()
            overlong = False
            start = end + 1
        if not overlong:
            pending += chunk[start:]
            if len(pending) > max_len:
                del pending[max_len + 1 :]
                overlong = True  # drop the rest of this line as it arrives
    if pending:
        yield bytes(pending)


def detect(head: bytes) -> Literal["nmea", "jt808"]:
    """NMEA starts with `!`, `$` or a tag block `\\`; JT/T 808 with 0x7e or its hex text."""
    text = b"\n".join(line for line in head.splitlines() if not line.lstrip().startswith(b"#")).lstrip()
    if text[:1] == bytes([JT808_FLAG]) or text[:2].lower() == b"7e":
        return "jt808"
    return "nmea"


def decode_nmea(stream: BinaryIO) -> Iterator[Record | Problem]:
    decoder = NmeaDecoder()
    for line in iter_lines(stream, MAX_LINE_BYTES):
        yield from decoder.feed(line.rstrip(b"\r"))
    yield from decoder.flush()


def _jt808_problem(exc: Jt808Error, frame: bytes | str) -> Problem:
    shown = frame.hex() if isinstance(frame, bytes) else frame
    return problem(f"jt808_{exc.code}", str(exc), shown)


def _decode_jt808(frame: bytes, reassembler: Reassembler) -> list[Record]:
    """Records from one frame; a packet of a split message gives none until the last one arrives."""
    whole = reassembler.add(parse_frame(frame))
    return [] if whole is None else expand_batch(decode_message(whole))


def decode_jt808_hex(stream: BinaryIO) -> Iterator[Record | Problem]:
    reassembler = Reassembler()
    for raw in iter_lines(stream, 2 * 4096 + 64):
        line = raw.decode("ascii", "replace").strip()
        if not line or line.startswith("#"):
            continue
        try:
            frame = bytes.fromhex("".join(line.split()))
        except ValueError:
            yield problem("jt808_hex", "not hex text", line)
            continue
        try:
            yield from _decode_jt808(frame, reassembler)
        except Jt808Error as exc:
            yield _jt808_problem(exc, line)


def decode_jt808_binary(stream: BinaryIO, head: bytes = b"") -> Iterator[Record | Problem]:
    splitter = FrameSplitter()
    reassembler = Reassembler()
    chunk = head
    while True:
        for item in splitter.feed(chunk):
            if isinstance(item, FrameProblem):
                yield problem(f"jt808_{item.code}", f"{item.size} byte(s) skipped", item.data.hex())
                continue
            try:
                yield from _decode_jt808(item, reassembler)
            except Jt808Error as exc:
                yield _jt808_problem(exc, item)
        chunk = stream.read(CHUNK)
        if not chunk:
            break
    for leftover in splitter.close():
        yield problem(f"jt808_{leftover.code}", f"{leftover.size} byte(s) at the end", leftover.data.hex())


class _Prefixed:
    """A stream with bytes already read put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head = head
        self.rest = rest

    def read(self, size: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        return self.rest.read(size)


def decode_stream(stream: BinaryIO, protocol: Protocol = "auto") -> Iterator[Record | Problem]:
    head = stream.read(CHUNK)
    chosen = detect(head) if protocol == "auto" else protocol
    whole: Any = _Prefixed(head, stream)
    if chosen == "nmea":
        return decode_nmea(whole)
    content = b"\n".join(line for line in head.splitlines() if not line.lstrip().startswith(b"#"))
    if looks_like_hex_text(content[:256]):
        return decode_jt808_hex(whole)
    return decode_jt808_binary(stream, head)
