"""One record per transmission, however many receivers heard it.

Coastal networks overlap: the same AIS sentence arrives from two or three receivers within a second or
so, with different tag blocks, trailers and receive times. Records are compared on what the vessel sent
(every field but the receiver's own), within a window. The first copy goes on at once — waiting to
count receivers would delay a distress alert — and later copies only raise its `receivers` count, which
the store reads when it writes the row (so the count covers copies heard before the flush).

The window is measured in message time: a record's ``ts`` (the tag block ``c:`` or ``$PGHP`` time, or
whatever time the decoder gave it) where it has one, the wall clock only where it has none. A recording
replayed faster than real time thus keeps a vessel's legitimate repeats (an anchored ship sends the
same report every few minutes), which a window on the wall clock would swallow.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

# Fields a receiver adds or sees differently; the rest is what the transmitter sent.
RECEIVER_FIELDS = frozenset({"ts", "station", "channel", "received_at", "feed", "receivers", "peer"})


def transmission_key(record: dict[str, Any]) -> bytes:
    sent = {key: value for key, value in record.items() if key not in RECEIVER_FIELDS}
    encoded = orjson.dumps(sent, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.blake2b(encoded, digest_size=16).digest()


class Deduplicator:
    """Remembers recent transmissions for `window_s` seconds of message time, at most `max_entries`.

    `clock` (seconds since the epoch, like the records' times) stands in for records without a time.
    """

    def __init__(
        self, window_s: float, *, max_entries: int = 200_000, clock: Callable[[], float] = time.time
    ) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self.clock = clock
        self._seen: OrderedDict[bytes, tuple[float, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def first_copy(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """None when `record` is new (it is remembered); else the first copy, with `receivers` raised."""
        if self.window_s <= 0:
            return None
        now = message_time(record)
        if now is None:
            now = self.clock()
        self._expire(now)
        key = transmission_key(record)
        seen = self._seen.get(key)
        if seen is not None:
            # Receivers' clocks differ, and merged feeds are not quite in time order: a copy may be a
            # little older than the first one heard.
            if abs(now - seen[0]) < self.window_s:
                original = seen[1]
                original["receivers"] = int(original.get("receivers", 1)) + 1
                return original
            del self._seen[key]
        record.setdefault("receivers", 1)
        self._seen[key] = (now, record)
        if len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return None

    def _expire(self, now: float) -> None:
        # Entries are in arrival order, which is close to time order: the expired ones are at the front
        # (an entry held back behind a later one is judged by its time when it is looked up).
        while self._seen:
            first_seen, _ = next(iter(self._seen.values()))
            if now - first_seen < self.window_s:
                return
            self._seen.popitem(last=False)


def message_time(record: dict[str, Any]) -> float | None:
    """The record's ``ts`` (an aware datetime or ISO-8601 text) in seconds since the epoch; None if none."""
    ts = record.get("ts")
    if isinstance(ts, str):
        try:
            ts = datetime.fromisoformat(ts)
        except ValueError:
            return None
    if not isinstance(ts, datetime) or ts.tzinfo is None:
        return None
    return ts.timestamp()
