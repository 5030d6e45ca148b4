"""NmeaDecoder: recordings end to end, time precedence, stream state, bounds and fuzzing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import reduce
from operator import xor
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.nmea import PROBLEM_INPUT_CHARS
from ingest.nmea_stream import NmeaDecoder


def shared_data() -> Path:
    """The reference data next to the project: ../shared/data from the project root."""
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


RECORDINGS = shared_data() / "ais" / "recordings"

# Counted once by running the decoder, then checked against the files: every non-comment line is a
# $PGHP time, a fragment of a record, or part of a problem (multi-part messages explain the rest).
PINNED = {
    # 646 sentences, 45 of them second halves of two-part messages.
    "dma-decode_encode_messages.txt": (601, 0),
    # 2 syntax (tag block alone, $PFOO), 1 orphan second fragment (!BSVDO 2 of 2).
    "dma-small_cb_example.txt": (11, 3),
    # 4051 $PGHP + 4500 sentences, 449 of them second halves.
    "dma-stream_example.txt": (4051, 0),
    "libais-orbcomm-tagblock.nmea": (4, 0),
    # 32 undecodable: 18 type 28 (not in the standard then) and 14 types 23/26/27 too short.
    "libais-uscg-nais.aivdm": (229, 32),
    # 1 $PGHP whose date was edited without fixing its checksum.
    "pyais-gatehouse.nmea": (4, 1),
    # 100 empty payloads, 20 first halves without a second (8 superseded, 12 left at the end).
    "pyais-nmea_data_sample.txt": (778, 120),
    # 1 not NMEA, 4 tag blocks with wrong checksums, 1 $PGHP with a wrong checksum.
    "pyais-tagblocks.ais": (9, 6),
}


def with_checksum(body: str, start: str = "!") -> str:
    return f"{start}{body}*{reduce(xor, body.encode(), 0):02X}"


def tag_block(content: str) -> str:
    return f"\\{content}*{reduce(xor, content.encode(), 0):02X}\\"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"
POSITION = "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"
BASE_STATION = "!AIVDM,1,1,,B,4h2E3MQuiq3ILeUjqVMd@sG004IT,0*73"  # carries 2012-07-18 03:25:28
PART_1 = "!AIVDM,2,1,9,B,533uwnT00000uCCSS00MD5@Dl4h400000080001c8h<25uAn00Q1C1VRBS00,0*07"
PART_2 = "!AIVDM,2,2,9,B,00000000000,2*2E"
PGHP = "$PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B*5B"
PGHP_TS = datetime(2010, 6, 11, 11, 46, 11, 390000, tzinfo=UTC)
TRAILER = ",d-109,S2105,t050056.00,T56.13,r003669946,1325394060"
TRAILER_TS = datetime.fromtimestamp(1325394060, tz=UTC)
TAG_TS = utc(2014, 12, 10, 0, 0, 1)
TAGGED = tag_block("s:rORBCOMM008,c:1418169601") + POSITION


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def feed(
    decoder: NmeaDecoder, line: bytes | str, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Records and problems alike as plain dicts (tests look at both through the same keys)."""
    return cast(list[dict[str, Any]], decoder.feed(line, received_at=received_at))


def feed_all(
    decoder: NmeaDecoder, lines: list[str], received_at: datetime | None = None
) -> list[dict[str, Any]]:
    return [item for line in lines for item in feed(decoder, line, received_at)]


def records(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in out if "error" not in o]


def decode_file(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    decoder = NmeaDecoder()
    out: list[dict[str, Any]] = []
    with path.open("rb") as stream:
        for line in stream:
            out += feed(decoder, line)
    out += cast(list[dict[str, Any]], decoder.flush())
    return records(out), [o for o in out if "error" in o]


def test_every_recording_is_pinned() -> None:
    names = {p.name for p in RECORDINGS.iterdir() if not p.name.startswith(("LICENSE", "NOTICE"))}
    assert names == set(PINNED)


@pytest.mark.parametrize(("name", "expected"), PINNED.items(), ids=list(PINNED))
def test_recording(name: str, expected: tuple[int, int]) -> None:
    found, problems = decode_file(RECORDINGS / name)
    assert (len(found), len(problems)) == expected
    for record in found:
        assert record["source"] == "ais" and record["kind"] and isinstance(record["mmsi"], int)
        assert record["ts"] is None or record["ts"].tzinfo is not None
    for problem in problems:
        assert problem["error"] and problem["message"] and len(problem["input"]) <= PROBLEM_INPUT_CHARS


def test_gatehouse_stream_has_a_time_on_every_record() -> None:
    found, _ = decode_file(RECORDINGS / "dma-stream_example.txt")
    assert all(r["ts"] is not None for r in found)
    assert found[0]["ts"] == PGHP_TS


# --- ts precedence: tag block c: > $PGHP > USCG trailer > carried by the message > received_at ------------

RECEIVED = utc(2024, 1, 1, 12, 0, 0)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([PGHP, tag_block("c:1418169601") + POSITION + TRAILER], TAG_TS),
        ([PGHP, POSITION + TRAILER], PGHP_TS),
        ([POSITION + TRAILER], TRAILER_TS),
        ([BASE_STATION + TRAILER], TRAILER_TS),
        ([BASE_STATION], utc(2012, 7, 18, 3, 25, 28)),
        ([POSITION], RECEIVED),
    ],
    ids=["tag-block", "gatehouse", "trailer", "trailer-over-carried", "carried", "received-at"],
)
def test_ts_precedence(lines: list[str], expected: datetime) -> None:
    (record,) = feed_all(NmeaDecoder(), lines, received_at=RECEIVED)
    assert record["ts"] == expected


def test_no_time_at_all_is_none() -> None:
    (record,) = feed(NmeaDecoder(), POSITION)
    assert record["ts"] is None


def test_received_at_is_normalised_to_utc() -> None:
    (naive,) = feed(NmeaDecoder(), POSITION, received_at=datetime(2024, 1, 1, 12, 0))
    assert naive["ts"] == RECEIVED and naive["ts"].tzinfo is UTC
    china = timezone(timedelta(hours=8))
    (aware,) = feed(NmeaDecoder(), POSITION, received_at=datetime(2024, 1, 1, 20, 0, tzinfo=china))
    assert aware["ts"] == RECEIVED and aware["ts"].tzinfo is UTC


def test_gatehouse_time_belongs_to_the_next_sentence_only() -> None:
    decoder = NmeaDecoder()
    out = feed_all(decoder, [PGHP, "", "# comment", POSITION, POSITION])
    assert [r["ts"] for r in out] == [PGHP_TS, None]


def test_a_problem_line_consumes_the_gatehouse_time() -> None:
    out = feed_all(NmeaDecoder(), [PGHP, "garbage", POSITION])
    assert [o.get("error") for o in out] == ["syntax", None]
    assert out[1]["ts"] is None


def test_multi_sentence_message_takes_its_time_and_station_from_any_fragment() -> None:
    first = tag_block("g:1-2-1604,s:rORBCOMM008,c:1418169601") + PART_1
    second = tag_block("g:2-2-1604") + PART_2
    (record,) = feed_all(NmeaDecoder(), [first, second])
    assert (record["ts"], record["station"], record["channel"]) == (TAG_TS, "rORBCOMM008", "B")
    assert record["shipname"] == "GUATEMALA"


def test_station_and_channel() -> None:
    tagged, trailed, bare = feed_all(
        NmeaDecoder(),
        [TAGGED, POSITION + TRAILER, with_checksum("AIVDO,1,1,,,15M67FC000G?ufbE`FepT@3n00Sa,0")],
    )
    assert (tagged["station"], tagged["channel"]) == ("rORBCOMM008", "B")
    assert trailed["station"] == "r003669946"
    assert (bare["station"], bare["channel"]) == (None, None)
    assert list(bare)[:5] == ["kind", "source", "ts", "station", "channel"]


def test_fragments_in_reverse_order_and_interleaved() -> None:
    other_1 = PART_1.replace(",9,B,", ",9,A,")
    other_2 = PART_2.replace(",9,B,", ",9,A,")
    lines = [with_checksum(line[1 : line.index("*")]) for line in (PART_2, other_1, PART_1, other_2)]
    out = feed_all(NmeaDecoder(), lines)
    assert [(r["channel"], r["mmsi"]) for r in out] == [("B", 205488090), ("A", 205488090)]


def test_records_and_problems_come_out_in_input_order() -> None:
    lines = [POSITION, "bad", PART_1, POSITION[:-1] + "0", PART_2, "\\unclosed", BASE_STATION]
    out = feed_all(NmeaDecoder(), lines)
    assert [o.get("error") or o["msg_type"] for o in out] == [1, "syntax", "checksum", 5, "syntax", 4]


def test_bad_checksums_can_be_kept() -> None:
    out = feed(NmeaDecoder(keep_bad_checksum=True), POSITION[:-1] + "0")
    assert records(out) and records(out)[0]["msg_type"] == 1


def test_undecodable_payload_is_a_decode_problem() -> None:
    (problem,) = feed(NmeaDecoder(), "!AIVDM,1,1,,B,,0*25")
    assert problem == {"error": "decode", "message": "empty payload", "input": "!AIVDM,1,1,,B,,0*25"}


def test_duplicate_fragment_is_reported_and_the_message_still_decodes() -> None:
    out = feed_all(NmeaDecoder(), [PART_1, PART_1, PART_2])
    assert [o.get("error") or o["msg_type"] for o in out] == ["duplicate", 5]


def test_ttl_with_a_fake_clock() -> None:
    clock = FakeClock()
    decoder = NmeaDecoder(ttl=10.0, clock=clock)
    assert feed(decoder, PART_1) == []
    assert decoder.pending == 1
    clock.now = 10.0
    assert feed(decoder, "") == []  # exactly the TTL: still waiting
    clock.now = 10.5
    out = feed(decoder, POSITION)
    assert [o.get("error") or o["msg_type"] for o in out] == ["incomplete", 1]
    assert out[0]["input"] == PART_1 and "expired" in out[0]["message"]
    assert decoder.pending == 0
    assert feed(decoder, PART_2) == []  # too late: now an orphan of its own


def test_fragments_within_the_ttl_assemble() -> None:
    clock = FakeClock()
    decoder = NmeaDecoder(ttl=10.0, clock=clock)
    feed(decoder, PART_1)
    clock.now = 9.0
    assert records(feed(decoder, PART_2))[0]["msg_type"] == 5


def test_flush_reports_incomplete_messages() -> None:
    decoder = NmeaDecoder()
    feed(decoder, PART_1)
    feed(decoder, PGHP)
    (problem,) = decoder.flush()
    assert problem["error"] == "incomplete" and problem["input"] == PART_1
    assert decoder.flush() == []
    assert feed(decoder, POSITION)[0]["ts"] is None  # the pending $PGHP went with the flush


def test_pending_groups_are_bounded() -> None:
    decoder = NmeaDecoder(max_pending=10)
    out = []
    for n in range(50):
        payload = f"533uwnT0000{ARMOUR[n]}"  # a reused sequence id with new content supersedes
        out += feed(decoder, with_checksum(f"AIVDM,2,1,{n % 10},A,{payload},0"))
        out += feed(decoder, with_checksum(f"AIVDM,3,2,{n % 10},B,{payload},0"))
        assert decoder.pending <= 10
    assert len(out) == 90 and all(o["error"] == "incomplete" for o in out)


def test_megabyte_line_and_missing_final_newline() -> None:
    decoder = NmeaDecoder()
    (problem,) = feed(decoder, b"!" + b"A" * (1024 * 1024) + b"\n")
    assert problem["error"] == "too_long" and len(problem["input"]) == PROBLEM_INPUT_CHARS
    assert feed(decoder, POSITION.encode())[0]["msg_type"] == 1  # the last line of a file, no newline


# --- properties ------------------------------------------------------------------------------------------

GOOD_LINES = [POSITION, BASE_STATION, PART_1, PART_2, PGHP, TAGGED, POSITION + TRAILER, "", "# c"]


def mutate(line: str, data: st.DataObject) -> bytes:
    raw = bytearray(line.encode())
    for _ in range(data.draw(st.integers(0, 3))):
        if raw:
            position = data.draw(st.integers(0, len(raw) - 1))
            raw[position] = data.draw(st.integers(0, 255))
    return bytes(raw)


MEGABYTE_LINE = b"!" + b"w" * 1_000_000


def fuzz_line(data: st.DataObject) -> bytes:
    choice = data.draw(st.sampled_from(["good", "mutated", "random", "fragment", "huge"]))
    if choice == "good":
        return data.draw(st.sampled_from(GOOD_LINES)).encode()
    if choice == "mutated":
        return mutate(data.draw(st.sampled_from(GOOD_LINES)), data)
    if choice == "random":
        return data.draw(st.binary(max_size=120))
    if choice == "fragment":  # orphans, 9-part groups, repeats, impossible numbers
        count, number = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
        sequence, channel = data.draw(st.sampled_from(["", "1", "2"])), data.draw(st.sampled_from("AB"))
        return with_checksum(f"AIVDM,{count},{number},{sequence},{channel},533uwnT0000,0").encode()
    return MEGABYTE_LINE


@settings(database=None, max_examples=300, deadline=None)
@given(st.data(), st.integers(1, 5))
def test_fuzzed_streams_never_raise_and_stay_bounded(data: st.DataObject, max_pending: int) -> None:
    clock = FakeClock()
    decoder = NmeaDecoder(max_pending=max_pending, clock=clock)
    for _ in range(data.draw(st.integers(0, 40))):
        clock.now += data.draw(st.floats(0, 4))
        for item in feed(decoder, fuzz_line(data), received_at=RECEIVED):
            assert isinstance(item, dict)
            assert ("error" in item) or (item["source"] == "ais" and item["ts"] is not None)
        assert decoder.pending <= max_pending
    assert all(problem["error"] == "incomplete" for problem in decoder.flush())
    assert decoder.pending == 0


# feed_lines decodes the common line without building sentence objects; it must give what feed gives.
COMMON_LINE_VARIANTS = [
    POSITION,
    TAGGED,
    POSITION + "\r",
    "  " + TAGGED + "  ",
    POSITION.replace("*5C", "*5D"),  # wrong checksum
    tag_block("s:rORBCOMM008,c:1418169601")[:-4] + "00\\" + POSITION,  # wrong tag block checksum
    tag_block("c:1418169601,g:1-2-77") + PART_1,
    tag_block("g:2-2-77") + PART_2,
    POSITION.replace("AIVDM", "aivdm"),
    POSITION + TRAILER,
    PGHP,
    POSITION,
    with_checksum("AIVDM,1,1,,A,,0"),  # empty payload: a decode problem
    with_checksum("AIVDM,1,1,,A,Ww,0"),  # type 39: unsupported
    with_checksum("BSVDO,1,1,,,15M67FC000G?ufbE`FepT@3n00Sa,0"),
    "# a comment",
    "",
    "x" * 2000,
    "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C\u00e9",
    BASE_STATION,
    PART_1,
    POSITION,
    PART_2,
]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_feed_lines_gives_what_feed_gives_on_every_recording(name: str) -> None:
    lines = (RECORDINGS / name).read_bytes().split(b"\n")
    one_by_one = NmeaDecoder()
    expected = [item for line in lines for item in one_by_one.feed(line.rstrip(b"\r"))]
    assert NmeaDecoder().feed_lines(lines) == expected
    assert expected  # the recordings are not empty


def test_feed_lines_gives_what_feed_gives_on_odd_lines() -> None:
    lines = [line.encode() for line in COMMON_LINE_VARIANTS]
    one_by_one = NmeaDecoder()
    expected = [item for line in lines for item in one_by_one.feed(line.rstrip(b"\r"))]
    assert NmeaDecoder().feed_lines(lines) == expected
    kinds = [item.get("error", item.get("kind")) for item in expected]
    assert kinds.count("checksum") == 2 and "static" in kinds and "decode" in kinds
