"""The simulation itself, with no I/O: a scenario in, a time-ordered stream of emissions out.

A discrete-event loop over simulated seconds: each vessel's next AIS position report, static report,
terminal report and heartbeat, and each scripted event, wait in one heap; popping the earliest moves
the fleet to that time (`Fleet.advance`) and produces what the vessel sends then. The emissions say
*what* is sent and *when* (simulated seconds); `simulators.runner` decides how (radio copies, wire
formats, sockets) and paces them on the wall clock. The same scenario and seed give the same
emissions, whatever the speed.

Scripted actions (`Action` in `simulators.scenario`) change vessels as the event happens; each event
also yields an `EventMark` naming the identities involved and the alert kinds expected, for the run log
and the drill report.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import shapely

from simulators.fleet import (
    MOB_MMSI_BASE,
    NOT_UNDER_COMMAND,
    SART_ACTIVE,
    SART_MMSI_BASE,
    STATIC_INTERVAL_S,
    TAG_PREFIX,
    TERMINAL_PREFIX,
    UNDER_WAY,
    Activity,
    Fleet,
    FleetSpec,
    Identity,
    Kind,
    Vessel,
    ais_interval_s,
)
from simulators.geography import Geography, LonLat, distance_m
from simulators.scenario import EventModel, Scenario, VesselModel, parse_duration
from tracking.geo import metres_to_degrees_lat, metres_to_degrees_lon
from tracking.zones import zone_from_feature

HEARTBEAT_S = 60.0
ALARM_REPORT_S = 10.0  # a terminal in alarm reports this often (its alarm interval)
DEVICE_REPORT_S = 60.0  # a SART/MOB beacon: a burst a minute; one position per burst is modelled
DEVICE_TEXT_S = 240.0
# Coverage gaps of terminals with `terminal_gaps`: one every few hours at sea, lasting minutes; what the
# terminal stored meanwhile goes up as JT/T 808 0x0704 blind-area batches once it is back in coverage.
GAP_EVERY_S = 4 * 3600.0
GAP_S = (600.0, 2700.0)
BATCH_MAX = 30  # positions per 0x0704: 30 bodies of 30 bytes fit the 1,023-byte body of one frame
GATE_READERS = "gate-{harbour}"


@dataclass(frozen=True)
class AisOut:
    t: float
    vessel: int  # index
    fields: dict[str, Any]
    lon: float  # where the transmitter is (what decides which receivers hear it)
    lat: float


@dataclass(frozen=True)
class TerminalOut:
    t: float
    vessel: int
    terminal: str
    kind: Literal["report", "heartbeat", "batch"]
    lon: float = 0.0
    lat: float = 0.0
    sog: float = 0.0
    cog: float = 0.0
    alarm_bits: int = 0
    json: bool = False  # sent as JSON over MQTT by a gateway, not JT/T 808
    batch: tuple[TerminalOut, ...] = ()  # a "batch": the reports stored while out of coverage, oldest first


@dataclass(frozen=True)
class TagOut:
    t: float
    vessel: int
    reader: str
    tag: str
    direction: Literal["in", "out"]
    lon: float
    lat: float
    zone: str


@dataclass(frozen=True)
class CapOut:
    t: float
    identifier: str
    area: tuple[LonLat, ...]
    onset_s: float  # simulated seconds after `t`
    expires_s: float
    deadline_s: float  # return to port by then
    headline: str


@dataclass(frozen=True)
class EventMark:
    t: float
    index: int
    action: str
    vessels: tuple[dict[str, Any], ...]  # {name, mmsi, terminal} of every identity involved
    expect: tuple[str, ...]
    note: str | None


Emission = AisOut | TerminalOut | TagOut | CapOut | EventMark


@dataclass(order=True)
class _Due:
    t: float
    seq: int
    what: str = field(compare=False)
    vessel: int = field(compare=False, default=-1)
    event: int = field(compare=False, default=-1)


class ScenarioProblem(ValueError):
    """The scenario cannot run as written (e.g. an emergency button on a boat without a terminal)."""


class Simulation:
    def __init__(
        self,
        scenario: Scenario,
        geography: Geography,
        *,
        start: datetime,
        seed: int | None = None,
        fleet: FleetSpec | None = None,
        dt: float = 2.0,
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        if scenario.zones:
            zones = [*geography.zones, *(zone_from_feature(dict(f)) for f in scenario.zones)]
            geography = replace(geography, zones=zones)
        closures = [z.id for z in geography.zones if z.kind == "moratorium"]
        self.fleet = Fleet(
            geography,
            fleet if fleet is not None else scenario.fleet.spec(),
            seed=self.seed,
            start=start,
            dt=dt,
            closures=closures,
            keep_clear=[(v.at, v.to or v.at) for v in scenario.vessels if v.at is not None],
        )
        self.geo = geography
        self.named: dict[str, Vessel] = {}
        for model in scenario.vessels:
            self.named[model.id] = self._scripted(model)
        self._check_events()
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self._last_terminal: dict[int, float] = {}
        self._blind_until: dict[int, float] = {}  # terminals out of coverage, until when
        self._backlog: dict[int, list[TerminalOut]] = {}  # what they stored meanwhile
        self._texts: dict[int, str] = {}
        self._devices = 0
        self._warnings = 0
        for vessel in self.fleet.vessels:
            self._schedule(vessel)
        for index, event in enumerate(scenario.events):
            self._push(event.at, "event", event=index)

    # --- set-up -------------------------------------------------------------------------------------

    def _scripted(self, model: VesselModel) -> Vessel:
        fleet, geo = self.fleet, self.geo
        index = fleet.next_index()
        rng = fleet.vessel_rng(index)
        kind = Kind(model.kind)
        ident = fleet.identity(
            index,
            kind,
            rng,
            ais_class=None if model.ais == "none" else model.ais,
            terminal=f"{TERMINAL_PREFIX}{index:05d}" if model.terminal else None,
            terminal_json=model.terminal_json,
            terminal_gaps=False,  # a scripted vessel loses coverage when its script says so
            tag=f"{TAG_PREFIX}{index:016X}" if model.tag else None,
            **({"mmsi": None} if model.ais == "none" else {}),
            **({"name": model.name} if model.name else {}),
        )
        where = model.at
        home = model.home or _nearest_harbour(geo, where)
        harbour = geo.harbours[home]
        berth = harbour.berths[index % len(harbour.berths)]
        lon, lat = where if where is not None and model.activity != "in_port" else berth
        vessel = Vessel(
            index=index,
            kind=kind,
            ident=ident,
            home=home,
            berth=berth,
            rng=rng,
            lon=lon,
            lat=lat,
            activity=Activity.IN_PORT,
            scripted=True,
            cruise_kn=model.speed or (14.0 if kind is Kind.CARGO else 9.0),
            work_kn=rng.uniform(3.1, 4.0),
            harbour_now=home if model.activity == "in_port" else None,
        )
        if model.course is not None:
            vessel.cog = vessel.heading = model.course
        if model.activity == "fishing":
            vessel.sog = vessel.work_kn
            fleet.start_fishing(vessel, (lon, lat))
        elif model.activity == "transit":
            assert model.to is not None
            self._steer(vessel, geo.sea_route((lon, lat), model.to)[1:], vessel.cruise_kn, model.to)
            vessel.sog = vessel.cruise_kn
        elif model.activity == "drifting":
            vessel.activity = Activity.DRIFTING
            vessel.status = UNDER_WAY
        elif model.activity == "passage":
            course = model.course if model.course is not None else 90.0
            vessel.activity = Activity.PASSAGE
            vessel.status = UNDER_WAY
            vessel.sog = vessel.target_kn = vessel.cruise_kn
            vessel.waypoints = [_ahead((lon, lat), course, 200_000.0)]
        return fleet.add(vessel)

    def _check_events(self) -> None:
        for event in self.scenario.events:
            vessel = self.named.get(event.vessel) if event.vessel else None
            if event.action in ("emergency_button", "lose_coverage") and (
                vessel is None or vessel.ident.terminal is None
            ):
                raise ScenarioProblem(f"{event.action} at {event.at:.0f} s: {event.vessel} has no terminal")
            if event.action in ("share_mmsi", "position_jump", "engine_failure") and (
                vessel is None or vessel.ident.mmsi is None
            ):
                raise ScenarioProblem(f"{event.action} at {event.at:.0f} s: {event.vessel} has no AIS")
            if event.zone is not None and not any(z.id == event.zone for z in self.geo.zones):
                raise ScenarioProblem(f"{event.action} at {event.at:.0f} s: no zone {event.zone!r}")

    # --- the loop -----------------------------------------------------------------------------------

    def _push(self, t: float, what: str, *, vessel: int = -1, event: int = -1) -> None:
        heapq.heappush(self._heap, _Due(t, next(self._seq), what, vessel, event))

    def _schedule(self, vessel: Vessel) -> None:
        if vessel.ident.ais_class is not None:
            self._push(vessel.next_ais, "ais", vessel=vessel.index)
            if vessel.kind is not Kind.DEVICE:
                self._push(vessel.next_static, "static", vessel=vessel.index)
        if vessel.ident.terminal is not None:
            self._push(vessel.next_terminal, "terminal", vessel=vessel.index)
            self._push(vessel.next_terminal + HEARTBEAT_S / 2, "heartbeat", vessel=vessel.index)

    def next_time(self) -> float | None:
        return self._heap[0].t if self._heap else None

    def run(self, until: float | None = None) -> Iterator[Emission]:
        """Emissions in time order up to `until` (default: the scenario's duration)."""
        end = self.scenario.duration if until is None else until
        while self._heap and self._heap[0].t <= end:
            due = heapq.heappop(self._heap)
            self.fleet.advance(due.t)
            yield from self._crossings()
            yield from self._handle(due)

    def _crossings(self) -> Iterator[Emission]:
        crossings, self.fleet.crossings = self.fleet.crossings, []
        for crossing in crossings:
            vessel = crossing.vessel
            if vessel.ident.tag is None:
                continue
            harbour = self.geo.harbours[crossing.harbour]
            yield TagOut(
                t=crossing.t,
                vessel=vessel.index,
                reader=GATE_READERS.format(harbour=harbour.id),
                tag=vessel.ident.tag,
                direction=crossing.direction,
                lon=harbour.gate[0],
                lat=harbour.gate[1],
                zone=harbour.id,
            )

    def _handle(self, due: _Due) -> Iterator[Emission]:
        if due.what == "event":
            yield from self._event(due.t, due.event)
            return
        vessel = self.fleet.vessels[due.vessel]
        t = due.t
        if due.what == "ais":
            if vessel.ais_on:
                yield self._position(vessel, t)
            if vessel.kind is Kind.DEVICE:
                interval = DEVICE_REPORT_S
                if (
                    vessel.index in self._texts
                    and vessel.ais_sent % int(DEVICE_TEXT_S / DEVICE_REPORT_S) == 1
                ):
                    yield self._safety_text(vessel, t)
            else:
                assert vessel.ident.ais_class is not None
                status = self.fleet.nav_status(vessel)
                interval = ais_interval_s(vessel.ident.ais_class, vessel.sog, status, vessel.turning)
            self._push(t + interval, "ais", vessel=vessel.index)
        elif due.what == "static":
            if vessel.ais_on:
                yield from self._static(vessel, t)
            self._push(t + STATIC_INTERVAL_S, "static", vessel=vessel.index)
        elif due.what == "terminal":
            last = self._last_terminal.get(vessel.index, -math.inf)
            if vessel.alarm_bits and t - last < ALARM_REPORT_S - 1e-6:
                return  # superseded: the alarm started its own, faster schedule
            if vessel.terminal_on:
                yield from self._live(vessel, t)
            interval = ALARM_REPORT_S if vessel.alarm_bits else vessel.ident.terminal_interval_s
            self._push(t + interval, "terminal", vessel=vessel.index)
        elif due.what == "heartbeat":
            idle = t - self._last_terminal.get(vessel.index, -math.inf)
            if vessel.terminal_on and idle >= HEARTBEAT_S and not self._blind(vessel, t):
                assert vessel.ident.terminal is not None
                self._last_terminal[vessel.index] = t
                yield TerminalOut(t, vessel.index, vessel.ident.terminal, "heartbeat")
            self._push(t + HEARTBEAT_S, "heartbeat", vessel=vessel.index)
        elif due.what == "home":
            self.fleet.send_home(vessel)
        elif due.what == "coverage" and not self._blind(vessel, t):
            yield from self._upload(vessel, t)

    # --- what vessels send --------------------------------------------------------------------------

    def _position(self, vessel: Vessel, t: float) -> AisOut:
        ident = vessel.ident
        assert ident.mmsi is not None
        lon, lat = self.fleet.fix(vessel, t)
        if vessel.position_offset_m is not None and vessel.offset_reports > 0:
            east, north = vessel.position_offset_m
            lat += metres_to_degrees_lat(north)
            lon += metres_to_degrees_lon(east, lat)
            vessel.offset_reports -= 1
        vessel.ais_sent += 1
        common = {
            "mmsi": ident.mmsi,
            "speed": round(vessel.sog, 1),
            "accuracy": 1,
            "lon": round(lon, 6),
            "lat": round(lat, 6),
            "course": round(vessel.cog, 1) % 360.0,
        }
        if ident.ais_class == "B":
            # Most class B sets have no heading sensor: 511, "not available".
            fields = {
                "msg_type": 18,
                **common,
                "heading": 511,
                "cs": True,
                "dsc": True,
                "band": True,
                "msg22": True,
            }
        else:
            heading = 511 if vessel.kind is Kind.DEVICE else round(vessel.heading) % 360
            fields = {"msg_type": 1, **common, "status": self.fleet.nav_status(vessel), "heading": heading}
        return AisOut(t, vessel.index, fields, lon, lat)

    def _static(self, vessel: Vessel, t: float) -> Iterator[AisOut]:
        ident = vessel.ident
        assert ident.mmsi is not None
        dims = {
            "to_bow": ident.length_m // 2,
            "to_stern": ident.length_m - ident.length_m // 2,
            "to_port": ident.beam_m // 2,
            "to_starboard": ident.beam_m - ident.beam_m // 2,
        }
        if ident.ais_class == "B":
            yield AisOut(
                t,
                vessel.index,
                {"msg_type": 24, "mmsi": ident.mmsi, "partno": 0, "shipname": ident.name},
                vessel.lon,
                vessel.lat,
            )
            part_b = {
                "msg_type": 24,
                "mmsi": ident.mmsi,
                "partno": 1,
                "ship_type": ident.ship_type,
                "callsign": ident.callsign,
                **dims,
            }
            yield AisOut(t, vessel.index, part_b, vessel.lon, vessel.lat)
            return
        destination = (self.geo.harbours[vessel.home].name if vessel.home else "")[:20].upper()
        fields = {
            "msg_type": 5,
            "mmsi": ident.mmsi,
            "callsign": ident.callsign,
            "shipname": ident.name,
            "ship_type": ident.ship_type,
            "epfd": 1,
            "draught": 2.5 if ident.ship_type == 30 else 8.5,
            "destination": destination.split(" (")[0],
            **dims,
        }
        yield AisOut(t, vessel.index, fields, vessel.lon, vessel.lat)

    def _safety_text(self, vessel: Vessel, t: float) -> AisOut:
        assert vessel.ident.mmsi is not None
        fields = {"msg_type": 14, "mmsi": vessel.ident.mmsi, "text": self._texts[vessel.index]}
        return AisOut(t, vessel.index, fields, vessel.lon, vessel.lat)

    def _terminal(self, vessel: Vessel, t: float) -> TerminalOut:
        assert vessel.ident.terminal is not None
        self._last_terminal[vessel.index] = t
        lon, lat = self.fleet.fix(vessel, t)
        return TerminalOut(
            t,
            vessel.index,
            vessel.ident.terminal,
            "report",
            lon,
            lat,
            vessel.sog,
            vessel.cog,
            vessel.alarm_bits,
            json=vessel.ident.terminal_json,
        )

    def _live(self, vessel: Vessel, t: float) -> Iterator[TerminalOut]:
        """A terminal report: sent, or stored if the terminal is (or just went) out of coverage."""
        report = self._terminal(vessel, t)
        if self._blind(vessel, t) or self._gap_starts(vessel, t):
            self._backlog.setdefault(vessel.index, []).append(report)
        else:
            yield report

    def _blind(self, vessel: Vessel, t: float) -> bool:
        return t < self._blind_until.get(vessel.index, -math.inf)

    def _gap_starts(self, vessel: Vessel, t: float) -> bool:
        if not (vessel.ident.terminal_gaps and vessel.moving):
            return False
        rng = random.Random(f"{self.seed}:gap:{vessel.index}:{t}")
        if rng.random() >= vessel.ident.terminal_interval_s / GAP_EVERY_S:
            return False
        self._lose_coverage(vessel, t, rng.uniform(*GAP_S))
        return True

    def _lose_coverage(self, vessel: Vessel, t: float, seconds: float) -> None:
        until = max(t + seconds, self._blind_until.get(vessel.index, -math.inf))
        self._blind_until[vessel.index] = until
        self._push(until, "coverage", vessel=vessel.index)

    def _upload(self, vessel: Vessel, t: float) -> Iterator[TerminalOut]:
        """Back in coverage: what was stored goes up first, oldest first, in batches."""
        stored = self._backlog.pop(vessel.index, [])
        for start in range(0, len(stored), BATCH_MAX):
            self._last_terminal[vessel.index] = t
            chunk = tuple(stored[start : start + BATCH_MAX])
            yield replace(chunk[0], t=t, kind="batch", batch=chunk)

    # --- scripted events ----------------------------------------------------------------------------

    def _event(self, t: float, index: int) -> Iterator[Emission]:
        event = self.scenario.events[index]
        vessel = self.named[event.vessel] if event.vessel else None
        other = self.named[event.other] if event.other else None
        involved: list[Vessel] = [v for v in (vessel, other) if v is not None]
        extra: list[Emission] = []
        action = event.action
        if action in ("sart", "man_overboard"):
            assert vessel is not None
            device = self._device(vessel, t, sart=action == "sart")
            involved.append(device)
            if action == "man_overboard":
                # Turn back to where the crew member went in, then lie stopped by them.
                self._steer(vessel, [(device.lon, device.lat)], 4.0, None)
                vessel.activity = Activity.TRANSIT
                vessel.spot = None
        elif action == "emergency_button":
            assert vessel is not None
            vessel.alarm_bits |= 1
            extra.extend(self._live(vessel, t))
            self._push(t + ALARM_REPORT_S, "terminal", vessel=vessel.index)
        elif action == "go_dark":
            assert vessel is not None
            vessel.ais_on = vessel.terminal_on = False
        elif action == "engine_failure":
            assert vessel is not None
            vessel.activity = Activity.DRIFTING
            vessel.waypoints = []
            vessel.status_override = NOT_UNDER_COMMAND
            vessel.heading = (vessel.cog + 90.0 + vessel.rng.uniform(0.0, 90.0)) % 360.0
        elif action == "collision_course":
            assert vessel is not None and other is not None
            self._collision_course(vessel, other, parse_duration(event.params.get("meet_in", "8m")))
        elif action in ("enter_zone", "fishing_in_closure"):
            assert vessel is not None and event.zone is not None
            target = self._inside(event.zone)
            self._steer(
                vessel, self.geo.sea_route((vessel.lon, vessel.lat), target)[1:], vessel.cruise_kn, target
            )
            vessel.linger = action == "enter_zone"
        elif action == "typhoon_warning":
            extra.append(self._typhoon(t, event))
        elif action == "share_mmsi":
            assert vessel is not None
            involved.append(self._clone(vessel, event))
        elif action == "position_jump":
            assert vessel is not None
            distance = float(event.params.get("distance_m", 30_000.0))
            bearing = math.radians(float(event.params.get("bearing", 200.0)))
            vessel.position_offset_m = (distance * math.sin(bearing), distance * math.cos(bearing))
            vessel.offset_reports = int(event.params.get("reports", 3))
        elif action == "return_to_port":
            assert vessel is not None
            self.fleet.send_home(vessel)
        elif action == "lose_coverage":
            assert vessel is not None
            self._lose_coverage(vessel, t, parse_duration(event.params.get("for", "15m")))
        yield EventMark(
            t=t,
            index=index,
            action=action,
            vessels=tuple(_who(v) for v in involved),
            expect=tuple(event.expect),
            note=event.note,
        )
        yield from extra

    def _steer(self, vessel: Vessel, waypoints: list[LonLat], speed: float, fish_at: LonLat | None) -> None:
        vessel.waypoints = list(waypoints)
        vessel.activity = Activity.TRANSIT
        vessel.target_kn = speed
        vessel.status = UNDER_WAY
        vessel.spot = fish_at

    def _device(self, vessel: Vessel, t: float, *, sart: bool) -> Vessel:
        self._devices += 1
        index = self.fleet.next_index()
        mmsi = (SART_MMSI_BASE if sart else MOB_MMSI_BASE) + self._devices
        ident = Identity(
            mmsi=mmsi,
            name="SART" if sart else "MOB",
            callsign="",
            ship_type=0,
            ais_class="A",
            length_m=0,
            beam_m=0,
        )
        device = Vessel(
            index=index,
            kind=Kind.DEVICE,
            ident=ident,
            home=None,
            berth=None,
            rng=self.fleet.vessel_rng(index),
            lon=vessel.lon,
            lat=vessel.lat,
            activity=Activity.DRIFTING,
            status=SART_ACTIVE,
            scripted=True,
        )
        self._texts[index] = "SART ACTIVE" if sart else "MOB ACTIVE"
        self.fleet.add(device)
        device.next_ais = t  # a beacon transmits as soon as it is switched on
        self._push(t, "ais", vessel=index)
        return device

    def _collision_course(self, a: Vessel, b: Vessel, meet_in: float) -> None:
        """Both steer for one point, to arrive `meet_in` seconds from now: bearing steady, range closing."""
        speed_a = max(a.sog, 8.0)
        meet = _ahead((a.lon, a.lat), a.cog, speed_a * 0.514444 * meet_in)
        far = distance_m((b.lon, b.lat), meet)
        speed_b = min(max(far / meet_in / 0.514444, 4.0), 18.0)
        # Each runs on past the point, so that neither stops at it.
        beyond_a = _ahead(meet, a.cog, 5_000.0)
        course_b = _bearing((b.lon, b.lat), meet)
        beyond_b = _ahead(meet, course_b, 5_000.0)
        self._steer(a, [meet, beyond_a], speed_a, beyond_a)
        self._steer(b, [meet, beyond_b], speed_b, beyond_b)
        a.sog, b.sog = speed_a, speed_b
        a.cog, b.cog = a.cog, course_b

    def _inside(self, zone_id: str) -> LonLat:
        zone = next(z for z in self.geo.zones if z.id == zone_id)
        sea = zone.geometry.difference(shapely.unary_union(self.geo.land.polygons).buffer(0.003))
        point = (sea if not sea.is_empty else zone.geometry).representative_point()
        return float(point.x), float(point.y)

    def _typhoon(self, t: float, event: EventModel) -> CapOut:
        self._warnings += 1
        params = event.params
        area = params.get("area")
        if area is None:
            west, south, east, north = self.geo.sea_bounds()
            area = [(west, south), (east, south), (east, north), (west, north), (west, south)]
        deadline = parse_duration(params.get("deadline", "2h"))
        # Boats head home once they have heard the warning: within half an hour.
        for vessel in self.fleet.vessels:
            if vessel.kind in (Kind.TRAWLER, Kind.GILLNETTER) and vessel.activity in (
                Activity.FISHING,
                Activity.OUTBOUND,
                Activity.TRANSIT,
            ):
                delay = vessel.rng.uniform(300.0, 1800.0)
                self._push(t + delay, "home", vessel=vessel.index)
        return CapOut(
            t=t,
            identifier=f"SIM-TYPHOON-{self.seed}-{self._warnings}",
            area=tuple((float(x), float(y)) for x, y in area),
            onset_s=parse_duration(params.get("onset", "3h")),
            expires_s=parse_duration(params.get("expires", "24h")),
            deadline_s=deadline,
            headline=str(params.get("headline", "Typhoon warning: all fishing vessels return to port")),
        )

    def _clone(self, vessel: Vessel, event: EventModel) -> Vessel:
        distance = float(event.params.get("distance_m", 20_000.0))
        bearing = float(event.params.get("bearing", 90.0))
        where = _ahead((vessel.lon, vessel.lat), bearing, distance)
        index = self.fleet.next_index()
        clone = Vessel(
            index=index,
            kind=Kind.TRAWLER,
            ident=replace(vessel.ident, terminal=None, tag=None),
            home=vessel.home,
            berth=vessel.berth,
            rng=self.fleet.vessel_rng(index),
            lon=where[0],
            lat=where[1],
            activity=Activity.FISHING,
            scripted=True,
            work_kn=3.5,
        )
        self.fleet.add(clone)
        self.fleet.start_fishing(clone, where)
        self._schedule(clone)
        return clone


def _who(vessel: Vessel) -> dict[str, Any]:
    return {"name": vessel.ident.name, "mmsi": vessel.ident.mmsi, "terminal": vessel.ident.terminal}


def _nearest_harbour(geo: Geography, where: LonLat | None) -> str:
    if where is None:
        return sorted(geo.harbours)[0]
    return min(geo.harbours.values(), key=lambda h: distance_m(h.offing, where)).id


def _bearing(a: LonLat, b: LonLat) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    east = math.radians(b[0] - a[0]) * math.cos(lat)
    return math.degrees(math.atan2(east, math.radians(b[1] - a[1]))) % 360.0


def _ahead(a: LonLat, course: float, metres: float) -> LonLat:
    rad = math.radians(course)
    lat = a[1] + metres_to_degrees_lat(metres * math.cos(rad))
    return a[0] + metres_to_degrees_lon(metres * math.sin(rad), (a[1] + lat) / 2), lat
