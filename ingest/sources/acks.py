"""MQTT acknowledgements held until the consumer says a message's records are durable.

One `AckQueue` per broker connection. PUBACKs are released in the order the messages arrived (MQTT
3.1.1 §4.6 requires it), so acknowledging a message also means every earlier one was acknowledged.
Message ids belong to their connection: once it is closed, acks do nothing, and the broker redelivers
the unacknowledged messages on the next connection of the persistent session.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

Ack = Callable[[], Awaitable[None]]


class Acker(Protocol):
    """The part of paho-mqtt's client used here (`manual_ack` must be on)."""

    def ack(self, mid: int, qos: int) -> object: ...


@dataclass(slots=True)
class _Delivery:
    mid: int
    qos: int
    since: float
    done: bool = False


class AckQueue:
    def __init__(self, acker: Acker, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._acker = acker
        self._monotonic = monotonic
        self._waiting: deque[_Delivery] = deque()
        self._open = True

    def __len__(self) -> int:
        return len(self._waiting)

    def track(self, mid: int, qos: int) -> Ack:
        """Register a received message; the returned coroutine function acknowledges it (idempotent)."""
        delivery = _Delivery(mid, qos, self._monotonic())
        self._waiting.append(delivery)

        async def ack() -> None:
            delivery.done = True
            self._release()

        return ack

    def oldest_wait(self) -> float:
        """Seconds the oldest unacknowledged message has waited (0 when none is waiting)."""
        if not self._waiting:
            return 0.0
        return self._monotonic() - self._waiting[0].since

    def close(self) -> None:
        self._open = False
        self._waiting.clear()

    def _release(self) -> None:
        while self._open and self._waiting and self._waiting[0].done:
            delivery = self._waiting.popleft()
            self._acker.ack(delivery.mid, delivery.qos)
