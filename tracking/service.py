"""The tracking components a process runs: the tracker (port calls, voyages, `vessel_latest`), daily
retention and the daily track packer. They run with the rules (`seawatch run`, `--only rules`); the
tracker's advisory lock keeps a second such process from tracking twice."""

from __future__ import annotations

from seawatch.settings import Settings
from seawatch.supervisor import Component
from tracking.db import Pool
from tracking.retention import run_retention
from tracking.track_packer import run_track_packer
from tracking.tracker import Tracker


def tracking_components(settings: Settings, pool: Pool) -> list[Component]:
    if not settings.tracking.enabled:
        return []
    tracker = Tracker(pool, settings.tracking)
    return [
        Component("tracker", tracker.run, role="rules"),
        Component("retention", lambda: run_retention(pool, settings.tracking), role="rules"),
        Component("track-packer", lambda: run_track_packer(pool), role="rules"),
    ]
