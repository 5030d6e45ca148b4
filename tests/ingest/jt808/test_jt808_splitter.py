"""FrameSplitter: stream splitting, garbage and size limits."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from ingest.jt808 import (
    FrameSplitter,
    Jt808Error,
    Problem,
    build_frame,
    decode_frame,
    encode_general_response,
)

FRAME_A = encode_general_response(terminal="013912345678", serial=1, reply_serial=7, reply_msg_id=0x0200)
FRAME_B = encode_general_response(terminal="013912345678", serial=2, reply_serial=0x7E7D, reply_msg_id=0x0002)


def _feed_all(splitter: FrameSplitter, chunks: list[bytes]) -> list[bytes | Problem]:
    out: list[bytes | Problem] = []
    for chunk in chunks:
        out += splitter.feed(chunk)
    return out


def test_frames_come_out_whole_with_delimiters() -> None:
    assert 0x7D in FRAME_B[1:-1]  # the serial 0x7e7d makes FRAME_B carry escapes
    assert FrameSplitter().feed(FRAME_A + FRAME_B) == [FRAME_A, FRAME_B]


def test_shared_delimiter_between_frames() -> None:
    assert FrameSplitter().feed(FRAME_A + FRAME_B[1:]) == [FRAME_A, FRAME_B]


def test_split_at_every_byte_boundary_reassembles() -> None:
    stream = b"junk" + FRAME_A + FRAME_B + b"\r\n" + FRAME_A
    whole = FrameSplitter().feed(stream)
    assert [item for item in whole if isinstance(item, bytes)] == [FRAME_A, FRAME_B, FRAME_A]
    for cut in range(len(stream) + 1):
        assert _feed_all(FrameSplitter(), [stream[:cut], stream[cut:]]) == whole, cut


@given(st.lists(st.sampled_from([FRAME_A, FRAME_B, b"\x00\x01", b"garbage"]), max_size=8), st.data())
def test_any_chunking_gives_the_same_output(pieces: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(pieces)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert _feed_all(FrameSplitter(), chunks) == FrameSplitter().feed(stream)


def test_leading_garbage_is_reported_then_frames_flow() -> None:
    out = FrameSplitter().feed(b"\x00\x01\x02" + FRAME_A)
    assert out == [Problem("garbage", b"\x00\x01\x02", 3), FRAME_A]


def test_short_garbage_between_frames_is_reported() -> None:
    out = FrameSplitter().feed(FRAME_A + b"\r\n" + FRAME_B)
    assert out == [FRAME_A, Problem("garbage", b"\r\n", 2), FRAME_B]


def test_max_frame_size_is_enforced_and_the_next_frame_survives() -> None:
    splitter = FrameSplitter(max_frame_size=64)
    big = build_frame(bytes(100))
    out = splitter.feed(big + FRAME_A)
    assert len(out) == 2
    problem = out[0]
    assert isinstance(problem, Problem) and problem.code == "oversize"
    assert len(problem.data) <= 64
    assert out[1] == FRAME_A


def test_endless_garbage_keeps_a_bounded_sample() -> None:
    splitter = FrameSplitter(max_frame_size=64)
    for _ in range(100):
        assert splitter.feed(b"\x00" * 1000) == []
    (problem,) = splitter.feed(b"\x7e")
    assert isinstance(problem, Problem)
    assert problem.code == "garbage" and problem.size == 100_000 and len(problem.data) <= 64


def test_close_reports_an_unfinished_frame() -> None:
    splitter = FrameSplitter()
    assert splitter.feed(FRAME_A[:-5]) == []
    assert splitter.close() == [Problem("truncated", FRAME_A[1:-5], len(FRAME_A) - 6)]
    assert splitter.close() == []


@given(st.binary(max_size=2000), st.integers(15, 300))
def test_random_bytes_yield_bounded_frames_and_problems_only(data: bytes, limit: int) -> None:
    splitter = FrameSplitter(max_frame_size=limit)
    for item in splitter.feed(data) + splitter.close():
        if isinstance(item, Problem):
            assert len(item.data) <= limit
            continue
        assert item[0] == item[-1] == 0x7E and len(item) <= limit
        with contextlib.suppress(Jt808Error):
            decode_frame(item)
