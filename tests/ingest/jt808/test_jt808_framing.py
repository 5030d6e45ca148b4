"""Escapes, checksum and frame opening; random input never raises anything but Jt808Error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.jt808 import Jt808Error, build_frame, checksum, decode_frame, escape, unescape
from ingest.jt808.framing import open_frame


def test_escape_examples_from_the_standard() -> None:
    # JT/T 808 §4.4.2: 0x30 0x7e 0x08 0x7d 0x55 is sent as 0x30 0x7d 0x02 0x08 0x7d 0x01 0x55.
    assert escape(bytes.fromhex("307e087d55")) == bytes.fromhex("307d02087d0155")
    assert unescape(bytes.fromhex("307d02087d0155")) == bytes.fromhex("307e087d55")


@given(st.binary())
def test_escape_round_trip(data: bytes) -> None:
    escaped = escape(data)
    assert 0x7E not in escaped
    assert unescape(escaped) == data


@given(st.binary())
def test_unescape_of_anything_only_raises_jt808error(data: bytes) -> None:
    try:
        unescape(data)
    except Jt808Error as exc:
        assert exc.code in ("delimiter", "escape")


@pytest.mark.parametrize(
    ("data", "code"), [(b"\x01\x7d", "escape"), (b"\x7d\x03", "escape"), (b"\x7e", "delimiter")]
)
def test_invalid_escapes(data: bytes, code: str) -> None:
    with pytest.raises(Jt808Error) as caught:
        unescape(data)
    assert caught.value.code == code


def test_checksum_is_xor() -> None:
    assert checksum(b"") == 0
    assert checksum(bytes([0x01, 0x02, 0x04])) == 0x07


@given(st.binary(min_size=13, max_size=200))
def test_build_then_open_frame(content: bytes) -> None:
    frame = build_frame(content)
    assert frame[0] == frame[-1] == 0x7E
    assert 0x7E not in frame[1:-1]
    assert open_frame(frame) == (content, True)


def test_open_frame_reports_a_bad_checksum_without_raising() -> None:
    frame = bytearray(build_frame(bytes(13)))
    frame[-2] ^= 0x01
    assert open_frame(bytes(frame)) == (bytes(13), False)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"", "delimiter"),
        (b"\x7e", "delimiter"),
        (bytes(14), "delimiter"),  # no delimiters
        (b"\x7e" + bytes(14), "delimiter"),  # no closing delimiter
        (b"\x7e\x7e", "too_short"),
        (b"\x7e" + bytes(5) + b"\x7e", "too_short"),
    ],
)
def test_open_frame_errors(frame: bytes, code: str) -> None:
    with pytest.raises(Jt808Error) as caught:
        open_frame(frame)
    assert caught.value.code == code


@given(st.binary(max_size=300))
def test_decode_of_random_bytes_only_raises_jt808error(data: bytes) -> None:
    for candidate in (data, b"\x7e" + data + b"\x7e", build_frame(data)):
        with contextlib.suppress(Jt808Error):
            decode_frame(candidate)
