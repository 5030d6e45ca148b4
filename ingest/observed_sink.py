"""A `RecordSink` that also shows every record to an observer — the alert engine — after queuing it.

The record is put into the store first, so nothing waits on the rules to be kept; then the observer
gets it at once, without waiting for the database, so an alert never waits for a batch to commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ingest.pipeline import RecordSink

log = logging.getLogger(__name__)

Record = dict[str, Any]
Observer = Callable[[Record], Awaitable[None]]


class ObservedSink:
    def __init__(self, sink: RecordSink, observe: Observer) -> None:
        self.sink = sink
        self.observe = observe

    async def put(self, record: Record) -> asyncio.Future[None]:
        durable = await self.sink.put(record)
        try:
            await self.observe(record)
        except Exception:
            log.exception("observer failed on a record; it is stored all the same")
        return durable
