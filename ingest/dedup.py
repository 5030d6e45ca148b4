"""One record per transmission, however many receivers heard it.

Coastal networks overlap: the same AIS sentence arrives from two or three receivers within a second or
so, with different tag blocks, trailers and receive times. Records are compared on what the vessel sent
(every field but the receiver's own), within a window. The first copy goes on at once — waiting to
count receivers would delay a distress alert — and later copies only raise its `receivers` count, which
the store reads when it writes the row (so the count covers copies heard before the flush).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

# Fields a receiver adds or sees differently; the rest is what the transmitter sent.
RECEIVER_FIELDS = frozenset({"ts", "station", "channel", "received_at", "feed", "receivers", "peer"})


def transmission_key(record: dict[str, Any]) -> bytes:
    sent = {key: value for key, value in record.items() if key not in RECEIVER_FIELDS}
    encoded = orjson.dumps(sent, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.blake2b(encoded, digest_size=16).digest()


class Deduplicator:
    """Remembers recent transmissions for `window_s` seconds, at most `max_entries` of them."""

    def __init__(
        self, window_s: float, *, max_entries: int = 200_000, clock: Callable[[], float] = time.monotonic
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
        now = self.clock()
        self._expire(now)
        key = transmission_key(record)
        seen = self._seen.get(key)
        if seen is not None:
            original = seen[1]
            original["receivers"] = int(original.get("receivers", 1)) + 1
            return original
        record.setdefault("receivers", 1)
        self._seen[key] = (now, record)
        if len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return None

    def _expire(self, now: float) -> None:
        # Entries are in arrival order, so the expired ones are all at the front.
        while self._seen:
            first_seen, _ = next(iter(self._seen.values()))
            if now - first_seen < self.window_s:
                return
            self._seen.popitem(last=False)
