"""Reassembly of messages split into packets (body property bit 13: total and index in the header).

Pending messages are keyed by (terminal, message id, total). Memory is bounded: at most
``max_pending`` messages are in progress (the least recently touched is dropped to make room), a
message may have at most ``max_packets`` packets, and a message not completed within ``ttl`` seconds
of its last packet is dropped. The clock is injected so that tests (and replays) control time.
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
        max_packets: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_pending = max_pending
        self.max_packets = max_packets
        self.clock = clock
        self.dropped = 0  # messages abandoned (expired or evicted), for metrics
        self._pending: OrderedDict[Key, _Pending] = OrderedDict()

    @property
    def pending(self) -> int:
        return len(self._pending)

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
            while len(self._pending) >= self.max_pending:
                self._pending.popitem(last=False)
                self.dropped += 1
            entry = _Pending(first=frame, touched=now)
        entry.parts[index] = frame  # a retransmitted packet replaces the earlier copy
        entry.touched = now
        if index == 1:
            entry.first = frame
        if len(entry.parts) < total:
            self._pending[key] = entry  # re-inserted last: the OrderedDict stays in touch order
            return None
        parts = [entry.parts[i] for i in range(1, total + 1)]
        body = b"".join(part.body for part in parts)
        whole = replace(entry.first.header, body_length=len(body), packet_total=None, packet_index=None)
        return Frame(whole, body, all(part.checksum_ok for part in parts))

    def expire(self, now: float | None = None) -> int:
        """Drop messages idle for longer than the ttl; returns how many were dropped."""
        now = self.clock() if now is None else now
        dropped = 0
        while self._pending:
            key, entry = next(iter(self._pending.items()))
            if now - entry.touched <= self.ttl:
                break
            del self._pending[key]
            dropped += 1
        self.dropped += dropped
        return dropped
