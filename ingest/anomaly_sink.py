"""Identity anomalies on the ingest path: a `RecordSink` that checks each record as it passes.

The ingest service hands every reader (NMEA feeds, the JT/T 808 server, the device feed) an
`AnomalySink` around the record store instead of the store itself, so none of them needs to know about
anomalies. Each record is put first — a distress report is never delayed by a check — then checked, and
the anomalies it reveals are put after it. The future returned is the record's own: an anomaly the
store refuses must not make a terminal resend its report. A check that fails is logged and the record
goes on, as a failing pipeline step does.

`run_overdue_checks` is the periodic half: dark departures that only waiting reveals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ingest.pipeline import RecordSink

log = logging.getLogger(__name__)

Record = dict[str, Any]
Check = Callable[[Record], Awaitable[list[Record]]]

#: How often waiting-revealed anomalies are looked for; dark departures are counted in tens of minutes.
OVERDUE_INTERVAL_S = 60.0


class AnomalySink:
    def __init__(self, sink: RecordSink, check: Check) -> None:
        self.sink = sink
        self.check = check

    async def put(self, record: Record) -> asyncio.Future[None]:
        durable = await self.sink.put(record)
        try:
            anomalies = await self.check(record)
        except Exception:
            log.exception("identity anomaly check failed; record stored unchecked: %.200r", record)
            return durable
        for anomaly in anomalies:
            log.info("identity anomaly %s: vessel %s", anomaly.get("anomaly"), anomaly.get("vessel_id"))
            await self.sink.put(anomaly)
        return durable


async def run_overdue_checks(
    overdue: Callable[[], list[Record]],
    sink: RecordSink,
    *,
    interval_s: float = OVERDUE_INTERVAL_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Put what `overdue()` finds into the sink every `interval_s`, until cancelled."""
    while True:
        await sleep(interval_s)
        for anomaly in overdue():
            log.info("identity anomaly %s: vessel %s", anomaly.get("anomaly"), anomaly.get("vessel_id"))
            await sink.put(anomaly)
