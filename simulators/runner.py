"""Running a scenario against a deployment: the simulation's emissions, paced on the wall clock, sent
through the real interfaces.

- AIS: every shore receiver of the radio model has its own connection to each `--ais` target
  (`tcp://` or `udp://`) and sends the copies it heard, tag-blocked, after its own network delay.
- JT/T 808: one TCP connection per terminal to `--jt808 host:port` (register, authenticate, then
  reports and heartbeats, and 0x0704 blind-area batches of what it stored while out of coverage);
  each terminal's messages go in order on a task of its own, so a slow handshake never holds up the
  AIS feed.
- Terminals behind a gateway (`terminal_json`): JSON over MQTT `{topic_prefix}/terminals/{terminal}`
  on `--mqtt`, a stored backlog as one message per report, oldest first.
- Gate tag reads: MQTT `{topic_prefix}/tags/{reader}` on `--mqtt`.
- CAP warnings: `POST {api}/api/weather/cap` with `--token` (in a drill, CAP status `Exercise`).

A channel whose target is not given is skipped (and counted as such). The run log (`RunLog`) records,
for every scripted event, when it happened on the wall clock and who was involved: the drill report
matches alerts against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.jt808.messages import LocationReport
from seawatch.bus import MqttAddress
from seawatch.settings import MqttSettings
from simulators.ais_out import SHANWEI_RECEIVERS, AisLink, Receiver, ReceiverNetwork, channel_for, lines_for
from simulators.cap_out import CapPoster, typhoon_cap
from simulators.clock import SimClock
from simulators.fleet import FleetSpec
from simulators.geography import Geography
from simulators.jt808_client import Jt808Terminal, location_report
from simulators.mqtt_out import DevicePublisher
from simulators.scenario import Scenario
from simulators.simulation import AisOut, CapOut, Emission, EventMark, Simulation, TagOut, TerminalOut
from simulators.tags_out import tag_read, tag_topic
from simulators.terminals_out import terminal_report, terminal_topic

log = logging.getLogger(__name__)

DRAIN_S = 10.0  # at the end, how long terminal messages still queued may take
PLURAL = {"report": "reports", "heartbeat": "heartbeats", "batch": "batches"}  # for the run log's counts


@dataclass(frozen=True)
class Targets:
    ais: tuple[str, ...] = ()  # tcp://host:port or udp://host:port
    tag_blocks: bool = True
    jt808: str | None = None  # host:port
    mqtt: str | None = None  # mqtt://host:port
    topic_prefix: str = "seawatch"
    api: str | None = None  # http://host:port of the seawatch API, for CAP warnings
    token: str | None = None


@dataclass
class RunLog:
    scenario: str
    title: str
    seed: int
    speed: float
    drill: bool
    started: str = ""
    ended: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "title": self.title,
            "seed": self.seed,
            "speed": self.speed,
            "drill": self.drill,
            "started": self.started,
            "ended": self.ended,
            "events": self.events,
            "counts": dict(sorted(self.counts.items())),
        }


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    link: AisLink = field(compare=False)
    lines: list[bytes] = field(compare=False)


class Runner:
    def __init__(
        self,
        scenario: Scenario,
        targets: Targets,
        *,
        speed: float = 1.0,
        seed: int | None = None,
        fleet: FleetSpec | None = None,
        geography: Geography | None = None,
        receivers: tuple[Receiver, ...] = SHANWEI_RECEIVERS,
        drill: bool = True,
        start: datetime | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.scenario = scenario
        self.targets = targets
        self.clock = SimClock(speed, wall)
        now = datetime.fromtimestamp(self.clock.started, UTC)
        self.simulation = Simulation(
            scenario,
            geography or Geography.shanwei(),
            start=start or scenario.start_time(now),
            seed=seed,
            fleet=fleet,
        )
        self.radio = ReceiverNetwork(receivers, seed=self.simulation.seed)
        self.drill = drill
        self.log = RunLog(scenario.name, scenario.title, self.simulation.seed, speed, drill)
        self.links = {(r.station, url): AisLink(url) for r in receivers for url in targets.ais}
        self.terminals: dict[str, Jt808Terminal] = {}
        self._terminal_tasks: dict[str, asyncio.Task[None]] = {}
        self._terminal_queues: dict[str, asyncio.Queue[TerminalOut]] = {}
        self._pending: list[_Pending] = []
        self._seq = itertools.count()
        self._mqtt: DevicePublisher | None = None
        self._cap = CapPoster(targets.api, targets.token) if targets.api and targets.token else None

    async def run(self, until: float | None = None, stop: asyncio.Event | None = None) -> RunLog:
        """Run to `until` simulated seconds (default: the scenario's duration; `math.inf`: for ever)."""
        stop = stop or asyncio.Event()
        self.log.started = self.clock.wire_time(0.0).isoformat()
        async with contextlib.AsyncExitStack() as stack:
            if self.targets.mqtt:
                address = MqttAddress.parse(self.targets.mqtt)
                # Client ids must be unique on a broker: a second client with the same id takes over.
                client_id = f"seawatch-sim-{os.getpid()}-{id(self):x}"
                settings = MqttSettings(topic_prefix=self.targets.topic_prefix, client_id=client_id)
                try:
                    self._mqtt = await stack.enter_async_context(DevicePublisher(address, settings))
                except Exception as exc:  # an unreachable broker costs the device messages, not the run
                    log.warning("MQTT %s unreachable, device messages lost: %s", self.targets.mqtt, exc)
            try:
                end = self.scenario.duration if until is None else until
                for emission in self.simulation.run(end):
                    if not await self._wait(self.clock.due(emission.t), stop):
                        break
                    await self._emit(emission)
                else:
                    if math.isfinite(end):
                        await self._wait(self.clock.due(end), stop)
                if not stop.is_set():
                    await self._flush(math.inf)
            finally:
                # Told to stop: go at once (the service may be stopping too); at the end of a run, let
                # the last terminal messages out first.
                await self._finish(drain=not stop.is_set())
        self.log.ended = datetime.now(UTC).isoformat()
        return self.log

    async def _wait(self, due: float, stop: asyncio.Event) -> bool:
        """Send delayed copies falling due before `due`, then wait for it; False once `stop` is set."""
        while not stop.is_set():
            now = self.clock.wall()
            await self._flush(min(due, now))
            next_copy = self._pending[0].due if self._pending else math.inf
            wake = min(due, next_copy)
            if wake <= now:
                if due <= now:
                    return True
                continue
            # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a cancellation that
            # arrives as `stop` is set, which is exactly when the supervisor cancels us.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wake - now):
                    await stop.wait()
        return False

    async def _flush(self, until: float) -> None:
        while self._pending and self._pending[0].due <= until:
            item = heapq.heappop(self._pending)
            await item.link.send(item.lines)

    async def _emit(self, emission: Emission) -> None:
        if isinstance(emission, AisOut):
            self._ais(emission)
        elif isinstance(emission, TerminalOut) and emission.json:
            await self._terminal_json(emission)
        elif isinstance(emission, TerminalOut):
            self._terminal(emission)
        elif isinstance(emission, TagOut):
            await self._tag(emission)
        elif isinstance(emission, CapOut):
            await self._cap_warning(emission)
        elif isinstance(emission, EventMark):
            self._mark(emission)

    def _ais(self, out: AisOut) -> None:
        counts = self.log.counts
        counts["ais_messages"] += 1
        copies = self.radio.copies(out.lon, out.lat)
        if not copies:
            counts["ais_lost"] += 1
            return
        counts["ais_copies"] += len(copies)
        if not self.targets.ais:
            counts["ais_skipped"] += 1
            return
        when = self.clock.wire_time(out.t)
        channel = channel_for(out.vessel, int(out.t))
        sent_at = self.clock.due(out.t)
        group = next(self._seq) % 10
        for copy in copies:
            lines = lines_for(
                out.fields,
                when,
                copy.receiver,
                tag_blocks=self.targets.tag_blocks,
                channel=channel,
                group_id=group,
            )
            for url in self.targets.ais:
                link = self.links[(copy.receiver.station, url)]
                heapq.heappush(self._pending, _Pending(sent_at + copy.delay_s, next(self._seq), link, lines))
                counts["ais_lines"] += len(lines)

    def _terminal(self, out: TerminalOut) -> None:
        counts = self.log.counts
        counts[f"jt808_{PLURAL[out.kind]}"] += 1
        counts["jt808_backfilled"] += len(out.batch)
        if self.targets.jt808 is None:
            counts["jt808_skipped"] += 1
            return
        queue = self._terminal_queues.get(out.terminal)
        if queue is None:
            host, _, port = self.targets.jt808.rpartition(":")
            self.terminals[out.terminal] = Jt808Terminal(host or "127.0.0.1", int(port), out.terminal)
            queue = self._terminal_queues[out.terminal] = asyncio.Queue()
            self._terminal_tasks[out.terminal] = asyncio.create_task(
                self._terminal_worker(self.terminals[out.terminal], queue), name=f"terminal-{out.terminal}"
            )
        queue.put_nowait(out)

    async def _terminal_worker(self, terminal: Jt808Terminal, queue: asyncio.Queue[TerminalOut]) -> None:
        while True:
            out = await queue.get()
            try:
                if out.kind == "heartbeat":
                    await terminal.heartbeat()
                elif out.kind == "batch":
                    await terminal.batch([self._location(each) for each in out.batch])
                else:
                    await terminal.report(self._location(out))
            except Exception:  # one bad message must not silence the terminal for the rest of the run
                log.exception("terminal %s: sending failed", terminal.terminal)
            finally:
                queue.task_done()

    def _location(self, out: TerminalOut) -> LocationReport:
        return location_report(
            lon=out.lon,
            lat=out.lat,
            knots=out.sog,
            course=out.cog,
            when=self.clock.wire_time(out.t),
            alarm_bits=out.alarm_bits,
        )

    async def _terminal_json(self, out: TerminalOut) -> None:
        counts = self.log.counts
        if out.kind == "heartbeat":
            return  # a gateway forwards positions only
        counts[f"terminal_json_{PLURAL[out.kind]}"] += 1
        if self._mqtt is None:
            counts["terminal_json_skipped"] += 1
            return
        for each in out.batch or (out,):
            report = terminal_report(
                terminal=each.terminal,
                when=self.clock.wire_time(each.t),
                lon=each.lon,
                lat=each.lat,
                knots=each.sog,
                course=each.cog,
                alarm_bits=each.alarm_bits,
            )
            await self._mqtt.publish(terminal_topic(self._mqtt.prefix, each.terminal), report)

    async def _tag(self, out: TagOut) -> None:
        self.log.counts["tag_reads"] += 1
        if self._mqtt is None:
            self.log.counts["tag_reads_skipped"] += 1
            return
        read = tag_read(
            reader=out.reader,
            tag=out.tag,
            when=self.clock.wire_time(out.t),
            direction=out.direction,
            lon=out.lon,
            lat=out.lat,
            zone=out.zone,
        )
        await self._mqtt.publish(tag_topic(self._mqtt.prefix, out.reader), read)

    async def _cap_warning(self, out: CapOut) -> None:
        self.log.counts["cap_warnings"] += 1
        if self._cap is None:
            self.log.counts["cap_skipped"] += 1
            log.warning("a CAP warning is due but no --api and --token were given: not sent")
            return
        sent = self.clock.wire_time(out.t)
        document = typhoon_cap(
            identifier=out.identifier,
            sent=sent,
            area=out.area,
            onset=self.clock.wire_time(out.t + out.onset_s),
            expires=self.clock.wire_time(out.t + out.expires_s),
            deadline=self.clock.wire_time(out.t + out.deadline_s),
            headline=out.headline,
            drill=self.drill,
        )
        if not await self._cap.post(document):
            self.log.counts["cap_failed"] += 1

    def _mark(self, mark: EventMark) -> None:
        entry = {
            "index": mark.index,
            "action": mark.action,
            "at_s": mark.t,
            "time": self.clock.wire_time(mark.t).isoformat(),
            "vessels": list(mark.vessels),
            "expect": list(mark.expect),
            "note": mark.note,
        }
        self.log.events.append(entry)
        log.info("scenario %s: %s at %.0f s (%s)", self.scenario.name, mark.action, mark.t, entry["vessels"])

    async def _finish(self, *, drain: bool) -> None:
        for link in self.links.values():
            self.log.counts["ais_lines_failed"] += link.failed
            await link.close()
        queues = list(self._terminal_queues.values())
        if queues and drain:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_S):
                    await asyncio.gather(*(q.join() for q in queues))
        for task in self._terminal_tasks.values():
            task.cancel()
        if self._terminal_tasks:
            # asyncio.wait, not awaiting each task: our own cancellation must not be swallowed with theirs.
            await asyncio.wait(self._terminal_tasks.values(), timeout=DRAIN_S)
        for terminal in self.terminals.values():
            self.log.counts["jt808_acked"] += terminal.acked
            self.log.counts["jt808_batches_acked"] += terminal.batches_acked
            self.log.counts["jt808_lost"] += terminal.lost
            await terminal.close()
        if self._mqtt is not None:
            self.log.counts["mqtt_failed"] += self._mqtt.failed


async def run_scenario(
    scenario: Scenario,
    targets: Targets,
    *,
    speed: float = 1.0,
    seed: int | None = None,
    fleet: FleetSpec | None = None,
    until: float | None = None,
    stop: asyncio.Event | None = None,
    drill: bool = True,
) -> RunLog:
    runner = Runner(scenario, targets, speed=speed, seed=seed, fleet=fleet, drill=drill)
    return await runner.run(until, stop)
