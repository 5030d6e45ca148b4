"""From received lines to stored records: decode, then a short list of ordered steps, then the store.

Each step is a small function of one record that returns it (possibly changed) or None to drop it. A
step that raises is logged and skipped for that record — the record still goes on through the other
steps and into the store, because losing a position over a bug in, say, enrichment would be worse.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.dedup import Deduplicator
from ingest.lines import RawLine
from ingest.metrics import DECODED, DUPLICATES, INVALID
from ingest.nmea_stream import NmeaDecoder
from seawatch.settings import IngestSettings
from tracking.rows import RejectedRecord

log = logging.getLogger(__name__)

Record = dict[str, Any]
Step = Callable[[Record], Record | None]

# Acknowledgements waiting for their records to become durable, per feed; reading pauses beyond this.
MAX_PENDING_ACKS = 1000
# Peers (connections) whose decoding state is kept; the least recently heard is forgotten first.
MAX_PEERS = 1024


class RecordSink(Protocol):
    async def put(self, record: Record) -> asyncio.Future[None]:
        """Queue a record; the future resolves when it is durable (committed or spooled)."""
        ...


@dataclass(frozen=True)
class NamedStep:
    name: str
    run: Step


class Pipeline:
    def __init__(self, steps: Sequence[NamedStep]) -> None:
        self.steps = list(steps)

    def __call__(self, record: Record) -> Record | None:
        for step in self.steps:
            try:
                result = step.run(record)
            except Exception:
                log.exception(
                    "pipeline step %s failed; record passed on unchanged: %.200r", step.name, record
                )
                continue
            if result is None:
                return None
            record = result
        return record


def drop_duplicates(dedup: Deduplicator, feed: str) -> Step:
    def step(record: Record) -> Record | None:
        if dedup.first_copy(record) is None:
            return record
        DUPLICATES.labels(feed).inc()
        return None

    return step


def ais_steps(dedup: Deduplicator, feed: str) -> list[NamedStep]:
    return [NamedStep("dedup", drop_duplicates(dedup, feed))]


class NmeaFeedHandler:
    """Turns one feed's lines into stored records: a decoder per peer, the steps, then the sink."""

    def __init__(
        self,
        feed: str,
        settings: IngestSettings,
        pipeline: Pipeline,
        sink: RecordSink,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.feed = feed
        self.settings = settings
        self.pipeline = pipeline
        self.sink = sink
        self.clock = clock
        # Peers come and go (a receiver reconnects from a new port): keep the most recent ones only.
        self._decoders: OrderedDict[str | None, NmeaDecoder] = OrderedDict()
        # Per peer, the future of the last record put. The store makes records durable in the order they
        # were put, so once this one is durable every earlier one is too: an MQTT message's ack rides on
        # its last line but covers the records of all its lines.
        self._last_put: OrderedDict[str | None, asyncio.Future[None]] = OrderedDict()
        self._acks: set[asyncio.Task[None]] = set()
        self._ack_slots = asyncio.Semaphore(MAX_PENDING_ACKS)
        self._decoded = DECODED.labels(feed)  # looked up once: `labels` takes a lock on every call

    def _decoder(self, peer: str | None) -> NmeaDecoder:
        # Fragments of a multi-sentence message come over one connection; keep peers apart.
        decoder = self._decoders.get(peer)
        if decoder is not None:
            self._decoders.move_to_end(peer)
        else:
            options: dict[str, Any] = {"clock": self.clock} if self.clock is not None else {}
            decoder = NmeaDecoder(
                keep_bad_checksum=self.settings.keep_bad_checksums,
                ttl=self.settings.fragment_ttl_s,
                max_pending=self.settings.max_pending_fragments,
                max_line=self.settings.max_line_bytes,
                **options,
            )
            self._decoders[peer] = decoder
            if len(self._decoders) > MAX_PEERS:
                self._decoders.popitem(last=False)
        return decoder

    async def handle(self, line: RawLine) -> None:
        for item in self._decoder(line.peer).feed(line.data, received_at=line.received_at):
            if "error" in item:
                INVALID.labels(self.feed, str(item["error"])).inc()
                log.debug("feed %s: %s: %s", self.feed, item["message"], item["input"])
                continue
            self._decoded.inc()
            record: Record = dict(item)
            record["feed"] = self.feed
            record["received_at"] = line.received_at
            kept = self.pipeline(record)
            if kept is not None:
                self._last_put[line.peer] = await self.sink.put(kept)
                self._last_put.move_to_end(line.peer)
                if len(self._last_put) > MAX_PEERS:
                    self._last_put.popitem(last=False)
        if line.ack is not None:
            last = self._last_put.pop(line.peer, None)
            durable = [] if last is None else [last]
            await self._ack_slots.acquire()
            task = asyncio.create_task(self._ack_when_durable(durable, line.ack))
            self._acks.add(task)
            task.add_done_callback(self._acks.discard)

    async def _ack_when_durable(
        self, durable: list[asyncio.Future[None]], ack: Callable[[], Awaitable[None]]
    ) -> None:
        try:
            results = await asyncio.gather(*durable, return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            if any(not isinstance(r, RejectedRecord) for r in failed):
                # Not acknowledged: the broker delivers the message again.
                log.error("feed %s: record not stored, message left unacknowledged: %s", self.feed, failed[0])
                return
            if failed:
                # Refused for good (the store logs and counts it): redelivery could never help.
                log.warning("feed %s: record refused by the store: %s", self.feed, failed[0])
            await ack()
        except Exception:
            log.exception("feed %s: acknowledging a message failed", self.feed)
        finally:
            self._ack_slots.release()

    async def drain(self) -> None:
        """Wait for the acknowledgements still pending (at shutdown)."""
        if self._acks:
            await asyncio.wait(set(self._acks), timeout=5)
