import io
import json
from pathlib import Path

import pytest

from ingest.decode_stream import decode_stream, detect, iter_lines


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
