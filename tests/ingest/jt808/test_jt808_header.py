"""Headers: both versions, subpackage numbering, terminal numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.jt808 import Jt808Error, encode_header, parse_header
from ingest.jt808.bcd import luhn_digit
from ingest.jt808.header import terminal_bytes, terminal_text


@given(
    st.integers(0, 0xFFFF),
    st.integers(0, 0x3FF),
    st.sampled_from([2013, 2019]),
    st.integers(0, 0xFF),
    st.text("0123456789", min_size=1, max_size=12),
    st.integers(0, 0xFFFF),
    st.one_of(st.none(), st.tuples(st.integers(1, 0xFFFF), st.integers(1, 0xFFFF))),
)
def test_header_round_trip(
    msg_id: int,
    length: int,
    version: int,
    protocol_version: int,
    terminal: str,
    serial: int,
    packet: tuple[int, int] | None,
) -> None:
    raw = encode_header(
        msg_id,
        length,
        terminal=terminal,
        serial=serial,
        version=version,
        protocol_version=protocol_version,
        packet=packet,
    )
    head = parse_header(raw + bytes(length))
    assert (head.msg_id, head.body_length, head.serial, head.version) == (msg_id, length, serial, version)
    assert head.size == len(raw)
    assert head.terminal == terminal.rjust(12 if version == 2013 else 20, "0")
    assert head.protocol_version == (protocol_version if version == 2019 else None)
    assert (head.packet_total, head.packet_index) == (packet or (None, None))
    assert head.subpackage is (packet is not None)
    assert head.encryption == 0


def test_2019_header_fields() -> None:
    # SmallChi's JT808Header_2019Test: version flag, subpackage flag, RSA bit and length 255.
    head = parse_header(bytes.fromhex("010264ff0200000000013812345678008700000000"))
    assert (head.msg_id, head.version, head.protocol_version) == (0x0102, 2019, 2)
    assert (head.terminal, head.serial, head.body_length, head.encryption) == (
        "00000000013812345678",
        135,
        255,
        1,
    )
    assert head.subpackage and (head.packet_total, head.packet_index) == (0, 0)


def test_bit14_with_a_2013_length_is_read_as_2013() -> None:
    # A 2013 terminal that sets the reserved bit 14: only the 2013 layout fits the declared length.
    content = bytes.fromhex("0102400c0100300006810902" + "4a3130303330303030363831")  # header + body
    head = parse_header(content)
    assert (head.version, head.terminal, head.serial, head.size) == (2013, "010030000681", 0x0902, 12)


def test_bit14_is_2019_when_neither_length_fits() -> None:
    head = parse_header(encode_header(0x0200, 100, terminal="1", serial=1, version=2019) + bytes(3))
    assert head.version == 2019


def test_too_short_for_a_header() -> None:
    with pytest.raises(Jt808Error) as caught:
        parse_header(bytes(11))
    assert caught.value.code == "too_short"
    with pytest.raises(Jt808Error):
        parse_header(bytes.fromhex("02004000") + bytes(10))  # 2019 flag, 14 bytes: neither fits


def test_luhn() -> None:
    assert luhn_digit("49015420323751") == "8"  # the IMEI 490154203237518
    assert luhn_digit("86547807010206") == "8"


def test_binary_imei_terminal_round_trip() -> None:
    raw = bytes.fromhex("4eb6fb4afd9e")
    assert terminal_text(raw) == "865478070102068"
    assert terminal_bytes("865478070102068", 6) == raw


def test_unreadable_terminal_kept_as_hex() -> None:
    raw = bytes.fromhex("ffffffffffff")  # above 10**14: not an IMEI either
    assert terminal_text(raw) == "ffffffffffff"
    assert terminal_bytes("ffffffffffff", 6) == raw


@pytest.mark.parametrize(("terminal", "size"), [("1234567890123", 6), ("865478070102069", 6), ("zz", 6)])
def test_terminals_that_do_not_fit(terminal: str, size: int) -> None:
    with pytest.raises(Jt808Error) as caught:
        terminal_bytes(terminal, size)
    assert caught.value.code == "encode"


def test_body_length_must_fit_ten_bits() -> None:
    with pytest.raises(Jt808Error):
        encode_header(0x0200, 1024, terminal="1", serial=0)
