"""The file source on real recordings: every line, in order, then the end."""

from __future__ import annotations

from pathlib import Path

import pytest
from sources_support import (
    FIXED_TIME,
    bounded,
    connected,
    feed,
    fixed_clock,
    ingest_settings,
    lines_in,
    too_long,
)

from ingest.lines import RawLine
from ingest.sources.file import FileSource


async def read_all(source: FileSource) -> list[RawLine]:
    return [line async for line in source]


@bounded
async def test_every_line_of_a_recording_in_order_then_the_end(shared_data: Path) -> None:
    path = shared_data / "ais" / "recordings" / "dma-stream_example.txt"
    expected = [line.rstrip(b"\r") for line in path.read_bytes().split(b"\n") if line.rstrip(b"\r")]
    config = feed("file", str(path))
    async with FileSource(config, ingest_settings(), clock=fixed_clock) as source:
        assert connected(config.name) == 1
        lines = await read_all(source)
        assert connected(config.name) == 0  # at the end, before the block closes
        with pytest.raises(StopAsyncIteration):
            await anext(source)
    assert [line.data for line in lines] == expected
    assert len(lines) == 8551
    assert {(line.feed, line.peer, line.received_at, line.ack) for line in lines} == {
        (config.name, None, FIXED_TIME, None)
    }
    assert lines_in(config.name) == 8551


@bounded
async def test_a_one_megabyte_line_costs_that_line_only_and_a_last_line_needs_no_newline(
    tmp_path: Path,
) -> None:
    path = tmp_path / "recording.nmea"
    path.write_bytes(b"first\r\n" + b"x" * 1_000_000 + b"\r\nsecond\r\n\r\nlast")
    config = feed("file", str(path))
    async with FileSource(config, ingest_settings()) as source:
        lines = await read_all(source)
    assert [line.data for line in lines] == [b"first", b"second", b"last"]
    assert too_long(config.name) == 1


@bounded
async def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        async with FileSource(feed("file", str(tmp_path / "absent.nmea")), ingest_settings()):
            pass
