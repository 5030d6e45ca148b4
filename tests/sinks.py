"""Record sinks for tests: stand-ins for the store where a test looks at what a component put."""

import asyncio
from typing import Any


class DurableSink:
    """Keeps every record put; each is at once "durable" (its future already settled)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def put(self, record: dict[str, Any]) -> asyncio.Future[None]:
        self.records.append(record)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class PendingSink:
    """Keeps every record put and its future, which the test settles (or leaves pending)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.futures: list[asyncio.Future[None]] = []

    async def put(self, record: dict[str, Any]) -> asyncio.Future[None]:
        self.records.append(record)
        self.futures.append(asyncio.get_running_loop().create_future())
        return self.futures[-1]
