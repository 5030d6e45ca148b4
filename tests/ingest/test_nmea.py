"""The NMEA line layer: sentences, tag blocks, Gatehouse and USCG wrappers, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce
from operator import xor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.nmea import (
    MAX_LINE_BYTES,
    PROBLEM_INPUT_CHARS,
    AisSentence,
    GatehouseTime,
    TagGroup,
    parse_line,
    unix_time,
)

POSITION = "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"


def with_checksum(body: str, start: str = "!") -> str:
    """A sentence with a correct checksum, built from everything between the start and the '*'."""
    return f"{start}{body}*{reduce(xor, body.encode(), 0):02X}"


def tag_block(content: str) -> str:
    return f"\\{content}*{reduce(xor, content.encode(), 0):02X}\\"


def sentence(line: bytes | str, **options: bool) -> AisSentence:
    parsed = parse_line(line, **options)
    assert isinstance(parsed, AisSentence), parsed
    return parsed


def test_plain_sentence_fields() -> None:
    s = sentence(POSITION)
    assert (s.talker, s.own_ship, s.fragment_count, s.fragment_number) == ("AI", False, 1, 1)
    assert (s.sequence_id, s.channel, s.fill_bits, s.checksum_ok) == ("", "B", 0, True)
    assert s.payload == "15M67FC000G?ufbE`FepT@3n00Sa"
    assert s.raw == POSITION
    assert s.tag_block is None and s.trailer is None


def test_bytes_and_str_and_line_endings_are_the_same() -> None:
    assert sentence(POSITION.encode() + b"\r\n") == sentence(POSITION) == sentence(f"  {POSITION}\n")


@pytest.mark.parametrize("head", ["BSVDM", "ABVDM", "SAVDM", "--VDM", "BYVDM", "aivdm"])
def test_talker_variants(head: str) -> None:
    s = sentence(with_checksum(f"{head},1,1,,A,13u?8T00001Uk8BUPMcbnied0@OF,0"))
    assert s.talker == head[:2]
    assert not s.own_ship


def test_vdo_is_own_ship_and_multi_fragment_fields_are_kept() -> None:
    s = sentence(with_checksum("BSVDO,2,1,7,A,53B>2V000000uHH4000@T4p4000000000000000S30C6340006h00000,0"))
    assert s.own_ship
    assert (s.fragment_count, s.fragment_number, s.sequence_id, s.channel) == (2, 1, "7", "A")


def test_empty_channel_and_empty_payload_are_valid_at_this_layer() -> None:
    # A multi-sentence message may end with an empty fragment; whether the message decodes is
    # ingest.ais' business.
    s = sentence(with_checksum("AIVDM,2,2,0,,,0"))
    assert (s.channel, s.payload) == ("", "")


def test_bad_checksum_is_a_problem_unless_kept() -> None:
    bad = POSITION[:-2] + "5D"
    found = parse_line(bad)
    assert isinstance(found, dict)
    assert found["error"] == "checksum"
    assert found["input"] == bad
    kept = sentence(bad, keep_bad_checksum=True)
    assert not kept.checksum_ok


def test_lower_case_checksum_is_accepted() -> None:
    assert sentence(POSITION[:-2] + "5c").checksum_ok


def test_tag_block_time_station_and_group() -> None:
    line = tag_block("g:1-2-1604,s:rORBCOMM008,c:1418169601,T:2014-12-10 00.00.01") + with_checksum(
        "AIVDM,2,1,6,A,53@o0E000001Q0CG37U8u<Tp4q@D00000000000018330400000000000000,0"
    )
    tb = sentence(line).tag_block
    assert tb is not None
    assert tb.ts == datetime(2014, 12, 10, 0, 0, 1, tzinfo=UTC)
    assert tb.station == "rORBCOMM008"
    assert tb.group == TagGroup(number=1, total=2, group_id="1604")
    assert tb.checksum_ok


def test_tag_block_time_in_milliseconds() -> None:
    tb = sentence(tag_block("c:1418169601500") + POSITION).tag_block
    assert tb is not None
    assert tb.ts == datetime(2014, 12, 10, 0, 0, 1, 500000, tzinfo=UTC)


def test_old_style_group_and_unknown_fields() -> None:
    # "1G2:0125" is the IEC 61162-1 way of writing g:1-2-0125; odd fields are ignored, not fatal.
    tb = sentence(tag_block("1G2:0125,:,x:y,c:abc") + POSITION).tag_block
    assert tb is not None
    assert tb.group == TagGroup(1, 2, "0125")
    assert tb.ts is None


def test_tag_block_checksum_problem_unless_kept() -> None:
    line = "\\s:blah,c:1747818025*00\\" + POSITION
    found = parse_line(line)
    assert isinstance(found, dict) and found["error"] == "checksum"
    tb = sentence(line, keep_bad_checksum=True).tag_block
    assert tb is not None and not tb.checksum_ok and tb.station == "blah"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (tag_block("c:1354719388"), "syntax"),  # a tag block with no sentence after it
        ("\\c:1354719388*56" + POSITION, "syntax"),  # never closed
        ("\\c:1354719388\\" + POSITION, "syntax"),  # no tag block checksum
        ("$PFOO,INVALID", "syntax"),
        (with_checksum("GPGGA,123519,4807.038,N", start="$"), "unsupported"),
        (with_checksum("PGHP,2,whatever", start="$"), "unsupported"),
        ("IamNotAnAisMessage1111", "syntax"),
        ("!AIVDM,1,1,,B,15N4cJ005Jrek0H@9nDW5608EP,013", "syntax"),  # no '*'
        ("!AIVDM,1,1,,B,15N4cJ005Jrek0H@9nDW5608EP,0*G1", "syntax"),
        ("!AIVDM,1,1,,B,15N4cJ005Jrek0H@9nDW5608EP,0*1Fjunk", "syntax"),
        (with_checksum("AIVDM,1,1,,B,15N4cJ005Jrek0H@9nDW5608EP"), "syntax"),  # 6 fields
        (with_checksum("AIVDM,0,1,,B,15N4cJ005Jrek0H@9nDW5608EP,0"), "syntax"),  # fragment 1 of 0
        (with_checksum("AIVDM,2,3,,B,15N4cJ005Jrek0H@9nDW5608EP,0"), "syntax"),  # fragment 3 of 2
        (with_checksum("AIVDM,10,1,,B,15N4cJ005Jrek0H@9nDW5608EP,0"), "syntax"),
        (with_checksum("AIVDM,1,1,x,B,15N4cJ005Jrek0H@9nDW5608EP,0"), "syntax"),
        (with_checksum("AIVDM,1,1,,B!,15N4cJ005Jrek0H@9nDW5608EP,0"), "syntax"),
        (with_checksum("AIVDM,1,1,,B,15N4cJ005Jr{k0H@9nDW5608EP,0"), "syntax"),  # outside the armour
        (with_checksum("AIVDM,1,1,,B,15N4cJ005Jrek0H@9nDW5608EP,6"), "syntax"),
        (with_checksum("PGHP,1,2010,13,11,11,46,11,390,231,45,992190934,1,2B", start="$"), "syntax"),
        (with_checksum("PGHP,1,2010,6,11", start="$"), "syntax"),
    ],
)
def test_malformed_lines_are_problems(line: str, error: str) -> None:
    found = parse_line(line)
    assert isinstance(found, dict), found
    assert found["error"] == error
    assert found["message"]
    assert found["input"] == line[:PROBLEM_INPUT_CHARS]


@pytest.mark.parametrize(
    ("trailer", "station", "ts"),
    [
        (",d-109,S2105,t050056.00,T56.13718694,r003669946,1325394060", "r003669946", 1325394060),
        # Two numbers: the NAIS format puts the receive time last.
        (",d-109,S2105,t050056.00,T56.13718694,r003669946,1325394060,1325394001", "r003669946", 1325394001),
        (",b003669794,1272412827", "b003669794", 1272412827),
        (",raishub,1342569600", "raishub", 1342569600),
        (",rFakeByKurt,1351557873.89", "rFakeByKurt", 1351557873.89),
        (",1357134218", None, 1357134218),
        (",1daasd4218,,1357134222", None, 1357134222),
        (",d-128,S9999,r14xkaa1", "r14xkaa1", None),
    ],
)
def test_uscg_trailer(trailer: str, station: str | None, ts: float | None) -> None:
    s = sentence(POSITION + trailer)
    assert s.trailer is not None
    assert s.trailer.station == station
    assert s.trailer.ts == (None if ts is None else datetime.fromtimestamp(ts, tz=UTC))
    assert s.payload == "15M67FC000G?ufbE`FepT@3n00Sa"


def test_gatehouse_time() -> None:
    found = parse_line("$PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B*5B")
    assert isinstance(found, GatehouseTime)
    assert found.ts == datetime(2010, 6, 11, 11, 46, 11, 390000, tzinfo=UTC)


@pytest.mark.parametrize("line", ["", "   ", "\r\n", "# a comment", b"# bytes comment\n"])
def test_blank_and_comment_lines_carry_nothing(line: str | bytes) -> None:
    assert parse_line(line) is None


@pytest.mark.parametrize("line", [b"!AIVDM,1,1,,B,\xff\xfe,0*00", "!AIVDM,1,1,,B,ü,0*00"])
def test_non_ascii_is_an_encoding_problem(line: bytes | str) -> None:
    found = parse_line(line)
    assert isinstance(found, dict) and found["error"] == "encoding"


@pytest.mark.parametrize("size", [MAX_LINE_BYTES + 1, 1024 * 1024])
def test_long_lines_are_refused(size: int) -> None:
    line = (POSITION * (size // len(POSITION) + 1))[:size]
    for variant in (line, line.encode()):
        found = parse_line(variant)
        assert isinstance(found, dict) and found["error"] == "too_long"
        assert len(found["input"]) == PROBLEM_INPUT_CHARS


def test_line_at_the_cap_is_parsed() -> None:
    line = POSITION + "," + "x" * (MAX_LINE_BYTES - len(POSITION) - 1)
    assert isinstance(parse_line(line), AisSentence)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1418169601", datetime(2014, 12, 10, 0, 0, 1, tzinfo=UTC)),
        ("1418169601000", datetime(2014, 12, 10, 0, 0, 1, tzinfo=UTC)),
        ("1351557493.0", datetime(2012, 10, 30, 0, 38, 13, tzinfo=UTC)),
        ("", None),
        ("12ab", None),
        ("-5", None),
        ("9" * 40, None),  # would overflow datetime
    ],
)
def test_unix_time(value: str, expected: datetime | None) -> None:
    assert unix_time(value) == expected


# --- properties: nothing raises, whatever comes in ------------------------------------------------------

VALID_LINES = [
    POSITION,
    "\\g:1-2-1604,s:rORBCOMM008,c:1418169601,T:2014-12-10 00.00.01*37\\"
    "!AIVDM,2,1,6,A,53@o0E000001Q0CG37U8u<Tp4q@D00000000000018330400000000000000,0*63",
    "!AIVDM,1,1,,A,403Ovl@000Htt<tSF0l4Q@100`Pq,0*28,d-109,S2105,t050056.00,T56.13718694,r003669946,1325394060",
    "$PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B*5B",
]


def _check(result: object) -> None:
    assert result is None or isinstance(result, AisSentence | GatehouseTime | dict)
    if isinstance(result, dict):
        assert set(result) == {"error", "message", "input"}
        assert len(result["input"]) <= PROBLEM_INPUT_CHARS


@settings(database=None, max_examples=500)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    _check(parse_line(data))
    _check(parse_line(data, keep_bad_checksum=True))


@settings(database=None, max_examples=500)
@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    _check(parse_line(text))


@settings(database=None, max_examples=1000)
@given(st.sampled_from(VALID_LINES), st.data())
def test_mutated_valid_lines_never_raise(line: str, data: st.DataObject) -> None:
    mutated = bytearray(line.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(mutated)))
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = data.draw(st.sampled_from(b"!$\\*,:-0123456789ABCDEFw@`\xff\r\n"))
        if action == "insert":
            mutated.insert(position, byte)
        elif mutated and position < len(mutated):
            if action == "replace":
                mutated[position] = byte
            else:
                del mutated[position]
    result = parse_line(bytes(mutated), keep_bad_checksum=data.draw(st.booleans()))
    _check(result)


def test_a_pghp_with_huge_numbers_is_a_problem_not_an_exception() -> None:
    body = "PGHP,1,2010,6,11,11,46,11,99999999999999999999999,0,0,0,1,2B"
    checksum = 0
    for char in body:
        checksum ^= ord(char)
    result = parse_line(f"${body}*{checksum:02X}")
    assert isinstance(result, dict) and result["error"] == "syntax"
