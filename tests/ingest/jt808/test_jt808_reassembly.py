"""Subpackage reassembly with a fake clock."""

from __future__ import annotations

import pytest

from ingest.jt808 import (
    Frame,
    Jt808Error,
    Reassembler,
    build_frame,
    decode_message,
    encode_header,
    parse_frame,
)
from ingest.jt808.additional import AdditionalItems
from ingest.jt808.messages import LocationReport


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


BODY = LocationReport(1, 2, 22_800_000, 115_400_000, 0, 100, 45, "250601120000", AdditionalItems()).encode()


def packet(body: bytes, index: int, total: int, *, terminal: str = "13912345678", serial: int = 10) -> Frame:
    head = encode_header(0x0200, len(body), terminal=terminal, serial=serial, packet=(total, index))
    return parse_frame(build_frame(head + body))


def parts(body: bytes, total: int, terminal: str = "13912345678") -> list[Frame]:
    size = -(-len(body) // total)  # ceiling division
    return [
        packet(body[i * size : (i + 1) * size], i + 1, total, terminal=terminal, serial=10 + i)
        for i in range(total)
    ]


def test_whole_frames_pass_straight_through() -> None:
    head = encode_header(0x0200, len(BODY), terminal="1", serial=3)
    frame = parse_frame(build_frame(head + BODY))
    assert Reassembler().add(frame) is frame


def test_packets_in_any_order_make_the_message() -> None:
    reassembler = Reassembler(clock=FakeClock())
    third, first, second = parts(BODY, 3)[2], *parts(BODY, 3)[:2]
    assert decode_message(first)["kind"] == "fragment"
    assert reassembler.add(third) is None
    assert reassembler.add(first) is None
    assert reassembler.pending == 1
    whole = reassembler.add(second)
    assert whole is not None and reassembler.pending == 0
    assert whole.body == BODY and whole.checksum_ok and whole.length_ok
    assert whole.header.serial == 10 and not whole.header.subpackage
    record = decode_message(whole)
    assert record["kind"] == "position" and record["alarms"] == ["emergency"]


def test_retransmitted_packet_replaces_the_first_copy() -> None:
    reassembler = Reassembler(clock=FakeClock())
    first, second = parts(BODY, 2)
    assert reassembler.add(first) is None
    assert reassembler.add(first) is None
    assert reassembler.add(second) is not None


def test_terminals_do_not_mix() -> None:
    reassembler = Reassembler(clock=FakeClock())
    a1, _ = parts(BODY, 2, terminal="111")
    _, b2 = parts(BODY, 2, terminal="222")
    assert reassembler.add(a1) is None
    assert reassembler.add(b2) is None
    assert reassembler.pending == 2


def test_idle_messages_expire_after_the_ttl() -> None:
    clock = FakeClock()
    reassembler = Reassembler(ttl=30, clock=clock)
    first, second = parts(BODY, 2)
    reassembler.add(first)
    clock.now += 29
    assert reassembler.expire() == 0
    clock.now += 2
    assert reassembler.add(second) is None  # the first packet expired: this one starts afresh
    assert reassembler.dropped == 1 and reassembler.pending == 1


def test_pending_messages_are_bounded() -> None:
    clock = FakeClock()
    reassembler = Reassembler(max_pending=2, clock=clock)
    firsts = [parts(BODY, 2, terminal=str(n))[0] for n in range(3)]
    for frame in firsts:
        clock.now += 1
        reassembler.add(frame)
    assert reassembler.pending == 2 and reassembler.dropped == 1
    # the least recently touched (terminal "0") was dropped; "2" can still complete
    assert reassembler.add(parts(BODY, 2, terminal="2")[1]) is not None
    assert reassembler.add(parts(BODY, 2, terminal="0")[1]) is None


def test_stored_packets_are_bounded_across_messages() -> None:
    clock = FakeClock()
    reassembler = Reassembler(max_packets=4, max_stored_packets=4, clock=clock)
    a, b, c = (parts(BODY, 3, terminal=name) for name in ("111", "222", "333"))
    for frame in (a[0], a[1], b[0], b[1]):
        clock.now += 1
        assert reassembler.add(frame) is None
    assert reassembler.stored_packets == 4
    assert reassembler.add(c[0]) is None  # one too many: the oldest message ("111") goes
    assert (reassembler.stored_packets, reassembler.pending, reassembler.dropped) == (3, 2, 1)
    assert reassembler.add(b[2]) is not None
    assert reassembler.stored_packets == 1
    assert reassembler.add(a[2]) is None  # "111" starts again from scratch


def test_limits_must_be_consistent() -> None:
    with pytest.raises(ValueError, match="max_packets"):
        Reassembler(max_packets=10, max_stored_packets=5)


def test_a_bad_checksum_in_any_packet_marks_the_message() -> None:
    reassembler = Reassembler(clock=FakeClock())
    first, second = parts(BODY, 2)
    reassembler.add(Frame(first.header, first.body, checksum_ok=False))
    whole = reassembler.add(second)
    assert whole is not None and not whole.checksum_ok


@pytest.mark.parametrize(("index", "total"), [(0, 2), (3, 2), (1, 0)])
def test_impossible_numbering(index: int, total: int) -> None:
    with pytest.raises(Jt808Error) as caught:
        Reassembler().add(packet(b"\x00", index, total))
    assert caught.value.code == "subpackage"


def test_too_many_packets() -> None:
    with pytest.raises(Jt808Error) as caught:
        Reassembler(max_packets=8).add(packet(b"\x00", 1, 9))
    assert caught.value.code == "subpackage"
