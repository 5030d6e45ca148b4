"""The alert engine: records in, rules run, alerts persisted, then delivered.

For each record: resolve its vessel, fold it into the live fleet, send the vessel's new state to the
position stream, run every rule. For each condition a rule returns: open or update its alert (committed
before anyone is told), or, for a condition that ended, resolve it once it has stayed gone for
`clear_after_s`. A tick once a second runs the rules that watch silence and the fleet as a whole,
applies due clears and re-sends unacknowledged critical alerts.

One failing rule is logged and skipped; the others still run. Repeats of an unchanged condition cost no
database work: the engine remembers what each open alert last said.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from prometheus_client import Counter, Gauge, Histogram

from alerts.model import NEVER_AUTO_CLEARED, SEVERITY_RANK, Alert, Condition, VesselRef
from alerts.rules.base import Rule, RuleContext
from alerts.store import AlertStore
from seawatch.settings import RulesSettings
from tracking.db import Pool
from tracking.fleet import Fleet, VesselState, load_fleet
from tracking.geo import haversine_m
from tracking.identity import IdentityRegistry
from tracking.rows import STATION_KINDS, RejectedRecord, identity_of
from tracking.zones import ZoneIndex, load_zone_index

log = logging.getLogger(__name__)

Record = dict[str, Any]
Clock = Callable[[], datetime]

RECORDS = Counter("seawatch_engine_records", "Records the alert engine evaluated")
RULE_ERRORS = Counter("seawatch_engine_rule_errors", "Rule calls that raised", ["rule"])
ALERT_CHANGES = Counter("seawatch_alerts_changes", "Alert changes delivered", ["kind", "severity"])
QUEUE = Gauge("seawatch_engine_queue_depth", "Records waiting for the alert engine")
COALESCED = Counter(
    "seawatch_engine_positions_coalesced",
    "Routine positions the engine skipped for a newer one of the same vessel",
)
LATENCY = Histogram(
    "seawatch_engine_record_seconds",
    "Time from a record's receipt to the end of its evaluation (alerts delivered)",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

# An unchanged condition is not written again; a changed one at most this often (severity rises at once).
MIN_UPDATE_INTERVAL_S = 10.0
# A position this much further on is a change worth an update.
MOVED_M = 50.0
TICK_S = 1.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class Deliverer(Protocol):
    def publish_alert(self, alert: Alert) -> None: ...


class PositionListener(Protocol):
    def publish_position(self, vessel_id: int, delta: dict[str, Any]) -> None: ...


@dataclass
class _Open:
    """What the engine remembers of an open alert, to tell a repeat from a change."""

    alert: Alert
    last_written: float  # monotonic time
    pending: Condition | None = None  # a change held back by MIN_UPDATE_INTERVAL_S
    clear_since: datetime | None = None  # when its condition was first reported gone


def position_delta(state: VesselState) -> dict[str, Any]:
    return {
        "vessel_id": state.vessel_id,
        "mmsi": state.mmsi,
        "name": state.name,
        "lon": state.lon,
        "lat": state.lat,
        "speed": state.speed,
        "course": state.course,
        "heading": state.heading,
        "status": state.status,
        "source": state.source,
        "ts": state.ts.isoformat() if state.ts else None,
        "drill": state.drill,
    }


class AlertEngine:
    def __init__(
        self,
        pool: Pool,
        settings: RulesSettings,
        rules: Sequence[Rule],
        *,
        deliver: Sequence[Deliverer] = (),
        positions: Sequence[PositionListener] = (),
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        registry: IdentityRegistry | None = None,
        queue_max: int = 10_000,
        urgent: Callable[[Record], bool] = lambda record: False,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.rules = list(rules)
        self.deliver = list(deliver)
        self.positions = list(positions)
        self.clock = clock
        self.monotonic = monotonic
        self.store = AlertStore(pool)
        self.registry = registry or IdentityRegistry(pool)
        self.fleet = Fleet()
        self.zones = ZoneIndex()
        # Three lanes. Records that may be a distress jump the queue: under a flood of routine traffic a
        # distress must not wait behind thousands of positions. Routine positions are kept as the latest
        # per vessel while they wait (the store keeps every one; rules judge the newest state), so a
        # busy engine never slows ingest. Everything else waits in order, with backpressure.
        self.urgent = urgent
        self.queue_max = queue_max
        self.priority: deque[Record] = deque()
        self.positions_waiting: OrderedDict[tuple[str, str], tuple[int, Record]] = OrderedDict()
        self.others: deque[tuple[int, Record]] = deque()
        self._arrivals = 0
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self.open: dict[str, _Open] = {}
        self.ready = asyncio.Event()

    # --- input ------------------------------------------------------------------------------------

    def waiting(self) -> int:
        return len(self.priority) + len(self.positions_waiting) + len(self.others)

    async def submit(self, record: Record) -> None:
        """Queue a record for evaluation. Never drops: a routine position may only replace its vessel's
        earlier position still waiting; other records wait for room."""
        self._arrivals += 1
        key = _position_key(record)
        if self.urgent(record):
            self.priority.append(record)
        elif key is not None:
            earlier = self.positions_waiting.get(key)
            if earlier is not None:
                COALESCED.inc()
            self.positions_waiting[key] = (earlier[0] if earlier else self._arrivals, record)
        else:
            while len(self.others) >= self.queue_max:
                self._room.clear()
                await self._room.wait()
            self.others.append((self._arrivals, record))
        QUEUE.set(self.waiting())
        self._arrived.set()

    async def next_record(self) -> Record:
        while True:
            if self.priority:
                return self.priority.popleft()
            position = next(iter(self.positions_waiting.values()), None)
            if self.others and (position is None or self.others[0][0] < position[0]):
                self._room.set()
                return self.others.popleft()[1]
            if position is not None:
                self.positions_waiting.popitem(last=False)
                return position[1]
            self._arrived.clear()
            await self._arrived.wait()

    # --- the component ----------------------------------------------------------------------------

    async def load(self) -> None:
        self.fleet = await load_fleet(self.pool)
        async with self.pool.connection() as conn:
            self.zones = await load_zone_index(conn)
        now = self.monotonic()
        self.open = {a.key: _Open(a, now) for a in await self.store.open_alerts()}
        log.info(
            "alert engine: %d vessels, %d zones, %d open alerts",
            len(self.fleet),
            len(self.zones),
            len(self.open),
        )

    async def reload_zones(self) -> None:
        async with self.pool.connection() as conn:
            self.zones = await load_zone_index(conn)

    async def run(self) -> None:
        await self.load()
        self.ready.set()
        ticker = asyncio.create_task(self._ticker())
        try:
            while True:
                record = await self.next_record()
                QUEUE.set(self.waiting())
                await self.process(record)
                # With records waiting, nothing above suspends: yield, or a backlog would hold the event
                # loop (ingest, the websocket, a distress arriving now) for as long as it lasts.
                await asyncio.sleep(0)
        finally:
            ticker.cancel()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.tick()
            except Exception:
                log.exception("alert engine tick failed")

    # --- evaluation -------------------------------------------------------------------------------

    def context(self) -> RuleContext:
        return RuleContext(now=self.clock(), settings=self.settings, zones=self.zones, fleet=self.fleet)

    async def vessel_of(self, record: Record) -> int | None:
        if record.get("vessel_id") is not None:
            return int(record["vessel_id"])
        if record.get("kind") in STATION_KINDS:
            return None
        try:
            identity = identity_of(record)
        except RejectedRecord:
            return None
        if identity is None:
            return None
        ts = record.get("ts") or record.get("received_at") or self.clock()
        return await self.registry.resolve(identity[0], identity[1], ts)

    async def process(self, record: Record) -> None:
        RECORDS.inc()
        vessel_id = await self.vessel_of(record)
        if vessel_id is None:
            return
        previous, current = self.fleet.update(vessel_id, record)
        if current.has_position and (previous is None or previous.ts != current.ts):
            for listener in self.positions:
                listener.publish_position(vessel_id, position_delta(current))
        ctx = self.context()
        for rule in self.rules:
            try:
                conditions = rule.on_record(ctx, previous, current, record)
            except Exception:
                RULE_ERRORS.labels(rule.name).inc()
                log.exception("rule %s failed on a record of vessel %d", rule.name, vessel_id)
                continue
            await self.apply(conditions, ctx.now)
        received = record.get("received_at")
        if isinstance(received, datetime):
            LATENCY.observe(max(0.0, (self.clock() - received).total_seconds()))

    async def tick(self) -> None:
        ctx = self.context()
        for rule in self.rules:
            try:
                conditions = rule.on_tick(ctx)
            except Exception:
                RULE_ERRORS.labels(rule.name).inc()
                log.exception("rule %s failed on tick", rule.name)
                continue
            await self.apply(conditions, ctx.now)
            await asyncio.sleep(0)  # fleet-wide rules take a while: let a distress in between them
        await self._due_changes(ctx.now)
        await self._renotify(ctx.now)

    # --- conditions → alerts ----------------------------------------------------------------------

    async def apply(self, conditions: Sequence[Condition], now: datetime) -> None:
        for condition in conditions:
            try:
                if condition.active:
                    await self._raise(condition, now)
                else:
                    self._note_cleared(condition, now)
            except Exception:
                log.exception("could not apply condition %s", condition.key)

    def _vessel(self, condition: Condition) -> VesselRef:
        state = self.fleet.get(condition.vessel_id) if condition.vessel_id is not None else None
        if state is None:
            return VesselRef(id=condition.vessel_id)
        return VesselRef(id=state.vessel_id, mmsi=state.mmsi, name=state.name)

    async def _raise(self, condition: Condition, now: datetime) -> None:
        state = self.fleet.get(condition.vessel_id) if condition.vessel_id is not None else None
        if state is not None and state.drill and not condition.drill:
            condition = replace(condition, drill=True)
        known = self.open.get(condition.key)
        if known is not None:
            known.clear_since = None
            if not _changed(known.alert, condition):
                return
            escalated = SEVERITY_RANK[condition.severity] > SEVERITY_RANK[known.alert.severity]
            if not escalated and self.monotonic() - known.last_written < MIN_UPDATE_INTERVAL_S:
                known.pending = condition
                return
        await self._write(condition, now)

    async def _write(self, condition: Condition, now: datetime) -> None:
        alert = await self.store.raise_condition(condition, self._vessel(condition), now)
        self.open[condition.key] = _Open(alert, self.monotonic())
        self.publish(alert)

    def _note_cleared(self, condition: Condition, now: datetime) -> None:
        known = self.open.get(condition.key)
        if known is None or known.alert.kind in NEVER_AUTO_CLEARED:
            return
        known.pending = None
        if known.clear_since is None:
            known.clear_since = now

    async def _due_changes(self, now: datetime) -> None:
        hold = timedelta(seconds=self.settings.clear_after_s)
        for key, known in list(self.open.items()):
            if known.clear_since is not None and now - known.clear_since >= hold:
                del self.open[key]
                alert = await self.store.clear_condition(key, now)
                if alert is not None:
                    self.publish(alert)
            elif known.pending is not None and self.monotonic() - known.last_written >= MIN_UPDATE_INTERVAL_S:
                pending, known.pending = known.pending, None
                await self._write(pending, now)

    async def _renotify(self, now: datetime) -> None:
        before = now - timedelta(seconds=self.settings.renotify_critical_s)
        for alert in await self.store.due_for_renotify(before):
            renewed = await self.store.renotified(alert.id, now)
            if renewed.key in self.open:
                self.open[renewed.key].alert = renewed
            self.publish(renewed)

    def forget(self, alert: Alert) -> None:
        """A person resolved the alert: the next finding of its condition opens a new one."""
        if alert.state == "resolved":
            self.open.pop(alert.key, None)
        elif alert.key in self.open:
            self.open[alert.key].alert = alert

    def publish(self, alert: Alert) -> None:
        ALERT_CHANGES.labels(alert.kind, alert.severity).inc()
        for deliverer in self.deliver:
            try:
                deliverer.publish_alert(alert)
            except Exception:
                log.exception("delivering alert %d failed", alert.id)


def _position_key(record: Record) -> tuple[str, str] | None:
    """The vessel identity of a routine position report (one that may be coalesced), else None."""
    if record.get("kind") != "position":
        return None
    for field_name in ("vessel_id", "mmsi", "terminal", "tag_id"):
        value = record.get(field_name)
        if value is not None:
            return field_name, str(value)
    return None


def _changed(alert: Alert, condition: Condition) -> bool:
    if (alert.severity, alert.title, alert.details) != (
        condition.severity,
        condition.title,
        condition.details,
    ):
        return True
    if condition.position is None or alert.position is None:
        return condition.position is not None
    moved = haversine_m(
        alert.position.lon, alert.position.lat, condition.position.lon, condition.position.lat
    )
    return bool(moved >= MOVED_M)
