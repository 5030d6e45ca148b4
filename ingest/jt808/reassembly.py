"""Reassembly of messages split into packets (body property bit 13: total and index in the header).

Pending messages are keyed by (terminal, message id, total). Memory is bounded: at most
``max_pending`` messages and ``max_stored_packets`` packets (about 1 KiB each) are held, the least
recently touched message being dropped to make room; a message may announce at most ``max_packets``
packets; and a message not completed within ``ttl`` seconds of its last packet is dropped. The
clock is injected so that tests (and replays) control time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ingest.jt808.errors import Jt808Error
from ingest.jt808.packet import Frame

Key = tuple[str, int, int]


@dataclass
class _Pending:
    first: Frame
    touched: float
    parts: dict[int, Frame] = field(default_factory=dict)


class Reassembler:
    def __init__(
        self,
        *,
        ttl: float = 120.0,
        max_pending: int = 256,
        max_packets: int = 1024,
        max_stored_packets: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_packets > max_stored_packets:
            raise ValueError("max_packets cannot exceed max_stored_packets")
        self.ttl = ttl
        self.max_pending = max_pending
        self.max_packets = max_packets
        self.max_stored_packets = max_stored_packets
        self.clock = clock
        self.dropped = 0  # messages abandoned (expired or evicted), for metrics
        self._pending: OrderedDict[Key, _Pending] = OrderedDict()
        self._stored = 0  # packets held across all pending messages

    @property
    def pending(self) -> int:
        """Messages in progress."""
        return len(self._pending)

    @property
    def stored_packets(self) -> int:
        """Packets held for messages in progress."""
        return self._stored

    def add(self, frame: Frame) -> Frame | None:
        """Store one packet; returns the whole message once every packet has arrived.

        A frame that is not a subpackage is returned unchanged. The whole message keeps the first
        packet's header (its serial), has ``checksum_ok`` only if every packet had, and no packet
        numbering. Raises ``Jt808Error("subpackage")`` for impossible numbering.
        """
        head = frame.header
        if head.packet_total is None or head.packet_index is None:
            return frame
        total, index = head.packet_total, head.packet_index
        if not 1 <= index <= total:
            raise Jt808Error("subpackage", f"packet {index} of {total}")
        if total > self.max_packets:
            raise Jt808Error("subpackage", f"{total} packets, more than the limit of {self.max_packets}")
        now = self.clock()
        self.expire(now)
        key = (head.terminal, head.msg_id, total)
        entry = self._pending.pop(key, None)
        if entry is None:
            entry = _Pending(first=frame, touched=now)
            while self._pending and len(self._pending) >= self.max_pending:
                self._evict_oldest()
        if index not in entry.parts:
            self._stored += 1
        entry.parts[index] = frame  # a retransmitted packet replaces the earlier copy
        entry.touched = now
        if index == 1:
            entry.first = frame
        while self._pending and self._stored > self.max_stored_packets:  # ``entry`` is not among them
            self._evict_oldest()
        if len(entry.parts) < total:
            self._pending[key] = entry  # re-inserted last: the OrderedDict stays in touch order
            return None
        self._stored -= len(entry.parts)
        parts = [entry.parts[i] for i in range(1, total + 1)]
        body = b"".join(part.body for part in parts)
        whole = replace(entry.first.header, body_length=len(body), packet_total=None, packet_index=None)
        return Frame(whole, body, all(part.checksum_ok for part in parts))

    def _evict_oldest(self) -> None:
        _, entry = self._pending.popitem(last=False)
        self._stored -= len(entry.parts)
        self.dropped += 1

    def expire(self, now: float | None = None) -> int:
        """Drop messages idle for longer than the ttl; returns how many were dropped."""
        now = self.clock() if now is None else now
        dropped = 0
        while self._pending:
            key, entry = next(iter(self._pending.items()))
            if now - entry.touched <= self.ttl:
                break
            del self._pending[key]
            self._stored -= len(entry.parts)
            dropped += 1
        self.dropped += dropped
        return dropped
