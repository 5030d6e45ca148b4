"""Incremental splitting of a TCP byte stream into 0x7e-delimited frames.

Terminals either give every frame its own pair of delimiters (``7e…7e 7e…7e``) or share one between
neighbours (``7e…7e…7e``); both split the same way here because every 0x7e ends the current frame and
starts the next. Bytes before the first delimiter, pieces too short to be a frame, and frames longer
than the maximum are skipped and reported as :class:`Problem` values in the output, in stream order.
A splitter cannot tell a damaged frame from long garbage between two delimiters; such a candidate is
passed on, and ``decode_frame`` rejects it with its own error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from ingest.jt808.framing import FLAG, MIN_CONTENT

ProblemCode = Literal["garbage", "oversize", "truncated"]
DEFAULT_MAX_FRAME = 4096  # a standard frame is at most 2 × (21 + 1023 + 1) + 2 bytes escaped


@dataclass(frozen=True)
class Problem:
    code: ProblemCode
    data: bytes  # the skipped bytes, at most max_frame_size of them
    size: int  # bytes skipped; for oversize, those seen before giving up (the rest go unreported)


class _State(Enum):
    OUTSIDE = 1  # before the first delimiter: anything here is garbage
    INSIDE = 2  # collecting a frame
    DISCARD = 3  # dropping the rest of an oversize frame


class FrameSplitter:
    """Feed bytes as they arrive; get back complete frames (with delimiters) and problems."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME) -> None:
        if max_frame_size < MIN_CONTENT + 2:
            raise ValueError(f"max_frame_size must be at least {MIN_CONTENT + 2}")
        self.max_frame_size = max_frame_size
        self._buf = bytearray()
        self._size = 0  # bytes seen in the current piece, including any not kept in _buf
        self._state = _State.OUTSIDE

    def feed(self, data: bytes) -> list[bytes | Problem]:
        out: list[bytes | Problem] = []
        pos = 0
        while pos < len(data):
            flag = data.find(FLAG, pos)
            self._take(data[pos : len(data) if flag < 0 else flag], out)
            if flag < 0:
                break
            self._delimiter(out)
            pos = flag + 1
        return out

    def close(self) -> list[Problem]:
        """End of stream: report whatever was pending and start afresh."""
        out: list[Problem] = []
        if self._buf and self._state is not _State.DISCARD:
            code: ProblemCode = "truncated" if self._state is _State.INSIDE else "garbage"
            out.append(Problem(code, bytes(self._buf), self._size))
        self._reset(_State.OUTSIDE)
        return out

    def _reset(self, state: _State) -> None:
        self._buf.clear()
        self._size = 0
        self._state = state

    def _take(self, chunk: bytes, out: list[bytes | Problem]) -> None:
        if not chunk or self._state is _State.DISCARD:
            return
        limit = self.max_frame_size - 2  # room for the two delimiters
        self._size += len(chunk)
        if self._state is _State.OUTSIDE:
            # Keep only a sample of leading garbage so a stream of junk cannot grow memory.
            self._buf += chunk[: max(0, limit - len(self._buf))]
            return
        if self._size > limit:
            self._buf += chunk[: limit - len(self._buf)]
            out.append(Problem("oversize", bytes(self._buf), self._size))
            self._reset(_State.DISCARD)
            return
        self._buf += chunk

    def _delimiter(self, out: list[bytes | Problem]) -> None:
        if self._state is _State.OUTSIDE and self._size:
            out.append(Problem("garbage", bytes(self._buf), self._size))
        elif self._state is _State.INSIDE and self._buf:
            if len(self._buf) < MIN_CONTENT:
                out.append(Problem("garbage", bytes(self._buf), self._size))
            else:
                out.append(b"\x7e" + bytes(self._buf) + b"\x7e")
        self._reset(_State.INSIDE)
