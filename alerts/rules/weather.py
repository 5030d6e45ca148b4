"""`weather`: every vessel at sea inside an active CAP warning area, and the return-to-port board.

Warnings come from CAP documents (`alerts.cap`): `from_cap` turns one into `WeatherWarning`s, and
`apply_cap` folds it into the set in force — an Alert adds, an Update replaces the warnings it
references (keeping their `id`, so vessels' alerts are updated rather than closed and reopened), a
Cancel removes them. `WeatherRule.set_warnings` hands the rule the whole set (e.g. as loaded from the
`weather_warnings` table); `WeatherRule.apply` is the same for one document.

Reading a CAP document:
- One warning per `<info>` with an area geometry. Translations (an `<info>` with the same area, window
  and severity as one already taken, as Canada sends in English and French) are the same warning.
  Areas given only by geocodes cannot place a vessel and are skipped.
- Starts at the earlier of `effective` (which CAP defaults to `sent`) and `onset`: a gale due at
  18:00 in a warning issued at 10:00 already concerns boats that need hours to get home. Ends at
  `expires`, or never (until cancelled).
- Severity `seawatch_severity` (Extreme critical, Severe high, Moderate medium, Minor low).
- Any category counts (a tsunami is `Geo`, not `Met`). `Exercise` warnings are drills; `Test`,
  `System` and `Draft` documents change nothing.

Alerts: one condition per vessel and warning, key `weather:vessel:<id>:warning:<warning id>`, with the
warning's severity, for boats at sea (not in a harbour or shelter) inside the area while the warning is
active. `on_record` raises it for a vessel that reports from inside (and clears it for one that left
or came into port); `on_tick` sweeps the whole fleet in bulk when a warning becomes active or is
updated, and clears everything a cancelled, replaced-away or expired warning raised.

Return-to-port board (`return_to_port_board`): the boats at sea inside a warning's area, each with its
straight-line distance to the nearest harbour or shelter (land is not taken into account) and an ETA
at max(its speed, `return_speed_kn`). Sorted by ETA, longest first: the boats that will be exposed
longest head the list, which is where the operator's attention goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from alerts.cap import CapAlert, CapInfo, seawatch_severity
from alerts.model import AlertKind, Condition, Position, Severity
from alerts.rules.base import Record, Rule, RuleContext, vessel_key
from alerts.rules.geofence import PORT_KINDS, at_sea, in_port_mask, is_boat, vessel_label
from tracking.fleet import VesselState
from tracking.geo import KNOT_MS, METRES_PER_NM, local_xy_m
from tracking.zones import Zone

KIND: AlertKind = "weather"


@dataclass(frozen=True)
class WeatherWarning:
    id: str  # stable through Updates: "sender,identifier" of the first message (+ "#n" for a later info)
    identifier: str  # the CAP identifier of the message now in force
    sender: str
    sent: datetime
    severity: Severity
    event: str
    headline: str | None
    geometry: BaseGeometry  # lon/lat
    start: datetime
    end: datetime | None  # None: until cancelled
    drill: bool = False
    references: tuple[str, ...] = ()  # "sender,identifier" of the messages this one updates

    @property
    def ref(self) -> str:
        return f"{self.sender},{self.identifier}"

    def active(self, when: datetime) -> bool:
        return self.start <= when and (self.end is None or when < self.end)

    def contains(self, lon: float, lat: float) -> bool:
        return bool(shapely.intersects_xy(self.geometry, lon, lat))


def from_cap(alert: CapAlert) -> list[WeatherWarning]:
    """The warnings one CAP Alert or Update carries (none for Cancel, Ack, Error and non-live status)."""
    if alert.status not in ("Actual", "Exercise") or alert.msg_type not in ("Alert", "Update"):
        return []
    base = f"{alert.sender},{alert.identifier}"
    taken: list[WeatherWarning] = []
    for info in alert.infos:
        geometry = info.geometry()
        if geometry.is_empty:
            continue
        start, end = _window(info, alert.sent)
        severity = seawatch_severity(info.severity)
        if any(_same_area(w, geometry, start, end, severity) for w in taken):
            continue  # a translation
        shapely.prepare(geometry)
        taken.append(
            WeatherWarning(
                id=base if not taken else f"{base}#{len(taken)}",
                identifier=alert.identifier,
                sender=alert.sender,
                sent=alert.sent,
                severity=severity,
                event=info.event,
                headline=info.headline,
                geometry=geometry,
                start=start,
                end=end,
                drill=alert.status == "Exercise",
                references=tuple(f"{r.sender},{r.identifier}" for r in alert.references),
            )
        )
    return taken


def apply_cap(current: Sequence[WeatherWarning], alert: CapAlert) -> list[WeatherWarning]:
    """The warnings in force after `alert` (see the module docstring)."""
    if alert.status not in ("Actual", "Exercise") or alert.msg_type not in ("Alert", "Update", "Cancel"):
        return list(current)
    cited = {f"{r.sender},{r.identifier}" for r in alert.references}
    replaced = sorted((w for w in current if w.ref in cited or w.id in cited), key=lambda w: w.sent)
    kept = [w for w in current if w not in replaced]
    if alert.msg_type == "Cancel":
        return kept
    new = from_cap(alert)
    if alert.msg_type == "Update" and replaced:
        thread = replaced[0].id.split("#")[0]
        new = [replace(w, id=thread if n == 0 else f"{thread}#{n}") for n, w in enumerate(new)]
    ids = {w.id for w in new}
    return [w for w in kept if w.id not in ids] + new


def _window(info: CapInfo, sent: datetime) -> tuple[datetime, datetime | None]:
    effective = info.effective or sent
    start = min(effective, info.onset) if info.onset is not None else effective
    return start, info.expires


def _same_area(
    w: WeatherWarning, geometry: BaseGeometry, start: datetime, end: datetime | None, severity: Severity
) -> bool:
    return (w.start, w.end, w.severity) == (start, end, severity) and bool(w.geometry.equals(geometry))


# --- the rule ------------------------------------------------------------------------------------------


class WeatherRule(Rule):
    name = KIND

    def __init__(self, warnings: Sequence[WeatherWarning] = ()) -> None:
        self._warnings: dict[str, WeatherWarning] = {}
        self._alerted: dict[str, set[int]] = {}  # warning id → vessels with an open condition
        self._swept: dict[str, WeatherWarning] = {}  # active warnings already swept, as they were then
        self.set_warnings(warnings)

    @property
    def warnings(self) -> list[WeatherWarning]:
        return list(self._warnings.values())

    def set_warnings(self, warnings: Sequence[WeatherWarning]) -> None:
        """The warnings in force from now on; the next tick raises and clears what changed."""
        self._warnings = {w.id: w for w in warnings}

    def apply(self, alert: CapAlert) -> None:
        self.set_warnings(apply_cap(self.warnings, alert))

    def active_warnings(self, when: datetime) -> list[WeatherWarning]:
        return [w for w in self._warnings.values() if w.active(when)]

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        if current.lon is None or current.lat is None:
            return []
        exposed = is_boat(current) and at_sea(ctx.zones, current)
        out: list[Condition] = []
        for warning_id in set(self._alerted) | set(self._warnings):
            warning = self._warnings.get(warning_id)
            inside = (
                exposed
                and warning is not None
                and warning.active(ctx.now)
                and warning.contains(current.lon, current.lat)
            )
            if inside and warning is not None:
                out.append(self._raise(ctx, warning, current))
            else:
                out += self._clear(ctx, warning_id, [current.vessel_id])
        return out

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        out: list[Condition] = []
        for warning_id in list(self._alerted):
            warning = self._warnings.get(warning_id)
            if warning is None or not warning.active(ctx.now):
                out += self._clear(ctx, warning_id, list(self._alerted[warning_id]))
        for warning_id in [w for w in self._swept if w not in self._warnings]:
            del self._swept[warning_id]
        for warning in self.active_warnings(ctx.now):
            if self._swept.get(warning.id) is not warning:
                self._swept[warning.id] = warning
                out += self._sweep(ctx, warning)
        self._swept = {k: w for k, w in self._swept.items() if w.active(ctx.now)}
        return out

    def _sweep(self, ctx: RuleContext, warning: WeatherWarning) -> list[Condition]:
        """Every boat at sea in the area, in bulk; clears those alerted before and no longer in it."""
        out: list[Condition] = []
        found: set[int] = set()
        for state in exposed_vessels(ctx, warning):
            found.add(state.vessel_id)
            out.append(self._raise(ctx, warning, state))
        out += self._clear(ctx, warning.id, list(self._alerted.get(warning.id, set()) - found))
        return out

    def _raise(self, ctx: RuleContext, warning: WeatherWarning, state: VesselState) -> Condition:
        assert state.lon is not None and state.lat is not None
        self._alerted.setdefault(warning.id, set()).add(state.vessel_id)
        return Condition(
            kind=KIND,
            key=vessel_key(KIND, state.vessel_id, "warning", warning.id),
            severity=warning.severity,
            title=f"{warning.event}: {vessel_label(state)} at sea in the warning area",
            vessel_id=state.vessel_id,
            position=Position(state.lon, state.lat),
            details={
                "warning_id": warning.id,
                "identifier": warning.identifier,
                "sender": warning.sender,
                "event": warning.event,
                "headline": warning.headline,
                "start": warning.start.isoformat(),
                "end": None if warning.end is None else warning.end.isoformat(),
            },
            drill=warning.drill or state.drill,
            observed_at=ctx.now,
        )

    def _clear(self, ctx: RuleContext, warning_id: str, vessels: list[int]) -> list[Condition]:
        alerted = self._alerted.get(warning_id, set())
        out = []
        for vessel in sorted(v for v in vessels if v in alerted):
            alerted.discard(vessel)
            key = vessel_key(KIND, vessel, "warning", warning_id)
            out.append(Condition.cleared(KIND, key, observed_at=ctx.now, warning_id=warning_id))
        if not alerted:
            self._alerted.pop(warning_id, None)
        return out


def exposed_vessels(ctx: RuleContext, warning: WeatherWarning) -> list[VesselState]:
    """Boats whose last position is at sea inside the warning's area (whether or not it is active)."""
    cols = ctx.fleet.arrays()
    if not len(cols):
        return []
    inside = np.asarray(shapely.intersects_xy(warning.geometry, cols.lon, cols.lat), dtype=bool)
    inside[inside] &= ~in_port_mask(ctx.zones, cols.lon[inside], cols.lat[inside])
    states = [ctx.fleet.get(int(v)) for v in cols.vessel_ids[inside]]
    return [s for s in states if s is not None and is_boat(s)]


# --- the return-to-port board ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardRow:
    vessel_id: int
    mmsi: int | None
    name: str | None
    lon: float
    lat: float
    speed_kn: float | None
    port_id: str | None  # the nearest harbour or shelter (None when there is none)
    port_name: str | None
    distance_nm: float | None
    eta_s: float | None  # at max(speed, return_speed_kn)
    eta: datetime | None


def return_to_port_board(ctx: RuleContext, warning: WeatherWarning) -> list[BoardRow]:
    vessels = [s for s in exposed_vessels(ctx, warning) if s.lon is not None and s.lat is not None]
    if not vessels:
        return []
    lon = np.array([s.lon for s in vessels], dtype=np.float64)
    lat = np.array([s.lat for s in vessels], dtype=np.float64)
    ports = ctx.zones.of_kind(*PORT_KINDS)
    nearest = _nearest_port(ports, lon, lat) if ports else None
    rows = []
    for k, state in enumerate(vessels):
        assert state.lon is not None and state.lat is not None
        port = None if nearest is None else ports[int(nearest[k])]
        distance_m = None if port is None else max(0.0, -port.signed_distance_m(state.lon, state.lat))
        speed = max(state.speed or 0.0, ctx.settings.weather.return_speed_kn)
        eta_s = None if distance_m is None else distance_m / (speed * KNOT_MS)
        rows.append(
            BoardRow(
                vessel_id=state.vessel_id,
                mmsi=state.mmsi,
                name=state.name,
                lon=state.lon,
                lat=state.lat,
                speed_kn=state.speed,
                port_id=None if port is None else port.id,
                port_name=None if port is None else port.name,
                distance_nm=None if distance_m is None else distance_m / METRES_PER_NM,
                eta_s=eta_s,
                eta=None if eta_s is None else ctx.now + timedelta(seconds=eta_s),
            )
        )
    # Longest exposure first; a boat with no port to go to at all tops the list.
    return sorted(rows, key=lambda r: (-(r.eta_s if r.eta_s is not None else np.inf), r.vessel_id))


def _nearest_port(
    ports: list[Zone], lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """Index into `ports` of the nearest one to each position, in bulk: each port and the positions are
    projected around the port (exact enough to rank ports; the board's distance is then exact)."""
    distances = np.empty((len(ports), len(lon)))
    for k, port in enumerate(ports):
        lon0, lat0 = float(port.geometry.centroid.x), float(port.geometry.centroid.y)
        x, y = local_xy_m(lon, lat, lon0, lat0)
        distances[k] = shapely.distance(_local(port.geometry, lon0, lat0), shapely.points(x, y))
    return np.asarray(np.argmin(distances, axis=0), dtype=np.intp)


def _local(geometry: BaseGeometry, lon0: float, lat0: float) -> BaseGeometry:
    return shapely.transform(geometry, lambda xy: np.column_stack(local_xy_m(xy[:, 0], xy[:, 1], lon0, lat0)))
