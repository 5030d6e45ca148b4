"""Identity anomalies on the ingest path: a `RecordSink` that checks each record as it passes.

The ingest service hands every reader (NMEA feeds, the JT/T 808 server, the device feed) an
`AnomalySink` around the record store instead of the store itself, so none of them needs to know about
anomalies. Each record is put first — a distress report is never delayed by a check — then checked, and
the anomalies it reveals are put after it. The future returned is the record's own: an anomaly the
store refuses must not make a terminal resend its report. A check that fails is logged and the record
goes on, as a failing pipeline step does.

A record from a vessel the identity registry's cache knows — nearly every record of a running service —
is checked at once, with no query. The others (a vessel seen for the first time, a cache entry a minute
old) wait for a resolver task that asks the database about all of them in one query and then checks
them in the order they came; while an identity has records waiting, its later records wait behind them,
so each identity's reports are still checked in order. The reader is not held up by the database unless
`max_waiting` records wait (then `put` waits for the resolver, as the store's bounded queue does). The
records themselves are in the store already: at shutdown, or when the database cannot name the vessels,
only the checks of the waiting records are lost (logged), never a record.

`run_overdue_checks` is the periodic half: dark departures that only waiting reveals.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from ingest.pipeline import RecordSink
from tracking.anomalies import Subject

log = logging.getLogger(__name__)

Record = dict[str, Any]
Identity = tuple[str, str]

#: How often waiting-revealed anomalies are looked for; dark departures are counted in tens of minutes.
OVERDUE_INTERVAL_S = 60.0
#: Records waiting for their vessel beyond which `put` waits for the resolver.
MAX_WAITING = 10_000


class Detector(Protocol):
    """What the sink needs of `tracking.anomalies.AnomalyDetector`."""

    def subject(self, record: Record) -> Subject | None: ...

    def known_vessel(self, subject: Subject) -> int | None: ...

    async def resolve(self, subjects: Sequence[Subject]) -> list[int]: ...

    def detect_subject(self, subject: Subject, vessel_id: int) -> list[Record]: ...


class AnomalySink:
    def __init__(self, sink: RecordSink, detector: Detector, *, max_waiting: int = MAX_WAITING) -> None:
        self.sink = sink
        self.detector = detector
        self.max_waiting = max_waiting
        self._waiting: list[Subject] = []  # subjects whose vessel the cache did not know, in arrival order
        self._held: Counter[Identity] = Counter()  # their identities, with how many records wait
        self._resolver: asyncio.Task[None] | None = None
        self._resolved = asyncio.Event()  # a resolver round ended

    async def put(self, record: Record) -> asyncio.Future[None]:
        durable = await self.sink.put(record)
        try:
            subject = self.detector.subject(record)
            if subject is None:
                return durable
            if not self._held or subject.identity not in self._held:
                vessel_id = self.detector.known_vessel(subject)
                if vessel_id is not None:
                    await self._put_anomalies(self.detector.detect_subject(subject, vessel_id))
                    return durable
            await self._hold(subject)
        except Exception:
            log.exception("identity anomaly check failed; record stored unchecked: %.200r", record)
        return durable

    @property
    def waiting(self) -> int:
        """Records waiting for the database to name their vessel before they are checked."""
        return len(self._waiting)

    async def settle(self) -> None:
        """Wait until every record put so far has been checked (and its anomalies put)."""
        while self._resolver is not None:
            await asyncio.wait({self._resolver})

    async def _hold(self, subject: Subject) -> None:
        while len(self._waiting) >= self.max_waiting and self._resolver is not None:
            self._resolved.clear()
            await self._resolved.wait()
        self._waiting.append(subject)
        self._held[subject.identity] += 1
        if self._resolver is None:
            self._resolver = asyncio.create_task(self._resolve_waiting(), name="anomaly-resolver")

    async def _resolve_waiting(self) -> None:
        try:
            while self._waiting:
                subjects, self._waiting = self._waiting, []
                try:
                    vessels = await self.detector.resolve(subjects)
                except Exception:
                    log.exception(
                        "identity anomaly check failed; %d record(s) stored unchecked", len(subjects)
                    )
                    vessels = []
                # No suspension from here until every subject of the round is checked: a record put
                # meanwhile would find its identity released and be checked before an earlier one.
                found: list[Record] = []
                for subject, vessel_id in zip(subjects, vessels, strict=False):
                    try:
                        found += self.detector.detect_subject(subject, vessel_id)
                    except Exception:
                        log.exception("identity anomaly check failed; record stored unchecked")
                self._held.subtract(subject.identity for subject in subjects)
                self._held += Counter()  # drops the identities no record waits for any more
                self._resolved.set()
                try:
                    await self._put_anomalies(found)
                except Exception:
                    log.exception("%d identity anomaly record(s) could not be put", len(found))
        finally:
            self._resolver = None
            self._resolved.set()

    async def _put_anomalies(self, anomalies: list[Record]) -> None:
        for anomaly in anomalies:
            log.info("identity anomaly %s: vessel %s", anomaly.get("anomaly"), anomaly.get("vessel_id"))
            await self.sink.put(anomaly)


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
