"""The fisheries report of one vessel over a period: voyages, fishing effort, time in closed and
protected zones, moratorium violations, identity anomalies and alerts.

Figures come from the stored track where it still exists. Once retention has dropped the positions,
the voyages' own figures (distance, zone times, effort, stored as each voyage closed) stand in, and
`figures_from` says which.

Moratorium violations use the same reading as `alerts.rules.moratorium`: a vessel the closure applies
to, at sea (outside every harbour and shelter — `in_port_mask`), inside the closure while its schedule
is in force (`zone_in_force`).

Drill positions (stored with `drill` true) are left out of the figures unless `include_drill` asks for
them: an exercise must not add sea time, effort or violations to a fisheries record. The report says how
many it left out (`drill.positions_excluded`); drill alerts are listed with their `drill` flag.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from alerts.rules.geofence import in_port_mask, zone_in_force
from alerts.rules.moratorium import applies
from seawatch.settings import TrackingSettings
from tracking import history
from tracking.db import Pool
from tracking.effort import Stretch, stretches
from tracking.fleet import VesselState
from tracking.geo import METRES_PER_NM, haversine_m
from tracking.tracks import Track, fetch_track, simplify_m
from tracking.zones import Zone, ZoneIndex, load_zone_index

REPORTED_ZONE_KINDS = ("prohibited", "protected", "restricted", "moratorium", "fishing_area", "shipping_lane")
CLOSED_KINDS = ("prohibited", "protected", "restricted")
SCHEDULE_STEP_S = 600.0  # schedules are checked once per 10 minutes of track
MAX_LISTED = 500  # alerts, anomalies, voyages listed in one report
MAP_TOLERANCE_M = 25.0
STOPPED_KN = 0.5


@dataclass(frozen=True)
class VesselReport:
    data: dict[str, Any]  # the JSON document
    track: Track  # simplified, for the map
    fishing: list[tuple[float, float]]  # fishing stretches (unix start, end), for the map
    zones: list[Zone]  # zones the track touched, for the map


def _segments(track: Track, max_gap_s: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    dt = np.diff(track.ts)
    return dt, dt <= max_gap_s


def _seconds_inside(
    inside: npt.NDArray[np.bool_], dt: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_]
) -> float:
    """Time on stretches whose both ends are inside (a crossing adds nothing, as in the tracker)."""
    return float(dt[ok & inside[:-1] & inside[1:]].sum())


def _in_force(zone: Zone, ts: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    steps = np.floor(ts / SCHEDULE_STEP_S)
    cache: dict[float, bool] = {}
    for step in np.unique(steps).tolist():
        cache[step] = zone_in_force(zone, datetime.fromtimestamp(step * SCHEDULE_STEP_S, UTC))
    return np.array([cache[s] for s in steps.tolist()], dtype=bool)


def _episodes(mask: npt.NDArray[np.bool_], track: Track, ok: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Runs of consecutive segments in `mask` (indices of first and last point)."""
    seg = mask[:-1] & mask[1:] & ok
    out: list[tuple[int, int]] = []
    start: int | None = None
    for i, on in enumerate(seg.tolist()):
        if on and start is None:
            start = i
        elif not on and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(seg)))
    return out


def track_figures(
    track: Track, zones: ZoneIndex, state: VesselState, settings: TrackingSettings
) -> tuple[dict[str, Any], list[Stretch]]:
    dt, ok = _segments(track, settings.max_gap_s)
    port = in_port_mask(zones, track.lon, track.lat)
    metres = (
        haversine_m(track.lon[:-1], track.lat[:-1], track.lon[1:], track.lat[1:]) if len(track) > 1 else dt
    )
    # GPS scatter of a moored boat would add miles: a stretch in port, or between two reports of
    # "stopped", is no travel.
    stopped = track.speed < STOPPED_KN  # NaN (unknown) compares False: counted
    travelling = ~(port[:-1] & port[1:]) & ~(stopped[:-1] & stopped[1:])
    judged = stretches(track.ts, track.lon, track.lat, track.speed, settings)
    zone_rows: list[dict[str, Any]] = []
    violations: list[dict[str, Any]] = []
    for zone in zones.of_kind(*REPORTED_ZONE_KINDS):
        inside = np.asarray(shapely.intersects_xy(zone.geometry, track.lon, track.lat), dtype=bool)
        if not inside.any():
            continue
        seconds = _seconds_inside(inside, dt, ok)
        zone_rows.append(
            {"zone_id": zone.id, "name": zone.name, "kind": zone.kind, "seconds": round(seconds, 1)}
        )
        if zone.kind == "moratorium" and applies(zone, state):
            for a, b in _episodes(inside & ~port & _in_force(zone, track.ts), track, ok):
                violations.append(
                    {
                        "zone_id": zone.id,
                        "name": zone.name,
                        "start": history.iso(track.time(a)),
                        "end": history.iso(track.time(b)),
                        "seconds": round(float(dt[a:b][ok[a:b]].sum()), 1),
                    }
                )
    figures = {
        "positions": len(track),
        "distance_nm": round(float(np.asarray(metres)[ok & travelling].sum()) / METRES_PER_NM, 2),
        "time_at_sea_s": round(_seconds_inside(~port, dt, ok), 1),
        "fishing_effort_s": round(sum(s.seconds for s in judged if s.fishing), 1),
        "zones": sorted(zone_rows, key=lambda z: -z["seconds"]),
        "closed_zone_s": round(sum(z["seconds"] for z in zone_rows if z["kind"] in CLOSED_KINDS), 1),
        "moratorium_violations": violations,
        "moratorium_violation_s": round(sum(v["seconds"] for v in violations), 1),
    }
    return figures, judged


def voyage_figures(voyages: list[dict[str, Any]], zones: ZoneIndex) -> dict[str, Any]:
    """The same figures from the voyages alone, for periods whose positions retention dropped."""
    seconds: Counter[str] = Counter()
    for voyage in voyages:
        seconds.update({k: float(v) for k, v in (voyage["zone_seconds"] or {}).items()})
    rows: list[dict[str, Any]] = []
    for zone_id, total in seconds.items():
        zone = zones.get(zone_id)
        kind = zone.kind if zone else "unknown"
        rows.append(
            {"zone_id": zone_id, "name": zone.name if zone else zone_id, "kind": kind, "seconds": total}
        )
    return {
        "positions": 0,
        "distance_nm": round(sum(v["distance_nm"] for v in voyages), 2),
        "time_at_sea_s": round(sum(v["duration_s"] or 0.0 for v in voyages), 1),
        "fishing_effort_s": round(sum(v["fishing_s"] or 0.0 for v in voyages), 1),
        "zones": sorted(rows, key=lambda z: -z["seconds"]),
        "closed_zone_s": round(sum(z["seconds"] for z in rows if z["kind"] in CLOSED_KINDS), 1),
        "moratorium_violations": [],
        "moratorium_violation_s": None,  # not known without the track
    }


class UnknownVessel(LookupError):
    pass


async def vessel_report(
    pool: Pool,
    vessel_id: int,
    start: datetime,
    end: datetime,
    settings: TrackingSettings,
    *,
    include_drill: bool = False,
) -> VesselReport:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, name, hull_number, owner_name, home_port, licensed_area, vessel_type, is_fishing,"
            " (SELECT ship_type FROM static_reports s WHERE s.vessel_id = v.id AND ship_type IS NOT NULL"
            "  ORDER BY ts DESC LIMIT 1) FROM vessels v WHERE id = %s",
            (vessel_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise UnknownVessel(f"no vessel {vessel_id}")
        cur = await conn.execute(
            "SELECT kind, string_agg(value, ', ' ORDER BY valid_from) FROM vessel_identities"
            " WHERE vessel_id = %s AND valid_from < %s AND valid_to > %s GROUP BY kind",
            (vessel_id, end, start),
        )
        identities: dict[str, str] = {str(k): str(v) for k, v in await cur.fetchall()}
        zones = await load_zone_index(conn)
        track = await fetch_track(conn, vessel_id, start, end, max_points=settings.track_max_points)
        voyages = await history.voyages(conn, vessel_id=vessel_id, end=end, limit=MAX_LISTED)
        voyages = [v for v in voyages if v["arrived_at"] is None or v["arrived_at"] > history.iso(start)]
        anomalies, contradictions, alerts = await _evidence(conn, vessel_id, start, end)
    drill_points = 0 if include_drill else int(track.drill.sum())
    if drill_points:
        track = track.take(np.flatnonzero(~track.drill))
    vessel = {
        "id": row[0], "name": row[1], "hull_number": row[2], "owner_name": row[3], "home_port": row[4],
        "licensed_area": row[5], "vessel_type": row[6], "is_fishing": row[7], "ship_type": row[8],
        "mmsi": identities.get("mmsi"), "terminal": identities.get("terminal"), "tag": identities.get("tag"),
    }  # fmt: skip
    state = VesselState(vessel_id=vessel_id, is_fishing=bool(row[7]), ship_type=row[8])
    judged: list[Stretch] = []
    if len(track) >= 2:
        figures, judged = track_figures(track, zones, state, settings)
        figures_from = "positions"
    else:
        figures, figures_from = voyage_figures(voyages, zones), "voyages"
    data = {
        "vessel": vessel,
        "period": {"from": history.iso(start), "to": history.iso(end)},
        "figures_from": figures_from,
        "drill": {"included": include_drill, "positions_excluded": drill_points},
        "voyages": list(reversed(voyages)),  # oldest first, as a log reads
        "totals": {"voyages": len(voyages), **figures},
        "effort_settings": {
            "speed_band_kn": [settings.fishing_min_kn, settings.fishing_max_kn],
            "min_turn_deg_min": settings.fishing_min_turn_deg_min,
            "stretch_s": settings.fishing_bucket_s,
        },
        "identity_anomalies": anomalies,
        "gate_contradictions": contradictions,
        "alerts": alerts,
    }
    touched = {z["zone_id"] for z in figures["zones"]}
    shown = [z for z in zones.zones if z.id in touched or z.kind in ("harbour", "shelter")]
    return VesselReport(
        data, simplify_m(track, MAP_TOLERANCE_M), [(s.start, s.end) for s in judged if s.fishing], shown
    )


async def _evidence(
    conn: history.Connection, vessel_id: int, start: datetime, end: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    cur = await conn.execute(
        "SELECT ts, data->>'anomaly' FROM events WHERE vessel_id = %s AND kind = 'identity_anomaly'"
        " AND ts >= %s AND ts < %s ORDER BY ts LIMIT %s",
        (vessel_id, start, end, MAX_LISTED),
    )
    found = await cur.fetchall()
    anomalies = {
        "counts": dict(Counter(str(a) for _, a in found)),
        "items": [{"ts": history.iso(ts), "anomaly": a} for ts, a in found],
    }
    cur = await conn.execute(
        "SELECT read_at, direction, zone_id, reader, reason FROM gate_contradictions"
        " WHERE vessel_id = %s AND read_at >= %s AND read_at < %s ORDER BY read_at LIMIT %s",
        (vessel_id, start, end, MAX_LISTED),
    )
    contradictions = [
        {"read_at": history.iso(r[0]), "direction": r[1], "zone_id": r[2], "reader": r[3], "reason": r[4]}
        for r in await cur.fetchall()
    ]
    cur = await conn.execute(
        "SELECT id, kind, severity, state, title, opened_at, drill FROM alerts"
        " WHERE vessel_id = %s AND opened_at >= %s AND opened_at < %s ORDER BY opened_at LIMIT %s",
        (vessel_id, start, end, MAX_LISTED),
    )
    items = [
        {"id": r[0], "kind": r[1], "severity": r[2], "state": r[3], "title": r[4],
         "opened_at": history.iso(r[5]), "drill": r[6]}
        for r in await cur.fetchall()
    ]  # fmt: skip
    return anomalies, contradictions, {"counts": dict(Counter(a["kind"] for a in items)), "items": items}


def default_period(now: datetime, days: int = 30) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now
