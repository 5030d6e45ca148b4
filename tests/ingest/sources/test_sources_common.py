"""The transport-free pieces every source shares: splitting with a cap, backoff, addresses."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.sources.common import Backoff, LineSplitter, format_peer, parse_host_port, split_datagram


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def split_all(chunks: list[bytes], max_bytes: int = 20) -> tuple[list[bytes], int]:
    too_long = Counter()
    splitter = LineSplitter(max_bytes, too_long)
    lines = [line for chunk in chunks for line in splitter.feed(chunk)] + splitter.flush()
    return lines, too_long.count


def test_lines_split_on_newline_with_cr_stripped_and_blank_lines_skipped() -> None:
    assert split_all([b"a\r\nb\n\r\n\nc"]) == ([b"a", b"b", b"c"], 0)


def test_a_line_split_across_chunks_is_joined() -> None:
    assert split_all([b"!AIV", b"DM,1", b",1\r", b"\nnext\n"]) == ([b"!AIVDM,1,1", b"next"], 0)


def test_a_line_of_exactly_the_cap_is_kept_even_with_a_cr_split_off() -> None:
    line = b"x" * 20
    assert split_all([line, b"\r", b"\n"]) == ([line], 0)
    assert split_all([line + b"y\n"]) == ([], 1)


def test_an_over_long_line_costs_that_line_only() -> None:
    huge = [b"y" * 7] * 1000  # arrives in many chunks without a newline
    lines, too_long = split_all([b"before\n", *huge, b"\nafter\n"])
    assert (lines, too_long) == ([b"before", b"after"], 1)


def test_an_over_long_line_inside_one_chunk_costs_that_line_only() -> None:
    assert split_all([b"a\n" + b"z" * 500 + b"\nb\n"]) == ([b"a", b"b"], 1)


def test_an_over_long_last_line_without_newline_is_counted_once() -> None:
    assert split_all([b"a\n", b"z" * 30, b"z" * 30]) == ([b"a"], 1)


def test_the_buffer_never_exceeds_the_cap() -> None:
    splitter = LineSplitter(20, Counter())
    for _ in range(100):
        splitter.feed(b"q" * 15)
        assert len(splitter._buffer) <= 21


@given(
    lines=st.lists(st.binary(min_size=1, max_size=30).filter(lambda b: b"\n" not in b and b"\r" not in b)),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=20),
)
def test_how_the_stream_is_chunked_never_changes_the_lines(lines: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(line + b"\r\n" for line in lines)
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    expected = [line for line in lines if len(line) <= 20]
    assert split_all(chunks) == (expected, len(lines) - len(expected))


def test_a_datagram_ends_its_last_line() -> None:
    counter = Counter()
    assert split_datagram(b"one\r\ntwo\r\nthree", 10, counter) == [b"one", b"two", b"three"]
    assert split_datagram(b"x" * 11 + b"\nok", 10, counter) == [b"ok"]
    assert counter.count == 1


def test_backoff_doubles_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5
    assert Backoff(10, 2).next_delay() == 2  # an initial delay above the maximum is capped too


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1:10110", ("127.0.0.1", 10110)), ("[::1]:1", ("::1", 1)), (":0", ("", 0))],
)
def test_parse_host_port(address: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(address) == expected


@pytest.mark.parametrize("address", ["127.0.0.1", "host:", "host:port", "host:70000", "topic/#"])
def test_parse_host_port_refuses_anything_else(address: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_host_port(address)


def test_format_peer() -> None:
    assert format_peer(("127.0.0.1", 5000)) == "127.0.0.1:5000"
    assert format_peer(("::1", 5000, 0, 0)) == "[::1]:5000"
    assert format_peer(None) is None
