"""Simulated time, and what `--speed` means to the service being driven.

The simulator thinks in seconds since the scenario started (`t`). `SimClock` maps them onto the wall
clock: with `--speed N`, simulated second `t` is due `t / N` seconds after the run began, and that
moment is also the time the wire data carries (AIS `second` and tag block `c:`, JT/T 808 BCD time,
tag-read JSON `time`, CAP `sent`/`onset`). The simulated world — motion, reporting intervals, the
timeline — runs N times faster; the timestamps stay the service's own now.

Why not stamp the simulated time itself: a service judges silence, device clocks and warning windows
against its own clock. Timestamps running ahead of it would hide a vessel going dark until the wall
clock caught up, get tag reads refused as "from the future" (`ingest.devices.MAX_FUTURE_S`) and leave
CAP warnings not yet in force. At `--speed 1`, the default and the right choice for a drill whose
timings matter, the two are the same.

What changes at N > 1 is that boats cover N times the distance per second of the service's clock.
`time_scaled` gives a service the settings that make its rules see that world as real time:
durations divided by N, implied-speed limits multiplied by N, while limits on *reported* speed and
course (collision CPA/TCPA, drift speed, encounter speed) stay as they are. `seawatch demo --speed N`
applies it to its own service; the scenario tests do the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from seawatch.settings import Settings

# Settings measured on the service's clock (seconds), by section path.
_DURATIONS: tuple[tuple[str, ...], ...] = (
    ("rules", "clear_after_s"),
    ("rules", "lost_contact", "after_s"),
    ("rules", "lost_contact", "class_b_after_s"),
    ("rules", "lost_contact", "terminal_after_s"),
    ("rules", "lost_contact", "escalate_after_s"),
    ("rules", "geofence", "dwell_s"),
    ("rules", "collision", "max_age_s"),
    ("rules", "behaviour", "drift_after_s"),
    ("rules", "behaviour", "encounter_after_s"),
    ("rules", "behaviour", "loiter_after_s"),
    ("identity", "sources_max_age_s"),
    ("identity", "gate_silence_s"),
)
# Speeds implied by positions and their timestamps (knots).
_IMPLIED_SPEEDS: tuple[tuple[str, ...], ...] = (
    ("rules", "spoofing", "max_speed_kn"),
    ("identity", "max_implied_speed_kn"),
)


@dataclass
class SimClock:
    """Maps simulated seconds onto the wall clock at `speed`; `wall` is injectable for tests."""

    speed: float = 1.0
    wall: Callable[[], float] = time.time
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError("speed must be positive")
        if self.started == 0.0:
            self.started = self.wall()

    def due(self, t: float) -> float:
        """The wall-clock time (unix seconds) at which simulated second `t` happens."""
        return self.started + t / self.speed

    def wire_time(self, t: float) -> datetime:
        """The timestamp the wire data of simulated second `t` carries."""
        return datetime.fromtimestamp(self.due(t), UTC)

    def sim_now(self) -> float:
        return (self.wall() - self.started) * self.speed

    def wait_s(self, t: float) -> float:
        """Seconds until `t` is due (0 when it is already)."""
        return max(0.0, self.due(t) - self.wall())


def time_scaled_values(speed: float) -> dict[tuple[str, ...], float]:
    """The settings that change at `speed`, with their scaled values (from the defaults)."""
    defaults = Settings()
    out: dict[tuple[str, ...], float] = {}
    for path in _DURATIONS:
        out[path] = float(_get(defaults, path)) / speed
    for path in _IMPLIED_SPEEDS:
        out[path] = float(_get(defaults, path)) * speed
    return out


def time_scaled(settings: Settings, speed: float) -> Settings:
    """`settings` with the time and implied-speed thresholds scaled for a world running `speed` times
    faster (see the module docstring); at speed 1 the settings come back unchanged."""
    if speed == 1.0:
        return settings
    data = settings.model_dump()
    for path in _DURATIONS:
        _set(data, path, float(_get(settings, path)) / speed)
    for path in _IMPLIED_SPEEDS:
        _set(data, path, float(_get(settings, path)) * speed)
    return type(settings).model_validate(data)


def time_scaled_env(speed: float) -> dict[str, str]:
    """The same as `SEAWATCH_` environment variables, for a service started in another process."""
    return {
        "SEAWATCH_" + "__".join(part.upper() for part in path): repr(value)
        for path, value in time_scaled_values(speed).items()
    }


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        obj = getattr(obj, part)
    return obj


def _set(data: dict[str, Any], path: tuple[str, ...], value: float) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value
