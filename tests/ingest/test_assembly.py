"""Fragment assembly: grouping, out-of-order and interleaved fragments, TTL on a fake clock, bounds."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.assembly import Assembler, Completed, Dropped, Event


@dataclass(frozen=True)
class Frag:
    fragment_count: int
    fragment_number: int
    sequence_id: str = "1"
    channel: str = "A"
    payload: str = ""

    def __post_init__(self) -> None:
        if not self.payload:
            # Distinct by default, so only deliberate repeats look like duplicates.
            object.__setattr__(self, "payload", f"p{self.fragment_number}/{self.sequence_id}{self.channel}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def completed(events: list[Event[Frag]]) -> list[tuple[Frag, ...]]:
    return [e.fragments for e in events if isinstance(e, Completed)]


def dropped(events: list[Event[Frag]]) -> list[tuple[str, tuple[Frag, ...]]]:
    return [(e.reason, e.fragments) for e in events if isinstance(e, Dropped)]


def test_single_fragment_completes_at_once_and_holds_nothing() -> None:
    assembler: Assembler[Frag] = Assembler()
    one = Frag(1, 1, sequence_id="")
    assert completed(assembler.add(one)) == [(one,)]
    assert len(assembler) == 0


def test_two_fragments_in_order() -> None:
    assembler: Assembler[Frag] = Assembler()
    first, second = Frag(2, 1), Frag(2, 2)
    assert assembler.add(first) == []
    assert len(assembler) == 1
    assert completed(assembler.add(second)) == [(first, second)]
    assert len(assembler) == 0


def test_out_of_order_fragments_come_back_in_order() -> None:
    assembler: Assembler[Frag] = Assembler()
    parts = [Frag(3, 3), Frag(3, 1), Frag(3, 2)]
    events = [e for p in parts for e in assembler.add(p)]
    assert completed(events) == [(parts[1], parts[2], parts[0])]


def test_interleaved_channels_sequences_and_streams() -> None:
    assembler: Assembler[Frag] = Assembler()
    a1, a2 = Frag(2, 1, "3", "A"), Frag(2, 2, "3", "A")
    b1, b2 = Frag(2, 1, "3", "B"), Frag(2, 2, "3", "B")
    c1, c2 = Frag(2, 1, "4", "A"), Frag(2, 2, "4", "A")
    events = []
    for fragment in (a1, b1, c1, b2, c2, a2):
        events += assembler.add(fragment)
    assert completed(events) == [(b1, b2), (c1, c2), (a1, a2)]
    # The same channel and sequence id from two stations are two messages.
    s1, s2 = Frag(2, 1), Frag(2, 2, payload="other")
    assert assembler.add(s1, stream="station-1") == []
    assert assembler.add(s2, stream="station-2") == []
    assert len(assembler) == 2


def test_nine_part_group() -> None:
    assembler: Assembler[Frag] = Assembler()
    parts = [Frag(9, n) for n in (9, 1, 8, 2, 7, 3, 6, 4, 5)]
    events = [e for p in parts for e in assembler.add(p)]
    assert completed(events) == [tuple(sorted(parts, key=lambda f: f.fragment_number))]


def test_fragment_count_is_part_of_the_key() -> None:
    assembler: Assembler[Frag] = Assembler()
    assert assembler.add(Frag(2, 1)) == []
    assert assembler.add(Frag(3, 2)) == []
    assert len(assembler) == 2


def test_duplicate_fragment_is_dropped_and_the_group_still_completes() -> None:
    assembler: Assembler[Frag] = Assembler()
    first = Frag(2, 1)
    assembler.add(first)
    again = Frag(2, 1)
    assert dropped(assembler.add(again)) == [("duplicate", (again,))]
    second = Frag(2, 2)
    assert completed(assembler.add(second)) == [(first, second)]


def test_reused_sequence_id_supersedes_the_old_group() -> None:
    assembler: Assembler[Frag] = Assembler()
    old = Frag(2, 1, payload="old")
    new = Frag(2, 1, payload="new")
    second = Frag(2, 2)
    assembler.add(old)
    assert dropped(assembler.add(new)) == [("superseded", (old,))]
    assert completed(assembler.add(second)) == [(new, second)]


@pytest.mark.parametrize(("count", "number"), [(0, 1), (2, 0), (2, 3), (10, 1), (-1, -1)])
def test_impossible_fragment_numbers_are_dropped(count: int, number: int) -> None:
    assembler: Assembler[Frag] = Assembler()
    bad = Frag(count, number)
    assert dropped(assembler.add(bad)) == [("invalid", (bad,))]
    assert len(assembler) == 0


def test_ttl_expires_an_orphan_on_a_fake_clock() -> None:
    clock = FakeClock()
    assembler: Assembler[Frag] = Assembler(ttl=10.0, clock=clock)
    orphan = Frag(2, 2)
    assembler.add(orphan)
    clock.now += 10.0  # exactly the TTL: still waiting
    assert assembler.expire() == []
    assert len(assembler) == 1
    clock.now += 0.001
    assert dropped(list(assembler.expire())) == [("expired", (orphan,))]
    assert len(assembler) == 0
    assert assembler.expired == 1


def test_late_fragment_does_not_complete_an_expired_group() -> None:
    clock = FakeClock()
    assembler: Assembler[Frag] = Assembler(ttl=10.0, clock=clock)
    first, second = Frag(2, 1), Frag(2, 2)
    assembler.add(first)
    clock.now += 11
    events = assembler.add(second)
    assert dropped(events) == [("expired", (first,))]
    assert completed(events) == []
    assert len(assembler) == 1  # the late fragment now waits for its own sibling


def test_fragments_within_the_ttl_complete() -> None:
    clock = FakeClock()
    assembler: Assembler[Frag] = Assembler(ttl=10.0, clock=clock)
    first, second = Frag(2, 1), Frag(2, 2)
    assembler.add(first)
    clock.now += 9.9
    assert completed(assembler.add(second)) == [(first, second)]


def test_now_argument_overrides_the_clock() -> None:
    assembler: Assembler[Frag] = Assembler(ttl=5.0, clock=lambda: 0.0)
    orphan = Frag(2, 1)
    assembler.add(orphan, now=100.0)
    assert assembler.expire(now=104.0) == []
    assert dropped(list(assembler.expire(now=105.5))) == [("expired", (orphan,))]


def test_expiry_is_oldest_first_and_stops_at_the_first_young_group() -> None:
    clock = FakeClock()
    assembler: Assembler[Frag] = Assembler(ttl=10.0, clock=clock)
    old, middle, young = Frag(2, 1, "1"), Frag(2, 1, "2"), Frag(2, 1, "3")
    assembler.add(old)
    clock.now += 3
    assembler.add(middle)
    clock.now += 5
    assembler.add(young)
    clock.now += 4  # old is 12 s, middle 9 s, young 4 s old
    assert dropped(list(assembler.expire())) == [("expired", (old,))]
    assert len(assembler) == 2


def test_pending_groups_are_bounded_and_the_oldest_evicted() -> None:
    assembler: Assembler[Frag] = Assembler(max_pending=3)
    groups = [Frag(2, 1, sequence_id=str(n)) for n in range(5)]
    events = [e for g in groups for e in assembler.add(g)]
    assert dropped(events) == [("evicted", (groups[0],)), ("evicted", (groups[1],))]
    assert len(assembler) == 3
    assert assembler.evicted == 2
    # Adding to an existing group never evicts.
    assert assembler.add(Frag(2, 2, sequence_id="4"))[0] == Completed((groups[4], Frag(2, 2, "4")))


def test_flush_gives_up_on_everything() -> None:
    assembler: Assembler[Frag] = Assembler()
    first, other = Frag(3, 1), Frag(2, 2, "9")
    assembler.add(first)
    assembler.add(other)
    assert [(d.reason, d.fragments) for d in assembler.flush()] == [
        ("flushed", (first,)),
        ("flushed", (other,)),
    ]
    assert len(assembler) == 0


@pytest.mark.parametrize(("ttl", "max_pending"), [(0, 10), (-1, 10), (10, 0)])
def test_nonsense_limits_are_refused(ttl: float, max_pending: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        Assembler(ttl=ttl, max_pending=max_pending)


# --- properties ------------------------------------------------------------------------------------------

fragments = st.builds(
    Frag,
    fragment_count=st.integers(-1, 10),
    fragment_number=st.integers(-1, 10),
    sequence_id=st.sampled_from(["", "0", "1", "2", "9"]),
    channel=st.sampled_from(["", "A", "B"]),
    payload=st.sampled_from(["x", "y", "z"]),
)


@settings(database=None, max_examples=300)
@given(
    steps=st.lists(st.tuples(fragments, st.floats(0, 5), st.sampled_from(["", "s1", "s2"])), max_size=200),
    max_pending=st.integers(1, 8),
)
def test_every_fragment_is_accounted_for_and_pending_stays_bounded(
    steps: list[tuple[Frag, float, str]], max_pending: int
) -> None:
    clock = FakeClock()
    assembler: Assembler[Frag] = Assembler(ttl=10.0, max_pending=max_pending, clock=clock)
    out = 0
    for fragment, advance, stream in steps:
        clock.now += advance
        for event in assembler.add(fragment, stream=stream):
            out += len(event.fragments)
            if isinstance(event, Completed):
                numbers = [f.fragment_number for f in event.fragments]
                assert numbers == list(range(1, event.fragments[0].fragment_count + 1))
        assert len(assembler) <= max_pending
    out += sum(len(d.fragments) for d in assembler.flush())
    assert out == len(steps)  # nothing lost, nothing invented
    assert len(assembler) == 0


@settings(database=None, max_examples=50)
@given(st.permutations(list(range(1, 10))))
def test_nine_parts_in_any_order_complete_once(order: list[int]) -> None:
    assembler: Assembler[Frag] = Assembler()
    events = [e for n in order for e in assembler.add(Frag(9, n))]
    assert len(completed(events)) == 1
    assert dropped(events) == []
