"""Multi-sentence AIS message assembly with a time limit and a bound on memory.

An AIS message longer than one sentence arrives as 2-9 fragments that share a sequence id. Fragments
of different messages interleave (two channels, several stations merged into one feed), fragments get
lost, arrive twice or out of order. `Assembler` collects them per group, keyed by
(stream, channel, sequence id, fragment count), and hands back, for every fragment added, what
happened: complete messages and dropped fragments, in the order they happened.

- A group that is still incomplete `ttl` seconds after its first fragment is dropped ("expired"):
  without the limit, every lost fragment would pin its siblings in memory forever.
- At most `max_pending` groups are kept; opening one more drops the oldest ("evicted") so that a
  feed of orphans cannot grow memory without bound.
- A fragment number seen twice in one group is either a repeat of the same sentence ("duplicate",
  the new copy is dropped) or the start of a new message reusing the sequence id ("superseded", the
  old group is dropped and the new one starts with this fragment).

Time is injected (a clock callable, or ``now=`` on each call) so tests drive the TTL with a fake clock.
Nothing here raises on bad input; fragments with impossible numbers are dropped as "invalid".
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

DEFAULT_TTL_S = 10.0
DEFAULT_MAX_PENDING = 1000
MAX_FRAGMENTS = 9  # IEC 61162-1: a message spans 1-9 sentences

DropReason = Literal["expired", "evicted", "duplicate", "superseded", "invalid", "flushed"]


class Fragment(Protocol):
    """What the assembler needs to know about a sentence (`ingest.nmea.AisSentence` fits)."""

    @property
    def fragment_count(self) -> int: ...
    @property
    def fragment_number(self) -> int: ...
    @property
    def sequence_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def payload(self) -> str: ...


F = TypeVar("F", bound=Fragment)


@dataclass(frozen=True, slots=True)
class Completed(Generic[F]):
    """All fragments of a message, in fragment-number order."""

    fragments: tuple[F, ...]


@dataclass(frozen=True, slots=True)
class Dropped(Generic[F]):
    """Fragments given up on, and why."""

    reason: DropReason
    fragments: tuple[F, ...]


Event = Completed[F] | Dropped[F]
GroupKey = tuple[Hashable, str, str, int]


@dataclass(slots=True)
class _Group(Generic[F]):
    started: float
    parts: dict[int, F] = field(default_factory=dict)


class Assembler(Generic[F]):
    """Collects fragments into complete messages; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL_S,
        max_pending: int = DEFAULT_MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_pending < 1:
            raise ValueError("ttl must be positive and max_pending at least 1")
        self.ttl = ttl
        self.max_pending = max_pending
        self._clock = clock
        # Insertion order is start order, so the oldest group is always first: expiry and eviction
        # only ever look at the front.
        self._groups: OrderedDict[GroupKey, _Group[F]] = OrderedDict()
        #: Running totals, for metrics.
        self.expired = 0
        self.evicted = 0

    def __len__(self) -> int:
        """Number of incomplete groups held."""
        return len(self._groups)

    def add(self, fragment: F, *, stream: Hashable = "", now: float | None = None) -> list[Event[F]]:
        """Add one fragment. ``stream`` separates sources whose sequence ids are independent."""
        now = self._clock() if now is None else now
        events: list[Event[F]] = list(self.expire(now))
        count, number = fragment.fragment_count, fragment.fragment_number
        if not 1 <= number <= count <= MAX_FRAGMENTS:
            events.append(Dropped("invalid", (fragment,)))
            return events
        if count == 1:
            events.append(Completed((fragment,)))
            return events

        key: GroupKey = (stream, fragment.channel, fragment.sequence_id, count)
        group = self._groups.get(key)
        if group is not None and number in group.parts:
            if group.parts[number].payload == fragment.payload:
                events.append(Dropped("duplicate", (fragment,)))
                return events
            del self._groups[key]
            events.append(Dropped("superseded", _ordered(group)))
            group = None
        if group is None:
            if len(self._groups) >= self.max_pending:
                _, oldest = self._groups.popitem(last=False)
                self.evicted += 1
                events.append(Dropped("evicted", _ordered(oldest)))
            group = self._groups[key] = _Group(started=now)

        group.parts[number] = fragment
        if len(group.parts) == count:
            del self._groups[key]
            events.append(Completed(_ordered(group)))
        return events

    def expire(self, now: float | None = None) -> list[Dropped[F]]:
        """Drop the groups older than the TTL. `add` calls this; call it on idle feeds too."""
        if not self._groups:
            return []
        now = self._clock() if now is None else now
        dropped: list[Dropped[F]] = []
        while self._groups:
            key, oldest = next(iter(self._groups.items()))
            if now - oldest.started <= self.ttl:
                break
            del self._groups[key]
            self.expired += 1
            dropped.append(Dropped("expired", _ordered(oldest)))
        return dropped

    def flush(self) -> list[Dropped[F]]:
        """Give up on every pending group (end of input), oldest first."""
        dropped: list[Dropped[F]] = [Dropped("flushed", _ordered(g)) for g in self._groups.values()]
        self._groups.clear()
        return dropped


def _ordered(group: _Group[F]) -> tuple[F, ...]:
    return tuple(group.parts[n] for n in sorted(group.parts))
