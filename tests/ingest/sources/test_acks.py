"""`AckQueue`: PUBACKs in arrival order, once each, and never on a closed connection."""

from __future__ import annotations

from ingest.sources.acks import AckQueue


class Recorder:
    """Stands in for paho's client: records the PUBACKs it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []

    def ack(self, mid: int, qos: int) -> None:
        self.sent.append((mid, qos))


async def test_acks_go_out_in_arrival_order() -> None:
    paho = Recorder()
    queue = AckQueue(paho)
    first, second, third = (queue.track(mid, 1) for mid in (7, 8, 9))
    await third()
    await second()
    assert paho.sent == []  # the first message is not durable yet
    await first()
    assert paho.sent == [(7, 1), (8, 1), (9, 1)]
    assert len(queue) == 0


async def test_an_ack_is_sent_once() -> None:
    paho = Recorder()
    queue = AckQueue(paho)
    ack = queue.track(1, 1)
    await ack()
    await ack()
    assert paho.sent == [(1, 1)]


async def test_acks_after_the_connection_closed_do_nothing() -> None:
    paho = Recorder()
    queue = AckQueue(paho)
    ack = queue.track(1, 1)
    queue.close()
    await ack()
    assert paho.sent == []


def test_how_long_the_oldest_message_has_waited() -> None:
    now = [100.0]
    queue = AckQueue(Recorder(), monotonic=lambda: now[0])
    assert queue.oldest_wait() == 0.0
    queue.track(1, 1)
    now[0] = 101.0
    queue.track(2, 1)
    now[0] = 103.5
    assert queue.oldest_wait() == 3.5
