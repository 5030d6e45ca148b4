"""Arrivals, departures and voyages from positions and harbour gate reads. Pure: no I/O, no wall clock.

`PortCallDetector.position` and `.gate_read` take one input each and return what it revealed;
`.tick(now)` returns what the passing of time revealed (an arrival of a boat that fell silent at its
mooring, a gate read no track confirmed). Each vessel's state is JSON (`to_json`/`from_json`) so the
tracker can persist it with the vessel's latest position and resume exactly after a restart.

The hysteresis, in the shape GPS jitter at a breakwater cannot flap:

- **Arrive**: inside a harbour or shelter polygon and at most `arrive_max_speed_kn` for
  `arrive_dwell_s`. The arrival time is when the vessel entered the polygon, not when the dwell ended.
  A fix a few metres outside (within `depart_buffer_m`) keeps the candidate; a fast fix restarts the
  dwell clock; a boat steaming through a harbour box never arrives.
- **Depart**: `depart_buffer_m` outside the port's polygon. The departure time is the first fix outside
  the polygon of that excursion, so a boat that wanders out to the buffer and back never departs.
- **First sight**: a vessel first seen inside a port and slow is in port from then on (`initial`: not
  counted as an arrival); first seen at sea, it is at sea with no voyage until its next arrival.

Gate reads (`direction` in/out) are matched to track events within `gate_match_s`, either way round:

- a read matching a detected arrival (in) or departure (out) confirms it (`gate_at` on the event or a
  `GateConfirmed`);
- a read no event matches within the window stands on its own when the track is silent since the read
  (a departure with the transponder off is exactly what the gate is for): `method="gate"`;
- otherwise the track disagrees (the boat stayed moored, or was at sea): `GateContradicted`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from seawatch.settings import TrackingSettings
from tracking.geo import KNOT_MS, haversine_m
from tracking.zones import Zone, ZoneIndex

PORT_KINDS = ("harbour", "shelter")
Direction = Literal["in", "out"]
Method = Literal["track", "gate", "initial"]


@dataclass(frozen=True, slots=True)
class Config:
    arrive_dwell_s: float = 300.0
    arrive_max_speed_kn: float = 2.0
    depart_buffer_m: float = 200.0
    gate_match_s: float = 1800.0
    max_gap_s: float = 1800.0
    max_implied_speed_kn: float = 60.0

    @classmethod
    def from_settings(cls, s: TrackingSettings) -> Config:
        return cls(
            s.arrive_dwell_s,
            s.arrive_max_speed_kn,
            s.depart_buffer_m,
            s.gate_match_s,
            s.max_gap_s,
            s.max_implied_speed_kn,
        )


@dataclass(frozen=True, slots=True)
class Fix:
    vessel_id: int
    ts: datetime
    lon: float
    lat: float
    speed: float | None = None  # knots; None: implied from the previous fix


@dataclass(frozen=True, slots=True)
class GateRead:
    vessel_id: int
    ts: datetime
    direction: Direction
    zone_id: str | None = None
    reader: str | None = None


@dataclass(slots=True)
class Voyage:
    from_zone_id: str
    departed_at: datetime
    distance_m: float = 0.0
    max_speed_kn: float | None = None
    positions: int = 0
    zone_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Arrival:
    vessel_id: int
    zone: Zone
    at: datetime
    method: Method
    gate_at: datetime | None = None
    voyage: Voyage | None = None  # the voyage this arrival closes, when its departure was seen


@dataclass(frozen=True, slots=True)
class Departure:
    vessel_id: int
    zone: Zone
    at: datetime
    method: Literal["track", "gate"]
    gate_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class GateConfirmed:
    """A gate read confirming an arrival or departure reported earlier."""

    vessel_id: int
    zone_id: str
    direction: Direction
    event_at: datetime
    gate_at: datetime


@dataclass(frozen=True, slots=True)
class GateContradicted:
    read: GateRead
    reason: str


Event = Arrival | Departure | GateConfirmed | GateContradicted


@dataclass(slots=True)
class _Recent:
    """A track event kept for `gate_match_s`, waiting for a gate read to confirm it."""

    direction: Direction
    zone_id: str
    at: datetime
    confirmed: bool = False


@dataclass(slots=True)
class VesselTrack:
    last: Fix | None = None
    last_zone_ids: list[str] = field(default_factory=list)  # non-port zones holding the last fix
    port: str | None = None  # the harbour or shelter the vessel is in
    outside_since: datetime | None = None  # in port: first fix outside the polygon, this excursion
    entered: str | None = None  # at sea: the port polygon the vessel is inside (or near, after entering)
    entered_at: datetime | None = None
    slow_since: datetime | None = None
    last_inside: bool = False  # the last fix was inside `entered`
    voyage: Voyage | None = None
    recent: list[_Recent] = field(default_factory=list)
    pending: list[GateRead] = field(default_factory=list)
    last_read: datetime | None = None  # the newest gate read taken


class PortCallDetector:
    def __init__(self, zones: ZoneIndex, config: Config = Config()) -> None:
        self.config = config
        self.vessels: dict[int, VesselTrack] = {}
        self.set_zones(zones)

    def set_zones(self, zones: ZoneIndex) -> None:
        """Use a new zone set (zones were edited); a vessel in a port that vanished is left there until it
        departs by its last known polygon… which it no longer has: it is put at sea, with no event."""
        self.zones = zones
        self.ports = ZoneIndex(zones.of_kind(*PORT_KINDS))
        for track in self.vessels.values():
            if track.port is not None and self.ports.get(track.port) is None:
                track.port, track.outside_since = None, None
            if track.entered is not None and self.ports.get(track.entered) is None:
                track.entered, track.entered_at, track.slow_since = None, None, None

    def track(self, vessel_id: int) -> VesselTrack:
        return self.vessels.setdefault(vessel_id, VesselTrack())

    # --- positions --------------------------------------------------------------------------------

    def position(self, fix: Fix) -> list[Event]:
        """Fold one fix in. Fixes not newer than the vessel's last are ignored (replays, late uploads)."""
        t = self.track(fix.vessel_id)
        if t.last is not None and fix.ts <= t.last.ts:
            return []
        first = t.last is None
        speed = fix.speed if fix.speed is not None else self._implied_kn(t.last, fix)
        zone_ids = [z.id for z in self.zones.containing(fix.lon, fix.lat) if z.kind not in PORT_KINDS]
        if t.voyage is not None and t.last is not None:
            self._accumulate(t, t.voyage, t.last, fix, speed, zone_ids)
        events: list[Event] = []
        if t.port is not None:
            events += self._in_port(t, fix)
        if t.port is None:
            events += self._at_sea(t, fix, speed, first)
        t.last, t.last_zone_ids = fix, zone_ids
        return events

    def _in_port(self, t: VesselTrack, fix: Fix) -> list[Event]:
        zone = self.ports.get(t.port or "")
        if zone is None:
            return []
        distance = zone.signed_distance_m(fix.lon, fix.lat)
        if distance >= 0:
            t.outside_since = None
            return []
        t.outside_since = t.outside_since or fix.ts
        if distance > -self.config.depart_buffer_m:
            return []
        return [self._depart(t, fix.vessel_id, zone, t.outside_since, "track")]

    def _at_sea(self, t: VesselTrack, fix: Fix, speed: float | None, first: bool) -> list[Event]:
        slow = speed is not None and speed <= self.config.arrive_max_speed_kn
        near = self.ports.within_m(fix.lon, fix.lat, self.config.depart_buffer_m)
        distances = {z.id: z.signed_distance_m(fix.lon, fix.lat) for z in near}
        inside = [z for z in near if distances[z.id] >= 0]
        if inside:
            zone = max(inside, key=lambda z: distances[z.id])  # the deepest, where polygons touch
            if first and slow:
                return [self._arrive(t, fix.vessel_id, zone, fix.ts, "initial")]
            if t.entered != zone.id:
                t.entered, t.entered_at, t.slow_since = zone.id, fix.ts, None
            t.last_inside = True
        elif t.entered is not None and t.entered in distances:
            t.last_inside = False  # just outside, within the buffer: jitter, keep the candidate
        else:
            t.entered, t.entered_at, t.slow_since, t.last_inside = None, None, None, False
            return []
        t.slow_since = (t.slow_since or fix.ts) if slow else None
        return self._arrive_if_dwelt(t, fix.vessel_id, fix.ts)

    def _arrive_if_dwelt(self, t: VesselTrack, vessel_id: int, now: datetime) -> list[Event]:
        if t.entered is None or t.entered_at is None or t.slow_since is None:
            return []
        if (now - t.slow_since).total_seconds() < self.config.arrive_dwell_s:
            return []
        zone = self.ports.get(t.entered)
        if zone is None:
            return []
        return [self._arrive(t, vessel_id, zone, t.entered_at, "track")]

    def _implied_kn(self, last: Fix | None, fix: Fix) -> float | None:
        if last is None:
            return None
        dt = (fix.ts - last.ts).total_seconds()
        if dt <= 0 or dt > self.config.max_gap_s:
            return None
        return float(haversine_m(last.lon, last.lat, fix.lon, fix.lat)) / dt / KNOT_MS

    def _accumulate(
        self, t: VesselTrack, voyage: Voyage, last: Fix, fix: Fix, speed: float | None, zone_ids: list[str]
    ) -> None:
        voyage.positions += 1
        if speed is not None:
            voyage.max_speed_kn = max(voyage.max_speed_kn or 0.0, speed)
        dt = (fix.ts - last.ts).total_seconds()
        if dt > self.config.max_gap_s:
            return  # a silence: where the boat went meanwhile is unknown
        metres = float(haversine_m(last.lon, last.lat, fix.lon, fix.lat))
        if metres <= self.config.max_implied_speed_kn * KNOT_MS * max(dt, 1.0):
            voyage.distance_m += metres
        # A stretch counts for a zone when both its ends are inside: a boundary crossing adds nothing
        # rather than guessing where between two fixes it happened.
        for zone_id in set(zone_ids) & set(t.last_zone_ids):
            voyage.zone_seconds[zone_id] = voyage.zone_seconds.get(zone_id, 0.0) + dt

    # --- events -----------------------------------------------------------------------------------

    def _arrive(self, t: VesselTrack, vessel_id: int, zone: Zone, at: datetime, method: Method) -> Arrival:
        voyage, t.voyage = t.voyage, None
        t.port, t.outside_since = zone.id, None
        t.entered, t.entered_at, t.slow_since, t.last_inside = None, None, None, False
        gate = self._take_read(t, "in", zone.id, at) if method != "initial" else None
        if method == "track" and gate is None:
            t.recent.append(_Recent("in", zone.id, at))
        return Arrival(vessel_id, zone, at, method, gate.ts if gate else None, voyage)

    def _depart(
        self, t: VesselTrack, vessel_id: int, zone: Zone, at: datetime, method: Literal["track", "gate"]
    ) -> Departure:
        t.port, t.outside_since = None, None
        t.voyage = Voyage(from_zone_id=zone.id, departed_at=at)
        gate = self._take_read(t, "out", zone.id, at) if method == "track" else None
        if method == "track" and gate is None:
            t.recent.append(_Recent("out", zone.id, at))
        return Departure(vessel_id, zone, at, method, gate.ts if gate else None)

    def _take_read(self, t: VesselTrack, direction: Direction, zone_id: str, at: datetime) -> GateRead | None:
        window = timedelta(seconds=self.config.gate_match_s)
        for read in t.pending:
            if (
                read.direction == direction
                and read.zone_id in (None, zone_id)
                and abs(read.ts - at) <= window
            ):
                t.pending.remove(read)
                return read
        return None

    # --- gate reads -------------------------------------------------------------------------------

    def gate_read(self, read: GateRead) -> list[Event]:
        t = self.track(read.vessel_id)
        if t.last_read is not None and read.ts <= t.last_read:
            return []  # seen already (the tracker re-reads a little history on every poll)
        t.last_read = read.ts
        window = timedelta(seconds=self.config.gate_match_s)
        for recent in t.recent:
            if (
                not recent.confirmed
                and recent.direction == read.direction
                and read.zone_id in (None, recent.zone_id)
                and abs(read.ts - recent.at) <= window
            ):
                recent.confirmed = True
                return [GateConfirmed(read.vessel_id, recent.zone_id, read.direction, recent.at, read.ts)]
        t.pending.append(read)
        return []

    # --- time -------------------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Event]:
        """Arrivals whose dwell ended in silence, and gate reads whose window closed unmatched."""
        events: list[Event] = []
        window = timedelta(seconds=self.config.gate_match_s)
        for vessel_id, t in self.vessels.items():
            if t.port is None and t.last_inside:
                events += self._arrive_if_dwelt(t, vessel_id, now)
            t.recent = [r for r in t.recent if now - r.at <= window]
            due = [r for r in t.pending if now - r.ts > window]
            for read in due:
                t.pending.remove(read)
                events += self._settle_read(t, read)
        return events

    def _settle_read(self, t: VesselTrack, read: GateRead) -> list[Event]:
        # Silent: no fix since the read, so nothing in the track speaks against it.
        silent = t.last is None or t.last.ts <= read.ts
        untracked = t.last is None  # a boat known only to the gates
        if read.direction == "out":
            if t.port is None:
                zone = self.ports.get(read.zone_id or "")
                if untracked and zone is not None:
                    return [self._depart(t, read.vessel_id, zone, read.ts, "gate")]
                return [] if untracked else [GateContradicted(read, "out through the gate, but at sea")]
            if read.zone_id not in (None, t.port):
                return [GateContradicted(read, "out through another port's gate")]
            if not silent:
                return [GateContradicted(read, "out through the gate, but the track stayed in port")]
            zone = self.ports.get(t.port)
            return [] if zone is None else [self._depart(t, read.vessel_id, zone, read.ts, "gate")]
        if t.port is not None:
            return [] if untracked else [GateContradicted(read, "in through the gate, but already in port")]
        zone = self.ports.get(read.zone_id or t.entered or "")
        if zone is None:
            return []
        if not silent:
            return [GateContradicted(read, "in through the gate, but the track stayed at sea")]
        return [self._arrive(t, read.vessel_id, zone, read.ts, "gate")]


# --- state as JSON ----------------------------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def track_to_json(t: VesselTrack) -> dict[str, Any]:
    last = t.last
    return {
        "last": None if last is None else [last.ts.isoformat(), last.lon, last.lat, last.speed],
        "last_zone_ids": t.last_zone_ids,
        "port": t.port,
        "outside_since": _iso(t.outside_since),
        "entered": t.entered,
        "entered_at": _iso(t.entered_at),
        "slow_since": _iso(t.slow_since),
        "last_inside": t.last_inside,
        "voyage": None
        if t.voyage is None
        else {
            "from_zone_id": t.voyage.from_zone_id,
            "departed_at": t.voyage.departed_at.isoformat(),
            "distance_m": t.voyage.distance_m,
            "max_speed_kn": t.voyage.max_speed_kn,
            "positions": t.voyage.positions,
            "zone_seconds": t.voyage.zone_seconds,
        },
        "recent": [[r.direction, r.zone_id, r.at.isoformat(), r.confirmed] for r in t.recent],
        "pending": [[p.ts.isoformat(), p.direction, p.zone_id, p.reader] for p in t.pending],
        "last_read": _iso(t.last_read),
    }


def track_from_json(vessel_id: int, data: dict[str, Any]) -> VesselTrack:
    last = data.get("last")
    voyage = data.get("voyage")
    return VesselTrack(
        last=None if not last else Fix(vessel_id, datetime.fromisoformat(last[0]), last[1], last[2], last[3]),
        last_zone_ids=list(data.get("last_zone_ids") or []),
        port=data.get("port"),
        outside_since=_time(data.get("outside_since")),
        entered=data.get("entered"),
        entered_at=_time(data.get("entered_at")),
        slow_since=_time(data.get("slow_since")),
        last_inside=bool(data.get("last_inside")),
        voyage=None
        if not voyage
        else Voyage(
            from_zone_id=voyage["from_zone_id"],
            departed_at=datetime.fromisoformat(voyage["departed_at"]),
            distance_m=float(voyage["distance_m"]),
            max_speed_kn=voyage.get("max_speed_kn"),
            positions=int(voyage["positions"]),
            zone_seconds={str(k): float(v) for k, v in voyage["zone_seconds"].items()},
        ),
        recent=[
            _Recent(r[0], r[1], datetime.fromisoformat(r[2]), bool(r[3])) for r in data.get("recent", [])
        ],
        pending=[
            GateRead(vessel_id, datetime.fromisoformat(p[0]), p[1], p[2], p[3])
            for p in data.get("pending", [])
        ],
        last_read=_time(data.get("last_read")),
    )
