"""`seawatch decode`: a byte stream in, decoded records and problems out, in input order.

The stream is read in chunks, never whole, and no line or frame is held beyond its cap, so a
gigabyte of garbage costs memory for one line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from ingest.assembly import DEFAULT_MAX_PENDING, Assembler
from ingest.nmea import MAX_LINE_BYTES, AisSentence, Problem, parse_line, problem
from ingest.nmea_stream import NmeaDecoder, stream_key

if TYPE_CHECKING:
    from ingest.jt808 import Jt808Error, Reassembler

# ingest.jt808 is imported where JT/T 808 is decoded: `seawatch decode` of NMEA starts without it.

Protocol = Literal["auto", "nmea", "jt808"]
Record = dict[str, Any]
CHUNK = 64 * 1024
#: Lines `decode_nmea` hands its decoder at a time.
DECODE_BATCH = 256
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
    for block in line_blocks(stream, MAX_LINE_BYTES):
        lines = block.split(b"\n")
        # A few hundred lines at a time: their records are encoded and dropped before the next ones
        # are made, so the same memory is used again (thousands alive at once cost more than decoding).
        for start in range(0, len(lines) - 1, DECODE_BATCH):
            yield from decoder.feed_lines(lines[start : min(start + DECODE_BATCH, len(lines) - 1)])
    yield from decoder.flush()


def line_blocks(stream: BinaryIO, max_len: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """`iter_lines`' lines, each ended by a newline, in blocks of about `size` bytes (bytes, not lists)."""
    pending = b""  # the start of an unfinished line, at most max_len + 1 bytes
    overlong = False  # pending is cut: drop the rest of its line as it arrives
    while chunk := stream.read(size):
        end = chunk.rfind(b"\n")
        if end < 0:
            if not overlong:
                pending, overlong = _capped(pending + chunk, max_len)
            continue
        block = pending + chunk[chunk.find(b"\n") if overlong else 0 : end + 1]
        if max(map(len, block.split(b"\n"))) > max_len:  # rare: cut the long lines as iter_lines does
            block = b"".join(line[: max_len + 1] + b"\n" for line in block.split(b"\n")[:-1])
        yield block
        pending, overlong = _capped(chunk[end + 1 :], max_len)
    if pending:
        yield pending + b"\n"


def _capped(line: bytes, max_len: int) -> tuple[bytes, bool]:
    return (line[: max_len + 1], True) if len(line) > max_len else (line, False)


#: A line that is certainly one whole single-sentence AIS message (or a problem): it neither opens nor
#: closes a multi-sentence group, and it uses up a pending ``$PGHP`` time, so a decoder is back to its
#: initial state after it when no group is open.
_SINGLE_SENTENCE = re.compile(rb"(?:\\[^\\\n]*\\)?![A-Za-z0-9-]{2}VD[MO],1,1,")
#: Where a line might be a fragment of a multi-sentence message: every one has its fragment count
#: (2-9) and number (1-9) as single digits after the ``xxVDM`` head. Lines that merely look like it are
#: parsed and let go. (A plain pattern: a case-insensitive one on the head scans several times slower.)
_MULTI_SENTENCE = re.compile(rb",[2-9],[1-9],")
#: `nmea_chunks` gives up waiting for a group to complete after this many bytes (a lost fragment): tens
#: of thousands of lines, well past the assembler's ten seconds at the speed the decoder reads.
CHUNK_ABANDON_BYTES = 2 * 1024 * 1024
#: How many lines back from the end of a block `nmea_chunks` looks for a place to cut.
_CUT_SEARCH_LINES = 32


def nmea_chunks(stream: BinaryIO, size: int = 256 * 1024) -> Iterator[bytes]:
    """The stream's lines in chunks of about `size` bytes that decode independently.

    A chunk ends only after a single-sentence AIS line with no multi-sentence group open, so every
    group (and every ``$PGHP`` time) is in one chunk and `decode_nmea` of each chunk, concatenated, is
    `decode_nmea` of the whole. Lines are capped as `decode_nmea` caps them. Only the lines that can
    be fragments of a group are parsed here, and their groups followed with the decoder's own
    `Assembler` and keys; the rest is scanned as bytes.
    """
    tracker: Assembler[AisSentence] = Assembler(
        ttl=CHUNK_ABANDON_BYTES, max_pending=DEFAULT_MAX_PENDING, clock=lambda: 0.0
    )
    held: list[bytes] = []  # blocks, and the part of a block, not yet in a chunk
    held_size = 0
    offset = 0  # of the block in the stream: the tracker's clock
    for block in line_blocks(stream, MAX_LINE_BYTES, size):
        # From where in the block on no group is open (None: not at its end).
        safe_from: int | None = 0 if not len(tracker) else None
        line_start = -1
        for match in _MULTI_SENTENCE.finditer(block):
            if match.start() < line_start:  # a second match in the same line
                continue
            line_start = block.rfind(b"\n", 0, match.start()) + 1
            line_end = block.index(b"\n", match.end())
            parsed = parse_line(block[line_start:line_end].rstrip(b"\r"))
            if isinstance(parsed, AisSentence) and parsed.fragment_count > 1:
                tracker.add(parsed, stream=stream_key(parsed), now=offset + line_start)
            tracker.expire(offset + line_end)
            safe_from = line_end + 1 if not len(tracker) else None
            line_start = line_end + 1
        offset += len(block)
        cut = None if safe_from is None else _cut(block, safe_from)
        if cut is None:
            held.append(block)
            held_size += len(block)
            tracker.expire(offset)
            continue
        held.append(block[:cut])
        held_size += cut
        if held_size >= size or cut < len(block):
            yield b"".join(held)
            held, held_size = [], 0
        if cut < len(block):
            held, held_size = [block[cut:]], len(block) - cut
    if held:
        yield b"".join(held)


def _cut(block: bytes, safe_from: int) -> int | None:
    """Where to cut `block`: after its last single-sentence line starting at `safe_from` or later."""
    end = len(block)
    for _ in range(_CUT_SEARCH_LINES):
        start = block.rfind(b"\n", 0, end - 1) + 1
        if start < safe_from:
            return None
        if _SINGLE_SENTENCE.match(block, start):
            return end
        end = start
        if end <= safe_from:
            return None
    return None


def decode_nmea_chunk(chunk: bytes) -> Iterator[Record | Problem]:
    """`decode_nmea` of one of `nmea_chunks`' chunks."""
    return decode_nmea(io.BytesIO(chunk))


def _jt808_problem(exc: Jt808Error, frame: bytes | str) -> Problem:
    shown = frame.hex() if isinstance(frame, bytes) else frame
    return problem(f"jt808_{exc.code}", str(exc), shown)


def _decode_jt808(frame: bytes, reassembler: Reassembler) -> list[Record]:
    """Records from one frame; a packet of a split message gives none until the last one arrives."""
    from ingest.jt808 import decode_message, expand_batch, parse_frame

    whole = reassembler.add(parse_frame(frame))
    return [] if whole is None else expand_batch(decode_message(whole))


def decode_jt808_hex(stream: BinaryIO) -> Iterator[Record | Problem]:
    from ingest.jt808 import Jt808Error, Reassembler

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
    from ingest.jt808 import FrameSplitter, Jt808Error, Reassembler
    from ingest.jt808 import Problem as FrameProblem

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


def sniff(stream: BinaryIO, protocol: Protocol = "auto") -> tuple[Literal["nmea", "jt808"], bytes, BinaryIO]:
    """The protocol (`protocol`, or detected from the first bytes), the first bytes, and the whole stream."""
    head = stream.read(CHUNK)
    chosen = detect(head) if protocol == "auto" else protocol
    whole: Any = _Prefixed(head, stream)
    return chosen, head, whole


def decode_stream(stream: BinaryIO, protocol: Protocol = "auto") -> Iterator[Record | Problem]:
    chosen, head, whole = sniff(stream, protocol)
    if chosen == "nmea":
        return decode_nmea(whole)
    from ingest.jt808 import looks_like_hex_text

    content = b"\n".join(line for line in head.splitlines() if not line.lstrip().startswith(b"#"))
    if looks_like_hex_text(content[:256]):
        return decode_jt808_hex(whole)
    return decode_jt808_binary(stream, head)
