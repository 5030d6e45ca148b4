import io
import json
from pathlib import Path

import pytest
from pyais.encode import encode_dict

from ingest import decode_stream as decode_stream_module
from ingest.decode_stream import (
    decode_nmea,
    decode_stream,
    detect,
    iter_lines,
    line_blocks,
    nmea_chunks,
)


def test_lines_are_split_capped_and_the_last_needs_no_newline() -> None:
    data = b"one\r\n" + b"x" * 1_000_000 + b"\nthree"
    lines = list(iter_lines(io.BytesIO(data), 100))
    assert lines == [b"one\r", b"x" * 101, b"three"]


def test_a_cap_falling_across_chunks_still_cuts_one_line_only() -> None:
    data = b"a" * 200_000 + b"\n" + b"b" * 10 + b"\n"
    assert list(iter_lines(io.BytesIO(data), 70_000)) == [b"a" * 70_001, b"b" * 10]


@pytest.mark.parametrize(
    ("head", "protocol"),
    [
        (b"!AIVDM,1,1", "nmea"),
        (b"\\c:123*hh\\!AIVDM", "nmea"),
        (b"$PGHP,1", "nmea"),
        (b"\x7e\x02\x00", "jt808"),
        (b"7e0200", "jt808"),
        (b"  7E 02 00", "jt808"),
    ],
)
def test_protocol_is_told_by_the_first_bytes(head: bytes, protocol: str) -> None:
    assert detect(head) == protocol


def jt808_hex_frames(shared_data: Path, count: int) -> list[str]:
    frames = []
    for line in (shared_data / "jt808" / "vectors.jsonl").read_text().splitlines():
        sample = json.loads(line)
        if sample.get("kind") == "frame" and sample["hex"].lower().startswith("7e0200"):
            frames.append(sample["hex"])
    return frames[:count]


def test_binary_and_hex_jt808_decode_alike(shared_data: Path) -> None:
    frames = jt808_hex_frames(shared_data, 5)
    from_hex = list(decode_stream(io.BytesIO("\n".join(frames).encode())))
    from_binary = list(decode_stream(io.BytesIO(b"".join(bytes.fromhex(f) for f in frames))))
    assert len(from_hex) == 5
    assert from_hex == from_binary
    assert all(r["kind"] == "position" and r["source"] == "jt808" for r in from_hex)


def test_garbage_between_binary_frames_is_one_problem(shared_data: Path) -> None:
    frames = [bytes.fromhex(f) for f in jt808_hex_frames(shared_data, 2)]
    out = list(decode_stream(io.BytesIO(frames[0] + b"NOISE" + frames[1]), "jt808"))
    assert ["error" in item for item in out] == [False, True, False]


def test_line_blocks_hold_iter_lines_lines_capped_the_same_way() -> None:
    data = b"one\r\n" + b"x" * 100_000 + b"\n" + b"y" * 101 + b"\n\n" + b"z" * 99 + b"\nlast"
    expected = b"".join(line + b"\n" for line in iter_lines(io.BytesIO(data), 100))
    for size in (1, 7, 100, 4096, 1 << 20):
        blocks = list(line_blocks(io.BytesIO(data), 100, size))
        assert b"".join(blocks) == expected, size
        assert all(block.endswith(b"\n") for block in blocks)


def nmea(
    message: dict[str, str | int | float | bytes | bool], seq_id: int | None = None, channel: str = "A"
) -> list[bytes]:
    return [s.encode() for s in encode_dict(message, radio_channel=channel, talker_id="AI", seq_id=seq_id)]


def single(mmsi: int) -> bytes:
    return nmea({"type": 1, "mmsi": mmsi, "lon": 115.3, "lat": 22.7, "speed": 5.0})[0]


def static(mmsi: int, seq_id: int, channel: str) -> list[bytes]:
    return nmea({"type": 5, "mmsi": mmsi, "shipname": f"MIN YU {mmsi % 100}"}, seq_id, channel)


def interleaved_feed() -> bytes:
    """Two-sentence messages whose halves are far apart and interleaved, with $PGHP times between."""
    a1, a2 = static(412000001, 1, "A")
    b1, b2 = static(412000002, 1, "B")  # the same sequence id on the other channel
    pghp = b"$PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B*5B"
    lines = [*(single(412000000 + i) for i in range(40)), a1, *(single(412000100 + i) for i in range(40))]
    lines += [b1, pghp, single(412000200), *(single(412000300 + i) for i in range(40)), a2]
    lines += [*(single(412000400 + i) for i in range(40)), b2, pghp, single(412000500)]
    lines += [single(412000600 + i) for i in range(40)]
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("size", [1, 60, 500, 3000])
def test_chunks_decode_independently_and_never_split_a_message(size: int) -> None:
    data = interleaved_feed()
    chunks = list(nmea_chunks(io.BytesIO(data), size))
    assert b"".join(chunks) == data
    if size < 3000:
        assert len(chunks) > 3  # it does cut, where it may
    whole = list(decode_nmea(io.BytesIO(data)))
    assert [item for chunk in chunks for item in decode_nmea(io.BytesIO(chunk))] == whole
    assert not any("error" in item for item in whole)
    assert [r.get("mmsi") for r in whole if r.get("kind") == "static"] == [412000001, 412000002]
    assert sum(item.get("ts") is not None for item in whole) == 2  # the two sentences after a $PGHP


def test_a_lost_fragment_holds_the_cut_back_only_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode_stream_module, "CHUNK_ABANDON_BYTES", 5000)
    orphan = static(412000001, 1, "A")[0]
    data = b"\n".join([orphan, *(single(412000100 + i) for i in range(400))]) + b"\n"
    chunks = list(nmea_chunks(io.BytesIO(data), 100))
    assert b"".join(chunks) == data
    assert orphan in chunks[0]
    assert len(chunks[0]) >= 5000  # not cut while the group might still complete
    assert len(chunks) > 10  # and cut again once it is given up
