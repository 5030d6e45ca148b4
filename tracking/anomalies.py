"""Identity anomalies: a vessel's identities telling stories that cannot all be true.

Four kinds, each an `identity_anomaly` record (source `identity`) for the events table and, later, the
alert engine's `identity_mismatch` rule:

- `mmsi_two_places` — consecutive AIS positions of one MMSI imply a speed above
  `identity.max_implied_speed_kn`: two transmitters share the MMSI, or one is spoofed. Copies from
  several receivers and reports arriving out of order are compared by the absolute time between them,
  with `POSITION_NOISE_M` forgiven and at least `MIN_INTERVAL_S` assumed (AIS times have one-second
  resolution and receivers stamp them differently). SAR aircraft (AIS type 9) are left out.
- `sources_disagree` — the vessel's AIS and terminal (JT/T 808 or terminal JSON) positions are more than
  `identity.ais_terminal_max_distance_m` apart when both are at most `identity.sources_max_age_s` old
  and that close in time; the distance the vessel may have run in between (at the higher reported
  speed) is allowed on top.
- `gate_elsewhere` — a harbour gate reads the vessel's tag while its latest position, from within
  `sources_max_age_s` of the read, is more than `identity.gate_max_distance_m` (plus the run allowance)
  from the gate: the tag is on another boat, or the track is false.
- `dark_departure` — the vessel goes *out* through a gate and no source has placed it anywhere for
  `identity.gate_silence_s`: before the read (it sat dark in harbour and left dark), or after it (it
  switched off on the way out; found by `overdue_departures`, which the ingest service runs
  periodically). Only once seawatch has been watching for `gate_silence_s`, so a restart is not a fleet
  of dark departures.

Where a gate is: the position the reader sends with each read (`lon`/`lat` of the tag-read JSON, from
the reader's configuration), or, when a deployment configures it, a reader id → position mapping given
to `detect` (it wins). A gate without a known position is checked for dark departures only.

Distances are `tracking.geo.point_distance_m` (haversine): within 0.5 % of the ellipsoid at these
latitudes, a few metres in the kilometres compared here.

The functions are pure apart from the `AnomalyState` they update: time comes in as `now`. An anomaly of
one kind for one vessel is reported at most once per `REPEAT_AFTER_S`; the alert engine keeps one
alert per condition anyway, this only keeps the events table from a row per report of a cloned MMSI.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from seawatch.settings import IdentitySettings
from tracking.geo import KNOT_MS, point_distance_m
from tracking.identity import IdentityRegistry, Lookup
from tracking.rows import MMSI_MAX, RejectedRecord, identity_of

Record = dict[str, Any]
GatePositions = Mapping[str, tuple[float, float]]  # reader id → (lon, lat)

ANOMALY_KIND = "identity_anomaly"
AIS_SOURCES = frozenset({"ais"})
TERMINAL_SOURCES = frozenset({"jt808", "terminal_json"})
AIRCRAFT_MSG_TYPES = frozenset({9})
_FIX_SOURCES = AIS_SOURCES | TERMINAL_SOURCES
_NUMBERS = (int, float)
#: GNSS scatter and AIS position resolution (type 27 reports are rounded to ~185 m), forgiven.
POSITION_NOISE_M = 250.0
#: The shortest interval assumed between two reports.
MIN_INTERVAL_S = 2.0
REPEAT_AFTER_S = 300.0
_IDENTITY_FIELD = {"mmsi": "mmsi", "terminal": "terminal", "tag": "tag_id"}


class Fix(NamedTuple):  # a tuple: made for every position that passes, and cheaper than a dataclass
    ts: datetime
    lon: float
    lat: float
    source: str
    identity: tuple[str, str]
    speed: float | None  # knots, as reported

    def evidence(self) -> Record:
        return {
            "ts": self.ts,
            "lon": self.lon,
            "lat": self.lat,
            "source": self.source,
            self.identity[0]: self.identity[1],
        }


@dataclass(slots=True)
class GateRead:
    ts: datetime
    reader: str
    direction: str
    record: Record  # the read, for the identity and evidence of a later dark departure
    reported: bool = False


@dataclass(slots=True)
class VesselTrack:
    fixes: dict[str, Fix] = field(default_factory=dict)  # the latest (by ts) per source
    last_gate: GateRead | None = None
    reported: dict[str, datetime] = field(default_factory=dict)  # anomaly → when last reported


class AnomalyState:
    """What the detector remembers, per vessel, least recently heard forgotten first."""

    def __init__(self, started_at: datetime, *, max_vessels: int = 100_000) -> None:
        self.started_at = started_at
        self.max_vessels = max_vessels
        self.vessels: OrderedDict[int, VesselTrack] = OrderedDict()

    def vessel(self, vessel_id: int) -> VesselTrack:
        state = self.vessels.get(vessel_id)
        if state is None:
            state = self.vessels[vessel_id] = VesselTrack()
            if len(self.vessels) > self.max_vessels:
                self.vessels.popitem(last=False)
        else:
            self.vessels.move_to_end(vessel_id)
        return state


def detect(
    state: AnomalyState,
    vessel_id: int,
    record: Record,
    settings: IdentitySettings,
    now: datetime,
    *,
    gates: GatePositions | None = None,
) -> list[Record]:
    """The anomalies `record` (already resolved to `vessel_id`) reveals; updates `state`."""
    kind = record.get("kind")
    if kind == "position":
        fix = fix_of(record)
        if fix is None:
            return []
        return _detect(state, vessel_id, record, fix, settings, now, gates or {})
    if kind == "tag_read":
        return _detect(state, vessel_id, record, None, settings, now, gates or {})
    state.vessel(vessel_id)
    return []


def _detect(
    state: AnomalyState,
    vessel_id: int,
    record: Record,
    fix: Fix | None,
    settings: IdentitySettings,
    now: datetime,
    gates: GatePositions,
) -> list[Record]:
    """`detect` with the position's fix worked out (None: the record is a gate read)."""
    vessel = state.vessel(vessel_id)
    found: list[tuple[str, Record]] = []
    if fix is not None:
        found += _two_places(vessel, fix, record, settings)
        found += _sources_disagree(vessel, fix, settings, now)
        latest = vessel.fixes.get(fix.source)
        if latest is None or latest.ts <= fix.ts:
            vessel.fixes[fix.source] = fix
    else:
        found += _gate_read(state, vessel, record, settings, now, gates)
    if not found:
        return []
    return [
        anomaly(record, vessel_id, name, evidence, now)
        for name, evidence in found
        if _not_repeated(vessel, name, now)
    ]


def overdue_departures(state: AnomalyState, settings: IdentitySettings, now: datetime) -> list[Record]:
    """Dark departures found by waiting: out through a gate, and not one position since."""
    silence = timedelta(seconds=settings.gate_silence_s)
    found: list[Record] = []
    for vessel_id, vessel in state.vessels.items():
        read = vessel.last_gate
        if read is None or read.reported or read.direction != "out" or now - read.ts < silence:
            continue
        if any(fix.ts > read.ts for fix in vessel.fixes.values()):
            continue
        read.reported = True
        evidence = {"reader": read.reader, "direction": read.direction, "read_at": read.ts}
        evidence["silent_since_read_s"] = (now - read.ts).total_seconds()
        if _not_repeated(vessel, "dark_departure", now):
            found.append(anomaly(read.record, vessel_id, "dark_departure", evidence, now))
    return found


def fix_of(record: Record) -> Fix | None:
    """The position a record places its vessel at, or None when it places it nowhere we compare."""
    source, lon, lat, ts = record.get("source"), record.get("lon"), record.get("lat"), _ts(record)
    if source not in _FIX_SOURCES or ts is None:
        return None
    if record.get("fix") is False:
        return None  # a terminal without a GNSS fix sends 0, 0 or its last fix: it places it nowhere
    if not isinstance(lon, _NUMBERS) or not isinstance(lat, _NUMBERS):
        return None
    mmsi = record.get("mmsi")
    if type(mmsi) is int and 0 < mmsi <= MMSI_MAX:
        identity = ("mmsi", str(mmsi))  # what identity_of says, sooner
    else:
        try:
            found = identity_of(record)
        except RejectedRecord:
            return None
        if found is None:
            return None
        identity = found
    speed = record.get("speed")
    return Fix(ts, float(lon), float(lat), str(source), identity, _number(speed))


def anomaly(trigger: Record, vessel_id: int, name: str, evidence: Record, now: datetime) -> Record:
    """The record of one anomaly; it carries the trigger's identity so the store files it under the
    same vessel."""
    result: Record = {
        "kind": ANOMALY_KIND,
        "source": "identity",
        "ts": _ts(trigger),
        "anomaly": name,
        "vessel_id": vessel_id,
        "lon": trigger.get("lon"),
        "lat": trigger.get("lat"),
        "detected_at": now,
        "evidence": evidence,
    }
    if trigger.get("drill"):
        result["drill"] = True  # an anomaly in a drill is part of the drill
    if trigger.get("received_at") is not None:
        result["received_at"] = trigger["received_at"]
    identity = identity_of(trigger)
    if identity is not None:
        result[_IDENTITY_FIELD[identity[0]]] = identity[1]
    return result


# --- the checks ------------------------------------------------------------------------------------


def _two_places(
    vessel: VesselTrack, fix: Fix, record: Record, settings: IdentitySettings
) -> list[tuple[str, Record]]:
    previous = vessel.fixes.get(fix.source)
    if fix.source not in AIS_SOURCES or previous is None or record.get("msg_type") in AIRCRAFT_MSG_TYPES:
        return []
    if previous.identity != fix.identity:  # another transponder of the same hull: nothing to compare
        return []
    interval = abs((fix.ts - previous.ts).total_seconds())
    distance = _between(previous, fix)
    implied_kn = max(0.0, distance - POSITION_NOISE_M) / max(interval, MIN_INTERVAL_S) / KNOT_MS
    if implied_kn <= settings.max_implied_speed_kn:
        return []
    return [
        (
            "mmsi_two_places",
            {
                "previous": previous.evidence(),
                "current": fix.evidence(),
                "distance_m": round(distance, 1),
                "interval_s": interval,
                "implied_speed_kn": round(implied_kn, 1),
                "max_implied_speed_kn": settings.max_implied_speed_kn,
            },
        )
    ]


def _sources_disagree(
    vessel: VesselTrack, fix: Fix, settings: IdentitySettings, now: datetime
) -> list[tuple[str, Record]]:
    if len(vessel.fixes) <= (fix.source in vessel.fixes):
        return []  # no other source has placed this vessel (most vessels have AIS alone)
    others = TERMINAL_SOURCES if fix.source in AIS_SOURCES else AIS_SOURCES
    max_age = settings.sources_max_age_s
    if (now - fix.ts).total_seconds() > max_age:
        return []  # a late upload: the other source's latest fix says nothing about that moment
    candidates = [vessel.fixes[s] for s in others if s in vessel.fixes]
    if not candidates:
        return []
    other = min(candidates, key=lambda c: abs((c.ts - fix.ts).total_seconds()))
    interval = abs((other.ts - fix.ts).total_seconds())
    if interval > max_age or (now - other.ts).total_seconds() > max_age:
        return []
    distance = _between(other, fix)
    allowed = settings.ais_terminal_max_distance_m + _run(fix, other, interval)
    if distance <= allowed:
        return []
    ais, terminal = (fix, other) if fix.source in AIS_SOURCES else (other, fix)
    evidence = {"ais": ais.evidence(), "terminal": terminal.evidence(), "interval_s": interval}
    return [
        ("sources_disagree", {**evidence, "distance_m": round(distance, 1), "allowed_m": round(allowed, 1)})
    ]


def _gate_read(
    state: AnomalyState,
    vessel: VesselTrack,
    record: Record,
    settings: IdentitySettings,
    now: datetime,
    gates: GatePositions,
) -> list[tuple[str, Record]]:
    ts = _ts(record)
    if ts is None:
        return []
    reader, direction = str(record.get("reader")), str(record.get("direction", "unknown"))
    read = GateRead(ts, reader, direction, record)
    if vessel.last_gate is None or vessel.last_gate.ts <= ts:
        vessel.last_gate = read
    latest = max(vessel.fixes.values(), key=lambda f: f.ts, default=None)
    evidence: Record = {"reader": reader, "direction": direction}
    found: list[tuple[str, Record]] = []
    gate = gates.get(reader) or _gate_of(record)
    if gate is not None and latest is not None:
        interval = abs((latest.ts - ts).total_seconds())
        if interval <= settings.sources_max_age_s:
            distance = point_distance_m(gate[0], gate[1], latest.lon, latest.lat)
            allowed = settings.gate_max_distance_m + _run(latest, None, interval)
            if distance > allowed:
                gate_evidence = {"gate": {"lon": gate[0], "lat": gate[1]}, "track": latest.evidence()}
                distances = {"distance_m": round(distance, 1), "allowed_m": round(allowed, 1)}
                found.append(("gate_elsewhere", {**evidence, **gate_evidence, **distances}))
    watched = (now - state.started_at).total_seconds() >= settings.gate_silence_s
    silent = latest is None or (ts - latest.ts).total_seconds() > settings.gate_silence_s
    if direction == "out" and watched and silent:
        read.reported = True
        last = None if latest is None else latest.evidence()
        silent_s = None if latest is None else (ts - latest.ts).total_seconds()
        found.append(
            ("dark_departure", {**evidence, "read_at": ts, "last_position": last, "silent_s": silent_s})
        )
    return found


# --- helpers ---------------------------------------------------------------------------------------


def _not_repeated(vessel: VesselTrack, name: str, now: datetime) -> bool:
    last = vessel.reported.get(name)
    if last is not None and (now - last).total_seconds() < REPEAT_AFTER_S:
        return False
    vessel.reported[name] = now
    return True


def _between(a: Fix, b: Fix) -> float:
    return point_distance_m(a.lon, a.lat, b.lon, b.lat)


def _run(a: Fix, b: Fix | None, interval_s: float) -> float:
    """How far the vessel may have gone in `interval_s` at the higher speed either fix reports."""
    speeds = [s for s in (a.speed, b.speed if b else None) if s is not None]
    return max(speeds, default=0.0) * KNOT_MS * interval_s


def _gate_of(record: Record) -> tuple[float, float] | None:
    lon, lat = _number(record.get("lon")), _number(record.get("lat"))
    return None if lon is None or lat is None else (lon, lat)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _ts(record: Record) -> datetime | None:
    ts = record.get("ts") or record.get("received_at")
    if not isinstance(ts, datetime):
        return None
    # A naive time is taken as UTC, as the store does.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


# --- the detector ingest runs ---------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


class Subject(NamedTuple):
    """A record the detector has something to say about, with what every check needs, worked out once."""

    record: Record
    identity: tuple[str, str]
    ts: datetime
    fix: Fix | None  # for a position


class AnomalyDetector:
    """`detect` for records straight from ingest, resolving each record's vessel through the identity
    registry and keeping the state.

    The ingest path (`ingest.anomaly_sink`) uses the parts: `subject` (is there anything to check?),
    `known_vessel` (the registry's cache: a dict lookup, no query), `detect_subject`, and — for the few
    records whose vessel only the database knows — `resolve`, one query for many records; an unknown
    identity gets the provisional vessel the store would create anyway. `check` does all of it for one
    record."""

    def __init__(
        self,
        registry: IdentityRegistry,
        settings: IdentitySettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        gates: GatePositions | None = None,
        max_vessels: int = 100_000,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.gates = dict(gates or {})
        self.state = AnomalyState(clock(), max_vessels=max_vessels)

    def subject(self, record: Record) -> Subject | None:
        """What to check this record with, or None when it can reveal nothing (most kinds)."""
        kind = record.get("kind")
        if kind == "position":
            fix = fix_of(record)
            if fix is None:
                return None
            return Subject(record, fix.identity, fix.ts, fix)
        if kind != "tag_read":
            return None
        ts = _ts(record)
        try:
            identity = identity_of(record)
        except RejectedRecord:
            return None
        if identity is None or ts is None:
            return None
        return Subject(record, identity, ts, None)

    def known_vessel(self, subject: Subject) -> int | None:
        """The subject's vessel if the registry's cache knows it (no query), else None."""
        return self.registry.cached(subject.identity[0], subject.identity[1], subject.ts)

    async def resolve(self, subjects: Sequence[Subject]) -> list[int]:
        """The vessels of many subjects: one query for all the cache does not know, then any creations."""
        return await self.registry.resolve_many([Lookup(*s.identity, s.ts) for s in subjects])

    def detect_subject(self, subject: Subject, vessel_id: int) -> list[Record]:
        """The anomalies the subject's record reveals, its vessel resolved; updates the state."""
        return _detect(
            self.state, vessel_id, subject.record, subject.fix, self.settings, self.clock(), self.gates
        )

    async def check(self, record: Record) -> list[Record]:
        """The anomalies this record reveals (usually none)."""
        subject = self.subject(record)
        if subject is None:
            return []
        vessel_id = self.known_vessel(subject)
        if vessel_id is None:
            [vessel_id] = await self.resolve([subject])
        return self.detect_subject(subject, vessel_id)

    def overdue(self) -> list[Record]:
        """Dark departures that waiting has revealed since the last call."""
        return overdue_departures(self.state, self.settings, self.clock())
