"""The simulated fleet: who the vessels are, what each is doing, and where that takes it.

Fishing vessels live at the demo harbours and keep a day's plan (`DayPlan`, local time GMT+8): most
leave at dawn, steam to their own patch of the fishing grounds at 8–10 kn, fish — trawlers at 3–4 kn
in legs with turns at each end, gill-netters lying to their nets and drifting with the current,
steaming back upstream every couple of hours — and come home in the late afternoon or evening. Some
take a day off, and nobody goes out while a fishing closure covering their harbour is in force.
Cargo ships keep to the shipping lane at 12–16 kn, on circuits that turn just beyond the lane's ends
(`geography.Lane`) rather than sail out of receiver coverage, which the lost-contact rule would rightly
report.

Motion advances in fixed steps of `dt` seconds of simulated time, so a run depends only on the seed and
the times it is asked about, never on how often it is asked. Each vessel has its own random stream
(from the seed and its index) and each day's plan one from (seed, index, day), so adding a vessel or an
event changes nothing for the others.

Reporting (`ais_interval_s`, ITU-R M.1371-5 table 1): class A every 10 s under way up to 14 kn, 3⅓ s
while changing course, 6 s (2 s turning) up to 23 kn, 2 s faster, 3 min at anchor or moored below
3 kn; class B ("CS") every 30 s above 2 kn and 3 min below; static data every 6 min.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

import shapely

from simulators.geography import Geography, LonLat, distance_m
from tracking.geo import EARTH_RADIUS_M, KNOT_MS, metres_to_degrees_lat, metres_to_degrees_lon
from tracking.schedule import ScheduleError, is_active

LOCAL = ZoneInfo("Asia/Shanghai")
AisClass = Literal["A", "B"]

# AIS navigational status (ITU-R M.1371 message 1 field "navigational status").
UNDER_WAY, AT_ANCHOR, NOT_UNDER_COMMAND, MOORED, FISHING, SART_ACTIVE = 0, 1, 2, 5, 7, 14
SHIP_TYPE_FISHING, SHIP_TYPE_CARGO = 30, 70

# The simulator's identities, reserved so that a deployment can tell drill traffic apart
# (`DrillSettings`): MMSI 412 99x xxx (412 is China's MID), rescue devices with manufacturer id 99.
VESSEL_MMSI_BASE = 412_990_000
SART_MMSI_BASE = 970_990_000
MOB_MMSI_BASE = 972_990_000
TERMINAL_PREFIX = "0141299"
TAG_PREFIX = "E2801299"
DRILL_MMSI_PREFIXES = ("41299", "97099", "97299")

STATIC_INTERVAL_S = 360.0
TURNING_DEG_S = 0.5  # a course change faster than this is "changing course" for the reporting rate
TURN_RATE_DEG_S = {"trawler": 3.0, "gillnetter": 3.0, "cargo": 0.5, "device": 0.0}
ACCEL_KN_S = 0.1
ARRIVED_M = 30.0
CURRENT_PERIOD_S = 12.42 * 3600  # the semidiurnal tide turns the current twice a day
GNSS_NOISE_M = 4.0
SPOT_SPACING_M = 2_200.0  # trawl boxes are about 1.6 km across: neighbours keep a few hundred metres apart
MAX_RANGE_M = 50_000.0  # a morning's steaming from home
KEEP_CLEAR_M = 3_000.0


class Kind(StrEnum):
    TRAWLER = "trawler"
    GILLNETTER = "gillnetter"
    CARGO = "cargo"
    DEVICE = "device"  # an AIS-SART or MOB beacon in the water


class Activity(StrEnum):
    IN_PORT = "in_port"
    OUTBOUND = "outbound"
    FISHING = "fishing"
    INBOUND = "inbound"
    PASSAGE = "passage"  # cargo along the lane
    TRANSIT = "transit"  # a scripted run to a point, then fishing there
    DRIFTING = "drifting"  # engine failure, or a beacon in the water
    STOPPED = "stopped"  # lying stopped at sea (e.g. searching for a man overboard)


@dataclass(frozen=True)
class Identity:
    mmsi: int | None  # None: no AIS transponder (a BeiDou terminal only)
    name: str
    callsign: str
    ship_type: int
    ais_class: AisClass | None
    length_m: int
    beam_m: int
    terminal: str | None = None  # JT/T 808 terminal id (12 digits)
    tag: str | None = None  # RFID tag id read at harbour gates
    terminal_interval_s: float = 180.0
    terminal_json: bool = False  # the terminal reports through a gateway, as JSON over MQTT
    terminal_gaps: bool = False  # the terminal's link drops out at sea; it stores reports meanwhile


@dataclass(frozen=True)
class FleetSpec:
    """The background fleet: how many of each, and which equipment they carry."""

    fishing: int = 0
    cargo: int = 0
    gillnet_fraction: float = 0.35
    class_b_fraction: float = 0.6  # of fishing vessels with AIS
    terminal_fraction: float = 0.3  # fishing vessels with a BeiDou JT/T 808 terminal
    terminal_only_fraction: float = 0.05  # of those, no AIS at all
    tag_fraction: float = 0.6  # fishing vessels with an RFID tag
    rest_fraction: float = 0.12  # chance a boat stays in port on a given day
    terminal_json_fraction: float = 0.2  # of terminals, those reporting as JSON over MQTT via a gateway
    terminal_gap_fraction: float = 0.2  # of terminals, those losing coverage at sea now and then


@dataclass(frozen=True)
class DayPlan:
    day: int  # proleptic ordinal of the local date
    rest: bool
    depart: float  # sim seconds
    come_home: float
    spot: LonLat | None


@dataclass
class Vessel:
    index: int
    kind: Kind
    ident: Identity
    home: str | None
    berth: LonLat | None
    rng: random.Random
    lon: float
    lat: float
    activity: Activity
    sog: float = 0.0  # knots
    cog: float = 0.0  # degrees
    heading: float = 0.0
    status: int = MOORED
    waypoints: list[LonLat] = field(default_factory=list)
    target_kn: float = 0.0
    cruise_kn: float = 9.0
    work_kn: float = 3.5
    spot: LonLat | None = None
    plan: DayPlan | None = None
    scripted: bool = False
    ais_on: bool = True
    terminal_on: bool = True
    alarm_bits: int = 0
    turning: bool = False
    harbour_now: str | None = None  # the harbour it is inside, for gate crossings
    leg_axis: float = 0.0  # trawl legs run along this bearing
    reposition_at: float = 0.0  # when a gill-netter next steams back to its spot
    status_override: int | None = None
    linger: bool = False  # at the end of a transit, lie stopped there instead of fishing
    circuit: bool = False  # waypoints are a loop: each one reached goes to the back of the list
    position_offset_m: tuple[float, float] | None = None  # a spoofed jump (east, north)
    offset_reports: int = 0  # reports left with that offset
    ais_sent: int = 0
    next_ais: float = 0.0
    next_static: float = 0.0
    next_terminal: float = 0.0

    @property
    def moving(self) -> bool:
        return self.activity not in (Activity.IN_PORT,)


@dataclass(frozen=True)
class GateCrossing:
    t: float
    vessel: Vessel
    harbour: str
    direction: Literal["in", "out"]


def ais_interval_s(ais_class: AisClass, sog: float, status: int, turning: bool) -> float:
    """The nominal reporting interval (ITU-R M.1371-5, table 1; class B "CS" rates for class B)."""
    if ais_class == "B":
        return 30.0 if sog > 2.0 else 180.0
    if status in (AT_ANCHOR, MOORED) and sog <= 3.0:
        return 180.0
    if sog > 23.0:
        return 2.0
    if sog > 14.0:
        return 2.0 if turning else 6.0
    return 10.0 / 3.0 if turning else 10.0


def local_time(start: datetime, t: float) -> datetime:
    return (start + timedelta(seconds=t)).astimezone(LOCAL)


class Fleet:
    """The vessels and the sea they move in; `advance` moves everyone to a time."""

    def __init__(
        self,
        geography: Geography,
        spec: FleetSpec,
        *,
        seed: int,
        start: datetime,
        dt: float = 2.0,
        closures: Iterable[str] = (),
        keep_clear: Iterable[tuple[LonLat, LonLat]] = (),
    ) -> None:
        self.geo = geography
        self.spec = spec
        self.seed = seed
        self.start = start
        self.dt = dt
        self.t = 0.0
        self.vessels: list[Vessel] = []
        self.crossings: list[GateCrossing] = []
        self.closure_ids = set(closures) | {z.id for z in geography.zones if z.kind == "moratorium"}
        self._spots_taken: dict[int, SpotGrid] = {}
        self._plans: dict[tuple[int, int], DayPlan] = {}
        self._harbour_box = shapely.unary_union([h.geometry for h in geography.harbours.values()]).bounds
        # Where a scenario's own vessels work or pass: background boats fish elsewhere, so that the
        # scripted events are the ones the drill is about.
        lines = [shapely.LineString([a, b]) if a != b else shapely.Point(a) for a, b in keep_clear]
        self._clear = (
            shapely.unary_union(lines).buffer(metres_to_degrees_lat(KEEP_CLEAR_M)) if lines else None
        )
        rng = random.Random(f"{seed}:fleet")
        for _ in range(spec.fishing):
            self._add_fishing(rng)
        for _ in range(spec.cargo):
            self._add_cargo(rng)
        # Today's plans from the first instant: a fleet that starts mid-morning has boats at sea at once,
        # not in port for one report and then out on the grounds (which would look like a teleport).
        for vessel in self.vessels:
            self._plan(vessel)

    # --- the cast ---------------------------------------------------------------------------------

    def next_index(self) -> int:
        return len(self.vessels)

    def vessel_rng(self, index: int) -> random.Random:
        return random.Random(f"{self.seed}:vessel:{index}")

    def identity(self, index: int, kind: Kind, rng: random.Random, **given: object) -> Identity:
        fishing = kind in (Kind.TRAWLER, Kind.GILLNETTER)
        spec = self.spec
        terminal = fishing and rng.random() < spec.terminal_fraction
        terminal_only = terminal and rng.random() < spec.terminal_only_fraction
        ais_class: AisClass | None = None
        if not terminal_only:
            ais_class = "B" if fishing and rng.random() < spec.class_b_fraction else "A"
        tag = fishing and rng.random() < spec.tag_fraction
        values: dict[str, object] = {
            "mmsi": None if ais_class is None else VESSEL_MMSI_BASE + index,
            "name": f"YUE SHAN YU {index + 1:05d}"
            if fishing
            else f"{_CARGO_NAMES[index % len(_CARGO_NAMES)]} {index}",
            "callsign": f"BS{index:05d}"[:7],
            "ship_type": SHIP_TYPE_FISHING if fishing else SHIP_TYPE_CARGO,
            "ais_class": ais_class,
            "length_m": rng.randint(18, 45) if fishing else rng.randint(90, 190),
            "beam_m": rng.randint(5, 9) if fishing else rng.randint(15, 30),
            "terminal": f"{TERMINAL_PREFIX}{index:05d}" if terminal else None,
            "tag": f"{TAG_PREFIX}{index:016X}" if tag else None,
            "terminal_interval_s": float(rng.randint(60, 300)),
            **self._terminal_kind(index, terminal),
        }
        values.update(given)
        if "mmsi" not in given:  # a scripted vessel's transponder decides whether it has an MMSI
            values["mmsi"] = None if values["ais_class"] is None else VESSEL_MMSI_BASE + index
        return Identity(**values)  # type: ignore[arg-type]

    def _terminal_kind(self, index: int, terminal: bool) -> dict[str, bool]:
        # A stream of its own: drawing from the vessel's would change every vessel's run.
        rng = random.Random(f"{self.seed}:terminal:{index}")
        json, gaps = rng.random(), rng.random()
        return {
            "terminal_json": terminal and json < self.spec.terminal_json_fraction,
            "terminal_gaps": terminal and gaps < self.spec.terminal_gap_fraction,
        }

    def _add_fishing(self, rng: random.Random) -> Vessel:
        index = self.next_index()
        own = self.vessel_rng(index)
        kind = Kind.GILLNETTER if own.random() < self.spec.gillnet_fraction else Kind.TRAWLER
        home = own.choice(sorted(self.geo.harbours))
        berth = own.choice(self.geo.harbours[home].berths)
        vessel = Vessel(
            index=index,
            kind=kind,
            ident=self.identity(index, kind, own),
            home=home,
            berth=berth,
            rng=own,
            lon=berth[0],
            lat=berth[1],
            activity=Activity.IN_PORT,
            cruise_kn=own.uniform(8.0, 10.0),
            work_kn=own.uniform(3.1, 4.0),
            harbour_now=home,
        )
        self._schedule_reports(vessel)
        self.vessels.append(vessel)
        return vessel

    def _add_cargo(self, rng: random.Random) -> Vessel:
        """A ship on one of the lane's circuits, spaced evenly from the others on it."""
        index = self.next_index()
        own = self.vessel_rng(index)
        number = sum(v.kind is Kind.CARGO and not v.scripted for v in self.vessels)
        circuits = [(lane, k) for lane in self.geo.lanes for k in range(len(lane.circuits))]
        lane, k = circuits[number % len(circuits)]
        circuit = lane.circuits[k]
        on_it = max(1, -(-self.spec.cargo // len(circuits)))  # ships per circuit, rounded up
        legs = [distance_m(circuit[i], circuit[(i + 1) % len(circuit)]) for i in range(len(circuit))]
        # Staggered between circuits too, so that ships of different slots are not abeam at the start.
        along = sum(legs) * ((number // len(circuits) + k / len(circuits)) / on_it + own.uniform(0.0, 0.01))
        leg = 0
        while along > legs[leg]:
            along -= legs[leg]
            leg += 1
        a, b = circuit[leg], circuit[(leg + 1) % len(circuit)]
        share = along / legs[leg]
        lon, lat = a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share
        vessel = Vessel(
            index=index,
            kind=Kind.CARGO,
            ident=self.identity(index, Kind.CARGO, own),
            home=None,
            berth=None,
            rng=own,
            lon=lon,
            lat=lat,
            activity=Activity.PASSAGE,
            cruise_kn=lane.speeds_kn[k],
            status=UNDER_WAY,
            circuit=True,
        )
        vessel.target_kn = vessel.sog = vessel.cruise_kn
        vessel.waypoints = [circuit[(leg + 1 + i) % len(circuit)] for i in range(len(circuit))]
        vessel.cog = vessel.heading = _bearing((lon, lat), vessel.waypoints[0])
        self._schedule_reports(vessel)
        self.vessels.append(vessel)
        return vessel

    def add(self, vessel: Vessel) -> Vessel:
        """A scripted vessel or device; its index must be `next_index()`."""
        self._schedule_reports(vessel)
        self.vessels.append(vessel)
        return vessel

    def _schedule_reports(self, vessel: Vessel) -> None:
        # Spread the first reports so that the whole fleet does not transmit in the same second.
        vessel.next_ais = self.t + vessel.rng.uniform(0.0, 10.0)
        vessel.next_static = self.t + vessel.rng.uniform(0.0, STATIC_INTERVAL_S)
        vessel.next_terminal = self.t + vessel.rng.uniform(0.0, vessel.ident.terminal_interval_s)

    # --- time ---------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def advance(self, until: float) -> None:
        """Move every vessel in steps of `dt` up to the last step at or before `until`."""
        while self.t + self.dt <= until + 1e-9:
            self.t += self.dt
            for vessel in self.vessels:
                self._plan(vessel)
                self._step(vessel, self.dt)

    def current(self) -> tuple[float, float]:
        """The tidal current (east, north) in m/s: about 0.35 m/s, turning with the tide."""
        phase = 2 * math.pi * (self.start.timestamp() + self.t) / CURRENT_PERIOD_S
        speed = 0.25 + 0.1 * math.sin(phase * 2)
        return speed * math.cos(phase), speed * math.sin(phase) * 0.5 + 0.08

    # --- plans --------------------------------------------------------------------------------------

    def day_plan(self, vessel: Vessel, day: int) -> DayPlan:
        """The vessel's plan for a local day (the same plan however often it is asked for)."""
        key = (vessel.index, day)
        if key not in self._plans:
            self._plans[key] = self._make_plan(vessel, day)
        return self._plans[key]

    def _make_plan(self, vessel: Vessel, day: int) -> DayPlan:
        rng = random.Random(f"{self.seed}:plan:{vessel.index}:{day}")
        midnight = datetime.fromordinal(day).replace(tzinfo=LOCAL)
        base = (midnight - self.start).total_seconds()
        depart = base + 3600 * min(max(rng.gauss(5.6, 0.6), 4.0), 7.5)
        come_home = base + 3600 * rng.uniform(15.0, 18.5)
        rest = rng.random() < self.spec.rest_fraction or self._closed(vessel, base + 43200)
        spot = None if rest else self._choose_spot(vessel, day, rng)
        return DayPlan(day=day, rest=rest or spot is None, depart=depart, come_home=come_home, spot=spot)

    def _closed(self, vessel: Vessel, t: float) -> bool:
        """A fishing closure in force covering the vessel's harbour keeps it in port."""
        when = self.start + timedelta(seconds=t)
        berth = vessel.berth or (vessel.lon, vessel.lat)
        for zone in self.geo.zones:
            if zone.id not in self.closure_ids or not shapely.intersects_xy(zone.geometry, *berth):
                continue
            try:
                if is_active(zone.properties.get("schedule"), when):
                    return True
            except ScheduleError:
                return True
        return False

    def _in_closure(self, spot: LonLat, t: float) -> bool:
        when = self.start + timedelta(seconds=t)
        for zone in self.geo.zones:
            if zone.id in self.closure_ids and shapely.intersects_xy(zone.geometry, *spot):
                try:
                    if is_active(zone.properties.get("schedule"), when):
                        return True
                except ScheduleError:
                    return True
        return False

    def _choose_spot(self, vessel: Vessel, day: int, rng: random.Random) -> LonLat | None:
        """A patch of ground of its own today, within a morning's steaming of home, clear of closures."""
        taken = self._spots_taken.setdefault(day, SpotGrid(SPOT_SPACING_M))
        home = self.geo.harbours[vessel.home].offing if vessel.home else (vessel.lon, vessel.lat)
        for _ in range(500):
            spot = rng.choice(self.geo.grounds)
            if distance_m(home, spot) > MAX_RANGE_M or taken.near(spot):
                continue
            if self._in_closure(spot, self.t):
                continue
            if self._clear is not None and shapely.intersects_xy(self._clear, *spot):
                continue
            taken.add(spot)
            return spot
        return None

    def _plan(self, vessel: Vessel) -> None:
        if vessel.scripted or vessel.kind not in (Kind.TRAWLER, Kind.GILLNETTER) or vessel.home is None:
            return
        day = local_time(self.start, self.t).toordinal()
        if vessel.plan is None or vessel.plan.day != day:
            if vessel.plan is None and vessel.activity is Activity.IN_PORT:
                self._place(vessel, day)
            vessel.plan = self.day_plan(vessel, day)
        plan = vessel.plan
        if plan.rest or plan.spot is None:
            return
        if vessel.activity is Activity.IN_PORT and plan.depart <= self.t < plan.come_home - 3600:
            self._depart(vessel, plan.spot)
        elif vessel.activity in (Activity.FISHING, Activity.OUTBOUND) and self.t >= plan.come_home:
            self.send_home(vessel)

    def _place(self, vessel: Vessel, day: int) -> None:
        """At the first plan, put a vessel where today's plan has it by now (a fleet that starts mid-day
        has boats at sea already), without simulating the morning."""
        plan = self.day_plan(vessel, day)
        if plan.rest or plan.spot is None or not plan.depart + 1800 <= self.t < plan.come_home:
            return
        vessel.activity = Activity.FISHING
        vessel.lon, vessel.lat = plan.spot
        vessel.harbour_now = None
        vessel.spot = plan.spot
        vessel.sog = vessel.work_kn if vessel.kind is Kind.TRAWLER else 0.5
        self.start_fishing(vessel, plan.spot)

    def _depart(self, vessel: Vessel, spot: LonLat) -> None:
        assert vessel.home is not None and vessel.berth is not None
        out = list(reversed(self.geo.route(vessel.home, vessel.berth)))
        vessel.waypoints = [*out[1:], *self.geo.route(vessel.home, spot)[1:]]
        vessel.activity = Activity.OUTBOUND
        vessel.spot = spot
        vessel.target_kn = vessel.cruise_kn
        vessel.status = UNDER_WAY

    def send_home(self, vessel: Vessel) -> None:
        """Head for the home berth by the usual way in."""
        if vessel.home is None or vessel.berth is None:
            return
        inbound = list(reversed(self.geo.route(vessel.home, (vessel.lon, vessel.lat))))
        vessel.waypoints = [*inbound[1:], *self.geo.route(vessel.home, vessel.berth)[1:]]
        vessel.activity = Activity.INBOUND
        vessel.target_kn = vessel.cruise_kn
        vessel.status = UNDER_WAY

    def start_fishing(self, vessel: Vessel, spot: LonLat) -> None:
        vessel.activity = Activity.FISHING
        vessel.spot = spot
        vessel.status = FISHING
        if vessel.kind is Kind.TRAWLER:
            vessel.leg_axis = vessel.rng.uniform(60.0, 120.0)  # along the depth contours, roughly E-W
            vessel.waypoints = _trawl_legs(spot, vessel.leg_axis, vessel.rng)
            vessel.target_kn = vessel.work_kn
        else:
            vessel.waypoints = []
            vessel.target_kn = 0.0
            vessel.reposition_at = self.t + vessel.rng.uniform(5400.0, 9000.0)
            vessel.heading = vessel.rng.uniform(0.0, 360.0)

    # --- motion -------------------------------------------------------------------------------------

    def _step(self, vessel: Vessel, dt: float) -> None:
        activity = vessel.activity
        if activity is Activity.IN_PORT:
            vessel.sog = 0.0
            vessel.turning = False
            return
        if (
            activity is Activity.DRIFTING
            or activity is Activity.STOPPED
            or (activity is Activity.FISHING and vessel.kind is Kind.GILLNETTER and not vessel.waypoints)
        ):
            self._drift(vessel, dt, 1.0 if activity is not Activity.STOPPED else 0.3)
            if activity is Activity.FISHING and self.t >= vessel.reposition_at and vessel.spot is not None:
                vessel.waypoints = [vessel.spot]
                vessel.target_kn = 5.0
            return
        self._follow(vessel, dt)

    def _drift(self, vessel: Vessel, dt: float, factor: float) -> None:
        east, north = self.current()
        # Wind adds to the current for a boat lying beam-on; a few tenths of a knot, per vessel.
        leeway = 0.1 + 0.1 * math.sin(vessel.index)
        east, north = east * factor + leeway * 0.3, north * factor + leeway * 0.2
        self._move(vessel, east * dt, north * dt)
        speed_ms = math.hypot(east, north)
        vessel.sog = speed_ms / KNOT_MS
        vessel.cog = math.degrees(math.atan2(east, north)) % 360.0
        if factor < 1.0:  # stopped on purpose: lying head to the current, not beam-on like a disabled boat
            vessel.heading = (vessel.cog + vessel.rng.gauss(0.0, 3.0)) % 360.0
        else:
            vessel.heading = (vessel.heading + vessel.rng.gauss(0.0, 0.3)) % 360.0
        vessel.turning = False

    def _follow(self, vessel: Vessel, dt: float) -> None:
        if not vessel.waypoints:
            self._arrived(vessel)
            if not vessel.waypoints:
                vessel.sog = max(0.0, vessel.sog - ACCEL_KN_S * 5 * dt)
                vessel.turning = False
                return
        target = vessel.waypoints[0]
        distance = distance_m((vessel.lon, vessel.lat), target)
        desired = _bearing((vessel.lon, vessel.lat), target)
        turn = (desired - vessel.cog + 540.0) % 360.0 - 180.0
        limit = TURN_RATE_DEG_S.get(vessel.kind.value, 3.0) * dt
        applied = max(-limit, min(limit, turn))
        vessel.cog = (vessel.cog + applied) % 360.0
        vessel.turning = abs(applied) / dt > TURNING_DEG_S
        wanted = vessel.target_kn
        step = ACCEL_KN_S * dt
        vessel.sog = min(wanted, vessel.sog + step) if vessel.sog < wanted else max(wanted, vessel.sog - step)
        run = vessel.sog * KNOT_MS * dt
        rad = math.radians(vessel.cog)
        self._move(vessel, run * math.sin(rad), run * math.cos(rad))
        vessel.heading = (vessel.cog + vessel.rng.gauss(0.0, 1.0)) % 360.0
        if distance <= max(run, ARRIVED_M):
            reached = vessel.waypoints.pop(0)
            if vessel.circuit:
                vessel.waypoints.append(reached)
            if not vessel.waypoints:
                self._arrived(vessel)

    def _arrived(self, vessel: Vessel) -> None:
        """Where a vessel goes when it has run out of waypoints."""
        activity = vessel.activity
        if activity is Activity.TRANSIT and vessel.linger:
            vessel.activity = Activity.STOPPED
        elif activity in (Activity.OUTBOUND, Activity.TRANSIT) and vessel.spot is not None:
            self.start_fishing(vessel, vessel.spot)
        elif activity is Activity.FISHING and vessel.spot is not None:
            if vessel.kind is Kind.TRAWLER:
                vessel.waypoints = _trawl_legs(vessel.spot, vessel.leg_axis, vessel.rng)
            else:  # a gill-netter back at its nets: lie to them again
                vessel.target_kn = 0.0
                vessel.reposition_at = self.t + vessel.rng.uniform(5400.0, 9000.0)
        elif activity is Activity.INBOUND and vessel.berth is not None:
            vessel.activity = Activity.IN_PORT
            vessel.lon, vessel.lat = vessel.berth
            vessel.sog = 0.0
            vessel.status = MOORED
            vessel.spot = None

    def _move(self, vessel: Vessel, east_m: float, north_m: float) -> None:
        vessel.lat += metres_to_degrees_lat(north_m)
        vessel.lon += metres_to_degrees_lon(east_m, vessel.lat)
        if vessel.kind is not Kind.DEVICE and vessel.home is not None:
            self._gates(vessel)

    def _gates(self, vessel: Vessel) -> None:
        west, south, east, north = self._harbour_box
        if vessel.harbour_now is None and not (west <= vessel.lon <= east and south <= vessel.lat <= north):
            return  # far from every harbour: no polygon test needed
        inside = self.geo.in_harbour(vessel.lon, vessel.lat)
        now = inside.id if inside is not None else None
        if now != vessel.harbour_now:
            if vessel.harbour_now is not None:
                self.crossings.append(GateCrossing(self.t, vessel, vessel.harbour_now, "out"))
            if now is not None:
                self.crossings.append(GateCrossing(self.t, vessel, now, "in"))
            vessel.harbour_now = now

    # --- what a report says -------------------------------------------------------------------------

    def fix(self, vessel: Vessel, t: float) -> tuple[float, float]:
        """The vessel's GNSS position at `t` (a little after the last step): dead reckoning from the
        last step, plus GNSS scatter."""
        ahead = max(0.0, t - self.t) * vessel.sog * KNOT_MS
        rad = math.radians(vessel.cog)
        # Its own stream, so that reporting more or less often never changes where a vessel goes.
        noise = random.Random(f"{self.seed}:gnss:{vessel.index}:{t:.3f}")
        east = ahead * math.sin(rad) + noise.gauss(0.0, GNSS_NOISE_M)
        north = ahead * math.cos(rad) + noise.gauss(0.0, GNSS_NOISE_M)
        lat = vessel.lat + metres_to_degrees_lat(north)
        return vessel.lon + metres_to_degrees_lon(east, lat), lat

    def nav_status(self, vessel: Vessel) -> int:
        return vessel.status if vessel.status_override is None else vessel.status_override

    def in_port_fraction(self) -> float:
        fishing = [v for v in self.vessels if v.kind in (Kind.TRAWLER, Kind.GILLNETTER) and not v.scripted]
        return sum(v.activity is Activity.IN_PORT for v in fishing) / max(len(fishing), 1)


def _trawl_legs(spot: LonLat, axis: float, rng: random.Random) -> list[LonLat]:
    """Six legs back and forth along `axis`, stepping 300 m sideways each time: a box of about 1.5 km by
    1.6 km around the spot, so the trawler turns at each end."""
    half = rng.uniform(600.0, 900.0)
    rad, side = math.radians(axis), math.radians(axis + 90.0)
    legs = []
    for i in range(6):
        offset = (i - 2.5) * 300.0
        end = half if i % 2 == 0 else -half
        east = end * math.sin(rad) + offset * math.sin(side)
        north = end * math.cos(rad) + offset * math.cos(side)
        lat = spot[1] + metres_to_degrees_lat(north)
        legs.append((spot[0] + metres_to_degrees_lon(east, lat), lat))
    return legs


class SpotGrid:
    """The day's fishing spots, bucketed in cells at least `spacing_m` wide, so that whether a new spot
    is too near one taken looks at the nine cells around it, not at the whole fleet (a fleet started
    at midday places every boat at once: that was seconds of pairwise distances)."""

    def __init__(self, spacing_m: float) -> None:
        self.spacing_m = spacing_m
        self._lat_deg = math.degrees(spacing_m / EARTH_RADIUS_M)
        # A degree of longitude is shorter than one of latitude by cos(lat): cells twice as wide in
        # degrees stay at least `spacing_m` wide up to 60° of latitude.
        self._lon_deg = 2 * self._lat_deg
        self._cells: dict[tuple[int, int], list[LonLat]] = {}

    def _cell(self, spot: LonLat) -> tuple[int, int]:
        return math.floor(spot[0] / self._lon_deg), math.floor(spot[1] / self._lat_deg)

    def near(self, spot: LonLat) -> bool:
        cx, cy = self._cell(spot)
        return any(
            distance_m(spot, other) < self.spacing_m
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for other in self._cells.get((cx + dx, cy + dy), ())
        )

    def add(self, spot: LonLat) -> None:
        self._cells.setdefault(self._cell(spot), []).append(spot)


def _bearing(a: LonLat, b: LonLat) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    east = math.radians(b[0] - a[0]) * math.cos(lat)
    north = math.radians(b[1] - a[1])
    return math.degrees(math.atan2(east, north)) % 360.0


_CARGO_NAMES = (
    "COSCO HARMONY",
    "ZHONG GU NAN HAI",
    "HAI YANG SHI YOU",
    "MIN XIN",
    "YUE DONG",
    "GUANG ZHOU DA",
    "NAN FANG ZHI XING",
    "HUA HANG",
)
