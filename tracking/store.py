"""The record store: decoded records in, batches committed to the database — or spooled to disk.

`put` queues a record and returns a future that resolves once the record is durable: committed, or
written to the on-disk spool when the database is away. Sources that acknowledge (MQTT QoS 1) wait for
it; the queue is bounded, so a store that cannot keep up slows its sources instead of dropping records.

Inside `run`, three tasks:

- the collector cuts the queue into batches of `batch_max_rows`, or whatever arrived within
  `flush_interval_ms` of a batch's first record;
- the writer commits each batch (`tracking.writer`), or spools it if that fails — and spools every
  batch while the spool is not empty, so batches reach the database in the order they were made;
- the drainer, every `retry_interval_s` while there is a spool, commits spooled batches oldest first
  and deletes each file after its commit (a batch committed but not deleted is skipped on replay).

When the spool is full the writer holds its batch until the drainer makes room, and the queues behind
it fill up: `put` waits. On cancellation `run` writes everything it holds — to the database, else to
the spool even past its limit, since losing records is worse than a large spool — and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from prometheus_client import Counter

from ingest.metrics import QUEUE_DEPTH
from seawatch.settings import StoreSettings
from tracking.db import Pool
from tracking.identity import IdentityRegistry
from tracking.rows import RejectedRecord, Row, decode_rows, encode_rows, to_row
from tracking.spool import Spool
from tracking.writer import WriteResult, write_batch

log = logging.getLogger(__name__)

REJECTED = Counter("seawatch_store_rejected", "Records the store could not write", ["reason"])

Record = dict[str, Any]
Clock = Callable[[], float]

# Sealed batches waiting for the writer; beyond this the collector stops taking records.
MAX_SEALED = 2


@dataclass(slots=True)
class _Item:
    record: Record
    future: asyncio.Future[None]
    queued_at: float  # by the store's clock: a batch is due `flush_interval_ms` after its oldest record


@dataclass(slots=True)
class _Batch:
    id: uuid.UUID
    rows: list[Row]
    futures: list[asyncio.Future[None]]


class RecordStore:
    def __init__(
        self,
        pool: Pool,
        settings: StoreSettings,
        spool_dir: Path,
        *,
        clock: Clock = time.monotonic,
        queue_max: int = 10_000,
        registry: IdentityRegistry | None = None,
        final_flush_timeout_s: float = 3.0,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.spool_dir = spool_dir
        self.clock = clock
        self.queue_max = queue_max
        self.registry = registry if registry is not None else IdentityRegistry(pool)
        self.final_flush_timeout_s = final_flush_timeout_s
        self.spool: Spool | None = None  # open while `run` runs
        self._items: deque[_Item] = deque()
        self._current: list[_Item] = []  # the batch being collected
        self._sealed: deque[_Batch] = deque()  # the head stays until it is durable
        self._inflight: asyncio.Task[bool] | None = None
        self._arrived = asyncio.Event()  # records were queued
        self._room = asyncio.Event()  # the record queue has room
        self._sealed_changed = asyncio.Event()
        self._spool_changed = asyncio.Event()
        self._pending = 0  # records put and not yet durable or rejected
        # Read when scraped: nothing to update per record. The newest store of the process is shown.
        QUEUE_DEPTH.labels("store").set_function(_pending_of(weakref.ref(self)))
        self._database_away = False
        self._stopped = False

    # --- the public side ------------------------------------------------------------------------

    async def put(self, record: Record) -> asyncio.Future[None]:
        """Queue `record` (waiting while the queue is full); the future resolves when it is durable,
        or carries a `RejectedRecord` when it can never be stored."""
        while len(self._items) >= self.queue_max and not self._stopped:
            self._room.clear()
            await self._room.wait()
        if self._stopped:
            raise RuntimeError("the record store has stopped")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items.append(_Item(record, future, self.clock()))
        self._pending += 1
        self._arrived.set()
        return future

    @property
    def pending(self) -> int:
        """Records put and not yet durable."""
        return self._pending

    async def run(self) -> None:
        """Run until cancelled; then write what is held and return (re-raising the cancellation)."""
        # Opened here, not in a thread: a cancellation while a thread opened it would leave the
        # directory locked by a Spool nobody holds. The scan is one listing of the directory.
        self.spool = Spool(self.spool_dir, self.settings.spool_max_bytes)
        self._stopped = False
        tasks = [
            asyncio.create_task(self._collect(), name="store-collect"),
            asyncio.create_task(self._write_loop(), name="store-write"),
            asyncio.create_task(self._drain_loop(), name="store-drain"),
        ]
        cancelled = False
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                # After a crash (not a cancellation) `put` keeps queueing for the supervisor's restart.
                await self._final_flush(stop=cancelled)
            finally:
                self.spool.close()
                self.spool = None

    # --- collecting -----------------------------------------------------------------------------

    async def _collect(self) -> None:
        interval = self.settings.flush_interval_ms / 1000
        while True:
            while not self._items or len(self._sealed) >= MAX_SEALED:
                await self._wait(self._arrived if not self._items else self._sealed_changed)
            deadline = self._items[0].queued_at + interval
            while True:
                self._take()
                if len(self._current) >= self.settings.batch_max_rows:
                    break
                remaining = deadline - self.clock()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    async with asyncio.timeout(remaining):
                        await self._arrived.wait()
                except TimeoutError:
                    self._take()
                    break
            self._seal()

    def _take(self) -> None:
        while self._items and len(self._current) < self.settings.batch_max_rows:
            self._current.append(self._items.popleft())
        self._room.set()

    def _seal(self) -> None:
        """Turn the collected records into rows (now: `receivers` counts copies heard until here)."""
        items, self._current = self._current, []
        now = datetime.now(UTC)
        batch = _Batch(uuid.uuid4(), [], [])
        for item in items:
            try:
                row = to_row(item.record, now=now)
            except RejectedRecord as exc:
                self._reject(item.future, exc, item.record)
                continue
            batch.rows.append(row)
            batch.futures.append(item.future)
        if batch.rows:
            self._sealed.append(batch)
            self._sealed_changed.set()

    def _reject(self, future: asyncio.Future[None], exc: RejectedRecord, what: object) -> None:
        REJECTED.labels(exc.reason).inc()
        log.warning("record not stored (%s): %s: %.300r", exc.reason, exc, what)
        self._settle(future, exc)

    def _settle(self, future: asyncio.Future[None], exc: BaseException | None = None) -> None:
        """Resolve one record's future."""
        self._pending -= 1
        if future.done():  # cancelled by whoever put the record
            return
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)
            # Marks it retrieved: callers that do not wait for durability would otherwise get an
            # "exception was never retrieved" log for a rejection that is already logged and counted.
            future.exception()

    # --- writing --------------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            while not self._sealed:
                await self._wait(self._sealed_changed)
            batch = self._sealed[0]
            self._inflight = asyncio.create_task(self._deliver(batch))
            # Shielded: a cancellation must not cut a commit or a spool write in half; the final flush
            # waits for it instead.
            done = await asyncio.shield(self._inflight)
            self._inflight = None
            if done:
                self._sealed.popleft()
                self._sealed_changed.set()
            else:
                # Spool full and the database away: hold the batch; upstream queues fill and `put` waits.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.retry_interval_s):
                        await self._wait(self._spool_changed)

    async def _deliver(self, batch: _Batch, *, final: bool = False) -> bool:
        """Commit the batch, or spool it; False when neither is possible now."""
        spool = self._spool()
        if not len(spool):
            try:
                if final:
                    async with asyncio.timeout(self.final_flush_timeout_s):
                        result = await self._commit(batch.id, batch.rows)
                else:
                    result = await self._commit(batch.id, batch.rows)
            except Exception as exc:
                self._note_database_away(exc)
            else:
                self._finish(batch, result)
                return True
        if spool.full and not final:
            return False
        payload = encode_rows(batch.rows)
        await asyncio.to_thread(spool.append, batch.id, payload)
        for future in batch.futures:
            self._settle(future)
        self._spool_changed.set()
        return True

    async def _commit(self, batch_id: uuid.UUID, rows: list[Row]) -> WriteResult:
        async with self.pool.connection() as conn:
            result = await write_batch(conn, self.registry, batch_id, rows)
        if self._database_away:
            self._database_away = False
            log.info("the database is back")
        return result

    def _finish(self, batch: _Batch, result: WriteResult) -> None:
        refused = dict(result.rejected)
        for index, future in enumerate(batch.futures):
            problem = refused.get(index)
            if problem is None:
                self._settle(future)
            else:
                self._reject(future, RejectedRecord("refused", str(problem)), batch.rows[index])

    def _note_database_away(self, exc: BaseException) -> None:
        # Logged once per outage: the drainer retries every `retry_interval_s` and would flood the log.
        if self._database_away:
            log.debug("the database is still away: %s", exc)
            return
        self._database_away = True
        if isinstance(exc, psycopg.OperationalError | OSError | TimeoutError):
            log.warning("the database is away, spooling batches: %s: %s", type(exc).__name__, exc)
        else:
            # Not a connection problem: a bug or a schema out of date. Spool anyway (nothing is lost,
            # and the drainer retries), but show what it was.
            log.error("writing a batch failed, spooling batches until it works: %s", exc, exc_info=exc)

    # --- draining -------------------------------------------------------------------------------

    async def _drain_loop(self) -> None:
        while True:
            spool = self._spool()
            if not len(spool):
                await self._wait(self._spool_changed)
                continue
            if not await self._drain():
                await asyncio.sleep(self.settings.retry_interval_s)

    async def _drain(self) -> bool:
        """Commit spooled batches oldest first until the spool is empty (True) or a commit fails."""
        spool = self._spool()
        drained = 0
        while (batch_id := spool.oldest()) is not None:
            payload = await asyncio.to_thread(spool.read, batch_id)
            if payload is None:
                continue  # corrupt: moved aside by the spool
            try:
                rows = decode_rows(payload)
            except ValueError as exc:
                await asyncio.to_thread(spool.set_aside, batch_id, str(exc))
                continue
            try:
                result = await self._commit(batch_id, rows)
            except Exception as exc:
                self._note_database_away(exc)
                return False
            if result.rejected:
                kept = encode_rows([rows[index] for index, _ in result.rejected])
                reason = "; ".join(sorted({str(exc) for _, exc in result.rejected}))
                await asyncio.to_thread(spool.keep_rejected, batch_id, kept, reason)
            await asyncio.to_thread(spool.remove, batch_id)
            drained += 1
            self._spool_changed.set()
        if drained:
            log.info("drained %d spooled batch(es) into the database", drained)
        return True

    # --- stopping -------------------------------------------------------------------------------

    async def _final_flush(self, *, stop: bool) -> None:
        self._stopped = stop
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            # The writer's last commit or spool write: let it finish; if it did not, the batch is
            # still at the head of `_sealed` and is written below (its id makes a repeat harmless).
            await asyncio.wait({inflight}, timeout=self.final_flush_timeout_s)
            if not inflight.done():
                inflight.cancel()
                await asyncio.gather(inflight, return_exceptions=True)
            elif not inflight.cancelled() and inflight.exception() is not None:
                log.warning("the last batch write failed, writing it again: %s", inflight.exception())
            elif not inflight.cancelled() and inflight.result():
                self._sealed.popleft()
        while self._items or self._current:
            self._take()
            self._seal()
        while self._sealed:
            batch = self._sealed.popleft()
            try:
                await self._deliver(batch, final=True)
            except Exception as exc:
                log.exception("could not store %d record(s) at shutdown", len(batch.futures))
                for future in batch.futures:
                    self._settle(future, exc)

    # --- helpers --------------------------------------------------------------------------------

    def _spool(self) -> Spool:
        if self.spool is None:
            raise RuntimeError("the record store is not running")
        return self.spool

    @staticmethod
    async def _wait(event: asyncio.Event) -> None:
        await event.wait()
        event.clear()


def _pending_of(store: weakref.ref[RecordStore]) -> Callable[[], float]:
    def pending() -> float:
        alive = store()
        return 0.0 if alive is None else float(alive.pending)

    return pending
