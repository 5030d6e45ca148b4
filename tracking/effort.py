"""Estimated fishing effort: time at trawling speed with the track turning, judged stretch by stretch.

The track is cut into stretches of `fishing_bucket_s` (10 minutes by default). A stretch is fishing when
its median speed is inside the trawling band and the track's direction across it differs from the
direction across a neighbouring stretch by at least `fishing_min_turn_deg_min` degrees a minute.

Why stretches and not fix-to-fix course changes: at 3 knots the reported course of a class A
transponder scatters by several degrees from one 10-second report to the next, so summing per-fix
turns makes every slow straight passage look like fishing. The bearing across a whole stretch (about
900 m at 3 knots) is steady to a degree. A boat steaming slowly in a straight line is therefore not
counted; a boat towing zig-zag legs or circling a net is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from seawatch.settings import TrackingSettings
from tracking.geo import KNOT_MS, haversine_m, local_xy_m

Floats = npt.NDArray[np.float64]
MIN_STRETCH_M = 50.0  # a stretch shorter than this has no meaningful direction


@dataclass(frozen=True)
class Stretch:
    start: float  # unix seconds
    end: float
    seconds: float  # covered by fixes (silences longer than max_gap_s left out)
    speed_kn: float  # median
    turn_deg_min: float
    fishing: bool


def implied_speeds(ts: Floats, lon: Floats, lat: Floats, speed: Floats) -> Floats:
    """Reported speeds, with the gaps filled by the speed implied from the previous fix."""
    out = speed.astype(np.float64, copy=True)
    if len(ts) > 1:
        dt = np.diff(ts)
        metres = haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
        with np.errstate(divide="ignore", invalid="ignore"):
            implied = np.where(dt > 0, metres / dt / KNOT_MS, np.nan)
        missing = np.isnan(out[1:])
        out[1:][missing] = implied[missing]
    return out


def stretches(
    ts: Floats, lon: Floats, lat: Floats, speed: Floats, settings: TrackingSettings
) -> list[Stretch]:
    """The track (sorted by time) judged stretch by stretch."""
    if len(ts) < 2:
        return []
    speeds = implied_speeds(ts, lon, lat, speed)
    dt = np.diff(ts)
    counted = np.where(dt <= settings.max_gap_s, dt, 0.0)
    bucket = ((ts - ts[0]) // settings.fishing_bucket_s).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(ts)]
    bearings = np.full(len(starts), np.nan)
    for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
        east, north = local_xy_m(lon[e - 1], lat[e - 1], float(lon[s]), float(lat[s]))
        if np.hypot(east, north) >= MIN_STRETCH_M:
            bearings[k] = np.degrees(np.arctan2(east, north))
    turn = _turn_rates(bucket[starts], bearings, settings.fishing_bucket_s)
    out = []
    for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
        seconds = float(counted[s : min(e, len(counted))].sum())
        finite = speeds[s:e][np.isfinite(speeds[s:e])]
        median = float(np.median(finite)) if len(finite) else float("nan")
        in_band = settings.fishing_min_kn <= median <= settings.fishing_max_kn
        turning = settings.fishing_min_turn_deg_min == 0 or turn[k] >= settings.fishing_min_turn_deg_min
        out.append(
            Stretch(float(ts[s]), float(ts[e - 1]), seconds, median, float(turn[k]), in_band and turning)
        )
    return out


def _turn_rates(ids: npt.NDArray[np.int64], bearings: Floats, bucket_s: float) -> Floats:
    """Per stretch, the larger change of direction to its neighbours (adjacent stretches only), °/min."""
    turn = np.zeros(len(ids))
    if len(ids) < 2:
        return turn
    change = np.abs((bearings[1:] - bearings[:-1] + 180.0) % 360.0 - 180.0)
    adjacent = (ids[1:] - ids[:-1]) == 1
    change = np.where(adjacent & np.isfinite(change), change, 0.0) / (bucket_s / 60.0)
    turn[1:] = change
    turn[:-1] = np.maximum(turn[:-1], change)
    return turn


def fishing_seconds(ts: Floats, lon: Floats, lat: Floats, speed: Floats, settings: TrackingSettings) -> float:
    return sum(s.seconds for s in stretches(ts, lon, lat, speed, settings) if s.fishing)
